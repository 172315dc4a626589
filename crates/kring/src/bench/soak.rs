//! The soak: minutes of a mixed load at a fixed share of the mix's measured capacity, or at a
//! fixed rate (an open loop: requests start on a schedule, whether or not earlier ones have
//! finished), reporting errors, RSS and p99 per window, so that growth (memory, latency) over
//! time shows.
//!
//! The capacity is the mix's own, measured first by a closed loop of the same mix
//! (`calibrate`): the home timeline's capacity alone is more than the mix can take, since its
//! writes cost many reads' worth each and all pass through SQLite's one writer (sessions 13
//! and 15 offered 80 % of it and the writes queued for seconds).
//!
//! The mix, per 100 requests: 78 home timelines, 10 public timelines, 5 `verify_credentials`,
//! 2 posts and 2 deletes of them (by random seeded accounts, fanned out to their followers),
//! 1 follow and 1 unfollow (of the sign-up accounts, which have no posts, so the seeded home
//! feeds stay as they are), and 1 signed `Create` from a remote actor to the shared inbox
//! (served by a small actor host on 127.0.0.2). Posts still standing at the end are deleted.
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::routing::get;
use kring_activitypub::{Headers, KeyPair, cavage, digest, http_date};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::load::Latency;
use super::proc;

/// Seconds per reported window.
const WINDOW: f64 = 10.0;
/// Requests in flight at most; an arrival finding none free is counted as shed.
const IN_FLIGHT: usize = 512;
/// Requests in flight while the mix's capacity is measured (a closed loop: each starts when
/// the one before it finished). Enough that reads go on while writes wait for the writer.
const CALIBRATION_CONNECTIONS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Home,
    Public,
    Credentials,
    Post,
    Delete,
    Follow,
    Unfollow,
    Inbound,
}

const KINDS: [Kind; 8] = [
    Kind::Home,
    Kind::Public,
    Kind::Credentials,
    Kind::Post,
    Kind::Delete,
    Kind::Follow,
    Kind::Unfollow,
    Kind::Inbound,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Home => "home timeline",
            Kind::Public => "public timeline",
            Kind::Credentials => "verify_credentials",
            Kind::Post => "post",
            Kind::Delete => "delete",
            Kind::Follow => "follow",
            Kind::Unfollow => "unfollow",
            Kind::Inbound => "inbound Create",
        }
    }

    /// The mix: which kind the `n`-th request of every hundred is.
    fn of(n: u64) -> Kind {
        match n % 100 {
            0..78 => Kind::Home,
            78..88 => Kind::Public,
            88..93 => Kind::Credentials,
            93 | 95 => Kind::Post,
            94 | 96 => Kind::Delete,
            97 => Kind::Follow,
            98 => Kind::Unfollow,
            _ => Kind::Inbound,
        }
    }
}

/// One window of the soak.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub end_seconds: f64,
    pub requests: usize,
    pub errors: u64,
    pub shed: u64,
    pub p50: f64,
    pub p99: f64,
    pub rss: Option<u64>,
    pub server_cpu_seconds: Option<f64>,
    pub other_cores: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct Soak {
    pub seconds: f64,
    pub rate: f64,
    /// The mix's requests/s, measured by `calibrate`.
    pub capacity: f64,
    pub calibration_seconds: f64,
    /// Requests of the calibration that failed (with the first few in `samples`).
    pub calibration_errors: u64,
    /// The home timeline's best requests/s alone, for comparison.
    pub home_capacity: f64,
    pub windows: Vec<Window>,
    /// Per kind: requests, errors, latency.
    pub kinds: Vec<(&'static str, u64, Latency)>,
    pub errors: u64,
    pub shed: u64,
    /// The first few error messages.
    pub samples: Vec<String>,
    pub rss_start: Option<u64>,
    pub rss_end: Option<u64>,
    pub peak_end: Option<u64>,
}

/// How much load the soak offers.
#[derive(Debug, Clone, Copy)]
pub enum Offer {
    /// A share of the mix's capacity, as its calibration measured it.
    Share(f64),
    /// Requests/s, whatever the calibration measured (to compare two builds at one load).
    Rate(f64),
}

impl Offer {
    fn rate(self, capacity: f64) -> f64 {
        match self {
            Offer::Share(share) => capacity * share,
            Offer::Rate(rate) => rate,
        }
    }
}

/// What the soak needs from the bench.
pub struct Setup<'a> {
    pub server: &'a proc::Server,
    /// The server's domain (the `Host` signed inbox deliveries are addressed to).
    pub domain: &'a str,
    pub tokens: Arc<Vec<String>>,
    /// Accounts to follow and unfollow (without posts).
    pub follow_targets: Vec<String>,
    pub seconds: f64,
    pub offer: Offer,
    /// Seconds of the closed loop that measures the mix's capacity.
    pub calibration_seconds: f64,
    pub home_capacity: f64,
}

