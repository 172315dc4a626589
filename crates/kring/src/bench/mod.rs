//! `kring bench`: seed a database at a realistic size (10,000 accounts, 1,000,000 statuses,
//! ~200 follows each, home feeds as fan-out on write leaves them), then measure the real
//! server binary, started as a child process, over HTTP: home-timeline latency, throughput and
//! CPU per request at several connection counts, the time until a post reaches 1,000 local
//! followers' home timelines, memory, cold start and binary size. Prints Markdown; see
//! BENCHMARKS.md for recorded results.
pub mod extra;
pub mod federation;
pub mod load;
pub mod media;
pub mod proc;
pub mod reads;
pub mod seed;
pub mod signups;
pub mod soak;
pub mod stream;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use kring_store::Backend;
use sqlx::AnyConnection;

use crate::cli::{Global, redact};
use crate::config::{Config, Partial};

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Local accounts to seed (account "star" plus user1, user2, …).
    #[arg(long, default_value_t = 10_000)]
    pub accounts: usize,
    /// Statuses to seed, spread over the last 60 days.
    #[arg(long, default_value_t = 1_000_000)]
    pub statuses: usize,
    /// Accounts each account follows.
    #[arg(long, default_value_t = 200)]
    pub follows: usize,
    /// Followers of the account "star", which posts in the fan-out measurement.
    #[arg(long, default_value_t = 1_000)]
    pub star_followers: usize,
    /// Seed of the generated graph.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Reuse an already seeded database.
    #[arg(long, conflicts_with = "reseed")]
    pub skip_seed: bool,
    /// Wipe the database first (SQLite: delete the file; PostgreSQL: drop every table).
    #[arg(long)]
    pub reseed: bool,
    /// Seed, then stop without measuring.
    #[arg(long)]
    pub seed_only: bool,
    /// Connection counts of the home-timeline load.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    pub connections: Vec<usize>,
    /// Measured seconds per connection count.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Unmeasured warm-up seconds before each connection count.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Also measure the web interface's home page (40 posts) and its weight.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub web: bool,
    /// Posts in the fan-out measurement (timed; one more before them is timed apart).
    #[arg(long, default_value_t = 50)]
    pub posts: usize,
    /// Streaming at scale: this many of `star`'s followers connect to the streaming API
    /// (`stream=user`) and every post by `star` must reach each of them (0: not measured).
    #[arg(long, default_value_t = 0)]
    pub stream_clients: usize,
    /// Posts in the streaming measurement.
    #[arg(long, default_value_t = 20)]
    pub stream_posts: usize,
    /// Server starts for the cold-start measurement (the last one is measured under load).
    #[arg(long, default_value_t = 5)]
    pub starts: usize,
    /// The kring binary to benchmark [default: this one].
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Address the server listens on [default: a free port on 127.0.0.1].
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Before each measurement, wait up to this many seconds for other processes to leave
    /// the CPU alone (0: do not wait). The load from elsewhere is reported either way.
    #[arg(long, default_value_t = 600.0)]
    pub quiet_wait: f64,
    /// What counts as quiet: other processes using fewer cores than this.
    #[arg(long, default_value_t = 0.2)]
    pub quiet_cores: f64,
    /// Repeat a measurement (at most this many times) when other processes used
    /// `--quiet-cores` or more during it; the least disturbed run is reported.
    #[arg(long, default_value_t = 2)]
    pub retries: usize,
    #[command(flatten)]
    pub extra: extra::ExtraArgs,
}

