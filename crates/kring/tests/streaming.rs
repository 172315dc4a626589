// SPDX-License-Identifier: AGPL-3.0-or-later
//! Streaming: the WebSocket at /api/v1/streaming (query-string streams and subscribe /
//! unsubscribe messages), server-sent events at /api/v1/streaming/{stream}, and the health
//! check. Payloads are validated against Mastodon's OpenAPI schemas.
mod common;

use std::time::Duration;

use common::TestServer;
use common::schema::assert_valid;
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(700);

#[tokio::test]
async fn health() {
    let s = TestServer::start().await;
    let res = s
        .http
        .get(s.url("/api/v1/streaming/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "OK");
}

#[tokio::test]
async fn user_stream_update_notification_edit_delete() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    s.follow(&b, &a).await;
    let mut bs = s.websocket(&b.token, "stream=user").await;
    let mut as_ = s.websocket(&a.token, "stream=user").await;

    // update: a followed account posts.
    let id = s.status(&a, "hello followers", "public").await;
    let e = bs.expect_event("update", WAIT).await;
    assert_eq!(e.stream, json!(["user"]));
    assert_valid("Status", &e.payload_json);
    assert_eq!(e.payload_json["id"], id.as_str());
    assert_eq!(e.payload_json["account"]["id"], a.id.as_str());
    // The author's own home hears it too.
    let e = as_.expect_event("update", WAIT).await;
    assert_eq!(e.payload_json["id"], id.as_str());

    // notification: b favourites a's post.
    s.ok_post(
        &format!("/api/v1/statuses/{id}/favourite"),
        Some(&b.token),
        json!({}),
    )
    .await;
    let e = as_.expect_event("notification", WAIT).await;
    assert_valid("Notification", &e.payload_json);
    assert_eq!(e.payload_json["type"], "favourite");
    assert_eq!(e.payload_json["account"]["id"], b.id.as_str());
    assert_eq!(e.payload_json["status"]["id"], id.as_str());
    // A follow notification, too.
    let c = s.register("carol").await;
    s.follow(&c, &a).await;
    let e = as_.expect_event("notification", WAIT).await;
    assert_valid("Notification", &e.payload_json);
    assert_eq!(e.payload_json["type"], "follow");

    // status.update: an edit.
    s.put(
        &format!("/api/v1/statuses/{id}"),
        Some(&a.token),
        json!({"status": "hello, edited"}),
    )
    .await;
    let e = bs.expect_event("status.update", WAIT).await;
    assert_valid("Status", &e.payload_json);
    assert!(e.payload_json["edited_at"].is_string());

    // delete: the payload is the id as a string.
    s.delete(&format!("/api/v1/statuses/{id}"), Some(&a.token))
        .await;
    let e = bs.expect_event("delete", WAIT).await;
    assert_eq!(e.payload, id);

    // Not following: nothing from c's posts on b's user stream.
    s.status(&c, "carol is not followed by bob", "public").await;
    let rest = bs.drain(QUIET).await;
    assert!(
        rest.iter().all(|e| e.event != "update"),
        "unexpected: {rest:?}"
    );
    bs.close().await;
    as_.close().await;
}

#[tokio::test]
async fn notification_stream_and_public_streams() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let mut notes = s.websocket(&a.token, "stream=user:notification").await;
    let mut public = s.websocket(&b.token, "stream=public:local").await;
    let id = s.status(&a, "public words", "public").await;
    let e = public.expect_event("update", WAIT).await;
    assert_eq!(e.stream, json!(["public:local"]));
    assert_valid("Status", &e.payload_json);
    assert_eq!(e.payload_json["id"], id.as_str());
    // The notification stream carries notifications only.
    s.status(&b, "@alice hello", "public").await;
    let e = notes.next_event(WAIT).await.expect("an event");
    assert_eq!(e.event, "notification", "{e:?}");
    assert_eq!(e.stream, json!(["user:notification"]));
    assert_valid("Notification", &e.payload_json);
    assert_eq!(e.payload_json["type"], "mention");
    // Unlisted posts do not go to public streams.
    s.status(&a, "quietly", "unlisted").await;
    let rest = public.drain(QUIET).await;
    let updates: Vec<_> = rest.iter().filter(|e| e.event == "update").collect();
    assert_eq!(updates.len(), 1, "only b's public mention: {rest:?}");
    notes.close().await;
    public.close().await;
}

