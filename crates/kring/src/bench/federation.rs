//! `kring bench-federation`: delivery and inbox throughput against the real server.
//!
//! A sink plays 100 remote servers on 127.0.0.2 and up (one port, many loopback addresses):
//! it answers every POST with 202 and serves actor documents with public keys. Outbound, one
//! post from a local account with 10,000 remote followers is delivered with and without shared
//! inboxes; inbound, Create activities pre-signed by 1,000 remote actors are posted to the
//! shared inbox with a cold and then a warm key cache, and then far more than the server can
//! take at once, which it must refuse with 503 rather than buffer. The raw RSA-2048 sign and
//! verify rates of this machine are printed beside the results: signing bounds delivery.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Args;
use kring_activitypub::{Headers, KeyPair, cavage, digest, http_date};
use serde_json::{Value, json};
use sqlx::{AnyConnection, Connection};

use super::proc::{ServerCommand, Snapshot, Usage, cpu_seconds, status_bytes, wait_for_quiet};
use crate::cli::Global;

#[derive(Args, Debug, Clone)]
pub struct FedBenchArgs {
    /// Remote followers of the posting account.
    #[arg(long, default_value_t = 10_000)]
    pub followers: usize,
    /// Remote hosts (127.0.0.2 and up) the followers and actors live on.
    #[arg(long, default_value_t = 100)]
    pub hosts: usize,
    /// Remote actors signing inbound activities.
    #[arg(long, default_value_t = 1_000)]
    pub actors: usize,
    /// Activities per inbound pass (cold, then warm key cache).
    #[arg(long, default_value_t = 4_000)]
    pub activities: usize,
    /// Concurrent connections posting to the inbox.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Received activities waiting before the server answers 503 (its inbox_backlog_limit).
    #[arg(long, default_value_t = 2_000)]
    pub backlog_limit: i64,
    /// The kring binary to benchmark [default: this one].
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// PostgreSQL only: run the HTTP side in one `--role web` process and the jobs in this many
    /// `--role worker` processes (0: one process doing both, as on SQLite).
    #[arg(long, default_value_t = 0)]
    pub workers: usize,
    /// Measure delivery (outbound).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub outbound: bool,
    /// Measure the inbox (inbound and overload).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub inbound: bool,
    /// Before each measurement, wait up to this many seconds for other processes to leave the
    /// CPU alone (0: do not wait). The load from elsewhere is reported either way.
    #[arg(long, default_value_t = 0.0)]
    pub quiet_wait: f64,
    /// What counts as quiet: other processes using fewer cores than this.
    #[arg(long, default_value_t = 0.2)]
    pub quiet_cores: f64,
}

/// The server's processes and its database's backends: their CPU is the server's cost.
struct Pids {
    server: Vec<u32>,
    database: Vec<u32>,
}

impl Pids {
    fn all(&self) -> Vec<u32> {
        self.server.iter().chain(&self.database).copied().collect()
    }

    fn cpu(&self) -> f64 {
        self.all()
            .iter()
            .filter_map(|&p| cpu_seconds(p))
            .sum::<f64>()
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot::take(self.server[0], &self.all()[1..])
    }
}

/// Wait for other processes to quiet down, as `--quiet-wait` says.
async fn quiet(args: &FedBenchArgs, what: &str, server: u32) {
    if args.quiet_wait <= 0.0 {
        return;
    }
    let (waited, other) = wait_for_quiet(
        Duration::from_secs_f64(args.quiet_wait),
        args.quiet_cores,
        server,
    )
    .await;
    if other.is_some_and(|o| o >= args.quiet_cores) {
        eprintln!(
            "bench: {what}: the machine is still busy after {:.0} s ({:.2} cores used elsewhere); measuring anyway",
            waited.as_secs_f64(),
            other.unwrap_or(0.0)
        );
    }
}

/// Cores used meanwhile by processes other than the server, its database and this bench.
fn other_load(u: &Usage) -> String {
    u.other_cores
        .map(|o| format!("{o:.2} cores"))
        .unwrap_or_else(|| "?".into())
}

#[derive(Default)]
struct Sink {
    posts: AtomicU64,
    /// Microseconds since `epoch` of the latest POST.
    last: AtomicU64,
    epoch: Option<Instant>,
    keys: Vec<String>,
    port: u16,
}

