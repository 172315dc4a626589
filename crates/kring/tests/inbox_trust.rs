// SPDX-License-Identifier: AGPL-3.0-or-later
//! Trust before growth: what the inbox accepts and what unauthenticated requests may make this
//! server do elsewhere. Real Kring servers on 127.0.0.1 (SQLite, or PostgreSQL when
//! `KRING_TEST_DATABASE_URL` is set), real signatures, and a small stand-in server ([`Peer`])
//! that serves fixed documents and counts every request it gets.
//!
//! Covered: activity, Announce and created-object ids must be on the signer's host; signed
//! requests made for another host are refused; signed-out look-ups, searches and signed GETs
//! (authorized fetch off) never reach another server; failed remote look-ups are logged with
//! their reason; remote URLs reach clients (API and web) as http(s) only.
mod common;
mod fed_common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use fed_common::{FedUser, Node, eventually, id};
use kring_activitypub::{Headers, KeyPair, as2, cavage, digest, http_date};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A stand-in for another server: answers GETs of the documents it was given (by path, the
/// query ignored), 404 otherwise, and 202 to every POST; counts every request.
struct Peer {
    domain: String,
    base: String,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Peer {
    /// Bind a port; `docs` gets the peer's base URL and returns the documents to serve.
    async fn start(docs: impl FnOnce(&str) -> HashMap<String, Value>) -> Peer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the peer");
        let domain = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
        let base = format!("http://{domain}");
        let docs = Arc::new(docs(&base));
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let docs = docs.clone();
            let counted = counted.clone();
            async move {
                use axum::response::IntoResponse;
                counted.fetch_add(1, Ordering::SeqCst);
                if req.method() == axum::http::Method::POST {
                    return axum::http::StatusCode::ACCEPTED.into_response();
                }
                match docs.get(req.uri().path()) {
                    Some(doc) => (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/activity+json",
                        )],
                        doc.to_string(),
                    )
                        .into_response(),
                    None => axum::http::StatusCode::NOT_FOUND.into_response(),
                }
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Peer {
            domain,
            base,
            hits,
            task,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A request signed by hand (draft-cavage, as Mastodon signs) for `host`, sent to `url`
/// with exactly that `Host` header.
fn signed(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    host: &str,
    body: Option<&Value>,
    key_id: &str,
    key: &KeyPair,
) -> reqwest::RequestBuilder {
    let u = reqwest::Url::parse(url).expect("URL");
    let mut path = u.path().to_string();
    if let Some(q) = u.query() {
        path = format!("{path}?{q}");
    }
    let body = body.map(|b| serde_json::to_vec(b).expect("JSON"));
    let mut h = Headers::new();
    h.insert("host", host.to_string());
    h.insert("date", http_date(SystemTime::now()));
    if let Some(b) = &body {
        h.insert("digest", digest::digest_header(b));
        h.insert("content-type", "application/activity+json");
    }
    let sig = cavage::sign_request(method.as_str(), &path, &h, key_id, key).expect("sign");
    h.insert("signature", sig);
    let mut rb = http
        .request(method, url)
        .header("accept", "application/activity+json");
    for (k, v) in h.iter() {
        rb = rb.header(k, v);
    }
    if let Some(b) = body {
        rb = rb.body(b);
    }
    rb
}

/// `user`'s signing key on an in-process node.
async fn key_of(node: &Node, user: &FedUser) -> KeyPair {
    let id: kring_service::Id = user.id.parse().expect("account id");
    let pem = node
        .kring()
        .store
        .private_key_pem(id)
        .await
        .unwrap()
        .expect("a local account has a key");
    KeyPair::from_pem(&pem).expect("key")
}

/// The statuses `viewer` finds on `on` by `q` (a URL) without resolving anything remotely.
async fn found_by_url(on: &Node, viewer: &FedUser, q: &str) -> Vec<Value> {
    on.ok_query(
        "/api/v2/search",
        &viewer.token,
        &[("q", q), ("type", "statuses")],
    )
    .await["statuses"]
        .as_array()
        .expect("statuses")
        .clone()
}

// --- 1 and 3: ids on the signer's host; requests signed for this host only ---------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_must_be_on_the_signers_host_and_requests_signed_for_this_host() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let bob_key_id = as2::key_id(&bob.uri);
    let bob_key = key_of(&b, &bob).await;
    // A third host, whose URIs bob's server must not be able to claim.
    let other = "http://127.0.0.1:9";
    let inbox = a.url("/inbox");
    let post = |body: &Value, host: &str| {
        signed(
            &a.http,
            Method::POST,
            &inbox,
            host,
            Some(body),
            &bob_key_id,
            &bob_key,
        )
    };
    let mine = a.say(&alice, "boost me", "public").await;

    // 1. A Create whose Note id is on another host: refused, and nothing is stored under it.
    let squatted_note = format!("{other}/users/carol/statuses/1");
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/statuses/squat/activity", bob.uri),
        "type": "Create",
        "actor": bob.uri,
        "to": [as2::PUBLIC],
        "object": {
            "id": squatted_note,
            "type": "Note",
            "attributedTo": bob.uri,
            "content": "<p>not mine to name</p>",
            "to": [as2::PUBLIC],
        },
    });
    let st = post(&create, &a.domain).send().await.unwrap().status();
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "Create of a note on another host"
    );
    // An activity id on another host: refused (it would hide that host's own activity).
    let mut foreign_id = create.clone();
    foreign_id["id"] = json!(format!("{other}/activities/1"));
    foreign_id["object"]["id"] = json!(format!("{}/statuses/own", bob.uri));
    let st = post(&foreign_id, &a.domain).send().await.unwrap().status();
    assert_eq!(st, StatusCode::UNAUTHORIZED, "activity id on another host");
    // An Announce whose id is on another host: refused, no boost under that URI.
    let squatted_boost = format!("{other}/users/carol/statuses/2");
    let announce = |id: &str| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": id,
            "type": "Announce",
            "actor": bob.uri,
            "to": [as2::PUBLIC],
            "object": mine["uri"],
        })
    };
    let st = post(&announce(&squatted_boost), &a.domain)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(st, StatusCode::UNAUTHORIZED, "Announce id on another host");

    // 3. A correctly signed request made for another server (bob's own, as if captured
    // there), replayed here: refused.
    let genuine_boost = format!("{}/statuses/boost/1", bob.uri);
    let st = post(&announce(&genuine_boost), &b.domain)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(st, StatusCode::UNAUTHORIZED, "signed for another host");
    let st = post(&announce(&genuine_boost), &format!("{}:1", "127.0.0.1"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(st, StatusCode::UNAUTHORIZED, "signed for another port");

    // The same Announce, signed for this server, with its id on bob's host: accepted.
    let st = post(&announce(&genuine_boost), &a.domain)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(st, StatusCode::ACCEPTED, "a genuine Announce");
    eventually("alice's post boosted once", async || {
        let s = a.status(&alice, &id(&mine)).await?;
        (s["reblogs_count"] == 1).then_some(())
    })
    .await;
    // Nothing is stored under the other host's URIs.
    for squatted in [&squatted_note, &squatted_boost] {
        assert!(
            found_by_url(&a, &alice, squatted).await.is_empty(),
            "nothing stored under {squatted}"
        );
    }
}

// --- 4: signed-out requests never reach other servers -------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_requests_never_reach_other_servers() {
    let a = Node::start().await;
    let alice = a.register("alice").await;
    let mine = a.say(&alice, "public post", "public").await;
    let peer = Peer::start(|_| HashMap::new()).await;
    let ghost = format!("ghost@{}", peer.domain);
    let ghost_uri = format!("{}/users/ghost", peer.base);

    // The API's look-up and search, signed out.
    let (st, _) = a
        .request(
            Method::GET,
            "/api/v1/accounts/lookup",
            None,
            &[("acct", &ghost)],
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    for q in [
        ghost.as_str(),
        &format!("@{ghost}"),
        &ghost_uri,
        &format!("{}/notes/1", peer.base),
    ] {
        let (st, found) = a
            .request(
                Method::GET,
                "/api/v2/search",
                None,
                &[("q", q), ("resolve", "true")],
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "search {q}: {found}");
        assert_eq!(found["accounts"], json!([]), "{q}");
    }
    // The web's profile page, signed out.
    let st = a
        .http
        .get(a.url(&format!("/@{ghost}")))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Signed GETs of public documents by an unknown key (authorized fetch is off): answered,
    // without fetching the key.
    let key = KeyPair::generate().unwrap();
    let key_id = as2::key_id(&ghost_uri);
    let note_path = format!("/users/alice/statuses/{}", id(&mine));
    for path in [
        note_path.as_str(),
        "/users/alice",
        "/users/alice/outbox",
        "/users/alice/followers",
    ] {
        let res = signed(
            &a.http,
            Method::GET,
            &a.url(path),
            &a.domain,
            None,
            &key_id,
            &key,
        )
        .send()
        .await
        .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "signed GET {path}");
    }
    assert_eq!(
        peer.hits(),
        0,
        "signed-out requests reached the other server"
    );

    // Signed in, the same look-up does ask the other server (so the count above means it).
    let (st, _) = a
        .request(
            Method::GET,
            "/api/v1/accounts/lookup",
            Some(&alice.token),
            &[("acct", &ghost)],
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(peer.hits() > 0, "a signed-in look-up asks the other server");
}

// --- 5: failed remote look-ups are logged with the reason ---------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_remote_lookups_are_logged_with_their_reason() {
    let mut a = Node::new();
    a.start_binary_logging("warn,kring_service=info").await;
    let alice = a.register("alice").await;
    let peer = Peer::start(|_| HashMap::new()).await;
    let ghost = format!("ghost@{}", peer.domain);
    let found = a
        .ok_query(
            "/api/v2/search",
            &alice.token,
            &[("q", &ghost), ("resolve", "true"), ("type", "accounts")],
        )
        .await;
    assert_eq!(found["accounts"], json!([]));
    assert!(peer.hits() > 0, "the look-up asked the peer");
    let line = eventually("a log line for the failed look-up", async || {
        a.log()
            .lines()
            .find(|l| l.contains("remote look-up failed") && l.contains(&peer.domain))
            .map(str::to_string)
    })
    .await;
    assert!(line.contains("404"), "the remote status is logged: {line}");

    // Nobody listens there: the reason says so.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let nowhere = format!("127.0.0.1:{closed}");
    let (st, _) = a
        .request(
            Method::GET,
            "/api/v1/accounts/lookup",
            Some(&alice.token),
            &[("acct", &format!("ghost@{nowhere}"))],
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let line = eventually("a log line for the unreachable server", async || {
        a.log()
            .lines()
            .find(|l| l.contains("remote look-up failed") && l.contains(&nowhere))
            .map(str::to_string)
    })
    .await;
    assert!(line.contains("reason"), "{line}");
    assert!(!line.contains(&alice.token), "no secrets in logs: {line}");
}

// --- 6: remote URLs reach clients as http(s) only -----------------------------------------------

const BAD: [&str; 4] = ["javascript:", "data:text", "data:image", "xmpp:"];

fn assert_clean(what: &str, text: &str) {
    for bad in BAD {
        assert!(
            !text.to_ascii_lowercase().contains(bad),
            "{what} contains {bad}: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_urls_reach_clients_as_http_only() {
    let a = Node::start().await;
    let alice = a.register("alice").await;
    let key = KeyPair::generate().unwrap();
    let pem = key.public_key_pem();
    let peer = Peer::start(|base| {
        let actor = format!("{base}/users/evil");
        let mut docs = HashMap::new();
        docs.insert(
            "/.well-known/webfinger".to_string(),
            json!({
                "subject": format!("acct:evil@{}", base.trim_start_matches("http://")),
                "links": [{ "rel": "self", "type": "application/activity+json", "href": actor }],
            }),
        );
        docs.insert(
            "/users/evil".to_string(),
            json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": actor,
                "type": "Person",
                "preferredUsername": "evil",
                "name": "Evil",
                "url": "javascript:alert(1)",
                "summary": "<p><a href=\"javascript:alert(2)\">bio</a> <a href=\"data:text/html,x\">d</a></p>",
                "inbox": format!("{actor}/inbox"),
                "followers": format!("{actor}/followers"),
                "attachment": [
                    { "type": "PropertyValue", "name": "site",
                      "value": "<a href=\"javascript:alert(3)\">click</a>" },
                    { "type": "PropertyValue", "name": "img",
                      "value": "<a href=\"data:image/svg+xml;base64,PHN2Zz4=\">x</a>" },
                    { "type": "PropertyValue", "name": "chat",
                      "value": "<a href=\"xmpp:evil@example.org\">xmpp</a>" },
                ],
                "publicKey": { "id": format!("{actor}#main-key"), "owner": actor, "publicKeyPem": pem },
            }),
        );
        docs.insert(
            "/users/evil/statuses/1".to_string(),
            json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{actor}/statuses/1"),
                "type": "Note",
                "attributedTo": actor,
                "url": "data:text/html,<script>alert(4)</script>",
                "content": "<p>hi <a href=\"javascript:alert(5)\">there</a> <a href=\"JaVaScRiPt:alert(6)\">x</a> <a href=\"gemini://g.example/\">g</a></p>",
                "to": [as2::PUBLIC],
                "published": "2026-01-01T00:00:00Z",
            }),
        );
        docs.insert(
            "/users/evil/statuses/2".to_string(),
            json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{actor}/statuses/2"),
                "type": "Article",
                "name": "An article",
                "attributedTo": actor,
                "url": "javascript:alert(7)",
                "content": "<p>body</p>",
                "to": [as2::PUBLIC],
                "published": "2026-01-01T00:00:01Z",
            }),
        );
        docs
    })
    .await;
    let actor = format!("{}/users/evil", peer.base);
    let mut statuses = Vec::new();
    for n in [1, 2] {
        let q = format!("{actor}/statuses/{n}");
        let found = a
            .ok_query(
                "/api/v2/search",
                &alice.token,
                &[("q", &q), ("resolve", "true"), ("type", "statuses")],
            )
            .await;
        let s = found["statuses"][0].clone();
        assert_eq!(s["uri"], q.as_str(), "{found}");
        statuses.push(s);
    }
    let account_id = statuses[0]["account"]["id"].as_str().unwrap().to_string();

    // The API: the status and account entities, whole.
    for s in &statuses {
        let shown = a
            .ok(&format!("/api/v1/statuses/{}", id(s)), &alice.token)
            .await;
        assert_clean("status JSON", &shown.to_string());
        assert_eq!(shown["url"], shown["uri"], "a bad url falls back to the id");
    }
    let account = a.account(&alice, &account_id).await;
    assert_clean("account JSON", &account.to_string());
    assert_eq!(
        account["url"],
        actor.as_str(),
        "a bad url falls back to the id"
    );
    assert_eq!(account["fields"].as_array().unwrap().len(), 3);

    // A mention Kring links itself.
    let mention = a
        .say(&alice, &format!("hello @evil@{}", peer.domain), "public")
        .await;
    assert!(
        mention["content"].as_str().unwrap().contains(&actor),
        "{mention}"
    );
    assert_clean("mention", &mention.to_string());
    assert_eq!(mention["mentions"][0]["url"], actor.as_str());

    // The web pages: profile and posts, signed out and signed in are the same here.
    let handle = format!("evil@{}", peer.domain);
    let mut pages = vec![format!("/@{handle}")];
    for s in &statuses {
        pages.push(format!("/@{handle}/{}", id(s)));
    }
    for page in pages {
        let res = a.http.get(a.url(&page)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{page}");
        let html = res.text().await.unwrap();
        assert_clean(&page, &html);
        if !page.ends_with(&handle) {
            continue;
        }
        assert!(html.contains(&actor), "{page} links the profile by its id");
    }
}
