//! Wiring: open the store, build the service and the HTTP router, run the job worker, and shut
//! down gracefully on SIGINT/SIGTERM.
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use kring_service::Kring;
use kring_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;

pub async fn open_store(config: &Config) -> Result<Store, String> {
    if config.is_sqlite() {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            format!(
                "cannot create data directory {}: {e}",
                config.data_dir.display()
            )
        })?;
    }
    Store::connect(&config.database_url, config.database_max_connections)
        .await
        .map_err(|e| {
            format!(
                "cannot open database {}: {e}",
                crate::cli::redact(&config.database_url)
            )
        })
}

/// Open the store, migrate it, and build the service.
pub async fn open_service(config: &Config) -> Result<Kring, String> {
    let store = open_store(config).await?;
    store.migrate().await.map_err(|e| e.to_string())?;
    Kring::new(store, config.service()).map_err(|e| e.to_string())
}

pub fn app(kring: Kring) -> Router {
    kring_federation::router(kring.clone())
        .merge(kring_web::router(kring.clone()))
        .merge(kring_api::router(kring.clone()))
        .fallback(not_found)
        // Every HTML page, whichever door made it, carries the web door's security headers.
        .layer(axum::middleware::map_response(
            kring_web::html_security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(kring, limit_requests))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
}

/// Find the client's address (the TCP peer, or what a trusted proxy forwarded for), keep it
/// for the doors' own limits, and count the request against the address's allowance.
/// Deliveries to inboxes are limited per signing host instead (a large server delivers from
/// few addresses), and static files are not counted.
async fn limit_requests(
    axum::extract::State(kring): axum::extract::State<Kring>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::header;
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client = match peer {
        Some(ip) => kring.limits.client(
            ip,
            req.headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok()),
        ),
        None => kring_service::limits::ClientAddr::UNKNOWN,
    };
    req.extensions_mut().insert(client);
    let path = req.uri().path();
    let exempt = (req.method() == axum::http::Method::POST && path.ends_with("/inbox"))
        || path.starts_with("/static/")
        || path == "/favicon.ico";
    if !exempt {
        let h = req.headers();
        let credentials = h.contains_key(header::AUTHORIZATION)
            || h.contains_key("signature")
            || h.contains_key("signature-input")
            || req
                .uri()
                .query()
                .is_some_and(|q| q.contains("access_token="))
            || kring_service::sessions::cookie_value(
                h.get_all(header::COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
                kring_service::sessions::session_cookie_name(kring.config.scheme == "https"),
            )
            .is_some();
        if let Err(e) = kring.limits.request(client, credentials) {
            let wants_html = h
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("text/html"));
            return if wants_html && !path.starts_with("/api/") {
                kring_web::error_page_for(e).await
            } else {
                axum::response::IntoResponse::into_response(kring_api::error::ApiError(e))
            };
        }
    }
    next.run(req).await
}

/// An unknown path: a page for a browser loading a page, Mastodon's JSON for everyone else
/// (API clients ask for JSON or anything, browsers navigating ask for `text/html`).
async fn not_found(
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let wants_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html && !uri.path().starts_with("/api/") {
        kring_web::not_found_page().await
    } else {
        kring_api::not_found()
    }
}

/// A running server (for tests and `serve`).
pub struct Running {
    /// Where it listens; None for a worker-only process.
    pub listening: Option<SocketAddr>,
    pub kring: Kring,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// `http://ADDR` of the listener (a worker-only process has none: `http://-`).
    pub fn base_url(&self) -> String {
        match self.listening {
            Some(a) => format!("http://{a}"),
            None => "http://-".into(),
        }
    }

    /// Stop accepting, let requests finish, stop the worker.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
        self.kring.store.close().await;
    }
}

/// Start what the configured role runs (HTTP, the job worker, or both) and, on PostgreSQL,
/// the relay of live events between processes; returns once listening.
pub async fn start(config: Config) -> Result<Running, String> {
    let kring = open_service(&config).await?;
    let (tx, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut listening = None;
    if config.role.http() {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        listening = Some(listener.local_addr().map_err(|e| e.to_string())?);
        let mut http_rx = rx.clone();
        let router = app(kring.clone());
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = http_rx.wait_for(|stop| *stop).await;
            };
            if let Err(e) = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
            {
                tracing::error!(error = %e, "server error");
            }
        }));
    }
    // Several processes on one PostgreSQL database: stream each other's live events.
    tasks.extend(kring.relay_events(rx.clone()));
    if config.role.jobs() {
        let worker_kring = kring.clone();
        tasks.push(tokio::spawn(
            async move { worker_kring.run_worker(rx).await },
        ));
    }
    Ok(Running {
        listening,
        kring,
        shutdown: tx,
        tasks,
    })
}

pub async fn serve(config: Config) -> Result<(), String> {
    let started = std::time::Instant::now();
    if config.is_sqlite() && config.role != crate::config::Role::All {
        tracing::warn!(
            "role {:?} on SQLite: split roles are meant for several processes on PostgreSQL; \
             make sure another process runs the rest",
            config.role
        );
    }
    let running = start(config.clone()).await?;
    let url = format!("{}://{}", config.scheme, config.domain);
    match running.listening {
        Some(addr) => {
            println!("Kring is running: open {url}");
            println!(
                "  listening on {addr} (ready in {} ms){}",
                started.elapsed().as_millis(),
                if config.role.jobs() {
                    ""
                } else {
                    "; web only: worker processes run the jobs"
                }
            );
        }
        None => println!(
            "Kring worker for {url} is running (jobs only, no HTTP; ready in {} ms)",
            started.elapsed().as_millis()
        ),
    }
    println!("  database: {}", crate::cli::redact(&config.database_url));
    let users = running.kring.store.local_user_count().await.unwrap_or(0);
    if users == 0 {
        println!("  no accounts yet: create the first admin with");
        println!(
            "    kring admin create-user --username admin --email you@example.org --password '…' --role admin"
        );
    }
    shutdown_signal().await;
    println!("Shutting down…");
    running.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