/// Everything measured, for printing (and for the smoke test to check).
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub backend: String,
    pub database_version: String,
    pub database_url: String,
    pub machine: String,
    pub date: String,
    pub binary: String,
    pub binary_bytes: Option<u64>,
    /// Whether the binary still has a symbol table (None: not a 64-bit ELF file).
    pub binary_symbols: Option<bool>,
    pub accounts: i64,
    pub statuses: i64,
    pub follows: i64,
    pub feed_entries: i64,
    pub star_followers: usize,
    pub seed: Option<seed::SeedReport>,
    pub starts: Vec<proc::Start>,
    pub settle_seconds: f64,
    pub startup_cpu_seconds: Option<f64>,
    pub rss_idle: Option<u64>,
    pub instance: load::Latency,
    pub verified_timelines: usize,
    pub home: Vec<load::HomeLoad>,
    /// The web interface's home page on one connection.
    pub web: Option<load::HomeLoad>,
    /// Other reads on one connection: the public timeline and `verify_credentials`.
    pub reads: Vec<(&'static str, load::HomeLoad)>,
    pub page_weight: Option<load::PageWeight>,
    pub fanout: Option<load::Fanout>,
    pub stream: Option<stream::StreamReport>,
    pub rss_peak: Option<u64>,
    pub rss_end: Option<u64>,
    pub stopped: bool,
    pub extra: extra::ExtraReport,
}

/// The bench's configuration: the usual flags, but a `bench-data` directory by default.
fn config(global: &Global) -> Result<Config, String> {
    let flags = Partial {
        domain: global.domain.clone(),
        data_dir: Some(
            global
                .data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("bench-data")),
        ),
        database_url: global.database_url.clone(),
        ..Partial::default()
    };
    let file = match &global.config {
        Some(path) => Partial::from_file(path)?,
        None => Partial::default(),
    };
    Config::resolve(flags.or(file))
}

/// `kring bench`: run and print the report.
pub async fn run(global: &Global, args: BenchArgs) -> Result<(), String> {
    let seed_only = args.seed_only;
    let report = bench(global, args).await?;
    if !seed_only {
        println!("{}", report.markdown());
    }
    Ok(())
}

fn sql_err(e: sqlx::Error) -> String {
    format!("database: {e}")
}

