//! The HTTP side: home-timeline load at a fixed number of connections, and posting as an
//! account with many local followers until a follower's home timeline shows the post.
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use super::proc;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    /// From durations in microseconds.
    pub fn of(mut micros: Vec<u64>) -> Latency {
        micros.sort_unstable();
        let pick = |q: f64| -> f64 {
            if micros.is_empty() {
                return 0.0;
            }
            // Nearest rank.
            let rank = ((q * micros.len() as f64).ceil() as usize).clamp(1, micros.len());
            micros[rank - 1] as f64 / 1000.0
        };
        Latency {
            count: micros.len(),
            p50: pick(0.50),
            p90: pick(0.90),
            p99: pick(0.99),
            max: micros.last().map_or(0.0, |&m| m as f64 / 1000.0),
        }
    }
}

/// One home-timeline load level.
#[derive(Debug, Clone, Default)]
pub struct HomeLoad {
    pub connections: usize,
    pub seconds: f64,
    pub latency: Latency,
    pub requests_per_second: f64,
    pub errors: u64,
    /// 200 responses with an empty timeline.
    pub empty: u64,
    /// Server (kring process) CPU milliseconds per request.
    pub server_cpu_ms: Option<f64>,
    /// PostgreSQL backends' CPU milliseconds per request (PostgreSQL only).
    pub database_cpu_ms: Option<f64>,
    /// The load generator's own CPU milliseconds per request.
    pub client_cpu_ms: Option<f64>,
    pub usage: proc::Usage,
}

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())
}

/// A running home-timeline load: started unrecorded (warm-up), then measured once.
pub struct HomeRun {
    connections: usize,
    phase: Arc<AtomicU8>,
    workers: Vec<tokio::task::JoinHandle<(Vec<u64>, u64, u64)>>,
}

/// Which home feed is loaded: the Mastodon API's JSON or the web interface's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `GET /api/v1/timelines/home?limit=40` with the token as bearer.
    Api,
    /// `GET /home` (40 posts) with the token as the session cookie.
    Web,
    /// `GET /api/v1/timelines/public?limit=40` with the token as bearer.
    Public,
    /// `GET /api/v1/accounts/verify_credentials` with the token as bearer.
    Credentials,
    /// `GET /api/v1/timelines/tag/kringbench?limit=40` (posts from `reads::prepare`).
    Tag,
    /// `GET /api/v1/statuses/ID` with the token as bearer.
    Status(i64),
    /// `GET /api/v1/statuses/ID/context` with the token as bearer.
    Context(i64),
}

impl Target {
    fn path(self) -> String {
        match self {
            Target::Api => "/api/v1/timelines/home?limit=40".into(),
            Target::Web => "/home".into(),
            Target::Public => "/api/v1/timelines/public?limit=40".into(),
            Target::Credentials => "/api/v1/accounts/verify_credentials".into(),
            Target::Tag => format!("/api/v1/timelines/tag/{}?limit=40", super::reads::TAG),
            Target::Status(id) => format!("/api/v1/statuses/{id}"),
            Target::Context(id) => format!("/api/v1/statuses/{id}/context"),
        }
    }

    fn request(self, client: &reqwest::Client, url: &str, token: &str) -> reqwest::RequestBuilder {
        match self {
            Target::Api
            | Target::Public
            | Target::Credentials
            | Target::Tag
            | Target::Status(_)
            | Target::Context(_) => client.get(url).bearer_auth(token),
            Target::Web => client
                .get(url)
                .header(reqwest::header::COOKIE, format!("kring_session={token}")),
        }
    }

    /// Whether a 200's body holds posts (rather than an empty feed).
    fn has_posts(self, body: &[u8]) -> bool {
        match self {
            Target::Api | Target::Public | Target::Tag => body.starts_with(b"[{"),
            Target::Credentials | Target::Status(_) => body.starts_with(b"{\"id\""),
            Target::Context(_) => body.starts_with(b"{\"ancestors\":[{"),
            Target::Web => body
                .windows(POST_MARK.len())
                .any(|w| w == POST_MARK.as_bytes()),
        }
    }
}

const POST_MARK: &str = "<article class=\"post";

/// Start loading the home feed (`target`) with random accounts' tokens on `connections`
/// keep-alive connections, not yet recorded.
pub fn start_home(
    base_url: &str,
    tokens: Arc<Vec<String>>,
    connections: usize,
    target: Target,
) -> Result<HomeRun, String> {
    let phase = Arc::new(AtomicU8::new(WARMUP));
    let url = format!("{base_url}{}", target.path());
    let mut workers = Vec::new();
    for w in 0..connections {
        let phase = phase.clone();
        let tokens = tokens.clone();
        let url = url.clone();
        let client = client()?;
        workers.push(tokio::spawn(async move {
            let mut rng = 0x2545_f491_4f6c_dd1d_u64 ^ ((w as u64 + 1) * 0x9e37_79b9);
            let mut lat: Vec<u64> = Vec::with_capacity(1 << 14);
            let (mut errors, mut empty) = (0u64, 0u64);
            loop {
                let before = phase.load(Ordering::Relaxed);
                if before == STOP {
                    break;
                }
                // xorshift
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let token = &tokens[(rng % tokens.len() as u64) as usize];
                let t = Instant::now();
                let res = target.request(&client, &url, token).send().await;
                let outcome = match res {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(b) if target.has_posts(&b) => Ok(true),
                        Ok(_) => Ok(false),
                        Err(_) => Err(()),
                    },
                    _ => Err(()),
                };
                let micros = t.elapsed().as_micros() as u64;
                if before == MEASURE && phase.load(Ordering::Relaxed) == MEASURE {
                    match outcome {
                        Ok(true) => lat.push(micros),
                        Ok(false) => {
                            lat.push(micros);
                            empty += 1;
                        }
                        Err(()) => errors += 1,
                    }
                }
            }
            (lat, errors, empty)
        }));
    }
    Ok(HomeRun {
        connections,
        phase,
        workers,
    })
}

