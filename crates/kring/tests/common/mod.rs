// SPDX-License-Identifier: AGPL-3.0-or-later
//! Test harness for the Mastodon client API: a real Kring server started in-process, on SQLite
//! (a temporary directory) or, when `KRING_TEST_DATABASE_URL` is set, on a fresh PostgreSQL
//! database of its own; HTTP helpers returning `(status, headers, JSON)`; account helpers;
//! WebSocket helpers; and validation of responses against Mastodon's OpenAPI schemas.
//!
//! Each test binary uses only part of this module.
#![allow(dead_code)]

pub mod schema;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kring::config::{Config, Partial};
use kring::server::Running;
use kring_core::model::Registrations;
use kring_service::Kring;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::OnceCell;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// What every helper returns: status, headers and the body as JSON (a non-JSON body comes back
/// as a JSON string, an empty one as `null`).
pub type Reply = (StatusCode, HeaderMap, Value);

/// The password every test account gets.
pub const PASSWORD: &str = "correct horse battery staple";

/// A registered account: its bearer token and ids.
#[derive(Debug, Clone, Default)]
pub struct User {
    pub token: String,
    pub id: String,
    pub username: String,
    pub email: String,
}

/// An OAuth application registered on the test server.
#[derive(Debug, Clone)]
pub struct AppCreds {
    pub id: String,
    pub client_id: String,
    pub client_secret: String,
    /// A client-credentials token (no user) with the app's scopes.
    pub app_token: String,
}

pub const REDIRECT_URI: &str = "http://127.0.0.1/callback";
pub const APP_SCOPES: &str = "read write follow push";

/// A fresh PostgreSQL database, dropped (best effort) when this is dropped.
pub struct PgDatabase {
    admin_url: String,
    name: String,
}

