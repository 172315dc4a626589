// SPDX-License-Identifier: AGPL-3.0-or-later
//! A group chat across three real Kring servers (issue 12): the chat's home server A keeps its
//! name and participants, B learns them from A's chat document and A's `Update`s, messages
//! and replies land in the same chat on both, edits and deletions follow, a participant
//! removed on A loses the chat on B, one who leaves on B is gone on A — and C, a server with
//! no participant (whose erin follows the chat's creator), receives nothing.
//!
//! Cast: alice@A (starts the chat), dan@A (added later), bob@B (follows alice: the chat is in
//! his inbox), bea@B (does not: a request), erin@C.
mod common;
mod fed_common;

use fed_common::{FedUser, Node, eventually, follow, heard, id, live, local_copy, uri};
use reqwest::Method;
use serde_json::{Value, json};

/// The viewer's chat whose `uri` is `chat_uri`, from their inbox or requests.
async fn chat_on(on: &Node, viewer: &FedUser, chat_uri: &str) -> Option<Value> {
    for path in ["/api/v1/kring/chats", "/api/v1/kring/chats/requests"] {
        let list = on.ok(path, &viewer.token).await;
        if let Some(c) = list
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["uri"] == chat_uri)
        {
            return Some(c.clone());
        }
    }
    None
}