async fn sink_post(State(s): State<Arc<Sink>>) -> axum::http::StatusCode {
    s.posts.fetch_add(1, Ordering::Relaxed);
    if let Some(e) = s.epoch {
        s.last
            .fetch_max(e.elapsed().as_micros() as u64, Ordering::Relaxed);
    }
    axum::http::StatusCode::ACCEPTED
}

fn host_ip(i: usize) -> Ipv4Addr {
    let n = 2 + i as u32;
    Ipv4Addr::new(127, 0, (n >> 8) as u8, (n & 0xff) as u8)
}

fn actor_uri(port: u16, i: usize, hosts: usize) -> String {
    format!("http://{}:{port}/users/a{i}", host_ip(i % hosts))
}

async fn sink_actor(
    State(s): State<Arc<Sink>>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
) -> impl axum::response::IntoResponse {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    let i: usize = name.trim_start_matches('a').parse().unwrap_or(0);
    let uri = format!("http://{host}/users/{name}");
    // Served as ActivityStreams: a fetched document of any other type counts for nothing.
    let doc = Json(json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": uri, "type": "Person", "preferredUsername": name,
        "inbox": format!("{uri}/inbox"), "followers": format!("{uri}/followers"),
        "publicKey": { "id": format!("{uri}#main-key"), "owner": uri, "publicKeyPem": s.keys[i % s.keys.len()] },
    }));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/activity+json",
        )],
        doc,
    )
}

/// Bind the sink on `hosts` loopback addresses sharing one port.
async fn start_sink(hosts: usize, keys: Vec<String>) -> Result<Arc<Sink>, String> {
    let first = tokio::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(host_ip(0)), 0))
        .await
        .map_err(|e| format!("cannot bind the sink on {}: {e}", host_ip(0)))?;
    let port = first.local_addr().map_err(|e| e.to_string())?.port();
    let sink = Arc::new(Sink {
        epoch: Some(Instant::now()),
        keys,
        port,
        ..Sink::default()
    });
    let app = Router::new()
        .route("/users/{name}", get(sink_actor))
        .fallback(post(sink_post))
        .with_state(sink.clone());
    let mut listeners = vec![first];
    for i in 1..hosts {
        listeners.push(
            tokio::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(host_ip(i)), port))
                .await
                .map_err(|e| format!("cannot bind the sink on {}: {e}", host_ip(i)))?,
        );
    }
    for l in listeners {
        let app = app.clone();
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
    }
    Ok(sink)
}

/// Raw RSA-2048 PKCS#1 v1.5 SHA-256 rates on one core.
fn rsa_rates() -> Result<(f64, f64), String> {
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let public = key.public_key();
    let data =
        b"(request-target): post /inbox\nhost: example.org\ndate: Thu, 26 Nov 2026 07:00:00 GMT";
    let t = Instant::now();
    let mut n = 0u64;
    let mut sig = Vec::new();
    while t.elapsed() < Duration::from_secs(1) {
        sig = key.sign_rsa_sha256(data);
        n += 1;
    }
    let sign = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut m = 0u64;
    while t.elapsed() < Duration::from_secs(1) {
        if public.verify(kring_activitypub::Algorithm::RsaSha256, data, &sig) {
            m += 1;
        }
    }
    Ok((sign, m as f64 / t.elapsed().as_secs_f64()))
}

fn bin(args: &FedBenchArgs) -> Result<PathBuf, String> {
    match &args.server_bin {
        Some(b) => Ok(b.clone()),
        None => std::env::current_exe().map_err(|e| e.to_string()),
    }
}