/// Seed (unless `--skip-seed`) and measure.
pub async fn bench(global: &Global, args: BenchArgs) -> Result<Report, String> {
    let config = config(global)?;
    let url = config.database_url.clone();
    let backend = Backend::from_url(&url).map_err(|e| e.to_string())?;
    let base_url = config.service().base_url();
    let mut report = Report {
        backend: match backend {
            Backend::Sqlite => "SQLite".into(),
            Backend::Postgres => "PostgreSQL".into(),
        },
        database_url: redact(&url),
        machine: proc::machine(),
        date: kring_core::time::date(kring_core::time::now_micros()),
        ..Report::default()
    };
    if !args.skip_seed {
        if args.reseed {
            seed::wipe(&url).await?;
        }
        let spec = seed::Spec {
            accounts: args.accounts,
            statuses: args.statuses,
            follows: args.follows,
            star_followers: args.star_followers,
            seed: args.seed,
        };
        report.seed = Some(seed::seed(&url, &base_url, &spec).await?);
    }
    if args.seed_only {
        return Ok(report);
    }

    let mut db = seed::connect(&url).await?;
    report.database_version = match backend {
        Backend::Sqlite => sqlx::query_scalar::<_, String>("SELECT sqlite_version()"),
        Backend::Postgres => {
            sqlx::query_scalar::<_, String>("SELECT current_setting('server_version')")
        }
    }
    .fetch_one(&mut db)
    .await
    .map_err(sql_err)?;
    for (table, slot) in [
        ("accounts", &mut report.accounts),
        ("statuses", &mut report.statuses),
        ("follows", &mut report.follows),
        ("home_feed", &mut report.feed_entries),
    ] {
        *slot = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&mut db)
            .await
            .map_err(sql_err)?;
    }
    let accounts: Vec<(i64, String)> = sqlx::query_as(
        "SELECT a.id, a.username FROM accounts a JOIN users u ON u.account_id = a.id \
         WHERE a.username NOT LIKE 'signup%' ORDER BY a.id",
    )
    .fetch_all(&mut db)
    .await
    .map_err(sql_err)?;
    let star = accounts
        .iter()
        .find(|(_, n)| n == seed::STAR)
        .cloned()
        .ok_or("no account \"star\": was this database seeded by `kring bench`?")?;
    let followers: Vec<String> = sqlx::query_scalar(
        "SELECT a.username FROM follows f JOIN accounts a ON a.id = f.account_id \
         JOIN users u ON u.account_id = a.id WHERE f.target_id = $1 ORDER BY a.id",
    )
    .bind(star.0)
    .fetch_all(&mut db)
    .await
    .map_err(sql_err)?;
    report.star_followers = followers.len();
    let tokens: Arc<Vec<String>> =
        Arc::new(accounts.iter().map(|(_, n)| seed::token_for(n)).collect());

    // The server under test, started as it would be in production.
    let bin = match &args.server_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe().map_err(|e| e.to_string())?,
    };
    report.binary = bin.display().to_string();
    report.binary_bytes = proc::file_size(&bin);
    report.binary_symbols = proc::has_symbol_table(&bin);
    let addr = match args.listen {
        Some(a) => a,
        None => std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?,
    };
    let mut server_args: Vec<String> = vec![
        "serve".into(),
        "--listen".into(),
        addr.to_string(),
        "--database-url".into(),
        url.clone(),
        "--domain".into(),
        config.domain.clone(),
        "--data-dir".into(),
        config.data_dir.display().to_string(),
        "--log".into(),
        "warn".into(),
        // The load comes from one address as fast as the server answers: the abuse limits
        // would measure themselves, not the server.
        "--rate-limit".into(),
        "all=1000000/1m".into(),
        // The sign-ups, and the soak's inbound activities from actors on 127.0.0.2.
        "--registrations".into(),
        "open".into(),
        "--allow-private-federation".into(),
    ];
    if let Some(c) = &global.config {
        server_args.push("--config".into());
        server_args.push(c.display().to_string());
    }
    let command = proc::ServerCommand {
        bin,
        args: server_args,
        addr,
    };
    if args.stream_clients > 0 {
        // The server inherits the limit: it holds a socket per client too.
        stream::raise_open_files(args.stream_clients as u64 * 2 + 1024);
    }
    quiet(&args, "cold starts", 0).await;
    let mut server = None;
    for i in 0..args.starts.max(1) {
        let (s, start) = command.start().await?;
        eprintln!(
            "bench: start {}: listening after {:.1} ms, first 200 after {:.1} ms",
            i + 1,
            ms(start.listening),
            ms(start.ready)
        );
        report.starts.push(start);
        if i + 1 < args.starts.max(1) {
            // Each start's background work (the job worker's first feed scan) is part of
            // what a restart costs; let it finish before stopping.
            s.settle(Duration::from_secs(120)).await;
            s.stop().await?;
        } else {
            server = Some(s);
        }
    }
    let server = server.ok_or("no server")?;
    let outcome = measure(
        &args,
        &mut report,
        &server,
        &mut db,
        backend,
        &tokens,
        &star,
        &followers,
    )
    .await;
    let outcome = match outcome {
        Ok(()) => extra::after_fanout(&args, &mut report, &server, &tokens, &config.domain).await,
        e => e,
    };
    report.rss_peak = proc::status_bytes(server.pid, "VmHWM");
    report.rss_end = proc::status_bytes(server.pid, "VmRSS");
    report.stopped = server.stop().await.is_ok();
    use sqlx::Connection;
    let _ = db.close().await;
    outcome?;
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    args: &BenchArgs,
    report: &mut Report,
    server: &proc::Server,
    db: &mut AnyConnection,
    backend: Backend,
    tokens: &Arc<Vec<String>>,
    star: &(i64, String),
    followers: &[String],
) -> Result<(), String> {
    let base = &server.base_url;
    let (settle, cpu) = server.settle(Duration::from_secs(300)).await;
    report.settle_seconds = settle.as_secs_f64();
    report.startup_cpu_seconds = cpu;
    report.rss_idle = proc::status_bytes(server.pid, "VmRSS");
    eprintln!(
        "bench: server idle after {:.1} s ({:.2} CPU s since spawn), RSS {}",
        report.settle_seconds,
        cpu.unwrap_or(f64::NAN),
        mib(report.rss_idle)
    );
    report.instance = load::timed_get(&format!("{base}/api/v1/instance"), 20).await?;

    // The server's home timelines must be what fan-out on read would give.
    let accounts: Vec<(i64, String)> = sqlx::query_as(
        "SELECT a.id, a.username FROM accounts a JOIN users u ON u.account_id = a.id \
         WHERE a.username NOT LIKE 'signup%' ORDER BY a.id",
    )
    .fetch_all(&mut *db)
    .await
    .map_err(sql_err)?;
    let n = accounts.len();
    for k in [1, n / 3, n / 2, n - 1] {
        let (id, name) = &accounts[k.min(n - 1)];
        let got = load::home_ids(base, &seed::token_for(name), 40).await?;
        let want: Vec<i64> = sqlx::query_scalar(
            "SELECT s.id FROM statuses s WHERE (s.account_id = $1 OR s.account_id IN \
             (SELECT target_id FROM follows WHERE account_id = $1)) AND s.reblog_of_id IS NULL \
             ORDER BY s.id DESC LIMIT 40",
        )
        .bind(*id)
        .fetch_all(&mut *db)
        .await
        .map_err(sql_err)?;
        let want: Vec<String> = want.iter().map(i64::to_string).collect();
        if got.is_empty() || got != want {
            return Err(format!(
                "the home timeline of {name} is not what its follows give: got {} entries, {} expected",
                got.len(),
                want.len()
            ));
        }
        report.verified_timelines += 1;
    }

    let home = HomeBench {
        args,
        server,
        backend,
        tokens,
    };
    for &c in &args.connections {
        let what = format!("home timeline, {c} connections");
        report
            .home
            .extend(home.run(db, &what, c, load::Target::Api).await?);
    }
    // The web interface's home page: one connection, as one person clicking.
    if args.web {
        let what = "web home page, 1 connection";
        report.web = home.run(db, what, 1, load::Target::Web).await?;
        report.page_weight = Some(load::page_weight(base, &tokens[tokens.len() / 2]).await?);
    }
    for (name, target) in [
        (
            "`GET /api/v1/timelines/public?limit=40`",
            load::Target::Public,
        ),
        (
            "`GET /api/v1/accounts/verify_credentials`",
            load::Target::Credentials,
        ),
    ] {
        let what = format!("{name}, 1 connection");
        if let Some(r) = home.run(db, &what, 1, target).await? {
            report.reads.push((name, r));
        }
    }
    extra::reads(&home, db, tokens, &mut report.reads).await?;

    if args.posts > 0 {
        let star_token = seed::token_for(&star.1);
        let follower_tokens: Vec<String> = followers.iter().map(|n| seed::token_for(n)).collect();
        let mut kept: Kept<load::Fanout> = Kept(None);
        for attempt in 0..=args.retries {
            quiet(args, "fan-out", server.pid).await;
            let pids = database_pids(db, backend).await?;
            // The last follower in account order: large fan-outs go in batches in that
            // order, so this is the time until every follower's feed has the post.
            let f = load::fanout(
                base,
                &star_token,
                &follower_tokens[follower_tokens.len().saturating_sub(1)..],
                args.posts,
                server.pid,
                &pids,
            )
            .await?;
            for id in &f.ids {
                let entries: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM home_feed WHERE entry_id = $1")
                        .bind(id.parse::<i64>().map_err(|e| e.to_string())?)
                        .fetch_one(&mut *db)
                        .await
                        .map_err(sql_err)?;
                if entries != followers.len() as i64 + 1 {
                    return Err(format!(
                        "post {id} is in {entries} home feeds, {} expected",
                        followers.len() + 1
                    ));
                }
            }
            eprintln!(
                "bench: fan-out, {} posts to {} followers: POST p50 {:.1} ms, visible p50 {:.1} ms, p99 {:.1} ms (the first post {:.1} ms), other load {} cores",
                f.posts,
                followers.len(),
                f.post.p50,
                f.visible.p50,
                f.visible.p99,
                f.first.visible,
                opt(f.usage.other_cores, 2)
            );
            load::delete_posts(base, &star_token, &f.ids).await?;
            if !kept.offer(args, attempt, f) {
                break;
            }
        }
        report.fanout = kept.0;
    }
    if args.stream_clients > 0 {
        if followers.len() < args.stream_clients {
            return Err(format!(
                "--stream-clients {} but `star` has {} local followers (seed with --star-followers)",
                args.stream_clients,
                followers.len()
            ));
        }
        let star_token = seed::token_for(&star.1);
        let tokens: Vec<String> = followers[..args.stream_clients]
            .iter()
            .map(|n| seed::token_for(n))
            .collect();
        let mut kept: Kept<stream::StreamReport> = Kept(None);
        for attempt in 0..=args.retries {
            quiet(args, "streaming", server.pid).await;
            let pids = database_pids(db, backend).await?;
            let r = stream::measure(
                base,
                &star_token,
                &tokens,
                args.stream_posts,
                server.pid,
                &pids,
            )
            .await?;
            eprintln!(
                "bench: streaming, {} clients, {} posts: {} of {} updates, delivery p50 {:.1} ms, p99 {:.1} ms, server CPU {} ms per post, other load {} cores",
                r.clients,
                r.posts,
                r.delivered,
                r.expected,
                r.delivery.p50,
                r.delivery.p99,
                opt(r.cpu_per_post_ms(), 1),
                opt(r.usage.other_cores, 2)
            );
            if r.delivered < r.expected {
                return Err(format!(
                    "streaming: {} of {} updates arrived",
                    r.delivered, r.expected
                ));
            }
            if !kept.offer(args, attempt, r) {
                break;
            }
        }
        report.stream = kept.0;
    }
    Ok(())
}

