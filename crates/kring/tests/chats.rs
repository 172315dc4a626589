// SPDX-License-Identifier: AGPL-3.0-or-later
//! Group chats (issue 12) on one server, over real HTTP: starting a chat, messages and
//! replies, rename, add, remove, leave, edit, delete, unread counts and mark read, requests
//! held, accepted and declined, blocks refused, `direct` posts joining the chat of exactly
//! their people, Mastodon's conversations API and the `direct` stream's `conversation`
//! events — and that a message never shows to anyone outside the chat (a removed participant
//! included) on any read path.
mod common;

use std::time::Duration;

use common::schema::assert_valid;
use common::{TestServer, User, enc};
use kring::config::Partial;
use reqwest::StatusCode;
use serde_json::{Value, json};

const TAG: &str = "chattag";
const WAIT: Duration = Duration::from_secs(5);

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn start_chat(s: &TestServer, by: &User, with: &[&User], name: Option<&str>) -> Value {
    let ids: Vec<&str> = with.iter().map(|u| u.id.as_str()).collect();
    let mut body = json!({ "account_ids": ids });
    if let Some(n) = name {
        body["name"] = json!(n);
    }
    s.ok_post("/api/v1/kring/chats", Some(&by.token), body)
        .await
}

async fn say(s: &TestServer, u: &User, chat: &str, text: &str) -> Value {
    let m = s
        .ok_post(
            &format!("/api/v1/kring/chats/{chat}/messages"),
            Some(&u.token),
            json!({ "status": text }),
        )
        .await;
    assert_valid("Status", &m);
    assert_eq!(m["visibility"], "direct", "{m}");
    m
}

/// The viewer's conversations (Mastodon's API), validated.
async fn conversations(s: &TestServer, u: &User) -> Vec<Value> {
    let list = s.ok("/api/v1/conversations", Some(&u.token)).await;
    for c in list.as_array().unwrap() {
        assert_valid("Conversation", c);
    }
    list.as_array().unwrap().clone()
}

async fn conversation(s: &TestServer, u: &User, chat: &str) -> Option<Value> {
    conversations(s, u)
        .await
        .into_iter()
        .find(|c| c["id"] == chat)
}

async fn counts(s: &TestServer, u: &User) -> Value {
    s.ok("/api/v1/kring/chats/counts", Some(&u.token)).await
}

/// `who` cannot see any of `hidden` anywhere: by id, thread, timelines, profiles,
/// notifications, search, the chat itself and its messages.
async fn assert_hidden_from(
    s: &TestServer,
    who: &User,
    author: &User,
    chat: &str,
    hidden: &[&str],
) {
    let token = Some(who.token.as_str());
    for id in hidden {
        for path in [
            format!("/api/v1/statuses/{id}"),
            format!("/api/v1/statuses/{id}/context"),
        ] {
            let (st, _, body) = s.get(&path, token).await;
            assert_eq!(
                st,
                StatusCode::NOT_FOUND,
                "{} GET {path}: {body}",
                who.username
            );
        }
    }
    for path in [
        format!("/api/v1/kring/chats/{chat}"),
        format!("/api/v1/kring/chats/{chat}/messages"),
    ] {
        let (st, _, body) = s.get(&path, token).await;
        assert_eq!(
            st,
            StatusCode::NOT_FOUND,
            "{} GET {path}: {body}",
            who.username
        );
    }
    let (st, _, _) = s
        .post(
            &format!("/api/v1/conversations/{chat}/read"),
            token,
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    for path in [
        "/api/v1/timelines/home".to_string(),
        "/api/v1/timelines/public".to_string(),
        format!("/api/v1/timelines/tag/{TAG}"),
        format!("/api/v1/accounts/{}/statuses", author.id),
        "/api/v1/notifications".to_string(),
        "/api/v1/conversations".to_string(),
        "/api/v1/kring/chats".to_string(),
        "/api/v1/kring/chats/requests".to_string(),
        format!("/api/v2/search?q={}&resolve=true", enc("secretword")),
        format!("/api/v2/search?q={}&resolve=true", enc(&format!("#{TAG}"))),
    ] {
        let text = s.ok(&path, token).await.to_string();
        for id in hidden {
            // As an entity (their own replies still name it as what they answered).
            let entity = format!("\"id\":\"{id}\"");
            assert!(
                !text.contains(&entity),
                "{} {path} shows {id}",
                who.username
            );
        }
        assert!(
            !text.contains("secretword"),
            "{} {path} shows a message",
            who.username
        );
    }
    // The ActivityPub document, unsigned.
    for id in hidden {
        let path = format!("/users/{}/statuses/{id}", author.username);
        let res = s
            .http
            .get(s.url(&path))
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "AS2 {path}");
    }
}