fn accts(chat: &Value) -> Vec<String> {
    let mut v: Vec<String> = chat["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["acct"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_across_servers_reaches_its_participants_and_nobody_else() {
    let (a, b, c) = tokio::join!(Node::start(), Node::start(), Node::start());
    let alice = a.register("alice").await;
    let dan = a.register("dan").await;
    let bob = b.register("bob").await;
    let bea = b.register("bea").await;
    let erin = c.register("erin").await;
    follow(&b, &bob, &alice).await;
    follow(&c, &erin, &alice).await;
    let bob_on_a = a.remote_id(&alice, &bob.handle).await;
    let bea_on_a = a.remote_id(&alice, &bea.handle).await;

    let chat = a
        .ok_post(
            "/api/v1/kring/chats",
            &alice.token,
            json!({"account_ids": [bob_on_a, bea_on_a], "name": "Trip", "managers": "everyone"}),
        )
        .await;
    let cid = id(&chat);
    let chat_uri = chat["uri"].as_str().unwrap().to_string();
    assert!(chat_uri.starts_with(&a.base), "{chat_uri}");

    // A message reaches B: bob has it in his inbox (one unread), bea among her requests.
    let m1 = a
        .ok_post(
            &format!("/api/v1/kring/chats/{cid}/messages"),
            &alice.token,
            json!({"status": "first secretword"}),
        )
        .await;
    let on_b = eventually("the chat reaches bob", async || {
        chat_on(&b, &bob, &chat_uri)
            .await
            // The unread count and the last message are read one after the other: wait for
            // both (a poll may fall between the message's arrival and the count's).
            .filter(|c| !c["last_status"].is_null() && c["unread_count"] == 1)
    })
    .await;
    assert_eq!(on_b["name"], "Trip");
    assert_eq!(on_b["unread_count"], 1);
    assert_eq!(on_b["request"], false);
    assert_eq!(on_b["home"], false);
    assert_eq!(on_b["last_status"]["uri"], uri(&m1));
    assert_eq!(
        accts(&on_b),
        vec![alice.handle.clone(), "bea".to_string()],
        "{on_b}"
    );
    let bcid = id(&on_b);
    let bea_sees = chat_on(&b, &bea, &chat_uri).await.expect("bea's request");
    assert_eq!(bea_sees["request"], true);
    let m1_on_b = id(&on_b["last_status"]);
    assert!(b.status(&bea, &m1_on_b).await.is_some());

    // bob replies on B (Pleroma's parameter): the reply lands in the chat on A and on B.
    let reply = b
        .post_status(
            &bob,
            json!({"status": "reply secretword", "in_reply_to_conversation_id": bcid, "in_reply_to_id": m1_on_b}),
        )
        .await;
    let on_a = eventually("bob's reply reaches alice's chat", async || {
        let c = a
            .ok(&format!("/api/v1/kring/chats/{cid}"), &alice.token)
            .await;
        // The chat's view reads its newest message and the unread count in two statements:
        // wait until both show the reply.
        (c["last_status"]["uri"] == reply["uri"] && c["unread_count"] == 1).then_some(c)
    })
    .await;
    assert_eq!(on_a["unread_count"], 1);
    assert_eq!(on_a["last_status"]["in_reply_to_id"], m1["id"]);
    let bea_list = chat_on(&b, &bea, &chat_uri).await.unwrap();
    assert_eq!(bea_list["last_status"]["uri"], reply["uri"]);

    // Rename and add on A: B hears of both.
    a.ok_send(
        Method::PATCH,
        &format!("/api/v1/kring/chats/{cid}"),
        &alice.token,
        json!({"name": "Trip 2"}),
    )
    .await;
    a.ok_post(
        &format!("/api/v1/kring/chats/{cid}/participants"),
        &alice.token,
        json!({"account_ids": [dan.id]}),
    )
    .await;
    eventually("B sees the new name and dan", async || {
        let c = chat_on(&b, &bob, &chat_uri).await?;
        (c["name"] == "Trip 2" && accts(&c).contains(&dan.handle)).then_some(())
    })
    .await;

    // Everyone manages this chat: bob renames it from B, and removes dan (on A) from B. B
    // asks A, the home, which decides and tells both servers.
    let dan_on_b = b.remote_id(&bob, &dan.handle).await;
    b.ok_send(
        Method::PATCH,
        &format!("/api/v1/kring/chats/{bcid}"),
        &bob.token,
        json!({"name": "Trip 3"}),
    )
    .await;
    eventually("A and B show bob's name", async || {
        let on_a = a
            .ok(&format!("/api/v1/kring/chats/{cid}"), &alice.token)
            .await;
        let on_b = chat_on(&b, &bob, &chat_uri).await?;
        (on_a["name"] == "Trip 3" && on_b["name"] == "Trip 3").then_some(())
    })
    .await;
    b.ok_send(
        Method::DELETE,
        &format!("/api/v1/kring/chats/{bcid}/participants/{dan_on_b}"),
        &bob.token,
        json!({}),
    )
    .await;
    eventually("dan is removed on A and B", async || {
        let on_a = a
            .ok(&format!("/api/v1/kring/chats/{cid}"), &alice.token)
            .await;
        let on_b = chat_on(&b, &bob, &chat_uri).await?;
        (!accts(&on_a).contains(&"dan".to_string()) && !accts(&on_b).contains(&dan.handle))
            .then_some(())
    })
    .await;
    assert!(
        a.status(&dan, &id(&m1)).await.is_none(),
        "dan lost the chat"
    );

    // An edit on A reaches B.
    a.ok_send(
        Method::PUT,
        &format!("/api/v1/statuses/{}", id(&m1)),
        &alice.token,
        json!({"status": "first, edited secretword"}),
    )
    .await;
    eventually("the edit reaches B", async || {
        let s = b.status(&bob, &m1_on_b).await?;
        s["content"].as_str()?.contains("edited").then_some(())
    })
    .await;

    // Removed on A: bea loses the chat on B too, at once when A's Update arrives.
    a.ok_send(
        Method::DELETE,
        &format!("/api/v1/kring/chats/{cid}/participants/{bea_on_a}"),
        &alice.token,
        json!({}),
    )
    .await;
    eventually("bea loses the chat on B", async || {
        chat_on(&b, &bea, &chat_uri).await.is_none().then_some(())
    })
    .await;
    assert!(b.status(&bea, &m1_on_b).await.is_none());
    assert!(b.status(&bob, &m1_on_b).await.is_some());
    let (st, _) = b
        .get(&format!("/api/v1/kring/chats/{bcid}/messages"), &bea.token)
        .await;
    assert_eq!(st, reqwest::StatusCode::NOT_FOUND);
    // A later message reaches bob but not bea, live too: bob's `direct` stream on B hears the
    // conversation, bea's nothing.
    let mut bob_live = live(&b, &bob.token, "stream=direct").await;
    let mut bea_live = live(&b, &bea.token, "stream=direct").await;
    let m2 = a
        .ok_post(
            &format!("/api/v1/kring/chats/{cid}/messages"),
            &alice.token,
            json!({"status": "after bea secretword"}),
        )
        .await;
    let m2_on_b = eventually("m2 reaches bob", async || {
        let c = chat_on(&b, &bob, &chat_uri).await?;
        (c["last_status"]["uri"] == m2["uri"]).then(|| id(&c["last_status"]))
    })
    .await;
    assert!(b.status(&bea, &m2_on_b).await.is_none());
    let bob_heard = heard(
        &mut bob_live,
        "conversation",
        std::time::Duration::from_secs(1),
    )
    .await;
    assert!(
        bob_heard
            .iter()
            .any(|c| c["last_status"]["uri"] == m2["uri"] && c["uri"] == chat_uri),
        "{bob_heard:?}"
    );
    let bea_heard = heard(
        &mut bea_live,
        "conversation",
        std::time::Duration::from_millis(300),
    )
    .await;
    assert!(bea_heard.is_empty(), "{bea_heard:?}");
    // On B, bea (removed) finds the chat's messages nowhere: home, notifications, search.
    for path in [
        "/api/v1/timelines/home",
        "/api/v1/notifications",
        "/api/v1/conversations",
        "/api/v2/search?q=secretword",
    ] {
        let text = b.ok(path, &bea.token).await.to_string();
        assert!(!text.contains("secretword"), "bea's {path} on B: {text}");
    }

    // A deletion on A reaches B.
    let (st, _) = a
        .request(
            Method::DELETE,
            &format!("/api/v1/statuses/{}", id(&m2)),
            Some(&alice.token),
            &[],
            None,
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::OK);
    eventually("the deletion reaches B", async || {
        b.status(&bob, &m2_on_b).await.is_none().then_some(())
    })
    .await;

    // bob leaves on B: A sees him gone.
    b.ok_post(
        &format!("/api/v1/kring/chats/{bcid}/leave"),
        &bob.token,
        json!({}),
    )
    .await;
    eventually("A sees bob leave", async || {
        let c = a
            .ok(&format!("/api/v1/kring/chats/{cid}"), &alice.token)
            .await;
        (!accts(&c).contains(&bob.handle)).then_some(())
    })
    .await;
    assert!(b.status(&bob, &m1_on_b).await.is_none());

    // C has no participant: a later public post of alice's reaches erin there, nothing of
    // the chat ever did.
    let later = a.say(&alice, "a public post", "public").await;
    c.wait_home(&erin, &uri(&later)).await;
    for m in [&m1, &reply] {
        assert!(local_copy(&c, &erin, &uri(m)).await.is_none());
    }
    assert_eq!(c.ok("/api/v1/conversations", &erin.token).await, json!([]));
    let found = c
        .ok_query(
            "/api/v2/search",
            &erin.token,
            &[("q", "secretword"), ("type", "statuses")],
        )
        .await;
    assert_eq!(found["statuses"], json!([]));
    // And C cannot fetch the chat's document.
    let res = c
        .http
        .get(&chat_uri)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::NOT_FOUND);
}