async fn run_cli(bin: &PathBuf, args: &[String]) -> Result<(), String> {
    let out = tokio::process::Command::new(bin)
        .args(args)
        .output()
        .await
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{:?} failed: {}",
            args,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

async fn token(base: &str) -> Result<String, String> {
    let c = reqwest::Client::new();
    let app: Value = c
        .post(format!("{base}/api/v1/apps"))
        .form(&[
            ("client_name", "bench"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ("scopes", "read write"),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let t: Value = c
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", app["client_id"].as_str().unwrap_or("")),
            ("client_secret", app["client_secret"].as_str().unwrap_or("")),
            ("username", "star@bench.example"),
            ("password", "bench-password"),
            ("scope", "read write"),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    t["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no token: {t}"))
}

/// Insert `n` remote followers of `star`, spread over the sink's hosts.
async fn seed_followers(
    db: &mut AnyConnection,
    star: i64,
    n: usize,
    hosts: usize,
    port: u16,
) -> Result<(), String> {
    let now = kring_core::time::now_micros();
    let mut tx = db.begin().await.map_err(|e| e.to_string())?;
    for chunk_start in (0..n).step_by(500) {
        let end = (chunk_start + 500).min(n);
        let mut accounts = String::from(
            "INSERT INTO accounts (id, username, domain, uri, url, inbox_url, shared_inbox_url, followers_url, created_at, updated_at) VALUES ",
        );
        let mut follows =
            String::from("INSERT INTO follows (id, account_id, target_id, created_at) VALUES ");
        for i in chunk_start..end {
            let host = format!("{}:{port}", host_ip(i % hosts));
            let id = 1_000_000 + i as i64;
            let uri = format!("http://{host}/users/f{i}");
            if i > chunk_start {
                accounts.push(',');
                follows.push(',');
            }
            accounts.push_str(&format!(
                "({id}, 'f{i}', '{host}', '{uri}', '{uri}', '{uri}/inbox', 'http://{host}/inbox', '{uri}/followers', {now}, {now})"
            ));
            follows.push_str(&format!("({}, {id}, {star}, {now})", 2_000_000 + i as i64));
        }
        sqlx::query(sqlx::AssertSqlSafe(accounts))
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        sqlx::query(sqlx::AssertSqlSafe(follows))
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE accounts SET followers_count = {n} WHERE id = {star}"
    )))
    .execute(&mut *tx)
    .await
    .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}

struct Delivery {
    label: &'static str,
    expected: u64,
    seconds: f64,
    cpu: f64,
    usage: Usage,
}

/// Post once and wait until the sink has `expected` more deliveries.
async fn deliver_once(
    base: &str,
    token: &str,
    sink: &Sink,
    pids: &Pids,
    expected: u64,
    label: &'static str,
) -> Result<Delivery, String> {
    let before = sink.posts.load(Ordering::Relaxed);
    let cpu0 = pids.cpu();
    let snap = pids.snapshot();
    let t0 = sink
        .epoch
        .map(|e| e.elapsed().as_micros() as u64)
        .unwrap_or(0);
    let started = Instant::now();
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/statuses"))
        .bearer_auth(token)
        .form(&[("status", format!("benchmark delivery ({label})"))])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("post failed: {}", r.status()));
    }
    while sink.posts.load(Ordering::Relaxed) < before + expected {
        if started.elapsed() > Duration::from_secs(600) {
            return Err(format!(
                "only {} of {expected} deliveries arrived",
                sink.posts.load(Ordering::Relaxed) - before
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = (sink.last.load(Ordering::Relaxed).saturating_sub(t0)) as f64 / 1e6;
    Ok(Delivery {
        label,
        expected,
        seconds,
        cpu: pids.cpu() - cpu0,
        usage: pids.snapshot().usage_since(&snap),
    })
}

/// A pre-signed inbox POST.
struct Signed {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn sign_creates(
    keys: &[KeyPair],
    port: u16,
    args: &FedBenchArgs,
    pass: &str,
    inbox_host: &str,
) -> Result<Vec<Signed>, String> {
    let mut out = Vec::with_capacity(args.activities);
    for j in 0..args.activities {
        let i = j % args.actors;
        let actor = actor_uri(port, i, args.hosts);
        let note = format!("{actor}/notes/{pass}-{j}");
        let body = serde_json::to_vec(&json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{note}/activity"), "type": "Create", "actor": actor,
            "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [format!("{actor}/followers")],
            "object": {
                "id": note, "type": "Note", "attributedTo": actor, "content": format!("<p>inbound {pass} {j}</p>"),
                "published": kring_core::time::rfc3339(kring_core::time::now_micros()),
                "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [format!("{actor}/followers")],
            }
        }))
        .map_err(|e| e.to_string())?;
        let mut h = Headers::new();
        h.insert("host", inbox_host);
        h.insert("date", http_date(std::time::SystemTime::now()));
        h.insert("digest", digest::digest_header(&body));
        h.insert("content-type", "application/activity+json");
        let sig = cavage::sign_request(
            "POST",
            "/inbox",
            &h,
            &format!("{actor}#main-key"),
            &keys[i % keys.len()],
        )
        .map_err(|e| e.to_string())?;
        h.insert("signature", sig);
        out.push(Signed {
            headers: h
                .iter()
                .filter(|(k, _)| *k != "host")
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body,
        });
    }
    Ok(out)
}

#[derive(Default, Debug)]
struct Inbound {
    accepted: u64,
    refused_503: u64,
    other: u64,
    post_seconds: f64,
    stored: i64,
    total_seconds: f64,
    cpu: f64,
    usage: Usage,
}

async fn remote_count(db: &mut AnyConnection) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM statuses WHERE local = 0")
        .fetch_one(db)
        .await
        .unwrap_or(0)
}

async fn post_all(
    base: &str,
    batch: Vec<Signed>,
    concurrency: usize,
    pids: &Pids,
    db: &mut AnyConnection,
    wait_stored: bool,
) -> Result<Inbound, String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    let queue = Arc::new(std::sync::Mutex::new(batch));
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let before = remote_count(db).await;
    let cpu0 = pids.cpu();
    let snap = pids.snapshot();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, queue, counts, url) = (
            client.clone(),
            queue.clone(),
            counts.clone(),
            format!("{base}/inbox"),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(item) = queue.lock().ok().and_then(|mut q| q.pop()) else {
                    return;
                };
                let mut req = client.post(&url).body(item.body);
                for (k, v) in &item.headers {
                    req = req.header(k, v);
                }
                let slot = match req.send().await.map(|r| r.status().as_u16()) {
                    Ok(202) => 0,
                    Ok(503) | Ok(429) => 1,
                    other => {
                        eprintln!("inbox answered {other:?}");
                        2
                    }
                };
                counts[slot].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let post_seconds = started.elapsed().as_secs_f64();
    let accepted = counts[0].load(Ordering::Relaxed);
    let mut stored = remote_count(db).await - before;
    if wait_stored {
        while stored < accepted as i64 && started.elapsed() < Duration::from_secs(600) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            stored = remote_count(db).await - before;
        }
    }
    Ok(Inbound {
        accepted,
        refused_503: counts[1].load(Ordering::Relaxed),
        other: counts[2].load(Ordering::Relaxed),
        post_seconds,
        stored,
        total_seconds: started.elapsed().as_secs_f64(),
        cpu: pids.cpu() - cpu0,
        usage: pids.snapshot().usage_since(&snap),
    })
}

