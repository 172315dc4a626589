// SPDX-License-Identifier: AGPL-3.0-or-later
//! Friends-only, circle and local-only posts (issue 10) on one server, on every read path:
//! by id and its sub-resources, context, the author's profile, home, public, local, hashtag
//! and list timelines, favourites, bookmarks, notifications, search (words, tags, URLs),
//! streaming, the web pages and the ActivityPub documents. And the moment a friendship ends or
//! a member leaves a circle, earlier posts go with it on every one of those paths.
//! (Across servers: `federation_audiences.rs`.)
//!
//! Cast: A (author), F (friend: A and F follow each other), Y (follows A; A does not follow
//! back), M (in A's circle, follows nobody), X (stranger), and signed-out visitors.
mod common;

use std::time::Duration;

use common::schema::assert_valid;
use common::{TestServer, User, enc};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TAG: &str = "audiencetag";
const QUIET: Duration = Duration::from_millis(1200);

struct Cast {
    s: TestServer,
    a: User,
    f: User,
    y: User,
    m: User,
    x: User,
    /// F's list containing A (list timelines are a path too).
    f_list: String,
    circle: String,
}

async fn cast() -> Cast {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let f = s.register("fred").await;
    let y = s.register("yuri").await;
    let m = s.register("mona").await;
    let x = s.register("xavier").await;
    s.follow(&f, &a).await;
    s.follow(&a, &f).await;
    s.follow(&y, &a).await;
    let f_list = s
        .ok_post("/api/v1/lists", Some(&f.token), json!({"title": "A"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.ok_post(
        &format!("/api/v1/lists/{f_list}/accounts"),
        Some(&f.token),
        json!({"account_ids": [a.id]}),
    )
    .await;
    let circle = s
        .ok_post(
            "/api/v1/circles",
            Some(&a.token),
            json!({"title": "Close ones"}),
        )
        .await;
    let circle = circle["id"].as_str().unwrap().to_string();
    s.ok_post(
        &format!("/api/v1/circles/{circle}/accounts"),
        Some(&a.token),
        json!({"account_ids": [m.id, f.id]}),
    )
    .await;
    Cast {
        s,
        a,
        f,
        y,
        m,
        x,
        f_list,
        circle,
    }
}

fn web_get(s: &TestServer, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
    let r = s.http.get(s.url(path));
    match token {
        Some(t) => r.header("cookie", format!("kring_session={t}")),
        None => r,
    }
}

/// Every path a viewer (`token`, None: signed out) could read a post through; none shows
/// any of `hidden`.
async fn hidden_everywhere(c: &Cast, who: &str, token: Option<&str>, hidden: &[&String]) {
    let s = &c.s;
    for id in hidden {
        for path in [
            format!("/api/v1/statuses/{id}"),
            format!("/api/v1/statuses/{id}/context"),
            format!("/api/v1/statuses/{id}/favourited_by"),
            format!("/api/v1/statuses/{id}/reblogged_by"),
            format!("/api/v1/statuses/{id}/history"),
        ] {
            let (st, _, body) = s.get(&path, token).await;
            assert_eq!(st, StatusCode::NOT_FOUND, "{who} GET {path}: {body}");
        }
        // The ActivityPub document, as any other server (or anyone) would fetch it, under
        // whichever author.
        for author in ["alice", "fred", "mona", "yuri", "xavier"] {
            let res = s
                .http
                .get(s.url(&format!("/users/{author}/statuses/{id}")))
                .header("accept", "application/activity+json")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "AS2 document of {id}");
        }
    }
    let mut paths = vec![
        "/api/v1/timelines/public".to_string(),
        "/api/v1/timelines/public?local=true".to_string(),
        format!("/api/v1/timelines/tag/{TAG}"),
        format!("/api/v1/accounts/{}/statuses", c.a.id),
    ];
    if token.is_some() {
        paths.extend([
            "/api/v1/timelines/home".to_string(),
            "/api/v1/favourites".to_string(),
            "/api/v1/bookmarks".to_string(),
        ]);
        if token == Some(c.f.token.as_str()) {
            paths.push(format!("/api/v1/timelines/list/{}", c.f_list));
        }
        let notes = s.ok("/api/v1/notifications", token).await;
        for id in hidden {
            assert!(
                !notes.to_string().contains(id.as_str()),
                "{who}'s notifications show {id}: {notes}"
            );
        }
    }
    for path in &paths {
        let ids = s.status_ids(path, token).await;
        for id in hidden {
            assert!(!ids.contains(id), "{who} {path} shows {id}");
        }
    }
    for q in [
        "secretword".to_string(),
        format!("#{TAG}"),
        format!("{}/@alice/{}", s.base, hidden[0]),
        format!("{}/users/alice/statuses/{}", s.base, hidden[0]),
    ] {
        let r = s
            .ok(&format!("/api/v2/search?q={}&resolve=true", enc(&q)), token)
            .await;
        assert_valid("Search", &r);
        let ids = TestServer::ids(&r["statuses"]);
        for id in hidden {
            assert!(!ids.contains(id), "{who} search {q} shows {id}");
        }
    }
    let mut pages = vec![
        "/@alice".to_string(),
        "/public".to_string(),
        format!("/tags/{TAG}"),
    ];
    if token.is_some() {
        pages.extend(["/home".into(), "/favourites".into(), "/bookmarks".into()]);
    }
    for id in hidden {
        let res = web_get(s, &format!("/@alice/{id}"), token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "{who} web /@alice/{id}"
        );
    }
    for page in pages {
        let html = web_get(s, &page, token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // A post shows as a card linking to its page, `/@author/ID` (the viewer's own reply
        // may still link to the post it answered, `/statuses/ID`: that is their own writing).
        for id in hidden {
            let end = format!("/{id}\"");
            for (at, _) in html.match_indices(&end) {
                let href = &html[html[..at].rfind('"').map_or(0, |q| q + 1)..at];
                assert!(!href.starts_with("/@"), "{who} web {page} shows {id}");
            }
        }
        assert!(!html.contains("secretword"), "{who} web {page}");
    }
}

/// The viewer reads `id` by id, in home and on the author's profile.
async fn readable(c: &Cast, who: &str, token: &str, id: &str) {
    let s = &c.s;
    let (st, _, body) = s.get(&format!("/api/v1/statuses/{id}"), Some(token)).await;
    assert_eq!(st, StatusCode::OK, "{who} by id: {body}");
    let home = s.status_ids("/api/v1/timelines/home", Some(token)).await;
    assert!(home.iter().any(|h| h == id), "{who}'s home lacks {id}");
    let profile = s
        .status_ids(
            &format!("/api/v1/accounts/{}/statuses", c.a.id),
            Some(token),
        )
        .await;
    assert!(
        profile.iter().any(|h| h == id),
        "{who}'s view of A lacks {id}"
    );
}

async fn post(s: &TestServer, u: &User, body: Value) -> Value {
    let v = s.post_status(u, body).await;
    assert_valid("Status", &v);
    v
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn friends_only_posts_reach_friends_only() {
    let c = cast().await;
    let s = &c.s;
    // The relationship says who is a friend; /api/v1/friends lists them.
    let rel = s
        .ok(
            &format!(
                "/api/v1/accounts/relationships?id[]={}&id[]={}",
                c.f.id, c.y.id
            ),
            Some(&c.a.token),
        )
        .await;
    assert_eq!(rel[0]["friend"], true, "{rel}");
    assert_eq!(rel[1]["friend"], false, "{rel}");
    let friends = s.ok("/api/v1/friends", Some(&c.a.token)).await;
    assert_eq!(TestServer::ids(&friends), vec![c.f.id.clone()]);
    let friends = s.ok("/api/v1/friends", Some(&c.y.token)).await;
    assert_eq!(friends, json!([]), "Y follows A but A does not follow back");

    let mut f_ws = s.websocket(&c.f.token, "stream=user").await;
    let mut y_ws = s.websocket(&c.y.token, "stream=user").await;
    let friends_post = post(
        s,
        &c.a,
        json!({"status": format!("friends #{TAG} secretword"), "visibility": "friends"}),
    )
    .await;
    // Clients that do not know friends-only see `private`; Kring's field says what it is.
    assert_eq!(friends_post["visibility"], "private");
    assert_eq!(friends_post["kring"]["visibility"], "friends");
    let fp = id_of(&friends_post);
    // GoToSocial's name for it works too.
    let mutuals = id_of(
        &post(
            s,
            &c.a,
            json!({"status": "mutuals secretword", "visibility": "mutuals_only"}),
        )
        .await,
    );
    readable(&c, "F", &c.f.token, &fp).await;
    readable(&c, "F", &c.f.token, &mutuals).await;
    let f_events = f_ws.drain(QUIET).await;
    assert!(
        f_events.iter().any(|e| e.payload.contains(&fp)),
        "{f_events:?}"
    );
    let y_events = y_ws.drain(QUIET).await;
    assert!(
        y_events.iter().all(|e| !e.payload.contains(&fp)),
        "{y_events:?}"
    );
    for (who, token) in [
        ("Y", Some(c.y.token.as_str())),
        ("M", Some(c.m.token.as_str())),
        ("X", Some(c.x.token.as_str())),
        ("signed-out", None),
    ] {
        hidden_everywhere(&c, who, token, &[&fp, &mutuals]).await;
    }
    // Nobody may boost it, the author included: a boost would widen it.
    for u in [&c.f, &c.a] {
        let (st, _, body) = s
            .post(
                &format!("/api/v1/statuses/{fp}/reblog"),
                Some(&u.token),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    }
    // F's reply stays among A's friends, whatever F's client asks for.
    let reply = post(
        s,
        &c.f,
        json!({"status": "a reply", "visibility": "public", "in_reply_to_id": fp}),
    )
    .await;
    assert_eq!(reply["kring"]["visibility"], "friends", "{reply}");
    let reply = id_of(&reply);
    let ctx = s
        .ok(&format!("/api/v1/statuses/{fp}/context"), Some(&c.a.token))
        .await;
    assert!(ctx.to_string().contains(&reply), "{ctx}");
    for (who, token) in [("Y", Some(c.y.token.as_str())), ("signed-out", None)] {
        hidden_everywhere(&c, who, token, &[&reply]).await;
    }

    // F favourites and bookmarks it; then the friendship ends (A unfollows F). F loses the
    // posts on every path at once, marks and notifications included.
    for action in ["favourite", "bookmark"] {
        s.ok_post(
            &format!("/api/v1/statuses/{fp}/{action}"),
            Some(&c.f.token),
            json!({}),
        )
        .await;
    }
    s.ok_post(
        &format!("/api/v1/accounts/{}/unfollow", c.f.id),
        Some(&c.a.token),
        json!({}),
    )
    .await;
    let rel = s
        .ok(
            &format!("/api/v1/accounts/relationships?id[]={}", c.a.id),
            Some(&c.f.token),
        )
        .await;
    assert_eq!(rel[0]["friend"], false);
    assert_eq!(rel[0]["following"], true, "F still follows A");
    hidden_everywhere(&c, "former friend F", Some(&c.f.token), &[&fp, &mutuals]).await;
    // A later friends-only post does not reach F either, not even live.
    let mut f_ws = s.websocket(&c.f.token, "stream=user").await;
    let later = id_of(
        &post(
            s,
            &c.a,
            json!({"status": "later secretword", "visibility": "friends"}),
        )
        .await,
    );
    let f_events = f_ws.drain(QUIET).await;
    assert!(
        f_events.iter().all(|e| !e.payload.contains(&later)),
        "{f_events:?}"
    );
    // Friends again: everything is back.
    s.follow(&c.a, &c.f).await;
    readable(&c, "F again", &c.f.token, &fp).await;
}

#[tokio::test]
async fn circle_posts_reach_exactly_the_members() {
    let c = cast().await;
    let s = &c.s;
    // Circles are private to their owner: others cannot see, use or change them.
    let circles = s.ok("/api/v1/circles", Some(&c.a.token)).await;
    assert_eq!(circles[0]["title"], "Close ones");
    assert_eq!(s.ok("/api/v1/circles", Some(&c.f.token)).await, json!([]));
    for (method_path, body) in [
        (format!("/api/v1/circles/{}", c.circle), json!({})),
        (format!("/api/v1/circles/{}/accounts", c.circle), json!({})),
    ] {
        let (st, _, _) = s.get(&method_path, Some(&c.f.token)).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let _ = body;
    }
    let (st, _, _) = s
        .post(
            &format!("/api/v1/circles/{}/accounts", c.circle),
            Some(&c.f.token),
            json!({"account_ids": [c.x.id]}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, body) = s
        .post(
            "/api/v1/statuses",
            Some(&c.f.token),
            json!({"status": "into A's circle", "visibility": "circle", "circle_ids": [c.circle]}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
    let (st, _, body) = s
        .post(
            "/api/v1/statuses",
            Some(&c.a.token),
            json!({"status": "no circle", "visibility": "circle"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let members = s
        .ok(
            &format!("/api/v1/circles/{}/accounts", c.circle),
            Some(&c.a.token),
        )
        .await;
    let mut ids = TestServer::ids(&members);
    ids.sort();
    let mut want = vec![c.m.id.clone(), c.f.id.clone()];
    want.sort();
    assert_eq!(ids, want);
    let of_m = s
        .ok(
            &format!("/api/v1/accounts/{}/circles", c.m.id),
            Some(&c.a.token),
        )
        .await;
    assert_eq!(of_m[0]["id"], c.circle.as_str());

    let mut m_ws = s.websocket(&c.m.token, "stream=user").await;
    let mut y_ws = s.websocket(&c.y.token, "stream=user").await;
    let circle_post = post(
        s,
        &c.a,
        json!({"status": format!("circle #{TAG} secretword"), "visibility": "circle", "circle_ids": [c.circle]}),
    )
    .await;
    assert_eq!(circle_post["visibility"], "private");
    assert_eq!(circle_post["kring"]["visibility"], "circle");
    let cp = id_of(&circle_post);
    // Akkoma's `list:ID` names a circle too.
    let akkoma = id_of(
        &post(
            s,
            &c.a,
            json!({"status": "akkoma style secretword", "visibility": format!("list:{}", c.circle)}),
        )
        .await,
    );
    // M follows nobody, yet the circle post is in M's home: members get it delivered.
    readable(&c, "M", &c.m.token, &cp).await;
    readable(&c, "F", &c.f.token, &akkoma).await;
    let m_events = m_ws.drain(QUIET).await;
    assert!(
        m_events.iter().any(|e| e.payload.contains(&cp)),
        "{m_events:?}"
    );
    let y_events = y_ws.drain(QUIET).await;
    assert!(y_events.iter().all(|e| !e.payload.contains(&cp)));
    // Y follows A, but is not in the circle.
    for (who, token) in [
        ("Y", Some(c.y.token.as_str())),
        ("X", Some(c.x.token.as_str())),
        ("signed-out", None),
    ] {
        hidden_everywhere(&c, who, token, &[&cp, &akkoma]).await;
    }
    // M replies (from a client that says "public"): the reply stays in the circle, and Y
    // never sees it, though Y can see M's public posts.
    let reply = post(
        s,
        &c.m,
        json!({"status": "a circle reply", "visibility": "public", "in_reply_to_id": cp}),
    )
    .await;
    assert_eq!(reply["kring"]["visibility"], "circle");
    let reply = id_of(&reply);
    readable(&c, "F sees M's reply", &c.f.token, &cp).await;
    let ctx = s
        .ok(&format!("/api/v1/statuses/{cp}/context"), Some(&c.f.token))
        .await;
    assert!(ctx.to_string().contains(&reply), "{ctx}");
    hidden_everywhere(&c, "Y", Some(&c.y.token), &[&reply]).await;

    // M marks it; then A removes M from the circle: M loses the earlier posts on every path.
    for action in ["favourite", "bookmark"] {
        s.ok_post(
            &format!("/api/v1/statuses/{cp}/{action}"),
            Some(&c.m.token),
            json!({}),
        )
        .await;
    }
    let (st, _, _) = s
        .delete_json(
            &format!("/api/v1/circles/{}/accounts", c.circle),
            Some(&c.a.token),
            json!({"account_ids": [c.m.id]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    hidden_everywhere(&c, "removed member M", Some(&c.m.token), &[&cp, &akkoma]).await;
    // M still reads M's own reply (an author always does).
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{reply}"), Some(&c.m.token))
        .await;
    assert_eq!(st, StatusCode::OK);

    // Renaming, then deleting the circle: its posts are the author's alone.
    let renamed = s
        .put(
            &format!("/api/v1/circles/{}", c.circle),
            Some(&c.a.token),
            json!({"title": "Closest"}),
        )
        .await;
    assert_eq!(renamed.2["title"], "Closest");
    let (st, _, _) = s
        .delete(&format!("/api/v1/circles/{}", c.circle), Some(&c.a.token))
        .await;
    assert_eq!(st, StatusCode::OK);
    hidden_everywhere(&c, "F after the circle is gone", Some(&c.f.token), &[&cp]).await;
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{cp}"), Some(&c.a.token))
        .await;
    assert_eq!(st, StatusCode::OK, "the author keeps it");
}

#[tokio::test]
async fn local_only_posts_stay_on_this_server() {
    let c = cast().await;
    let s = &c.s;
    let local = post(
        s,
        &c.a,
        json!({"status": format!("local #{TAG} secretword"), "visibility": "public", "local_only": true}),
    )
    .await;
    assert_eq!(local["local_only"], true);
    assert_eq!(local["visibility"], "public");
    let lp = id_of(&local);
    // GoToSocial's spelling.
    let gts = post(
        s,
        &c.a,
        json!({"status": "gts style secretword", "federated": false}),
    )
    .await;
    assert_eq!(gts["local_only"], true);
    let gts = id_of(&gts);
    // Every account of this server reads it, X too (it is public here) ...
    for u in [&c.x, &c.y] {
        let (st, _, _) = s
            .get(&format!("/api/v1/statuses/{lp}"), Some(&u.token))
            .await;
        assert_eq!(st, StatusCode::OK);
        let ids = s
            .status_ids("/api/v1/timelines/public?local=true", Some(&u.token))
            .await;
        assert!(ids.contains(&lp));
    }
    // ... but nobody signed out, and no other server: the ActivityPub document is not there.
    hidden_everywhere(&c, "signed-out", None, &[&lp, &gts]).await;
    // A boost of it is local-only too.
    let boost = s
        .ok_post(
            &format!("/api/v1/statuses/{lp}/reblog"),
            Some(&c.y.token),
            json!({}),
        )
        .await;
    assert_eq!(boost["local_only"], true, "{boost}");
    // A reply to it is kept local as well.
    let reply = post(
        s,
        &c.x,
        json!({"status": "reply secretword", "in_reply_to_id": lp}),
    )
    .await;
    assert_eq!(reply["local_only"], true);
    // The default audience is set with update_credentials; `friends` is one, a circle is not.
    let (st, _, body) = s
        .patch(
            "/api/v1/accounts/update_credentials",
            Some(&c.a.token),
            json!({"source": {"privacy": "friends"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let defaulted = post(s, &c.a, json!({"status": "by default secretword"})).await;
    assert_eq!(defaulted["kring"]["visibility"], "friends");
    let (st, _, _) = s
        .patch(
            "/api/v1/accounts/update_credentials",
            Some(&c.a.token),
            json!({"source": {"privacy": "circle"}}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A reply or boost awaiting its approval (interaction controls) is read by its author and by
/// the author who decides on it, and by nobody else on any path — not even an account it
/// mentions or a follower of its author — until approved; then it reaches its audience.
#[tokio::test]
async fn interactions_awaiting_approval_are_read_by_their_author_and_approver_only() {
    let c = cast().await;
    let s = &c.s;
    // M follows X: X's boost would otherwise be in M's home (Y and F follow A, whose post
    // is in their homes already, so a boost of it would not be added there).
    s.follow(&c.m, &c.x).await;
    let ask = json!({
        "can_reply": {"manual_approval": ["public"]},
        "can_reblog": {"manual_approval": ["public"]},
    });
    let p = id_of(
        &post(
            s,
            &c.a,
            json!({"status": format!("ask first #{TAG}"), "interaction_policy": ask}),
        )
        .await,
    );
    let mut y_ws = s.websocket(&c.y.token, "stream=user").await;
    // X's reply mentions Y, who would read it and be notified were it not waiting.
    let reply = post(
        s,
        &c.x,
        json!({"status": format!("@yuri secretword #{TAG}"), "in_reply_to_id": p}),
    )
    .await;
    assert_eq!(reply["kring"]["pending_approval"], true, "{reply}");
    let reply = id_of(&reply);
    let (st, _, boost) = s
        .post(
            &format!("/api/v1/statuses/{p}/reblog"),
            Some(&c.x.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{boost}");
    let boost = id_of(&boost);
    for (who, token) in [
        ("Y", Some(c.y.token.as_str())),
        ("F", Some(c.f.token.as_str())),
        ("M", Some(c.m.token.as_str())),
        ("signed-out", None),
    ] {
        hidden_everywhere(&c, who, token, &[&reply, &boost]).await;
        let res = web_get(s, &format!("/@xavier/{reply}"), token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{who} web reply");
        let ids = s
            .status_ids(&format!("/api/v1/accounts/{}/statuses", c.x.id), token)
            .await;
        assert!(
            !ids.contains(&reply) && !ids.contains(&boost),
            "{who}: {ids:?}"
        );
    }
    let y_events = y_ws.drain(QUIET).await;
    assert!(
        y_events
            .iter()
            .all(|e| !e.payload.contains(&reply) && !e.payload.contains(&boost)),
        "{y_events:?}"
    );
    // Its author and the approver read it.
    for u in [&c.x, &c.a] {
        let (st, _, body) = s
            .get(&format!("/api/v1/statuses/{reply}"), Some(&u.token))
            .await;
        assert_eq!(st, StatusCode::OK, "{}: {body}", u.username);
    }
    // Approved: Y reads both, and hears of the mention.
    let queue = s.ok("/api/v1/interaction_requests", Some(&c.a.token)).await;
    for r in queue.as_array().unwrap() {
        s.ok_post(
            &format!(
                "/api/v1/interaction_requests/{}/authorize",
                r["id"].as_str().unwrap()
            ),
            Some(&c.a.token),
            json!({}),
        )
        .await;
    }
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{reply}"), Some(&c.y.token))
        .await;
    assert_eq!(st, StatusCode::OK);
    let home = s
        .status_ids("/api/v1/timelines/home", Some(&c.m.token))
        .await;
    assert!(home.contains(&boost), "{home:?}");
    let tagged = s
        .status_ids(&format!("/api/v1/timelines/tag/{TAG}"), None)
        .await;
    assert!(tagged.contains(&reply), "{tagged:?}");
    let notes = s.ok("/api/v1/notifications", Some(&c.y.token)).await;
    assert!(notes.to_string().contains(&reply), "{notes}");
}
