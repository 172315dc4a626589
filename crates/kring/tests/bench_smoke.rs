// SPDX-License-Identifier: AGPL-3.0-or-later
//! `kring bench` at a tiny size: the seeded database is one the real server reads correctly
//! (home timelines equal fan-out on read, logins work, counters add up, no dangling references),
//! and one measurement pass against the real `kring` binary completes without errors.
//!
//! Runs on SQLite in a temporary directory, or on a fresh PostgreSQL database when
//! `KRING_TEST_DATABASE_URL` is set.
use clap::Parser;
use kring::bench::{Report, seed};
use kring::cli::{Cli, Command};
use kring::config::{Config, Partial};
use sqlx::{AnyConnection, AssertSqlSafe, Connection};

/// A fresh PostgreSQL database next to the one `KRING_TEST_DATABASE_URL` names.
async fn pg_database(admin_url: &str) -> (String, String) {
    let name = format!("kring_bench_{:016x}", rand::random::<u64>());
    let mut conn = seed::connect(admin_url)
        .await
        .expect("connect to PostgreSQL");
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create database");
    let _ = conn.close().await;
    let mut url = reqwest::Url::parse(admin_url).expect("a URL");
    url.set_path(&format!("/{name}"));
    (name, url.to_string())
}

async fn drop_pg_database(admin_url: &str, name: &str) {
    if let Ok(mut conn) = seed::connect(admin_url).await {
        let _ = sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
        let _ = conn.close().await;
    }
}

async fn count(conn: &mut AnyConnection, sql: &str) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(sql.to_string()))
        .fetch_one(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_seeds_a_database_the_server_reads_and_measures_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin_url = std::env::var("KRING_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    let pg = match &admin_url {
        Some(admin) => Some(pg_database(admin).await),
        None => None,
    };
    let database_url = match &pg {
        Some((_, url)) => url.clone(),
        None => format!("sqlite://{}/kring.db", dir.path().display()),
    };

    let cli = Cli::try_parse_from([
        "kring",
        "--database-url",
        &database_url,
        "--data-dir",
        &dir.path().display().to_string(),
        "bench",
        "--accounts",
        "50",
        "--statuses",
        "2000",
        "--follows",
        "20",
        "--star-followers",
        "30",
        "--connections",
        "1,4",
        "--seconds",
        "1",
        "--warmup",
        "0.2",
        "--posts",
        "3",
        "--starts",
        "1",
        "--quiet-wait",
        "0",
        "--signups",
        "3",
        "--soak-seconds",
        "3",
        "--soak-calibration-seconds",
        "1",
        // A fixed light load (the default is a share of the measured capacity).
        "--soak-rate",
        "50",
        "--server-bin",
        env!("CARGO_BIN_EXE_kring"),
    ])
    .expect("bench arguments");
    let Some(Command::Bench(args)) = cli.command else {
        panic!("not the bench command");
    };
    let result = kring::bench::bench(&cli.global, args).await;
    let outcome = check(result, &database_url, dir.path()).await;
    if let (Some(admin), Some((name, _))) = (&admin_url, &pg) {
        drop_pg_database(admin, name).await;
    }
    outcome.unwrap();
}