struct Shared {
    client: reqwest::Client,
    base: String,
    domain: String,
    tokens: Arc<Vec<String>>,
    targets: Vec<String>,
    posts: Mutex<VecDeque<(String, String)>>,
    follows: Mutex<VecDeque<(String, String)>>,
    actors: Option<Actors>,
}

/// Remote actors on 127.0.0.2, one key shared by all.
struct Actors {
    key: KeyPair,
    port: u16,
}

async fn actor_doc(
    State(pem): State<Arc<String>>,
    Path(name): Path<String>,
    h: axum::http::HeaderMap,
) -> impl axum::response::IntoResponse {
    let host = h
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let uri = format!("http://{host}/users/{name}");
    let doc = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": uri, "type": "Person", "preferredUsername": name,
        "inbox": format!("{uri}/inbox"), "followers": format!("{uri}/followers"),
        "publicKey": { "id": format!("{uri}#main-key"), "owner": uri, "publicKeyPem": pem.as_str() },
    });
    // Served as ActivityPub: the server refuses actor documents of any other type.
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/activity+json",
        )],
        doc.to_string(),
    )
}

async fn start_actors() -> Result<Actors, String> {
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0")
        .await
        .map_err(|e| format!("cannot bind the actor host on 127.0.0.2: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let app = axum::Router::new()
        .route("/users/{name}", get(actor_doc))
        .fallback(|| async { axum::http::StatusCode::ACCEPTED })
        .with_state(Arc::new(key.public_key_pem()));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Actors { key, port })
}

fn pick<T>(v: &[T], r: u64) -> &T {
    &v[(r % v.len() as u64) as usize]
}

impl Shared {
    /// One request of `kind`; Ok(()) when it did what it should.
    async fn request(&self, kind: Kind, r: u64, seq: u64) -> Result<(), String> {
        let token = pick(&self.tokens, r);
        let base = &self.base;
        let check = |res: reqwest::Result<reqwest::Response>| -> Result<reqwest::Response, String> {
            let res = res.map_err(|e| e.to_string())?;
            if res.status().is_success() {
                Ok(res)
            } else {
                Err(format!("{}: {}", kind.name(), res.status()))
            }
        };
        let get = |path: &str| {
            self.client
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
        };
        match kind {
            Kind::Home => {
                check(get("/api/v1/timelines/home?limit=40").await)?
                    .bytes()
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Kind::Public => {
                check(get("/api/v1/timelines/public?limit=40").await)?
                    .bytes()
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Kind::Credentials => {
                check(get("/api/v1/accounts/verify_credentials").await)?
                    .bytes()
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Kind::Post => {
                let v: Value = check(
                    self.client
                        .post(format!("{base}/api/v1/statuses"))
                        .bearer_auth(token)
                        .json(
                            &json!({"status": format!("Soak post {seq}"), "visibility": "public"}),
                        )
                        .send()
                        .await,
                )?
                .json()
                .await
                .map_err(|e| e.to_string())?;
                let id = v.get("id").and_then(Value::as_str).ok_or("post: no id")?;
                if let Ok(mut q) = self.posts.lock() {
                    q.push_back((token.clone(), id.to_string()));
                }
            }
            Kind::Delete => {
                let Some((t, id)) = self.posts.lock().ok().and_then(|mut q| q.pop_front()) else {
                    return Ok(());
                };
                check(
                    self.client
                        .delete(format!("{base}/api/v1/statuses/{id}"))
                        .bearer_auth(&t)
                        .send()
                        .await,
                )?;
            }
            Kind::Follow => {
                if self.targets.is_empty() {
                    return Ok(());
                }
                let target = pick(&self.targets, r >> 17).clone();
                check(
                    self.client
                        .post(format!("{base}/api/v1/accounts/{target}/follow"))
                        .bearer_auth(token)
                        .send()
                        .await,
                )?;
                if let Ok(mut q) = self.follows.lock() {
                    q.push_back((token.clone(), target));
                }
            }
            Kind::Unfollow => {
                let Some((t, target)) = self.follows.lock().ok().and_then(|mut q| q.pop_front())
                else {
                    return Ok(());
                };
                check(
                    self.client
                        .post(format!("{base}/api/v1/accounts/{target}/unfollow"))
                        .bearer_auth(&t)
                        .send()
                        .await,
                )?;
            }
            Kind::Inbound => {
                let Some(actors) = &self.actors else {
                    return Ok(());
                };
                let (headers, body) = self.signed_create(actors, r, seq)?;
                let mut req = self.client.post(format!("{base}/inbox")).body(body);
                for (k, v) in headers.iter() {
                    req = req.header(k, v);
                }
                let res = req.send().await.map_err(|e| e.to_string())?;
                let status = res.status();
                if !status.is_success() {
                    let why = res.text().await.unwrap_or_default();
                    return Err(format!("{}: {status}: {why}", kind.name()));
                }
            }
        }
        Ok(())
    }

    fn signed_create(
        &self,
        actors: &Actors,
        r: u64,
        seq: u64,
    ) -> Result<(Headers, Vec<u8>), String> {
        let actor = format!("http://127.0.0.2:{}/users/soak{}", actors.port, r % 200);
        let note = format!("{actor}/notes/{}-{seq}", std::process::id());
        let body = serde_json::to_vec(&json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{note}/activity"), "type": "Create", "actor": actor,
            "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [format!("{actor}/followers")],
            "object": {
                "id": note, "type": "Note", "attributedTo": actor, "content": format!("<p>soak {seq}</p>"),
                "published": kring_core::time::rfc3339(kring_core::time::now_micros()),
                "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [format!("{actor}/followers")],
            }
        }))
        .map_err(|e| e.to_string())?;
        let mut h = Headers::new();
        h.insert("host", self.domain.clone());
        h.insert("date", http_date(std::time::SystemTime::now()));
        h.insert("digest", digest::digest_header(&body));
        h.insert("content-type", "application/activity+json");
        let sig = cavage::sign_request(
            "POST",
            "/inbox",
            &h,
            &format!("{actor}#main-key"),
            &actors.key,
        )
        .map_err(|e| e.to_string())?;
        h.insert("signature", sig);
        Ok((h, body))
    }
}

fn xorshift(mut r: u64) -> u64 {
    r ^= r << 13;
    r ^= r >> 7;
    r ^= r << 17;
    r
}

/// The mix's capacity, requests/s: `CALIBRATION_CONNECTIONS` closed loops of the mix for
/// `seconds`, counting the requests that succeeded and those that failed. Its posts and follows
/// join the soak's queues, which its deletes and unfollows (and the end of the soak) undo.
async fn calibrate(shared: &Arc<Shared>, seconds: f64) -> Result<Calibration, String> {
    let seq = Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX / 2));
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds.max(0.1));
    let mut loops = tokio::task::JoinSet::new();
    for c in 0..CALIBRATION_CONNECTIONS as u64 {
        let (shared, seq) = (shared.clone(), seq.clone());
        loops.spawn(async move {
            let mut rng = xorshift(0x9e37_79b9 + c);
            let (mut done, mut failed, mut first) = (0u64, 0u64, None);
            while Instant::now() < until {
                rng = xorshift(rng);
                let n = seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                match shared.request(Kind::of(n), rng, n).await {
                    Ok(()) => done += 1,
                    Err(e) => {
                        failed += 1;
                        first.get_or_insert(e);
                    }
                }
            }
            (done, failed, first)
        });
    }
    let (mut done, mut failed, mut samples) = (0, 0, Vec::new());
    while let Some(r) = loops.join_next().await {
        let (d, f, first) = r.map_err(|e| e.to_string())?;
        done += d;
        failed += f;
        samples.extend(first);
    }
    let capacity = done as f64 / started.elapsed().as_secs_f64();
    if capacity <= 0.0 {
        return Err(format!(
            "the soak's calibration finished no request: {samples:?}"
        ));
    }
    Ok(Calibration {
        capacity,
        failed,
        samples,
    })
}

