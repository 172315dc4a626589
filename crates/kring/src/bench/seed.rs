//! Fill an empty database with a social graph at benchmark size, fast: the whole graph is made
//! in memory first (deterministically, from a seed), then written with multi-row INSERTs of
//! literal values in big transactions over one sqlx connection, while the next statement is
//! being built. The secondary indexes of the big tables are dropped for the load and rebuilt
//! after it from the database's own definitions, so the final schema is the migrated one.
//!
//! The rows are what the real server would have written: local accounts with `users` rows (one
//! argon2 hash and one RSA key pair shared by all, to save minutes of CPU), an app and one token
//! per account, follows, statuses (80% public, 10% unlisted, 10% private) with their audience
//! grant, consistent counters, and each account's home feed as fan-out on write leaves it: the
//! newest `FEED_CAP` posts of the account itself and of everyone it follows.
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::time::Instant;

use kring_store::{Backend, FEED_CAP, Store};
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, install_default_drivers};
use sqlx::{AnyConnection, AssertSqlSafe, ConnectOptions, Connection, Row};
use tokio::sync::{mpsc, oneshot};

/// The password of every seeded account.
pub const PASSWORD: &str = "kring-bench-password";
/// The account that has exactly `star_followers` followers (the fan-out measurement posts as it).
pub const STAR: &str = "star";

/// The client secret of the seeded app (stored hashed, as every client secret).
pub const CLIENT_SECRET: &str = "kring-bench-client-secret";

/// The bearer token of a seeded account. Bench databases have well-known secrets: never serve
/// one beyond the loopback interface.
pub fn token_for(username: &str) -> String {
    format!("kring-bench-token-{username}")
}

pub fn username(i: usize) -> String {
    if i == 0 {
        STAR.to_string()
    } else {
        format!("user{i}")
    }
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub accounts: usize,
    pub statuses: usize,
    pub follows: usize,
    pub star_followers: usize,
    pub seed: u64,
}

#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    /// (table, rows, seconds)
    pub tables: Vec<(String, u64, f64)>,
    pub model_seconds: f64,
    pub index_seconds: f64,
    pub finish_seconds: f64,
    pub total_seconds: f64,
}

/// splitmix64: small, fast and deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.next() >> 11) % n as u64) as usize
    }
}

/// The social graph, by index: account `i`, status `j` (statuses in time order).
struct Model {
    follows: Vec<Vec<u32>>,
    author: Vec<u32>,
    /// 0 public, 1 unlisted, 2 private.
    visibility: Vec<u8>,
    by_author: Vec<Vec<u32>>,
    followers_count: Vec<u32>,
}

fn build_model(spec: &Spec) -> Model {
    let n = spec.accounts;
    let mut rng = Rng(spec.seed);
    // Everyone but the star picks followees among the others, never the star; the first
    // `star_followers` of them also follow the star (one of their `follows`).
    let star_followers = spec.star_followers.min(n.saturating_sub(1));
    let mut stamp = vec![0u32; n];
    let mut follows: Vec<Vec<u32>> = Vec::with_capacity(n);
    for i in 0..n {
        let mut f: Vec<u32> = Vec::with_capacity(spec.follows);
        let want = if i == 0 {
            spec.follows.min(n - 1)
        } else {
            spec.follows
                .min(n.saturating_sub(2) + usize::from(i <= star_followers))
        };
        stamp[i] = i as u32 + 1;
        if i > 0 && i <= star_followers {
            f.push(0);
        }
        // Candidates are 1..n without i (the star is never drawn).
        let pool = n - 1 - usize::from(i > 0);
        if want - f.len() >= pool {
            f.extend((1..n as u32).filter(|&t| t as usize != i));
        } else {
            while f.len() < want {
                let t = 1 + rng.below(n - 1);
                if stamp[t] != i as u32 + 1 {
                    stamp[t] = i as u32 + 1;
                    f.push(t as u32);
                }
            }
        }
        f.sort_unstable();
        follows.push(f);
    }
    let mut followers_count = vec![0u32; n];
    for f in &follows {
        for &t in f {
            followers_count[t as usize] += 1;
        }
    }
    let mut author = Vec::with_capacity(spec.statuses);
    let mut visibility = Vec::with_capacity(spec.statuses);
    let mut by_author: Vec<Vec<u32>> = vec![Vec::new(); n];
    for j in 0..spec.statuses {
        let a = rng.below(n);
        author.push(a as u32);
        by_author[a].push(j as u32);
        visibility.push(match rng.below(10) {
            0 => 1,
            1 => 2,
            _ => 0,
        });
    }
    Model {
        follows,
        author,
        visibility,
        by_author,
        followers_count,
    }
}

