// SPDX-License-Identifier: AGPL-3.0-or-later
//! Abuse limits against the real server on 127.0.0.1: sign-in, authorize, sign-up, remote
//! lookups, writes, inbox deliveries and requests overall, each refused with 429 once over its
//! (here tiny) limit, with Mastodon's `X-RateLimit-*` headers and JSON error on the API and the
//! error page on the web. Other clients are told apart through a trusted proxy's
//! `X-Forwarded-For`; from an untrusted peer that header changes nothing.
mod common;

use std::collections::BTreeMap;

use common::{PASSWORD, Reply, TestServer};
use kring::config::Partial;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// A server with these limits (the rest lifted by the harness), behind a trusted proxy on
/// 127.0.0.1 when `proxied`.
async fn server(limits: &[(&str, &str)], proxied: bool) -> TestServer {
    let named: BTreeMap<String, String> = limits
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TestServer::start_with(Partial {
        rate_limits: Some(named),
        trusted_proxies: proxied.then(|| vec!["127.0.0.1".parse().unwrap()]),
        allow_private_federation: Some(true),
        ..Partial::default()
    })
    .await
}

/// Mastodon's answer over a limit: 429, the limit, nothing remaining, a reset time in ISO 8601
/// (with microseconds, as Mastodon writes it) that is not in the past.
fn assert_throttled(status: StatusCode, headers: &HeaderMap, limit: u32, what: &str) {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{what}");
    let header = |n: &str| {
        headers
            .get(n)
            .unwrap_or_else(|| panic!("{what}: no {n} header"))
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(header("x-ratelimit-limit"), limit.to_string(), "{what}");
    assert_eq!(header("x-ratelimit-remaining"), "0", "{what}");
    let reset = header("x-ratelimit-reset");
    let at = kring_core::time::parse_rfc3339(&reset)
        .unwrap_or_else(|| panic!("{what}: reset {reset:?} is not ISO 8601"));
    assert!(
        reset.ends_with('Z') && reset.split('.').nth(1).map(str::len) == Some(7),
        "{what}: {reset} has microseconds and Z like Mastodon's"
    );
    // Well after the request was sent (no timing: the allowance refills over an hour).
    let sent = kring_core::time::now_micros() - 60_000_000;
    assert!(at > sent, "{what}: reset {reset} lies in the past");
}

fn assert_api_throttled(reply: &Reply, limit: u32, what: &str) {
    assert_throttled(reply.0, &reply.1, limit, what);
    assert_eq!(reply.2, json!({"error": "Too many requests"}), "{what}");
}

fn assert_page_throttled(status: StatusCode, headers: &HeaderMap, body: &str, limit: u32) {
    assert_throttled(status, headers, limit, "web page");
    assert!(
        headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("text/html")),
        "an HTML page"
    );
    assert!(body.contains("<h1>Too many requests</h1>"), "{body}");
    assert!(
        body.contains("kring.css") || body.contains(".css"),
        "the usual layout"
    );
}

/// A request as if from `client` behind the proxy.
fn from(client: &str) -> (&'static str, String) {
    ("x-forwarded-for", client.to_string())
}

async fn password_grant(s: &TestServer, email: &str, password: &str, via: Option<&str>) -> Reply {
    let app = s.app().await.clone();
    let mut rb = s.http.post(s.url("/oauth/token")).json(&json!({
        "grant_type": "password",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "username": email,
        "password": password,
        "scope": "read",
    }));
    if let Some(ip) = via {
        let (k, v) = from(ip);
        rb = rb.header(k, v);
    }
    reply(rb).await
}