impl PgDatabase {
    fn create(admin_url: &str) -> (PgDatabase, String) {
        let name = format!("kring_t_{:016x}", rand::random::<u64>());
        psql(admin_url, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let mut url = reqwest::Url::parse(admin_url).expect("KRING_TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        (
            PgDatabase {
                admin_url: admin_url.to_string(),
                name,
            },
            url.to_string(),
        )
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if std::env::var_os("KRING_TEST_KEEP_DATA").is_some() {
            eprintln!("keeping test database {}", self.name);
            return;
        }
        // WITH (FORCE) ends the server's pooled connections (PostgreSQL 13+).
        let _ = psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out = std::process::Command::new("psql")
        .args([url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .map_err(|e| format!("cannot run psql (install postgresql-client): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The database for a server started as a process of its own: on PostgreSQL a fresh one
/// (dropped with the guard) and its URL; on SQLite none (the server uses its data directory).
/// The store options of a `kring` command run by a test: its data directory, quiet logs, and
/// the test database when the suite runs on PostgreSQL.
pub fn cli_store_args(dir: &std::path::Path, database_url: Option<&str>) -> Vec<String> {
    let mut args = vec![
        "--data-dir".to_string(),
        dir.display().to_string(),
        "--log".to_string(),
        "error".to_string(),
    ];
    if let Some(url) = database_url {
        args.extend(["--database-url".to_string(), url.to_string()]);
    }
    args
}

/// Every file under a folder (a media storage), however deep.
#[allow(dead_code)]
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub fn fresh_database() -> (Option<PgDatabase>, Option<String>) {
    match pg_url() {
        Some(url) => {
            let (db, url) = PgDatabase::create(&url);
            (Some(db), Some(url))
        }
        None => (None, None),
    }
}

/// Which database the suite runs on.
pub fn backend() -> &'static str {
    if pg_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

fn pg_url() -> Option<String> {
    std::env::var("KRING_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// A running Kring server with its own database. Dropping it drops the database.
pub struct TestServer {
    running: Option<Running>,
    pub kring: Kring,
    pub port: u16,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub http: reqwest::Client,
    app: OnceCell<AppCreds>,
    /// PostgreSQL: the database this server uses (shared by `second_process`).
    database_url: Option<String>,
    // Dropped after the server (fields drop in order).
    pg: Option<PgDatabase>,
    _dir: tempfile::TempDir,
}

/// Tests make many requests quickly from one address: every abuse limit far above what they
/// need, except the ones a test sets itself (by name) to see them work.
pub fn test_rate_limits(
    own: Option<std::collections::BTreeMap<String, String>>,
) -> std::collections::BTreeMap<String, String> {
    let mut limits: std::collections::BTreeMap<String, String> =
        [("all".to_string(), "1000000/1m".to_string())].into();
    limits.extend(own.unwrap_or_default());
    limits
}

/// A port free now for a test server, below the range the kernel hands out as the source
/// ports of outgoing connections. A port from binding `:0` is in that range, and by the time
/// the server listens on it one of the tests' own HTTP connections may hold it ("address
/// already in use" for as long as that connection is kept alive; seen in CI).
/// An account to write straight into the store (for audiences too large, or on servers no
/// test runs, to make through the API): `username` at `domain` (None: local), its actor
/// document at `uri`, no keys.
pub fn bare_account(
    id: kring_core::Id,
    username: &str,
    domain: Option<&str>,
    uri: String,
    url: String,
) -> kring_store::NewAccount {
    kring_store::NewAccount {
        id,
        username: username.into(),
        domain: domain.map(str::to_string),
        display_name: String::new(),
        note: String::new(),
        note_html: String::new(),
        fields: Vec::new(),
        bot: false,
        group: false,
        locked: false,
        discoverable: true,
        url,
        inbox_url: format!("{uri}/inbox"),
        shared_inbox_url: None,
        followers_url: format!("{uri}/followers"),
        public_key_pem: String::new(),
        private_key_pem: None,
        uri,
        created_at: kring_core::time::now_micros(),
    }
}

pub fn free_port() -> u16 {
    let outgoing_from = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768)
        .max(10_001);
    loop {
        let port = rand::random_range(10_000..outgoing_from);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(Partial::default()).await
    }

    pub async fn with_registrations(mode: Registrations) -> TestServer {
        Self::start_with(Partial {
            registrations: Some(mode),
            ..Partial::default()
        })
        .await
    }

    /// Start with some settings; listen address, domain and database are filled in here.
    pub async fn start_with(settings: Partial) -> TestServer {
        let (pg, database_url) = match pg_url() {
            Some(url) => {
                let (db, url) = PgDatabase::create(&url);
                (Some(db), Some(url))
            }
            None => (None, None),
        };
        Self::launch(settings, pg, database_url, None).await
    }

    /// PostgreSQL: another process of the same server (same database and domain, its own
    /// port), as one runs several behind a proxy. None on SQLite (one process only). Drop it
    /// before `self`, which owns the database.
    pub async fn second_process(&self) -> Option<TestServer> {
        self.database_url.as_ref()?;
        Some(self.another_process(Partial::default()).await)
    }

    /// Another process on the same database (PostgreSQL, or SQLite's file in the same data
    /// directory) and domain, with some settings (a role, say). Drop it before `self`.
    pub async fn another_process(&self, settings: Partial) -> TestServer {
        let settings = Partial {
            data_dir: Some(self._dir.path().to_path_buf()),
            ..settings
        };
        Self::launch(settings, None, self.database_url.clone(), Some(self.port)).await
    }

    async fn launch(
        settings: Partial,
        pg: Option<PgDatabase>,
        database_url: Option<String>,
        domain_port: Option<u16>,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        // The port is picked first so that the domain (and every URL the server renders)
        // names the address it really listens on. Another process could take the port in
        // between; then try again with another.
        let mut last_err = String::new();
        for _ in 0..5 {
            let port = free_port();
            let partial = Partial {
                listen: Some(format!("127.0.0.1:{port}")),
                domain: Some(format!("127.0.0.1:{}", domain_port.unwrap_or(port))),
                data_dir: Some(
                    settings
                        .data_dir
                        .clone()
                        .unwrap_or_else(|| dir.path().to_path_buf()),
                ),
                database_url: database_url.clone(),
                database_max_connections: Some(5),
                rate_limits: Some(test_rate_limits(settings.rate_limits.clone())),
                // Tests follow freely unless they test approval (the default is on).
                approve_followers: Some(settings.approve_followers.unwrap_or(false)),
                ..settings.clone()
            };
            let config = Config::resolve(partial).expect("valid test configuration");
            match kring::server::start(config).await {
                Ok(running) => {
                    let http = reqwest::Client::builder()
                        .redirect(reqwest::redirect::Policy::none())
                        .timeout(Duration::from_secs(60))
                        .build()
                        .expect("http client");
                    return TestServer {
                        kring: running.kring.clone(),
                        running: Some(running),
                        port,
                        base: format!("http://127.0.0.1:{port}"),
                        http,
                        app: OnceCell::new(),
                        database_url: database_url.clone(),
                        pg,
                        _dir: dir,
                    };
                }
                Err(e) if e.contains("cannot listen") => last_err = e,
                Err(e) => panic!("server did not start: {e}"),
            }
        }
        panic!("server did not start: {last_err}");
    }

    /// Stop the server gracefully (dropping it also works; this waits for the worker).
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    /// The data directory this server was started with.
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// PostgreSQL: the database URL this server uses; None on SQLite.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    // --- HTTP -----------------------------------------------------------------------------

    /// Send a request; `body` is sent as JSON unless it is `Value::Null`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut rb = self.http.request(method, self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        reply(rb.send().await.expect("request sent")).await
    }

    /// Send a raw body with the given content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let mut rb = self.http.request(method, self.url(path)).body(body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            rb = rb.header(reqwest::header::CONTENT_TYPE, ct);
        }
        reply(rb.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::POST, path, token, Some(&body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::PUT, path, token, Some(&body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::PATCH, path, token, Some(&body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::DELETE, path, token, None).await
    }

    pub async fn delete_json(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::DELETE, path, token, Some(&body)).await
    }

    /// A form-encoded request (`application/x-www-form-urlencoded`), Rails brackets allowed.
    pub async fn form(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Reply {
        let mut rb = self.http.request(method, self.url(path)).form(fields);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        reply(rb.send().await.expect("request sent")).await
    }

    /// GET that must answer 200; returns the body.
    pub async fn ok(&self, path: &str, token: Option<&str>) -> Value {
        let (st, _, body) = self.get(path, token).await;
        assert_eq!(st, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// POST (JSON) that must answer 200; returns the body.
    pub async fn ok_post(&self, path: &str, token: Option<&str>, body: Value) -> Value {
        let (st, _, b) = self.post(path, token, body).await;
        assert_eq!(st, StatusCode::OK, "POST {path}: {b}");
        b
    }

    // --- apps and accounts ----------------------------------------------------------------

    /// Register a new OAuth app (`read write follow push`, redirect to [`REDIRECT_URI`] and
    /// out-of-band) and get a client-credentials token for it.
    pub async fn new_app(&self) -> AppCreds {
        let (st, _, app) = self
            .post(
                "/api/v1/apps",
                None,
                json!({
                    "client_name": "kring tests",
                    "redirect_uris": [REDIRECT_URI, "urn:ietf:wg:oauth:2.0:oob"],
                    "scopes": APP_SCOPES,
                    "website": "https://tests.invalid/",
                }),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "create app: {app}");
        schema::assert_valid("CredentialApplication", &app);
        let client_id = app["client_id"].as_str().expect("client_id").to_string();
        let client_secret = app["client_secret"]
            .as_str()
            .expect("client_secret")
            .to_string();
        let (st, _, tok) = self
            .post(
                "/oauth/token",
                None,
                json!({
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": client_secret,
                    "scope": APP_SCOPES,
                }),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "client credentials token: {tok}");
        schema::assert_valid("Token", &tok);
        AppCreds {
            id: app["id"].as_str().expect("app id").to_string(),
            client_id,
            client_secret,
            app_token: tok["access_token"]
                .as_str()
                .expect("access_token")
                .to_string(),
        }
    }

    /// The app this server's test accounts sign up through (made once).
    pub async fn app(&self) -> &AppCreds {
        self.app.get_or_init(|| self.new_app()).await
    }

    /// POST /api/v1/accounts through the shared app; the raw reply.
    pub async fn try_register(&self, username: &str) -> Reply {
        let app = self.app().await.clone();
        self.post(
            "/api/v1/accounts",
            Some(&app.app_token),
            json!({
                "username": username,
                "email": format!("{username}@tests.invalid"),
                "password": PASSWORD,
                "agreement": true,
                "locale": "en",
                "reason": "testing",
            }),
        )
        .await
    }

    /// Sign up `username` and return its token and id (the server must have open sign-ups).
    pub async fn register(&self, username: &str) -> User {
        let (st, _, tok) = self.try_register(username).await;
        assert_eq!(st, StatusCode::OK, "register {username}: {tok}");
        schema::assert_valid("Token", &tok);
        let token = tok["access_token"]
            .as_str()
            .expect("access_token")
            .to_string();
        let me = self
            .ok("/api/v1/accounts/verify_credentials", Some(&token))
            .await;
        schema::assert_valid("CredentialAccount", &me);
        assert_eq!(me["username"], username);
        User {
            token,
            id: me["id"].as_str().expect("account id").to_string(),
            username: username.to_string(),
            email: format!("{username}@tests.invalid"),
        }
    }

    /// A token with only `scopes` for an existing user (password grant through a new app).
    pub async fn token_with_scopes(&self, user: &User, scopes: &str) -> String {
        let app = self.app().await.clone();
        let (st, _, tok) = self
            .post(
                "/oauth/token",
                None,
                json!({
                    "grant_type": "password",
                    "client_id": app.client_id,
                    "client_secret": app.client_secret,
                    "username": user.email,
                    "password": PASSWORD,
                    "scope": scopes,
                }),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "password grant: {tok}");
        tok["access_token"].as_str().expect("token").to_string()
    }

    // --- statuses and relationships ----------------------------------------------------------

    /// Post a status (JSON body) and return it, validated.
    pub async fn post_status(&self, user: &User, body: Value) -> Value {
        let (st, _, s) = self.post("/api/v1/statuses", Some(&user.token), body).await;
        assert_eq!(st, StatusCode::OK, "post status: {s}");
        schema::assert_valid("Status", &s);
        s
    }

    /// Post `text` with `visibility` and return the status id.
    pub async fn status(&self, user: &User, text: &str, visibility: &str) -> String {
        let s = self
            .post_status(user, json!({"status": text, "visibility": visibility}))
            .await;
        s["id"].as_str().expect("status id").to_string()
    }

    pub async fn follow(&self, follower: &User, target: &User) -> Value {
        let rel = self
            .ok_post(
                &format!("/api/v1/accounts/{}/follow", target.id),
                Some(&follower.token),
                json!({}),
            )
            .await;
        schema::assert_valid("Relationship", &rel);
        rel
    }

    /// Ids of a JSON array of entities, in order.
    pub fn ids(list: &Value) -> Vec<String> {
        list.as_array()
            .unwrap_or_else(|| panic!("expected an array, got {list}"))
            .iter()
            .map(|v| v["id"].as_str().expect("id").to_string())
            .collect()
    }

    /// GET a list of statuses, validate each, return their ids.
    pub async fn status_ids(&self, path: &str, token: Option<&str>) -> Vec<String> {
        let list = self.ok(path, token).await;
        schema::assert_valid_each("Status", &list);
        Self::ids(&list)
    }

    // --- streaming ----------------------------------------------------------------------------

    /// Open the streaming WebSocket with a query string (`stream=user`, …) and a token.
    pub async fn websocket(&self, token: &str, query: &str) -> Ws {
        let mut url = format!(
            "ws://127.0.0.1:{}/api/v1/streaming?access_token={token}",
            self.port
        );
        if !query.is_empty() {
            url.push('&');
            url.push_str(query);
        }
        let (ws, resp) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket connects");
        assert_eq!(resp.status().as_u16(), 101);
        let mut ws = Ws {
            ws,
            pending: Vec::new(),
        };
        ws.wait_ready().await;
        ws
    }
}

async fn reply(res: reqwest::Response) -> Reply {
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("response body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, headers, body)
}

/// A streaming WebSocket connection.
pub struct Ws {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Text messages read while waiting for something else.
    pending: Vec<Value>,
}

/// One streaming event: the `event` name, the `stream` array and the payload (a JSON string
/// for `update`/`notification`, decoded here into `payload_json` when it parses).
#[derive(Debug, Clone)]
pub struct StreamEvent {
    pub event: String,
    pub stream: Value,
    pub payload: String,
    pub payload_json: Value,
}

impl Ws {
    /// Wait until the server listens for events on this connection. The server pings as
    /// soon as it has subscribed to the event bus, so the first ping is the signal; if none
    /// comes (a server that pings later), a short pause has to do.
    async fn wait_ready(&mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(Message::Ping(_)))) => return,
                Ok(Some(Ok(Message::Text(t)))) => self
                    .pending
                    .push(serde_json::from_str(&t).expect("stream message is JSON")),
                Ok(Some(Ok(_))) => continue,
                Ok(_) => panic!("websocket closed before it was ready"),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    return;
                }
            }
        }
    }

    /// Wait until the server has handled every message sent before: messages are handled in
    /// order and a bad one is answered with an error, so that answer is the signal.
    pub async fn sync(&mut self) {
        self.send_json(json!({"type": "subscribe", "stream": "kring-test-sync"}))
            .await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let msg = tokio::time::timeout(left, self.ws.next())
                .await
                .expect("the server answers the sync message in time")
                .expect("websocket open")
                .expect("websocket message");
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(&t).expect("stream message is JSON");
                if v.get("error").is_some() && v.get("event").is_none() {
                    return;
                }
                self.pending.push(v);
            }
        }
    }

    pub async fn send_json(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("websocket send");
    }

    /// The next text message as JSON, within `wait`; None on timeout or close.
    pub async fn next_json(&mut self, wait: Duration) -> Option<Value> {
        if !self.pending.is_empty() {
            return Some(self.pending.remove(0));
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()??;
            match msg.ok()? {
                Message::Text(t) => {
                    return Some(serde_json::from_str(&t).expect("stream message is JSON"));
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// The next event within `wait`.
    pub async fn next_event(&mut self, wait: Duration) -> Option<StreamEvent> {
        let m = self.next_json(wait).await?;
        let payload = m["payload"].as_str().unwrap_or_default().to_string();
        Some(StreamEvent {
            event: m["event"].as_str().unwrap_or_default().to_string(),
            stream: m["stream"].clone(),
            payload_json: serde_json::from_str(&payload).unwrap_or(Value::Null),
            payload,
        })
    }

    /// Wait for an event named `name`, skipping others; panics after `wait`.
    pub async fn expect_event(&mut self, name: &str, wait: Duration) -> StreamEvent {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Some(e) if e.event == name => return e,
                Some(_) => continue,
                None => panic!("no `{name}` event within {wait:?}"),
            }
        }
    }

    /// Everything that arrives within `wait`.
    pub async fn drain(&mut self, wait: Duration) -> Vec<StreamEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return out;
            }
            match self.next_event(left).await {
                Some(e) => out.push(e),
                None => return out,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// Parse a `Link` header into (rel, url) pairs.
pub fn links(headers: &HeaderMap) -> Vec<(String, String)> {
    let Some(h) = headers.get("link").and_then(|v| v.to_str().ok()) else {
        return Vec::new();
    };
    h.split(',')
        .filter_map(|part| {
            let (url, rest) = part.trim().split_once(';')?;
            let url = url.trim().trim_start_matches('<').trim_end_matches('>');
            let rel = rest.trim().strip_prefix("rel=")?.trim_matches('"');
            Some((rel.to_string(), url.to_string()))
        })
        .collect()
}

/// The path and query of the `Link` header's `rel` URL, relative to the server.
pub fn link_path(headers: &HeaderMap, rel: &str, base: &str) -> Option<String> {
    links(headers)
        .into_iter()
        .find(|(r, _)| r == rel)
        .map(|(_, u)| u.strip_prefix(base).unwrap_or(&u).to_string())
}

/// The account-statuses path as a string for `user`.
pub fn acct_statuses(user: &User) -> String {
    format!("/api/v1/accounts/{}/statuses", user.id)
}

/// `s` as a query-string value (form-encoded).
pub fn enc(s: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", &[("v", s)])
        .unwrap()
        .query()
        .unwrap()
        .trim_start_matches("v=")
        .to_string()
}
