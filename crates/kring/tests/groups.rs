// SPDX-License-Identifier: AGPL-3.0-or-later
//! Groups (issue 11) on one server: the Truth Social API flows for each kind of group
//! (create, join, request and approve, post, reply, leave, ban, roles), a Mastodon client's
//! flow (follow the group's account to join, mention it to post), and the privacy of a
//! private group's posts, members and timeline on every read path, for strangers, signed-out
//! visitors and members who left or were removed.
mod common;

use std::time::Duration;

use common::schema::assert_valid;
use common::{TestServer, User, enc};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TAG: &str = "grouptag";
const QUIET: Duration = Duration::from_millis(1200);

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn create_group(s: &TestServer, owner: &User, body: Value) -> Value {
    let g = s.ok_post("/api/v1/groups", Some(&owner.token), body).await;
    assert_eq!(g["members_count"], 1, "{g}");
    g
}

async fn relationship(s: &TestServer, u: &User, group: &str) -> Value {
    let r = s
        .ok(
            &format!("/api/v1/groups/relationships?id[]={group}"),
            Some(&u.token),
        )
        .await;
    r[0].clone()
}

async fn group_post(s: &TestServer, u: &User, group: &str, text: &str) -> Value {
    let v = s
        .post_status(u, json!({"status": text, "group_id": group}))
        .await;
    assert_eq!(v["group"]["id"], group, "{v}");
    v
}

async fn timeline(s: &TestServer, group: &str, token: Option<&str>) -> Vec<String> {
    s.status_ids(&format!("/api/v1/timelines/group/{group}"), token)
        .await
}

