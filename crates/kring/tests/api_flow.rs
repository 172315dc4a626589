// SPDX-License-Identifier: AGPL-3.0-or-later
//! The Mastodon client API end to end, over HTTP against a real server: accounts and
//! registration modes, relationships, statuses, timelines and paging, lists, notifications,
//! markers, filters, search, instance, preferences and OAuth. Every entity that comes back is
//! validated against Mastodon's OpenAPI schema.
mod common;

use common::schema::assert_valid;
use common::{PASSWORD, REDIRECT_URI, TestServer};
use kring_core::model::Registrations;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

// --- instance, registration, credentials ---------------------------------------------------

#[tokio::test]
async fn instance_v1_v2_and_preferences() {
    let s = TestServer::start().await;
    let v2 = s.ok("/api/v2/instance", None).await;
    assert_valid("Instance", &v2);
    assert_eq!(v2["domain"], format!("127.0.0.1:{}", s.port));
    assert_eq!(v2["registrations"]["enabled"], true);
    let v1 = s.ok("/api/v1/instance", None).await;
    assert_valid("V1Instance", &v1);
    assert_eq!(v1["uri"], format!("127.0.0.1:{}", s.port));
    assert_eq!(
        v1["urls"]["streaming_api"],
        format!("ws://127.0.0.1:{}", s.port)
    );

    let a = s.register("alice").await;
    let prefs = s.ok("/api/v1/preferences", Some(&a.token)).await;
    assert_valid("Preferences", &prefs);
    assert_eq!(prefs["posting:default:visibility"], "public");
    // Stats count the new user and her post.
    s.status(&a, "hello", "public").await;
    let v1 = s.ok("/api/v1/instance", None).await;
    assert_eq!(v1["stats"]["user_count"], 1);
    assert_eq!(v1["stats"]["status_count"], 1);
    let (st, _, body) = s.get("/api/v1/preferences", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_valid("Error", &body);
}

#[tokio::test]
async fn registration_closed_is_refused() {
    let s = TestServer::with_registrations(Registrations::Closed).await;
    let v2 = s.ok("/api/v2/instance", None).await;
    assert_valid("Instance", &v2);
    assert_eq!(v2["registrations"]["enabled"], false);
    let v1 = s.ok("/api/v1/instance", None).await;
    assert_eq!(v1["registrations"], false);
    let (st, _, body) = s.try_register("nobody").await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    assert_valid("Error", &body);
}

#[tokio::test]
async fn registration_approval_gives_a_token_that_waits() {
    let s = TestServer::with_registrations(Registrations::Approval).await;
    let v2 = s.ok("/api/v2/instance", None).await;
    assert_eq!(v2["registrations"]["approval_required"], true);
    let v1 = s.ok("/api/v1/instance", None).await;
    assert_valid("V1Instance", &v1);
    assert_eq!(v1["approval_required"], true);
    let (st, _, tok) = s.try_register("pending").await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    assert_valid("Token", &tok);
    let token = tok["access_token"].as_str().unwrap().to_string();
    let (st, _, body) = s
        .get("/api/v1/accounts/verify_credentials", Some(&token))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    assert_valid("Error", &body);
    let (st, _, _) = s
        .post(
            "/api/v1/statuses",
            Some(&token),
            json!({"status": "let me in"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // The password grant is refused too, until an admin approves.
    let app = s.app().await.clone();
    let grant = json!({
        "grant_type": "password",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "username": "pending@tests.invalid",
        "password": PASSWORD,
    });
    let (st, _, body) = s.post("/oauth/token", None, grant.clone()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    let pending = s
        .kring
        .store
        .account_by_handle("pending", None)
        .await
        .unwrap()
        .expect("account exists");
    s.kring.admin_approve(None, pending.id).await.unwrap();
    let me = s
        .ok("/api/v1/accounts/verify_credentials", Some(&token))
        .await;
    assert_valid("CredentialAccount", &me);
    let (st, _, body) = s.post("/oauth/token", None, grant).await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn registration_validation_errors() {
    let s = TestServer::start().await;
    s.register("taken").await;
    let app = s.app().await.clone();
    for (body, why) in [
        (
            json!({"username": "taken", "email": "x@tests.invalid", "password": PASSWORD, "agreement": true, "locale": "en"}),
            "username taken",
        ),
        (
            json!({"username": "fresh", "email": "taken@tests.invalid", "password": PASSWORD, "agreement": true, "locale": "en"}),
            "email taken",
        ),
        (
            json!({"username": "fresh", "email": "fresh@tests.invalid", "password": "short", "agreement": true, "locale": "en"}),
            "short password",
        ),
        (
            json!({"username": "fresh", "email": "fresh@tests.invalid", "password": PASSWORD, "agreement": false, "locale": "en"}),
            "no agreement",
        ),
        (
            json!({"username": "bad name!", "email": "fresh@tests.invalid", "password": PASSWORD, "agreement": true, "locale": "en"}),
            "bad username",
        ),
        (
            json!({"username": "fresh", "email": "not-an-email", "password": PASSWORD, "agreement": true, "locale": "en"}),
            "bad email",
        ),
    ] {
        let (st, _, b) = s.post("/api/v1/accounts", Some(&app.app_token), body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {b}");
        assert_valid("Error", &b);
    }
    // Signing up needs an app token, not a user's and not none.
    let (st, _, _) = s
        .post(
            "/api/v1/accounts",
            None,
            json!({"username": "fresh", "email": "fresh@tests.invalid", "password": PASSWORD, "agreement": true}),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn credentials_update_form_and_json() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    // Form with Rails brackets.
    let (st, _, me) = s
        .form(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&a.token),
            &[
                ("display_name", "Alice A."),
                ("note", "Hello #world"),
                ("locked", "true"),
                ("bot", "0"),
                ("fields_attributes[0][name]", "Site"),
                ("fields_attributes[0][value]", "https://alice.invalid/"),
                ("fields_attributes[1][name]", "Pronouns"),
                ("fields_attributes[1][value]", "she/her"),
                ("source[privacy]", "unlisted"),
                ("source[language]", "de"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{me}");
    assert_valid("CredentialAccount", &me);
    assert_eq!(me["display_name"], "Alice A.");
    assert_eq!(me["locked"], true);
    assert_eq!(me["bot"], false);
    assert_eq!(me["fields"].as_array().unwrap().len(), 2);
    assert_eq!(me["fields"][0]["name"], "Site");
    assert!(
        me["fields"][0]["value"]
            .as_str()
            .unwrap()
            .contains("<a href=\"https://alice.invalid/\""),
        "{}",
        me["fields"][0]["value"]
    );
    assert_eq!(me["source"]["fields"][1]["value"], "she/her");
    assert_eq!(me["source"]["note"], "Hello #world");
    assert!(me["note"].as_str().unwrap().contains("<p>"));
    assert_eq!(me["source"]["privacy"], "unlisted");
    assert_eq!(me["source"]["language"], "de");
    let prefs = s.ok("/api/v1/preferences", Some(&a.token)).await;
    assert_eq!(prefs["posting:default:visibility"], "unlisted");
    // A post without visibility takes the default.
    let st_ = s.post_status(&a, json!({"status": "default"})).await;
    assert_eq!(st_["visibility"], "unlisted");

    // JSON, fields_attributes as an array; replaces the fields.
    let (st, _, me) = s
        .patch(
            "/api/v1/accounts/update_credentials",
            Some(&a.token),
            json!({
                "display_name": "Alice",
                "locked": false,
                "fields_attributes": [{"name": "Only", "value": "one"}],
                "source": {"privacy": "public", "sensitive": true},
            }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{me}");
    assert_valid("CredentialAccount", &me);
    assert_eq!(me["display_name"], "Alice");
    assert_eq!(me["locked"], false);
    assert_eq!(
        me["fields"],
        json!([{"name": "Only", "value": "one", "verified_at": null}])
    );
    assert_eq!(me["source"]["sensitive"], true);
    // JSON, fields_attributes as an object keyed by index (as some clients send).
    let (st, _, me) = s
        .patch(
            "/api/v1/accounts/update_credentials",
            Some(&a.token),
            json!({"fields_attributes": {"1": {"name": "B", "value": "2"}, "0": {"name": "A", "value": "1"}}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{me}");
    assert_eq!(me["fields"][0]["name"], "A");
    assert_eq!(me["fields"][1]["name"], "B");

    // Too long a display name, too many fields.
    let (st, _, b) = s
        .patch(
            "/api/v1/accounts/update_credentials",
            Some(&a.token),
            json!({"display_name": "x".repeat(31)}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_valid("Error", &b);
    let five: Vec<Value> = (0..5)
        .map(|i| json!({"name": format!("n{i}"), "value": "v"}))
        .collect();
    let (st, _, _) = s
        .patch(
            "/api/v1/accounts/update_credentials",
            Some(&a.token),
            json!({"fields_attributes": five}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

    // Public view of the account; lookup by acct.
    let pub_view = s.ok(&format!("/api/v1/accounts/{}", a.id), None).await;
    assert_valid("Account", &pub_view);
    assert!(pub_view.get("source").is_none());
    let found = s.ok("/api/v1/accounts/lookup?acct=alice", None).await;
    assert_valid("Account", &found);
    assert_eq!(found["id"], a.id);
    let found = s
        .ok(
            &format!("/api/v1/accounts/lookup?acct=alice@127.0.0.1:{}", s.port),
            None,
        )
        .await;
    assert_eq!(found["id"], a.id);
    let (st, _, b) = s.get("/api/v1/accounts/lookup?acct=nobody", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_valid("Error", &b);
}

// --- OAuth ------------------------------------------------------------------------------------

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

/// Log in on the authorize form and return the code from the redirect.
async fn authorize(s: &TestServer, client_id: &str, challenge: &str, state: &str) -> String {
    let (st, headers, body) = s
        .form(
            Method::POST,
            "/oauth/authorize",
            None,
            &[
                ("client_id", client_id),
                ("redirect_uri", REDIRECT_URI),
                ("response_type", "code"),
                ("scope", "read write"),
                ("state", state),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
                ("email", "alice@tests.invalid"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{body}");
    let location = headers["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some(state));
    query_param(&location, "code").expect("code in redirect")
}

#[tokio::test]
async fn oauth_authorization_code_with_pkce() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let app = s.new_app().await;

    // The page renders a form for this app.
    let path = format!(
        "/oauth/authorize?client_id={}&redirect_uri={}&response_type=code&scope=read+write",
        app.client_id,
        urlencode(REDIRECT_URI)
    );
    let res = s.http.get(s.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = res.text().await.unwrap();
    assert!(html.contains("<form"), "{html}");
    assert!(html.contains("kring tests"));
    // Unknown client or redirect URI: no page.
    let (st, _, _) = s
        .get(
            &format!(
                "/oauth/authorize?client_id=nope&redirect_uri={}",
                urlencode(REDIRECT_URI)
            ),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _, _) = s
        .get(
            &format!(
                "/oauth/authorize?client_id={}&redirect_uri=http://evil.invalid/",
                app.client_id
            ),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    // A wrong password re-renders the form, without a code.
    let (st, headers, _) = s
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
    assert!(st.is_client_error(), "{st}");
    assert!(headers.get("location").is_none());

    // Code + PKCE, as a public client (no secret).
    let (verifier, challenge) = pkce_pair();
    let code = authorize(&s, &app.client_id, &challenge, "xyz 1").await;
    let (st, _, tok) = s
        .post(
            "/oauth/token",
            None,
            json!({
                "grant_type": "authorization_code",
                "client_id": app.client_id,
                "redirect_uri": REDIRECT_URI,
                "code": code,
                "code_verifier": verifier,
            }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    assert_valid("Token", &tok);
    assert_eq!(tok["scope"], "read write");
    let token = tok["access_token"].as_str().unwrap();
    let me = s
        .ok("/api/v1/accounts/verify_credentials", Some(token))
        .await;
    assert_eq!(me["id"], alice.id);
    // The token's app is the one that asked.
    let a = s.ok("/api/v1/apps/verify_credentials", Some(token)).await;
    assert_valid("Application", &a);
    assert_eq!(a["name"], "kring tests");
    // A code works once.
    let (st, _, body) = s
        .post(
            "/oauth/token",
            None,
            json!({
                "grant_type": "authorization_code",
                "client_id": app.client_id,
                "redirect_uri": REDIRECT_URI,
                "code": code,
                "code_verifier": verifier,
            }),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");

    // A wrong verifier is refused (and burns the code).
    let (_, challenge) = pkce_pair();
    let code = authorize(&s, &app.client_id, &challenge, "s2").await;
    let (st, _, body) = s
        .post(
            "/oauth/token",
            None,
            json!({
                "grant_type": "authorization_code",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "redirect_uri": REDIRECT_URI,
                "code": code,
                "code_verifier": "not-the-verifier",
            }),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert_valid("Error", &body);
    // Missing verifier with a confidential client: still refused.
    let (_, challenge) = pkce_pair();
    let code = authorize(&s, &app.client_id, &challenge, "s3").await;
    let (st, _, body) = s
        .post(
            "/oauth/token",
            None,
            json!({
                "grant_type": "authorization_code",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "redirect_uri": REDIRECT_URI,
                "code": code,
            }),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn oauth_password_refresh_revoke_and_scopes() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let app = s.app().await.clone();

    // Metadata lists the grants.
    let meta = s.ok("/.well-known/oauth-authorization-server", None).await;
    let grants = meta["grant_types_supported"].as_array().unwrap();
    for g in [
        "password",
        "authorization_code",
        "client_credentials",
        "refresh_token",
    ] {
        assert!(grants.iter().any(|x| x == g), "{g} not in {meta}");
    }
    assert_eq!(meta["token_endpoint"], s.url("/oauth/token"));

    // Password grant (form-encoded, as many clients send it).
    let (st, _, tok) = s
        .form(
            Method::POST,
            "/oauth/token",
            None,
            &[
                ("grant_type", "password"),
                ("client_id", &app.client_id),
                ("client_secret", &app.client_secret),
                ("username", &alice.email),
                ("password", PASSWORD),
                ("scope", "read"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    assert_valid("Token", &tok);
    assert_eq!(tok["scope"], "read");
    let read_only = tok["access_token"].as_str().unwrap().to_string();
    let refresh = tok["refresh_token"].as_str().unwrap().to_string();
    // Wrong password.
    let (st, _, body) = s
        .post(
            "/oauth/token",
            None,
            json!({"grant_type": "password", "client_id": app.client_id, "client_secret": app.client_secret, "username": alice.email, "password": "nope nope nope"}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    // Wrong client secret.
    let (st, _, body) = s
        .post(
            "/oauth/token",
            None,
            json!({"grant_type": "password", "client_id": app.client_id, "client_secret": "wrong", "username": alice.email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    // A scope beyond the app's.
    let (st, _, body) = s
        .post(
            "/oauth/token",
            None,
            json!({"grant_type": "password", "client_id": app.client_id, "client_secret": app.client_secret, "username": alice.email, "password": PASSWORD, "scope": "admin:read"}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_scope");
    // Unknown grant type.
    let (st, _, body) = s
        .post(
            "/oauth/token",
            None,
            json!({"grant_type": "magic", "client_id": app.client_id, "client_secret": app.client_secret}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "unsupported_grant_type");

    // Scopes are enforced: a read token reads but does not write.
    s.ok("/api/v1/timelines/home", Some(&read_only)).await;
    let (st, _, body) = s
        .post(
            "/api/v1/statuses",
            Some(&read_only),
            json!({"status": "nope"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    assert_valid("Error", &body);
    // A narrower token: read:accounts only.
    let narrow = s.token_with_scopes(&alice, "read:accounts").await;
    s.ok("/api/v1/accounts/verify_credentials", Some(&narrow))
        .await;
    let (st, _, _) = s.get("/api/v1/timelines/home", Some(&narrow)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, _) = s.get("/api/v1/notifications", Some(&narrow)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Refresh: the new token works, the old one stops.
    let (st, _, tok2) = s
        .post(
            "/oauth/token",
            None,
            json!({"grant_type": "refresh_token", "client_id": app.client_id, "client_secret": app.client_secret, "refresh_token": refresh}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{tok2}");
    assert_valid("Token", &tok2);
    assert_eq!(tok2["scope"], "read");
    let fresh = tok2["access_token"].as_str().unwrap().to_string();
    assert_ne!(fresh, read_only);
    s.ok("/api/v1/accounts/verify_credentials", Some(&fresh))
        .await;
    let (st, _, _) = s
        .get("/api/v1/accounts/verify_credentials", Some(&read_only))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // A refresh token works once.
    let (st, _, body) = s
        .post(
            "/oauth/token",
            None,
            json!({"grant_type": "refresh_token", "client_id": app.client_id, "client_secret": app.client_secret, "refresh_token": refresh}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");

    // Revoke, then the token is refused.
    let (st, _, body) = s
        .post(
            "/oauth/revoke",
            None,
            json!({"client_id": app.client_id, "client_secret": app.client_secret, "token": fresh}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, _, body) = s
        .get("/api/v1/accounts/verify_credentials", Some(&fresh))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{body}");
    assert_valid("Error", &body);
    // Revoking an unknown token is fine (RFC 7009); with a wrong secret it is not.
    let (st, _, _) = s
        .post(
            "/oauth/revoke",
            None,
            json!({"client_id": app.client_id, "client_secret": app.client_secret, "token": "unknown"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = s
        .post(
            "/oauth/revoke",
            None,
            json!({"client_id": app.client_id, "client_secret": "wrong", "token": alice.token}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    s.ok("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await;

    // HTTP Basic client authentication.
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", app.client_id, app.client_secret));
    let res = s
        .http
        .post(s.url("/oauth/token"))
        .header("authorization", format!("Basic {basic}"))
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let tok: Value = res.json().await.unwrap();
    assert_valid("Token", &tok);
    // A client token is not a user: user endpoints answer 422 (Mastodon's behaviour).
    let (st, _, _) = s
        .get(
            "/api/v1/accounts/verify_credentials",
            tok["access_token"].as_str(),
        )
        .await;
    assert!(st.is_client_error());
}

fn urlencode(s: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", &[("v", s)])
        .unwrap()
        .query()
        .unwrap()
        .trim_start_matches("v=")
        .to_string()
}