#[tokio::test]
async fn subscribe_and_unsubscribe_on_an_open_socket() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let mut ws = s.websocket(&b.token, "").await;
    ws.send_json(json!({"type": "subscribe", "stream": "hashtag", "tag": "Rust"}))
        .await;
    ws.sync().await;
    let id = s.status(&a, "I like #rust", "public").await;
    let e = ws.expect_event("update", WAIT).await;
    assert_eq!(e.stream, json!(["hashtag", "rust"]));
    assert_valid("Status", &e.payload_json);
    assert_eq!(e.payload_json["id"], id.as_str());
    // Other tags do not arrive.
    s.status(&a, "I like #go", "public").await;
    assert!(ws.drain(QUIET).await.is_empty());

    // A list stream, subscribed by message.
    s.follow(&b, &a).await;
    let l = s
        .ok_post("/api/v1/lists", Some(&b.token), json!({"title": "A"}))
        .await;
    let lid = l["id"].as_str().unwrap().to_string();
    s.ok_post(
        &format!("/api/v1/lists/{lid}/accounts"),
        Some(&b.token),
        json!({"account_ids": [a.id]}),
    )
    .await;
    ws.send_json(json!({"type": "subscribe", "stream": "list", "list": lid}))
        .await;
    ws.sync().await;
    let id2 = s.status(&a, "for the list", "private").await;
    let e = ws.expect_event("update", WAIT).await;
    assert_eq!(e.stream, json!(["list", lid]));
    assert_eq!(e.payload_json["id"], id2.as_str());

    // Unsubscribe from the hashtag: no more events from it.
    ws.send_json(json!({"type": "unsubscribe", "stream": "hashtag", "tag": "rust"}))
        .await;
    ws.send_json(json!({"type": "unsubscribe", "stream": "list", "list": lid}))
        .await;
    ws.sync().await;
    s.status(&a, "more #rust", "public").await;
    let rest = ws.drain(QUIET).await;
    assert!(rest.is_empty(), "after unsubscribe: {rest:?}");

    // Bad messages get an error, and the socket stays open.
    ws.send_json(json!({"type": "subscribe", "stream": "nonsense"}))
        .await;
    let err = ws.next_json(WAIT).await.expect("an error message");
    assert!(err["error"].is_string(), "{err}");
    // Someone else's list cannot be subscribed to.
    let c = s.register("carol").await;
    let mut cs = s.websocket(&c.token, "").await;
    cs.send_json(json!({"type": "subscribe", "stream": "list", "list": lid}))
        .await;
    let err = cs.next_json(WAIT).await.expect("an error message");
    assert!(err["error"].is_string(), "{err}");
    ws.send_json(json!({"type": "subscribe", "stream": "hashtag", "tag": "rust"}))
        .await;
    ws.sync().await;
    s.status(&a, "again #rust", "public").await;
    ws.expect_event("update", WAIT).await;
    ws.close().await;
    cs.close().await;
}

#[tokio::test]
async fn websocket_authentication() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    // No token, a bad token: refused before the upgrade.
    for url in [
        format!("ws://127.0.0.1:{}/api/v1/streaming?stream=public", s.port),
        format!(
            "ws://127.0.0.1:{}/api/v1/streaming?stream=public&access_token=nope",
            s.port
        ),
    ] {
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                assert_eq!(res.status().as_u16(), 401, "{url}");
            }
            other => panic!("{url}: expected HTTP 401, got {other:?}"),
        }
    }
    // Unknown stream in the query: 400.
    let url = format!(
        "ws://127.0.0.1:{}/api/v1/streaming?stream=bogus&access_token={}",
        s.port, a.token
    );
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status().as_u16(), 400);
        }
        other => panic!("expected HTTP 400, got {other:?}"),
    }
    // The token as Sec-WebSocket-Protocol (what browsers can send).
    let mut req = format!("ws://127.0.0.1:{}/api/v1/streaming?stream=user", s.port)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("sec-websocket-protocol", a.token.parse().unwrap());
    let (mut ws, res) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(res.status().as_u16(), 101);
    use futures_util::StreamExt;
    // The server pings once it listens for events.
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a ping in time")
            .unwrap()
            .unwrap();
        if msg.is_ping() {
            break;
        }
    }
    let id = s.status(&a, "own post", "public").await;
    let text = loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("an event in time")
            .unwrap()
            .unwrap();
        // Pings come first (and every 30 s); the event is the first text message.
        if msg.is_text() {
            break msg.into_text().unwrap();
        }
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["event"], "update");
    let payload: serde_json::Value = serde_json::from_str(v["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["id"], id.as_str());
}

/// Read server-sent events until one named `name` arrives; returns its data.
async fn sse_event(res: &mut reqwest::Response, name: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut buf = String::new();
    loop {
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .unwrap_or_else(|_| panic!("no `{name}` event in time; got {buf:?}"))
            .expect("SSE body")
            .expect("SSE stream still open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf[..end].to_string();
            buf.drain(..end + 2);
            let mut event = "";
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
                }
            }
            if event == name {
                return data.join("\n");
            }
        }
    }
}

