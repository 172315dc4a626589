// SPDX-License-Identifier: AGPL-3.0-or-later
//! A hand-made remote server on 127.0.0.1 for federation tests: a small axum app answering
//! exactly what each test puts at a path — a document (as ActivityStreams or another type),
//! or a redirect — as Mastodon, GoToSocial, Lemmy, a minimal actor or an attacker's upload
//! would, counting the GETs of every path. Like real servers, it answers a document only to
//! requests that ask for ActivityStreams (a browser gets an HTML page), and accepts every POST.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kring_activitypub::{Headers, KeyPair, cavage, digest, http_date};
use serde_json::{Value, json};

pub const AS2: &str = "application/activity+json";
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

enum Answer {
    /// (Content-Type, body)
    Doc(String, String),
    Redirect(StatusCode, String),
}

#[derive(Default)]
struct Served {
    /// By path, or by path and query (`/outbox?page=true`), which wins.
    answers: HashMap<String, Answer>,
    /// GETs by path (without the query), and by path and query when there was one.
    hits: HashMap<String, usize>,
    /// The JSON bodies POSTed (to any inbox), in order, with their path.
    posted: Vec<(String, Value)>,
}

pub struct Remote {
    base: String,
    served: Arc<Mutex<Served>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(State(served): State<Arc<Mutex<Served>>>, req: Request) -> Response {
    if req.method() == axum::http::Method::POST {
        let path = req.uri().path().to_string();
        let body = axum::body::to_bytes(req.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            served.lock().unwrap().posted.push((path, v));
        }
        return StatusCode::ACCEPTED.into_response();
    }
    let path = req.uri().path().to_string();
    let full = req.uri().path_and_query().map(|p| p.to_string());
    let mut s = served.lock().unwrap();
    *s.hits.entry(path.clone()).or_default() += 1;
    if let Some(full) = full.as_ref().filter(|f| **f != path) {
        *s.hits.entry(full.clone()).or_default() += 1;
    }
    let wants_as2 = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains(AS2));
    let answer = full
        .and_then(|f| s.answers.get(&f))
        .or_else(|| s.answers.get(&path));
    match answer {
        Some(_) if !wants_as2 => "<html>a page</html>".into_response(),
        Some(Answer::Doc(ct, body)) => {
            let mut r = body.clone().into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(ct).expect("content type"),
            );
            r
        }
        Some(Answer::Redirect(status, to)) => {
            let mut r = status.into_response();
            r.headers_mut()
                .insert(header::LOCATION, HeaderValue::from_str(to).unwrap());
            r
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

impl Remote {
    pub async fn start() -> Remote {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the remote");
        let port = listener.local_addr().unwrap().port();
        let served = Arc::new(Mutex::new(Served::default()));
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(served.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Remote {
            base: format!("http://127.0.0.1:{port}"),
            served,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `127.0.0.1:PORT`
    pub fn domain(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Serve `doc` at `path` (or `path?query`) as ActivityStreams.
    pub fn put(&self, path: &str, doc: Value) {
        self.put_typed(path, AS2, &doc);
    }

    /// Serve `doc` at `path` with this Content-Type.
    pub fn put_typed(&self, path: &str, content_type: &str, doc: &Value) {
        self.served.lock().unwrap().answers.insert(
            path.to_string(),
            Answer::Doc(content_type.to_string(), doc.to_string()),
        );
    }

    /// Answer `path` with a redirect to `to`.
    pub fn redirect(&self, path: &str, status: StatusCode, to: &str) {
        self.served
            .lock()
            .unwrap()
            .answers
            .insert(path.to_string(), Answer::Redirect(status, to.to_string()));
    }

    /// How many GETs `path` had (`path?query` counts only those with that query).
    pub fn hits(&self, path: &str) -> usize {
        self.served
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// The activities POSTed to this server so far (path, body), oldest first.
    pub fn posted(&self) -> Vec<(String, Value)> {
        self.served.lock().unwrap().posted.clone()
    }

    /// An actor whose id is this server's `path`, with a key of its own; not served yet.
    pub fn actor(&self, path: &str, username: &str) -> Value {
        let id = self.url(path);
        let key = KeyPair::generate().unwrap();
        actor_doc(&id, username, &format!("{id}#main-key"), &key)
    }

    /// Serve at `path` an actor whose key (`key`) has the id `key_id`; returns its id.
    pub fn keyed_actor(&self, path: &str, username: &str, key_id: &str, key: &KeyPair) -> String {
        let id = self.url(path);
        self.put(path, actor_doc(&id, username, key_id, key));
        id
    }

    /// A public object of `kind` by the actor at `author`, with id this server's `path`.
    pub fn object(&self, path: &str, kind: &str, author: &str, text: &str) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": self.url(path),
            "type": kind,
            "attributedTo": self.url(author),
            "content": format!("<p>{text}</p>"),
            "published": "2026-01-02T03:04:05Z",
            "to": [PUBLIC],
        })
    }
}

/// A full actor document with collections at `{id}/outbox`, `{id}/followers` and
/// `{id}/following` (served only where a test puts them).
pub fn actor_doc(id: &str, username: &str, key_id: &str, key: &KeyPair) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Person",
        "preferredUsername": username,
        "name": username,
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "followers": format!("{id}/followers"),
        "following": format!("{id}/following"),
        "publicKey": { "id": key_id, "owner": id, "publicKeyPem": key.public_key_pem() },
    })
}

/// POST `body` to `inbox`, signed draft-cavage (as Mastodon and GoToSocial sign) with `key_id`.
pub async fn deliver(
    http: &reqwest::Client,
    inbox: &str,
    body: &Value,
    key_id: &str,
    key: &KeyPair,
) -> reqwest::StatusCode {
    let bytes = serde_json::to_vec(body).expect("JSON");
    let u = reqwest::Url::parse(inbox).expect("inbox URL");
    let mut h = Headers::new();
    h.insert(
        "host",
        format!("{}:{}", u.host_str().unwrap(), u.port().unwrap()),
    );
    h.insert("date", http_date(SystemTime::now()));
    h.insert("digest", digest::digest_header(&bytes));
    h.insert("content-type", AS2);
    let sig = cavage::sign_request("POST", u.path(), &h, key_id, key).expect("sign");
    h.insert("signature", sig);
    let mut rb = http.post(inbox).body(bytes);
    for (k, v) in h.iter() {
        if k != "host" {
            rb = rb.header(k, v);
        }
    }
    rb.send().await.expect("inbox POST").status()
}
