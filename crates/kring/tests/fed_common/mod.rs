// SPDX-License-Identifier: AGPL-3.0-or-later
//! Harness for Kring↔Kring federation tests: [`Node`]s that keep their port, data directory and
//! database across restarts (which `common::TestServer` cannot), running either in-process or
//! as the real `kring` binary (so that a test can SIGKILL one), all with
//! `--allow-private-federation` so they federate over plain http on 127.0.0.1 with real
//! signatures. On PostgreSQL (`KRING_TEST_DATABASE_URL` set) every node gets a fresh database
//! of its own, as in `common`.
//!
//! Client helpers drive each node through its Mastodon API only; [`eventually`] polls for what
//! arrives asynchronously through the job queues.
#![allow(dead_code)]

pub mod remote;
pub mod web;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kring::config::{Config, Partial};
use kring::server::Running;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::common::free_port;
use crate::common::schema::assert_valid;

/// How long anything federated may take to arrive.
pub const WAIT: Duration = Duration::from_secs(15);

pub const PASSWORD: &str = "correct horse battery staple";
const SCOPES: &str = "read write follow push";

/// Poll `f` every 100 ms until it returns `Some`, for at most [`WAIT`]; panics naming `what`.
pub async fn eventually<T>(what: &str, f: impl AsyncFnMut() -> Option<T>) -> T {
    eventually_within(WAIT, what, f).await
}