/// A Mastodon-style participant (a hand-made server that signs like Mastodon and knows
/// nothing of chats) receives each message as an ordinary direct post addressed to the
/// participants by name, and its replies thread back into the chat — by `inReplyTo`, or by
/// the chat's `conversation` — while a stranger's reply to the same message does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mastodon_style_participant_gets_direct_posts_and_its_replies_thread_back() {
    use fed_common::remote::{Remote, deliver};
    use kring_activitypub::KeyPair;

    let (a, remote) = tokio::join!(Node::start(), Remote::start());
    let alice = a.register("alice").await;
    let ann = a.register("ann").await;
    let key = KeyPair::generate().unwrap();
    let mona = remote.keyed_actor(
        "/users/mona",
        "mona",
        &format!("{}#main-key", remote.url("/users/mona")),
        &key,
    );
    let stranger_key = KeyPair::generate().unwrap();
    let stranger = remote.keyed_actor(
        "/users/sam",
        "sam",
        &format!("{}#main-key", remote.url("/users/sam")),
        &stranger_key,
    );
    let found = a
        .ok_query(
            "/api/v2/search",
            &alice.token,
            &[
                ("q", mona.as_str()),
                ("resolve", "true"),
                ("type", "accounts"),
            ],
        )
        .await;
    let mona_on_a = id(&found["accounts"][0]);
    let chat = a
        .ok_post(
            "/api/v1/kring/chats",
            &alice.token,
            json!({"account_ids": [mona_on_a, ann.id]}),
        )
        .await;
    let cid = id(&chat);
    let chat_uri = chat["uri"].as_str().unwrap().to_string();
    let m = a
        .ok_post(
            &format!("/api/v1/kring/chats/{cid}/messages"),
            &alice.token,
            json!({"status": "hello mona secretword"}),
        )
        .await;

    // What mona's server received: a Create of a Note to the participants by name.
    let create = eventually("the message reaches mona's server", async || {
        remote
            .posted()
            .into_iter()
            .map(|(_, v)| v)
            .find(|v| v["type"] == "Create" && v["object"]["id"] == m["uri"])
    })
    .await;
    let note = &create["object"];
    let mut to: Vec<String> = serde_json::from_value(note["to"].clone()).unwrap();
    to.sort();
    let mut want = vec![mona.clone(), alice.uri.clone(), ann.uri.clone()];
    want.retain(|u| *u != alice.uri);
    want.sort();
    assert_eq!(to, want, "{note}");
    assert_eq!(note["cc"], json!([]));
    assert_eq!(note["context"], chat_uri.as_str());
    assert_eq!(note["conversation"], chat_uri.as_str());
    // Addressed to nobody else: never the public, never a collection.
    assert_eq!(create["to"], note["to"]);
    assert_eq!(create["cc"], json!([]));
    assert!(create.get("bto").is_none() && create.get("bcc").is_none());

    // mona answers as Mastodon would: a direct reply to alice only, `inReplyTo` the message.
    let reply_id = remote.url("/users/mona/statuses/1");
    let reply = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{reply_id}/activity"),
        "type": "Create",
        "actor": mona,
        "to": [alice.uri],
        "object": {
            "id": reply_id,
            "type": "Note",
            "attributedTo": mona,
            "inReplyTo": m["uri"],
            "content": "<p>hi back secretword</p>",
            "to": [alice.uri],
            "tag": [{"type": "Mention", "href": alice.uri}],
        },
    });
    assert_eq!(
        deliver(
            &a.http,
            &a.url("/inbox"),
            &reply,
            &format!("{mona}#main-key"),
            &key
        )
        .await,
        reqwest::StatusCode::ACCEPTED
    );
    let in_chat = eventually("mona's reply lands in the chat", async || {
        let c = a
            .ok(&format!("/api/v1/kring/chats/{cid}"), &alice.token)
            .await;
        (c["last_status"]["uri"] == reply_id).then_some(c)
    })
    .await;
    assert_eq!(in_chat["last_status"]["in_reply_to_id"], m["id"]);
    // ann, in the chat but not addressed by mona, reads it too (among her requests: she
    // does not follow alice).
    let for_ann = eventually("ann sees mona's reply", async || {
        let c = a
            .ok(&format!("/api/v1/kring/chats/{cid}"), &ann.token)
            .await;
        (c["last_status"]["uri"] == reply_id && c["unread_count"] == 2).then_some(c)
    })
    .await;
    assert_eq!(for_ann["request"], true);
    assert_eq!(for_ann["unread"], true);

    // A later message of mona's naming only the chat's `conversation` lands there too.
    let later_id = remote.url("/users/mona/statuses/2");
    let later = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{later_id}/activity"),
        "type": "Create",
        "actor": mona,
        "to": [alice.uri, ann.uri],
        "object": {
            "id": later_id,
            "type": "Note",
            "attributedTo": mona,
            "conversation": chat_uri,
            "content": "<p>and another</p>",
            "to": [alice.uri, ann.uri],
        },
    });
    deliver(
        &a.http,
        &a.url("/inbox"),
        &later,
        &format!("{mona}#main-key"),
        &key,
    )
    .await;
    eventually("mona's later message lands in the chat", async || {
        let c = a
            .ok(&format!("/api/v1/kring/chats/{cid}"), &ann.token)
            .await;
        (c["last_status"]["uri"] == later_id).then_some(())
    })
    .await;

    // A stranger's direct reply to the same message is no message of the chat.
    let odd_id = remote.url("/users/sam/statuses/1");
    let odd = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{odd_id}/activity"),
        "type": "Create",
        "actor": stranger,
        "to": [alice.uri],
        "object": {
            "id": odd_id,
            "type": "Note",
            "attributedTo": stranger,
            "inReplyTo": m["uri"],
            "conversation": chat_uri,
            "content": "<p>let me in</p>",
            "to": [alice.uri],
            "tag": [{"type": "Mention", "href": alice.uri}],
        },
    });
    deliver(
        &a.http,
        &a.url("/inbox"),
        &odd,
        &format!("{stranger}#main-key"),
        &stranger_key,
    )
    .await;
    // alice is told of the mention (an ordinary direct post), the chat is unchanged, and ann
    // (not addressed) cannot read it.
    let n = eventually("alice is notified of the stranger's mention", async || {
        a.notifications(&alice)
            .await
            .into_iter()
            .find(|n| n["status"]["uri"] == odd_id)
    })
    .await;
    let odd_here = id(&n["status"]);
    let c = a
        .ok(&format!("/api/v1/kring/chats/{cid}"), &alice.token)
        .await;
    assert_eq!(c["last_status"]["uri"], later_id.as_str());
    assert!(a.status(&ann, &odd_here).await.is_none());

    // mona's fresh direct post to alice alone (answering nothing) is a chat of the two of
    // them, started here: among alice's requests, as she does not follow mona.
    let fresh_id = remote.url("/users/mona/statuses/3");
    let fresh = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{fresh_id}/activity"),
        "type": "Create",
        "actor": mona,
        "to": [alice.uri],
        "object": {
            "id": fresh_id,
            "type": "Note",
            "attributedTo": mona,
            "content": "<p>just you and me</p>",
            "to": [alice.uri],
            "tag": [{"type": "Mention", "href": alice.uri}],
        },
    });
    deliver(
        &a.http,
        &a.url("/inbox"),
        &fresh,
        &format!("{mona}#main-key"),
        &key,
    )
    .await;
    let two = eventually("mona's direct post is a chat of two", async || {
        let list = a.ok("/api/v1/kring/chats/requests", &alice.token).await;
        list.as_array()?
            .iter()
            .find(|c| c["last_status"]["uri"] == fresh_id)
            .cloned()
    })
    .await;
    assert_ne!(two["id"], cid.as_str());
    assert_eq!(two["accounts"].as_array().unwrap().len(), 1, "{two}");
    assert_eq!(two["home"], true);
    // alice answers from a Mastodon app (a direct reply): it goes to mona in that chat.
    let answer = a
        .post_status(
            &alice,
            json!({"status": "hi mona", "visibility": "direct", "in_reply_to_id": two["last_status"]["id"]}),
        )
        .await;
    let sent = eventually("alice's answer reaches mona's server", async || {
        remote
            .posted()
            .into_iter()
            .map(|(_, v)| v)
            .find(|v| v["type"] == "Create" && v["object"]["id"] == answer["uri"])
    })
    .await;
    assert_eq!(sent["object"]["to"], json!([mona]));
    assert_eq!(sent["object"]["context"], two["uri"]);
    let two_now = a
        .ok(&format!("/api/v1/kring/chats/{}", id(&two)), &alice.token)
        .await;
    assert_eq!(two_now["last_status"]["uri"], answer["uri"]);
}