/// PostgreSQL: a fresh database for this run beside the one `url` names (dropped afterwards).
async fn fresh_postgres(url: &str) -> Result<(String, String), String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let (server, _) = base
        .rsplit_once('/')
        .ok_or("the database URL names no database")?;
    let name = format!("kring_bench_fed_{}", std::process::id());
    let mut admin = AnyConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&mut admin)
    .await
    .map_err(|e| e.to_string())?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .map_err(|e| format!("cannot create a database for the bench: {e}"))?;
    Ok((format!("{server}/{name}{query}"), name))
}

async fn drop_postgres(url: &str, name: &str) {
    if let Ok(mut admin) = AnyConnection::connect(url).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await;
    }
}

/// The PostgreSQL backends serving the server (all but ours), to count their CPU too.
async fn database_pids(db: &mut AnyConnection, postgres: bool) -> Vec<u32> {
    if !postgres {
        return Vec::new();
    }
    sqlx::query_scalar::<_, i32>(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut *db)
    .await
    .unwrap_or_default()
    .into_iter()
    .map(|p| p as u32)
    .filter(|&p| cpu_seconds(p).is_some())
    .collect()
}

pub async fn run(global: &Global, args: FedBenchArgs) -> Result<(), String> {
    sqlx::any::install_default_drivers();
    let postgres = global
        .database_url
        .as_deref()
        .is_some_and(|u| u.starts_with("postgres"));
    if args.workers > 0 && !postgres {
        return Err("--workers needs PostgreSQL (--database-url postgres://…)".into());
    }
    let (db_url, pg_name) = match &global.database_url {
        Some(u) if postgres => {
            let (url, name) = fresh_postgres(u).await?;
            (url, Some(name))
        }
        _ => (String::new(), None),
    };
    let r = run_on(global, &args, db_url).await;
    if let (Some(name), Some(u)) = (pg_name, &global.database_url) {
        drop_postgres(u, &name).await;
    }
    r
}