/// The home-feed load at one connection count, repeated while other processes disturb it.
struct HomeBench<'a> {
    args: &'a BenchArgs,
    server: &'a proc::Server,
    backend: Backend,
    tokens: &'a Arc<Vec<String>>,
}

impl HomeBench<'_> {
    async fn run(
        &self,
        db: &mut AnyConnection,
        what: &str,
        connections: usize,
        target: load::Target,
    ) -> Result<Option<load::HomeLoad>, String> {
        let (args, server) = (self.args, self.server);
        let mut kept: Kept<load::HomeLoad> = Kept(None);
        for attempt in 0..=args.retries {
            quiet(args, what, server.pid).await;
            let run = load::start_home(&server.base_url, self.tokens.clone(), connections, target)?;
            tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
            // After the warm-up, when the pool has opened its connections.
            let pids = database_pids(db, self.backend).await?;
            let r = run
                .measure(Duration::from_secs_f64(args.seconds), server.pid, &pids)
                .await?;
            eprintln!(
                "bench: {what}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, server CPU {} ms/req, {} errors, {} empty, other load {} cores",
                r.requests_per_second,
                r.latency.p50,
                r.latency.p99,
                opt(r.server_cpu_ms, 3),
                r.errors,
                r.empty,
                opt(r.usage.other_cores, 2)
            );
            if !kept.offer(args, attempt, r) {
                break;
            }
        }
        Ok(kept.0)
    }
}

