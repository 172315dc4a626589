// SPDX-License-Identifier: AGPL-3.0-or-later
//! OAuth as strict as Mastodon's, over HTTP against a real server: PKCE with S256 only, codes
//! without a challenge redeemed only with the client secret, the redirect URI checked at the
//! exchange, client secrets stored hashed and shown once, codes and refresh tokens used once
//! even by concurrent requests, optional token expiry, and the web door's security headers on
//! every OAuth page.
mod common;

use common::schema::assert_valid;
use common::{AppCreds, PASSWORD, REDIRECT_URI, TestServer};
use kring::config::Partial;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";

fn pkce_pair() -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let verifier = format!(
        "verifier-{:032x}-{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    );
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn authorize_path(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://x/oauth/authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("response_type", "code")
        .append_pair("scope", "read write");
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    format!("{}?{}", url.path(), url.query().unwrap())
}

/// Log in on the authorize form with `pkce` parameters; the code from the redirect.
async fn code_for(
    s: &TestServer,
    app: &AppCreds,
    redirect_uri: &str,
    pkce: &[(&str, &str)],
) -> String {
    let mut fields = vec![
        ("client_id", app.client_id.as_str()),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("scope", "read write"),
        ("email", "alice@tests.invalid"),
        ("password", PASSWORD),
    ];
    fields.extend_from_slice(pkce);
    let (st, headers, body) = s
        .form(Method::POST, "/oauth/authorize", None, &fields)
        .await;
    if redirect_uri == OOB {
        assert_eq!(st, StatusCode::OK, "{body}");
        let html = body.as_str().unwrap_or_default();
        let start = html.find("<code>").expect("code on the page") + "<code>".len();
        let end = html[start..].find("</code>").unwrap() + start;
        return html[start..end].to_string();
    }
    assert_eq!(st, StatusCode::SEE_OTHER, "{body}");
    let location = headers["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(redirect_uri), "{location}");
    query_param(&location, "code").expect("code in redirect")
}

async fn exchange(s: &TestServer, fields: Value) -> (StatusCode, Value) {
    let mut body = json!({"grant_type": "authorization_code"});
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (st, _, b) = s.post("/oauth/token", None, body).await;
    (st, b)
}

#[track_caller]
fn assert_oauth_error(st: StatusCode, body: &Value, want: StatusCode, error: &str) {
    assert_eq!(st, want, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_valid("Error", body);
}

#[tokio::test]
async fn pkce_is_s256_only_at_authorize() {
    let s = TestServer::start().await;
    s.register("alice").await;
    let app = s.new_app().await;
    let (verifier, challenge) = pkce_pair();

    for (what, extra) in [
        (
            "plain",
            vec![
                ("code_challenge", verifier.as_str()),
                ("code_challenge_method", "plain"),
            ],
        ),
        (
            "no method (plain by default)",
            vec![("code_challenge", verifier.as_str())],
        ),
        (
            "plain without a challenge",
            vec![("code_challenge_method", "plain")],
        ),
        (
            "unknown method",
            vec![
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S512"),
            ],
        ),
        (
            "not a SHA-256",
            vec![
                ("code_challenge", "tooshort"),
                ("code_challenge_method", "S256"),
            ],
        ),
    ] {
        // An API client gets Doorkeeper's JSON …
        let path = authorize_path(&app.client_id, &extra);
        let (st, _, body) = s.get(&path, None).await;
        assert_oauth_error(st, &body, StatusCode::BAD_REQUEST, "invalid_request");
        // … a browser a page, with the security headers …
        let res = s
            .http
            .get(s.url(&path))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{what}");
        assert_security_headers(res.headers(), what);
        let html = res.text().await.unwrap();
        assert!(html.contains("invalid_request"), "{what}: {html}");
        assert!(!html.contains("<form"), "{what}: {html}");
        // … and logging in with it issues no code.
        let mut fields = vec![
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("email", "alice@tests.invalid"),
            ("password", PASSWORD),
        ];
        fields.extend_from_slice(&extra);
        let (st, headers, body) = s
            .form(Method::POST, "/oauth/authorize", None, &fields)
            .await;
        assert_oauth_error(st, &body, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(headers.get("location").is_none(), "{what}");
    }

    // S256 is fine, and the metadata offers only it.
    let (st, _, _) = s
        .get(
            &authorize_path(
                &app.client_id,
                &[
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ],
            ),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let meta = s.ok("/.well-known/oauth-authorization-server", None).await;
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
}

#[tokio::test]
async fn codes_without_pkce_need_the_client_secret() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let app = s.new_app().await;

    // No challenge, no secret, some verifier: the client is not authenticated (a verifier
    // proves nothing without a challenge).
    let code = code_for(&s, &app, REDIRECT_URI, &[]).await;
    let (st, body) = exchange(
        &s,
        json!({"client_id": app.client_id, "redirect_uri": REDIRECT_URI, "code": code, "code_verifier": "anything-at-all-anything-at-all-anything-at-all"}),
    )
    .await;
    assert_oauth_error(st, &body, StatusCode::UNAUTHORIZED, "invalid_client");
    // With the secret, a verifier for a code without a challenge is refused too.
    let code = code_for(&s, &app, REDIRECT_URI, &[]).await;
    let (st, body) = exchange(
        &s,
        json!({"client_id": app.client_id, "client_secret": app.client_secret, "redirect_uri": REDIRECT_URI, "code": code, "code_verifier": "anything-at-all-anything-at-all-anything-at-all"}),
    )
    .await;
    assert_oauth_error(st, &body, StatusCode::BAD_REQUEST, "invalid_grant");
    // No challenge, no secret, no verifier: the client is not authenticated.
    let code = code_for(&s, &app, REDIRECT_URI, &[]).await;
    let (st, body) = exchange(
        &s,
        json!({"client_id": app.client_id, "redirect_uri": REDIRECT_URI, "code": code}),
    )
    .await;
    assert_oauth_error(st, &body, StatusCode::UNAUTHORIZED, "invalid_client");
    // With the secret it works.
    let code = code_for(&s, &app, REDIRECT_URI, &[]).await;
    let (st, tok) = exchange(
        &s,
        json!({"client_id": app.client_id, "client_secret": app.client_secret, "redirect_uri": REDIRECT_URI, "code": code}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    assert_valid("Token", &tok);
    let me = s
        .ok(
            "/api/v1/accounts/verify_credentials",
            tok["access_token"].as_str(),
        )
        .await;
    assert_eq!(me["id"], alice.id);

    // A public client (no secret) with an S256 challenge and its verifier: fine.
    let (verifier, challenge) = pkce_pair();
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let code = code_for(&s, &app, REDIRECT_URI, &pkce).await;
    let (st, tok) = exchange(
        &s,
        json!({"client_id": app.client_id, "redirect_uri": REDIRECT_URI, "code": code, "code_verifier": verifier}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    // Out of band too (the code is shown on the page).
    let code = code_for(&s, &app, OOB, &pkce).await;
    let (st, tok) = exchange(
        &s,
        json!({"client_id": app.client_id, "redirect_uri": OOB, "code": code, "code_verifier": verifier}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{tok}");
}

#[tokio::test]
async fn redirect_uri_at_exchange_must_be_the_authorized_one() {
    let s = TestServer::start().await;
    s.register("alice").await;
    let app = s.new_app().await;
    let secret = app.client_secret.clone();

    // Another of the app's registered URIs is still another URI.
    let code = code_for(&s, &app, REDIRECT_URI, &[]).await;
    let (st, body) = exchange(
        &s,
        json!({"client_id": app.client_id, "client_secret": secret, "redirect_uri": OOB, "code": code}),
    )
    .await;
    assert_oauth_error(st, &body, StatusCode::BAD_REQUEST, "invalid_grant");
    // The code is spent by that attempt.
    let (st, body) = exchange(
        &s,
        json!({"client_id": app.client_id, "client_secret": secret, "redirect_uri": REDIRECT_URI, "code": code}),
    )
    .await;
    assert_oauth_error(st, &body, StatusCode::BAD_REQUEST, "invalid_grant");
    // Left out: Doorkeeper's "missing parameter".
    let code = code_for(&s, &app, REDIRECT_URI, &[]).await;
    let (st, body) = exchange(
        &s,
        json!({"client_id": app.client_id, "client_secret": secret, "code": code}),
    )
    .await;
    assert_oauth_error(st, &body, StatusCode::BAD_REQUEST, "invalid_request");
    // A look-alike.
    let code = code_for(&s, &app, REDIRECT_URI, &[]).await;
    let (st, body) = exchange(
        &s,
        json!({"client_id": app.client_id, "client_secret": secret, "redirect_uri": format!("{REDIRECT_URI}/"), "code": code}),
    )
    .await;
    assert_oauth_error(st, &body, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_code_is_redeemed_once_even_concurrently() {
    let s = TestServer::start().await;
    s.register("alice").await;
    let app = s.new_app().await;
    let code = code_for(&s, &app, REDIRECT_URI, &[]).await;
    let body = json!({"grant_type": "authorization_code", "client_id": app.client_id, "client_secret": app.client_secret, "redirect_uri": REDIRECT_URI, "code": code});
    let tries = (0..8).map(|_| s.post("/oauth/token", None, body.clone()));
    let results = futures_util::future::join_all(tries).await;
    let ok = results
        .iter()
        .filter(|(st, _, _)| *st == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "{results:?}");
    for (st, _, b) in results.iter().filter(|(st, _, _)| *st != StatusCode::OK) {
        assert_oauth_error(*st, b, StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

#[tokio::test]
async fn client_secrets_are_stored_hashed_and_shown_once() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let app = s.new_app().await;
    let stored = s
        .kring
        .store
        .app_by_client_id(&app.client_id)
        .await
        .unwrap()
        .expect("app stored");
    let hash = stored.client_secret_hash.clone().expect("hash stored");
    assert_ne!(hash, app.client_secret);
    assert_eq!(hash, kring_core::secret::hash(&app.client_secret));
    assert!(!format!("{stored:?}").contains(&app.client_secret));

    // The app's own view of itself does not repeat the secret (as Mastodon's).
    let me = s
        .ok("/api/v1/apps/verify_credentials", Some(&app.app_token))
        .await;
    assert_valid("Application", &me);
    assert!(me.get("client_secret").is_none(), "{me}");
    assert_eq!(me["name"], "kring tests");

    // The secret still authenticates, by body and by HTTP Basic; its hash does not.
    let grant = |secret: &str| json!({"grant_type": "password", "client_id": app.client_id, "client_secret": secret, "username": alice.email, "password": PASSWORD});
    let (st, _, tok) = s
        .post("/oauth/token", None, grant(&app.client_secret))
        .await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    let (st, _, body) = s.post("/oauth/token", None, grant(&hash)).await;
    assert_oauth_error(st, &body, StatusCode::UNAUTHORIZED, "invalid_client");
    let res = s
        .http
        .post(s.url("/oauth/token"))
        .basic_auth(&app.client_id, Some(&app.client_secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Token answers are not cached.
    assert_eq!(res.headers()["cache-control"], "no-store");
    // Refresh and client-credentials grants need the secret; a public client has none.
    let (st, _, body) = s
        .post(
            "/oauth/token",
            None,
            json!({"grant_type": "refresh_token", "client_id": app.client_id, "refresh_token": tok["refresh_token"]}),
        )
        .await;
    assert_oauth_error(st, &body, StatusCode::UNAUTHORIZED, "invalid_client");
}

async fn refresh(s: &TestServer, app: &AppCreds, refresh_token: &str) -> (StatusCode, Value) {
    let (st, _, b) = s
        .post(
            "/oauth/token",
            None,
            json!({"grant_type": "refresh_token", "client_id": app.client_id, "client_secret": app.client_secret, "refresh_token": refresh_token}),
        )
        .await;
    (st, b)
}

#[tokio::test]
async fn a_refresh_token_works_once_even_concurrently() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let app = s.app().await.clone();
    let other = s.new_app().await;
    let (st, _, tok) = s
        .post(
            "/oauth/token",
            None,
            json!({"grant_type": "password", "client_id": app.client_id, "client_secret": app.client_secret, "username": alice.email, "password": PASSWORD, "scope": "read"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    assert!(
        tok.get("expires_in").is_none(),
        "no lifetime by default: {tok}"
    );
    let old_access = tok["access_token"].as_str().unwrap().to_string();
    let refresh_token = tok["refresh_token"].as_str().unwrap().to_string();

    // Another app cannot use it (and does not burn it).
    let (st, body) = refresh(&s, &other, &refresh_token).await;
    assert_oauth_error(st, &body, StatusCode::BAD_REQUEST, "invalid_grant");

    let tries = (0..8).map(|_| refresh(&s, &app, &refresh_token));
    let results = futures_util::future::join_all(tries).await;
    let winners: Vec<&Value> = results
        .iter()
        .filter(|(st, _)| *st == StatusCode::OK)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (st, b) in results.iter().filter(|(st, _)| *st != StatusCode::OK) {
        assert_oauth_error(*st, b, StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let fresh = winners[0];
    assert_valid("Token", fresh);
    assert_eq!(fresh["scope"], "read");
    s.ok(
        "/api/v1/accounts/verify_credentials",
        fresh["access_token"].as_str(),
    )
    .await;
    let (st, _, _) = s
        .get("/api/v1/accounts/verify_credentials", Some(&old_access))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Exactly one live token came of it: alice's sign-up token and the fresh one.
    let actor = s
        .kring
        .actor(alice.id.parse::<kring_core::Id>().unwrap())
        .await
        .unwrap();
    let live = s.kring.sessions(&actor, None).await.unwrap();
    assert_eq!(live.len(), 2, "{live:?}");
    // The new refresh token works (once).
    let (st, again) = refresh(&s, &app, fresh["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::OK, "{again}");
}

#[tokio::test]
async fn access_tokens_expire_when_a_lifetime_is_set() {
    let s = TestServer::start_with(Partial {
        access_token_lifetime: Some(1),
        ..Partial::default()
    })
    .await;
    let alice = s.register("alice").await;
    let app = s.app().await.clone();
    let (st, _, tok) = s
        .post(
            "/oauth/token",
            None,
            json!({"grant_type": "password", "client_id": app.client_id, "client_secret": app.client_secret, "username": alice.email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    assert_valid("Token", &tok);
    assert_eq!(tok["expires_in"], 1, "{tok}");
    let access = tok["access_token"].as_str().unwrap();
    // Wait (without measuring) until the server says it expired.
    let mut last = (StatusCode::OK, Value::Null);
    for _ in 0..120 {
        let (st, _, body) = s
            .get("/api/v1/accounts/verify_credentials", Some(access))
            .await;
        last = (st, body);
        if st != StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(last.0, StatusCode::UNAUTHORIZED, "{}", last.1);
    assert_eq!(last.1, json!({"error": "The access token expired"}));
    // The refresh token still renews it, with the same lifetime.
    let (st, fresh) = refresh(&s, &app, tok["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::OK, "{fresh}");
    assert_eq!(fresh["expires_in"], 1, "{fresh}");
    // A web session does not expire this way.
    let (_, session) = s
        .kring
        .web_sign_in(&alice.email, PASSWORD)
        .await
        .expect("web sign-in");
    assert!(session.expires_in.is_none());
}

// --- security headers --------------------------------------------------------------------------

#[track_caller]
fn assert_security_headers(h: &HeaderMap, what: &str) {
    let get = |name: &str| {
        h.get(name)
            .unwrap_or_else(|| panic!("{what}: no {name} header in {h:?}"))
            .to_str()
            .unwrap()
            .to_string()
    };
    let csp = get("content-security-policy");
    assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "same-origin", "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
}

#[tokio::test]
async fn oauth_pages_carry_the_web_security_headers() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let app = s.new_app().await;
    let path = authorize_path(&app.client_id, &[]);
    let (_, session) = s
        .kring
        .web_sign_in(&alice.email, PASSWORD)
        .await
        .expect("web sign-in");
    for (what, cookie) in [
        ("signed out", None),
        (
            "signed in",
            Some(format!("kring_session={}", session.access_token)),
        ),
    ] {
        let mut rb = s.http.get(s.url(&path)).header("accept", "text/html");
        if let Some(c) = cookie {
            rb = rb.header("cookie", c);
        }
        let res = rb.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{what}");
        assert_security_headers(res.headers(), what);
        // The form's answer redirects to the app: that origin, and only it, is a form target.
        let csp = res.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("form-action 'self' http://127.0.0.1;"),
            "{what}: {csp}"
        );
        assert_eq!(res.headers()["cache-control"], "no-store", "{what}");
    }
    // Out of band: the form goes nowhere else.
    let oob_path = path.replace(
        &format!("redirect_uri={}", urlencode(REDIRECT_URI)),
        &format!("redirect_uri={}", urlencode(OOB)),
    );
    let (st, h, _) = s.get(&oob_path, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_security_headers(&h, "out of band");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("form-action 'self';")
    );

    // A failed log-in re-renders the page; the page with the code (out of band) too.
    let (st, h, _) = s
        .form(
            Method::POST,
            "/oauth/authorize",
            None,
            &[
                ("client_id", &app.client_id),
                ("redirect_uri", REDIRECT_URI),
                ("email", "alice@tests.invalid"),
                ("password", "wrong password"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_security_headers(&h, "failed log-in");
    let (st, h, _) = s
        .form(
            Method::POST,
            "/oauth/authorize",
            None,
            &[
                ("client_id", &app.client_id),
                ("redirect_uri", OOB),
                ("email", "alice@tests.invalid"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_security_headers(&h, "code page");

    // Error pages: an unknown client for a browser, and the fallback's not-found page.
    for (what, path) in [
        (
            "unknown client",
            "/oauth/authorize?client_id=nope&redirect_uri=x".to_string(),
        ),
        ("not found", "/no/such/page".to_string()),
    ] {
        let res = s
            .http
            .get(s.url(&path))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{what}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{what}"
        );
        assert_security_headers(res.headers(), what);
    }
    // API clients still get JSON for an unknown client.
    let (st, _, body) = s
        .get("/oauth/authorize?client_id=nope&redirect_uri=x", None)
        .await;
    assert_oauth_error(st, &body, StatusCode::BAD_REQUEST, "invalid_client");
}

fn urlencode(s: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", &[("v", s)])
        .unwrap()
        .query()
        .unwrap()
        .trim_start_matches("v=")
        .to_string()
}

/// Parameters the OAuth endpoints cannot read get OAuth's own error shape (Doorkeeper's
/// `400 invalid_request` with a description), not the REST API's.
#[tokio::test]
async fn unreadable_oauth_parameters_are_invalid_requests() {
    let s = TestServer::start().await;
    let app = s.app().await;
    for (path, body) in [
        (
            "/oauth/token",
            json!({"grant_type": "password", "client_id": ["x"]}),
        ),
        ("/oauth/token", json!({"grant_type": {"a": 1}})),
        (
            "/oauth/revoke",
            json!({"token": ["x"], "client_id": app.client_id}),
        ),
    ] {
        let (st, _, b) = s.post(path, None, body.clone()).await;
        assert_oauth_error(st, &b, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(
            b["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{path} {body}: {b}"
        );
    }
    // A body that is not JSON at all.
    let res = reqwest::Client::new()
        .post(s.url("/oauth/token"))
        .header("content-type", "application/json")
        .body("{\"grant_type\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let b: Value = res.json().await.unwrap();
    assert_eq!(b["error"], "invalid_request", "{b}");
    // The authorize endpoint, asked by an API client and by a browser.
    let path = format!(
        "/oauth/authorize?client_id[]={}&redirect_uri={}",
        app.client_id,
        urlencode(REDIRECT_URI)
    );
    let (st, _, b) = s.get(&path, None).await;
    assert_oauth_error(st, &b, StatusCode::BAD_REQUEST, "invalid_request");
    let res = reqwest::Client::new()
        .get(s.url(&path))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("invalid_request"));
}
