// SPDX-License-Identifier: AGPL-3.0-or-later
//! Bad input gets a 4xx with a Mastodon error body, never a 5xx: malformed or oversized bodies,
//! wrong content types and value types, unknown ids, missing scopes and tokens. Then a property
//! test throws random methods, paths (from the routes the API declares), query strings and
//! bodies at a real server and checks that nothing answers 5xx.
mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::schema::assert_valid;
use common::{TestServer, User};
use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, TestCaseError, TestRunner};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[track_caller]
fn assert_error(st: StatusCode, body: &Value, want: StatusCode, what: &str) {
    assert_eq!(st, want, "{what}: {body}");
    assert_valid("Error", body);
}

#[tokio::test]
async fn malformed_bodies_and_content_types() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let t = Some(a.token.as_str());
    for (ct, body, what) in [
        (Some("application/json"), "{\"status\": ", "truncated JSON"),
        (Some("application/json"), "{'status': 'x'}", "single quotes"),
        (
            Some("application/json"),
            "{\"status\": \"x\",}",
            "trailing comma",
        ),
        (Some("application/json"), "\u{feff}{}", "BOM"),
        (None, "{\"status\": \"x\"", "JSON without a content type"),
    ] {
        let (st, _, b) = s.raw(Method::POST, "/api/v1/statuses", t, ct, body).await;
        assert_error(st, &b, StatusCode::BAD_REQUEST, what);
    }
    // Valid JSON that is not an object.
    for body in ["[1,2]", "\"status\"", "42", "null"] {
        let (st, _, b) = s
            .raw(
                Method::POST,
                "/api/v1/statuses",
                t,
                Some("application/json"),
                body,
            )
            .await;
        assert!(st.is_client_error(), "{body}: {st} {b}");
        assert_valid("Error", &b);
    }
    // Content types the API does not read.
    for ct in [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
    ] {
        let (st, _, b) = s
            .raw(Method::POST, "/api/v1/statuses", t, Some(ct), "status=hi")
            .await;
        assert!(st.is_client_error(), "{ct}: {st} {b}");
        assert_valid("Error", &b);
    }
    // A form body that is not UTF-8.
    let (st, _, b) = s
        .raw(
            Method::POST,
            "/api/v1/statuses",
            t,
            Some("application/x-www-form-urlencoded"),
            vec![b's', b't', b'a', b't', b'u', b's', b'=', 0xff, 0xfe],
        )
        .await;
    assert!(st.is_client_error(), "{st} {b}");
    // Malformed JSON on the OAuth endpoints too.
    let (st, _, b) = s
        .raw(
            Method::POST,
            "/oauth/token",
            None,
            Some("application/json"),
            "{nope",
        )
        .await;
    assert!(st.is_client_error(), "{st} {b}");
    let (st, _, b) = s
        .raw(
            Method::POST,
            "/api/v1/apps",
            None,
            Some("application/json"),
            "{nope",
        )
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "apps");
}

#[tokio::test]
async fn oversized_and_deeply_nested_bodies() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let t = Some(a.token.as_str());
    // Just over 1 MiB.
    let big = format!("{{\"status\": \"{}\"}}", "a".repeat(1024 * 1024 + 16));
    let (st, _, b) = s
        .raw(
            Method::POST,
            "/api/v1/statuses",
            t,
            Some("application/json"),
            big,
        )
        .await;
    assert_error(st, &b, StatusCode::PAYLOAD_TOO_LARGE, "1 MiB JSON");
    let form = format!("status={}", "a".repeat(1024 * 1024 + 16));
    let (st, _, b) = s
        .raw(
            Method::POST,
            "/api/v1/statuses",
            t,
            Some("application/x-www-form-urlencoded"),
            form,
        )
        .await;
    assert_error(st, &b, StatusCode::PAYLOAD_TOO_LARGE, "1 MiB form");
    // Oversized even before authentication is checked is still not a 5xx.
    let (st, _, _) = s
        .raw(
            Method::POST,
            "/oauth/token",
            None,
            Some("application/json"),
            vec![b' '; 2 * 1024 * 1024],
        )
        .await;
    assert!(st.is_client_error(), "{st}");

    // Nesting: deeper than the API accepts, and deeper than serde_json's own limit.
    for depth in [20, 200, 5000] {
        let body = format!(
            "{{\"status\": \"x\", \"poll\": {}1{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let (st, _, b) = s
            .raw(
                Method::POST,
                "/api/v1/statuses",
                t,
                Some("application/json"),
                body,
            )
            .await;
        assert!(st.is_client_error(), "depth {depth}: {st} {b}");
        assert_valid("Error", &b);
    }
    let deep_form = format!("a{}=1", "[x]".repeat(50));
    let (st, _, b) = s
        .raw(
            Method::POST,
            "/api/v1/statuses",
            t,
            Some("application/x-www-form-urlencoded"),
            deep_form.clone(),
        )
        .await;
    assert!(st.is_client_error(), "{st} {b}");
    let (st, _, _) = s
        .get(&format!("/api/v1/timelines/home?{deep_form}"), t)
        .await;
    assert!(st.is_client_error(), "{st}");
    // A huge query string.
    let q = format!("/api/v1/timelines/public?q={}", "x".repeat(60_000));
    let (st, _, _) = s.get(&q, None).await;
    assert!(!st.is_server_error(), "{st}");
}