async fn reply(rb: reqwest::RequestBuilder) -> Reply {
    let res = rb.send().await.expect("request sent");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

/// The form token on a web page.
fn csrf(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a form token") + 20;
    html[at..].split('"').next().unwrap().to_string()
}

/// POST a web form (after loading `page` for its form token); status, headers and body.
async fn web_form(
    s: &TestServer,
    page: &str,
    action: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
    via: Option<&str>,
) -> (StatusCode, HeaderMap, String) {
    let mut get = s.http.get(s.url(page));
    if let Some(c) = cookie {
        get = get.header("cookie", c);
    }
    let html = get.send().await.unwrap().text().await.unwrap();
    let token = csrf(&html);
    let mut form: Vec<(&str, &str)> = vec![("_csrf", &token)];
    form.extend_from_slice(fields);
    let mut rb = s.http.post(s.url(action)).form(&form);
    if let Some(c) = cookie {
        rb = rb.header("cookie", c);
    }
    if let Some(ip) = via {
        let (k, v) = from(ip);
        rb = rb.header(k, v);
    }
    let res = rb.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

/// Sign in through the web form; the session cookie.
async fn web_session(s: &TestServer, email: &str) -> String {
    let (status, headers, body) = web_form(
        s,
        "/auth/sign_in",
        "/auth/sign_in",
        None,
        &[("email", email), ("password", PASSWORD)],
        Some("198.51.100.200"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "web sign-in: {body}");
    let set = headers
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap();
    set.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn sign_in_is_limited_per_address_across_the_api_and_the_web() {
    let s = server(&[("sign_in", "3/1h")], true).await;
    let alice = s.register("alice").await;
    // Three attempts from one address (wrong passwords, other accounts: all count).
    for (i, email) in ["a@x.invalid", "b@x.invalid", &alice.email]
        .iter()
        .enumerate()
    {
        let (st, _, body) = password_grant(&s, email, "wrong", Some("203.0.113.1")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "attempt {i}: {body}");
    }
    // The fourth, even with the right password, is refused.
    let r = password_grant(&s, &alice.email, PASSWORD, Some("203.0.113.1")).await;
    assert_api_throttled(&r, 3, "password grant");
    // The web form shares the allowance: same address, same limit.
    let (st, h, body) = web_form(
        &s,
        "/auth/sign_in",
        "/auth/sign_in",
        None,
        &[("email", &alice.email), ("password", PASSWORD)],
        Some("203.0.113.1"),
    )
    .await;
    assert_page_throttled(st, &h, &body, 3);
    // So does the authorize form, which signs in too.
    let app = s.app().await.clone();
    let r = reply(
        s.http
            .post(s.url("/oauth/authorize"))
            .header("x-forwarded-for", "203.0.113.1")
            .form(&[
                ("client_id", app.client_id.as_str()),
                ("redirect_uri", common::REDIRECT_URI),
                ("response_type", "code"),
                ("email", &alice.email),
                ("password", PASSWORD),
            ]),
    )
    .await;
    assert_throttled(r.0, &r.1, 3, "authorize form");
    // Another address signs in fine.
    let (st, _, body) = password_grant(&s, &alice.email, PASSWORD, Some("203.0.113.2")).await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn sign_in_is_limited_per_account_from_any_address() {
    let s = server(&[("sign_in_account", "2/1h")], true).await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let (st, _, _) = password_grant(&s, &alice.email, "wrong", Some("203.0.113.1")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _, _) = password_grant(&s, &alice.email, "wrong", Some("203.0.113.2")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    // A third address, the right password: alice's allowance is spent (in any letter case).
    let r = password_grant(
        &s,
        &alice.email.to_uppercase(),
        PASSWORD,
        Some("203.0.113.3"),
    )
    .await;
    assert_api_throttled(&r, 2, "alice's third attempt");
    let (st, h, body) = web_form(
        &s,
        "/auth/sign_in",
        "/auth/sign_in",
        None,
        &[("email", &alice.email), ("password", PASSWORD)],
        Some("203.0.113.4"),
    )
    .await;
    assert_page_throttled(st, &h, &body, 2);
    // Bob is not affected.
    let (st, _, body) = password_grant(&s, &bob.email, PASSWORD, Some("203.0.113.3")).await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn authorize_page_is_limited_per_address() {
    let s = server(&[("authorize", "2/1h")], true).await;
    let app = s.app().await.clone();
    let path = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}",
        app.client_id,
        common::REDIRECT_URI
    );
    let get = |ip: &'static str| {
        reply(
            s.http
                .get(s.url(&path))
                .header("x-forwarded-for", ip)
                .header("accept", "text/html"),
        )
    };
    for _ in 0..2 {
        assert_eq!(get("203.0.113.1").await.0, StatusCode::OK);
    }
    let (st, h, body) = get("203.0.113.1").await;
    assert_throttled(st, &h, 2, "authorize page");
    assert!(
        body.as_str().unwrap().contains("Too many requests"),
        "{body}"
    );
    assert_eq!(get("203.0.113.2").await.0, StatusCode::OK);
}

#[tokio::test]
async fn sign_up_is_limited_per_address_on_both_doors() {
    let s = server(&[("sign_up", "2/1h")], true).await;
    let app = s.app().await.clone();
    let register = |name: &'static str, ip: &'static str| {
        reply(
            s.http
                .post(s.url("/api/v1/accounts"))
                .bearer_auth(&app.app_token)
                .header("x-forwarded-for", ip)
                .json(&json!({
                    "username": name,
                    "email": format!("{name}@tests.invalid"),
                    "password": PASSWORD,
                    "agreement": true,
                    "locale": "en",
                })),
        )
    };
    assert_eq!(register("ann", "203.0.113.1").await.0, StatusCode::OK);
    assert_eq!(register("ben", "203.0.113.1").await.0, StatusCode::OK);
    assert_api_throttled(
        &register("cat", "203.0.113.1").await,
        2,
        "third API sign-up",
    );
    let (st, h, body) = web_form(
        &s,
        "/auth/sign_up",
        "/auth/sign_up",
        None,
        &[
            ("username", "dan"),
            ("email", "dan@tests.invalid"),
            ("password", PASSWORD),
            ("agreement", "1"),
        ],
        Some("203.0.113.1"),
    )
    .await;
    assert_page_throttled(st, &h, &body, 2);
    assert_eq!(register("eve", "203.0.113.2").await.0, StatusCode::OK);
}

#[tokio::test]
async fn lookups_that_may_resolve_remotely_are_limited() {
    let s = server(&[("lookup", "3/1h")], true).await;
    let alice = s.register("alice").await;
    let own = format!("alice@127.0.0.1:{}", s.port);
    let lookup = |ip: &'static str| {
        reply(
            s.http
                .get(s.url("/api/v1/accounts/lookup"))
                .query(&[("acct", own.as_str())])
                .header("x-forwarded-for", ip),
        )
    };
    // A handle without a domain never leaves the server: not counted.
    for _ in 0..5 {
        let (st, _, _) = s.get("/api/v1/accounts/lookup?acct=alice", None).await;
        assert_eq!(st, StatusCode::OK);
    }
    assert_eq!(lookup("203.0.113.1").await.0, StatusCode::OK);
    // Searching with resolve counts against the same allowance; without resolve it does not.
    let search = |resolve: bool| {
        reply(
            s.http
                .get(s.url("/api/v2/search"))
                .query(&[
                    ("q", "alice"),
                    ("resolve", if resolve { "true" } else { "false" }),
                ])
                .header("x-forwarded-for", "203.0.113.1"),
        )
    };
    assert_eq!(search(false).await.0, StatusCode::OK);
    assert_eq!(search(true).await.0, StatusCode::OK);
    assert_eq!(lookup("203.0.113.1").await.0, StatusCode::OK);
    assert_api_throttled(&lookup("203.0.113.1").await, 3, "fourth lookup");
    assert_api_throttled(&search(true).await, 3, "search with resolve");
    assert_eq!(search(false).await.0, StatusCode::OK);
    // Per account too: alice's web searches (from a fresh address) use her own allowance.
    let cookie = web_session(&s, &alice.email).await;
    let web_search = || {
        s.http
            .get(s.url("/search?q=alice"))
            .header("cookie", &cookie)
            .header("x-forwarded-for", "203.0.113.9")
            .send()
    };
    for _ in 0..3 {
        assert_eq!(web_search().await.unwrap().status(), StatusCode::OK);
    }
    let res = web_search().await.unwrap();
    let (st, h) = (res.status(), res.headers().clone());
    assert_page_throttled(st, &h, &res.text().await.unwrap(), 3);
}

#[tokio::test]
async fn writes_are_limited_per_account_on_both_doors() {
    let s = server(&[("writes", "3/1h")], true).await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    for i in 0..3 {
        s.status(&alice, &format!("post {i}"), "public").await;
    }
    let r = s
        .post(
            "/api/v1/statuses",
            Some(&alice.token),
            json!({"status": "one too many"}),
        )
        .await;
    assert_api_throttled(&r, 3, "fourth write");
    // Reading is not writing.
    s.ok("/api/v1/timelines/home", Some(&alice.token)).await;
    // The web's forms count against the same allowance.
    let cookie = web_session(&s, &alice.email).await;
    let (st, h, body) = web_form(
        &s,
        "/home",
        "/statuses",
        Some(&cookie),
        &[("text", "from the web"), ("visibility", "public")],
        None,
    )
    .await;
    assert_page_throttled(st, &h, &body, 3);
    // Bob has his own allowance.
    s.status(&bob, "bob writes", "public").await;
}

#[tokio::test]
async fn requests_are_limited_per_address_and_the_forwarded_header_needs_a_trusted_proxy() {
    let s = server(
        &[("requests", "4/1h"), ("authenticated_requests", "6/1h")],
        false,
    )
    .await;
    // Static files are not counted.
    for _ in 0..6 {
        let res = s.http.get(s.url("/favicon.ico")).send().await.unwrap();
        assert_ne!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    for i in 0..4 {
        // No trusted proxy: the header is ignored, every request is 127.0.0.1's.
        let res = s
            .http
            .get(s.url("/api/v1/instance"))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "request {i}");
    }
    let r = s.get("/api/v1/instance", None).await;
    assert_api_throttled(&r, 4, "fifth request");
    // A browser gets the page.
    let res = s
        .http
        .get(s.url("/"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let (st, h) = (res.status(), res.headers().clone());
    assert_page_throttled(st, &h, &res.text().await.unwrap(), 4);
    // Requests with credentials have their own, larger allowance (a token is checked only
    // after this limit, so a bad one counts as well).
    for _ in 0..6 {
        let (st, _, _) = s.get("/api/v1/instance", Some("not-a-token")).await;
        assert_ne!(st, StatusCode::TOO_MANY_REQUESTS);
    }
    let r = s.get("/api/v1/instance", Some("not-a-token")).await;
    assert_api_throttled(&r, 6, "seventh request with credentials");
}

#[tokio::test]
async fn inbox_deliveries_are_limited_per_signing_host() {
    let a = server(&[("inbox", "2/1h")], false).await;
    let (b, c) = tokio::join!(server(&[], false), server(&[], false));
    a.register("alice").await;
    let bob = b.register("bob").await;
    let carol = c.register("carol").await;
    let key_of = async |s: &TestServer, user: &common::User| {
        let pem = s
            .kring
            .store
            .private_key_pem(user.id.parse().map(kring_core::Id).expect("id"))
            .await
            .expect("db")
            .expect("key");
        kring_activitypub::KeyPair::from_pem(&pem).expect("key")
    };
    let (bob_key, carol_key) = (key_of(&b, &bob).await, key_of(&c, &carol).await);
    let client = kring_activitypub::client::Client::new(true, "kring-tests").expect("client");
    let deliver =
        async |from: &TestServer, name: &str, key: &kring_activitypub::KeyPair, n: u32| {
            let actor = format!("{}/users/{name}", from.base);
            let activity = json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{actor}/likes/{n}"),
                "type": "Like",
                "actor": actor,
                "object": format!("{}/users/alice/statuses/1", a.base),
            });
            client
                .post_activity(
                    &a.url("/inbox"),
                    activity.to_string().as_bytes(),
                    &format!("{actor}#main-key"),
                    key,
                    kring_activitypub::client::Scheme::Cavage,
                )
                .await
                .expect("delivered")
        };
    assert_eq!(deliver(&b, "bob", &bob_key, 1).await, 202);
    assert_eq!(deliver(&b, "bob", &bob_key, 2).await, 202);
    assert_eq!(deliver(&b, "bob", &bob_key, 3).await, 429);
    // Another host is not held back by bob's.
    assert_eq!(deliver(&c, "carol", &carol_key, 1).await, 202);
}