/// [`eventually`] with another time limit.
pub async fn eventually_within<T>(
    limit: Duration,
    what: &str,
    mut f: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A fresh PostgreSQL database, dropped (best effort) when this is dropped.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    fn create(admin_url: &str) -> PgDatabase {
        let name = format!("kring_f_{:016x}", rand::random::<u64>());
        psql(admin_url, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let mut url = reqwest::Url::parse(admin_url).expect("KRING_TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        PgDatabase {
            admin_url: admin_url.to_string(),
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if std::env::var_os("KRING_TEST_KEEP_DATA").is_some() {
            eprintln!("keeping test database {}", self.name);
            return;
        }
        let _ = psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .args([url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .map_err(|e| format!("cannot run psql (install postgresql-client): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn pg_url() -> Option<String> {
    std::env::var("KRING_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

enum Run {
    Stopped,
    InProcess(Box<Running>),
    Binary(Child),
}

/// A registered account on a node.
#[derive(Debug, Clone)]
pub struct FedUser {
    pub token: String,
    /// The account's id on its own server.
    pub id: String,
    pub username: String,
    /// `username@127.0.0.1:PORT`, as other servers show it.
    pub handle: String,
    /// Its ActivityPub id.
    pub uri: String,
}

/// One Kring server: port, domain, data directory and database fixed for its whole life.
pub struct Node {
    pub port: u16,
    /// `127.0.0.1:PORT`
    pub domain: String,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub http: reqwest::Client,
    app_token: OnceCell<String>,
    // Dropped in this order: the server, then its database, then its directory.
    run: Run,
    pg: Option<PgDatabase>,
    dir: tempfile::TempDir,
    /// For [`Node::start_guarded`]: the test host names (resolved to 127.0.0.1) this node
    /// knows, with the private-address guard on for everything else.
    test_hosts: Option<std::collections::HashMap<String, std::net::IpAddr>>,
    /// The `[media]` table this node runs with (an S3 bucket, the remote media cache).
    pub media: Option<kring::config::MediaPartial>,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Run::Binary(child) = &mut self.run {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let log = self.log();
            if !log.is_empty() {
                eprintln!("--- log of the kring binary on {} ---\n{log}", self.base);
            }
        }
    }
}

impl Node {
    /// A node that is not running yet.
    pub fn new() -> Node {
        let port = free_port();
        let domain = format!("127.0.0.1:{port}");
        Node {
            port,
            base: format!("http://{domain}"),
            domain,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .expect("http client"),
            app_token: OnceCell::new(),
            run: Run::Stopped,
            pg: pg_url().map(|u| PgDatabase::create(&u)),
            dir: tempfile::tempdir().expect("temp dir"),
            test_hosts: None,
            media: None,
        }
    }

    /// A node named `host:PORT` (e.g. `a.test`), listening on 127.0.0.1:PORT, not running yet.
    /// This test process reaches it by that name too.
    pub fn named(host: &str) -> Node {
        let mut n = Node::new();
        n.domain = format!("{host}:{}", n.port);
        n.base = format!("http://{}", n.domain);
        n.http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .resolve(host, std::net::SocketAddr::from(([127, 0, 0, 1], n.port)))
            .build()
            .expect("http client");
        n
    }

    /// Start in-process with the production (guarded) federation client: private addresses
    /// refused, https required, except for the given test host names, which resolve to
    /// 127.0.0.1 and may use plain http.
    pub async fn start_guarded(&mut self, test_hosts: &[&str]) {
        self.test_hosts = Some(
            test_hosts
                .iter()
                .map(|h| (h.to_string(), std::net::IpAddr::from([127, 0, 0, 1])))
                .collect(),
        );
        self.start_in_process().await;
    }

    /// A node started in-process.
    pub async fn start() -> Node {
        let mut n = Node::new();
        n.start_in_process().await;
        n
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn database_url(&self) -> Option<String> {
        self.pg.as_ref().map(|p| p.url.clone())
    }

    /// The node's database, for tests that look at what it holds (PostgreSQL, or the SQLite
    /// file in its data directory).
    pub fn db_url(&self) -> String {
        self.database_url()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir().join("kring.db").display()))
    }

    /// `kring` at the console on this node's data and database, to be given a command. Through
    /// tokio's Command: waiting with std's would stop this test's runtime, and with it the
    /// in-process servers, perhaps inside a transaction whose write lock the console then
    /// waits for.
    #[allow(dead_code)]
    pub fn console(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kring"));
        cmd.args(crate::common::cli_store_args(
            &self.data_dir(),
            Some(&self.db_url()),
        ))
        .args(["--domain", &self.domain]);
        cmd
    }

    /// Start (again) inside this test process.
    pub async fn start_in_process(&mut self) {
        assert!(matches!(self.run, Run::Stopped), "node already running");
        let config = self.config(self.port);
        // Right after a stop the port may take a moment to be free again.
        let mut last = String::new();
        for _ in 0..50 {
            match kring::server::start(config.clone()).await {
                Ok(r) => {
                    self.run = Run::InProcess(Box::new(r));
                    return;
                }
                Err(e) if e.contains("cannot listen") => {
                    last = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("server did not start: {e}"),
            }
        }
        panic!("server did not start: {last}");
    }

    /// Another process of this node, in-process on a port of its own: the same domain,
    /// database, data directory and settings, as several run behind one proxy. Its address
    /// is `Running::base_url`.
    pub async fn another_process(&self) -> Running {
        self.another_process_with(|_| {}).await
    }

    /// [`Node::another_process`] with some settings changed (a role, the media table).
    pub async fn another_process_with(&self, change: impl FnOnce(&mut Partial)) -> Running {
        let mut partial = self.partial(free_port());
        change(&mut partial);
        let config = Config::resolve(partial).expect("valid test configuration");
        kring::server::start(config)
            .await
            .expect("another process starts")
    }

    fn config(&self, port: u16) -> Config {
        Config::resolve(self.partial(port)).expect("valid test configuration")
    }

    fn partial(&self, port: u16) -> Partial {
        Partial {
            listen: Some(format!("127.0.0.1:{port}")),
            domain: Some(self.domain.clone()),
            data_dir: Some(self.data_dir()),
            database_url: self.database_url(),
            database_max_connections: Some(5),
            allow_private_federation: Some(self.test_hosts.is_none()),
            insecure_http: self.test_hosts.as_ref().map(|_| true),
            federation_test_hosts: self.test_hosts.clone(),
            // Open sign-ups, as on a loopback domain.
            registrations: Some(kring_core::model::Registrations::Open),
            // Tests deliver and request quickly from one address; the limits are tested apart.
            rate_limits: Some([("all".to_string(), "1000000/1m".to_string())].into()),
            // Accounts follow freely unless a test locks one (the default is approval).
            approve_followers: Some(false),
            media: self.media.clone(),
            ..Partial::default()
        }
    }

    /// Start (again) as the real `kring` binary, a child process; returns once it answers.
    pub async fn start_binary(&mut self) {
        let filter = std::env::var("KRING_FED_TEST_LOG").unwrap_or_else(|_| "warn".into());
        self.start_binary_logging(&filter).await;
    }

    /// [`Node::start_binary`] with this `--log` filter (for tests that read [`Node::log`]).
    pub async fn start_binary_logging(&mut self, filter: &str) {
        assert!(matches!(self.run, Run::Stopped), "node already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("kring.log"))
            .expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kring"));
        for var in [
            "KRING_CONFIG",
            "KRING_DATA_DIR",
            "KRING_DATABASE_URL",
            "KRING_DOMAIN",
            "KRING_LISTEN",
            "KRING_REGISTRATIONS",
            "KRING_AUTHORIZED_FETCH",
            "KRING_APPROVE_FOLLOWERS",
        ] {
            cmd.env_remove(var);
        }
        cmd.arg("serve")
            .arg("--listen")
            .arg(&self.domain)
            .arg("--domain")
            .arg(&self.domain)
            .arg("--data-dir")
            .arg(self.dir.path())
            .arg("--allow-private-federation")
            .arg("--approve-followers=false")
            .arg("--log")
            .arg(filter)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(url) = self.database_url() {
            cmd.arg("--database-url").arg(url);
        }
        let mut child = cmd.spawn().expect("spawn the kring binary");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("child status") {
                panic!("kring exited early ({status}); log:\n{}", self.log());
            }
            if let Ok(r) = self.http.get(self.url("/api/v1/instance")).send().await
                && r.status() == StatusCode::OK
            {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = child.kill();
                panic!("kring binary did not start; log:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.run = Run::Binary(child);
    }

    /// What the binary wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("kring.log")).unwrap_or_default()
    }

    /// Stop gracefully (in-process) or with SIGTERM-less SIGKILL (binary: see [`Node::kill`]).
    pub async fn stop(&mut self) {
        match std::mem::replace(&mut self.run, Run::Stopped) {
            Run::Stopped => {}
            Run::InProcess(r) => r.stop().await,
            Run::Binary(mut child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Kill the binary with SIGKILL: no graceful shutdown, whatever was queued stays queued.
    pub fn kill(&mut self) {
        match std::mem::replace(&mut self.run, Run::Stopped) {
            Run::Binary(mut child) => {
                child.kill().expect("SIGKILL the kring binary");
                let status = child.wait().expect("reap the kring binary");
                assert!(!status.success(), "killed process reports failure");
            }
            _ => panic!("only a binary node can be killed"),
        }
    }

    /// The in-process service (for reading a local account's key in signature tests).
    pub fn kring(&self) -> &kring_service::Kring {
        match &self.run {
            Run::InProcess(r) => &r.kring,
            _ => panic!("node is not running in-process"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `username@127.0.0.1:PORT`
    pub fn handle(&self, username: &str) -> String {
        format!("{username}@{}", self.domain)
    }

    // --- HTTP -------------------------------------------------------------------------------

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self.http.request(method, self.url(path)).query(query);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let res = rb.send().await.expect("request sent");
        let status = res.status();
        let bytes = res.bytes().await.expect("response body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, body)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, Some(token), &[], None)
            .await
    }

    /// GET that must answer 200.
    pub async fn ok(&self, path: &str, token: &str) -> Value {
        let (st, body) = self.get(path, token).await;
        assert_eq!(st, StatusCode::OK, "GET {}{path}: {body}", self.base);
        body
    }

    /// GET with a query that must answer 200.
    pub async fn ok_query(&self, path: &str, token: &str, query: &[(&str, &str)]) -> Value {
        let (st, body) = self
            .request(Method::GET, path, Some(token), query, None)
            .await;
        assert_eq!(
            st,
            StatusCode::OK,
            "GET {}{path} {query:?}: {body}",
            self.base
        );
        body
    }

    /// A request with a JSON body that must answer 200.
    pub async fn ok_send(&self, method: Method, path: &str, token: &str, body: Value) -> Value {
        let (st, b) = self
            .request(method.clone(), path, Some(token), &[], Some(body))
            .await;
        assert_eq!(st, StatusCode::OK, "{method} {}{path}: {b}", self.base);
        b
    }

    pub async fn ok_post(&self, path: &str, token: &str, body: Value) -> Value {
        self.ok_send(Method::POST, path, token, body).await
    }

    // --- accounts -----------------------------------------------------------------------------

    /// A client-credentials token of this node's test app (made once per node).
    pub async fn app_token(&self) -> String {
        self.app_token
            .get_or_init(|| async {
                let (st, app) = self
                    .request(
                        Method::POST,
                        "/api/v1/apps",
                        None,
                        &[],
                        Some(json!({
                            "client_name": "kring federation tests",
                            "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                            "scopes": SCOPES,
                        })),
                    )
                    .await;
                assert_eq!(st, StatusCode::OK, "create app: {app}");
                let (st, tok) = self
                    .request(
                        Method::POST,
                        "/oauth/token",
                        None,
                        &[],
                        Some(json!({
                            "grant_type": "client_credentials",
                            "client_id": app["client_id"],
                            "client_secret": app["client_secret"],
                            "scope": SCOPES,
                        })),
                    )
                    .await;
                assert_eq!(st, StatusCode::OK, "client credentials: {tok}");
                tok["access_token"].as_str().expect("token").to_string()
            })
            .await
            .clone()
    }

    /// Sign up `username` (POST /api/v1/accounts) and return its token and ids.
    pub async fn register(&self, username: &str) -> FedUser {
        let app = self.app_token().await;
        let tok = self
            .ok_post(
                "/api/v1/accounts",
                &app,
                json!({
                    "username": username,
                    "email": format!("{username}@tests.invalid"),
                    "password": PASSWORD,
                    "agreement": true,
                    "locale": "en",
                }),
            )
            .await;
        let token = tok["access_token"].as_str().expect("token").to_string();
        let me = self.ok("/api/v1/accounts/verify_credentials", &token).await;
        assert_valid("CredentialAccount", &me);
        assert_eq!(me["acct"], username, "local accounts have a bare acct");
        FedUser {
            token,
            id: me["id"].as_str().expect("id").to_string(),
            username: username.to_string(),
            handle: self.handle(username),
            uri: format!("{}/users/{username}", self.base),
        }
    }

    /// Resolve a remote `user@domain` through search (`resolve=true`); returns the account,
    /// validated, as this node shows it.
    pub async fn resolve(&self, viewer: &FedUser, handle: &str) -> Value {
        let found = self
            .ok_query(
                "/api/v2/search",
                &viewer.token,
                &[("q", handle), ("resolve", "true"), ("type", "accounts")],
            )
            .await;
        let accounts = found["accounts"].as_array().expect("accounts");
        let a = accounts
            .iter()
            .find(|a| a["acct"] == handle)
            .unwrap_or_else(|| panic!("{handle} not resolved on {}: {found}", self.base))
            .clone();
        assert_valid("Account", &a);
        a
    }

    /// The id this node gives the remote account `handle` (resolving it).
    pub async fn remote_id(&self, viewer: &FedUser, handle: &str) -> String {
        self.resolve(viewer, handle).await["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    pub async fn relationship(&self, viewer: &FedUser, account_id: &str) -> Value {
        let rels = self
            .ok_query(
                "/api/v1/accounts/relationships",
                &viewer.token,
                &[("id[]", account_id)],
            )
            .await;
        let rel = rels[0].clone();
        assert_valid("Relationship", &rel);
        rel
    }

    pub async fn account(&self, viewer: &FedUser, account_id: &str) -> Value {
        let a = self
            .ok(&format!("/api/v1/accounts/{account_id}"), &viewer.token)
            .await;
        assert_valid("Account", &a);
        a
    }

    /// Accounts listed at `path` (followers, following, follow requests…), by `acct`.
    pub async fn accts(&self, viewer: &FedUser, path: &str) -> Vec<String> {
        let list = self.ok(path, &viewer.token).await;
        list.as_array()
            .unwrap_or_else(|| panic!("{path}: expected an array, got {list}"))
            .iter()
            .map(|a| {
                assert_valid("Account", a);
                a["acct"].as_str().expect("acct").to_string()
            })
            .collect()
    }

    // --- statuses -----------------------------------------------------------------------------

    /// Post a status; returns it, validated.
    pub async fn post_status(&self, user: &FedUser, body: Value) -> Value {
        let s = self.ok_post("/api/v1/statuses", &user.token, body).await;
        assert_valid("Status", &s);
        s
    }

    pub async fn say(&self, user: &FedUser, text: &str, visibility: &str) -> Value {
        self.post_status(user, json!({ "status": text, "visibility": visibility }))
            .await
    }

    /// The viewer's home timeline (validated).
    pub async fn home(&self, viewer: &FedUser) -> Vec<Value> {
        self.statuses(viewer, "/api/v1/timelines/home?limit=40")
            .await
    }

    /// A list of statuses (validated).
    pub async fn statuses(&self, viewer: &FedUser, path: &str) -> Vec<Value> {
        let list = self.ok(path, &viewer.token).await;
        let list = list
            .as_array()
            .unwrap_or_else(|| panic!("{path}: expected an array, got {list}"))
            .clone();
        for s in &list {
            assert_valid("Status", s);
        }
        list
    }

    /// The status with ActivityPub id `uri` in the viewer's home timeline.
    pub async fn in_home(&self, viewer: &FedUser, uri: &str) -> Option<Value> {
        self.home(viewer)
            .await
            .into_iter()
            .find(|s| s["uri"] == uri)
    }

    /// Wait until the status `uri` is in the viewer's home timeline.
    pub async fn wait_home(&self, viewer: &FedUser, uri: &str) -> Value {
        eventually(
            &format!("{uri} in {}'s home on {}", viewer.username, self.base),
            async || self.in_home(viewer, uri).await,
        )
        .await
    }

    /// GET a status by id as `viewer`: `Some(status)` (validated) or `None` on 404.
    pub async fn status(&self, viewer: &FedUser, id: &str) -> Option<Value> {
        let (st, s) = self
            .get(&format!("/api/v1/statuses/{id}"), &viewer.token)
            .await;
        match st {
            StatusCode::OK => {
                assert_valid("Status", &s);
                Some(s)
            }
            StatusCode::NOT_FOUND => None,
            other => panic!("GET status {id}: {other} {s}"),
        }
    }

    /// The viewer's notifications (validated).
    pub async fn notifications(&self, viewer: &FedUser) -> Vec<Value> {
        let list = self
            .ok("/api/v1/notifications?limit=40", &viewer.token)
            .await;
        let list = list.as_array().expect("notifications").clone();
        for n in &list {
            assert_valid("Notification", n);
        }
        list
    }

    /// The viewer's notification of `kind` from `from` (an acct), if any.
    pub async fn notification(&self, viewer: &FedUser, kind: &str, from: &str) -> Option<Value> {
        self.notifications(viewer)
            .await
            .into_iter()
            .find(|n| n["type"] == kind && n["account"]["acct"] == from)
    }
}

/// A status's id as a string.
pub fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

/// A status's ActivityPub id as a string.
pub fn uri(v: &Value) -> String {
    v["uri"]
        .as_str()
        .unwrap_or_else(|| panic!("no uri in {v}"))
        .to_string()
}

/// `viewer` on `on` follows `target` (on another node) and waits until the follow is accepted;
/// returns the id `on` gives `target`.
pub async fn follow(on: &Node, viewer: &FedUser, target: &FedUser) -> String {
    let target_id = on.remote_id(viewer, &target.handle).await;
    let rel = on
        .ok_post(
            &format!("/api/v1/accounts/{target_id}/follow"),
            &viewer.token,
            json!({}),
        )
        .await;
    assert_valid("Relationship", &rel);
    eventually(
        &format!("{} follows {}", viewer.handle, target.handle),
        async || {
            on.relationship(viewer, &target_id).await["following"]
                .as_bool()
                .filter(|f| *f)
        },
    )
    .await;
    target_id
}

/// The id of a remote status (by its `uri`) on `on`, found without fetching anything: through
/// search with `resolve=false`, which only looks at what `on` already stores.
pub async fn local_copy(on: &Node, viewer: &FedUser, status_uri: &str) -> Option<Value> {
    let found = on
        .ok_query(
            "/api/v2/search",
            &viewer.token,
            &[
                ("q", status_uri),
                ("type", "statuses"),
                ("resolve", "false"),
            ],
        )
        .await;
    found["statuses"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["uri"] == status_uri).cloned())
}

/// `viewer` on `on` cannot read the post `status_uri`: not in home, not stored for them, not
/// by fetching it.
pub async fn unreadable(on: &Node, viewer: &FedUser, status_uri: &str) {
    assert!(
        on.in_home(viewer, status_uri).await.is_none(),
        "{status_uri} in {}'s home",
        viewer.handle
    );
    assert!(
        local_copy(on, viewer, status_uri).await.is_none(),
        "{} finds {status_uri}",
        viewer.handle
    );
    let found = on
        .ok_query(
            "/api/v2/search",
            &viewer.token,
            &[("q", status_uri), ("type", "statuses"), ("resolve", "true")],
        )
        .await;
    assert_eq!(
        found["statuses"],
        json!([]),
        "{} fetches {status_uri}",
        viewer.handle
    );
}

/// A streaming WebSocket of a `Node`.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A stream (`query`: `stream=…`) of `token` on `on`, once the server listens (its first ping).
pub async fn live(on: &Node, token: &str, query: &str) -> Socket {
    use futures_util::StreamExt;
    let url = format!(
        "ws://127.0.0.1:{}/api/v1/streaming?access_token={token}&{query}",
        on.port
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(3), ws.next()).await;
    ws
}

/// The payloads of the `event` events heard within `wait`, decoded.
pub async fn heard(ws: &mut Socket, event: &str, wait: Duration) -> Vec<Value> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + wait;
    let mut out = Vec::new();
    while let Ok(Some(Ok(m))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["event"] == event {
                out.push(serde_json::from_str(v["payload"].as_str().unwrap()).unwrap());
            }
        }
    }
    out
}