/// The PostgreSQL backends serving the server (all but ours), to count their CPU too.
async fn database_pids(db: &mut AnyConnection, backend: Backend) -> Result<Vec<u32>, String> {
    if backend != Backend::Postgres {
        return Ok(Vec::new());
    }
    let pids: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut *db)
    .await
    .map_err(sql_err)?;
    Ok(pids
        .into_iter()
        .map(|p| p as u32)
        .filter(|&p| proc::cpu_seconds(p).is_some())
        .collect())
}

/// Whether other processes disturbed a measurement enough to repeat it.
/// A measurement that records how busy the rest of the machine was meanwhile.
trait Measured {
    fn usage(&self) -> &proc::Usage;
}

impl Measured for load::HomeLoad {
    fn usage(&self) -> &proc::Usage {
        &self.usage
    }
}

impl Measured for stream::StreamReport {
    fn usage(&self) -> &proc::Usage {
        &self.usage
    }
}

impl Measured for load::Fanout {
    fn usage(&self) -> &proc::Usage {
        &self.usage
    }
}

/// The least disturbed of the repeated runs of one measurement.
struct Kept<T>(Option<T>);

impl<T: Measured> Kept<T> {
    /// Keep `run` if other processes disturbed it less than the runs before; answers whether
    /// to measure again (disturbed, and `--retries` not used up).
    fn offer(&mut self, args: &BenchArgs, attempt: usize, run: T) -> bool {
        let other = |u: &proc::Usage| u.other_cores.unwrap_or(f64::INFINITY);
        let busy = run
            .usage()
            .other_cores
            .is_some_and(|o| o >= args.quiet_cores);
        let again = busy && attempt < args.retries;
        if again {
            eprintln!("bench: other processes disturbed that measurement; repeating it");
        }
        if self
            .0
            .as_ref()
            .is_none_or(|k| other(run.usage()) < other(k.usage()))
        {
            self.0 = Some(run);
        }
        again
    }
}

