// SPDX-License-Identifier: AGPL-3.0-or-later
//! 500 sign-ins at once against the real `kring` binary, run as its own process so that its
//! memory can be read from /proc: password hashing runs one per core at a time, so the peak
//! resident memory grows by far less than 500 concurrent Argon2 hashes (19 MiB each) would
//! need, and the server keeps answering. Each attempt gets a token, a refusal, or 503 "busy,
//! try again" — never an error or a dropped connection. No timing is asserted.
mod common;

use std::process::Stdio;
use std::time::Duration;

use common::PASSWORD;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ATTEMPTS: usize = 500;
/// The most the server's peak resident memory may grow during the burst.
const MAX_GROWTH_KB: u64 = 64 * 1024;

/// A `VmRSS`/`VmHWM` line of /proc/PID/status, in kB.
fn vm_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_sign_ins_keep_memory_bounded_and_the_server_answering() {
    let bin = env!("CARGO_BIN_EXE_kring");
    let dir = tempfile::tempdir().expect("temp dir");
    let (_db, database_url) = common::fresh_database();
    let port = common::free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut store_args = vec![
        "--data-dir".to_string(),
        dir.path().display().to_string(),
        "--domain".to_string(),
        addr.clone(),
        "--log".to_string(),
        "error".to_string(),
    ];
    if let Some(url) = &database_url {
        store_args.extend(["--database-url".to_string(), url.clone()]);
    }
    let created = std::process::Command::new(bin)
        .args([
            "admin",
            "create-user",
            "--username",
            "alice",
            "--email",
            "alice@tests.invalid",
            "--password",
            PASSWORD,
        ])
        .args(&store_args)
        .output()
        .expect("run kring admin create-user");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    // Every limit lifted: this test is about the hashing bound, not the rate limits.
    let mut server = tokio::process::Command::new(bin)
        .args(["serve", "--listen", &addr, "--rate-limit", "all=1000000/1m"])
        .args(&store_args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start kring serve");
    let pid = server.id().expect("pid");
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let mut up = false;
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{base}/api/v1/instance")).send().await
            && r.status() == StatusCode::OK
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the server came up");
    let app: Value = http
        .post(format!("{base}/api/v1/apps"))
        .json(&json!({"client_name": "load", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grant = |password: &'static str| {
        http.post(format!("{base}/oauth/token"))
            .json(&json!({
                "grant_type": "password",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "username": "alice@tests.invalid",
                "password": password,
                "scope": "read",
            }))
            .send()
    };
    // Warm up (the first hashes allocate what every later one reuses), then measure.
    for _ in 0..4 {
        assert_eq!(grant(PASSWORD).await.unwrap().status(), StatusCode::OK);
    }
    let before = vm_kb(pid, "VmRSS");

    let attempts = (0..ATTEMPTS).map(|i| {
        let password = if i % 2 == 0 {
            PASSWORD
        } else {
            "wrong password"
        };
        grant(password)
    });
    let replies = futures_util::future::join_all(attempts).await;
    let peak = vm_kb(pid, "VmHWM");
    let (mut ok, mut refused, mut busy) = (0, 0, 0);
    for r in replies {
        let r = r.expect("every attempt gets an answer");
        match r.status() {
            StatusCode::OK => ok += 1,
            StatusCode::BAD_REQUEST => refused += 1,
            StatusCode::SERVICE_UNAVAILABLE => busy += 1,
            other => panic!("unexpected answer {other}: {}", r.text().await.unwrap()),
        }
    }
    eprintln!(
        "{ATTEMPTS} concurrent sign-ins: {ok} tokens, {refused} refused, {busy} busy; \
         RSS before {before} kB, peak {peak} kB (+{} kB)",
        peak.saturating_sub(before)
    );
    assert!(ok > 0 && refused > 0, "some attempts were checked");
    assert!(
        peak.saturating_sub(before) < MAX_GROWTH_KB,
        "peak RSS grew by {} kB (before {before} kB, peak {peak} kB)",
        peak.saturating_sub(before)
    );
    // Still answering, and signing in still works.
    let r = http
        .get(format!("{base}/api/v1/instance"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(grant(PASSWORD).await.unwrap().status(), StatusCode::OK);
    let _ = server.start_kill();
    let _ = server.wait().await;
}