async fn check(
    result: Result<Report, String>,
    database_url: &str,
    dir: &std::path::Path,
) -> Result<(), String> {
    let report = result?;
    println!("{}", report.markdown());
    assert_eq!(report.accounts, 50);
    assert_eq!(report.statuses, 2000);
    assert_eq!(report.follows, 50 * 20);
    assert_eq!(report.star_followers, 30);
    // Every account's feed holds the newest 800 of its own and its followees' posts; with
    // about 2,000 statuses by 21 of 50 authors that is all of them, well over 40.
    assert!(report.feed_entries > 50 * 40);
    assert_eq!(report.verified_timelines, 4);
    assert_eq!(report.home.len(), 2);
    for h in &report.home {
        assert!(h.latency.count > 0, "no home timeline requests: {h:?}");
        assert_eq!(h.errors, 0, "failed requests: {h:?}");
        assert_eq!(h.empty, 0, "empty home timelines: {h:?}");
    }
    let web = report.web.as_ref().expect("the web home page measured");
    assert!(web.latency.count > 0, "no web page requests: {web:?}");
    assert_eq!(web.errors, 0, "failed web pages: {web:?}");
    assert_eq!(web.empty, 0, "web home pages without posts: {web:?}");
    let weight = report.page_weight.as_ref().expect("page weight measured");
    assert_eq!(weight.posts, 40, "the web home page shows 40 posts");
    let assets: Vec<&str> = weight.assets.iter().map(|(u, _)| u.as_str()).collect();
    for name in ["kring.css", "kring.js", "avatar.svg", "favicon.svg"] {
        assert!(
            assets.iter().any(|u| u.contains(name)),
            "{name} counted: {assets:?}"
        );
    }
    let fanout = report.fanout.as_ref().expect("fan-out measured");
    // The three timed posts and the first one, timed apart; all deleted again.
    assert_eq!(fanout.posts, 3);
    assert_eq!(fanout.ids.len(), 3 + 1);
    assert!(fanout.visible.p50 >= fanout.post.p50);
    assert!(fanout.first.visible >= fanout.first.post && fanout.first.post > 0.0);
    assert_eq!(report.starts.len(), 1);
    assert!(report.stopped, "the server stopped on SIGTERM");
    assert!(report.rss_peak.is_some());
    // The hashtag timeline, a status and its context were read, with posts in each answer.
    let reads: Vec<&str> = report.reads.iter().map(|(n, _)| *n).collect();
    assert_eq!(reads.len(), 5, "reads measured: {reads:?}");
    for (name, r) in &report.reads {
        assert!(r.latency.count > 0, "no {name} requests: {r:?}");
        assert_eq!(
            r.errors + r.empty,
            0,
            "{name}: failed or empty answers: {r:?}"
        );
    }
    let signups = report.extra.signups.as_ref().expect("sign-ups measured");
    assert!(signups.errors.is_empty(), "sign-ups: {:?}", signups.errors);
    assert_eq!((signups.sign_up.count, signups.log_in.count), (3, 3));
    assert_eq!(signups.ids.len(), 3);
    let soak = report.extra.soak.as_ref().expect("soak run");
    assert!(!soak.windows.is_empty());
    assert!(soak.kinds.iter().map(|(_, _, l)| l.count).sum::<usize>() > 0);
    assert_eq!(soak.errors, 0, "soak errors: {:?}", soak.samples);
    assert_eq!(soak.calibration_errors, 0, "errors: {:?}", soak.samples);
    assert!(soak.capacity > 0.0, "the mix's capacity was measured");
    assert_eq!(soak.rate, 50.0, "the soak offers the rate asked for");

    // Counters agree with the rows, and the fan-out posts were deleted again.
    let mut db = seed::connect(database_url).await?;
    let wrong = count(
        &mut db,
        "SELECT COUNT(*) FROM accounts a WHERE \
         a.followers_count <> (SELECT COUNT(*) FROM follows f WHERE f.target_id = a.id) OR \
         a.following_count <> (SELECT COUNT(*) FROM follows f WHERE f.account_id = a.id) OR \
         a.statuses_count <> (SELECT COUNT(*) FROM statuses s WHERE s.account_id = a.id)",
    )
    .await;
    assert_eq!(wrong, 0, "accounts with wrong counters");
    // Local statuses: the seeded ones (the soak's inbound activities stored remote ones too).
    assert_eq!(
        count(&mut db, "SELECT COUNT(*) FROM statuses WHERE local = 1").await,
        2000
    );
    assert_eq!(
        count(
            &mut db,
            "SELECT COUNT(*) FROM statuses s WHERE s.local = 1 AND NOT EXISTS (SELECT 1 FROM status_audience g \
             WHERE g.status_id = s.id AND g.kind = 'followers' AND g.target_id = s.account_id)"
        )
        .await,
        0,
        "statuses without their followers grant"
    );
    let private = count(
        &mut db,
        "SELECT COUNT(*) FROM statuses WHERE visibility = 'private' AND public = 0 AND listed = 0",
    )
    .await;
    let public = count(
        &mut db,
        "SELECT COUNT(*) FROM statuses WHERE visibility = 'public' AND public = 1 AND listed = 1",
    )
    .await;
    assert!(
        private > 100 && public > 1400,
        "visibility mix: {private} private, {public} public"
    );
    assert_eq!(
        count(
            &mut db,
            "SELECT COUNT(DISTINCT uri) FROM statuses WHERE local = 1"
        )
        .await,
        2000
    );
    if database_url.starts_with("sqlite:") {
        let dangling: Vec<(String,)> =
            sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
                .fetch_all(&mut db)
                .await
                .map_err(|e| e.to_string())?;
        assert!(dangling.is_empty(), "dangling references in {dangling:?}");
    }
    // Client secrets are stored hashed: the seeded app's is a well-known one.
    let (client_id,): (String,) = sqlx::query_as("SELECT client_id FROM apps ORDER BY id LIMIT 1")
        .fetch_one(&mut db)
        .await
        .map_err(|e| e.to_string())?;
    let client_secret = seed::CLIENT_SECRET.to_string();
    let _ = db.close().await;

    // A seeded user logs in with the shared password through the real server.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let config = Config::resolve(Partial {
        listen: Some(format!("127.0.0.1:{port}")),
        data_dir: Some(dir.to_path_buf()),
        database_url: Some(database_url.to_string()),
        ..Partial::default()
    })?;
    let running = kring::server::start(config).await?;
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{}/oauth/token", running.base_url()))
        .form(&[
            ("grant_type", "password"),
            ("client_id", &client_id),
            ("client_secret", &client_secret),
            ("username", "user7@bench.example"),
            ("password", seed::PASSWORD),
            ("scope", "read"),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let access = token["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("password grant failed: {token}"));
    let me: serde_json::Value = http
        .get(format!(
            "{}/api/v1/accounts/verify_credentials",
            running.base_url()
        ))
        .bearer_auth(access)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(me["username"], "user7");
    assert_eq!(me["following_count"], 20);
    running.stop().await;
    Ok(())
}