#[tokio::test]
async fn server_sent_events() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    s.follow(&b, &a).await;
    let mut res = s
        .http
        .get(s.url("/api/v1/streaming/user"))
        .bearer_auth(&b.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut tagged = s
        .http
        .get(s.url("/api/v1/streaming/hashtag?tag=news"))
        .bearer_auth(&b.token)
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.status(), StatusCode::OK);
    let id = s.status(&a, "breaking #news", "public").await;
    let data = sse_event(&mut res, "update").await;
    let status: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_valid("Status", &status);
    assert_eq!(status["id"], id.as_str());
    let data = sse_event(&mut tagged, "update").await;
    let status: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(status["id"], id.as_str());
    // Notifications on the SSE user stream too.
    let own = s.status(&b, "bob's post", "public").await;
    let mut a_res = s
        .http
        .get(s.url("/api/v1/streaming/user/notification"))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(a_res.status(), StatusCode::OK);
    s.ok_post(
        &format!("/api/v1/statuses/{id}/favourite"),
        Some(&b.token),
        json!({}),
    )
    .await;
    let data = sse_event(&mut a_res, "notification").await;
    let n: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_valid("Notification", &n);
    assert_eq!(n["type"], "favourite");
    let _ = own;
    // Bad requests.
    let (st, _, _) = s.get("/api/v1/streaming/user", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _, body) = s.get("/api/v1/streaming/bogus", Some(&a.token)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert_valid("Error", &body);
    let (st, _, _) = s.get("/api/v1/streaming/hashtag", Some(&a.token)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "hashtag without tag");
}

/// The web interface's page script signs its WebSocket in with the session cookie, but only
/// from this server's own pages: a cookie with another site's Origin (or none) is refused.
#[tokio::test]
async fn websocket_session_cookie_needs_our_origin() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let url = format!("ws://127.0.0.1:{}/api/v1/streaming?stream=user", s.port);
    let attempt = |origin: Option<String>| {
        let mut req = url.as_str().into_client_request().unwrap();
        req.headers_mut().insert(
            "cookie",
            format!("kring_session={}", a.token).parse().unwrap(),
        );
        if let Some(o) = origin {
            req.headers_mut().insert("origin", o.parse().unwrap());
        }
        tokio_tungstenite::connect_async(req)
    };
    for origin in [None, Some("https://evil.example".to_string())] {
        match attempt(origin.clone()).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                assert_eq!(res.status().as_u16(), 401, "{origin:?}");
            }
            other => panic!(
                "{origin:?}: expected HTTP 401, got {:?}",
                other.map(|r| r.1)
            ),
        }
    }
    let (_ws, res) = attempt(Some(format!("http://127.0.0.1:{}", s.port)))
        .await
        .expect("our own origin connects");
    assert_eq!(res.status().as_u16(), 101);
}

/// Several processes on one PostgreSQL database: a post made through one process streams to
/// the clients of another (LISTEN/NOTIFY relay), once, and a notification too. On SQLite
/// (one process) there is nothing to test.
#[tokio::test]
async fn events_reach_clients_of_another_process() {
    let s = TestServer::start().await;
    let Some(other) = s.second_process().await else {
        return;
    };
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    s.follow(&b, &a).await;
    // Bob and Alice stream from the second process; Alice posts through the first.
    let mut bs = other.websocket(&b.token, "stream=user").await;
    let mut as_ = other.websocket(&a.token, "stream=user").await;
    let id = s.status(&a, "from the first process", "public").await;
    let e = bs.expect_event("update", WAIT).await;
    assert_valid("Status", &e.payload_json);
    assert_eq!(e.payload_json["id"], id.as_str());
    s.ok_post(
        &format!("/api/v1/statuses/{id}/favourite"),
        Some(&b.token),
        json!({}),
    )
    .await;
    let e = as_.expect_event("notification", WAIT).await;
    assert_eq!(e.payload_json["type"], "favourite");
    // The first process's own clients get each event once, not again through the relay.
    let mut own = s.websocket(&b.token, "stream=user").await;
    let id2 = s.status(&a, "once only", "public").await;
    let e = own.expect_event("update", WAIT).await;
    assert_eq!(e.payload_json["id"], id2.as_str());
    let again: Vec<_> = own
        .drain(Duration::from_millis(700))
        .await
        .into_iter()
        .filter(|e| e.event == "update")
        .collect();
    assert!(again.is_empty(), "the same update twice: {:?}", again.len());
    drop(other);
}
