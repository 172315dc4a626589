// SPDX-License-Identifier: AGPL-3.0-or-later
//! Every endpoint that takes a body reads `multipart/form-data` (what masto.js, and so Elk and
//! Phanpy, send) exactly as it reads urlencoded forms and JSON: each endpoint family is driven
//! with the same parameters in all three encodings and must give the same results and the same
//! validation errors. Malformed multipart bodies get a 4xx with Mastodon's error body, never a
//! 5xx. The multipart bodies are written out by hand here so the malformed ones can be exact.
mod common;

use common::schema::assert_valid;
use common::{PASSWORD, TestServer, User};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Enc {
    Json,
    Form,
    Multipart,
}

const ALL: [Enc; 3] = [Enc::Json, Enc::Form, Enc::Multipart];

const BOUNDARY: &str = "----kring-test-7MA4YWxkTrZu0gW";

/// A `multipart/form-data` body with one text part per field (browsers' and undici's layout).
fn multipart(fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// Send the same parameters as JSON (`json`) or as form fields (`form`, Rails brackets) in
/// urlencoded or multipart encoding.
async fn send(
    s: &TestServer,
    enc: Enc,
    method: Method,
    path: &str,
    token: Option<&str>,
    form: &[(&str, &str)],
    json: &Value,
) -> common::Reply {
    match enc {
        Enc::Json => s.request(method, path, token, Some(json)).await,
        Enc::Form => s.form(method, path, token, form).await,
        Enc::Multipart => {
            let (ct, body) = multipart(form);
            s.raw(method, path, token, Some(&ct), body).await
        }
    }
}

/// Like [`send`], but the answer must be 200; returns the body.
#[allow(clippy::too_many_arguments)]
async fn ok(
    s: &TestServer,
    enc: Enc,
    method: Method,
    path: &str,
    token: Option<&str>,
    form: &[(&str, &str)],
    json: &Value,
) -> Value {
    let (st, _, b) = send(s, enc, method.clone(), path, token, form, json).await;
    assert_eq!(st, StatusCode::OK, "{enc:?} {method} {path}: {b}");
    b
}

/// The same failure (status and message) for every encoding.
async fn same_error(
    s: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    form: &[(&str, &str)],
    json: &Value,
    want: StatusCode,
) {
    let mut messages = Vec::new();
    for enc in ALL {
        let (st, _, b) = send(s, enc, method.clone(), path, token, form, json).await;
        assert_eq!(st, want, "{enc:?} {method} {path}: {b}");
        assert_valid("Error", &b);
        messages.push(b["error"].clone());
    }
    assert!(
        messages.iter().all(|m| *m == messages[0]),
        "{method} {path}: the error differs between encodings: {messages:?}"
    );
}

/// Keep only `keys` of an object, to compare what the parameters decided.
fn pick(v: &Value, keys: &[&str]) -> Value {
    Value::Object(
        keys.iter()
            .map(|k| (k.to_string(), v[*k].clone()))
            .collect(),
    )
}

#[track_caller]
fn all_same(what: &str, results: &[Value]) {
    for r in results {
        assert_eq!(r, &results[0], "{what}: encodings disagree");
    }
}

#[tokio::test]
async fn apps_tokens_and_revocation_take_every_encoding() {
    let s = TestServer::start().await;
    let mut apps = Vec::new();
    for enc in ALL {
        let app = ok(
            &s,
            enc,
            Method::POST,
            "/api/v1/apps",
            None,
            &[
                ("client_name", "multi app"),
                ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
                ("scopes", "read write"),
                ("website", "https://example.org/app"),
            ],
            &json!({
                "client_name": "multi app",
                "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                "scopes": "read write",
                "website": "https://example.org/app",
            }),
        )
        .await;
        assert_valid("CredentialApplication", &app);
        apps.push(app);
    }
    all_same(
        "apps",
        &apps
            .iter()
            .map(|a| pick(a, &["name", "website", "scopes", "redirect_uri"]))
            .collect::<Vec<_>>(),
    );
    // A missing name is the same 422 everywhere.
    same_error(
        &s,
        Method::POST,
        "/api/v1/apps",
        None,
        &[("redirect_uris", "urn:ietf:wg:oauth:2.0:oob")],
        &json!({"redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // Tokens: client credentials and the password grant, then revocation, in each encoding.
    let user = s.register("tokenuser").await;
    let app = &apps[0];
    let (id, secret) = (
        app["client_id"].as_str().expect("client_id"),
        app["client_secret"].as_str().expect("client_secret"),
    );
    for enc in ALL {
        let tok = ok(
            &s,
            enc,
            Method::POST,
            "/oauth/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
                ("scope", "read"),
            ],
            &json!({"grant_type": "client_credentials", "client_id": id,
                    "client_secret": secret, "scope": "read"}),
        )
        .await;
        assert_valid("Token", &tok);
        assert_eq!(tok["scope"], "read", "{enc:?}");

        let tok = ok(
            &s,
            enc,
            Method::POST,
            "/oauth/token",
            None,
            &[
                ("grant_type", "password"),
                ("client_id", id),
                ("client_secret", secret),
                ("username", &user.email),
                ("password", PASSWORD),
                ("scope", "read write"),
            ],
            &json!({"grant_type": "password", "client_id": id, "client_secret": secret,
                    "username": user.email, "password": PASSWORD, "scope": "read write"}),
        )
        .await;
        let access = tok["access_token"].as_str().expect("access_token");
        let me = s
            .ok("/api/v1/accounts/verify_credentials", Some(access))
            .await;
        assert_eq!(me["id"], user.id.as_str(), "{enc:?}");

        let out = ok(
            &s,
            enc,
            Method::POST,
            "/oauth/revoke",
            None,
            &[
                ("client_id", id),
                ("client_secret", secret),
                ("token", access),
            ],
            &json!({"client_id": id, "client_secret": secret, "token": access}),
        )
        .await;
        assert_eq!(out, json!({}), "{enc:?}");
        let (st, _, _) = s
            .get("/api/v1/accounts/verify_credentials", Some(access))
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{enc:?}: revoked");
    }
    // A wrong password is refused alike.
    let mut statuses = Vec::new();
    for enc in ALL {
        let (st, _, b) = send(
            &s,
            enc,
            Method::POST,
            "/oauth/token",
            None,
            &[
                ("grant_type", "password"),
                ("client_id", id),
                ("client_secret", secret),
                ("username", &user.email),
                ("password", "wrong"),
            ],
            &json!({"grant_type": "password", "client_id": id, "client_secret": secret,
                    "username": user.email, "password": "wrong"}),
        )
        .await;
        assert!(st.is_client_error(), "{enc:?}: {st} {b}");
        statuses.push((st, b));
    }
    assert!(statuses.iter().all(|x| *x == statuses[0]), "{statuses:?}");
}

#[tokio::test]
async fn sign_up_and_profile_updates_take_every_encoding() {
    let s = TestServer::start().await;
    let app_token = s.app().await.app_token.clone();
    let mut users = Vec::new();
    for (enc, name) in ALL.into_iter().zip(["viajson", "viaform", "viamultipart"]) {
        let email = format!("{name}@tests.invalid");
        let tok = ok(
            &s,
            enc,
            Method::POST,
            "/api/v1/accounts",
            Some(&app_token),
            &[
                ("username", name),
                ("email", &email),
                ("password", PASSWORD),
                ("agreement", "1"),
                ("locale", "en"),
            ],
            &json!({"username": name, "email": email, "password": PASSWORD,
                    "agreement": true, "locale": "en"}),
        )
        .await;
        assert_valid("Token", &tok);
        let token = tok["access_token"].as_str().expect("token").to_string();
        let me = s
            .ok("/api/v1/accounts/verify_credentials", Some(&token))
            .await;
        assert_eq!(me["username"], name);
        users.push((
            enc,
            User {
                token,
                id: me["id"].as_str().expect("id").to_string(),
                username: name.to_string(),
                email,
            },
        ));
    }
    // Sign-up validation is identical: no agreement, a taken name.
    same_error(
        &s,
        Method::POST,
        "/api/v1/accounts",
        Some(&app_token),
        &[
            ("username", "noagree"),
            ("email", "noagree@tests.invalid"),
            ("password", PASSWORD),
            ("agreement", "0"),
            ("locale", "en"),
        ],
        &json!({"username": "noagree", "email": "noagree@tests.invalid",
                "password": PASSWORD, "agreement": false, "locale": "en"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    same_error(
        &s,
        Method::POST,
        "/api/v1/accounts",
        Some(&app_token),
        &[
            ("username", "viajson"),
            ("email", "other@tests.invalid"),
            ("password", PASSWORD),
            ("agreement", "true"),
            ("locale", "en"),
        ],
        &json!({"username": "viajson", "email": "other@tests.invalid",
                "password": PASSWORD, "agreement": true, "locale": "en"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // update_credentials (PATCH, and PUT as some clients send) with nested source and
    // indexed profile fields.
    let form = [
        ("display_name", "Multi Part"),
        ("note", "About me"),
        ("locked", "true"),
        ("bot", "false"),
        ("discoverable", "1"),
        ("fields_attributes[0][name]", "Pronouns"),
        ("fields_attributes[0][value]", "they/them"),
        ("fields_attributes[1][name]", "Site"),
        ("fields_attributes[1][value]", "example.org"),
        ("source[privacy]", "private"),
        ("source[sensitive]", "true"),
        ("source[language]", "nl"),
    ];
    let body = json!({
        "display_name": "Multi Part", "note": "About me", "locked": true, "bot": false,
        "discoverable": true,
        "fields_attributes": [{"name": "Pronouns", "value": "they/them"},
                              {"name": "Site", "value": "example.org"}],
        "source": {"privacy": "private", "sensitive": true, "language": "nl"},
    });
    let mut profiles = Vec::new();
    for (enc, user) in &users {
        for method in [Method::PATCH, Method::PUT] {
            let me = ok(
                &s,
                *enc,
                method,
                "/api/v1/accounts/update_credentials",
                Some(&user.token),
                &form,
                &body,
            )
            .await;
            assert_valid("CredentialAccount", &me);
            let mut picked = pick(
                &me,
                &[
                    "display_name",
                    "note",
                    "locked",
                    "bot",
                    "discoverable",
                    "fields",
                ],
            );
            picked["source"] = pick(&me["source"], &["privacy", "sensitive", "language", "note"]);
            profiles.push(picked);
        }
    }
    all_same("update_credentials", &profiles);
    assert_eq!(profiles[0]["source"]["privacy"], "private");
    assert_eq!(profiles[0]["fields"][1]["name"], "Site");
    // A bad privacy value is refused alike.
    same_error(
        &s,
        Method::PATCH,
        "/api/v1/accounts/update_credentials",
        Some(&users[0].1.token),
        &[("source[privacy]", "everyone")],
        &json!({"source": {"privacy": "everyone"}}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn statuses_relationships_and_markers_take_every_encoding() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let t = Some(a.token.as_str());

    // Statuses: create, edit (PUT), reblog with a visibility.
    let mut posts = Vec::new();
    for enc in ALL {
        let st = ok(
            &s,
            enc,
            Method::POST,
            "/api/v1/statuses",
            t,
            &[
                ("status", "Hello #multi"),
                ("visibility", "unlisted"),
                ("spoiler_text", "cw"),
                ("sensitive", "true"),
                ("language", "en"),
            ],
            &json!({"status": "Hello #multi", "visibility": "unlisted",
                    "spoiler_text": "cw", "sensitive": true, "language": "en"}),
        )
        .await;
        assert_valid("Status", &st);
        let id = st["id"].as_str().expect("id").to_string();
        let edited = ok(
            &s,
            enc,
            Method::PUT,
            &format!("/api/v1/statuses/{id}"),
            t,
            &[("status", "Hello again #multi"), ("spoiler_text", "cw 2")],
            &json!({"status": "Hello again #multi", "spoiler_text": "cw 2"}),
        )
        .await;
        let boosted = ok(
            &s,
            enc,
            Method::POST,
            &format!("/api/v1/statuses/{id}/reblog"),
            Some(&b.token),
            &[("visibility", "private")],
            &json!({"visibility": "private"}),
        )
        .await;
        posts.push(json!({
            "created": pick(&st, &["content", "visibility", "spoiler_text", "sensitive", "language", "tags"]),
            "edited": pick(&edited, &["content", "spoiler_text", "visibility"]),
            "was_edited": edited["edited_at"].is_string(),
            "boost": pick(&boosted, &["visibility"]),
        }));
    }
    all_same("statuses", &posts);
    assert_eq!(posts[0]["created"]["visibility"], "unlisted");
    assert_eq!(posts[0]["boost"]["visibility"], "private");
    assert_eq!(posts[0]["was_edited"], true);
    // Status validation is identical: an empty post, an unknown visibility.
    same_error(
        &s,
        Method::POST,
        "/api/v1/statuses",
        t,
        &[("status", "")],
        &json!({"status": ""}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    same_error(
        &s,
        Method::POST,
        "/api/v1/statuses",
        t,
        &[("status", "x"), ("visibility", "everyone")],
        &json!({"status": "x", "visibility": "everyone"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // Follow with options, mute with options, a private note: the relationship they give.
    let mut rels = Vec::new();
    for enc in ALL {
        let path = format!("/api/v1/accounts/{}", b.id);
        s.ok_post(&format!("{path}/unfollow"), t, json!({})).await;
        s.ok_post(&format!("{path}/unmute"), t, json!({})).await;
        let followed = ok(
            &s,
            enc,
            Method::POST,
            &format!("{path}/follow"),
            t,
            &[("reblogs", "false"), ("notify", "true")],
            &json!({"reblogs": false, "notify": true}),
        )
        .await;
        let muted = ok(
            &s,
            enc,
            Method::POST,
            &format!("{path}/mute"),
            t,
            &[("notifications", "false"), ("duration", "0")],
            &json!({"notifications": false, "duration": 0}),
        )
        .await;
        let noted = ok(
            &s,
            enc,
            Method::POST,
            &format!("{path}/note"),
            t,
            &[("comment", &format!("met via {enc:?}"))],
            &json!({"comment": format!("met via {enc:?}")}),
        )
        .await;
        assert_eq!(noted["note"], format!("met via {enc:?}"));
        rels.push(json!({
            "follow": pick(&followed, &["following", "showing_reblogs", "notifying"]),
            "mute": pick(&muted, &["muting", "muting_notifications"]),
        }));
    }
    all_same("relationships", &rels);
    assert_eq!(rels[0]["follow"]["showing_reblogs"], false);
    assert_eq!(rels[0]["follow"]["notifying"], true);
    assert_eq!(rels[0]["mute"]["muting_notifications"], false);

    // Markers: nested keys.
    let last = s.status(&b, "marker target", "public").await;
    for enc in ALL {
        let m = ok(
            &s,
            enc,
            Method::POST,
            "/api/v1/markers",
            t,
            &[("home[last_read_id]", &last)],
            &json!({"home": {"last_read_id": last}}),
        )
        .await;
        assert_eq!(m["home"]["last_read_id"], last.as_str(), "{enc:?}: {m}");
    }
}

#[tokio::test]
async fn lists_filters_and_reports_take_every_encoding() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let c = s.register("carol").await;
    let t = Some(a.token.as_str());
    s.follow(&a, &b).await;
    s.follow(&a, &c).await;

    // Lists: create, rename (PUT), add and remove members (`account_ids[]`).
    let mut lists = Vec::new();
    for enc in ALL {
        let list = ok(
            &s,
            enc,
            Method::POST,
            "/api/v1/lists",
            t,
            &[
                ("title", "Friends"),
                ("replies_policy", "none"),
                ("exclusive", "true"),
            ],
            &json!({"title": "Friends", "replies_policy": "none", "exclusive": true}),
        )
        .await;
        let id = list["id"].as_str().expect("list id").to_string();
        let renamed = ok(
            &s,
            enc,
            Method::PUT,
            &format!("/api/v1/lists/{id}"),
            t,
            &[("title", "Close friends")],
            &json!({"title": "Close friends"}),
        )
        .await;
        let members = format!("/api/v1/lists/{id}/accounts");
        ok(
            &s,
            enc,
            Method::POST,
            &members,
            t,
            &[("account_ids[]", &b.id), ("account_ids[]", &c.id)],
            &json!({"account_ids": [b.id, c.id]}),
        )
        .await;
        let mut after_add = TestServer::ids(&s.ok(&members, t).await);
        after_add.sort();
        ok(
            &s,
            enc,
            Method::DELETE,
            &members,
            t,
            &[("account_ids[]", &b.id)],
            &json!({"account_ids": [b.id]}),
        )
        .await;
        let after_remove = TestServer::ids(&s.ok(&members, t).await);
        lists.push(json!({
            "created": pick(&list, &["title", "replies_policy", "exclusive"]),
            "renamed": renamed["title"],
            "added": after_add.len(),
            "left": after_remove == vec![c.id.clone()],
        }));
    }
    all_same("lists", &lists);
    assert_eq!(lists[0]["created"]["replies_policy"], "none");
    assert_eq!(lists[0]["added"], 2);
    assert_eq!(lists[0]["left"], true);
    same_error(
        &s,
        Method::POST,
        "/api/v1/lists",
        t,
        &[("title", "")],
        &json!({"title": ""}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // Filters (v2): `context[]`, indexed `keywords_attributes`, then a keyword and a status.
    let post = s.status(&b, "filter me", "public").await;
    let mut filters = Vec::new();
    for enc in ALL {
        let f = ok(
            &s,
            enc,
            Method::POST,
            "/api/v2/filters",
            t,
            &[
                ("title", "Spoilers"),
                ("context[]", "home"),
                ("context[]", "public"),
                ("filter_action", "hide"),
                ("keywords_attributes[0][keyword]", "ending"),
                ("keywords_attributes[0][whole_word]", "false"),
                ("keywords_attributes[1][keyword]", "finale"),
            ],
            &json!({"title": "Spoilers", "context": ["home", "public"], "filter_action": "hide",
                    "keywords_attributes": [{"keyword": "ending", "whole_word": false},
                                            {"keyword": "finale"}]}),
        )
        .await;
        let id = f["id"].as_str().expect("filter id").to_string();
        let k = ok(
            &s,
            enc,
            Method::POST,
            &format!("/api/v2/filters/{id}/keywords"),
            t,
            &[("keyword", "twist"), ("whole_word", "true")],
            &json!({"keyword": "twist", "whole_word": true}),
        )
        .await;
        let fs = ok(
            &s,
            enc,
            Method::POST,
            &format!("/api/v2/filters/{id}/statuses"),
            t,
            &[("status_id", &post)],
            &json!({"status_id": post}),
        )
        .await;
        let updated = ok(
            &s,
            enc,
            Method::PUT,
            &format!("/api/v2/filters/{id}"),
            t,
            &[("title", "Spoilers!"), ("context[]", "notifications")],
            &json!({"title": "Spoilers!", "context": ["notifications"]}),
        )
        .await;
        let keywords: Vec<Value> = f["keywords"]
            .as_array()
            .expect("keywords")
            .iter()
            .map(|k| pick(k, &["keyword", "whole_word"]))
            .collect();
        filters.push(json!({
            "created": pick(&f, &["title", "context", "filter_action"]),
            "keywords": keywords,
            "keyword": pick(&k, &["keyword", "whole_word"]),
            "status": fs["status_id"],
            "updated": pick(&updated, &["title", "context"]),
        }));
    }
    all_same("filters", &filters);
    assert_eq!(filters[0]["created"]["context"], json!(["home", "public"]));
    assert_eq!(filters[0]["keywords"].as_array().map(Vec::len), Some(2));
    same_error(
        &s,
        Method::POST,
        "/api/v2/filters",
        t,
        &[("title", "No context")],
        &json!({"title": "No context"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // Reports: `status_ids[]`.
    let mut reports = Vec::new();
    for enc in ALL {
        let r = ok(
            &s,
            enc,
            Method::POST,
            "/api/v1/reports",
            t,
            &[
                ("account_id", &b.id),
                ("status_ids[]", &post),
                ("comment", "spam, really"),
                ("category", "spam"),
                ("forward", "false"),
            ],
            &json!({"account_id": b.id, "status_ids": [post], "comment": "spam, really",
                    "category": "spam", "forward": false}),
        )
        .await;
        reports.push(pick(
            &r,
            &["category", "comment", "status_ids", "forwarded"],
        ));
    }
    all_same("reports", &reports);
    assert_eq!(reports[0]["status_ids"], json!([post]));
    same_error(
        &s,
        Method::POST,
        "/api/v1/reports",
        t,
        &[("comment", "who?")],
        &json!({"comment": "who?"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

/// Send a raw multipart body to `path`; the answer must be a 4xx with Mastodon's error body.
async fn refused(
    s: &TestServer,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: impl Into<reqwest::Body>,
    want: StatusCode,
    what: &str,
) {
    let (st, _, b) = s
        .raw(Method::POST, path, token, Some(content_type), body)
        .await;
    assert_eq!(st, want, "{what}: {b}");
    assert_valid("Error", &b);
}

#[tokio::test]
async fn malformed_multipart_gets_a_clean_error() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let t = Some(a.token.as_str());
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let part = |name: &str, value: &str| {
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
    };
    let end = format!("--{BOUNDARY}--\r\n");
    let bad = StatusCode::BAD_REQUEST;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;

    for (path, token) in [
        ("/api/v1/statuses", t),
        ("/oauth/token", None),
        ("/api/v1/apps", None),
    ] {
        refused(
            &s,
            path,
            token,
            "multipart/form-data",
            part("status", "x") + &end,
            bad,
            "no boundary",
        )
        .await;
        refused(
            &s,
            path,
            token,
            &ct,
            "--other\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--other--\r\n",
            bad,
            "another boundary",
        )
        .await;
        refused(
            &s,
            path,
            token,
            &ct,
            part("status", "x"),
            bad,
            "no closing boundary",
        )
        .await;
        refused(&s, path, token, &ct, format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"status\"\r\n\r\nunterminated"),
            bad, "cut off in a part").await;
        refused(
            &s,
            path,
            token,
            &ct,
            format!("--{BOUNDARY}\r\nthis is not a header\r\n\r\nx\r\n{end}"),
            bad,
            "garbage header",
        )
        .await;
        refused(&s, path, token, &ct, "status=hi", bad, "a urlencoded body").await;
    }

    // A text part that is not UTF-8, as for urlencoded forms.
    let mut body =
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"status\"\r\n\r\n")
            .into_bytes();
    body.extend_from_slice(&[0xff, 0xfe, b'x']);
    body.extend_from_slice(format!("\r\n{end}").as_bytes());
    refused(&s, "/api/v1/statuses", t, &ct, body, bad, "not UTF-8").await;
    // NUL is refused in every encoding.
    refused(
        &s,
        "/api/v1/statuses",
        t,
        &ct,
        part("status", "a\0b") + &end,
        bad,
        "NUL",
    )
    .await;
    // Too deeply nested keys, as for urlencoded forms.
    let deep = format!("a{}", "[x]".repeat(50));
    refused(
        &s,
        "/api/v1/statuses",
        t,
        &ct,
        part(&deep, "1") + &end,
        unprocessable,
        "deep",
    )
    .await;

    // A file part that is no picture: refused as an avatar, naming it, not silently dropped.
    let file = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\u{1}PNG\r\n{end}"
    );
    let (st, _, b) = s
        .raw(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            t,
            Some(&ct),
            file,
        )
        .await;
    assert_eq!(st, unprocessable, "file part: {b}");
    assert_valid("Error", &b);
    assert!(
        b["error"].as_str().is_some_and(|e| e.contains("avatar")),
        "{b}"
    );
    refused(&s, "/api/v1/statuses", t, &ct,
        format!("{}--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"x\"\r\n\r\nxx\r\n{end}", part("status", "x")),
        unprocessable, "file part on statuses").await;
    // A file input left empty (browsers still send the part) is skipped like Rails does.
    let blank = format!(
        "{}--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n{end}",
        part("display_name", "Blank file")
    );
    let (st, _, b) = s
        .raw(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            t,
            Some(&ct),
            blank,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "blank file part: {b}");
    assert_eq!(b["display_name"], "Blank file");

    // Bounds: the body limit and the number of parts.
    let big = part("status", &"a".repeat(1024 * 1024 + 16)) + &end;
    refused(
        &s,
        "/api/v1/statuses",
        t,
        &ct,
        big,
        StatusCode::PAYLOAD_TOO_LARGE,
        "1 MiB",
    )
    .await;
    let many: String = (0..1001)
        .map(|i| part(&format!("k{i}"), "v"))
        .collect::<String>()
        + &end;
    refused(
        &s,
        "/api/v1/statuses",
        t,
        &ct,
        many,
        StatusCode::PAYLOAD_TOO_LARGE,
        "1001 parts",
    )
    .await;
    let many_form: String = (0..1001).map(|i| format!("k{i}=v&")).collect::<String>() + "status=x";
    refused(
        &s,
        "/api/v1/statuses",
        t,
        "application/x-www-form-urlencoded",
        many_form,
        StatusCode::PAYLOAD_TOO_LARGE,
        "1001 form fields",
    )
    .await;
    // Up to the limit is fine.
    let enough: String = (0..999)
        .map(|i| part(&format!("k{i}"), "v"))
        .collect::<String>()
        + &part("status", "many parts")
        + &end;
    let (st, _, b) = s
        .raw(Method::POST, "/api/v1/statuses", t, Some(&ct), enough)
        .await;
    assert_eq!(st, StatusCode::OK, "1000 parts: {b}");

    // An empty multipart body (no parts) is an empty set of parameters.
    let (st, _, b) = s
        .raw(Method::POST, "/api/v1/statuses", t, Some(&ct), end.clone())
        .await;
    assert_eq!(st, unprocessable, "no parts: {b}");
    let (st, _, b) = s
        .raw(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            t,
            Some(&ct),
            end.clone(),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "no parts on update_credentials: {b}");
    // The boundary may be quoted, and the type is case-insensitive.
    let (st, _, b) = s
        .raw(
            Method::POST,
            "/api/v1/statuses",
            t,
            Some(&format!("Multipart/Form-Data; boundary=\"{BOUNDARY}\"")),
            part("status", "quoted boundary") + &end,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "quoted boundary: {b}");
    assert!(
        b["content"]
            .as_str()
            .is_some_and(|c| c.contains("quoted boundary"))
    );
}
