//! A burst of sign-ups and log-ins, all at once, as when a community moves in on the same
//! evening: `n` accounts registered concurrently over the Mastodon API, then `n` password
//! log-ins concurrently. Each costs an argon2 hash (19 MiB of memory) and a sign-up an RSA key
//! too, so this is what sets the server's peak memory; the bench reads VmRSS and VmHWM before
//! and after. The accounts stay (their names start with `PREFIX`, which the bench's own account
//! list skips) and serve the soak as follow targets.
use std::time::{Duration, Instant};

use serde_json::Value;

use super::load::Latency;
use super::proc;

/// Usernames of the accounts made here start with this.
pub const PREFIX: &str = "signup";
/// Their password.
const PASSWORD: &str = "kring-bench-signup-password";

#[derive(Debug, Clone, Default)]
pub struct Signups {
    pub count: usize,
    pub sign_up: Latency,
    pub log_in: Latency,
    pub errors: Vec<String>,
    pub seconds: f64,
    pub server_cpu_seconds: Option<f64>,
    pub rss_before: Option<u64>,
    pub peak_before: Option<u64>,
    pub rss_after: Option<u64>,
    pub peak_after: Option<u64>,
    /// RSS a few seconds after the burst.
    pub rss_settled: Option<u64>,
    /// Account ids made.
    pub ids: Vec<String>,
}

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| e.to_string())
}

async fn json_of(r: reqwest::Response) -> Result<Value, String> {
    let status = r.status();
    let v: Value = r.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {v}"));
    }
    Ok(v)
}

fn field(v: &Value, k: &str) -> Result<String, String> {
    v.get(k)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("no {k} in {v}"))
}

/// Register `n` accounts at once, then log each in at once.
pub async fn run(base: &str, pid: u32, n: usize) -> Result<Signups, String> {
    let client = client()?;
    let app = json_of(
        client
            .post(format!("{base}/api/v1/apps"))
            .json(&serde_json::json!({
                "client_name": "kring bench sign-ups",
                "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                "scopes": "read write",
            }))
            .send()
            .await
            .map_err(|e| e.to_string())?,
    )
    .await?;
    let (client_id, secret) = (field(&app, "client_id")?, field(&app, "client_secret")?);
    let app_token = field(
        &json_of(
            client
                .post(format!("{base}/oauth/token"))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", &client_id),
                    ("client_secret", &secret),
                    ("scope", "read write"),
                ])
                .send()
                .await
                .map_err(|e| e.to_string())?,
        )
        .await?,
        "access_token",
    )?;

    let mut out = Signups {
        count: n,
        rss_before: proc::status_bytes(pid, "VmRSS"),
        peak_before: proc::status_bytes(pid, "VmHWM"),
        ..Signups::default()
    };
    let cpu0 = proc::cpu_seconds(pid);
    let started = Instant::now();
    let nonce = kring_core::time::now_micros() % 1_000_000_000;
    let names: Vec<String> = (0..n).map(|i| format!("{PREFIX}{nonce}x{i}")).collect();

    // Sign-ups, all at once.
    let mut tasks = Vec::new();
    for name in &names {
        let (client, url, token, name) = (
            client.clone(),
            format!("{base}/api/v1/accounts"),
            app_token.clone(),
            name.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({
                    "username": name, "email": format!("{name}@bench.example"),
                    "password": PASSWORD, "agreement": true, "locale": "en",
                }))
                .send()
                .await
                .map_err(|e| e.to_string());
            let r = match r {
                Ok(r) => json_of(r).await.and_then(|v| field(&v, "access_token")),
                Err(e) => Err(e),
            };
            (t.elapsed().as_micros() as u64, r)
        }));
    }
    let mut lat = Vec::new();
    let mut tokens = Vec::new();
    for t in tasks {
        let (micros, r) = t.await.map_err(|e| e.to_string())?;
        match r {
            Ok(tok) => {
                lat.push(micros);
                tokens.push(tok);
            }
            Err(e) => out.errors.push(format!("sign-up: {e}")),
        }
    }
    out.sign_up = Latency::of(lat);

    // Log-ins (the password grant), all at once.
    let mut tasks = Vec::new();
    for name in &names {
        let (client, url) = (client.clone(), format!("{base}/oauth/token"));
        let (id, secret, email) = (
            client_id.clone(),
            secret.clone(),
            format!("{name}@bench.example"),
        );
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = client
                .post(url)
                .form(&[
                    ("grant_type", "password"),
                    ("client_id", id.as_str()),
                    ("client_secret", secret.as_str()),
                    ("username", email.as_str()),
                    ("password", PASSWORD),
                    ("scope", "read write"),
                ])
                .send()
                .await
                .map_err(|e| e.to_string());
            let r = match r {
                Ok(r) => json_of(r).await.and_then(|v| field(&v, "access_token")),
                Err(e) => Err(e),
            };
            (t.elapsed().as_micros() as u64, r)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        let (micros, r) = t.await.map_err(|e| e.to_string())?;
        match r {
            Ok(_) => lat.push(micros),
            Err(e) => out.errors.push(format!("log-in: {e}")),
        }
    }
    out.log_in = Latency::of(lat);
    out.seconds = started.elapsed().as_secs_f64();
    out.server_cpu_seconds = proc::cpu_seconds(pid).zip(cpu0).map(|(b, a)| b - a);
    out.rss_after = proc::status_bytes(pid, "VmRSS");
    out.peak_after = proc::status_bytes(pid, "VmHWM");

    // The new accounts' ids, for the soak's follows.
    for tok in &tokens {
        let v = json_of(
            client
                .get(format!("{base}/api/v1/accounts/verify_credentials"))
                .bearer_auth(tok)
                .send()
                .await
                .map_err(|e| e.to_string())?,
        )
        .await?;
        out.ids.push(field(&v, "id")?);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    out.rss_settled = proc::status_bytes(pid, "VmRSS");
    Ok(out)
}