/// What `calibrate` measured.
struct Calibration {
    /// Requests/s that succeeded.
    capacity: f64,
    failed: u64,
    /// The first error of each loop that had one.
    samples: Vec<String>,
}

/// One finished request, for the collector.
struct Done {
    window: usize,
    kind: usize,
    micros: u64,
    error: Option<String>,
}

/// Run the soak.
pub async fn run(setup: Setup<'_>) -> Result<Soak, String> {
    let actors = match start_actors().await {
        Ok(a) => Some(a),
        Err(e) => {
            eprintln!("bench: soak without inbound activities: {e}");
            None
        }
    };
    let shared = Arc::new(Shared {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(IN_FLIGHT)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?,
        base: setup.server.base_url.clone(),
        domain: setup.domain.to_string(),
        tokens: setup.tokens.clone(),
        targets: setup.follow_targets.clone(),
        posts: Mutex::new(VecDeque::new()),
        follows: Mutex::new(VecDeque::new()),
        actors,
    });
    let windows = (setup.seconds / WINDOW).ceil().max(1.0) as usize;
    let (tx, mut rx) = mpsc::unbounded_channel::<Done>();
    let collector = tokio::spawn(async move {
        let mut per_window: Vec<(Vec<u64>, u64)> = vec![(Vec::new(), 0); windows];
        let mut per_kind: Vec<(Vec<u64>, u64)> = vec![(Vec::new(), 0); KINDS.len()];
        let mut samples = Vec::new();
        while let Some(d) = rx.recv().await {
            let w = d.window.min(windows - 1);
            match d.error {
                None => {
                    per_window[w].0.push(d.micros);
                    per_kind[d.kind].0.push(d.micros);
                }
                Some(e) => {
                    per_window[w].1 += 1;
                    per_kind[d.kind].1 += 1;
                    if samples.len() < 10 {
                        samples.push(e);
                    }
                }
            }
        }
        (per_window, per_kind, samples)
    });

    let calibration = calibrate(&shared, setup.calibration_seconds).await?;
    let capacity = calibration.capacity;
    let rate = setup.offer.rate(capacity);
    eprintln!("bench: soak: the mix's capacity is {capacity:.0} requests/s; offering {rate:.0}");
    // The calibration's fan-outs and inbound activities finish before the soak starts.
    setup.server.settle(Duration::from_secs(60)).await;
    let mut out = Soak {
        seconds: setup.seconds,
        rate,
        capacity,
        calibration_seconds: setup.calibration_seconds,
        home_capacity: setup.home_capacity,
        calibration_errors: calibration.failed,
        rss_start: proc::status_bytes(setup.server.pid, "VmRSS"),
        ..Soak::default()
    };
    let permits = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let period = Duration::from_secs_f64(1.0 / out.rate.max(1.0));
    let started = Instant::now();
    let mut shed = vec![0u64; windows];
    let mut snapshot = proc::Snapshot::take(setup.server.pid, &[]);
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut seq = 0u64;
    let mut next_window = 1usize;
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    loop {
        tick.tick().await;
        let elapsed = started.elapsed().as_secs_f64();
        if elapsed >= next_window as f64 * WINDOW || elapsed >= setup.seconds {
            let now = proc::Snapshot::take(setup.server.pid, &[]);
            let usage = now.usage_since(&snapshot);
            snapshot = now;
            out.windows.push(Window {
                end_seconds: elapsed,
                rss: proc::status_bytes(setup.server.pid, "VmRSS"),
                server_cpu_seconds: usage.server,
                other_cores: usage.other_cores,
                ..Window::default()
            });
            next_window += 1;
        }
        if elapsed >= setup.seconds {
            break;
        }
        let window = (elapsed / WINDOW) as usize;
        rng = xorshift(rng);
        seq += 1;
        let kind = Kind::of(seq);
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            shed[window.min(windows - 1)] += 1;
            continue;
        };
        let (shared, tx, r) = (shared.clone(), tx.clone(), rng);
        tokio::spawn(async move {
            let _permit = permit;
            let t = Instant::now();
            let res = shared.request(kind, r, seq).await;
            let _ = tx.send(Done {
                window,
                kind: KINDS.iter().position(|k| *k == kind).unwrap_or(0),
                micros: t.elapsed().as_micros() as u64,
                error: res.err(),
            });
        });
    }
    drop(tx);
    // Let the requests in flight finish.
    let _ = tokio::time::timeout(
        Duration::from_secs(120),
        permits.acquire_many(IN_FLIGHT as u32),
    )
    .await;
    let (per_window, per_kind, samples) = collector.await.map_err(|e| e.to_string())?;
    for (i, w) in out.windows.iter_mut().enumerate() {
        let Some((lat, errors)) = per_window.get(i) else {
            continue;
        };
        let l = Latency::of(lat.clone());
        w.requests = l.count;
        w.p50 = l.p50;
        w.p99 = l.p99;
        w.errors = *errors;
        w.shed = shed.get(i).copied().unwrap_or(0);
    }
    out.errors = per_kind.iter().map(|(_, e)| e).sum();
    out.shed = shed.iter().sum();
    out.kinds = KINDS
        .iter()
        .zip(per_kind)
        .map(|(k, (lat, e))| (k.name(), e, Latency::of(lat)))
        .collect();
    out.samples = calibration
        .samples
        .into_iter()
        .take(5)
        .map(|e| format!("calibration: {e}"))
        .chain(samples)
        .collect();
    out.rss_end = proc::status_bytes(setup.server.pid, "VmRSS");
    out.peak_end = proc::status_bytes(setup.server.pid, "VmHWM");

    // Leave the database as seeded: delete the posts still standing, undo the follows.
    let posts: Vec<_> = shared
        .posts
        .lock()
        .map(|mut q| q.drain(..).collect())
        .unwrap_or_default();
    for (t, id) in posts {
        let _ = shared
            .client
            .delete(format!("{}/api/v1/statuses/{id}", shared.base))
            .bearer_auth(&t)
            .send()
            .await;
    }
    let follows: Vec<_> = shared
        .follows
        .lock()
        .map(|mut q| q.drain(..).collect())
        .unwrap_or_default();
    for (t, target) in follows {
        let _ = shared
            .client
            .post(format!("{}/api/v1/accounts/{target}/unfollow", shared.base))
            .bearer_auth(&t)
            .send()
            .await;
    }
    Ok(out)
}