#[tokio::test]
async fn wrong_value_types_are_client_errors() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let t = Some(a.token.as_str());
    let id = s.status(&a, "hello", "public").await;
    for path in [
        "/api/v1/timelines/public?max_id=xyz".to_string(),
        "/api/v1/timelines/public?since_id=1.5".to_string(),
        "/api/v1/timelines/public?local=maybe".to_string(),
        "/api/v1/accounts/relationships?id[]=abc".to_string(),
        format!("/api/v1/accounts/{}/statuses?pinned=perhaps", a.id),
    ] {
        let (st, _, b) = s.get(&path, t).await;
        assert_error(st, &b, StatusCode::UNPROCESSABLE_ENTITY, &path);
    }
    for body in [
        json!({"status": "x", "in_reply_to_id": "xyz"}),
        json!({"status": "x", "in_reply_to_id": [1]}),
        json!({"status": "x", "sensitive": "very"}),
        json!({"status": "x", "visibility": "everyone"}),
        json!({"status": "x", "visibility": 3}),
        json!({"status": {"text": "x"}}),
        json!({"status": ["x"]}),
        json!({"status": "x", "language": "not a language"}),
        json!({"status": "x", "media_ids": ["1"]}),
        json!({"status": "x", "poll": {"options": ["a", "b"], "expires_in": 60}}),
        json!({"status": "x", "scheduled_at": "2030-01-01T00:00:00Z"}),
    ] {
        let (st, _, b) = s.post("/api/v1/statuses", t, body.clone()).await;
        assert_error(st, &b, StatusCode::UNPROCESSABLE_ENTITY, &body.to_string());
    }
    // Lenient where Mastodon is: numbers for strings, "1"/"true" for booleans.
    let (st, _, b) = s
        .post(
            "/api/v1/statuses",
            t,
            json!({"status": 12345, "sensitive": "1", "in_reply_to_id": id.parse::<i64>().unwrap()}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["content"], "<p>12345</p>");
    // Limits: too long, empty, blank.
    let (st, _, b) = s
        .post("/api/v1/statuses", t, json!({"status": "x".repeat(5001)}))
        .await;
    assert_error(st, &b, StatusCode::UNPROCESSABLE_ENTITY, "too long");
    let (st, _, b) = s
        .post(
            "/api/v1/statuses",
            t,
            json!({"status": "x".repeat(4990), "spoiler_text": "y".repeat(20)}),
        )
        .await;
    assert_error(
        st,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "text + CW too long",
    );
    let (st, _, b) = s.post("/api/v1/statuses", t, json!({"status": ""})).await;
    assert_error(st, &b, StatusCode::UNPROCESSABLE_ENTITY, "empty");
    let (st, _, b) = s
        .post("/api/v1/statuses", t, json!({"status": " \n\t "}))
        .await;
    assert_error(st, &b, StatusCode::UNPROCESSABLE_ENTITY, "blank");
    let (st, _, b) = s.post("/api/v1/statuses", t, json!({})).await;
    assert_error(st, &b, StatusCode::UNPROCESSABLE_ENTITY, "missing");
    // Exactly at the limit is fine.
    let (st, _, b) = s
        .post("/api/v1/statuses", t, json!({"status": "é".repeat(5000)}))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // Wrong types elsewhere.
    for (method, path, body) in [
        (Method::POST, "/api/v1/lists", json!({"title": ["x"]})),
        (
            Method::POST,
            "/api/v1/lists",
            json!({"title": "x", "replies_policy": "sometimes"}),
        ),
        (
            Method::POST,
            "/api/v2/filters",
            json!({"title": "x", "context": 5}),
        ),
        (
            Method::POST,
            "/api/v2/filters",
            json!({"title": "x", "context": ["home"], "expires_in": "soon"}),
        ),
        (
            Method::POST,
            "/api/v2/filters",
            json!({"title": "x", "context": ["home"], "filter_action": "explode"}),
        ),
        (
            Method::POST,
            "/api/v2/filters",
            json!({"title": "x", "context": ["home"], "keywords_attributes": "nope"}),
        ),
        (
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            json!({"locked": "sometimes"}),
        ),
        (
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            json!({"fields_attributes": "x"}),
        ),
        (
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            json!({"source": {"privacy": "everyone"}}),
        ),
        (
            Method::POST,
            "/api/v1/markers",
            json!({"home": {"last_read_id": {"x": 1}}}),
        ),
        (Method::POST, "/api/v1/markers", json!({"home": "x"})),
    ] {
        let (st, _, b) = s.request(method.clone(), path, t, Some(&body)).await;
        assert!(st.is_client_error(), "{method} {path} {body}: {st} {b}");
        assert_valid("Error", &b);
    }
}