/// A picture for a message, uploaded on `on` by `u`: the attachment.
async fn upload_picture(on: &Node, u: &FedUser) -> Value {
    let img = image::RgbImage::from_pixel(6, 4, image::Rgb([30, 120, 200]));
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let boundary = "KringFedChatBoundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\na blue square\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&png.into_inner());
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = on
        .http
        .post(on.url("/api/v2/media"))
        .bearer_auth(&u.token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    res.json().await.unwrap()
}

/// Someone on a server new to a chat is added after messages were written: that server gets
/// the chat from their joining on, as every participant does (docs/chats.md) — no earlier
/// message, nor a later edit of one, is sent there; later messages are, pictures included
/// (at the file's unguessable address). A picture in a reply from there is shown through this
/// server's media proxy at an address that carries a token: the attachment's id alone, or a
/// wrong token, finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_joins_later_gets_the_chat_from_then_on() {
    use fed_common::remote::{Remote, deliver};
    use kring_activitypub::KeyPair;

    let (a, remote) = tokio::join!(Node::start(), Remote::start());
    let alice = a.register("alice").await;
    let dan = a.register("dan").await;
    let key = KeyPair::generate().unwrap();
    let mona = remote.keyed_actor(
        "/users/mona",
        "mona",
        &format!("{}#main-key", remote.url("/users/mona")),
        &key,
    );
    let found = a
        .ok_query(
            "/api/v2/search",
            &alice.token,
            &[
                ("q", mona.as_str()),
                ("resolve", "true"),
                ("type", "accounts"),
            ],
        )
        .await;
    let mona_on_a = id(&found["accounts"][0]);
    let chat = a
        .ok_post(
            "/api/v1/kring/chats",
            &alice.token,
            json!({"account_ids": [dan.id]}),
        )
        .await;
    let cid = id(&chat);
    let chat_uri = chat["uri"].as_str().unwrap().to_string();
    let say = async |text: &str, media: Option<&Value>| {
        let mut body = json!({ "status": text });
        if let Some(m) = media {
            body["media_ids"] = json!([m["id"]]);
        }
        a.ok_post(
            &format!("/api/v1/kring/chats/{cid}/messages"),
            &alice.token,
            body,
        )
        .await
    };
    let early = say("before mona secretword", None).await;

    // mona is added: her server hears of the chat, not of what was said before.
    a.ok_post(
        &format!("/api/v1/kring/chats/{cid}/participants"),
        &alice.token,
        json!({"account_ids": [mona_on_a]}),
    )
    .await;
    // An edit of the earlier message goes nowhere new either.
    a.ok_send(
        Method::PUT,
        &format!("/api/v1/statuses/{}", id(&early)),
        &alice.token,
        json!({"status": "before mona, edited secretword"}),
    )
    .await;
    let picture = upload_picture(&a, &alice).await;
    let later = say("after mona came", Some(&picture)).await;
    let create = eventually("the later message reaches mona's server", async || {
        remote
            .posted()
            .into_iter()
            .map(|(_, v)| v)
            .find(|v| v["type"] == "Create" && v["object"]["id"] == later["uri"])
    })
    .await;
    assert_eq!(create["object"]["context"], chat_uri.as_str());
    let att = &create["object"]["attachment"][0];
    assert_eq!(att["name"], "a blue square", "{create}");
    let file = att["url"].as_str().unwrap();
    assert!(file.starts_with(&a.url("/media/")), "{file}");
    // The state mona's server was told names her; the earlier message never went there.
    let everything = serde_json::to_string(&remote.posted()).unwrap();
    assert!(
        !everything.contains(early["uri"].as_str().unwrap()),
        "the earlier message (or its edit) reached the server that joined later"
    );
    assert!(!everything.contains("before mona"));
    // dan, in it from the start, reads both; the chat's messages, as alice sees them, too.
    assert!(a.status(&dan, &id(&early)).await.is_some());
    assert!(a.status(&dan, &id(&later)).await.is_some());

    // mona answers with a picture of her own server's: alice sees it through A's proxy.
    let reply_id = remote.url("/users/mona/statuses/7");
    let reply = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{reply_id}/activity"),
        "type": "Create",
        "actor": mona,
        "to": [alice.uri],
        "object": {
            "id": reply_id,
            "type": "Note",
            "attributedTo": mona,
            "inReplyTo": later["uri"],
            "content": "<p>look secretword</p>",
            "to": [alice.uri],
            "attachment": [{
                "type": "Document",
                "mediaType": "image/png",
                "url": remote.url("/files/private-picture.png"),
                "name": "mona's picture",
            }],
        },
    });
    assert_eq!(
        deliver(
            &a.http,
            &a.url("/inbox"),
            &reply,
            &format!("{mona}#main-key"),
            &key
        )
        .await,
        reqwest::StatusCode::ACCEPTED
    );
    let in_chat = eventually("mona's reply lands in the chat", async || {
        let c = a
            .ok(&format!("/api/v1/kring/chats/{cid}"), &alice.token)
            .await;
        (c["last_status"]["uri"] == reply_id).then_some(c)
    })
    .await;
    let shown = &in_chat["last_status"]["media_attachments"][0];
    assert_eq!(shown["description"], "mona's picture", "{in_chat}");
    let url = shown["url"].as_str().unwrap();
    let rest = url
        .strip_prefix(&a.url("/proxy/media/"))
        .unwrap_or_else(|| panic!("{url}"));
    let (media_id, token) = rest.split_once('/').unwrap();
    assert_eq!(media_id, id(shown));
    assert_eq!(token.len(), 32, "{url}");
    // Guessing the address from the attachment's id (made of the time and a counter) finds
    // nothing: neither without the token nor with a wrong one.
    for guess in [
        a.url(&format!("/proxy/media/{media_id}")),
        a.url(&format!("/proxy/media/{media_id}/{}", "0".repeat(32))),
    ] {
        let res = a.http.get(&guess).send().await.unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::NOT_FOUND, "{guess}");
    }
}