async fn run_on(global: &Global, args: &FedBenchArgs, pg_url: String) -> Result<(), String> {
    let args = args.clone();
    let bin = bin(&args)?;
    let data_dir = global
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("bench-fed-data"));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
    let (sign_rate, verify_rate) = rsa_rates()?;
    println!("raw RSA-2048 on one core: {sign_rate:.0} signs/s, {verify_rate:.0} verifies/s");

    // Keys for the remote actors: a few, shared (generating 1,000 would take a minute).
    let keys: Vec<KeyPair> = (0..8)
        .map(|_| KeyPair::generate().map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let sink = start_sink(
        args.hosts,
        keys.iter().map(|k| k.public_key_pem()).collect(),
    )
    .await?;

    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| e.to_string())?
        .local_addr()
        .map_err(|e| e.to_string())?;
    let domain = listen.to_string();
    let config_path = data_dir.join("kring.toml");
    std::fs::write(
        &config_path,
        format!(
            // Deliveries come from a few loopback hosts as fast as the server takes them: the
            // abuse limits are lifted so that the bench measures the server.
            "allow_private_federation = true\ninbox_backlog_limit = {}\n\
             [rate_limits]\nall = \"1000000/1m\"\n",
            args.backlog_limit
        ),
    )
    .map_err(|e| e.to_string())?;
    let db_url = if pg_url.is_empty() {
        format!("sqlite://{}", data_dir.join("kring.db").display())
    } else {
        pg_url
    };
    let common = |cmd: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        v.extend([
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--database-url".into(),
            db_url.clone(),
            "--domain".into(),
            domain.clone(),
            "--config".into(),
            config_path.display().to_string(),
        ]);
        v
    };
    run_cli(&bin, &common(&["migrate"])).await?;
    run_cli(
        &bin,
        &common(&[
            "admin",
            "create-user",
            "--username",
            "star",
            "--email",
            "star@bench.example",
            "--password",
            "bench-password",
        ]),
    )
    .await?;
    let mut db = AnyConnection::connect(&db_url)
        .await
        .map_err(|e| e.to_string())?;
    let star: i64 =
        sqlx::query_scalar("SELECT id FROM accounts WHERE username = 'star' AND domain = ''")
            .fetch_one(&mut db)
            .await
            .map_err(|e| e.to_string())?;
    seed_followers(&mut db, star, args.followers, args.hosts, sink.port).await?;

    let mut serve = common(&["serve"]);
    serve.extend([
        "--listen".into(),
        listen.to_string(),
        "--log".into(),
        global.log.clone(),
    ]);
    if args.workers > 0 {
        serve.extend(["--role".into(), "web".into()]);
    }
    let (server, _) = ServerCommand {
        bin: bin.clone(),
        args: serve,
        addr: listen,
    }
    .start()
    .await?;
    // Worker processes: the job runner only, no HTTP.
    let mut workers = Vec::new();
    for _ in 0..args.workers {
        let mut cmd = common(&["serve"]);
        cmd.extend([
            "--role".into(),
            "worker".into(),
            "--log".into(),
            global.log.clone(),
        ]);
        workers.push(
            tokio::process::Command::new(&bin)
                .args(&cmd)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("cannot start a worker: {e}"))?,
        );
    }
    let mut server_pids = vec![server.pid];
    server_pids.extend(workers.iter().filter_map(|w| w.id()));
    // Let the workers connect before their database backends are counted.
    tokio::time::sleep(Duration::from_secs(if args.workers > 0 { 2 } else { 0 })).await;
    let pids = Pids {
        server: server_pids,
        database: database_pids(&mut db, postgres_url(&db_url)).await,
    };
    let base = server.base_url.clone();
    let tok = token(&base).await?;
    let rss_idle = status_bytes(server.pid, "VmRSS");

    let mut deliveries = Vec::new();
    if args.outbound {
        // Outbound: shared inboxes (one delivery per host), then none (one per follower).
        quiet(&args, "delivery", server.pid).await;
        deliveries.push(
            deliver_once(
                &base,
                &tok,
                &sink,
                &pids,
                args.hosts as u64,
                "shared inboxes",
            )
            .await?,
        );
        sqlx::query("UPDATE accounts SET shared_inbox_url = NULL WHERE domain <> ''")
            .execute(&mut db)
            .await
            .map_err(|e| e.to_string())?;
        quiet(&args, "delivery", server.pid).await;
        deliveries.push(
            deliver_once(
                &base,
                &tok,
                &sink,
                &pids,
                args.followers as u64,
                "no shared inboxes",
            )
            .await?,
        );
    }

    // Inbound: cold key cache, warm key cache, then overload.
    let mut passes = Vec::new();
    let mut flood = None;
    if args.inbound {
        let inbox_host = domain.clone();
        for (label, pass) in [
            ("inbound, cold key cache", "cold"),
            ("inbound, warm key cache", "warm"),
        ] {
            let batch = sign_creates(&keys, sink.port, &args, pass, &inbox_host)?;
            quiet(&args, label, server.pid).await;
            let r = post_all(&base, batch, args.concurrency, &pids, &mut db, true).await?;
            passes.push((label, r));
        }
        let mut flood_args = args.clone();
        flood_args.activities = args.activities * 4;
        let batch = sign_creates(&keys, sink.port, &flood_args, "flood", &inbox_host)?;
        flood = Some(post_all(&base, batch, args.concurrency * 4, &pids, &mut db, false).await?);
    }
    let rss_peak = status_bytes(server.pid, "VmHWM");
    let worker_peak: Vec<Option<u64>> = pids.server[1..]
        .iter()
        .map(|&p| status_bytes(p, "VmHWM"))
        .collect();
    let alive = reqwest::get(format!("{base}/api/v1/instance"))
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false);
    for w in &workers {
        if let Some(pid) = w.id() {
            // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
    }
    for mut w in workers {
        if tokio::time::timeout(Duration::from_secs(30), w.wait())
            .await
            .is_err()
        {
            let _ = w.kill().await;
        }
    }
    server.stop().await?;

    let mb = |b: Option<u64>| {
        b.map(|b| format!("{:.1} MB", b as f64 / 1e6))
            .unwrap_or_else(|| "?".into())
    };
    let setup = if args.workers > 0 {
        format!(
            "PostgreSQL, one web process and {} worker processes",
            args.workers
        )
    } else if postgres_url(&db_url) {
        "PostgreSQL, one process".to_string()
    } else {
        "SQLite, one process".to_string()
    };
    println!(
        "\n## Federation ({setup}; {} remote followers on {} hosts; {} remote actors)\n",
        args.followers, args.hosts, args.actors
    );
    println!(
        "Server CPU counts every server process{}.\n",
        if postgres_url(&db_url) {
            " and the database's backends"
        } else {
            ""
        }
    );
    println!("| measurement | result | other load |\n| --- | --- | --- |");
    println!("| raw RSA-2048 sign / verify, one core | {sign_rate:.0}/s / {verify_rate:.0}/s | |");
    for d in &deliveries {
        println!(
            "| outbound, {}: {} deliveries | {:.2} s, {:.0} deliveries/s, {:.2} ms server CPU per delivery | {} |",
            d.label,
            d.expected,
            d.seconds,
            d.expected as f64 / d.seconds.max(1e-9),
            d.cpu * 1000.0 / d.expected as f64,
            other_load(&d.usage)
        );
    }
    for (label, r) in &passes {
        println!(
            "| {label}: {} signed Creates, {} concurrent | {} accepted ({:.0}/s), {} stored in {:.2} s = {:.0} activities/s verified and stored, {:.2} ms server CPU per activity; {} refused with 503 | {} |",
            r.accepted + r.refused_503 + r.other,
            args.concurrency,
            r.accepted,
            r.accepted as f64 / r.post_seconds.max(1e-9),
            r.stored,
            r.total_seconds,
            r.stored as f64 / r.total_seconds.max(1e-9),
            r.cpu * 1000.0 / (r.stored.max(1)) as f64,
            r.refused_503,
            other_load(&r.usage)
        );
    }
    if let Some(flood) = &flood {
        println!(
            "| overload: {} Creates from {} connections, backlog limit {} | {} accepted, {} refused with 503/429, {} other; server answering afterwards: {alive} | {} |",
            flood.accepted + flood.refused_503 + flood.other,
            args.concurrency * 4,
            args.backlog_limit,
            flood.accepted,
            flood.refused_503,
            flood.other,
            other_load(&flood.usage)
        );
    }
    println!(
        "| server RSS idle / peak | {} / {}{} | |",
        mb(rss_idle),
        mb(rss_peak),
        if worker_peak.is_empty() {
            String::new()
        } else {
            format!(
                "; workers' peaks {}",
                worker_peak
                    .iter()
                    .map(|p| mb(*p))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    if !alive {
        return Err("the server did not answer after the overload".into());
    }
    Ok(())
}

fn postgres_url(url: &str) -> bool {
    url.starts_with("postgres")
}