/// Counts are read as Mastodon (Rails' `to_i`) reads them: what is not a number gives the
/// endpoint's default, a huge number is clamped to its maximum, never a 422.
#[tokio::test]
async fn limits_are_coerced_not_refused() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let t = Some(a.token.as_str());
    for i in 0..45 {
        s.status(&a, &format!("post {i}"), "public").await;
    }
    for (path, want) in [
        ("/api/v1/timelines/home?limit=abc", 20),
        ("/api/v1/timelines/home?limit=", 20),
        ("/api/v1/timelines/home?limit[]=1", 20),
        ("/api/v1/timelines/home?limit[x]=1", 20),
        ("/api/v1/timelines/home?limit=99999999999999999999999", 40),
        ("/api/v1/timelines/home?limit=1000", 40),
        ("/api/v1/timelines/home?limit=7", 7),
        ("/api/v1/timelines/public?limit=many", 20),
        ("/api/v1/accounts/search?q=alice&limit=abc", 1),
        ("/api/v2/search?q=alice&limit=many&offset=x", 1),
        ("/api/v1/notifications?limit=99999999999999999999999", 0),
    ] {
        let (st, _, b) = s.get(path, t).await;
        assert_eq!(st, StatusCode::OK, "{path}: {b}");
        let n = b
            .as_array()
            .or_else(|| b["accounts"].as_array())
            .map(Vec::len);
        assert_eq!(n, Some(want), "{path}: {b}");
    }
}