#[tokio::test]
async fn a_chat_of_three_from_start_to_finish() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let c = s.register("carol").await;
    let d = s.register("dave").await;
    let x = s.register("xavier").await;
    // B follows A (A's chat lands in B's inbox); C does not (a request). X follows A: a
    // follower is not in the chat.
    s.follow(&b, &a).await;
    s.follow(&x, &a).await;
    s.follow(&d, &a).await;

    let chat = start_chat(&s, &a, &[&b, &c], Some("Plans")).await;
    assert_valid("Conversation", &chat);
    let cid = id_of(&chat);
    assert_eq!(chat["name"], "Plans");
    assert_eq!(chat["accounts"].as_array().unwrap().len(), 2, "{chat}");
    assert!(chat["last_status"].is_null());

    // Starting with nobody, or only oneself, is refused.
    let (st, _, body) = s
        .post(
            "/api/v1/kring/chats",
            Some(&a.token),
            json!({"account_ids": [a.id]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].is_string());

    let m1 = say(&s, &a, &cid, &format!("first secretword #{TAG}")).await;
    let m1id = id_of(&m1);
    // B: in the inbox, one unread; C: among requests, not in the inbox.
    let bc = conversation(&s, &b, &cid)
        .await
        .expect("B's inbox has the chat");
    assert_eq!(bc["unread"], true);
    assert_eq!(bc["unread_count"], 1);
    assert_eq!(bc["last_status"]["id"], m1id.as_str());
    assert_eq!(counts(&s, &b).await["unread"], 1);
    assert!(conversation(&s, &c, &cid).await.is_none());
    let reqs = s.ok("/api/v1/kring/chats/requests", Some(&c.token)).await;
    assert_eq!(TestServer::ids(&reqs), vec![cid.clone()]);
    assert_eq!(reqs[0]["request"], true);
    assert_eq!(counts(&s, &c).await["requests"], 1);
    // A's own message is not unread for A.
    assert_eq!(conversation(&s, &a, &cid).await.unwrap()["unread"], false);
    // Everyone in it reads it by id; C may read it while deciding.
    for u in [&a, &b, &c] {
        s.ok(&format!("/api/v1/statuses/{m1id}"), Some(&u.token))
            .await;
    }
    let msgs = s
        .ok(
            &format!("/api/v1/kring/chats/{cid}/messages"),
            Some(&b.token),
        )
        .await;
    assert_eq!(TestServer::ids(&msgs), vec![m1id.clone()]);

    // C accepts: the chat moves to C's inbox.
    let accepted = s
        .ok_post(
            &format!("/api/v1/kring/chats/{cid}/accept"),
            Some(&c.token),
            json!({}),
        )
        .await;
    assert_eq!(accepted["request"], false);
    assert!(conversation(&s, &c, &cid).await.is_some());

    // B replies with Pleroma's `in_reply_to_conversation_id`, answering A's message.
    let r = s
        .post_status(
            &b,
            json!({"status": "a reply secretword", "in_reply_to_conversation_id": cid, "in_reply_to_id": m1id}),
        )
        .await;
    let rid = id_of(&r);
    assert_eq!(r["visibility"], "direct");
    assert_eq!(r["in_reply_to_id"], m1id.as_str());
    let ac = conversation(&s, &a, &cid).await.unwrap();
    assert_eq!(ac["unread_count"], 1);
    assert_eq!(ac["last_status"]["id"], rid.as_str());
    // A reply to a message without naming the chat stays in it too.
    let r2 = s
        .post_status(
            &c,
            json!({"status": "me too", "in_reply_to_id": m1id, "visibility": "public"}),
        )
        .await;
    assert_eq!(
        r2["visibility"], "direct",
        "a reply in a chat stays in it: {r2}"
    );
    let ac = conversation(&s, &a, &cid).await.unwrap();
    assert_eq!(ac["unread_count"], 2);
    assert_eq!(counts(&s, &a).await["unread"], 2);
    // Mark read (Mastodon's endpoint).
    let read = s
        .ok_post(
            &format!("/api/v1/conversations/{cid}/read"),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_valid("Conversation", &read);
    assert_eq!(read["unread"], false);
    assert_eq!(counts(&s, &a).await["unread"], 0);
    // Newest activity first: a newer chat of A's comes first until this one moves.
    let other = start_chat(&s, &a, &[&d], None).await;
    let oid = id_of(&other);
    say(&s, &a, &oid, "other chat").await;
    assert_eq!(conversations(&s, &a).await[0]["id"], oid.as_str());
    say(&s, &a, &cid, "back here secretword").await;
    assert_eq!(conversations(&s, &a).await[0]["id"], cid.as_str());

    // Rename: the creator may; B may not (the chat is managed by its creator).
    let (st, _, _) = s
        .patch(
            &format!("/api/v1/kring/chats/{cid}"),
            Some(&b.token),
            json!({"name": "Mine"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, renamed) = s
        .patch(
            &format!("/api/v1/kring/chats/{cid}"),
            Some(&a.token),
            json!({"name": "Weekend"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "Weekend");
    assert_eq!(
        s.ok(&format!("/api/v1/kring/chats/{cid}"), Some(&b.token))
            .await["name"],
        "Weekend"
    );

    // Edit and delete reuse the statuses API.
    let (st, _, edited) = s
        .put(
            &format!("/api/v1/statuses/{m1id}"),
            Some(&a.token),
            json!({"status": "first, edited secretword"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{edited}");
    let seen = s
        .ok(&format!("/api/v1/statuses/{m1id}"), Some(&b.token))
        .await;
    assert!(seen["content"].as_str().unwrap().contains("edited"));
    let (st, _, _) = s
        .delete(&format!("/api/v1/statuses/{rid}"), Some(&b.token))
        .await;
    assert_eq!(st, StatusCode::OK);
    let msgs = s
        .ok(
            &format!("/api/v1/kring/chats/{cid}/messages"),
            Some(&a.token),
        )
        .await;
    assert!(!TestServer::ids(&msgs).contains(&rid));

    // Add D: D reads the chat from now on, not what was said before D came (docs/chats.md:
    // those messages were written to the people in it then); X (a follower of A) never
    // reads any of it.
    let added = s
        .ok_post(
            &format!("/api/v1/kring/chats/{cid}/participants"),
            Some(&a.token),
            json!({"account_ids": [d.id]}),
        )
        .await;
    assert_eq!(added["accounts"].as_array().unwrap().len(), 3, "{added}");
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{m1id}"), Some(&d.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "D reads nothing from before");
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{m1id}/context"), Some(&d.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let before = s
        .ok(
            &format!("/api/v1/kring/chats/{cid}/messages"),
            Some(&d.token),
        )
        .await;
    assert_eq!(before, json!([]), "D's view of the chat starts empty");
    let dc = conversation(&s, &d, &cid).await.expect("D has the chat");
    assert!(dc["last_status"].is_null(), "{dc}");
    assert_eq!(dc["unread_count"], 0);
    let welcome = say(&s, &a, &cid, "welcome dave secretword").await;
    let wid = id_of(&welcome);
    s.ok(&format!("/api/v1/statuses/{wid}"), Some(&d.token))
        .await;
    let since = s
        .ok(
            &format!("/api/v1/kring/chats/{cid}/messages"),
            Some(&d.token),
        )
        .await;
    assert_eq!(TestServer::ids(&since), vec![wid.clone()]);
    // The others still read everything.
    s.ok(&format!("/api/v1/statuses/{m1id}"), Some(&b.token))
        .await;
    let (st, _, _) = s
        .post(
            &format!("/api/v1/kring/chats/{cid}/participants"),
            Some(&b.token),
            json!({"account_ids": [x.id]}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "only the creator adds");
    assert_hidden_from(&s, &x, &a, &cid, &[&m1id]).await;

    // B was mentioned (a notification) before being removed: removing B takes every
    // message away from B at once, on every path.
    let m_mention = say(&s, &a, &cid, "@bob look secretword").await;
    let mmid = id_of(&m_mention);
    let notes = s.ok("/api/v1/notifications", Some(&b.token)).await;
    assert!(
        notes.to_string().contains(&mmid),
        "B is notified of the mention"
    );
    let (st, _, after) = s
        .delete(
            &format!("/api/v1/kring/chats/{cid}/participants/{}", b.id),
            Some(&a.token),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{after}");
    assert_eq!(after["accounts"].as_array().unwrap().len(), 2);
    assert_hidden_from(&s, &b, &a, &cid, &[&m1id, &mmid]).await;
    // B can no longer post into it either.
    let (st, _, _) = s
        .post(
            &format!("/api/v1/kring/chats/{cid}/messages"),
            Some(&b.token),
            json!({"status": "hello?"}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _) = s
        .post(
            "/api/v1/statuses",
            Some(&b.token),
            json!({"status": "hello?", "in_reply_to_conversation_id": cid}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // C leaves: the same.
    let (st, _, _) = s
        .post(
            &format!("/api/v1/kring/chats/{cid}/leave"),
            Some(&c.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_hidden_from(&s, &c, &a, &cid, &[&m1id, &mmid]).await;
    assert_eq!(
        s.ok(&format!("/api/v1/kring/chats/{cid}"), Some(&a.token))
            .await["accounts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Delete from the inbox: gone from D's list until the next message, D still in it.
    let (st, _, _) = s
        .delete(&format!("/api/v1/conversations/{cid}"), Some(&d.token))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(conversation(&s, &d, &cid).await.is_none());
    s.ok(&format!("/api/v1/statuses/{wid}"), Some(&d.token))
        .await;
    say(&s, &a, &cid, "are you there").await;
    let back = conversation(&s, &d, &cid)
        .await
        .expect("back with a new message");
    assert_eq!(back["unread_count"], 1);
    // Mute: a muted chat's unread messages do not count in the total.
    s.ok_post(
        &format!("/api/v1/kring/chats/{oid}/read"),
        Some(&d.token),
        json!({}),
    )
    .await;
    assert_eq!(counts(&s, &d).await["unread"], 1);
    let muted = s
        .ok_post(
            &format!("/api/v1/kring/chats/{cid}/mute"),
            Some(&d.token),
            json!({}),
        )
        .await;
    assert_eq!(muted["muted"], true);
    assert_eq!(counts(&s, &d).await["unread"], 0);
}

#[tokio::test]
async fn direct_posts_join_the_chat_of_exactly_their_people() {
    let s = TestServer::start().await;
    let a = s.register("ann").await;
    let b = s.register("ben").await;
    let c = s.register("cat").await;
    s.follow(&b, &a).await;
    s.follow(&c, &a).await;
    let first = s
        .post_status(
            &a,
            json!({"status": "@ben @cat hello secretword", "visibility": "direct"}),
        )
        .await;
    let list = conversations(&s, &b).await;
    assert_eq!(list.len(), 1);
    let cid = id_of(&list[0]);
    assert_eq!(list[0]["last_status"]["id"], first["id"]);
    // Another direct post to the same two joins the same chat; one to B alone starts another.
    s.post_status(
        &a,
        json!({"status": "@cat @ben again", "visibility": "direct"}),
    )
    .await;
    let only_b = s
        .post_status(
            &a,
            json!({"status": "@ben just you", "visibility": "direct"}),
        )
        .await;
    let list = conversations(&s, &b).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["last_status"]["id"], only_b["id"]);
    assert_eq!(list[1]["id"], cid.as_str());
    assert_eq!(list[1]["unread_count"], 2);
    // C sees only the chat of three.
    let list = conversations(&s, &c).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], cid.as_str());
    // A Mastodon client's direct reply to the chat's message lands in the chat.
    let reply = s
        .post_status(
            &c,
            json!({"status": "@ann @ben answer", "visibility": "direct", "in_reply_to_id": first["id"]}),
        )
        .await;
    let list = conversations(&s, &a).await;
    let chat = list.iter().find(|x| x["id"] == cid.as_str()).unwrap();
    assert_eq!(chat["last_status"]["id"], reply["id"]);
}

#[tokio::test]
async fn blocks_and_the_servers_chat_setting_refuse_a_chat() {
    let s = TestServer::start_with(Partial {
        chat_from: Some(kring_service::chats::ChatFrom::Followers),
        ..Partial::default()
    })
    .await;
    let a = s.register("amy").await;
    let f = s.register("fred").await;
    let z = s.register("zoe").await;
    let e = s.register("eve").await;
    s.follow(&f, &a).await;
    s.follow(&e, &a).await;
    // Z does not follow A: with `chat_from = followers`, A may not start a chat with Z.
    let (st, _, body) = s
        .post(
            "/api/v1/kring/chats",
            Some(&a.token),
            json!({"account_ids": [z.id]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // E (a follower) blocks A: refused too, and A cannot add E to a chat.
    s.ok_post(
        &format!("/api/v1/accounts/{}/block", a.id),
        Some(&e.token),
        json!({}),
    )
    .await;
    let (st, _, _) = s
        .post(
            "/api/v1/kring/chats",
            Some(&a.token),
            json!({"account_ids": [e.id]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let chat = start_chat(&s, &a, &[&f], None).await;
    let cid = id_of(&chat);
    let (st, _, _) = s
        .post(
            &format!("/api/v1/kring/chats/{cid}/participants"),
            Some(&a.token),
            json!({"account_ids": [e.id]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // Nor can E bring A into a chat.
    let (st, _, _) = s
        .post(
            "/api/v1/kring/chats",
            Some(&e.token),
            json!({"account_ids": [a.id]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // F blocks A within their chat: A's messages no longer show in F's chat.
    let before = say(&s, &a, &cid, "before the block").await;
    s.ok_post(
        &format!("/api/v1/accounts/{}/block", a.id),
        Some(&f.token),
        json!({}),
    )
    .await;
    let after = say(&s, &a, &cid, "after the block").await;
    let msgs = s
        .ok(
            &format!("/api/v1/kring/chats/{cid}/messages"),
            Some(&f.token),
        )
        .await;
    let ids = TestServer::ids(&msgs);
    assert!(
        !ids.contains(&id_of(&before)) && !ids.contains(&id_of(&after)),
        "{msgs}"
    );
}

#[tokio::test]
async fn requests_are_held_until_accepted_and_declining_leaves() {
    let s = TestServer::start().await;
    let a = s.register("abe").await;
    let r = s.register("rita").await;
    let chat = start_chat(&s, &a, &[&r], None).await;
    let cid = id_of(&chat);
    say(&s, &a, &cid, "hi, stranger").await;
    assert!(conversations(&s, &r).await.is_empty());
    let reqs = s.ok("/api/v1/kring/chats/requests", Some(&r.token)).await;
    assert_eq!(reqs[0]["unread_count"], 1);
    // Unread requests do not count among unread chats, only as requests.
    let n = counts(&s, &r).await;
    assert_eq!(
        (n["unread"].as_i64(), n["requests"].as_i64()),
        (Some(0), Some(1))
    );
    let (st, _, _) = s
        .post(
            &format!("/api/v1/kring/chats/{cid}/decline"),
            Some(&r.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(s.ok("/api/v1/kring/chats/requests", Some(&r.token)).await[0].is_null());
    let (st, _, _) = s
        .get(&format!("/api/v1/kring/chats/{cid}"), Some(&r.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The creator of a chat only they manage leaves: the others manage it from now on.
    let r2 = s.register("ruth").await;
    let t = s.register("tom").await;
    let chat2 = start_chat(&s, &a, &[&r2, &t], None).await;
    let c2 = id_of(&chat2);
    assert_eq!(chat2["managers"], "creator");
    s.ok_post(
        &format!("/api/v1/kring/chats/{c2}/leave"),
        Some(&a.token),
        json!({}),
    )
    .await;
    let (st, _, renamed) = s
        .patch(
            &format!("/api/v1/kring/chats/{c2}"),
            Some(&t.token),
            json!({"name": "Ours"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["managers"], "everyone");
    // Accepting what is not a request is not found.
    let (st, _, _) = s
        .post(
            &format!("/api/v1/kring/chats/{cid}/accept"),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_direct_stream_carries_conversation_events() {
    let s = TestServer::start().await;
    let a = s.register("ada").await;
    let b = s.register("bea").await;
    let x = s.register("xan").await;
    s.follow(&b, &a).await;
    s.follow(&x, &a).await;
    let chat = start_chat(&s, &a, &[&b], None).await;
    let cid = id_of(&chat);
    let mut direct = s.websocket(&b.token, "stream=direct").await;
    let mut user = s.websocket(&b.token, "stream=user").await;
    let mut outsider = s.websocket(&x.token, "stream=direct").await;
    let m = say(&s, &a, &cid, "live secretword").await;
    let e = direct.expect_event("conversation", WAIT).await;
    assert_eq!(e.stream, json!(["direct"]));
    assert_valid("Conversation", &e.payload_json);
    assert_eq!(e.payload_json["id"], cid.as_str());
    assert_eq!(e.payload_json["unread"], true);
    assert_eq!(e.payload_json["last_status"]["id"], m["id"]);
    // The user stream never carries the conversation event; an outsider hears nothing.
    let on_user = user.drain(Duration::from_millis(800)).await;
    assert!(
        on_user.iter().all(|e| e.event != "conversation"),
        "{on_user:?}"
    );
    let heard = outsider.drain(Duration::from_millis(300)).await;
    assert!(heard.is_empty(), "{heard:?}");
    // A rename is a conversation event too.
    s.patch(
        &format!("/api/v1/kring/chats/{cid}"),
        Some(&a.token),
        json!({"name": "Live"}),
    )
    .await;
    let e = direct.expect_event("conversation", WAIT).await;
    assert_eq!(e.payload_json["name"], "Live");
    // Deleting the last message is a conversation event too (its last message changes).
    let gone = say(&s, &a, &cid, "soon gone").await;
    direct.expect_event("conversation", WAIT).await;
    s.delete(
        &format!("/api/v1/statuses/{}", id_of(&gone)),
        Some(&a.token),
    )
    .await;
    let e = direct.expect_event("conversation", WAIT).await;
    assert_eq!(e.payload_json["last_status"]["id"], m["id"]);
    // Removed: no more events.
    s.delete(
        &format!("/api/v1/kring/chats/{cid}/participants/{}", b.id),
        Some(&a.token),
    )
    .await;
    direct.drain(Duration::from_millis(500)).await;
    say(&s, &a, &cid, "after secretword").await;
    let after = direct.drain(Duration::from_millis(800)).await;
    assert!(after.is_empty(), "{after:?}");
    direct.close().await;
    user.close().await;
    outsider.close().await;
}

/// A page of the web interface as `u` (its session cookie): status and body.
async fn web_page(s: &TestServer, u: &User, path: &str) -> (StatusCode, String) {
    let res = s
        .http
        .get(s.url(path))
        .header("cookie", format!("kring_session={}", u.token))
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Post a form of the page `from` to `action` as `u`, with the page's form token: the
/// answer's status and `Location`.
async fn web_submit(
    s: &TestServer,
    u: &User,
    from: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let (_, html) = web_page(s, u, from).await;
    let at = html.find("name=\"_csrf\" value=\"").expect("a form token") + 20;
    let token = html[at..].split('"').next().unwrap().to_string();
    let mut form: Vec<(&str, &str)> = vec![("_csrf", &token)];
    form.extend_from_slice(fields);
    let res = s
        .http
        .post(s.url(action))
        .header("cookie", format!("kring_session={}", u.token))
        .form(&form)
        .send()
        .await
        .unwrap();
    let location = res
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (res.status(), location)
}

#[tokio::test]
async fn the_chat_pages_work_without_javascript() {
    let s = TestServer::start().await;
    let a = s.register("anna").await;
    let b = s.register("bert").await;
    let x = s.register("xeno").await;
    s.follow(&b, &a).await;
    let (st, html) = web_page(&s, &a, "/chats").await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("Start a chat"));
    // Start a chat with bert, then say something.
    let (st, to) = web_submit(
        &s,
        &a,
        "/chats",
        "/chats",
        &[("people", "bert"), ("name", "")],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{to}");
    let chat = to.trim_start_matches("/chats/").to_string();
    let (st, _) = web_submit(
        &s,
        &a,
        &to,
        &to,
        &[("op", "say"), ("text", "hello from the web secretword")],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    // Bert's inbox shows it unread, and the navigation counts it.
    let (_, html) = web_page(&s, &b, "/chats").await;
    assert!(html.contains(&format!("/chats/{chat}")), "{html}");
    assert!(
        html.contains("1<span class=\"visually-hidden\"> unread message"),
        "{html}"
    );
    assert!(html.contains("hello from the web secretword"));
    assert_eq!(counts(&s, &b).await["unread"], 1);
    // Opening the chat reads it.
    let (st, html) = web_page(&s, &b, &to).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("hello from the web secretword"));
    assert_eq!(counts(&s, &b).await["unread"], 0);
    // "Message" on bert's profile opens the same chat of the two of them.
    let (st, again) = web_submit(&s, &a, "/@bert", &format!("/chats/with/{}", b.id), &[]).await;
    assert_eq!((st, again.as_str()), (StatusCode::SEE_OTHER, to.as_str()));
    // A stranger's name is refused with the form kept.
    let (_, html) = web_page(&s, &a, "/chats").await;
    assert!(!html.contains("role=\"alert\""));
    let (st, _) = web_submit(&s, &a, "/chats", "/chats", &[("people", "nobody_here")]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // An outsider finds no such page; once removed, neither does bert.
    let (st, html) = web_page(&s, &x, &to).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(!html.contains("secretword"));
    let (st, _) = web_submit(&s, &a, &to, &format!("{to}/remove/{}", b.id), &[]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (st, html) = web_page(&s, &b, &to).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(!html.contains("secretword"));
    let (_, html) = web_page(&s, &b, "/chats").await;
    assert!(!html.contains("secretword"));
}

/// A small PNG (the server re-encodes it).
fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 40, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A `multipart/form-data` body of text fields and one file part named `file`.
fn multipart(fields: &[(&str, &str)], file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "KringChatBoundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Upload a picture through the API: the attachment.
async fn upload_png(s: &TestServer, u: &User, alt: &str) -> Value {
    let (ct, body) = multipart(&[("description", alt)], &png(8, 6));
    let (st, _, m) = s
        .raw(
            reqwest::Method::POST,
            "/api/v2/media",
            Some(&u.token),
            Some(&ct),
            body,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    m
}

/// Media in chats: pictures go with a message through `POST /api/v1/statuses`
/// (`in_reply_to_conversation_id` + `media_ids`), Kring's chat API and the chat page's
/// composer (a multipart form, no script); participants see them in the API and on the page;
/// nobody else finds the messages or their attachments on any path — by id, timelines,
/// search, notifications, the attachment's own endpoint, the chat's page — and someone
/// removed loses them at once. Local files are served at unguessable addresses
/// (capabilities, as Mastodon's), which are handed only to those who may read the message.
#[tokio::test]
async fn media_in_a_chat_only_its_people_see() {
    let s = TestServer::start().await;
    let a = s.register("alma").await;
    let b = s.register("boris").await;
    let x = s.register("xander").await;
    s.follow(&b, &a).await;
    s.follow(&x, &a).await;
    let chat = start_chat(&s, &a, &[&b], None).await;
    let cid = id_of(&chat);

    // Through Mastodon's statuses API, Pleroma's parameter naming the chat.
    let p1 = upload_png(&s, &a, "a red square").await;
    let m1 = s
        .post_status(
            &a,
            json!({"status": "a picture secretword", "in_reply_to_conversation_id": cid, "media_ids": [p1["id"]]}),
        )
        .await;
    assert_eq!(m1["visibility"], "direct");
    assert_eq!(m1["media_attachments"][0]["id"], p1["id"], "{m1}");
    assert_eq!(m1["media_attachments"][0]["description"], "a red square");
    // Through Kring's chat API: a picture alone is a message too.
    let p2 = upload_png(&s, &b, "another square").await;
    let m2 = s
        .ok_post(
            &format!("/api/v1/kring/chats/{cid}/messages"),
            Some(&b.token),
            json!({"status": "", "media_ids": [p2["id"]]}),
        )
        .await;
    assert_valid("Status", &m2);
    assert_eq!(m2["media_attachments"][0]["id"], p2["id"], "{m2}");
    // Someone else's upload, or one already used, is refused as Mastodon does.
    let (st, _, refused) = s
        .post(
            &format!("/api/v1/kring/chats/{cid}/messages"),
            Some(&a.token),
            json!({"status": "mine?", "media_ids": [p2["id"]]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");

    // Through the chat page's composer: text, a file and its description in one form.
    let path = format!("/chats/{cid}");
    let (_, html) = web_page(&s, &b, &path).await;
    assert!(html.contains("enctype=\"multipart/form-data\""), "{html}");
    let at = html.find("name=\"_csrf\" value=\"").expect("a form token") + 20;
    let csrf = html[at..].split('"').next().unwrap().to_string();
    let (ct, body) = multipart(
        &[
            ("_csrf", &csrf),
            ("text", "from the page secretword"),
            ("description", "a square from the page"),
        ],
        &png(5, 5),
    );
    let res = s
        .http
        .post(s.url(&format!("{path}/say")))
        .header("cookie", format!("kring_session={}", b.token))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // A form without its token is refused, and stores nothing.
    let (ct, body) = multipart(&[("text", "no token")], &png(5, 5));
    let res = s
        .http
        .post(s.url(&format!("{path}/say")))
        .header("cookie", format!("kring_session={}", b.token))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let msgs = s
        .ok(
            &format!("/api/v1/kring/chats/{cid}/messages"),
            Some(&a.token),
        )
        .await;
    let msgs = msgs.as_array().unwrap();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    let m3 = &msgs[0];
    assert!(
        m3["content"]
            .as_str()
            .unwrap()
            .contains("from the page secretword")
    );
    assert_eq!(
        m3["media_attachments"][0]["description"],
        "a square from the page"
    );
    let ids = [id_of(&m1), id_of(&m2), id_of(m3)];
    let media: Vec<String> = msgs
        .iter()
        .map(|m| {
            m["media_attachments"][0]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let urls: Vec<String> = msgs
        .iter()
        .map(|m| {
            m["media_attachments"][0]["url"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // Participants get the files; the page shows them.
    for u in &urls {
        let res = s.http.get(u.as_str()).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{u}");
        assert_eq!(res.headers()["content-type"], "image/png");
        // The key is 128 random bits: the address is the capability.
        let key = u.rsplit('/').next().unwrap();
        assert_eq!(key.split('.').next().unwrap().len(), 32, "{u}");
    }
    let (st, html) = web_page(&s, &a, &path).await;
    assert_eq!(st, StatusCode::OK);
    for u in &urls {
        let local = u.trim_start_matches(&s.url(""));
        assert!(html.contains(local), "the page shows {local}");
    }
    assert!(html.contains("alt=\"a red square\""));

    // X, a follower of both authors, finds none of it anywhere: not the messages, not the
    // attachments by id, not the files' addresses on any page or list.
    let check_outsider = async |who: &User| {
        assert_hidden_from(&s, who, &a, &cid, &[&ids[0]]).await;
        assert_hidden_from(&s, who, &b, &cid, &[&ids[1], &ids[2]]).await;
        for m in &media {
            let (st, _, _) = s.get(&format!("/api/v1/media/{m}"), Some(&who.token)).await;
            assert_eq!(st, StatusCode::NOT_FOUND, "{} GET media {m}", who.username);
            // Nor can they post someone else's attachment to show it.
            let (st, _, _) = s
                .post(
                    "/api/v1/statuses",
                    Some(&who.token),
                    json!({"status": "look", "media_ids": [m]}),
                )
                .await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        }
        for page in [
            "/api/v1/timelines/home",
            "/api/v1/timelines/public",
            "/api/v1/notifications",
            "/api/v1/conversations",
        ] {
            let text = s.ok(page, Some(&who.token)).await.to_string();
            for u in &urls {
                let key = u.rsplit('/').next().unwrap();
                assert!(!text.contains(key), "{} {page} shows a file", who.username);
            }
        }
        for page in [
            path.clone(),
            "/home".into(),
            "/@alma".into(),
            "/@boris".into(),
            "/chats".into(),
        ] {
            let (_, html) = web_page(&s, who, &page).await;
            for u in &urls {
                let key = u.rsplit('/').next().unwrap();
                assert!(!html.contains(key), "{} {page} shows a file", who.username);
            }
            assert!(!html.contains("secretword"), "{} {page}", who.username);
        }
        // The chat's composer refuses an outsider before storing anything.
        let (_, home) = web_page(&s, who, "/home").await;
        let at = home.find("name=\"_csrf\" value=\"").expect("a form token") + 20;
        let csrf = home[at..].split('"').next().unwrap().to_string();
        let (ct, body) = multipart(&[("_csrf", &csrf), ("text", "let me in")], &png(5, 5));
        let res = s
            .http
            .post(s.url(&format!("{path}/say")))
            .header("cookie", format!("kring_session={}", who.token))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{}", who.username);
    };
    check_outsider(&x).await;
    // Boris removed: the same at once.
    let (st, _, _) = s
        .delete(
            &format!("/api/v1/kring/chats/{cid}/participants/{}", b.id),
            Some(&a.token),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{}", ids[0]), Some(&b.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, html) = web_page(&s, &b, &path).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    for u in &urls {
        assert!(!html.contains(u.rsplit('/').next().unwrap()));
    }
}