/// Wait for other processes to quiet down, as `--quiet-wait` says.
async fn quiet(args: &BenchArgs, what: &str, server: u32) {
    if args.quiet_wait <= 0.0 {
        return;
    }
    let (waited, other) = proc::wait_for_quiet(
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
    } else if waited > Duration::from_secs(2) {
        eprintln!(
            "bench: {what}: waited {:.0} s for other processes to leave the CPU",
            waited.as_secs_f64()
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(b: Option<u64>) -> String {
    b.map_or("n/a".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0))
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.digits$}"))
}

fn verdict(ok: bool) -> &'static str {
    if ok { "within" } else { "**MISSED**" }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "### {} {} — {} accounts, {} statuses, {} follows, {} home-feed entries\n",
            self.backend,
            self.database_version,
            self.accounts,
            self.statuses,
            self.follows,
            self.feed_entries
        );
        let _ = writeln!(s, "- date: {}", self.date);
        let _ = writeln!(s, "- machine: {}", self.machine);
        let _ = writeln!(s, "- database: {}", self.database_url);
        let _ = writeln!(s, "- binary: {} ({})", self.binary, mib(self.binary_bytes));
        let _ = writeln!(
            s,
            "- home timelines checked against fan-out on read: {}\n",
            self.verified_timelines
        );

        let cold: Vec<f64> = self.starts.iter().map(|x| ms(x.ready)).collect();
        let cold_median = median(cold.clone());
        let listen_median = median(self.starts.iter().map(|x| ms(x.listening)).collect());
        let rss_start = self.starts.iter().filter_map(|x| x.rss_ready).max();
        let first = self.home.first();
        let sqlite = self.backend == "SQLite";
        let _ = writeln!(s, "| Budget | Measured | Target | |");
        let _ = writeln!(s, "|---|---|---|---|");
        if let Some(h) = first {
            let _ = writeln!(
                s,
                "| Home timeline p99 over HTTP, {} connection{} | {:.2} ms | ≤ 5 ms{} | {} |",
                h.connections,
                if h.connections == 1 { "" } else { "s" },
                h.latency.p99,
                if sqlite { "" } else { " (set for SQLite)" },
                verdict(h.latency.p99 <= 5.0)
            );
            let cpu = h.server_cpu_ms.unwrap_or(f64::INFINITY) + h.database_cpu_ms.unwrap_or(0.0);
            let _ = writeln!(
                s,
                "| Server CPU per home-timeline request{} | {} ms | ≤ 0.15 ms{} | {} |",
                if h.database_cpu_ms.is_some() {
                    " (kring + PostgreSQL backends)"
                } else {
                    ""
                },
                opt(Some(cpu).filter(|c| c.is_finite()), 3),
                if sqlite { "" } else { " (set for SQLite)" },
                verdict(cpu <= 0.15)
            );
        }
        if let Some(f) = &self.fanout {
            let _ = writeln!(
                s,
                "| New post in {} local followers' home timelines, p99 | {:.1} ms | ≤ 30 ms | {} |",
                self.star_followers,
                f.visible.p99,
                verdict(f.visible.p99 <= 30.0)
            );
        }
        if let Some(w) = &self.web {
            let _ = writeln!(
                s,
                "| Web home page (40 posts) p99 over HTTP, 1 connection | {:.2} ms | ≤ 20 ms | {} |",
                w.latency.p99,
                verdict(w.latency.p99 <= 20.0)
            );
        }
        if let Some(pw) = &self.page_weight {
            let _ = writeln!(
                s,
                "| Web home page weight before media ({} posts: HTML + CSS + JS + icons) | {:.1} KB | ≤ 100 KB | {} |",
                pw.posts,
                pw.total() as f64 / 1000.0,
                verdict(pw.total() <= 100_000)
            );
        }
        let idle = self.rss_idle.or(rss_start);
        let _ = writeln!(
            s,
            "| Idle RSS after start (start-up work done) | {} | ≤ 30 MB | {} |",
            mib(idle),
            verdict(idle.is_some_and(|r| r <= 30 * 1000 * 1000))
        );
        let _ = writeln!(
            s,
            "| Cold start to first 200 from /api/v1/instance (median of {}) | {:.1} ms | ≤ 100 ms | {} |",
            cold.len(),
            cold_median,
            verdict(cold_median <= 100.0)
        );
        let _ = writeln!(
            s,
            "| Binary size ({}) | {} | ≤ 30 MB | {} |\n",
            match self.binary_symbols {
                Some(false) => "stripped",
                Some(true) => "NOT stripped",
                None => "unknown format",
            },
            mib(self.binary_bytes),
            verdict(self.binary_bytes.is_some_and(|b| b <= 30 * 1000 * 1000))
        );

        let _ = writeln!(
            s,
            "Home timeline, `GET /api/v1/timelines/home?limit=40`, random accounts:\n"
        );
        let _ = writeln!(
            s,
            "| Connections | Requests | Req/s | p50 ms | p90 ms | p99 ms | max ms | Server CPU ms/req | PostgreSQL CPU ms/req | Load generator CPU ms/req | Machine busy | Other load (cores) | Errors |"
        );
        let _ = writeln!(
            s,
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for h in &self.home {
            let _ = writeln!(
                s,
                "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {} |",
                h.connections,
                h.latency.count,
                h.requests_per_second,
                h.latency.p50,
                h.latency.p90,
                h.latency.p99,
                h.latency.max,
                opt(h.server_cpu_ms, 3),
                opt(h.database_cpu_ms, 3),
                opt(h.client_cpu_ms, 3),
                h.usage
                    .machine_busy
                    .map_or("n/a".into(), |b| format!("{:.0}%", b * 100.0)),
                opt(h.usage.other_cores, 2),
                h.errors + h.empty
            );
        }
        if let Some(w) = &self.web {
            let _ = writeln!(
                s,
                "\nWeb home page, `GET /home` (40 posts) with a random account's session cookie, 1 connection: \
                 {} pages, {:.0} pages/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
                 server CPU {} ms per page{}; other load {} cores; {} errors.",
                w.latency.count,
                w.requests_per_second,
                w.latency.p50,
                w.latency.p90,
                w.latency.p99,
                w.latency.max,
                opt(w.server_cpu_ms, 3),
                w.database_cpu_ms
                    .map(|d| format!(" + {d:.3} ms PostgreSQL"))
                    .unwrap_or_default(),
                opt(w.usage.other_cores, 2),
                w.errors + w.empty
            );
        }
        if !self.reads.is_empty() {
            let _ = writeln!(
                s,
                "\nOther reads, random accounts' tokens, 1 connection:\n\n\
                 | Request | Requests | Req/s | p50 ms | p99 ms | Server CPU ms/req | PostgreSQL CPU ms/req | Errors |\n\
                 |---|---:|---:|---:|---:|---:|---:|---:|"
            );
            for (name, r) in &self.reads {
                let _ = writeln!(
                    s,
                    "| {name} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
                    r.latency.count,
                    r.requests_per_second,
                    r.latency.p50,
                    r.latency.p99,
                    opt(r.server_cpu_ms, 3),
                    opt(r.database_cpu_ms, 3),
                    r.errors + r.empty
                );
            }
        }
        if let Some(pw) = &self.page_weight {
            let assets: Vec<String> = pw
                .assets
                .iter()
                .map(|(u, b)| {
                    format!(
                        "{} {:.1} KB",
                        u.split('?').next().unwrap_or(u),
                        *b as f64 / 1000.0
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "\nPage weight: HTML {:.1} KB ({} posts) + {} = {:.1} KB (uncompressed).",
                pw.html as f64 / 1000.0,
                pw.posts,
                assets.join(" + "),
                pw.total() as f64 / 1000.0
            );
        }
        if let Some(f) = &self.fanout {
            let _ = writeln!(
                s,
                "\nFan-out: {} public posts by `star` to {} local followers (one at a time after one \
                 more, timed apart; then deleted; server CPU {} ms per post; other load {} cores):\n",
                f.posts,
                self.star_followers,
                opt(
                    f.usage
                        .server
                        .map(|c| (c + f.usage.database.unwrap_or(0.0)) * 1000.0
                            / f.posts.max(1) as f64),
                    1
                ),
                opt(f.usage.other_cores, 2)
            );
            let _ = writeln!(
                s,
                "| | p50 ms | p90 ms | p99 ms | max ms | the first post after the quiet wait, ms |"
            );
            let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
            for (name, l, first) in [
                (
                    "`POST /api/v1/statuses` (fan-out committed)",
                    &f.post,
                    f.first.post,
                ),
                (
                    "POST until the last follower's home timeline shows it",
                    &f.visible,
                    f.first.visible,
                ),
            ] {
                let _ = writeln!(
                    s,
                    "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {first:.1} |",
                    l.p50, l.p90, l.p99, l.max
                );
            }
        }
        if let Some(st) = &self.stream {
            st.markdown(&mut s);
        }
        let _ = writeln!(s, "\nStart and memory:\n");
        let _ = writeln!(s, "| | |\n|---|---|");
        let _ = writeln!(
            s,
            "| Cold starts (first 200 from /api/v1/instance), ms | {} |",
            cold.iter()
                .map(|c| format!("{c:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(s, "| Listening after (median), ms | {listen_median:.1} |");
        let _ = writeln!(
            s,
            "| Warm `GET /api/v1/instance` p50 / max, ms | {:.1} / {:.1} |",
            self.instance.p50, self.instance.max
        );
        let _ = writeln!(
            s,
            "| Start-up background work (job worker's first feed scan) | idle after {:.1} s, {} CPU s |",
            self.settle_seconds,
            opt(self.startup_cpu_seconds, 2)
        );
        let _ = writeln!(
            s,
            "| RSS when listening, before any request (max over starts) | {} |",
            mib(self.starts.iter().filter_map(|x| x.rss_listening).max())
        );
        let _ = writeln!(
            s,
            "| RSS after the first 200 (max over starts) | {} |",
            mib(rss_start)
        );
        let _ = writeln!(
            s,
            "| RSS when idle after start-up work | {} |",
            mib(self.rss_idle)
        );
        let _ = writeln!(
            s,
            "| Peak RSS under load (VmHWM) | {} |",
            mib(self.rss_peak)
        );
        let _ = writeln!(s, "| RSS at the end | {} |", mib(self.rss_end));
        s.push_str(&self.extra.markdown());
        if let Some(seed) = &self.seed {
            let _ = writeln!(s, "\nSeeding ({:.1} s in all):\n", seed.total_seconds);
            let _ = writeln!(
                s,
                "| Step | Rows | Seconds | Rows/s |\n|---|---:|---:|---:|"
            );
            let _ = writeln!(
                s,
                "| graph in memory, password hash, key pair | | {:.1} | |",
                seed.model_seconds
            );
            for (t, rows, secs) in &seed.tables {
                let _ = writeln!(
                    s,
                    "| {t} | {rows} | {secs:.1} | {:.0} |",
                    *rows as f64 / secs.max(1e-9)
                );
            }
            let _ = writeln!(
                s,
                "| secondary indexes rebuilt | | {:.1} | |",
                seed.index_seconds
            );
            let _ = writeln!(
                s,
                "| {} | | {:.1} | |",
                if sqlite {
                    "WAL checkpoint"
                } else {
                    "VACUUM ANALYZE"
                },
                seed.finish_seconds
            );
        }
        s
    }
}