/// The newest `cap` statuses of `authors`, oldest first (a k-way merge from the newest end).
fn feed(model: &Model, authors: impl Iterator<Item = u32>, cap: usize, out: &mut Vec<u32>) {
    out.clear();
    // (status, author, position in the author's list)
    let mut heap: BinaryHeap<(u32, u32, u32)> = BinaryHeap::new();
    for a in authors {
        let list = &model.by_author[a as usize];
        if let Some(&last) = list.last() {
            heap.push((last, a, list.len() as u32 - 1));
        }
    }
    while out.len() < cap {
        let Some((s, a, pos)) = heap.pop() else { break };
        out.push(s);
        if pos > 0 {
            let list = &model.by_author[a as usize];
            heap.push((list[pos as usize - 1], a, pos - 1));
        }
    }
    out.reverse();
}

/// Time layout, as ids: accounts, apps and tokens, follows and statuses all lie in the past, so
/// no seeded id collides with one the server makes later.
struct Clock {
    now_ms: i64,
    statuses: usize,
}

const DAY_MS: i64 = 86_400_000;

impl Clock {
    fn account(&self, i: usize) -> (i64, i64) {
        let ms = self.now_ms - 90 * DAY_MS + i as i64;
        (ms << 16, ms * 1000)
    }
    fn token(&self, i: usize) -> (i64, i64) {
        let ms = self.now_ms - 80 * DAY_MS + i as i64;
        ((ms << 16) | 1, ms * 1000)
    }
    fn follow(&self, k: usize) -> (i64, i64) {
        let ms = self.now_ms - 70 * DAY_MS + (k / 1000) as i64;
        ((ms << 16) | (k % 1000) as i64, ms * 1000)
    }
    /// Statuses spread evenly from 60 days ago to one hour ago.
    fn status(&self, j: usize) -> (i64, i64) {
        let span = 60 * DAY_MS - 3_600_000;
        let ms = self.now_ms - 60 * DAY_MS
            + (j as i128 * span as i128 / self.statuses.max(1) as i128) as i64;
        (
            (ms << 16) | (j & 0xffff) as i64,
            ms * 1000 + (j % 1000) as i64,
        )
    }
}

/// SQL string literal (both databases: standard strings, quotes doubled).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

enum Msg {
    Rows(String, u64),
    Ddl(String),
    Sync(oneshot::Sender<()>),
}

async fn exec(conn: &mut AnyConnection, sql: String) -> Result<(), String> {
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|e| format!("seeding: {e}"))
}

/// Runs the statements, in transactions of about `rows_per_tx` rows.
async fn writer(
    mut conn: AnyConnection,
    mut rx: mpsc::Receiver<Msg>,
    rows_per_tx: u64,
) -> Result<AnyConnection, String> {
    let mut in_tx = false;
    let mut rows = 0u64;
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Rows(sql, n) => {
                if !in_tx {
                    exec(&mut conn, "BEGIN".into()).await?;
                    in_tx = true;
                }
                exec(&mut conn, sql).await?;
                rows += n;
                if rows >= rows_per_tx {
                    exec(&mut conn, "COMMIT".into()).await?;
                    in_tx = false;
                    rows = 0;
                }
            }
            Msg::Ddl(sql) => {
                if in_tx {
                    exec(&mut conn, "COMMIT".into()).await?;
                    in_tx = false;
                    rows = 0;
                }
                exec(&mut conn, sql).await?;
            }
            Msg::Sync(ack) => {
                if in_tx {
                    exec(&mut conn, "COMMIT".into()).await?;
                    in_tx = false;
                    rows = 0;
                }
                let _ = ack.send(());
            }
        }
    }
    if in_tx {
        exec(&mut conn, "COMMIT".into()).await?;
    }
    Ok(conn)
}

/// Builds multi-row INSERTs of one table and hands them to the writer.
struct Insert {
    tx: mpsc::Sender<Msg>,
    head: String,
    buf: String,
    rows: u64,
    total: u64,
    started: Instant,
    table: &'static str,
}