/// NUL bytes (which PostgreSQL text columns refuse) and odd Unicode in every kind of field.
#[tokio::test]
async fn nul_bytes_and_odd_unicode() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let t = Some(a.token.as_str());
    let (st, _, b) = s
        .post("/api/v1/statuses", t, json!({"status": "nul \u{0} byte"}))
        .await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "NUL in a status");
    let (st, _, b) = s.get("/api/v2/search?q=%00", t).await;
    assert_error(st, &b, StatusCode::BAD_REQUEST, "NUL in a query");
    for v in [
        "nul \u{0} byte",
        "\u{0}",
        "rtl \u{202e} mark",
        "emoji 😀 #tägé",
        "\u{fffd}\u{feff}",
    ] {
        for (method, path, body) in [
            (Method::POST, "/api/v1/statuses", json!({"status": v})),
            (
                Method::POST,
                "/api/v1/statuses",
                json!({"status": "x", "spoiler_text": v}),
            ),
            (
                Method::POST,
                "/api/v1/statuses",
                json!({"status": "x", "language": v}),
            ),
            (
                Method::PATCH,
                "/api/v1/accounts/update_credentials",
                json!({"display_name": v, "note": v}),
            ),
            (
                Method::PATCH,
                "/api/v1/accounts/update_credentials",
                json!({"fields_attributes": [{"name": v, "value": v}]}),
            ),
            (Method::POST, "/api/v1/lists", json!({"title": v})),
            (
                Method::POST,
                "/api/v2/filters",
                json!({"title": v, "context": ["home"], "keywords_attributes": [{"keyword": v}]}),
            ),
            (
                Method::POST,
                "/api/v1/apps",
                json!({"client_name": v, "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}),
            ),
            (
                Method::POST,
                "/oauth/token",
                json!({"grant_type": "password", "client_id": v, "client_secret": v, "username": v, "password": v}),
            ),
            (
                Method::POST,
                "/api/v1/accounts",
                json!({"username": v, "email": v, "password": v, "agreement": true}),
            ),
        ] {
            let (st, _, b) = s.request(method.clone(), path, t, Some(&body)).await;
            assert!(!st.is_server_error(), "{method} {path} {body}: {st} {b}");
        }
        let q = form_escape(v);
        for path in [
            format!("/api/v2/search?q={q}"),
            format!("/api/v1/accounts/search?q={q}"),
            format!("/api/v1/accounts/lookup?acct={q}"),
            format!("/api/v1/timelines/tag/{q}"),
            format!("/api/v1/accounts/{}/statuses?tagged={q}", a.id),
            format!("/api/v1/notifications?types[]={q}"),
            format!("/api/v1/markers?timeline[]={q}"),
        ] {
            let (st, _, b) = s.get(&path, t).await;
            assert!(!st.is_server_error(), "GET {path}: {st} {b}");
        }
    }
}

#[tokio::test]
async fn unknown_ids_are_not_found() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let t = Some(a.token.as_str());
    for id in [
        "999999999",
        "abc",
        "-1",
        "0",
        "99999999999999999999999",
        "1.5",
        "%00",
        "%E2%9C%93",
        "1e5",
    ] {
        for (method, path) in [
            (Method::GET, format!("/api/v1/statuses/{id}")),
            (Method::GET, format!("/api/v1/statuses/{id}/context")),
            (Method::GET, format!("/api/v1/statuses/{id}/history")),
            (Method::GET, format!("/api/v1/statuses/{id}/source")),
            (Method::GET, format!("/api/v1/statuses/{id}/favourited_by")),
            (Method::POST, format!("/api/v1/statuses/{id}/favourite")),
            (Method::POST, format!("/api/v1/statuses/{id}/reblog")),
            (Method::DELETE, format!("/api/v1/statuses/{id}")),
            (Method::PUT, format!("/api/v1/statuses/{id}")),
            (Method::GET, format!("/api/v1/accounts/{id}")),
            (Method::GET, format!("/api/v1/accounts/{id}/statuses")),
            (Method::GET, format!("/api/v1/accounts/{id}/followers")),
            (Method::POST, format!("/api/v1/accounts/{id}/follow")),
            (Method::POST, format!("/api/v1/accounts/{id}/block")),
            (Method::POST, format!("/api/v1/accounts/{id}/mute")),
            (
                Method::POST,
                format!("/api/v1/follow_requests/{id}/authorize"),
            ),
            (Method::GET, format!("/api/v1/lists/{id}")),
            (Method::GET, format!("/api/v1/lists/{id}/accounts")),
            (Method::DELETE, format!("/api/v1/lists/{id}")),
            (Method::GET, format!("/api/v1/timelines/list/{id}")),
            (Method::GET, format!("/api/v1/notifications/{id}")),
            (Method::POST, format!("/api/v1/notifications/{id}/dismiss")),
            (Method::GET, format!("/api/v2/filters/{id}")),
            (Method::DELETE, format!("/api/v2/filters/{id}")),
            (Method::POST, format!("/api/v2/filters/{id}/keywords")),
        ] {
            let body = json!({"status": "x", "keyword": "k"});
            let (st, _, b) = s.request(method.clone(), &path, t, Some(&body)).await;
            assert_error(st, &b, StatusCode::NOT_FOUND, &format!("{method} {path}"));
        }
    }
    // Routes that do not exist at all.
    for path in [
        "/api/v1/nothing",
        "/api/v3/instance",
        "/api/v1/statuses/1/2/3",
    ] {
        let (st, _, b) = s.get(path, t).await;
        assert_error(st, &b, StatusCode::NOT_FOUND, path);
    }
    // A known route with a method it does not have.
    let (st, _, _) = s.delete("/api/v1/timelines/home", t).await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn tokens_and_scopes() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let read = s.token_with_scopes(&a, "read").await;
    let write_statuses = s.token_with_scopes(&a, "write:statuses").await;
    let app = s.app().await.clone();

    // Missing or bad tokens: 401 where a user is needed.
    for header in [
        None,
        Some("Bearer nope"),
        Some("Bearer "),
        Some("Basic dXNlcjpwYXNz"),
        Some("bearer"),
    ] {
        let mut rb = s.http.get(s.url("/api/v1/timelines/home"));
        if let Some(h) = header {
            rb = rb.header("authorization", h);
        }
        let res = rb.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{header:?}");
        let body: Value = res.json().await.unwrap();
        assert_valid("Error", &body);
    }
    // A bad token is refused even where signed-out access is fine.
    let (st, _, b) = s.get("/api/v1/timelines/public", Some("garbage")).await;
    assert_error(st, &b, StatusCode::UNAUTHORIZED, "public with a bad token");
    let (st, _, _) = s
        .get("/api/v1/timelines/public?access_token=garbage", None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // The token in the query string works.
    let (st, _, _) = s
        .get(
            &format!("/api/v1/timelines/home?access_token={}", a.token),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    // Missing scope: 403.
    let id = s.status(&a, "scoped", "public").await;
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/statuses".to_string(),
            json!({"status": "x"}),
        ),
        (
            Method::POST,
            format!("/api/v1/statuses/{id}/favourite"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/api/v1/statuses/{id}/bookmark"),
            json!({}),
        ),
        (Method::DELETE, format!("/api/v1/statuses/{id}"), json!({})),
        (
            Method::PATCH,
            "/api/v1/accounts/update_credentials".to_string(),
            json!({"note": "x"}),
        ),
        (
            Method::POST,
            "/api/v1/lists".to_string(),
            json!({"title": "x"}),
        ),
        (
            Method::POST,
            "/api/v2/filters".to_string(),
            json!({"title": "x", "context": ["home"]}),
        ),
        (
            Method::POST,
            "/api/v1/notifications/clear".to_string(),
            json!({}),
        ),
        (
            Method::POST,
            format!("/api/v1/accounts/{}/follow", a.id),
            json!({}),
        ),
    ] {
        let (st, _, b) = s
            .request(method.clone(), &path, Some(&read), Some(&body))
            .await;
        assert_error(
            st,
            &b,
            StatusCode::FORBIDDEN,
            &format!("read token {method} {path}"),
        );
    }
    for path in [
        "/api/v1/timelines/home",
        "/api/v1/notifications",
        "/api/v1/accounts/verify_credentials",
        "/api/v1/lists",
        "/api/v1/bookmarks",
    ] {
        let (st, _, b) = s.get(path, Some(&write_statuses)).await;
        assert_error(
            st,
            &b,
            StatusCode::FORBIDDEN,
            &format!("write token GET {path}"),
        );
    }
    // …while what it is for works.
    let (st, _, b) = s
        .post(
            "/api/v1/statuses",
            Some(&write_statuses),
            json!({"status": "ok"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // An app token (no user) on user endpoints is refused, not a crash.
    for path in ["/api/v1/timelines/home", "/api/v1/notifications"] {
        let (st, _, b) = s.get(path, Some(&app.app_token)).await;
        assert!(st.is_client_error(), "{path}: {st} {b}");
    }
    let (st, _, _) = s
        .post(
            "/api/v1/statuses",
            Some(&app.app_token),
            json!({"status": "x"}),
        )
        .await;
    assert!(st.is_client_error());
}

// --- property test -----------------------------------------------------------------------------

/// (method, path template) for every route the API declares, read from its source so that new
/// routes are covered without editing this list.
fn declared_routes() -> Vec<(Method, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../kring-api/src/routes");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("routes directory") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for seg in text.split(".route(").skip(1) {
            // The call ends at the next route, or at the end of the builder expression.
            let seg = seg.split("\n}").next().unwrap_or(seg);
            let Some(start) = seg.find('"') else { continue };
            let Some(len) = seg[start + 1..].find('"') else {
                continue;
            };
            let route = seg[start + 1..start + 1 + len].to_string();
            let handlers = &seg[start + 1 + len..];
            for (name, method) in [
                ("get(", Method::GET),
                ("post(", Method::POST),
                ("put(", Method::PUT),
                ("patch(", Method::PATCH),
                ("delete(", Method::DELETE),
            ] {
                let found = handlers.match_indices(name).any(|(i, _)| {
                    i == 0
                        || !handlers.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && handlers.as_bytes()[i - 1] != b'_'
                });
                if found {
                    out.push((method, route.clone()));
                }
            }
        }
    }
    out.sort_by(|a, b| (a.1.as_str(), a.0.as_str()).cmp(&(b.1.as_str(), b.0.as_str())));
    out.dedup();
    out
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
    Raw(String, Vec<u8>),
}

#[derive(Debug, Clone)]
struct Case {
    route: usize,
    method_override: Option<Method>,
    ids: Vec<String>,
    query: Vec<(String, String)>,
    body: Body,
    token: usize,
}

/// Field names the API reads, so that random values reach the parsers behind them.
const KEYS: &[&str] = &[
    "status",
    "in_reply_to_id",
    "sensitive",
    "spoiler_text",
    "visibility",
    "language",
    "media_ids",
    "poll",
    "scheduled_at",
    "limit",
    "max_id",
    "since_id",
    "min_id",
    "id",
    "types",
    "exclude_types",
    "account_id",
    "account_ids",
    "q",
    "type",
    "resolve",
    "following",
    "offset",
    "local",
    "remote",
    "only_media",
    "any",
    "tag",
    "list",
    "stream",
    "acct",
    "title",
    "replies_policy",
    "exclusive",
    "context",
    "filter_action",
    "expires_in",
    "keywords_attributes",
    "keyword",
    "whole_word",
    "status_id",
    "display_name",
    "note",
    "locked",
    "bot",
    "discoverable",
    "fields_attributes",
    "source",
    "home",
    "notifications",
    "last_read_id",
    "timeline",
    "reblogs",
    "notify",
    "comment",
    "category",
    "status_ids",
    "duration",
    "grant_type",
    "client_id",
    "client_secret",
    "code",
    "redirect_uri",
    "code_verifier",
    "scope",
    "username",
    "password",
    "refresh_token",
    "token",
    "client_name",
    "redirect_uris",
    "scopes",
    "website",
    "email",
    "agreement",
    "locale",
    "reason",
    "pinned",
    "tagged",
    "exclude_replies",
    "exclude_reblogs",
    "_destroy",
    "access_token",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9_]{0,12}",
        "[0-9]{1,25}",
        "-[0-9]{1,5}",
        Just(String::new()),
        Just("true".to_string()),
        Just("null".to_string()),
        Just("home".to_string()),
        Just("public".to_string()),
        Just("direct".to_string()),
        Just("mention".to_string()),
        "\\PC{0,20}",
        ".{0,40}",
        Just("x".repeat(6000)),
        Just("#tag @alice https://example.invalid/".to_string()),
        Just("%00%ff%".to_string()),
        Just("\u{0}\u{202e}\u{fffd}😀".to_string()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_string),
        1 => "[a-z_\\[\\]0-9]{1,12}",
        1 => proptest::sample::select(KEYS).prop_map(|k| format!("{k}[]")),
        1 => (proptest::sample::select(KEYS), "[a-z0-9]{0,3}")
            .prop_map(|(k, i)| format!("{k}[{i}][name]")),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        2 => Just(Body::None),
        4 => proptest::collection::vec((key(), json_value()), 0..8)
            .prop_map(|kv| Body::Json(Value::Object(kv.into_iter().collect()))),
        1 => json_value().prop_map(Body::Json),
        3 => proptest::collection::vec((key(), text()), 0..8).prop_map(Body::Form),
        2 => proptest::collection::vec((key(), text()), 0..8).prop_map(multipart),
        1 => (
            prop_oneof![
                Just("application/json".to_string()),
                Just("multipart/form-data; boundary=b".to_string()),
                Just("text/plain".to_string()),
                Just("application/x-www-form-urlencoded".to_string()),
                Just(String::new()),
                "[a-z]{1,10}/[a-z+.-]{1,12}",
            ],
            proptest::collection::vec(any::<u8>(), 0..200),
        )
            .prop_map(|(ct, bytes)| Body::Raw(ct, bytes)),
    ]
}

/// Text fields as a `multipart/form-data` body (what masto.js sends).
fn multipart(fields: Vec<(String, String)>) -> Body {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--b\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str("--b--\r\n");
    Body::Raw(
        "multipart/form-data; boundary=b".to_string(),
        body.into_bytes(),
    )
}

fn case(routes: usize, known_ids: Vec<String>) -> impl Strategy<Value = Case> {
    let id = prop_oneof![
        3 => proptest::sample::select(known_ids),
        1 => "[0-9]{1,19}",
        1 => "[0-9]{20,30}",
        1 => "[a-zA-Z%~.-]{1,10}",
        1 => Just("-1".to_string()),
        1 => "\\PC{1,6}",
    ];
    (
        0..routes,
        proptest::option::weighted(
            0.1,
            proptest::sample::select(vec![
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
                Method::HEAD,
            ]),
        ),
        proptest::collection::vec(id, 2),
        proptest::collection::vec((key(), text()), 0..6),
        body(),
        0..4usize,
    )
        .prop_map(|(route, method_override, ids, query, body, token)| Case {
            route,
            method_override,
            ids,
            query,
            body,
            token,
        })
}

fn fill(template: &str, ids: &[String]) -> String {
    let enc = |s: &str| {
        // Keep what the generator made (even odd escapes), but never a path separator.
        s.replace('/', "%2F")
            .replace('?', "%3F")
            .replace('#', "%23")
    };
    let mut out = String::new();
    let mut n = 0;
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .unwrap_or(rest.len() - 1);
        let name = &rest[open + 1..close];
        let value = if name == "*stream" {
            // Never a real stream name: a valid one would answer with an endless body.
            format!("x{}", enc(&ids[n % ids.len()]))
        } else {
            enc(&ids[n % ids.len()])
        };
        out.push_str(&value);
        n += 1;
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn random_requests_never_get_a_server_error() {
    let routes = declared_routes();
    assert!(
        routes.len() >= 90,
        "expected the API's routes, found {}: {routes:?}",
        routes.len()
    );
    for must in ["/api/v1/statuses", "/api/v1/timelines/home", "/oauth/token"] {
        assert!(routes.iter().any(|(_, r)| r == must), "{must} not found");
    }
    // Streaming sockets and SSE answer with endless bodies when they succeed; they are covered
    // by their own tests.
    let routes: Vec<(Method, String)> = routes
        .into_iter()
        .filter(|(_, r)| r != "/api/v1/streaming" && r != "/api/v1/streaming/")
        .collect();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (s, users, known) = rt.block_on(async {
        let s = TestServer::start().await;
        let a = s.register("alice").await;
        let b = s.register("bob").await;
        s.follow(&b, &a).await;
        let status = s.status(&a, "hello #fuzz @bob", "public").await;
        let private = s.status(&a, "private", "private").await;
        let list = s
            .ok_post("/api/v1/lists", Some(&a.token), json!({"title": "L"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let filter = s
            .ok_post(
                "/api/v2/filters",
                Some(&a.token),
                json!({"title": "F", "context": ["home"], "keywords_attributes": [{"keyword": "k"}]}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let notes = s.ok("/api/v1/notifications", Some(&b.token)).await;
        let note = notes[0]["id"].as_str().unwrap_or("1").to_string();
        let read = s.token_with_scopes(&a, "read").await;
        let known = vec![
            a.id.clone(),
            b.id.clone(),
            status,
            private,
            list,
            filter,
            note,
            "fuzz".to_string(),
        ];
        (s, vec![a, b, User { token: read, ..Default::default() }], known)
    });

    let cases: u32 = std::env::var("KRING_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96);
    let mut runner = TestRunner::new(PropConfig {
        cases,
        failure_persistence: None,
        ..PropConfig::default()
    });
    let seen: Arc<Mutex<BTreeMap<u16, usize>>> = Arc::default();
    let sent = Arc::new(Mutex::new(0usize));
    let result = runner.run(&case(routes.len(), known), |c| {
        let (method, template) = &routes[c.route];
        let method = c.method_override.clone().unwrap_or_else(|| method.clone());
        let mut path = fill(template, &c.ids);
        if !c.query.is_empty() {
            let q: Vec<String> = c
                .query
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        k.replace('&', "%26").replace('#', "%23"),
                        form_escape(v)
                    )
                })
                .collect();
            path.push('?');
            path.push_str(&q.join("&"));
        }
        let token: Option<String> = match c.token {
            0 => None,
            1 => Some(users[0].token.clone()),
            2 => Some(users[1].token.clone()),
            _ => Some(users[2].token.clone()),
        };
        let status = rt.block_on(async {
            let mut rb = s.http.request(method.clone(), s.url(&path));
            if let Some(t) = &token {
                rb = rb.bearer_auth(t);
            }
            rb = match &c.body {
                Body::None => rb,
                Body::Json(v) => rb.json(v),
                Body::Form(f) => rb.form(f),
                Body::Raw(ct, bytes) => {
                    let rb = rb.body(bytes.clone());
                    if ct.is_empty() {
                        rb
                    } else {
                        rb.header("content-type", ct)
                    }
                }
            };
            match rb.send().await {
                Ok(res) => {
                    let st = res.status();
                    // Read the body (bounded in time), so a failure while producing it counts.
                    let _ =
                        tokio::time::timeout(std::time::Duration::from_secs(5), res.bytes()).await;
                    Ok(st)
                }
                Err(e) => Err(e.to_string()),
            }
        });
        let status = status
            .map_err(|e| TestCaseError::fail(format!("{method} {path}: request failed: {e}")))?;
        *sent.lock().unwrap() += 1;
        *seen.lock().unwrap().entry(status.as_u16()).or_default() += 1;
        if status.is_server_error() {
            return Err(TestCaseError::fail(format!(
                "{method} {path} (token {}) body {:?} -> {status}",
                c.token, c.body
            )));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let seen = seen.lock().unwrap().clone();
    let sent = *sent.lock().unwrap();
    eprintln!("{sent} random requests, statuses: {seen:?}");
    assert!(sent >= cases as usize, "{sent} < {cases}");
    assert_eq!(seen.values().sum::<usize>(), sent);
    // The generator must reach both handlers that succeed and ones that refuse.
    let ok = seen
        .iter()
        .filter(|(k, _)| (200..300).contains(*k))
        .map(|(_, v)| v)
        .sum::<usize>();
    let client = seen
        .iter()
        .filter(|(k, _)| (400..500).contains(*k))
        .map(|(_, v)| v)
        .sum::<usize>();
    assert!(ok > 0 && client > 0, "{seen:?}");
    assert!(!seen.keys().any(|k| *k >= 500), "{seen:?}");
    rt.block_on(s.stop());
}

fn form_escape(v: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", &[("v", v)])
        .map(|u| u.query().unwrap_or("").trim_start_matches("v=").to_string())
        .unwrap_or_default()
}

/// Unknown paths: browsers loading a page get the web interface's HTML page (with its
/// security headers); API clients get Mastodon's JSON error, also under /api/ for browsers.
#[tokio::test]
async fn unknown_paths_answer_in_the_askers_format() {
    let s = TestServer::start().await;
    let http = reqwest::Client::new();
    let html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for (path, accept, want_html) in [
        ("/no/such/page", Some(html), true),
        ("/no/such/page", None, false),
        ("/no/such/page", Some("application/json"), false),
        ("/api/v1/no_such_endpoint", Some(html), false),
        ("/api/v1/no_such_endpoint", Some("*/*"), false),
    ] {
        let mut rb = http.get(s.url(path));
        if let Some(a) = accept {
            rb = rb.header(reqwest::header::ACCEPT, a);
        }
        let res = rb.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path} {accept:?}");
        let ct = res.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        let csp = res
            .headers()
            .get(reqwest::header::CONTENT_SECURITY_POLICY)
            .is_some();
        let body = res.text().await.unwrap();
        if want_html {
            assert!(ct.starts_with("text/html"), "{path}: {ct}");
            assert!(csp, "{path}: the page has the web door's CSP");
            assert!(body.contains("<h1>Not found</h1>"), "{body}");
        } else {
            assert!(
                ct.starts_with("application/json"),
                "{path} {accept:?}: {ct}"
            );
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["error"], "Record not found");
        }
    }
}

/// Apps register only http(s) websites and redirect URIs a browser will not run; validation
/// errors carry Mastodon's prefix once.
#[tokio::test]
async fn apps_refuse_unsafe_urls_and_errors_are_prefixed_once() {
    let s = TestServer::start().await;
    for (body, what) in [
        (
            json!({"client_name": "x", "redirect_uris": "javascript:alert(1)"}),
            "javascript: redirect",
        ),
        (
            json!({"client_name": "x", "redirect_uris": "DATA:text/html,<b>x</b>"}),
            "data: redirect",
        ),
        (
            json!({"client_name": "x", "redirect_uris": "vbscript:msgbox"}),
            "vbscript: redirect",
        ),
        (
            json!({"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "website": "javascript:alert(1)"}),
            "javascript: website",
        ),
        (
            json!({"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "website": "ftp://example.org"}),
            "ftp website",
        ),
    ] {
        let (st, _, b) = s
            .request(Method::POST, "/api/v1/apps", None, Some(&body))
            .await;
        assert_error(st, &b, StatusCode::UNPROCESSABLE_ENTITY, what);
    }
    // What apps really use still works: a custom scheme, https, and an http(s) website.
    let (st, _, b) = s
        .request(
            Method::POST,
            "/api/v1/apps",
            None,
            Some(&json!({"client_name": "x", "redirect_uris": "org.joinmastodon.app://callback", "website": "https://example.org"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");

    let a = s.register("alice").await;
    let t = Some(a.token.as_str());
    let (_, _, post) = s
        .request(
            Method::POST,
            "/api/v1/statuses",
            t,
            Some(&json!({"status": "just us", "visibility": "direct"})),
        )
        .await;
    let id = post["id"].as_str().expect("status id");
    let (st, _, b) = s
        .request(Method::POST, &format!("/api/v1/statuses/{id}/pin"), t, None)
        .await;
    assert_error(
        st,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "pin a direct post",
    );
    assert_eq!(
        b["error"], "Validation failed: This post cannot be pinned",
        "one prefix"
    );
}