#[tokio::test]
async fn a_public_group_from_creation_to_ban() {
    let s = TestServer::start().await;
    let o = s.register("olga").await;
    let m = s.register("milo").await;
    let x = s.register("xena").await;
    let g = create_group(
        &s,
        &o,
        json!({"display_name": "Bird Watchers", "note": "Birds!", "group_visibility": "everyone"}),
    )
    .await;
    let gid = id_of(&g);
    assert_eq!(g["slug"], "bird_watchers");
    assert_eq!(g["group_visibility"], "everyone");
    assert_eq!(g["statuses_visibility"], "public");
    assert_eq!(g["membership_required"], false);
    assert_eq!(g["owner"]["id"], o.id.as_str());
    assert_eq!(g["kring"]["kind"], "public");
    // To a Mastodon client the group is an account with `group: true`.
    let acct = s.ok(&format!("/api/v1/accounts/{gid}"), None).await;
    assert_valid("Account", &acct);
    assert_eq!(acct["group"], true, "{acct}");
    assert_eq!(
        relationship(&s, &o, &gid).await["role"],
        "owner",
        "the creator owns it"
    );
    // The owner's list of groups has it.
    let mine = s.ok("/api/v1/groups", Some(&o.token)).await;
    assert_eq!(TestServer::ids(&mine), vec![gid.clone()]);

    // Anyone joins a public group at once.
    let r = s
        .ok_post(
            &format!("/api/v1/groups/{gid}/join"),
            Some(&m.token),
            json!({}),
        )
        .await;
    assert_eq!(r["member"], true, "{r}");
    assert_eq!(r["role"], "user");
    // A non-member's post to the group is refused, and says why.
    let (st, _, body) = s
        .post(
            "/api/v1/statuses",
            Some(&x.token),
            json!({"status": "let me in", "group_id": gid}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].as_str().unwrap().contains("member"), "{body}");

    // A member's post: public, in the group's timeline, and in the other members' home
    // feeds through the group's boost (O does not follow M).
    let p = group_post(&s, &m, &gid, "A heron!").await;
    let pid = id_of(&p);
    assert_eq!(p["visibility"], "public");
    assert_eq!(timeline(&s, &gid, None).await, vec![pid.clone()]);
    let home = s.ok("/api/v1/timelines/home", Some(&o.token)).await;
    assert!(
        home.as_array()
            .unwrap()
            .iter()
            .any(|e| e["reblog"]["id"] == pid.as_str() && e["account"]["id"] == gid.as_str()),
        "O's home has the group's boost of M's post: {home}"
    );
    // A reply in the group is the group's too.
    let reply = s
        .post_status(
            &o,
            json!({"status": "Lovely", "in_reply_to_id": pid, "visibility": "public"}),
        )
        .await;
    assert_eq!(reply["group"]["id"], gid.as_str(), "{reply}");
    assert!(timeline(&s, &gid, None).await.contains(&id_of(&reply)));
    // A non-member cannot reply into the group.
    let (st, _, body) = s
        .post(
            "/api/v1/statuses",
            Some(&x.token),
            json!({"status": "me too", "in_reply_to_id": pid}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");

    // A Mastodon app's way: follow the group's account to join, mention it to post.
    let rel = s
        .ok_post(
            &format!("/api/v1/accounts/{gid}/follow"),
            Some(&x.token),
            json!({}),
        )
        .await;
    assert_eq!(rel["following"], true, "{rel}");
    assert_eq!(relationship(&s, &x, &gid).await["member"], true);
    let by_mention = s
        .post_status(
            &x,
            json!({"status": "@bird_watchers a kestrel", "visibility": "public"}),
        )
        .await;
    assert_eq!(by_mention["group"]["id"], gid.as_str(), "{by_mention}");
    let members = s
        .ok(&format!("/api/v1/groups/{gid}/memberships"), None)
        .await;
    assert_eq!(members.as_array().unwrap().len(), 3, "{members}");
    let admins = s
        .ok(
            &format!("/api/v1/groups/{gid}/memberships?role=owner"),
            None,
        )
        .await;
    assert_eq!(admins[0]["account"]["id"], o.id.as_str(), "{admins}");

    // A member may not ban; the owner may. The banned member is out and stays out.
    let (st, _, _) = s
        .post(
            &format!("/api/v1/groups/{gid}/blocks"),
            Some(&m.token),
            json!({"account_ids": [x.id]}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    s.ok_post(
        &format!("/api/v1/groups/{gid}/blocks"),
        Some(&o.token),
        json!({"account_ids": [x.id]}),
    )
    .await;
    let r = relationship(&s, &x, &gid).await;
    assert_eq!(
        (r["member"].clone(), r["blocked_by"].clone()),
        (json!(false), json!(true))
    );
    let (st, _, body) = s
        .post(
            "/api/v1/statuses",
            Some(&x.token),
            json!({"status": "again", "group_id": gid}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].as_str().unwrap().contains("banned"), "{body}");
    let (st, _, _) = s
        .post(
            &format!("/api/v1/groups/{gid}/join"),
            Some(&x.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let bans = s
        .ok(&format!("/api/v1/groups/{gid}/blocks"), Some(&o.token))
        .await;
    assert_eq!(TestServer::ids(&bans), vec![x.id.clone()]);

    // Leaving: M is out, and can no longer post there. The owner cannot just leave.
    let r = s
        .ok_post(
            &format!("/api/v1/groups/{gid}/leave"),
            Some(&m.token),
            json!({}),
        )
        .await;
    assert_eq!(r["member"], false, "{r}");
    let (st, _, _) = s
        .post(
            "/api/v1/statuses",
            Some(&m.token),
            json!({"status": "bye", "group_id": gid}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, body) = s
        .post(
            &format!("/api/v1/groups/{gid}/leave"),
            Some(&o.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Only the owner deletes it.
    let (st, _, _) = s
        .delete(&format!("/api/v1/groups/{gid}"), Some(&x.token))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    s.delete(&format!("/api/v1/groups/{gid}"), Some(&o.token))
        .await;
    let (st, _, _) = s.get(&format!("/api/v1/groups/{gid}"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Members' posts stay with their authors.
    let (st, _, _) = s.get(&format!("/api/v1/statuses/{pid}"), None).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn a_closed_group_approves_requests_and_roles_follow_rank() {
    let s = TestServer::start().await;
    let o = s.register("olga").await;
    let a = s.register("adam").await;
    let m = s.register("milo").await;
    let y = s.register("yuki").await;
    let g = create_group(
        &s,
        &o,
        json!({"display_name": "Quiet Readers", "username": "readers", "kind": "closed"}),
    )
    .await;
    let gid = id_of(&g);
    assert_eq!(g["membership_required"], true);
    assert_eq!(g["statuses_visibility"], "public");
    for u in [&a, &m, &y] {
        let r = s
            .ok_post(
                &format!("/api/v1/groups/{gid}/join"),
                Some(&u.token),
                json!({}),
            )
            .await;
        assert_eq!(
            (r["member"].clone(), r["requested"].clone()),
            (json!(false), json!(true)),
            "{r}"
        );
    }
    // Requesters cannot post yet.
    let (st, _, _) = s
        .post(
            "/api/v1/statuses",
            Some(&a.token),
            json!({"status": "hi", "group_id": gid}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // Only moderators see and decide requests.
    let (st, _, _) = s
        .get(
            &format!("/api/v1/groups/{gid}/membership_requests"),
            Some(&a.token),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let reqs = s
        .ok(
            &format!("/api/v1/groups/{gid}/membership_requests"),
            Some(&o.token),
        )
        .await;
    let mut ids = TestServer::ids(&reqs);
    ids.sort();
    let mut want = vec![a.id.clone(), m.id.clone(), y.id.clone()];
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(relationship(&s, &o, &gid).await["pending_requests"], true);
    for u in [&a, &m] {
        s.ok_post(
            &format!(
                "/api/v1/groups/{gid}/membership_requests/{}/authorize",
                u.id
            ),
            Some(&o.token),
            json!({}),
        )
        .await;
    }
    s.ok_post(
        &format!("/api/v1/groups/{gid}/membership_requests/{}/reject", y.id),
        Some(&o.token),
        json!({}),
    )
    .await;
    assert_eq!(relationship(&s, &a, &gid).await["member"], true);
    let r = relationship(&s, &y, &gid).await;
    assert_eq!(
        (r["member"].clone(), r["requested"].clone()),
        (json!(false), json!(false))
    );
    group_post(&s, &a, &gid, "approved and posting").await;

    // Roles: the owner makes A an admin; A may name moderators but not admins, and may not
    // act on the owner. A moderator removes members but not other moderators.
    let promoted = s
        .ok_post(
            &format!("/api/v1/groups/{gid}/promote"),
            Some(&o.token),
            json!({"account_ids": [a.id], "role": "admin"}),
        )
        .await;
    assert_eq!(promoted[0]["role"], "admin", "{promoted}");
    let (st, _, _) = s
        .post(
            &format!("/api/v1/groups/{gid}/promote"),
            Some(&a.token),
            json!({"account_ids": [m.id], "role": "admin"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    s.ok_post(
        &format!("/api/v1/groups/{gid}/promote"),
        Some(&a.token),
        json!({"account_ids": [m.id], "role": "moderator"}),
    )
    .await;
    let (st, _, _) = s
        .post(
            &format!("/api/v1/groups/{gid}/kick"),
            Some(&a.token),
            json!({"account_ids": [o.id]}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "nobody removes the owner");
    s.ok_post(
        &format!("/api/v1/groups/{gid}/demote"),
        Some(&o.token),
        json!({"account_ids": [m.id], "role": "user"}),
    )
    .await;
    assert_eq!(relationship(&s, &m, &gid).await["role"], "user");
    s.ok_post(
        &format!("/api/v1/groups/{gid}/kick"),
        Some(&a.token),
        json!({"account_ids": [m.id]}),
    )
    .await;
    assert_eq!(relationship(&s, &m, &gid).await["member"], false);
    // Ownership moves to a member; the former owner becomes an admin.
    let g = s
        .ok_post(
            &format!("/api/v1/groups/{gid}/transfer"),
            Some(&o.token),
            json!({"account_id": a.id}),
        )
        .await;
    assert_eq!(g["owner"]["id"], a.id.as_str(), "{g}");
    assert_eq!(relationship(&s, &o, &gid).await["role"], "admin");
    // An admin edits the group: a closed group may keep its posts for members.
    let g = s
        .patch(
            &format!("/api/v1/groups/{gid}"),
            Some(&o.token),
            json!({"members_only": true, "rules": "Be kind"}),
        )
        .await
        .2;
    assert_eq!(g["statuses_visibility"], "members_only", "{g}");
    assert_eq!(g["kring"]["rules"], "Be kind");
    let p = group_post(&s, &a, &gid, "for members now").await;
    assert_eq!(p["kring"]["visibility"], "group", "{p}");
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{}", id_of(&p)), Some(&y.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_admins_create_groups_when_configured() {
    let s = TestServer::start_with(kring::config::Partial {
        group_creation: Some(kring_service::groups::GroupCreation::Admins),
        ..Default::default()
    })
    .await;
    let u = s.register("ursula").await;
    let (st, _, body) = s
        .post(
            "/api/v1/groups",
            Some(&u.token),
            json!({"display_name": "Mine"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].as_str().unwrap().contains("admins"), "{body}");
}

fn web_get(s: &TestServer, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
    let r = s.http.get(s.url(path));
    match token {
        Some(t) => r.header("cookie", format!("kring_session={t}")),
        None => r,
    }
}

/// Every path a viewer (`token`, None: signed out) could read a post, the group's members or
/// its timeline through; none shows any of `hidden`. `author`: the posts' author's username.
async fn hidden_everywhere(
    s: &TestServer,
    who: &str,
    token: Option<&str>,
    author: &User,
    group: &str,
    hidden: &[&String],
) {
    for id in hidden {
        for path in [
            format!("/api/v1/statuses/{id}"),
            format!("/api/v1/statuses/{id}/context"),
            format!("/api/v1/statuses/{id}/favourited_by"),
            format!("/api/v1/statuses/{id}/reblogged_by"),
        ] {
            let (st, _, body) = s.get(&path, token).await;
            assert_eq!(st, StatusCode::NOT_FOUND, "{who} GET {path}: {body}");
        }
        // The ActivityPub documents, unsigned, under the author and under the group.
        for path in [
            format!("/users/{}/statuses/{id}", author.username),
            format!("/users/{}/statuses/{id}/activity", author.username),
        ] {
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
    // The group's timeline and member list: not found for a non-member.
    for path in [
        format!("/api/v1/timelines/group/{group}"),
        format!("/api/v1/groups/{group}/memberships"),
    ] {
        let (st, _, body) = s.get(&path, token).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{who} GET {path}: {body}");
    }
    let mut paths = vec![
        "/api/v1/timelines/public".to_string(),
        "/api/v1/timelines/public?local=true".to_string(),
        format!("/api/v1/timelines/tag/{TAG}"),
        format!("/api/v1/accounts/{}/statuses", author.id),
        // The group's own profile: its boosts of members' posts.
        format!("/api/v1/accounts/{group}/statuses"),
    ];
    if token.is_some() {
        paths.extend([
            "/api/v1/timelines/home".to_string(),
            "/api/v1/favourites".to_string(),
            "/api/v1/bookmarks".to_string(),
        ]);
        let notes = s.ok("/api/v1/notifications", token).await;
        for id in hidden {
            assert!(
                !notes.to_string().contains(id.as_str()),
                "{who}'s notifications show {id}: {notes}"
            );
        }
    }
    for path in &paths {
        let list = s.ok(path, token).await;
        let text = list.to_string();
        for id in hidden {
            // Neither the post nor a boost of it.
            assert!(!text.contains(id.as_str()), "{who} {path} shows {id}");
        }
    }
    for q in [
        "secretword".to_string(),
        format!("#{TAG}"),
        format!("{}/@{}/{}", s.base, author.username, hidden[0]),
    ] {
        let r = s
            .ok(&format!("/api/v2/search?q={}&resolve=true", enc(&q)), token)
            .await;
        for id in hidden {
            assert!(
                !r.to_string().contains(id.as_str()),
                "{who} search {q} shows {id}"
            );
        }
    }
    for id in hidden {
        let res = web_get(s, &format!("/@{}/{id}", author.username), token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{who} web post {id}");
    }
    let mut pages = vec![
        format!("/@{}", author.username),
        "/@hideout".to_string(),
        "/public".to_string(),
        format!("/tags/{TAG}"),
    ];
    if token.is_some() {
        pages.extend(["/home".into(), "/favourites".into(), "/bookmarks".into()]);
    }
    for page in pages {
        let html = web_get(s, &page, token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!html.contains("secretword"), "{who} web {page}");
    }
}

#[tokio::test]
async fn a_private_groups_posts_members_and_timeline_reach_members_only() {
    let s = TestServer::start().await;
    let o = s.register("olga").await;
    let m = s.register("milo").await;
    let p = s.register("pia").await;
    let k = s.register("kai").await;
    let x = s.register("xena").await;
    // X follows M: a follower of the author is no member.
    s.follow(&x, &m).await;
    let g = create_group(
        &s,
        &o,
        json!({"display_name": "Hideout", "username": "hideout", "kind": "private"}),
    )
    .await;
    let gid = id_of(&g);
    assert_eq!(g["statuses_visibility"], "members_only");
    // Not listed for discovery.
    let listed = s.ok("/api/v1/groups?discover=true", Some(&x.token)).await;
    assert!(!listed.to_string().contains(&gid), "{listed}");
    // Joining a private group: by request (approved) or by invitation.
    s.ok_post(
        &format!("/api/v1/groups/{gid}/invite"),
        Some(&o.token),
        json!({"account_ids": [m.id, p.id]}),
    )
    .await;
    assert_eq!(relationship(&s, &m, &gid).await["invited"], true);
    for u in [&m, &p] {
        let r = s
            .ok_post(
                &format!("/api/v1/groups/{gid}/join"),
                Some(&u.token),
                json!({}),
            )
            .await;
        assert_eq!(r["member"], true, "an invitation needs no approval: {r}");
    }
    let r = s
        .ok_post(
            &format!("/api/v1/groups/{gid}/join"),
            Some(&k.token),
            json!({}),
        )
        .await;
    assert_eq!(r["requested"], true, "{r}");
    s.ok_post(
        &format!(
            "/api/v1/groups/{gid}/membership_requests/{}/authorize",
            k.id
        ),
        Some(&o.token),
        json!({}),
    )
    .await;

    let mut x_ws = s.websocket(&x.token, "stream=user").await;
    let mut p_ws = s.websocket(&p.token, "stream=user").await;
    // M asks for a public post: the group's kind decides, members only.
    let post = s
        .post_status(
            &m,
            json!({"status": format!("secretword #{TAG}"), "group_id": gid, "visibility": "public"}),
        )
        .await;
    assert_eq!(post["visibility"], "private", "{post}");
    assert_eq!(post["kring"]["visibility"], "group");
    let pid = id_of(&post);
    // A post by mention (a Mastodon app's way) goes to the group too, members only.
    let by_mention = s
        .post_status(
            &p,
            json!({"status": "@hideout between us", "visibility": "direct"}),
        )
        .await;
    assert_eq!(by_mention["group"]["id"], gid.as_str(), "{by_mention}");
    let mid = id_of(&by_mention);
    // A member's reply stays inside.
    let reply = s
        .post_status(
            &k,
            json!({"status": "secretword reply", "in_reply_to_id": pid, "visibility": "public"}),
        )
        .await;
    assert_eq!(reply["kring"]["visibility"], "group", "{reply}");
    let rid = id_of(&reply);

    // Members read all of it: by id, in the group's timeline, in home (the group's boost).
    for (who, u) in [("O", &o), ("P", &p), ("K", &k)] {
        let (st, _, body) = s
            .get(&format!("/api/v1/statuses/{pid}"), Some(&u.token))
            .await;
        assert_eq!(st, StatusCode::OK, "{who}: {body}");
        let tl = timeline(&s, &gid, Some(&u.token)).await;
        for id in [&pid, &mid, &rid] {
            assert!(tl.contains(id), "{who}'s group timeline lacks {id}");
        }
        let home = s.ok("/api/v1/timelines/home", Some(&u.token)).await;
        assert!(home.to_string().contains(&pid), "{who}'s home lacks {pid}");
    }
    let members = s
        .ok(&format!("/api/v1/groups/{gid}/memberships"), Some(&p.token))
        .await;
    assert_eq!(members.as_array().unwrap().len(), 4, "{members}");
    let p_events = p_ws.drain(QUIET).await;
    assert!(
        p_events.iter().any(|e| e.payload.contains(&pid)),
        "P streams the post: {p_events:?}"
    );
    let x_events = x_ws.drain(QUIET).await;
    assert!(
        x_events
            .iter()
            .all(|e| !e.payload.contains(&pid) && !e.payload.contains(&rid)),
        "{x_events:?}"
    );
    // Nobody boosts a members-only post (a boost would widen it).
    let (st, _, _) = s
        .post(
            &format!("/api/v1/statuses/{pid}/reblog"),
            Some(&o.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Strangers and signed-out visitors: nothing, on any path.
    for (who, token) in [("X", Some(x.token.as_str())), ("signed-out", None)] {
        hidden_everywhere(&s, who, token, &m, &gid, &[&pid, &rid]).await;
    }
    // The group's ActivityPub actor and collections answer no unsigned request.
    for path in [
        "/users/hideout",
        "/users/hideout/outbox",
        "/users/hideout/followers",
        "/users/hideout/moderators",
    ] {
        let res = s
            .http
            .get(s.url(path))
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "AS2 {path}");
    }

    // P favourites the post, then leaves; K is removed. Both lose it at once, everywhere.
    s.ok_post(
        &format!("/api/v1/statuses/{pid}/favourite"),
        Some(&p.token),
        json!({}),
    )
    .await;
    s.ok_post(
        &format!("/api/v1/groups/{gid}/leave"),
        Some(&p.token),
        json!({}),
    )
    .await;
    s.ok_post(
        &format!("/api/v1/groups/{gid}/kick"),
        Some(&o.token),
        json!({"account_ids": [k.id]}),
    )
    .await;
    hidden_everywhere(&s, "P after leaving", Some(&p.token), &m, &gid, &[&pid]).await;
    // K wrote the reply (which names the post it answers): K's own post stays K's; the
    // others' go.
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{pid}"), Some(&k.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "K after removal");
    let (st, _, _) = s
        .get(&format!("/api/v1/timelines/group/{gid}"), Some(&k.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "K after removal");
    let home = s.status_ids("/api/v1/timelines/home", Some(&k.token)).await;
    assert!(!home.contains(&pid), "K's home after removal");
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{rid}"), Some(&k.token))
        .await;
    assert_eq!(st, StatusCode::OK, "K's own reply");
    // The members who stay still read it.
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{pid}"), Some(&o.token))
        .await;
    assert_eq!(st, StatusCode::OK);
    x_ws.close().await;
    p_ws.close().await;
}

/// Moderation (issue 11 item 6, and removal from item 2): a moderator removes a member's
/// post from a members-only group — it leaves the group's timeline, the group's boost leaves
/// members' homes, members lose it, its author keeps it; the action (and every other
/// moderator's action) is in the log its admins read and moderators may not; a report about
/// a post in the group reaches the group's moderators and the server's; a suspended group
/// answers "not found" to everyone.
#[tokio::test]
async fn moderators_remove_posts_log_their_actions_and_see_reports() {
    let s = TestServer::start().await;
    let o = s.register("olga").await;
    let d = s.register("dana").await;
    let m = s.register("milo").await;
    let r = s.register("rita").await;
    let g = create_group(
        &s,
        &o,
        json!({"display_name": "Garden", "username": "garden", "kind": "closed", "members_only": true}),
    )
    .await;
    let gid = id_of(&g);
    for u in [&d, &m, &r] {
        s.ok_post(
            &format!("/api/v1/groups/{gid}/join"),
            Some(&u.token),
            json!({}),
        )
        .await;
        s.ok_post(
            &format!(
                "/api/v1/groups/{gid}/membership_requests/{}/authorize",
                u.id
            ),
            Some(&o.token),
            json!({}),
        )
        .await;
    }
    s.ok_post(
        &format!("/api/v1/groups/{gid}/promote"),
        Some(&o.token),
        json!({"account_ids": [d.id], "role": "moderator"}),
    )
    .await;
    let p = group_post(&s, &m, &gid, "buy my seeds, cheap").await;
    let pid = id_of(&p);
    let keep = group_post(&s, &m, &gid, "the roses are out").await;
    assert!(timeline(&s, &gid, Some(&r.token)).await.contains(&pid));

    // rita reports the post: the group's moderators see it, and so do the server's.
    let report = s
        .ok_post(
            "/api/v1/reports",
            Some(&r.token),
            json!({"account_id": m.id, "status_ids": [pid], "comment": "spam"}),
        )
        .await;
    let rid = id_of(&report);
    let (st, _, _) = s
        .get(&format!("/api/v1/groups/{gid}/reports"), Some(&r.token))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "members do not read reports");
    let reports = s
        .ok(&format!("/api/v1/groups/{gid}/reports"), Some(&d.token))
        .await;
    assert_eq!(TestServer::ids(&reports), vec![rid.clone()], "{reports}");
    assert_eq!(reports[0]["status_ids"], json!([pid]), "{reports}");
    let other = create_group(
        &s,
        &r,
        json!({"display_name": "Elsewhere", "username": "elsewhere"}),
    )
    .await;
    let (st, _, _) = s
        .post(
            &format!("/api/v1/groups/{}/reports/{rid}/resolve", id_of(&other)),
            Some(&r.token),
            json!({}),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "only the post's group resolves it"
    );

    // A member may not remove posts; the moderator may.
    let (st, _, _) = s
        .delete(
            &format!("/api/v1/groups/{gid}/statuses/{pid}"),
            Some(&r.token),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, body) = s
        .delete_json(
            &format!("/api/v1/groups/{gid}/statuses/{pid}"),
            Some(&d.token),
            json!({"reason": "advertising"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let tl = timeline(&s, &gid, Some(&r.token)).await;
    assert!(!tl.contains(&pid) && tl.contains(&id_of(&keep)), "{tl:?}");
    // Members lose the members-only post everywhere; its author keeps it.
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{pid}"), Some(&r.token))
        .await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "a member still reads the removed post"
    );
    let home = s.status_ids("/api/v1/timelines/home", Some(&r.token)).await;
    let boosts = s.ok("/api/v1/timelines/home", Some(&r.token)).await;
    assert!(
        !home.contains(&pid)
            && !boosts
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["reblog"]["id"] == pid.as_str()),
        "the group's boost of the removed post is still in a member's home: {boosts}"
    );
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{pid}"), Some(&m.token))
        .await;
    assert_eq!(st, StatusCode::OK, "the author keeps their post");
    // Removing it again finds nothing.
    let (st, _, _) = s
        .delete(
            &format!("/api/v1/groups/{gid}/statuses/{pid}"),
            Some(&d.token),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    s.ok_post(
        &format!("/api/v1/groups/{gid}/reports/{rid}/resolve"),
        Some(&d.token),
        json!({}),
    )
    .await;
    let open = s
        .ok(&format!("/api/v1/groups/{gid}/reports"), Some(&d.token))
        .await;
    assert_eq!(open, json!([]));
    let resolved = s
        .ok(
            &format!("/api/v1/groups/{gid}/reports?resolved=true"),
            Some(&o.token),
        )
        .await;
    assert_eq!(TestServer::ids(&resolved), vec![rid.clone()]);

    // The log: for admins (the owner here), not for moderators.
    s.ok_post(
        &format!("/api/v1/groups/{gid}/blocks"),
        Some(&d.token),
        json!({"account_ids": [m.id]}),
    )
    .await;
    let (st, _, _) = s
        .get(
            &format!("/api/v1/groups/{gid}/moderation_log"),
            Some(&d.token),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "moderators do not read the log");
    let log = s
        .ok(
            &format!("/api/v1/groups/{gid}/moderation_log"),
            Some(&o.token),
        )
        .await;
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "ban",
            "remove_post",
            "promote",
            "approve_request",
            "approve_request",
            "approve_request"
        ],
        "{log}"
    );
    assert_eq!(log[1]["account"]["id"], d.id.as_str(), "{log}");
    assert_eq!(log[1]["target_account"]["id"], m.id.as_str(), "{log}");
    assert_eq!(log[1]["status_id"], pid.as_str(), "{log}");
    assert_eq!(log[1]["reason"], "advertising", "{log}");
    assert_eq!(log[2]["reason"], "moderator", "{log}");

    // The server's admins suspend the group: it is gone for everyone, members included.
    s.kring
        .admin_suspend(None, gid.parse().unwrap(), true)
        .await
        .expect("suspend the group");
    for (path, token) in [
        (format!("/api/v1/groups/{gid}"), Some(o.token.as_str())),
        (format!("/api/v1/groups/{gid}"), None),
        (
            format!("/api/v1/timelines/group/{gid}"),
            Some(r.token.as_str()),
        ),
    ] {
        let (st, _, _) = s.get(&path, token).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}");
    }
    let (st, _, _) = s
        .post(
            &format!("/api/v1/groups/{gid}/join"),
            Some(&m.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _) = s
        .post(
            "/api/v1/statuses",
            Some(&r.token),
            json!({"status": "still here?", "group_id": gid}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
}

/// The notifications of `u` of one `kind`, asked for by name (Kring's `group.*` kinds are not
/// in a default listing, which Mastodon apps read).
async fn notes_of(s: &TestServer, u: &User, kind: &str) -> Vec<Value> {
    let v = s
        .ok(
            &format!("/api/v1/notifications?types[]={kind}"),
            Some(&u.token),
        )
        .await;
    v.as_array().cloned().unwrap_or_default()
}

async fn web_page(s: &TestServer, path: &str, u: &User) -> String {
    web_get(s, path, Some(&u.token))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn moderators_hear_of_requests_and_reports_and_invitees_of_invitations() {
    let s = TestServer::start().await;
    let o = s.register("olga").await;
    let d = s.register("dana").await;
    let a = s.register("adam").await;
    let b = s.register("bea").await;
    let r = s.register("rita").await;
    let admin = s.register("sam").await;
    s.kring
        .admin_set_role(
            None,
            admin.id.parse().unwrap(),
            kring_core::model::Role::Admin,
        )
        .await
        .unwrap();
    let g = create_group(
        &s,
        &o,
        json!({"display_name": "Quiet Readers", "username": "readers", "kind": "closed"}),
    )
    .await;
    let gid = id_of(&g);
    // dana moderates.
    for (u, step) in [(&d, "join"), (&r, "join")] {
        s.ok_post(
            &format!("/api/v1/groups/{gid}/{step}"),
            Some(&u.token),
            json!({}),
        )
        .await;
        s.ok_post(
            &format!(
                "/api/v1/groups/{gid}/membership_requests/{}/authorize",
                u.id
            ),
            Some(&o.token),
            json!({}),
        )
        .await;
    }
    s.ok_post(
        &format!("/api/v1/groups/{gid}/promote"),
        Some(&o.token),
        json!({"account_ids": [d.id], "role": "moderator"}),
    )
    .await;
    assert!(notes_of(&s, &o, "group.request").await.is_empty());

    // adam asks to join: the owner and the moderator are told, nobody else.
    s.ok_post(
        &format!("/api/v1/groups/{gid}/join"),
        Some(&a.token),
        json!({}),
    )
    .await;
    for u in [&o, &d] {
        let n = notes_of(&s, u, "group.request").await;
        assert_eq!(n.len(), 1, "{n:?}");
        assert_eq!(n[0]["type"], "group.request");
        assert_eq!(n[0]["account"]["id"], a.id.as_str());
        assert_eq!(n[0]["group"]["id"], gid.as_str());
        assert_eq!(n[0]["group"]["group"], true);
    }
    assert!(
        notes_of(&s, &r, "group.request").await.is_empty(),
        "members are not told"
    );
    // Mastodon apps, which do not know the kind, are not sent it unless they ask.
    let all = s.ok("/api/v1/notifications", Some(&o.token)).await;
    assert!(!all.to_string().contains("group.request"), "{all}");
    // The web page says it, and where to answer.
    let page = web_page(&s, "/notifications", &o).await;
    assert!(page.contains("asked to join"), "{page}");
    assert!(page.contains(&format!("/groups/{gid}/requests")), "{page}");
    // The moderator approves: the request is settled for everyone told of it.
    s.ok_post(
        &format!(
            "/api/v1/groups/{gid}/membership_requests/{}/authorize",
            a.id
        ),
        Some(&d.token),
        json!({}),
    )
    .await;
    for u in [&o, &d] {
        assert!(notes_of(&s, u, "group.request").await.is_empty());
    }
    // A moderator who is demoted no longer sees requests told to moderators.
    s.ok_post(
        &format!("/api/v1/groups/{gid}/join"),
        Some(&b.token),
        json!({}),
    )
    .await;
    assert_eq!(notes_of(&s, &d, "group.request").await.len(), 1);
    s.ok_post(
        &format!("/api/v1/groups/{gid}/demote"),
        Some(&o.token),
        json!({"account_ids": [d.id], "role": "member"}),
    )
    .await;
    assert!(notes_of(&s, &d, "group.request").await.is_empty());
    // bea withdraws: the owner's notification goes too.
    s.ok_post(
        &format!("/api/v1/groups/{gid}/leave"),
        Some(&b.token),
        json!({}),
    )
    .await;
    assert!(notes_of(&s, &o, "group.request").await.is_empty());

    // An invitation tells the invited, who answers by joining.
    s.ok_post(
        &format!("/api/v1/groups/{gid}/invite"),
        Some(&o.token),
        json!({"account_ids": [b.id]}),
    )
    .await;
    let n = notes_of(&s, &b, "group.invite").await;
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0]["account"]["id"], o.id.as_str());
    assert_eq!(n[0]["group"]["id"], gid.as_str());
    let page = web_page(&s, "/notifications", &b).await;
    assert!(page.contains("invited you to join"), "{page}");
    s.ok_post(
        &format!("/api/v1/groups/{gid}/join"),
        Some(&b.token),
        json!({}),
    )
    .await;
    assert!(notes_of(&s, &b, "group.invite").await.is_empty());

    // A report about a post in the group: its moderators are told (`group.report`), the
    // server's moderators too (`admin.report`, which Mastodon apps know).
    let p = group_post(&s, &a, &gid, "buy my seeds, cheap").await;
    let report = s
        .ok_post(
            "/api/v1/reports",
            Some(&r.token),
            json!({"account_id": a.id, "status_ids": [id_of(&p)], "comment": "spam"}),
        )
        .await;
    let rid = id_of(&report);
    let n = notes_of(&s, &o, "group.report").await;
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0]["report"]["id"], rid.as_str());
    assert_eq!(n[0]["report"]["target_account"]["id"], a.id.as_str());
    assert_eq!(n[0]["group"]["id"], gid.as_str());
    assert!(
        notes_of(&s, &d, "group.report").await.is_empty(),
        "no longer a moderator"
    );
    let n = s.ok("/api/v1/notifications", Some(&admin.token)).await;
    assert_eq!(n[0]["type"], "admin.report", "{n}");
    assert_eq!(n[0]["report"]["id"], rid.as_str());
    assert_valid("Notification", &n[0]);
    let page = web_page(&s, "/notifications", &admin).await;
    assert!(page.contains("/admin"), "{page}");
    // Others are not told.
    for u in [&a, &b, &r] {
        let n = s
            .ok(
                "/api/v1/notifications?types[]=admin.report&types[]=group.report",
                Some(&u.token),
            )
            .await;
        assert_eq!(n, json!([]), "{n}");
    }
}

#[tokio::test]
async fn a_groups_stream_carries_its_posts_to_whoever_may_read_them() {
    let s = TestServer::start().await;
    let o = s.register("olga").await;
    let m = s.register("milo").await;
    let x = s.register("xena").await;
    let g = create_group(
        &s,
        &o,
        json!({"display_name": "Hideout", "username": "hideout", "kind": "private"}),
    )
    .await;
    let gid = id_of(&g);
    s.ok_post(
        &format!("/api/v1/groups/{gid}/invite"),
        Some(&o.token),
        json!({"account_ids": [m.id]}),
    )
    .await;
    s.ok_post(
        &format!("/api/v1/groups/{gid}/join"),
        Some(&m.token),
        json!({}),
    )
    .await;
    // A private group's stream is not found for anyone else, as its timeline is.
    let (st, _, _) = s
        .get(
            &format!("/api/v1/streaming/group?group={gid}"),
            Some(&x.token),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let mut xs = s.websocket(&x.token, "stream=public").await;
    let mut ms = s
        .websocket(&m.token, &format!("stream=group&group={gid}"))
        .await;
    let mut owner_notes = s.websocket(&o.token, "stream=user:notification").await;
    let p = group_post(&s, &o, &gid, "tea at five").await;
    let e = ms.expect_event("update", QUIET * 4).await;
    assert_eq!(e.stream, json!(["group", gid]));
    assert_eq!(
        e.payload_json["id"], p["id"],
        "the post itself, not the group's boost"
    );
    assert_eq!(e.payload_json["group"]["id"], gid.as_str());
    // A public-stream reader who is no member hears nothing of it.
    let leaked = xs.drain(QUIET).await;
    assert!(
        !leaked.iter().any(|e| e.payload.contains("tea at five")),
        "{leaked:?}"
    );
    // A request to join reaches the owner's notification stream as it happens.
    s.ok_post(
        &format!("/api/v1/groups/{gid}/join"),
        Some(&x.token),
        json!({}),
    )
    .await;
    let e = owner_notes.expect_event("notification", QUIET * 4).await;
    assert_eq!(e.payload_json["type"], "group.request");
    assert_eq!(e.payload_json["group"]["id"], gid.as_str());
    ms.close().await;
    xs.close().await;
    owner_notes.close().await;
}