impl Insert {
    fn new(tx: &mpsc::Sender<Msg>, table: &'static str, columns: &str) -> Insert {
        Insert {
            tx: tx.clone(),
            head: format!("INSERT INTO {table} ({columns}) VALUES "),
            buf: String::with_capacity(1 << 21),
            rows: 0,
            total: 0,
            started: Instant::now(),
            table,
        }
    }

    /// Start a row: the caller writes `(…)` into the returned buffer.
    fn row(&mut self) -> &mut String {
        if self.rows == 0 {
            self.buf.push_str(&self.head);
        } else {
            self.buf.push(',');
        }
        self.rows += 1;
        &mut self.buf
    }

    async fn maybe_flush(&mut self) -> Result<(), String> {
        if self.rows >= 2000 || self.buf.len() >= 1 << 20 {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), String> {
        if self.rows > 0 {
            let sql = std::mem::replace(&mut self.buf, String::with_capacity(1 << 21));
            self.total += self.rows;
            self.tx
                .send(Msg::Rows(sql, self.rows))
                .await
                .map_err(|_| "seeding: the writer stopped".to_string())?;
            self.rows = 0;
        }
        Ok(())
    }

    /// Flush, wait until everything is committed, and report.
    async fn finish(mut self, report: &mut SeedReport) -> Result<(), String> {
        self.flush().await?;
        sync(&self.tx).await?;
        let secs = self.started.elapsed().as_secs_f64();
        eprintln!(
            "seed: {:<16} {:>10} rows in {:>6.1} s ({:.0} rows/s)",
            self.table,
            self.total,
            secs,
            self.total as f64 / secs.max(1e-9)
        );
        report
            .tables
            .push((self.table.to_string(), self.total, secs));
        Ok(())
    }
}

async fn sync(tx: &mpsc::Sender<Msg>) -> Result<(), String> {
    let (ack, done) = oneshot::channel();
    tx.send(Msg::Sync(ack))
        .await
        .map_err(|_| "seeding: the writer stopped".to_string())?;
    done.await
        .map_err(|_| "seeding: the writer stopped".to_string())
}

/// The SQLite file behind a `sqlite:` URL.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.into())
}

/// The URL sqlx should open (SQLite: create the file if missing).
pub fn connect_url(url: &str) -> String {
    if url.starts_with("sqlite:") && !url.contains("mode=") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_string()
    }
}

pub async fn connect(url: &str) -> Result<AnyConnection, String> {
    install_default_drivers();
    let cannot = |e: sqlx::Error| format!("cannot open {}: {e}", crate::cli::redact(url));
    // Bulk statements and index builds are slow on purpose: no slow-statement warnings.
    AnyConnectOptions::from_str(&connect_url(url))
        .map_err(cannot)?
        .disable_statement_logging()
        .connect()
        .await
        .map_err(cannot)
}

/// Delete everything in the database: the SQLite file, or every table on PostgreSQL.
pub async fn wipe(url: &str) -> Result<(), String> {
    match Backend::from_url(url).map_err(|e| e.to_string())? {
        Backend::Sqlite => {
            let path = sqlite_path(url).ok_or("--reseed needs a SQLite file")?;
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(format!("cannot remove {}: {e}", p.display())),
                }
            }
        }
        Backend::Postgres => {
            let mut conn = connect(url).await?;
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
            )
            .fetch_all(&mut conn)
            .await
            .map_err(|e| format!("listing tables: {e}"))?;
            if !tables.is_empty() {
                let list: Vec<String> = tables.iter().map(|t| format!("\"{t}\"")).collect();
                exec(
                    &mut conn,
                    format!("DROP TABLE IF EXISTS {} CASCADE", list.join(", ")),
                )
                .await?;
            }
            let _ = conn.close().await;
        }
    }
    Ok(())
}

/// Secondary indexes of `table` as (name, CREATE statement), from the database's catalogue.
async fn secondary_indexes(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
) -> Result<Vec<(String, String)>, String> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL"
        }
        Backend::Postgres => {
            "SELECT indexname::text, indexdef::text FROM pg_indexes WHERE schemaname = current_schema() \
             AND tablename = $1 AND indexname NOT IN (SELECT conname::text FROM pg_constraint)"
        }
    };
    let rows = sqlx::query(sql)
        .bind(table)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| format!("reading the indexes of {table}: {e}"))?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0).map_err(|e| e.to_string())?,
                r.try_get(1).map_err(|e| e.to_string())?,
            ))
        })
        .collect()
}