impl HomeRun {
    /// Record for `duration`, then stop.
    pub async fn measure(
        self,
        duration: Duration,
        server_pid: u32,
        database_pids: &[u32],
    ) -> Result<HomeLoad, String> {
        let HomeRun {
            connections,
            phase,
            workers,
        } = self;
        let before = proc::Snapshot::take(server_pid, database_pids);
        phase.store(MEASURE, Ordering::Relaxed);
        tokio::time::sleep(duration).await;
        phase.store(STOP, Ordering::Relaxed);
        let usage = proc::Snapshot::take(server_pid, database_pids).usage_since(&before);
        let mut all = Vec::new();
        let (mut errors, mut empty) = (0, 0);
        for w in workers {
            let (lat, e, m) = w.await.map_err(|e| e.to_string())?;
            all.extend(lat);
            errors += e;
            empty += m;
        }
        let latency = Latency::of(all);
        let n = latency.count as f64;
        let per_request = |cpu: Option<f64>| cpu.filter(|_| n > 0.0).map(|c| c * 1000.0 / n);
        Ok(HomeLoad {
            connections,
            seconds: usage.seconds,
            requests_per_second: n / usage.seconds,
            errors,
            empty,
            server_cpu_ms: per_request(usage.server),
            database_cpu_ms: if database_pids.is_empty() {
                None
            } else {
                per_request(usage.database)
            },
            client_cpu_ms: per_request(usage.client),
            usage,
            latency,
        })
    }
}

/// Posting to many local feeds.
#[derive(Debug, Clone, Default)]
pub struct Fanout {
    /// Timed posts (the first post is not among them: `first`).
    pub posts: usize,
    /// The POST request alone.
    pub post: Latency,
    /// From the POST's start until a follower's home timeline shows the post.
    pub visible: Latency,
    /// The first post after the quiet wait, timed apart from the others.
    pub first: PostTimes,
    pub ids: Vec<String>,
    /// CPU over the timed posts.
    pub usage: proc::Usage,
}

/// One post's times, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostTimes {
    /// The POST request alone.
    pub post: f64,
    /// From the POST's start until a follower's home timeline shows the post.
    pub visible: f64,
}

async fn first_home_id(client: &reqwest::Client, base: &str, token: &str) -> Option<String> {
    let r = client
        .get(format!("{base}/api/v1/timelines/home?limit=1"))
        .bearer_auth(token)
        .send()
        .await
        .ok()?;
    let v: serde_json::Value = r.json().await.ok()?;
    v.get(0)?.get("id")?.as_str().map(str::to_string)
}

/// Post `posts` public statuses as the account of `poster_token`, one at a time, each checked
/// in the home timeline of the next follower in turn; one more before them, timed apart.
pub async fn fanout(
    base_url: &str,
    poster_token: &str,
    follower_tokens: &[String],
    posts: usize,
    server_pid: u32,
    database_pids: &[u32],
) -> Result<Fanout, String> {
    if follower_tokens.is_empty() {
        return Err("the posting account has no followers".into());
    }
    let client = client()?;
    let nonce = kring_core::time::now_micros();
    let mut ids = Vec::new();
    // The first post after the quiet wait is not among the timed ones. Why: on the project's
    // machine (a VM) memory left untouched for a few seconds is slow to touch again (256 MiB:
    // 10 ms touched warm, 90-250 ms after 2-30 s idle; BENCHMARKS.md, session 31), and a
    // post's writes touch thousands of the database's cached pages. On PostgreSQL that made
    // the first post of every run 60-200 ms, and so the p99 of 20. It is shown as it is.
    let (first, id) = post_once(
        &client,
        base_url,
        poster_token,
        &follower_tokens[0],
        nonce,
        0,
    )
    .await?;
    ids.push(id);
    settle().await;
    let (mut post, mut visible) = (Vec::new(), Vec::new());
    let before = proc::Snapshot::take(server_pid, database_pids);
    for i in 0..posts {
        let follower = &follower_tokens[(i + 1) % follower_tokens.len()];
        let (t, id) = post_once(&client, base_url, poster_token, follower, nonce, i + 1).await?;
        post.push((t.post * 1000.0) as u64);
        visible.push((t.visible * 1000.0) as u64);
        ids.push(id);
        settle().await;
    }
    Ok(Fanout {
        posts,
        post: Latency::of(post),
        visible: Latency::of(visible),
        first,
        ids,
        usage: proc::Snapshot::take(server_pid, database_pids).usage_since(&before),
    })
}

