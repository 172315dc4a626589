//! `kring bench --stream-clients N`: streaming at scale. N of `star`'s followers connect to
//! the Mastodon streaming WebSocket (`stream=user`), `star` posts, and every client must
//! receive every post. Measured: the time from the POST's start until each client has the
//! post (p50/p99 over all clients and posts) and the server's CPU per post (one post is one
//! event to N viewers; the fan-out's batches stream it in several parts).
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::load::Latency;
use super::proc;

/// What the streaming measurement found.
#[derive(Debug, Clone, Default)]
pub struct StreamReport {
    pub clients: usize,
    pub posts: usize,
    /// Updates received, and expected (clients × posts).
    pub delivered: usize,
    pub expected: usize,
    /// From the POST's start until a client received the post.
    pub delivery: Latency,
    /// The POST request alone.
    pub post: Latency,
    pub connect_seconds: f64,
    pub rss_connected: Option<u64>,
    pub usage: proc::Usage,
}

/// Raise this process's open-file limit to its hard limit, so N WebSocket clients (and the
/// server, which inherits the limit when started after this) have a descriptor each.
pub fn raise_open_files(wanted: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return;
        }
        if lim.rlim_cur >= wanted as libc::rlim_t {
            return;
        }
        lim.rlim_cur = lim.rlim_max.min((wanted as libc::rlim_t).max(lim.rlim_cur));
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            eprintln!("bench: could not raise the open-file limit");
        }
    }
}

/// The status id of a streamed `update` message (its payload is the status as JSON text).
fn update_id(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Msg {
        event: String,
        payload: String,
    }
    let m: Msg = serde_json::from_str(text).ok()?;
    if m.event != "update" {
        return None;
    }
    // The id comes first; anything else is read in full.
    if let Some(rest) = m.payload.strip_prefix("{\"id\":\"") {
        return Some(rest[..rest.find('"')?].to_string());
    }
    let v: serde_json::Value = serde_json::from_str(&m.payload).ok()?;
    v.get("id")?.as_str().map(str::to_string)
}

/// Connect `tokens.len()` streaming clients, post `posts` times as `poster_token` and wait
/// each time until every client has the post.
pub async fn measure(
    base_url: &str,
    poster_token: &str,
    tokens: &[String],
    posts: usize,
    server_pid: u32,
    database_pids: &[u32],
) -> Result<StreamReport, String> {
    let ws_url = format!(
        "{}/api/v1/streaming?stream=user",
        base_url.replacen("http", "ws", 1)
    );
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Instant)>();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(tokens.len());
    // A few at a time: the server's accept queue and the CPU are shared with the rest.
    for chunk in tokens.chunks(50) {
        let mut connecting = Vec::new();
        for token in chunk {
            let mut req = ws_url
                .as_str()
                .into_client_request()
                .map_err(|e| e.to_string())?;
            req.headers_mut().insert(
                "authorization",
                format!("Bearer {token}")
                    .parse()
                    .map_err(|_| "bad token".to_string())?,
            );
            connecting.push(tokio_tungstenite::connect_async(req));
        }
        for c in futures_util::future::join_all(connecting).await {
            let (ws, _) = c.map_err(|e| format!("streaming connection: {e}"))?;
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                let (_sink, mut read) = ws.split();
                while let Some(Ok(msg)) = read.next().await {
                    if let Message::Text(t) = msg
                        && let Some(id) = update_id(t.as_str())
                        && tx.send((id, Instant::now())).is_err()
                    {
                        return;
                    }
                }
            }));
        }
    }
    drop(tx);
    let connect_seconds = started.elapsed().as_secs_f64();
    // Let the server register the last connections before anything is posted.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = proc::status_bytes(server_pid, "VmRSS");
    let client = reqwest::Client::new();
    let nonce = kring_core::time::now_micros();
    let clients = tokens.len();
    let mut got: HashMap<String, Vec<Instant>> = HashMap::new();
    let (mut delivery, mut post, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    let mut delivered = 0;
    let before = proc::Snapshot::take(server_pid, database_pids);
    for i in 0..posts {
        let t = Instant::now();
        let text = format!("Streaming measurement {nonce}-{i}: hello to all my followers");
        let id = super::load::post_public(&client, base_url, poster_token, &text).await?;
        post.push(t.elapsed().as_micros() as u64);
        let deadline = t + Duration::from_secs(20);
        while got.get(&id).map_or(0, Vec::len) < clients {
            match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
                Ok(Some((got_id, at))) => got.entry(got_id).or_default().push(at),
                Ok(None) | Err(_) => break,
            }
        }
        let times = got.remove(&id).unwrap_or_default();
        delivered += times.len();
        delivery.extend(
            times
                .iter()
                .map(|at| at.saturating_duration_since(t).as_micros() as u64),
        );
        if times.len() < clients {
            eprintln!(
                "bench: streaming: post {id} reached {} of {clients} clients within 20 s",
                times.len()
            );
        }
        ids.push(id);
        // Let the server's after-commit work finish before the next post.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let usage = proc::Snapshot::take(server_pid, database_pids).usage_since(&before);
    for t in tasks {
        t.abort();
    }
    super::load::delete_posts(base_url, poster_token, &ids).await?;
    Ok(StreamReport {
        clients,
        posts,
        delivered,
        expected: clients * posts,
        delivery: Latency::of(delivery),
        post: Latency::of(post),
        connect_seconds,
        rss_connected,
        usage,
    })
}

impl StreamReport {
    /// Server CPU (with PostgreSQL's backends) per post, in ms.
    pub fn cpu_per_post_ms(&self) -> Option<f64> {
        self.usage
            .server
            .map(|c| (c + self.usage.database.unwrap_or(0.0)) * 1000.0 / self.posts.max(1) as f64)
    }

    pub fn markdown(&self, s: &mut String) {
        let per_post = self.cpu_per_post_ms();
        let _ = writeln!(
            s,
            "\nStreaming: {} WebSocket clients (followers of `star`, `stream=user`), {} public posts by `star` \
             (connected in {:.1} s; server RSS with all connected {}; other load {} cores):\n",
            self.clients,
            self.posts,
            self.connect_seconds,
            super::mib(self.rss_connected),
            super::opt(self.usage.other_cores, 2)
        );
        let _ = writeln!(
            s,
            "| Updates received | Delivery p50 ms | p90 ms | p99 ms | max ms | POST p50 ms | Server CPU ms per post | µs per delivered update |"
        );
        let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|---:|");
        let d = &self.delivery;
        let _ = writeln!(
            s,
            "| {} of {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |",
            self.delivered,
            self.expected,
            d.p50,
            d.p90,
            d.p99,
            d.max,
            self.post.p50,
            super::opt(per_post, 1),
            super::opt(per_post.map(|c| c * 1000.0 / self.clients.max(1) as f64), 1),
        );
    }
}
