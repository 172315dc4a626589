// SPDX-License-Identifier: AGPL-3.0-or-later
//! The Mastodon client API end to end, over HTTP against a real server: accounts and
//! registration modes, relationships, statuses, timelines and paging, lists, notifications,
//! markers, filters, search, instance, preferences and OAuth. Every entity that comes back is
//! validated against Mastodon's OpenAPI schema.
mod common;

use common::schema::{assert_valid, assert_valid_each};
use common::{PASSWORD, REDIRECT_URI, TestServer, User};
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
    // Each answer names the field and Mastodon's code in `details`, so an app can mark it.
    for (body, why, field, code) in [
        (
            json!({"username": "taken", "email": "x@tests.invalid", "password": PASSWORD, "agreement": true, "locale": "en"}),
            "username taken",
            "username",
            "ERR_TAKEN",
        ),
        (
            json!({"username": "fresh", "email": "taken@tests.invalid", "password": PASSWORD, "agreement": true, "locale": "en"}),
            "email taken",
            "email",
            "ERR_TAKEN",
        ),
        (
            json!({"username": "fresh", "email": "fresh@tests.invalid", "password": "short", "agreement": true, "locale": "en"}),
            "short password",
            "password",
            "ERR_TOO_SHORT",
        ),
        (
            json!({"username": "fresh", "email": "fresh@tests.invalid", "password": PASSWORD, "agreement": false, "locale": "en"}),
            "no agreement",
            "agreement",
            "ERR_ACCEPTED",
        ),
        (
            json!({"username": "bad name!", "email": "fresh@tests.invalid", "password": PASSWORD, "agreement": true, "locale": "en"}),
            "bad username",
            "username",
            "ERR_INVALID",
        ),
        (
            json!({"username": "fresh", "email": "not-an-email", "password": PASSWORD, "agreement": true, "locale": "en"}),
            "bad email",
            "email",
            "ERR_INVALID",
        ),
    ] {
        let (st, _, b) = s.post("/api/v1/accounts", Some(&app.app_token), body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {b}");
        assert_valid("Error", &b);
        assert_valid("ValidationError", &b);
        assert_eq!(b["details"][field][0]["error"], code, "{why}: {b}");
        assert!(
            b["details"][field][0]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{why}: {b}"
        );
        assert_eq!(
            b["details"].as_object().map(|d| d.len()),
            Some(1),
            "{why}: {b}"
        );
    }
    // Every broken rule at once, each under its field, as Mastodon's example.
    let (st, _, b) = s
        .post(
            "/api/v1/accounts",
            Some(&app.app_token),
            json!({"username": "", "email": "", "password": "", "agreement": false, "locale": "en"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_valid("ValidationError", &b);
    assert_eq!(
        b["error"],
        "Validation failed: Username can't be blank, Email can't be blank, Password can't be blank, Agreement must be accepted"
    );
    for (field, code) in [
        ("username", "ERR_BLANK"),
        ("email", "ERR_BLANK"),
        ("password", "ERR_BLANK"),
        ("agreement", "ERR_ACCEPTED"),
    ] {
        assert_eq!(b["details"][field][0]["error"], code, "{field}: {b}");
    }
    let (_, _, b) = s
        .post(
            "/api/v1/accounts",
            Some(&app.app_token),
            json!({"username": "x".repeat(31), "email": "y@tests.invalid", "password": PASSWORD, "agreement": true}),
        )
        .await;
    assert_eq!(b["details"]["username"][0]["error"], "ERR_TOO_LONG", "{b}");
    let (_, _, b) = s
        .post(
            "/api/v1/accounts",
            Some(&app.app_token),
            json!({"username": "admin", "email": "y@tests.invalid", "password": PASSWORD, "agreement": true}),
        )
        .await;
    assert_eq!(b["details"]["username"][0]["error"], "ERR_RESERVED", "{b}");
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

// --- relationships ------------------------------------------------------------------------------

async fn rel(s: &TestServer, viewer: &User, other: &User) -> Value {
    let list = s
        .ok(
            &format!("/api/v1/accounts/relationships?id[]={}", other.id),
            Some(&viewer.token),
        )
        .await;
    assert_valid_each("Relationship", &list);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    list[0].clone()
}

async fn notification_types(s: &TestServer, user: &User, query: &str) -> Vec<String> {
    let list = s
        .ok(&format!("/api/v1/notifications{query}"), Some(&user.token))
        .await;
    assert_valid_each("Notification", &list);
    list.as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn follow_unfollow_and_locked_requests() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let c = s.register("carol").await;

    let r = s.follow(&b, &a).await;
    assert_eq!(r["following"], true);
    assert_eq!(r["showing_reblogs"], true);
    let r = rel(&s, &a, &b).await;
    assert_eq!(r["followed_by"], true);
    assert_eq!(r["following"], false);
    // Several ids at once; unknown ones are left out.
    let list = s
        .ok(
            &format!(
                "/api/v1/accounts/relationships?id[]={}&id[]={}&id[]=12345",
                b.id, c.id
            ),
            Some(&a.token),
        )
        .await;
    assert_valid_each("Relationship", &list);
    assert_eq!(TestServer::ids(&list), vec![b.id.clone(), c.id.clone()]);
    let followers = s
        .ok(&format!("/api/v1/accounts/{}/followers", a.id), None)
        .await;
    assert_valid_each("Account", &followers);
    assert_eq!(TestServer::ids(&followers), vec![b.id.clone()]);
    let following = s
        .ok(&format!("/api/v1/accounts/{}/following", b.id), None)
        .await;
    assert_eq!(TestServer::ids(&following), vec![a.id.clone()]);
    let acct = s.ok(&format!("/api/v1/accounts/{}", a.id), None).await;
    assert_eq!(acct["followers_count"], 1);
    assert_eq!(notification_types(&s, &a, "").await, vec!["follow"]);
    // Following again with options keeps the follow and changes them.
    let r = s
        .ok_post(
            &format!("/api/v1/accounts/{}/follow", a.id),
            Some(&b.token),
            json!({"reblogs": false, "notify": true}),
        )
        .await;
    assert_valid("Relationship", &r);
    assert_eq!(r["showing_reblogs"], false);
    assert_eq!(r["notifying"], true);
    // Nobody follows themselves.
    let (st, _, body) = s
        .post(
            &format!("/api/v1/accounts/{}/follow", a.id),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    let r = s
        .ok_post(
            &format!("/api/v1/accounts/{}/unfollow", a.id),
            Some(&b.token),
            json!({}),
        )
        .await;
    assert_valid("Relationship", &r);
    assert_eq!(r["following"], false);
    let acct = s.ok(&format!("/api/v1/accounts/{}", a.id), None).await;
    assert_eq!(acct["followers_count"], 0);

    // Locked: follows become requests.
    s.patch(
        "/api/v1/accounts/update_credentials",
        Some(&a.token),
        json!({"locked": true}),
    )
    .await;
    let r = s.follow(&b, &a).await;
    assert_eq!(r["following"], false);
    assert_eq!(r["requested"], true);
    let r = s.follow(&c, &a).await;
    assert_eq!(r["requested"], true);
    let reqs = s.ok("/api/v1/follow_requests", Some(&a.token)).await;
    assert_valid_each("Account", &reqs);
    let mut ids = TestServer::ids(&reqs);
    ids.sort();
    let mut want = vec![b.id.clone(), c.id.clone()];
    want.sort();
    assert_eq!(ids, want);
    let me = s
        .ok("/api/v1/accounts/verify_credentials", Some(&a.token))
        .await;
    assert_eq!(me["source"]["follow_requests_count"], 2);
    assert_eq!(rel(&s, &a, &b).await["requested_by"], true);
    let types = notification_types(&s, &a, "?types[]=follow_request").await;
    assert_eq!(types, vec!["follow_request", "follow_request"]);

    let r = s
        .ok_post(
            &format!("/api/v1/follow_requests/{}/authorize", b.id),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_valid("Relationship", &r);
    assert_eq!(r["followed_by"], true);
    assert_eq!(rel(&s, &b, &a).await["following"], true);
    let r = s
        .ok_post(
            &format!("/api/v1/follow_requests/{}/reject", c.id),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_valid("Relationship", &r);
    assert_eq!(r["followed_by"], false);
    let rc = rel(&s, &c, &a).await;
    assert_eq!(rc["following"], false);
    assert_eq!(rc["requested"], false);
    let reqs = s.ok("/api/v1/follow_requests", Some(&a.token)).await;
    assert_eq!(reqs, json!([]));
    // Settled requests leave no follow_request notifications behind.
    let types = notification_types(&s, &a, "?types[]=follow_request").await;
    assert!(types.is_empty(), "{types:?}");
    // Authorizing what was never asked is not found.
    let (st, _, _) = s
        .post(
            &format!("/api/v1/follow_requests/{}/authorize", c.id),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // remove_from_followers: b no longer follows a.
    let r = s
        .ok_post(
            &format!("/api/v1/accounts/{}/remove_from_followers", b.id),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_valid("Relationship", &r);
    assert_eq!(r["followed_by"], false);
    assert_eq!(rel(&s, &b, &a).await["following"], false);
    let followers = s
        .ok(&format!("/api/v1/accounts/{}/followers", a.id), None)
        .await;
    assert_eq!(followers, json!([]));
}

#[tokio::test]
async fn familiar_followers_and_account_search() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let c = s.register("carol").await;
    let d = s.register("dave").await;
    // a follows b and d; b and d follow c: b and d are a's familiar followers of c.
    s.follow(&a, &b).await;
    s.follow(&a, &d).await;
    s.follow(&b, &c).await;
    s.follow(&d, &c).await;
    let ff = s
        .ok(
            &format!(
                "/api/v1/accounts/familiar_followers?id[]={}&id[]={}",
                c.id, b.id
            ),
            Some(&a.token),
        )
        .await;
    assert_valid_each("FamiliarFollowers", &ff);
    assert_eq!(ff[0]["id"], c.id);
    let mut fam = TestServer::ids(&ff[0]["accounts"]);
    fam.sort();
    let mut want = vec![b.id.clone(), d.id.clone()];
    want.sort();
    assert_eq!(fam, want);
    assert_eq!(ff[1]["id"], b.id);
    assert_eq!(ff[1]["accounts"], json!([]));

    let found = s.ok("/api/v1/accounts/search?q=car", Some(&a.token)).await;
    assert_valid_each("Account", &found);
    assert_eq!(TestServer::ids(&found), vec![c.id.clone()]);
    // Prefix search, limited to followed accounts on request.
    let found = s
        .ok(
            "/api/v1/accounts/search?q=da&following=true",
            Some(&a.token),
        )
        .await;
    assert_eq!(TestServer::ids(&found), vec![d.id.clone()]);
    let found = s
        .ok(
            "/api/v1/accounts/search?q=ca&following=true",
            Some(&a.token),
        )
        .await;
    assert_eq!(found, json!([]));
}

#[tokio::test]
async fn block_and_mute_effects() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let c = s.register("carol").await;
    s.follow(&a, &b).await;
    s.follow(&a, &c).await;
    s.follow(&b, &a).await;
    let b1 = s.status(&b, "bob speaks", "public").await;
    let c1 = s.status(&c, "carol speaks", "public").await;
    let home = s.status_ids("/api/v1/timelines/home", Some(&a.token)).await;
    assert!(home.contains(&b1) && home.contains(&c1));

    // Mute c: gone from home and public for a, no notifications from c.
    let r = s
        .ok_post(
            &format!("/api/v1/accounts/{}/mute", c.id),
            Some(&a.token),
            json!({"notifications": true}),
        )
        .await;
    assert_valid("Relationship", &r);
    assert_eq!(r["muting"], true);
    assert_eq!(r["muting_notifications"], true);
    assert_eq!(r["following"], true, "muting keeps the follow");
    let home = s.status_ids("/api/v1/timelines/home", Some(&a.token)).await;
    assert!(home.contains(&b1) && !home.contains(&c1), "{home:?}");
    let public = s
        .status_ids("/api/v1/timelines/public", Some(&a.token))
        .await;
    assert!(!public.contains(&c1));
    // Others still see it.
    let public = s
        .status_ids("/api/v1/timelines/public", Some(&b.token))
        .await;
    assert!(public.contains(&c1));
    s.status(&c, "hey @alice", "public").await;
    let types = notification_types(&s, &a, "?types[]=mention").await;
    assert!(types.is_empty(), "{types:?}");
    let mutes = s.ok("/api/v1/mutes", Some(&a.token)).await;
    assert_valid_each("Account", &mutes);
    assert_eq!(TestServer::ids(&mutes), vec![c.id.clone()]);
    let r = s
        .ok_post(
            &format!("/api/v1/accounts/{}/unmute", c.id),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_eq!(r["muting"], false);
    let home = s.status_ids("/api/v1/timelines/home", Some(&a.token)).await;
    assert!(home.contains(&c1));

    // Block b: follows end both ways, b's posts leave a's timelines, b cannot see a's posts,
    // and b's actions no longer notify a.
    let a1 = s.status(&a, "alice speaks", "public").await;
    let r = s
        .ok_post(
            &format!("/api/v1/accounts/{}/block", b.id),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_valid("Relationship", &r);
    assert_eq!(r["blocking"], true);
    assert_eq!(r["following"], false);
    assert_eq!(r["followed_by"], false);
    let rb = rel(&s, &b, &a).await;
    assert_eq!(rb["blocked_by"], true);
    assert_eq!(rb["following"], false);
    let home = s.status_ids("/api/v1/timelines/home", Some(&a.token)).await;
    assert!(!home.contains(&b1), "{home:?}");
    let public = s
        .status_ids("/api/v1/timelines/public", Some(&a.token))
        .await;
    assert!(!public.contains(&b1));
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{a1}"), Some(&b.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _) = s
        .post(
            &format!("/api/v1/statuses/{a1}/favourite"),
            Some(&b.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _) = s
        .post(
            &format!("/api/v1/accounts/{}/follow", a.id),
            Some(&b.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let before = notification_types(&s, &a, "").await.len();
    s.status(&b, "hey @alice", "public").await;
    assert_eq!(notification_types(&s, &a, "").await.len(), before);
    let blocks = s.ok("/api/v1/blocks", Some(&a.token)).await;
    assert_valid_each("Account", &blocks);
    assert_eq!(TestServer::ids(&blocks), vec![b.id.clone()]);
    let r = s
        .ok_post(
            &format!("/api/v1/accounts/{}/unblock", b.id),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_eq!(r["blocking"], false);
    s.ok(&format!("/api/v1/statuses/{a1}"), Some(&b.token))
        .await;
}

// --- statuses --------------------------------------------------------------------------------

#[tokio::test]
async fn status_create_idempotency_get_context_and_delete() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;

    // The same Idempotency-Key gives the same status back.
    let post = |key: &'static str| {
        let s = &s;
        let token = a.token.clone();
        async move {
            let res = s
                .http
                .post(s.url("/api/v1/statuses"))
                .bearer_auth(token)
                .header("Idempotency-Key", key)
                .json(&json!({"status": "once #only", "visibility": "public", "language": "en", "spoiler_text": "cw"}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<Value>().await.unwrap()
        }
    };
    let first = post("key-1").await;
    assert_valid("Status", &first);
    let again = post("key-1").await;
    assert_eq!(first["id"], again["id"]);
    let other = post("key-2").await;
    assert_ne!(first["id"], other["id"]);
    assert_eq!(first["visibility"], "public");
    assert_eq!(first["language"], "en");
    assert_eq!(first["spoiler_text"], "cw");
    assert_eq!(
        first["sensitive"], true,
        "a content warning makes it sensitive"
    );
    assert_eq!(first["tags"][0]["name"], "only");
    assert_eq!(first["application"]["name"], "kring tests");
    assert_eq!(first["account"]["id"], a.id);
    let acct = s.ok(&format!("/api/v1/accounts/{}", a.id), None).await;
    assert_eq!(acct["statuses_count"], 2);

    // Form-encoded posting works too.
    let (st, _, f) = s
        .form(
            Method::POST,
            "/api/v1/statuses",
            Some(&a.token),
            &[
                ("status", "from a form"),
                ("visibility", "unlisted"),
                ("sensitive", "true"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{f}");
    assert_valid("Status", &f);
    assert_eq!(f["visibility"], "unlisted");
    assert_eq!(f["sensitive"], true);

    // Signed out and signed in, by id.
    let id = first["id"].as_str().unwrap();
    let got = s.ok(&format!("/api/v1/statuses/{id}"), None).await;
    assert_valid("Status", &got);
    assert!(
        got.get("favourited").is_none(),
        "no viewer, no viewer flags"
    );
    let got = s
        .ok(&format!("/api/v1/statuses/{id}"), Some(&b.token))
        .await;
    assert_eq!(got["favourited"], false);

    // A thread of three: a → b replies → a replies to b.
    let root = s.status(&a, "root", "public").await;
    let mid = s
        .post_status(
            &b,
            json!({"status": "@alice middle", "in_reply_to_id": root}),
        )
        .await;
    assert_eq!(mid["in_reply_to_id"], root.as_str());
    assert_eq!(mid["in_reply_to_account_id"], a.id.as_str());
    assert_eq!(mid["mentions"][0]["id"], a.id.as_str());
    let mid = mid["id"].as_str().unwrap().to_string();
    let leaf = s
        .post_status(&a, json!({"status": "leaf", "in_reply_to_id": mid}))
        .await;
    let leaf = leaf["id"].as_str().unwrap().to_string();
    for token in [None, Some(b.token.as_str())] {
        let ctx = s
            .ok(&format!("/api/v1/statuses/{mid}/context"), token)
            .await;
        assert_valid("Context", &ctx);
        assert_eq!(TestServer::ids(&ctx["ancestors"]), vec![root.clone()]);
        assert_eq!(TestServer::ids(&ctx["descendants"]), vec![leaf.clone()]);
    }
    let ctx = s
        .ok(&format!("/api/v1/statuses/{root}/context"), None)
        .await;
    assert_eq!(ctx["ancestors"], json!([]));
    assert_eq!(
        TestServer::ids(&ctx["descendants"]),
        vec![mid.clone(), leaf.clone()]
    );
    let root_s = s.ok(&format!("/api/v1/statuses/{root}"), None).await;
    assert_eq!(root_s["replies_count"], 1);
    // Replying to something that does not exist.
    let (st, _, body) = s
        .post(
            "/api/v1/statuses",
            Some(&a.token),
            json!({"status": "to nothing", "in_reply_to_id": "999999"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Delete: the status comes back with its text; then it is gone, and only its author may.
    let (st, _, _) = s
        .delete(&format!("/api/v1/statuses/{leaf}"), Some(&b.token))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, del) = s
        .delete(&format!("/api/v1/statuses/{leaf}"), Some(&a.token))
        .await;
    assert_eq!(st, StatusCode::OK, "{del}");
    assert_valid("Status", &del);
    assert_eq!(del["text"], "leaf");
    assert_eq!(del["in_reply_to_id"], mid.as_str());
    // "Delete and redraft" gets the post as it was shown: its mentions and tags too.
    let tagged = s
        .status(&a, &format!("@{} see #redraft", b.username), "public")
        .await;
    let (st, _, del) = s
        .delete(&format!("/api/v1/statuses/{tagged}"), Some(&a.token))
        .await;
    assert_eq!(st, StatusCode::OK, "{del}");
    assert_valid("Status", &del);
    assert_eq!(del["mentions"][0]["id"], b.id.as_str(), "{del}");
    assert_eq!(del["tags"][0]["name"], "redraft", "{del}");
    assert_eq!(del["favourited"], false);
    let (st, _, body) = s.get(&format!("/api/v1/statuses/{leaf}"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_valid("Error", &body);
    let ctx = s.ok(&format!("/api/v1/statuses/{mid}/context"), None).await;
    assert_eq!(ctx["descendants"], json!([]));
    let (st, _, _) = s
        .delete(&format!("/api/v1/statuses/{leaf}"), Some(&a.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn status_edit_history_and_source() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let id = s.status(&a, "first version", "public").await;
    let hist = s.ok(&format!("/api/v1/statuses/{id}/history"), None).await;
    assert_valid_each("StatusEdit", &hist);
    assert_eq!(hist.as_array().unwrap().len(), 1);

    let (st, _, edited) = s
        .put(
            &format!("/api/v1/statuses/{id}"),
            Some(&a.token),
            json!({"status": "second version #edited", "spoiler_text": "now with cw"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{edited}");
    assert_valid("Status", &edited);
    assert!(edited["edited_at"].is_string());
    assert!(
        edited["content"]
            .as_str()
            .unwrap()
            .contains("second version")
    );
    assert_eq!(edited["spoiler_text"], "now with cw");
    assert_eq!(edited["tags"][0]["name"], "edited");
    let got = s.ok(&format!("/api/v1/statuses/{id}"), None).await;
    assert_eq!(got["edited_at"], edited["edited_at"]);

    let hist = s
        .ok(&format!("/api/v1/statuses/{id}/history"), Some(&b.token))
        .await;
    assert_valid_each("StatusEdit", &hist);
    let hist = hist.as_array().unwrap();
    assert_eq!(hist.len(), 2, "{hist:?}");
    assert!(
        hist[0]["content"]
            .as_str()
            .unwrap()
            .contains("first version")
    );
    assert!(
        hist[1]["content"]
            .as_str()
            .unwrap()
            .contains("second version")
    );

    let src = s
        .ok(&format!("/api/v1/statuses/{id}/source"), Some(&a.token))
        .await;
    assert_valid("StatusSource", &src);
    assert_eq!(src["id"], id.as_str());
    assert_eq!(src["text"], "second version #edited");
    assert_eq!(src["spoiler_text"], "now with cw");

    // Only the author edits; an empty edit is refused.
    let (st, _, _) = s
        .put(
            &format!("/api/v1/statuses/{id}"),
            Some(&b.token),
            json!({"status": "hijack"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{id}/source"), Some(&b.token))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, body) = s
        .put(
            &format!("/api/v1/statuses/{id}"),
            Some(&a.token),
            json!({"status": "  "}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test]
async fn favourite_reblog_bookmark_pin() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let c = s.register("carol").await;
    s.follow(&c, &b).await;
    let id = s.status(&a, "likeable", "public").await;

    let f = s
        .ok_post(
            &format!("/api/v1/statuses/{id}/favourite"),
            Some(&b.token),
            json!({}),
        )
        .await;
    assert_valid("Status", &f);
    assert_eq!(f["favourited"], true);
    assert_eq!(f["favourites_count"], 1);
    // Twice is still once.
    let f = s
        .ok_post(
            &format!("/api/v1/statuses/{id}/favourite"),
            Some(&b.token),
            json!({}),
        )
        .await;
    assert_eq!(f["favourites_count"], 1);
    let by = s
        .ok(&format!("/api/v1/statuses/{id}/favourited_by"), None)
        .await;
    assert_valid_each("Account", &by);
    assert_eq!(TestServer::ids(&by), vec![b.id.clone()]);
    let favs = s.ok("/api/v1/favourites", Some(&b.token)).await;
    assert_valid_each("Status", &favs);
    assert_eq!(TestServer::ids(&favs), vec![id.clone()]);

    let r = s
        .ok_post(
            &format!("/api/v1/statuses/{id}/reblog"),
            Some(&b.token),
            json!({}),
        )
        .await;
    assert_valid("Status", &r);
    assert_eq!(r["reblog"]["id"], id.as_str());
    assert_eq!(r["reblog"]["reblogged"], true);
    assert_eq!(r["reblog"]["reblogs_count"], 1);
    let boost_id = r["id"].as_str().unwrap().to_string();
    // Reblogging again returns the same boost.
    let r2 = s
        .ok_post(
            &format!("/api/v1/statuses/{id}/reblog"),
            Some(&b.token),
            json!({}),
        )
        .await;
    assert_eq!(r2["id"], boost_id.as_str());
    let by = s
        .ok(&format!("/api/v1/statuses/{id}/reblogged_by"), None)
        .await;
    assert_valid_each("Account", &by);
    assert_eq!(TestServer::ids(&by), vec![b.id.clone()]);
    // c follows b and sees the boost in home.
    let home = s.ok("/api/v1/timelines/home", Some(&c.token)).await;
    assert_valid_each("Status", &home);
    assert_eq!(home[0]["id"], boost_id.as_str());
    assert_eq!(home[0]["reblog"]["id"], id.as_str());
    // The boost, fetched by id, carries the original.
    let got = s.ok(&format!("/api/v1/statuses/{boost_id}"), None).await;
    assert_valid("Status", &got);
    assert_eq!(got["reblog"]["id"], id.as_str());

    let bm = s
        .ok_post(
            &format!("/api/v1/statuses/{id}/bookmark"),
            Some(&b.token),
            json!({}),
        )
        .await;
    assert_valid("Status", &bm);
    let got = s
        .ok(&format!("/api/v1/statuses/{id}"), Some(&b.token))
        .await;
    assert_eq!(got["bookmarked"], true);
    let marks = s.ok("/api/v1/bookmarks", Some(&b.token)).await;
    assert_valid_each("Status", &marks);
    assert_eq!(TestServer::ids(&marks), vec![id.clone()]);

    // Author notifications: favourite and reblog.
    let types = notification_types(&s, &a, "").await;
    assert_eq!(types, vec!["reblog", "favourite"]);

    // Pins: own statuses only, shown with pinned=true.
    let p = s
        .ok_post(
            &format!("/api/v1/statuses/{id}/pin"),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_valid("Status", &p);
    let got = s
        .ok(&format!("/api/v1/statuses/{id}"), Some(&a.token))
        .await;
    assert_eq!(got["pinned"], true);
    let pinned = s
        .status_ids(
            &format!("/api/v1/accounts/{}/statuses?pinned=true", a.id),
            None,
        )
        .await;
    assert_eq!(pinned, vec![id.clone()]);
    let (st, _, _) = s
        .post(
            &format!("/api/v1/statuses/{id}/pin"),
            Some(&b.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Undo everything.
    let u = s
        .ok_post(
            &format!("/api/v1/statuses/{id}/unfavourite"),
            Some(&b.token),
            json!({}),
        )
        .await;
    assert_valid("Status", &u);
    assert_eq!(u["favourited"], false);
    assert_eq!(u["favourites_count"], 0);
    let u = s
        .ok_post(
            &format!("/api/v1/statuses/{id}/unreblog"),
            Some(&b.token),
            json!({}),
        )
        .await;
    assert_valid("Status", &u);
    assert_eq!(u["reblogged"], false);
    assert_eq!(u["reblogs_count"], 0);
    let (st, _, _) = s.get(&format!("/api/v1/statuses/{boost_id}"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    s.ok_post(
        &format!("/api/v1/statuses/{id}/unbookmark"),
        Some(&b.token),
        json!({}),
    )
    .await;
    assert_eq!(s.ok("/api/v1/bookmarks", Some(&b.token)).await, json!([]));
    assert_eq!(s.ok("/api/v1/favourites", Some(&b.token)).await, json!([]));
    s.ok_post(
        &format!("/api/v1/statuses/{id}/unpin"),
        Some(&a.token),
        json!({}),
    )
    .await;
    let pinned = s
        .status_ids(
            &format!("/api/v1/accounts/{}/statuses?pinned=true", a.id),
            None,
        )
        .await;
    assert!(pinned.is_empty());
    // Undoing favourite/boost removed their notifications.
    assert!(notification_types(&s, &a, "").await.is_empty());
}

// --- timelines and paging -------------------------------------------------------------------

fn num(id: &str) -> i64 {
    id.parse().expect("numeric id")
}

/// Walk a timeline with `limit` through its Link `next` headers; check every page is
/// strictly newest first and pages do not overlap; return all ids.
async fn walk(s: &TestServer, first: &str, token: Option<&str>, limit: usize) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    let mut path = first.to_string();
    for _ in 0..100 {
        let (st, headers, body) = s.get(&path, token).await;
        assert_eq!(st, StatusCode::OK, "{path}: {body}");
        assert_valid_each("Status", &body);
        let ids = TestServer::ids(&body);
        assert!(ids.len() <= limit, "{path}: {} > {limit}", ids.len());
        for w in ids.windows(2) {
            assert!(num(&w[0]) > num(&w[1]), "{path}: not newest first: {ids:?}");
        }
        if let (Some(prev_last), Some(first)) = (all.last(), ids.first()) {
            assert!(num(prev_last) > num(first), "{path}: pages overlap");
        }
        if ids.is_empty() {
            assert!(
                common::links(&headers).is_empty(),
                "no Link on an empty page"
            );
            return all;
        }
        all.extend(ids);
        let next = common::link_path(&headers, "next", &s.base).expect("next link");
        assert!(next.contains("max_id="), "{next}");
        assert!(
            common::link_path(&headers, "prev", &s.base)
                .unwrap()
                .contains("min_id="),
        );
        path = if next.contains("limit=") {
            next
        } else {
            format!("{next}&limit={limit}")
        };
    }
    panic!("paging did not end");
}

#[tokio::test]
async fn timelines_and_paging() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let c = s.register("carol").await;
    s.follow(&a, &b).await;
    // 23 posts by b (some unlisted: home and account only), 2 by c (not followed).
    let mut posted: Vec<String> = Vec::new();
    for i in 0..23 {
        let vis = if i % 5 == 0 { "unlisted" } else { "public" };
        posted.push(s.status(&b, &format!("post {i} #paging"), vis).await);
    }
    let c1 = s.status(&c, "carol #paging", "public").await;
    posted.reverse(); // newest first
    let public_posted: Vec<String> = posted
        .iter()
        .enumerate()
        .filter(|(i, _)| (22 - i) % 5 != 0)
        .map(|(_, id)| id.clone())
        .collect();

    // Home: everything b posted, none of c's, walked in pages of 7.
    let home = walk(&s, "/api/v1/timelines/home?limit=7", Some(&a.token), 7).await;
    assert_eq!(home, posted);
    // Default and maximum page sizes.
    let page = s.status_ids("/api/v1/timelines/home", Some(&a.token)).await;
    assert_eq!(page.len(), 20);
    let page = s
        .status_ids("/api/v1/timelines/home?limit=1000", Some(&a.token))
        .await;
    assert_eq!(page.len(), 23, "capped at 40, there are 23");
    assert_eq!(page, posted);

    // max_id / since_id / min_id against the known order.
    let pivot = &posted[10];
    let older = s
        .status_ids(
            &format!("/api/v1/timelines/home?max_id={pivot}&limit=5"),
            Some(&a.token),
        )
        .await;
    assert_eq!(older, posted[11..16].to_vec());
    let since = s
        .status_ids(
            &format!("/api/v1/timelines/home?since_id={pivot}&limit=5"),
            Some(&a.token),
        )
        .await;
    assert_eq!(
        since,
        posted[0..5].to_vec(),
        "since_id: the newest after the pivot"
    );
    let min = s
        .status_ids(
            &format!("/api/v1/timelines/home?min_id={pivot}&limit=5"),
            Some(&a.token),
        )
        .await;
    assert_eq!(
        min,
        posted[5..10].to_vec(),
        "min_id: right after the pivot, newest first"
    );
    let between = s
        .status_ids(
            &format!(
                "/api/v1/timelines/home?max_id={}&since_id={}",
                posted[3], posted[8]
            ),
            Some(&a.token),
        )
        .await;
    assert_eq!(between, posted[4..8].to_vec());
    // The prev link of a page leads to the page before it.
    let (_, headers, _) = s
        .get(
            &format!("/api/v1/timelines/home?max_id={pivot}&limit=5"),
            Some(&a.token),
        )
        .await;
    let prev = common::link_path(&headers, "prev", &s.base).unwrap();
    let before = s
        .status_ids(&format!("{prev}&limit=5"), Some(&a.token))
        .await;
    assert_eq!(before, posted[6..11].to_vec());

    // A list of b: the same posts, paged the same way.
    let l = s
        .ok_post("/api/v1/lists", Some(&a.token), json!({"title": "b"}))
        .await;
    let lid = l["id"].as_str().unwrap().to_string();
    s.ok_post(
        &format!("/api/v1/lists/{lid}/accounts"),
        Some(&a.token),
        json!({"account_ids": [b.id]}),
    )
    .await;
    let list = walk(
        &s,
        &format!("/api/v1/timelines/list/{lid}?limit=6"),
        Some(&a.token),
        6,
    )
    .await;
    assert_eq!(list, posted);

    // Public (all and local): only public posts, c's too.
    let mut want = public_posted.clone();
    want.insert(0, c1.clone());
    let public = walk(&s, "/api/v1/timelines/public?limit=6", None, 6).await;
    assert_eq!(public, want);
    let (_, headers, _) = s
        .get("/api/v1/timelines/public?local=true&limit=3", None)
        .await;
    let next = common::link_path(&headers, "next", &s.base).unwrap();
    assert!(next.contains("local=true"), "{next}");
    let local = walk(
        &s,
        "/api/v1/timelines/public?local=true&limit=4",
        Some(&b.token),
        4,
    )
    .await;
    assert_eq!(local, want);
    let remote = s
        .status_ids("/api/v1/timelines/public?remote=true", None)
        .await;
    assert!(remote.is_empty());

    // Hashtag: public posts with the tag, any case.
    let tag = walk(&s, "/api/v1/timelines/tag/paging?limit=9", None, 9).await;
    assert_eq!(tag, want);
    let tag = s
        .status_ids("/api/v1/timelines/tag/PAGING?limit=40", Some(&a.token))
        .await;
    assert_eq!(tag, want);
    let none = s.status_ids("/api/v1/timelines/tag/nothing", None).await;
    assert!(none.is_empty());

    // Account statuses: unlisted included; with filters.
    let acct = walk(
        &s,
        &format!("/api/v1/accounts/{}/statuses?limit=8", b.id),
        None,
        8,
    )
    .await;
    assert_eq!(acct, posted);
    let reply = s
        .post_status(
            &b,
            json!({"status": "a reply to carol", "in_reply_to_id": c1}),
        )
        .await;
    let no_replies = s
        .status_ids(
            &format!(
                "/api/v1/accounts/{}/statuses?exclude_replies=true&limit=1",
                b.id
            ),
            None,
        )
        .await;
    assert_eq!(no_replies, vec![posted[0].clone()]);
    let with = s
        .status_ids(&format!("/api/v1/accounts/{}/statuses?limit=1", b.id), None)
        .await;
    assert_eq!(with, vec![reply["id"].as_str().unwrap().to_string()]);
    let tagged = s
        .status_ids(
            &format!("/api/v1/accounts/{}/statuses?tagged=paging&limit=40", b.id),
            None,
        )
        .await;
    assert_eq!(tagged, posted);

    // Signed-out visitors get no home.
    let (st, _, body) = s.get("/api/v1/timelines/home", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_valid("Error", &body);
}

// --- lists ------------------------------------------------------------------------------------

#[tokio::test]
async fn lists_crud_members_and_timeline() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let c = s.register("carol").await;
    let d = s.register("dave").await;
    s.follow(&a, &b).await;
    s.follow(&a, &c).await;

    let l = s
        .ok_post("/api/v1/lists", Some(&a.token), json!({"title": "Friends"}))
        .await;
    assert_valid("List", &l);
    assert_eq!(l["title"], "Friends");
    assert_eq!(l["replies_policy"], "list");
    assert_eq!(l["exclusive"], false);
    let lid = l["id"].as_str().unwrap().to_string();
    let (st, _, body) = s
        .post("/api/v1/lists", Some(&a.token), json!({"title": ""}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let (st, _, upd) = s
        .put(
            &format!("/api/v1/lists/{lid}"),
            Some(&a.token),
            json!({"title": "Close friends", "replies_policy": "followed", "exclusive": true}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{upd}");
    assert_valid("List", &upd);
    assert_eq!(upd["title"], "Close friends");
    assert_eq!(upd["replies_policy"], "followed");
    assert_eq!(upd["exclusive"], true);
    let all = s.ok("/api/v1/lists", Some(&a.token)).await;
    assert_valid_each("List", &all);
    assert_eq!(TestServer::ids(&all), vec![lid.clone()]);
    let one = s.ok(&format!("/api/v1/lists/{lid}"), Some(&a.token)).await;
    assert_valid("List", &one);
    // Lists are private to their owner.
    let (st, _, _) = s.get(&format!("/api/v1/lists/{lid}"), Some(&b.token)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Members: only followed accounts (form brackets and JSON both work).
    let (st, _, body) = s
        .form(
            Method::POST,
            &format!("/api/v1/lists/{lid}/accounts"),
            Some(&a.token),
            &[("account_ids[]", &b.id)],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    s.ok_post(
        &format!("/api/v1/lists/{lid}/accounts"),
        Some(&a.token),
        json!({"account_ids": [c.id]}),
    )
    .await;
    let (st, _, body) = s
        .post(
            &format!("/api/v1/lists/{lid}/accounts"),
            Some(&a.token),
            json!({"account_ids": [d.id]}),
        )
        .await;
    assert!(st.is_client_error(), "{st} {body}");
    let members = s
        .ok(&format!("/api/v1/lists/{lid}/accounts"), Some(&a.token))
        .await;
    assert_valid_each("Account", &members);
    let mut got = TestServer::ids(&members);
    got.sort();
    let mut want = vec![b.id.clone(), c.id.clone()];
    want.sort();
    assert_eq!(got, want);
    let with_b = s
        .ok(&format!("/api/v1/accounts/{}/lists", b.id), Some(&a.token))
        .await;
    assert_valid_each("List", &with_b);
    assert_eq!(TestServer::ids(&with_b), vec![lid.clone()]);

    let b1 = s.status(&b, "from bob", "public").await;
    let c1 = s.status(&c, "from carol", "private").await;
    let d1 = s.status(&d, "from dave", "public").await;
    let tl = s
        .status_ids(&format!("/api/v1/timelines/list/{lid}"), Some(&a.token))
        .await;
    assert_eq!(tl, vec![c1.clone(), b1.clone()]);
    assert!(!tl.contains(&d1));

    let (st, _, _) = s
        .delete_json(
            &format!("/api/v1/lists/{lid}/accounts"),
            Some(&a.token),
            json!({"account_ids": [c.id]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let members = s
        .ok(&format!("/api/v1/lists/{lid}/accounts"), Some(&a.token))
        .await;
    assert_eq!(TestServer::ids(&members), vec![b.id.clone()]);
    // Unfollowing removes from the owner's lists.
    s.ok_post(
        &format!("/api/v1/accounts/{}/unfollow", b.id),
        Some(&a.token),
        json!({}),
    )
    .await;
    let members = s
        .ok(&format!("/api/v1/lists/{lid}/accounts"), Some(&a.token))
        .await;
    assert_eq!(members, json!([]));

    let (st, _, _) = s
        .delete(&format!("/api/v1/lists/{lid}"), Some(&a.token))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = s.get(&format!("/api/v1/lists/{lid}"), Some(&a.token)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _) = s
        .get(&format!("/api/v1/timelines/list/{lid}"), Some(&a.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

// --- notifications and markers ----------------------------------------------------------------

#[tokio::test]
async fn notifications_list_filter_get_dismiss_clear() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let c = s.register("carol").await;
    let post = s.status(&a, "notice me", "public").await;
    s.follow(&b, &a).await;
    s.status(&b, "hi @alice", "public").await;
    s.ok_post(
        &format!("/api/v1/statuses/{post}/favourite"),
        Some(&b.token),
        json!({}),
    )
    .await;
    s.ok_post(
        &format!("/api/v1/statuses/{post}/reblog"),
        Some(&c.token),
        json!({}),
    )
    .await;

    let (st, headers, all) = s.get("/api/v1/notifications", Some(&a.token)).await;
    assert_eq!(st, StatusCode::OK);
    assert_valid_each("Notification", &all);
    let types: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["reblog", "favourite", "mention", "follow"]);
    assert!(common::link_path(&headers, "next", &s.base).is_some());
    for n in all.as_array().unwrap() {
        match n["type"].as_str().unwrap() {
            "follow" => assert!(n.get("status").is_none() || n["status"].is_null()),
            _ => assert!(n["status"].is_object(), "{n}"),
        }
    }
    assert_eq!(all[0]["account"]["id"], c.id.as_str());
    assert_eq!(all[0]["status"]["id"], post.as_str());

    assert_eq!(
        notification_types(&s, &a, "?types[]=mention").await,
        vec!["mention"]
    );
    assert_eq!(
        notification_types(&s, &a, "?types[]=mention&types[]=follow").await,
        vec!["mention", "follow"]
    );
    assert_eq!(
        notification_types(&s, &a, "?exclude_types[]=follow&exclude_types[]=favourite").await,
        vec!["reblog", "mention"]
    );
    // Types from newer Mastodon versions are ignored, not errors.
    assert!(
        notification_types(&s, &a, "?types[]=severed_relationships")
            .await
            .is_empty()
    );
    assert_eq!(
        notification_types(&s, &a, &format!("?account_id={}", c.id)).await,
        vec!["reblog"]
    );
    // Paging: one at a time through the Link header.
    let (_, headers, page) = s.get("/api/v1/notifications?limit=1", Some(&a.token)).await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    let next = common::link_path(&headers, "next", &s.base).unwrap();
    let (_, _, page2) = s.get(&format!("{next}&limit=1"), Some(&a.token)).await;
    assert_eq!(page2[0]["type"], "favourite");

    let count = s
        .ok("/api/v1/notifications/unread_count", Some(&a.token))
        .await;
    assert_eq!(count["count"], 4);

    let id = all[1]["id"].as_str().unwrap().to_string();
    let one = s
        .ok(&format!("/api/v1/notifications/{id}"), Some(&a.token))
        .await;
    assert_valid("Notification", &one);
    assert_eq!(one["type"], "favourite");
    // Someone else's notification does not exist for them.
    let (st, _, _) = s
        .get(&format!("/api/v1/notifications/{id}"), Some(&b.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _) = s
        .post(
            &format!("/api/v1/notifications/{id}/dismiss"),
            Some(&b.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    s.ok_post(
        &format!("/api/v1/notifications/{id}/dismiss"),
        Some(&a.token),
        json!({}),
    )
    .await;
    let (st, _, _) = s
        .get(&format!("/api/v1/notifications/{id}"), Some(&a.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(notification_types(&s, &a, "").await.len(), 3);
    s.ok_post("/api/v1/notifications/clear", Some(&a.token), json!({}))
        .await;
    assert!(notification_types(&s, &a, "").await.is_empty());
    // b's own notifications were untouched by a's clear... b had none; c got none either.
    assert!(notification_types(&s, &c, "").await.is_empty());
}

#[tokio::test]
async fn markers_save_and_read() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    assert_eq!(s.ok("/api/v1/markers", Some(&a.token)).await, json!({}));
    let m = s
        .ok_post(
            "/api/v1/markers",
            Some(&a.token),
            json!({"home": {"last_read_id": "100"}, "notifications": {"last_read_id": "7"}}),
        )
        .await;
    assert_valid("Marker", &m["home"]);
    assert_valid("Marker", &m["notifications"]);
    assert_eq!(m["home"]["last_read_id"], "100");
    assert_eq!(m["notifications"]["last_read_id"], "7");
    let v1 = m["home"]["version"].as_i64().unwrap();
    // Form-encoded update of one timeline bumps its version.
    let (st, _, m2) = s
        .form(
            Method::POST,
            "/api/v1/markers",
            Some(&a.token),
            &[("home[last_read_id]", "200")],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m2}");
    assert_eq!(m2["home"]["last_read_id"], "200");
    assert!(m2["home"]["version"].as_i64().unwrap() > v1);
    assert_eq!(m2["notifications"]["last_read_id"], "7");
    let only = s
        .ok("/api/v1/markers?timeline[]=home", Some(&a.token))
        .await;
    assert_valid("Marker", &only["home"]);
    assert!(only.get("notifications").is_none(), "{only}");
    let (st, _, _) = s
        .post(
            "/api/v1/markers",
            Some(&a.token),
            json!({"home": {"last_read_id": "not a number"}}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
}

// --- filters ------------------------------------------------------------------------------------

#[tokio::test]
async fn filters_crud_and_effect_on_timelines() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    s.follow(&a, &b).await;
    let spoiler = s.status(&b, "the big Spoiler is here", "public").await;
    let plain = s.status(&b, "nothing to see", "public").await;

    let f = s
        .ok_post(
            "/api/v2/filters",
            Some(&a.token),
            json!({
                "title": "Spoilers",
                "context": ["home", "public"],
                "filter_action": "warn",
                "keywords_attributes": [{"keyword": "spoiler", "whole_word": true}],
            }),
        )
        .await;
    assert_valid("Filter", &f);
    assert_eq!(f["filter_action"], "warn");
    assert_eq!(f["context"], json!(["home", "public"]));
    assert_eq!(f["keywords"][0]["keyword"], "spoiler");
    let fid = f["id"].as_str().unwrap().to_string();

    // warn: the status comes with `filtered`.
    let home = s.ok("/api/v1/timelines/home", Some(&a.token)).await;
    assert_valid_each("Status", &home);
    let hit = home
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == spoiler.as_str())
        .expect("warned status is still in home");
    let filtered = hit["filtered"].as_array().unwrap();
    assert_eq!(filtered.len(), 1, "{hit}");
    assert_valid("FilterResult", &filtered[0]);
    assert_eq!(filtered[0]["filter"]["id"], fid.as_str());
    assert_eq!(filtered[0]["keyword_matches"], json!(["spoiler"]));
    let other = home
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == plain.as_str())
        .unwrap();
    assert_eq!(other["filtered"], json!([]));
    // Not in a context the filter has: thread.
    let got = s
        .ok(&format!("/api/v1/statuses/{spoiler}"), Some(&a.token))
        .await;
    assert!(
        got["filtered"].as_array().is_none_or(|f| f.is_empty()),
        "{got}"
    );

    // Keywords and statuses sub-resources.
    let kw = s
        .ok_post(
            &format!("/api/v2/filters/{fid}/keywords"),
            Some(&a.token),
            json!({"keyword": "leak", "whole_word": false}),
        )
        .await;
    assert_valid("FilterKeyword", &kw);
    assert_eq!(kw["whole_word"], false);
    let kws = s
        .ok(&format!("/api/v2/filters/{fid}/keywords"), Some(&a.token))
        .await;
    assert_valid_each("FilterKeyword", &kws);
    assert_eq!(kws.as_array().unwrap().len(), 2);
    let fs = s
        .ok_post(
            &format!("/api/v2/filters/{fid}/statuses"),
            Some(&a.token),
            json!({"status_id": plain}),
        )
        .await;
    assert_valid("FilterStatus", &fs);
    assert_eq!(fs["status_id"], plain.as_str());
    let fss = s
        .ok(&format!("/api/v2/filters/{fid}/statuses"), Some(&a.token))
        .await;
    assert_valid_each("FilterStatus", &fss);

    // hide: matching statuses leave home (the keyword one and the filtered status).
    let (st, _, upd) = s
        .put(
            &format!("/api/v2/filters/{fid}"),
            Some(&a.token),
            json!({"filter_action": "hide", "title": "Spoilers!"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{upd}");
    assert_valid("Filter", &upd);
    assert_eq!(upd["filter_action"], "hide");
    assert_eq!(upd["title"], "Spoilers!");
    let home = s.status_ids("/api/v1/timelines/home", Some(&a.token)).await;
    assert!(!home.contains(&spoiler), "{home:?}");
    assert!(!home.contains(&plain), "{home:?}");
    let public = s
        .status_ids("/api/v1/timelines/public", Some(&a.token))
        .await;
    assert!(!public.contains(&spoiler));
    // Others are unaffected.
    let public = s
        .status_ids("/api/v1/timelines/public", Some(&b.token))
        .await;
    assert!(public.contains(&spoiler));

    // Remove a keyword by _destroy; list; get; delete.
    let f = s
        .ok(&format!("/api/v2/filters/{fid}"), Some(&a.token))
        .await;
    assert_valid("Filter", &f);
    let kid = f["keywords"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["keyword"] == "spoiler")
        .unwrap()["id"]
        .clone();
    let (st, _, upd) = s
        .put(
            &format!("/api/v2/filters/{fid}"),
            Some(&a.token),
            json!({"keywords_attributes": [{"id": kid, "_destroy": true}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{upd}");
    assert_eq!(upd["keywords"].as_array().unwrap().len(), 1);
    let all = s.ok("/api/v2/filters", Some(&a.token)).await;
    assert_valid_each("Filter", &all);
    assert_eq!(TestServer::ids(&all), vec![fid.clone()]);
    let (st, _, _) = s
        .get(&format!("/api/v2/filters/{fid}"), Some(&b.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, body) = s
        .post(
            "/api/v2/filters",
            Some(&a.token),
            json!({"title": "x", "context": ["nowhere"]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (st, _, _) = s
        .delete(&format!("/api/v2/filters/{fid}"), Some(&a.token))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = s
        .get(&format!("/api/v2/filters/{fid}"), Some(&a.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let home = s.status_ids("/api/v1/timelines/home", Some(&a.token)).await;
    assert!(home.contains(&spoiler) && home.contains(&plain));
}

// --- search ------------------------------------------------------------------------------------

#[tokio::test]
async fn search_accounts_hashtags_and_own_statuses() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let mine = s
        .status(&a, "thinking about #RustLang and unicorns", "public")
        .await;
    let theirs = s.status(&b, "bob also likes unicorns", "public").await;

    let r = s
        .ok("/api/v2/search?q=alic&type=accounts", Some(&b.token))
        .await;
    assert_valid("Search", &r);
    assert_eq!(TestServer::ids(&r["accounts"]), vec![a.id.clone()]);
    assert_eq!(r["statuses"], json!([]));
    assert_eq!(r["hashtags"], json!([]));
    let r = s.ok("/api/v2/search?q=@bob", None).await;
    assert_valid("Search", &r);
    assert_eq!(TestServer::ids(&r["accounts"]), vec![b.id.clone()]);

    let r = s
        .ok("/api/v2/search?q=%23rust&type=hashtags", Some(&b.token))
        .await;
    assert_valid("Search", &r);
    assert_valid_each("Tag", &r["hashtags"]);
    assert_eq!(r["hashtags"][0]["name"], "rustlang");

    // Statuses: full text over one's own posts only.
    let r = s
        .ok("/api/v2/search?q=unicorns&type=statuses", Some(&a.token))
        .await;
    assert_valid("Search", &r);
    assert_eq!(TestServer::ids(&r["statuses"]), vec![mine.clone()]);
    let r = s
        .ok("/api/v2/search?q=unicorns&type=statuses", Some(&b.token))
        .await;
    assert_eq!(TestServer::ids(&r["statuses"]), vec![theirs.clone()]);
    let r = s.ok("/api/v2/search?q=unicorns", None).await;
    assert_eq!(r["statuses"], json!([]));
    // A post's URL finds it.
    let url = format!("{}/@alice/{mine}", s.base);
    let r = s
        .ok(
            &format!("/api/v2/search?q={}&type=statuses", urlencode(&url)),
            Some(&b.token),
        )
        .await;
    assert_eq!(TestServer::ids(&r["statuses"]), vec![mine.clone()]);
    let (st, _, _) = s.get("/api/v2/search?q=x&type=bogus", None).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let r = s.ok("/api/v2/search?q=", None).await;
    assert_valid("Search", &r);
}

/// A post appears once in a home feed: a boost of something among the feed's 40 newest entries
/// (the original or another boost of it) is not added again, as Mastodon's `REBLOG_FALLOFF`;
/// a boost of something older than that brings it back to the top.
#[tokio::test]
async fn a_boost_of_a_post_already_in_the_feed_is_not_added_again() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    s.follow(&alice, &bob).await;
    s.follow(&alice, &carol).await;
    let post = s.status(&bob, "worth sharing", "public").await;
    let originals = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|st| {
                st["reblog"]["id"]
                    .as_str()
                    .or(st["id"].as_str())
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    // Carol boosts it: alice already has it, so her feed holds it once.
    s.ok_post(
        &format!("/api/v1/statuses/{post}/reblog"),
        Some(&carol.token),
        json!({}),
    )
    .await;
    let feed = s
        .ok("/api/v1/timelines/home?limit=40", Some(&alice.token))
        .await;
    assert_eq!(originals(&feed), vec![post.clone()], "{feed}");
    // Alice boosts it herself: still once.
    s.ok_post(
        &format!("/api/v1/statuses/{post}/reblog"),
        Some(&alice.token),
        json!({}),
    )
    .await;
    let feed = s
        .ok("/api/v1/timelines/home?limit=40", Some(&alice.token))
        .await;
    assert_eq!(originals(&feed), vec![post.clone()], "{feed}");
    // Another boost of a post that came in as a boost: also once.
    let dave = s.register("dave").await;
    let elsewhere = s
        .status(&dave, "from someone alice does not follow", "public")
        .await;
    s.ok_post(
        &format!("/api/v1/statuses/{elsewhere}/reblog"),
        Some(&bob.token),
        json!({}),
    )
    .await;
    s.ok_post(
        &format!("/api/v1/statuses/{elsewhere}/reblog"),
        Some(&carol.token),
        json!({}),
    )
    .await;
    let feed = s
        .ok("/api/v1/timelines/home?limit=40", Some(&alice.token))
        .await;
    assert_eq!(
        originals(&feed),
        vec![elsewhere.clone(), post.clone()],
        "{feed}"
    );
    // Forty newer posts push the original out of the newest entries; a boost then brings it
    // back to the top (it is news again), and the old entry stays where it was.
    for i in 0..40 {
        s.status(&bob, &format!("news {i}"), "public").await;
    }
    let erin = s.register("erin").await;
    s.follow(&alice, &erin).await;
    s.ok_post(
        &format!("/api/v1/statuses/{post}/reblog"),
        Some(&erin.token),
        json!({}),
    )
    .await;
    let feed = s
        .ok("/api/v1/timelines/home?limit=1", Some(&alice.token))
        .await;
    assert_eq!(originals(&feed), vec![post.clone()], "{feed}");
    assert_eq!(feed[0]["account"]["username"], "erin", "{feed}");
}

/// Kring's human URLs (`/@user`, `/@user/ID`), asked for ActivityPub as a server resolving a
/// pasted link asks, lead to the ActivityPub documents (as Mastodon's do); browsers still get
/// the pages.
#[tokio::test]
async fn human_urls_answer_activitypub_requests() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let id = s.status(&a, "a post to link to", "public").await;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let follow = reqwest::Client::new();
    for accept in [
        "application/activity+json",
        "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
    ] {
        for (path, target, kind) in [
            ("/@alice".to_string(), "/users/alice".to_string(), "Person"),
            (
                format!("/@alice/{id}"),
                format!("/users/alice/statuses/{id}"),
                "Note",
            ),
        ] {
            let res = plain
                .get(s.url(&path))
                .header("accept", accept)
                .send()
                .await
                .unwrap();
            assert!(res.status().is_redirection(), "{path}: {}", res.status());
            assert_eq!(res.headers()["location"], target.as_str(), "{path}");
            let res = follow
                .get(s.url(&path))
                .header("accept", accept)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            let doc: Value = res.json().await.unwrap();
            assert_eq!(doc["type"], kind, "{path}: {doc}");
            assert!(
                doc["id"].as_str().is_some_and(|i| i.ends_with(&target)),
                "{path}: {doc}"
            );
        }
    }
    // A browser gets the page.
    let res = plain
        .get(s.url("/@alice"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

/// New accounts approve followers by default (issue 10): a follow is a request until the
/// person says yes; each person can turn it off, and the server can change the default.
#[tokio::test]
async fn new_accounts_approve_followers_by_default() {
    let s = TestServer::start_with(kring::config::Partial {
        approve_followers: Some(true),
        ..Default::default()
    })
    .await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let me = s
        .ok("/api/v1/accounts/verify_credentials", Some(&a.token))
        .await;
    assert_eq!(me["locked"], true, "{me}");
    let rel = s.follow(&b, &a).await;
    assert_eq!(rel["following"], false);
    assert_eq!(rel["requested"], true);
    let requests = s.ok("/api/v1/follow_requests", Some(&a.token)).await;
    assert_eq!(TestServer::ids(&requests), vec![b.id.clone()]);
    s.ok_post(
        &format!("/api/v1/follow_requests/{}/authorize", b.id),
        Some(&a.token),
        json!({}),
    )
    .await;
    // Alice turns approval off: the next follower is in at once.
    let c = s.register("carol").await;
    s.patch(
        "/api/v1/accounts/update_credentials",
        Some(&a.token),
        json!({"locked": false}),
    )
    .await;
    let rel = s.follow(&c, &a).await;
    assert_eq!(rel["following"], true, "{rel}");
}