/// Seed an empty database (migrating it first). `base_url` is the server's, as in its URIs.
pub async fn seed(url: &str, base_url: &str, spec: &Spec) -> Result<SeedReport, String> {
    let t_all = Instant::now();
    let mut report = SeedReport::default();
    if spec.accounts < 2 {
        return Err("--accounts must be at least 2".into());
    }
    if let Some(path) = sqlite_path(url)
        && let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let backend = Backend::from_url(url).map_err(|e| e.to_string())?;
    // Migrate exactly as the server does.
    let store = Store::connect(url, 1).await.map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    store.close().await;

    let mut conn = connect(url).await?;
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    if existing > 0 {
        return Err(format!(
            "the database {} already has {existing} accounts: use --skip-seed to reuse it, or --reseed to wipe it",
            crate::cli::redact(url)
        ));
    }
    match backend {
        Backend::Sqlite => {
            // This connection is alone and the data is reproducible: durability can wait.
            exec(
                &mut conn,
                "PRAGMA foreign_keys = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; \
                 PRAGMA temp_store = MEMORY;"
                    .into(),
            )
            .await?;
        }
        Backend::Postgres => {
            exec(
                &mut conn,
                "SET synchronous_commit = off; SET maintenance_work_mem = '256MB'".into(),
            )
            .await?;
        }
    }
    let mut deferred = Vec::new();
    for table in ["follows", "statuses", "status_audience", "home_feed"] {
        deferred.extend(secondary_indexes(&mut conn, backend, table).await?);
    }

    let t_model = Instant::now();
    let spec2 = spec.clone();
    let hash = kring_service::auth::hash_password(PASSWORD)
        .await
        .map_err(|e| e.to_string())?;
    let keys = kring_service::keys::generate()
        .await
        .map_err(|e| e.to_string())?;
    let model = tokio::task::spawn_blocking(move || build_model(&spec2))
        .await
        .map_err(|e| e.to_string())?;
    report.model_seconds = t_model.elapsed().as_secs_f64();
    eprintln!(
        "seed: graph of {} accounts, {} statuses and {} follows made in {:.1} s",
        spec.accounts,
        spec.statuses,
        model.follows.iter().map(Vec::len).sum::<usize>(),
        report.model_seconds
    );

    let (tx, rx) = mpsc::channel::<Msg>(4);
    let writer = tokio::spawn(writer(conn, rx, 50_000));
    let result = write_all(
        &tx,
        base_url,
        spec,
        &model,
        &hash,
        &keys,
        &deferred,
        &mut report,
    )
    .await;
    drop(tx);
    let conn = writer.await.map_err(|e| e.to_string())?;
    // The writer's own error explains a failed send better than the send does.
    let mut conn = conn?;
    result?;

    let t_finish = Instant::now();
    match backend {
        Backend::Sqlite => exec(&mut conn, "PRAGMA wal_checkpoint(TRUNCATE)".into()).await?,
        // What autovacuum would do soon after such a load; done now so it does not run
        // during the measurements.
        Backend::Postgres => exec(&mut conn, "VACUUM ANALYZE".into()).await?,
    }
    let _ = conn.close().await;
    report.finish_seconds = t_finish.elapsed().as_secs_f64();
    report.total_seconds = t_all.elapsed().as_secs_f64();
    eprintln!(
        "seed: done in {:.1} s (index rebuild {:.1} s, {} {:.1} s)",
        report.total_seconds,
        report.index_seconds,
        match backend {
            Backend::Sqlite => "checkpoint",
            Backend::Postgres => "VACUUM ANALYZE",
        },
        report.finish_seconds
    );
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn write_all(
    tx: &mpsc::Sender<Msg>,
    base: &str,
    spec: &Spec,
    model: &Model,
    password_hash: &str,
    keys: &kring_service::keys::Keys,
    deferred: &[(String, String)],
    report: &mut SeedReport,
) -> Result<(), String> {
    let n = spec.accounts;
    let clock = Clock {
        now_ms: kring_core::time::now_micros() / 1000,
        statuses: spec.statuses,
    };
    for (name, _) in deferred {
        tx.send(Msg::Ddl(format!("DROP INDEX {name}")))
            .await
            .map_err(|_| "seeding: the writer stopped".to_string())?;
    }

    // The app every token and status belongs to.
    let (app_id, app_at) = clock.token(n);
    let mut ins = Insert::new(
        tx,
        "apps",
        "id, name, website, redirect_uris, scopes, client_id, client_secret, client_secret_hash, created_at",
    );
    let _ = write!(
        ins.row(),
        "({app_id},'kring bench',NULL,'urn:ietf:wg:oauth:2.0:oob','read write follow push',{},'',{},{app_at})",
        lit(&kring_service::auth::random_secret()),
        lit(&kring_service::auth::hash_secret(CLIENT_SECRET)),
    );
    ins.finish(report).await?;

    let public_pem = lit(&keys.public_pem);
    let private_pem = lit(&keys.private_pem);
    let mut ins = Insert::new(
        tx,
        "accounts",
        "id, username, domain, display_name, uri, url, inbox_url, shared_inbox_url, followers_url, \
         public_key_pem, private_key_pem, followers_count, following_count, statuses_count, last_status_at, \
         created_at, updated_at",
    );
    for i in 0..n {
        let (id, at) = clock.account(i);
        let name = username(i);
        let uri = format!("{base}/users/{name}");
        let _ = write!(
            ins.row(),
            "({id},'{name}','','{display}','{uri}','{base}/@{name}','{uri}/inbox','{base}/inbox','{uri}/followers',\
             {public_pem},{private_pem},{},{},{},{},{at},{at})",
            model.followers_count[i],
            model.follows[i].len(),
            model.by_author[i].len(),
            model.by_author[i]
                .last()
                .map_or("NULL".to_string(), |&j| clock
                    .status(j as usize)
                    .1
                    .to_string()),
            display = if i == 0 {
                "Star".to_string()
            } else {
                format!("User {i}")
            },
        );
        ins.maybe_flush().await?;
    }
    ins.finish(report).await?;

    let hash = lit(password_hash);
    let mut ins = Insert::new(
        tx,
        "users",
        "account_id, email, password_hash, role, approved, confirmed, locale, created_at",
    );
    for i in 0..n {
        let (id, at) = clock.account(i);
        let _ = write!(
            ins.row(),
            "({id},'{}@bench.example',{hash},'user',1,1,'en',{at})",
            username(i)
        );
        ins.maybe_flush().await?;
    }
    ins.finish(report).await?;

    let mut ins = Insert::new(
        tx,
        "access_tokens",
        "id, token_hash, app_id, account_id, scopes, created_at",
    );
    for i in 0..n {
        let (id, at) = clock.token(i);
        let hash = kring_service::auth::hash_secret(&token_for(&username(i)));
        let _ = write!(
            ins.row(),
            "({id},'{hash}',{app_id},{},'read write follow push',{at})",
            clock.account(i).0
        );
        ins.maybe_flush().await?;
    }
    ins.finish(report).await?;

    let mut ins = Insert::new(tx, "follows", "id, account_id, target_id, created_at");
    let mut k = 0usize;
    for (i, targets) in model.follows.iter().enumerate() {
        let account = clock.account(i).0;
        for &t in targets {
            let (id, at) = clock.follow(k);
            k += 1;
            let _ = write!(
                ins.row(),
                "({id},{account},{},{at})",
                clock.account(t as usize).0
            );
            ins.maybe_flush().await?;
        }
    }
    ins.finish(report).await?;

    const WORDS: [&str; 16] = [
        "river", "garden", "coffee", "morning", "train", "friends", "music", "bread", "rain",
        "window", "bicycle", "letters", "market", "evening", "lantern", "harbour",
    ];
    let mut rng = Rng(spec.seed ^ 0x5eed);
    let mut ins = Insert::new(
        tx,
        "statuses",
        "id, account_id, uri, url, local, conversation_id, text, content, language, visibility, public, listed, \
         application_id, created_at",
    );
    let mut text = String::new();
    for j in 0..spec.statuses {
        let a = model.author[j] as usize;
        let (id, at) = clock.status(j);
        let name = username(a);
        text.clear();
        let _ = write!(text, "Post {j} from {name}:");
        for _ in 0..8 + rng.below(18) {
            text.push(' ');
            text.push_str(WORDS[rng.below(WORDS.len())]);
        }
        let (vis, public, listed) = match model.visibility[j] {
            0 => ("public", 1, 1),
            1 => ("unlisted", 1, 0),
            _ => ("private", 0, 0),
        };
        let _ = write!(
            ins.row(),
            "({id},{},'{base}/users/{name}/statuses/{id}','{base}/@{name}/{id}',1,{id},'{text}','<p>{text}</p>','en',\
             '{vis}',{public},{listed},{app_id},{at})",
            clock.account(a).0
        );
        ins.maybe_flush().await?;
    }
    ins.finish(report).await?;

    // Public, unlisted and private posts all grant the author's followers (kring_core::audience).
    let mut ins = Insert::new(tx, "status_audience", "status_id, kind, target_id");
    for j in 0..spec.statuses {
        let _ = write!(
            ins.row(),
            "({},'followers',{})",
            clock.status(j).0,
            clock.account(model.author[j] as usize).0
        );
        ins.maybe_flush().await?;
    }
    ins.finish(report).await?;

    // Feeds are written post by post, in the order the server writes them (each post to all
    // its readers at once), not feed by feed. Why: an index filled feed by feed has every
    // page packed alike, so the benchmark's posts then split all their readers' last pages on
    // the same post (3x the log's pages on one post in eight or nine: BENCHMARKS.md, sessions
    // 23 and 24); filled in time order, pages fill and split at their own pace, as on a
    // server that has been running.
    let cap = FEED_CAP as usize;
    let mut entries = Vec::with_capacity(cap);
    let mut rows: Vec<(u32, u32)> = Vec::new();
    for i in 0..n {
        let authors = model.follows[i].iter().copied().chain([i as u32]);
        feed(model, authors, cap, &mut entries);
        rows.extend(entries.iter().map(|&j| (j, i as u32)));
    }
    rows.sort_unstable();
    let mut ins = Insert::new(tx, "home_feed", "account_id, entry_id, author_id");
    for (j, i) in rows {
        let _ = write!(
            ins.row(),
            "({},{},{})",
            clock.account(i as usize).0,
            clock.status(j as usize).0,
            clock.account(model.author[j as usize] as usize).0
        );
        ins.maybe_flush().await?;
    }
    ins.finish(report).await?;

    let t_index = Instant::now();
    for (name, ddl) in deferred {
        let t = Instant::now();
        tx.send(Msg::Ddl(ddl.clone()))
            .await
            .map_err(|_| "seeding: the writer stopped".to_string())?;
        sync(tx).await?;
        eprintln!(
            "seed: index {name:<22} rebuilt in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    report.index_seconds = t_index.elapsed().as_secs_f64();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kring_core::Id;

    #[test]
    fn graph_is_consistent() {
        let spec = Spec {
            accounts: 60,
            statuses: 3000,
            follows: 20,
            star_followers: 40,
            seed: 7,
        };
        let m = build_model(&spec);
        assert_eq!(m.followers_count[0], 40);
        for (i, f) in m.follows.iter().enumerate() {
            assert_eq!(f.len(), 20, "account {i}");
            assert!(!f.contains(&(i as u32)));
            let mut d = f.clone();
            d.dedup();
            assert_eq!(d.len(), f.len());
        }
        let mut out = Vec::new();
        feed(&m, m.follows[5].iter().copied().chain([5]), 100, &mut out);
        let mut naive: Vec<u32> = (0..3000u32)
            .filter(|&j| {
                let a = m.author[j as usize];
                a == 5 || m.follows[5].contains(&a)
            })
            .collect();
        let naive = naive.split_off(naive.len() - 100);
        assert_eq!(out, naive);
        let clock = Clock {
            now_ms: 1_700_000_000_000,
            statuses: 3000,
        };
        let ids: Vec<i64> = (0..3000).map(|j| clock.status(j).0).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(clock.status(2999).0 < Id::at_millis(1_700_000_000_000).0);
        assert!(clock.follow(0).0 > clock.account(59).0);
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://bench-data/kring.db"),
            Some("bench-data/kring.db".into())
        );
        assert_eq!(
            sqlite_path("sqlite:/tmp/x.db?mode=rwc"),
            Some("/tmp/x.db".into())
        );
        assert_eq!(sqlite_path("postgres://x"), None);
        assert_eq!(connect_url("sqlite://a.db"), "sqlite://a.db?mode=rwc");
    }
}
