// SPDX-License-Identifier: AGPL-3.0-or-later
//! Interaction controls (issue 10) on one server, through the Mastodon API with GoToSocial's
//! extensions: the `interaction_policy` of a status, per-post policies on create (JSON and
//! form), the defaults (`/api/v1/interaction_policies/defaults`), each control enforced for
//! local actions (replies, boosts, favourites: 403 with Mastodon's error JSON), and the
//! approval queue (`/api/v1/interaction_requests`, authorize, reject). Who reads a reply that
//! awaits approval on every path: `audiences.rs`. Across servers: `federation_interactions.rs`.
//!
//! Cast: A (author), F (friend: A and F follow each other), Y (follows A), M (mentioned by A),
//! X (stranger).
mod common;

use common::schema::assert_valid;
use common::{TestServer, User};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Cast {
    s: TestServer,
    a: User,
    f: User,
    y: User,
    m: User,
    x: User,
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
    Cast { s, a, f, y, m, x }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn uri(s: &TestServer, u: &User) -> String {
    format!("{}/users/{}", s.base, u.username)
}

/// `u` does something to `status` (`reply`, `favourite`, `reblog`); the HTTP status and body.
async fn act(s: &TestServer, u: &User, what: &str, status: &str) -> (StatusCode, Value) {
    let (st, _, body) = match what {
        "reply" => {
            s.post(
                "/api/v1/statuses",
                Some(&u.token),
                json!({"status": format!("@alice a reply by {}", u.username), "in_reply_to_id": status}),
            )
            .await
        }
        other => {
            s.post(
                &format!("/api/v1/statuses/{status}/{other}"),
                Some(&u.token),
                json!({}),
            )
            .await
        }
    };
    (st, body)
}

fn rules(v: &Value, which: &str) -> (Vec<String>, Vec<String>) {
    let list = |k: &str| -> Vec<String> {
        v["interaction_policy"][which][k]
            .as_array()
            .unwrap_or_else(|| panic!("no {which}.{k} in {v}"))
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    (list("automatic_approval"), list("manual_approval"))
}

#[tokio::test]
async fn statuses_show_their_policy_and_defaults_apply() {
    let c = cast().await;
    let s = &c.s;
    // Without a policy: anyone who may read it, at once; narrowed posts are boosted by
    // nobody, followers-only ones by their author only.
    let open = s.post_status(&c.a, json!({"status": "open"})).await;
    for which in ["can_reply", "can_favourite", "can_reblog", "can_quote"] {
        assert_eq!(
            rules(&open, which),
            (vec!["author".into(), "public".into()], vec![]),
            "{which}: {open}"
        );
    }
    assert_eq!(open["kring"]["pending_approval"], false);
    for visibility in ["private", "friends", "direct"] {
        let p = s
            .post_status(&c.a, json!({"status": "narrow", "visibility": visibility}))
            .await;
        assert_eq!(rules(&p, "can_reblog"), (vec!["author".into()], vec![]));
        assert_eq!(rules(&p, "can_quote"), (vec!["author".into()], vec![]));
        assert_eq!(rules(&p, "can_reply").0, vec!["author", "public"]);
    }

    // A policy of its own, as JSON: GoToSocial's keywords and an actor URI.
    let p = s
        .post_status(
            &c.a,
            json!({"status": "mine", "interaction_policy": {
                "can_reply": {"automatic_approval": ["mutuals", uri(s, &c.x)], "manual_approval": ["public"]},
                "can_favourite": {"automatic_approval": ["followers"]},
                "can_reblog": {"automatic_approval": []},
            }}),
        )
        .await;
    let (auto, manual) = rules(&p, "can_reply");
    assert!(
        auto.contains(&"mutuals".to_string()) && auto.contains(&uri(s, &c.x)),
        "{p}"
    );
    assert!(
        auto.contains(&"mentioned".to_string()),
        "whoever is mentioned may reply: {p}"
    );
    assert_eq!(manual, vec!["public"]);
    assert_eq!(rules(&p, "can_favourite").0, vec!["author", "followers"]);
    assert_eq!(rules(&p, "can_reblog"), (vec!["author".into()], vec![]));
    // Left out: the default.
    assert_eq!(rules(&p, "can_quote").0, vec!["author", "public"]);
    // The same read back.
    let again = s
        .ok(&format!("/api/v1/statuses/{}", id_of(&p)), Some(&c.y.token))
        .await;
    assert_valid("Status", &again);
    assert_eq!(again["interaction_policy"], p["interaction_policy"]);

    // As a form, with Rails brackets (GoToSocial's older `always` too).
    let (st, _, formed) = s
        .form(
            Method::POST,
            "/api/v1/statuses",
            Some(&c.a.token),
            &[
                ("status", "formed"),
                ("interaction_policy[can_reply][always][]", "followers"),
                ("interaction_policy[can_reply][manual_approval][]", "public"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{formed}");
    assert_eq!(
        rules(&formed, "can_reply"),
        (
            vec!["author".into(), "followers".into(), "mentioned".into()],
            vec!["public".into()]
        )
    );

    // Bad input: a clear error, nothing posted.
    for bad in [
        json!("everyone"),
        json!({"can_reply": "public"}),
        json!({"can_reply": {"automatic_approval": [1]}}),
        json!({"can_reply": {"automatic_approval": ["https://nowhere.invalid/users/x"]}}),
    ] {
        let (st, _, body) = s
            .post(
                "/api/v1/statuses",
                Some(&c.a.token),
                json!({"status": "bad", "interaction_policy": bad}),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }

    // Defaults: the server's until set.
    let d = s
        .ok("/api/v1/interaction_policies/defaults", Some(&c.a.token))
        .await;
    assert_eq!(
        d["public"]["can_reply"]["automatic_approval"],
        json!(["author", "public"])
    );
    assert_eq!(
        d["private"]["can_reblog"]["automatic_approval"],
        json!(["author"])
    );
    assert_eq!(
        d["friends"]["can_reblog"]["automatic_approval"],
        json!(["author"])
    );
    let (st, _, d) = s
        .patch(
            "/api/v1/interaction_policies/defaults",
            Some(&c.a.token),
            json!({
                "public": {"can_reply": {"automatic_approval": ["followers"], "manual_approval": ["public"]}},
                "friends": {"can_reblog": {"automatic_approval": ["public"]}, "can_favourite": {"automatic_approval": []}},
            }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(
        d["public"]["can_reply"],
        json!({"automatic_approval": ["author", "followers", "mentioned"], "manual_approval": ["public"]})
    );
    // A friends-only post is never boosted, whatever the default says.
    assert_eq!(
        d["friends"]["can_reblog"]["automatic_approval"],
        json!(["author"])
    );
    assert_eq!(
        d["friends"]["can_favourite"]["automatic_approval"],
        json!(["author"])
    );
    assert_eq!(
        d["unlisted"]["can_reply"]["automatic_approval"],
        json!(["author", "public"])
    );
    let p = s.post_status(&c.a, json!({"status": "by default"})).await;
    assert_eq!(rules(&p, "can_reply").1, vec!["public"]);
    let fp = s
        .post_status(&c.a, json!({"status": "friends", "visibility": "friends"}))
        .await;
    assert_eq!(rules(&fp, "can_favourite").0, vec!["author"]);
    // Another person's defaults are their own.
    let other = s
        .ok("/api/v1/interaction_policies/defaults", Some(&c.x.token))
        .await;
    assert_eq!(other["public"]["can_reply"]["manual_approval"], json!([]));
    // Leaving a visibility out resets it.
    let (st, _, d) = s
        .patch(
            "/api/v1/interaction_policies/defaults",
            Some(&c.a.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(d["public"]["can_reply"]["manual_approval"], json!([]));
    let (st, _, _) = s.get("/api/v1/interaction_policies/defaults", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn each_control_is_enforced_for_local_actions() {
    let c = cast().await;
    let s = &c.s;
    let post = async |policy: Value, text: &str| {
        id_of(
            &s.post_status(&c.a, json!({"status": text, "interaction_policy": policy}))
                .await,
        )
    };
    // Nobody but the author (and, for replies, whom it mentions).
    let nobody = json!({
        "can_reply": {"automatic_approval": []},
        "can_favourite": {"automatic_approval": []},
        "can_reblog": {"automatic_approval": []},
    });
    let closed = post(nobody.clone(), "nobody but @mona").await;
    for what in ["reply", "favourite", "reblog"] {
        for u in [&c.f, &c.y, &c.x] {
            let (st, body) = act(s, u, what, &closed).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{} {what}: {body}", u.username);
            assert!(
                body["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{body}"
            );
        }
    }
    // The mentioned may reply, not favourite; the author may do all.
    assert_eq!(act(s, &c.m, "reply", &closed).await.0, StatusCode::OK);
    assert_eq!(
        act(s, &c.m, "favourite", &closed).await.0,
        StatusCode::FORBIDDEN
    );
    for what in ["reply", "favourite", "reblog"] {
        assert_eq!(
            act(s, &c.a, what, &closed).await.0,
            StatusCode::OK,
            "author {what}"
        );
    }
    let st = s
        .ok(&format!("/api/v1/statuses/{closed}"), Some(&c.a.token))
        .await;
    assert_eq!(st["favourites_count"], 1);

    // Friends only (GoToSocial's `mutuals`).
    let friends = post(
        json!({"can_reply": {"automatic_approval": ["mutuals"]}, "can_favourite": {"automatic_approval": ["mutuals"]}}),
        "friends may",
    )
    .await;
    assert_eq!(act(s, &c.f, "reply", &friends).await.0, StatusCode::OK);
    assert_eq!(act(s, &c.f, "favourite", &friends).await.0, StatusCode::OK);
    for u in [&c.y, &c.x] {
        assert_eq!(act(s, u, "reply", &friends).await.0, StatusCode::FORBIDDEN);
        assert_eq!(
            act(s, u, "favourite", &friends).await.0,
            StatusCode::FORBIDDEN
        );
    }
    // Followers: Y and F, not X. Boosts too.
    let followers = post(
        json!({"can_reply": {"automatic_approval": ["followers"]}, "can_reblog": {"automatic_approval": ["followers"]}}),
        "followers may",
    )
    .await;
    for u in [&c.y, &c.f] {
        assert_eq!(act(s, u, "reply", &followers).await.0, StatusCode::OK);
        assert_eq!(act(s, u, "reblog", &followers).await.0, StatusCode::OK);
    }
    assert_eq!(
        act(s, &c.x, "reply", &followers).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        act(s, &c.x, "reblog", &followers).await.0,
        StatusCode::FORBIDDEN
    );
    // Following: accounts the author follows (F), not their other followers.
    let following = post(
        json!({"can_reply": {"automatic_approval": ["following"]}}),
        "whom I follow may",
    )
    .await;
    assert_eq!(act(s, &c.f, "reply", &following).await.0, StatusCode::OK);
    assert_eq!(
        act(s, &c.y, "reply", &following).await.0,
        StatusCode::FORBIDDEN
    );
    // One account by its URI.
    let just_x = post(
        json!({"can_reply": {"automatic_approval": [uri(s, &c.x)]}}),
        "only xavier may",
    )
    .await;
    assert_eq!(act(s, &c.x, "reply", &just_x).await.0, StatusCode::OK);
    assert_eq!(
        act(s, &c.y, "reply", &just_x).await.0,
        StatusCode::FORBIDDEN
    );
    // Everyone but one account, who must ask.
    let but_x = post(
        json!({"can_reply": {"automatic_approval": ["public"], "manual_approval": [uri(s, &c.x)]}}),
        "all but xavier may",
    )
    .await;
    assert_eq!(
        act(s, &c.y, "reply", &but_x).await.1["kring"]["pending_approval"],
        false
    );
    assert_eq!(
        act(s, &c.x, "reply", &but_x).await.1["kring"]["pending_approval"],
        true
    );

    // A narrowed post is never boosted, whatever it allows; replies to a reply that awaits
    // approval are refused (it could not be approved through its own thread).
    let fp = id_of(
        &s.post_status(
            &c.a,
            json!({"status": "friends", "visibility": "friends",
                   "interaction_policy": {"can_reblog": {"automatic_approval": ["public"]}}}),
        )
        .await,
    );
    assert_eq!(act(s, &c.f, "reblog", &fp).await.0, StatusCode::FORBIDDEN);
    let manual = post(
        json!({"can_reply": {"manual_approval": ["public"]}}),
        "ask me",
    )
    .await;
    let pending = act(s, &c.x, "reply", &manual).await.1;
    assert_eq!(pending["kring"]["pending_approval"], true, "{pending}");
    let (st, _, body) = s
        .post(
            "/api/v1/statuses",
            Some(&c.x.token),
            json!({"status": "and more", "in_reply_to_id": id_of(&pending)}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
}

/// `who`'s pending requests, as ids of (type, account id).
async fn queue(s: &TestServer, who: &User, query: &str) -> Vec<(String, String, String)> {
    let (st, _, list) = s
        .get(
            &format!("/api/v1/interaction_requests{query}"),
            Some(&who.token),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_valid("Account", &r["account"]);
            assert_valid("Status", &r["status"]);
            (
                r["type"].as_str().unwrap().to_string(),
                r["account"]["id"].as_str().unwrap().to_string(),
                r["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn manual_approval_puts_interactions_in_a_queue() {
    let c = cast().await;
    let s = &c.s;
    let ask = json!({
        "can_reply": {"automatic_approval": ["mutuals"], "manual_approval": ["public"]},
        "can_favourite": {"manual_approval": ["public"]},
        "can_reblog": {"manual_approval": ["public"]},
    });
    let p = id_of(
        &s.post_status(
            &c.a,
            json!({"status": "ask first", "interaction_policy": ask}),
        )
        .await,
    );
    // F is a friend: at once. X and Y must ask.
    let f_reply = act(s, &c.f, "reply", &p).await.1;
    assert_eq!(f_reply["kring"]["pending_approval"], false);
    let (st, x_reply) = act(s, &c.x, "reply", &p).await;
    assert_eq!(st, StatusCode::OK, "{x_reply}");
    assert_valid("Status", &x_reply);
    assert_eq!(x_reply["kring"]["pending_approval"], true);
    let x_reply = id_of(&x_reply);
    let y_reply = id_of(&act(s, &c.y, "reply", &p).await.1);
    let fav = act(s, &c.x, "favourite", &p).await.1;
    assert_eq!(fav["favourited"], false, "{fav}");
    assert_eq!(fav["favourites_count"], 0);
    let boost = act(s, &c.y, "reblog", &p).await.1;
    assert_eq!(boost["kring"]["pending_approval"], true, "{boost}");
    // Asking twice asks once.
    act(s, &c.x, "favourite", &p).await;

    // The post counts only what is approved; the pending ones are read by their authors and
    // A only (every path: audiences.rs).
    let st = s
        .ok(&format!("/api/v1/statuses/{p}"), Some(&c.a.token))
        .await;
    assert_eq!(
        (
            st["replies_count"].clone(),
            st["favourites_count"].clone(),
            st["reblogs_count"].clone()
        ),
        (json!(1), json!(0), json!(0)),
        "{st}"
    );
    let ctx = s
        .ok(&format!("/api/v1/statuses/{p}/context"), Some(&c.a.token))
        .await;
    let ids = TestServer::ids(&ctx["descendants"]);
    assert!(ids.contains(&x_reply) && ids.contains(&y_reply), "{ctx}");
    let ctx = s
        .ok(&format!("/api/v1/statuses/{p}/context"), Some(&c.f.token))
        .await;
    assert_eq!(TestServer::ids(&ctx["descendants"]), vec![id_of(&f_reply)]);
    assert_eq!(
        s.get(&format!("/api/v1/statuses/{x_reply}"), Some(&c.y.token))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.get(&format!("/api/v1/statuses/{x_reply}"), Some(&c.x.token))
            .await
            .0,
        StatusCode::OK
    );

    // A's queue, newest first, filterable; nobody else's.
    let q = queue(s, &c.a, "").await;
    let kinds: Vec<&str> = q.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        vec!["reblog", "favourite", "reply", "reply"],
        "{q:?}"
    );
    assert_eq!(
        queue(s, &c.a, "?replies=false&reblogs=false").await.len(),
        1
    );
    assert_eq!(
        queue(s, &c.a, &format!("?status_id={p}&favourites=false"))
            .await
            .len(),
        3
    );
    assert_eq!(queue(s, &c.a, "?limit=1").await.len(), 1);
    assert!(queue(s, &c.x, "").await.is_empty());
    let (_, _, one) = s
        .get("/api/v1/interaction_requests?limit=1", Some(&c.a.token))
        .await;
    assert!(one[0]["reply"].is_null());
    let reply_req = q
        .iter()
        .find(|(k, a, _)| k == "reply" && *a == c.x.id)
        .unwrap()
        .2
        .clone();
    let r = s
        .ok(
            &format!("/api/v1/interaction_requests/{reply_req}"),
            Some(&c.a.token),
        )
        .await;
    assert_eq!(r["reply"]["id"], x_reply, "{r}");
    assert!(r.get("accepted_at").is_none());
    for who in [&c.x, &c.y] {
        let (st, _, _) = s
            .get(
                &format!("/api/v1/interaction_requests/{reply_req}"),
                Some(&who.token),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _, _) = s
            .post(
                &format!("/api/v1/interaction_requests/{reply_req}/authorize"),
                Some(&who.token),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }

    // A is told, by a notification type Mastodon clients never see unless they ask for it.
    let all = s.ok("/api/v1/notifications", Some(&c.a.token)).await;
    common::schema::assert_valid_each("Notification", &all);
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|n| !n["type"].as_str().unwrap().starts_with("pending.")),
        "{all}"
    );
    let pending = s
        .ok(
            "/api/v1/notifications?types[]=pending.reply&types[]=pending.favourite&types[]=pending.reblog",
            Some(&c.a.token),
        )
        .await;
    let mut types: Vec<&str> = pending
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(
        types,
        vec![
            "pending.favourite",
            "pending.reblog",
            "pending.reply",
            "pending.reply"
        ]
    );

    // Approve X's reply, the favourite and the boost; reject Y's reply.
    let approved = s
        .ok_post(
            &format!("/api/v1/interaction_requests/{reply_req}/authorize"),
            Some(&c.a.token),
            json!({}),
        )
        .await;
    assert!(approved["accepted_at"].is_string(), "{approved}");
    assert_eq!(approved["reply"]["kring"]["pending_approval"], false);
    for (kind, _, id) in &q {
        if kind == "favourite" || kind == "reblog" {
            s.ok_post(
                &format!("/api/v1/interaction_requests/{id}/authorize"),
                Some(&c.a.token),
                json!({}),
            )
            .await;
        }
    }
    let y_req = q
        .iter()
        .find(|(k, a, _)| k == "reply" && *a == c.y.id)
        .unwrap()
        .2
        .clone();
    let rejected = s
        .ok_post(
            &format!("/api/v1/interaction_requests/{y_req}/reject"),
            Some(&c.a.token),
            json!({}),
        )
        .await;
    assert!(rejected["rejected_at"].is_string(), "{rejected}");
    assert!(queue(s, &c.a, "").await.is_empty());

    // Now X's reply, the favourite and the boost count and show; Y's reply is gone.
    let st = s
        .ok(&format!("/api/v1/statuses/{p}"), Some(&c.f.token))
        .await;
    assert_eq!(
        (
            st["replies_count"].clone(),
            st["favourites_count"].clone(),
            st["reblogs_count"].clone()
        ),
        (json!(2), json!(1), json!(1)),
        "{st}"
    );
    let ctx = s
        .ok(&format!("/api/v1/statuses/{p}/context"), Some(&c.f.token))
        .await;
    let ids = TestServer::ids(&ctx["descendants"]);
    assert!(ids.contains(&x_reply) && !ids.contains(&y_reply), "{ctx}");
    assert_eq!(
        s.get(&format!("/api/v1/statuses/{y_reply}"), Some(&c.y.token))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let x_view = s
        .ok(&format!("/api/v1/statuses/{p}"), Some(&c.x.token))
        .await;
    assert_eq!(x_view["favourited"], true);
    // A mention in the approved reply is notified now, not while it waited.
    let notes = s.ok("/api/v1/notifications", Some(&c.a.token)).await;
    assert!(
        notes
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "mention" && n["status"]["id"] == x_reply),
        "{notes}"
    );
    // Deciding again changes nothing.
    let again = s
        .ok_post(
            &format!("/api/v1/interaction_requests/{reply_req}/reject"),
            Some(&c.a.token),
            json!({}),
        )
        .await;
    assert!(
        again["accepted_at"].is_string() && again.get("rejected_at").is_none(),
        "{again}"
    );

    // Undoing a favourite that waits withdraws it.
    let z = id_of(
        &s.post_status(
            &c.a,
            json!({"status": "again", "interaction_policy": {"can_favourite": {"manual_approval": ["public"]}}}),
        )
        .await,
    );
    act(s, &c.y, "favourite", &z).await;
    assert_eq!(queue(s, &c.a, "").await.len(), 1);
    act(s, &c.y, "unfavourite", &z).await;
    assert!(queue(s, &c.a, "").await.is_empty());
}