fn mib(b: Option<u64>) -> String {
    b.map_or("n/a".into(), |b| format!("{:.1}", b as f64 / 1048576.0))
}

impl Soak {
    pub fn markdown(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\nSoak: {:.0} s at {:.0} requests/s ({:.0} % of the mix's capacity, {:.0} requests/s measured \
             first by {CALIBRATION_CONNECTIONS} closed loops of the same mix for {:.0} s; the home timeline \
             alone: {:.0} requests/s; {} errors in the calibration), mixed reads, posts, deletes, follows and \
             inbound activities: {} errors, {} shed by the load generator; RSS {} MiB at the start, {} MiB at \
             the end, peak {} MiB.\n",
            self.seconds,
            self.rate,
            100.0 * self.rate / self.capacity.max(1e-9),
            self.capacity,
            self.calibration_seconds,
            self.home_capacity,
            self.calibration_errors,
            self.errors,
            self.shed,
            mib(self.rss_start),
            mib(self.rss_end),
            mib(self.peak_end)
        );
        let _ = writeln!(
            s,
            "| Until s | Requests | Errors | Shed | p50 ms | p99 ms | RSS MiB | Server CPU cores | Other load (cores) |\n\
             |---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let mut previous = 0.0;
        for w in &self.windows {
            let span = (w.end_seconds - previous).max(1e-9);
            previous = w.end_seconds;
            let _ = writeln!(
                s,
                "| {:.0} | {} | {} | {} | {:.2} | {:.2} | {} | {} | {} |",
                w.end_seconds,
                w.requests,
                w.errors,
                w.shed,
                w.p50,
                w.p99,
                mib(w.rss),
                w.server_cpu_seconds
                    .map_or("n/a".into(), |c| format!("{:.2}", c / span)),
                w.other_cores.map_or("n/a".into(), |c| format!("{c:.2}"))
            );
        }
        let _ = writeln!(
            s,
            "\n| Request | Done | Errors | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|"
        );
        for (name, errors, l) in &self.kinds {
            let _ = writeln!(
                s,
                "| {name} | {} | {errors} | {:.2} | {:.2} | {:.2} |",
                l.count, l.p50, l.p99, l.max
            );
        }
        for e in &self.samples {
            let _ = writeln!(s, "\n- error: {e}");
        }
        s
    }
}