/// Let the server's after-commit work for a post (streaming, notifications) finish.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

/// Post a public status as the account of `token`; its id.
pub async fn post_public(
    client: &reqwest::Client,
    base_url: &str,
    token: &str,
    text: &str,
) -> Result<String, String> {
    let r = client
        .post(format!("{base_url}/api/v1/statuses"))
        .bearer_auth(token)
        .json(&serde_json::json!({"status": text, "visibility": "public"}))
        .send()
        .await
        .map_err(|e| format!("posting: {e}"))?;
    let status = r.status();
    let body: serde_json::Value = r.json().await.map_err(|e| format!("posting: {e}"))?;
    body.get("id")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("posting failed ({status}): {body}"))
}

/// Post one public status and wait until `follower`'s home timeline shows it.
async fn post_once(
    client: &reqwest::Client,
    base_url: &str,
    poster_token: &str,
    follower: &str,
    nonce: i64,
    i: usize,
) -> Result<(PostTimes, String), String> {
    let t = Instant::now();
    let text = format!("Fan-out measurement {nonce}-{i}: hello to all my followers");
    let id = post_public(client, base_url, poster_token, &text).await?;
    let posted = t.elapsed();
    loop {
        if first_home_id(client, base_url, follower).await.as_deref() == Some(id.as_str()) {
            break;
        }
        if t.elapsed() > Duration::from_secs(10) {
            return Err(format!(
                "post {id} not in a follower's home timeline after 10 s"
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok((
        PostTimes {
            post: ms(posted),
            visible: ms(t.elapsed()),
        },
        id,
    ))
}

/// Delete the measurement's posts again (so a reused database stays as seeded).
pub async fn delete_posts(base_url: &str, token: &str, ids: &[String]) -> Result<(), String> {
    let client = client()?;
    for id in ids {
        let r = client
            .delete(format!("{base_url}/api/v1/statuses/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| format!("deleting {id}: {e}"))?;
        if !r.status().is_success() {
            return Err(format!("deleting {id}: {}", r.status()));
        }
    }
    Ok(())
}

/// One timed GET (for the warm `/api/v1/instance` latency).
/// What a browser downloads for one home page before media: the HTML and every local
/// stylesheet, script and image it references (each once).
#[derive(Debug, Clone, Default)]
pub struct PageWeight {
    pub html: usize,
    pub assets: Vec<(String, usize)>,
    pub posts: usize,
}

impl PageWeight {
    pub fn total(&self) -> usize {
        self.html + self.assets.iter().map(|(_, b)| b).sum::<usize>()
    }
}

/// The weight of `/home` for one account.
pub async fn page_weight(base_url: &str, token: &str) -> Result<PageWeight, String> {
    let client = client()?;
    let get = |path: String| {
        Target::Web
            .request(&client, &format!("{base_url}{path}"), token)
            .send()
    };
    let r = get("/home".into()).await.map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("GET /home: {}", r.status()));
    }
    let html = r.text().await.map_err(|e| e.to_string())?;
    let mut weight = PageWeight {
        html: html.len(),
        posts: html.matches(POST_MARK).count(),
        ..PageWeight::default()
    };
    // Every local URL in src="…" or href="…" that is a file the page loads by itself.
    let mut seen = std::collections::BTreeSet::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let Some(url) = part.split('"').next() else {
                continue;
            };
            // Stylesheet and icon links point into /static/; images also into /proxy/.
            if url.starts_with("/static/") || (attr == "src=\"" && url.starts_with("/proxy/")) {
                seen.insert(url.replace("&amp;", "&"));
            }
        }
    }
    for url in seen {
        let r = get(url.clone()).await.map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("GET {url}: {}", r.status()));
        }
        let n = r.bytes().await.map_err(|e| e.to_string())?.len();
        weight.assets.push((url, n));
    }
    Ok(weight)
}

pub async fn timed_get(url: &str, times: usize) -> Result<Latency, String> {
    let client = client()?;
    let mut lat = Vec::new();
    for _ in 0..times {
        let t = Instant::now();
        let r = client.get(url).send().await.map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("GET {url}: {}", r.status()));
        }
        r.bytes().await.map_err(|e| e.to_string())?;
        lat.push(t.elapsed().as_micros() as u64);
    }
    Ok(Latency::of(lat))
}

/// The ids of an account's home timeline page, newest first.
pub async fn home_ids(base_url: &str, token: &str, limit: usize) -> Result<Vec<String>, String> {
    let client = client()?;
    let r = client
        .get(format!("{base_url}/api/v1/timelines/home?limit={limit}"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("home timeline: {}", r.status()));
    }
    let v: Vec<serde_json::Value> = r.json().await.map_err(|e| e.to_string())?;
    Ok(v.iter()
        .filter_map(|s| s.get("id").and_then(|i| i.as_str()).map(str::to_string))
        .collect())
}
