// SPDX-License-Identifier: AGPL-3.0-or-later
//! The proof that followers-only (private) and direct posts never reach anyone outside their
//! audience, through any endpoint: by id, context, account statuses, home, public, local,
//! hashtag and list timelines, notifications, search, the per-status sub-resources, marks,
//! bookmarks and favourites, and streaming. Also: unlisted posts stay out of public timelines,
//! blocked viewers and suspended authors.
//!
//! Cast: A (author), F (follows A), M (mentioned in A's direct post), X (stranger), Y (follows
//! A, not mentioned), and signed-out visitors.
mod common;

use std::time::Duration;

use common::schema::{assert_valid, assert_valid_each};
use common::{TestServer, User, Ws, enc};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TAG: &str = "kringtag";

struct Cast {
    s: TestServer,
    a: User,
    f: User,
    m: User,
    x: User,
    y: User,
    public: String,
    unlisted: String,
    private: String,
    direct: String,
}

impl Cast {
    /// Everyone with a token, and None (signed out) last.
    fn outsiders(&self) -> Vec<(&'static str, Option<&str>)> {
        vec![("X", Some(self.x.token.as_str())), ("signed-out", None)]
    }
    fn hidden(&self) -> [&String; 2] {
        [&self.private, &self.direct]
    }
}

async fn cast_with(s: TestServer) -> (TestServer, User, User, User, User, User) {
    let a = s.register("alice").await;
    let f = s.register("fred").await;
    let m = s.register("mallory").await;
    let x = s.register("xavier").await;
    let y = s.register("yuri").await;
    s.follow(&f, &a).await;
    s.follow(&y, &a).await;
    (s, a, f, m, x, y)
}

async fn post_all(s: &TestServer, a: &User) -> (String, String, String, String) {
    let public = s.status(a, &format!("public #{TAG}"), "public").await;
    let unlisted = s.status(a, &format!("unlisted #{TAG}"), "unlisted").await;
    let private = s
        .status(a, &format!("private #{TAG} secretword"), "private")
        .await;
    let direct = s
        .status(a, &format!("@mallory direct #{TAG} secretword"), "direct")
        .await;
    (public, unlisted, private, direct)
}

async fn cast() -> Cast {
    let (s, a, f, m, x, y) = cast_with(TestServer::start().await).await;
    let (public, unlisted, private, direct) = post_all(&s, &a).await;
    Cast {
        s,
        a,
        f,
        m,
        x,
        y,
        public,
        unlisted,
        private,
        direct,
    }
}

fn assert_none_of(ids: &[String], hidden: &[&String], what: &str) {
    for h in hidden {
        assert!(!ids.contains(h), "{what} leaks {h}: {ids:?}");
    }
}

#[tokio::test]
async fn by_id_and_sub_resources_are_not_found() {
    let c = cast().await;
    let s = &c.s;
    for (who, token) in c.outsiders() {
        for id in c.hidden() {
            for path in [
                format!("/api/v1/statuses/{id}"),
                format!("/api/v1/statuses/{id}/context"),
                format!("/api/v1/statuses/{id}/favourited_by"),
                format!("/api/v1/statuses/{id}/reblogged_by"),
                format!("/api/v1/statuses/{id}/history"),
            ] {
                let (st, _, body) = s.get(&path, token).await;
                assert_eq!(st, StatusCode::NOT_FOUND, "{who} GET {path}: {body}");
                assert_valid("Error", &body);
            }
        }
    }
    // Source needs a user; for X it is not found.
    for id in c.hidden() {
        let (st, _, _) = s
            .get(&format!("/api/v1/statuses/{id}/source"), Some(&c.x.token))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _, _) = s.get(&format!("/api/v1/statuses/{id}/source"), None).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    // Acting on them: not found for X (the same answer as for an id that never existed).
    for id in c.hidden() {
        for action in [
            "favourite",
            "unfavourite",
            "reblog",
            "unreblog",
            "bookmark",
            "unbookmark",
            "pin",
        ] {
            let path = format!("/api/v1/statuses/{id}/{action}");
            let (st, _, body) = s.post(&path, Some(&c.x.token), json!({})).await;
            assert_eq!(st, StatusCode::NOT_FOUND, "X POST {path}: {body}");
        }
        let (st, _, _) = s
            .put(
                &format!("/api/v1/statuses/{id}"),
                Some(&c.x.token),
                json!({"status": "edit"}),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _, _) = s
            .delete(&format!("/api/v1/statuses/{id}"), Some(&c.x.token))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        // Replying to them is refused as if they did not exist.
        let (st, _, _) = s
            .post(
                "/api/v1/statuses",
                Some(&c.x.token),
                json!({"status": "reply", "in_reply_to_id": id}),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        // Filters cannot name them either.
        let f = s
            .ok_post(
                "/api/v2/filters",
                Some(&c.x.token),
                json!({"title": "probe", "context": ["home"]}),
            )
            .await;
        let (st, _, body) = s
            .post(
                &format!("/api/v2/filters/{}/statuses", f["id"].as_str().unwrap()),
                Some(&c.x.token),
                json!({"status_id": id}),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "filter on hidden status: {body}");
    }
    // Y follows A but is not mentioned: the direct post is not found for Y either.
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{}", c.direct), Some(&c.y.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _) = s
        .post(
            &format!("/api/v1/statuses/{}/favourite", c.direct),
            Some(&c.y.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // The audience does see them.
    let got = s
        .ok(&format!("/api/v1/statuses/{}", c.private), Some(&c.f.token))
        .await;
    assert_valid("Status", &got);
    assert_eq!(got["visibility"], "private");
    let got = s
        .ok(&format!("/api/v1/statuses/{}", c.direct), Some(&c.m.token))
        .await;
    assert_eq!(got["visibility"], "direct");
    // M is not a follower: the private post is not for M.
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{}", c.private), Some(&c.m.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Unlisted: readable by id by anyone.
    for (_, token) in c.outsiders() {
        let got = s
            .ok(&format!("/api/v1/statuses/{}", c.unlisted), token)
            .await;
        assert_eq!(got["visibility"], "unlisted");
    }
}

#[tokio::test]
async fn timelines_and_account_statuses() {
    let c = cast().await;
    let s = &c.s;
    let hidden = c.hidden();
    // X and F put A in a list (X must follow A for that, then stops).
    let fl = s
        .ok_post("/api/v1/lists", Some(&c.f.token), json!({"title": "A"}))
        .await;
    let fl = fl["id"].as_str().unwrap().to_string();
    s.ok_post(
        &format!("/api/v1/lists/{fl}/accounts"),
        Some(&c.f.token),
        json!({"account_ids": [c.a.id]}),
    )
    .await;
    let yl = s
        .ok_post("/api/v1/lists", Some(&c.y.token), json!({"title": "A"}))
        .await;
    let yl = yl["id"].as_str().unwrap().to_string();
    s.ok_post(
        &format!("/api/v1/lists/{yl}/accounts"),
        Some(&c.y.token),
        json!({"account_ids": [c.a.id]}),
    )
    .await;
    let xl = s
        .ok_post("/api/v1/lists", Some(&c.x.token), json!({"title": "A"}))
        .await;
    let xl = xl["id"].as_str().unwrap().to_string();
    let (st, _, _) = s
        .post(
            &format!("/api/v1/lists/{xl}/accounts"),
            Some(&c.x.token),
            json!({"account_ids": [c.a.id]}),
        )
        .await;
    assert!(
        st.is_client_error(),
        "X cannot list an account X does not follow"
    );

    for (who, token) in c.outsiders() {
        for path in [
            "/api/v1/timelines/public".to_string(),
            "/api/v1/timelines/public?local=true".to_string(),
            format!("/api/v1/timelines/tag/{TAG}"),
            format!("/api/v1/timelines/tag/{TAG}?local=true"),
            format!("/api/v1/timelines/tag/other?any[]={TAG}"),
        ] {
            let ids = s.status_ids(&path, token).await;
            assert_eq!(ids, vec![c.public.clone()], "{who} {path}");
        }
        let ids = s
            .status_ids(&format!("/api/v1/accounts/{}/statuses", c.a.id), token)
            .await;
        assert_eq!(
            ids,
            vec![c.unlisted.clone(), c.public.clone()],
            "{who} account statuses"
        );
        let ids = s
            .status_ids(
                &format!("/api/v1/accounts/{}/statuses?tagged={TAG}", c.a.id),
                token,
            )
            .await;
        assert_none_of(&ids, &hidden, "tagged account statuses");
    }
    let home = s
        .status_ids("/api/v1/timelines/home", Some(&c.x.token))
        .await;
    assert!(home.is_empty(), "X's home: {home:?}");

    // F: public, unlisted and private at home, in the list and on the profile; never the DM.
    let want = vec![c.private.clone(), c.unlisted.clone(), c.public.clone()];
    for path in [
        "/api/v1/timelines/home".to_string(),
        format!("/api/v1/timelines/list/{fl}"),
        format!("/api/v1/accounts/{}/statuses", c.a.id),
    ] {
        let ids = s.status_ids(&path, Some(&c.f.token)).await;
        assert_eq!(ids, want, "F {path}");
    }
    // Y likewise (follower, not mentioned).
    for path in [
        "/api/v1/timelines/home".to_string(),
        format!("/api/v1/timelines/list/{yl}"),
    ] {
        let ids = s.status_ids(&path, Some(&c.y.token)).await;
        assert_eq!(ids, want, "Y {path}");
    }
    // Public timelines are the same for followers.
    let ids = s
        .status_ids(&format!("/api/v1/timelines/tag/{TAG}"), Some(&c.f.token))
        .await;
    assert_eq!(ids, vec![c.public.clone()]);
    // M: the direct post at home, not the private one.
    let home = s
        .status_ids("/api/v1/timelines/home", Some(&c.m.token))
        .await;
    assert_eq!(home, vec![c.direct.clone()]);
    let ids = s
        .status_ids(
            &format!("/api/v1/accounts/{}/statuses", c.a.id),
            Some(&c.m.token),
        )
        .await;
    assert!(!ids.contains(&c.private), "{ids:?}");
    // A sees all four.
    let ids = s
        .status_ids(
            &format!("/api/v1/accounts/{}/statuses", c.a.id),
            Some(&c.a.token),
        )
        .await;
    assert_eq!(
        ids,
        vec![
            c.direct.clone(),
            c.private.clone(),
            c.unlisted.clone(),
            c.public.clone()
        ]
    );

    // An ex-follower loses the private post everywhere at once.
    s.ok_post(
        &format!("/api/v1/accounts/{}/unfollow", c.a.id),
        Some(&c.f.token),
        json!({}),
    )
    .await;
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{}", c.private), Some(&c.f.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    for path in [
        "/api/v1/timelines/home".to_string(),
        format!("/api/v1/timelines/list/{fl}"),
        format!("/api/v1/accounts/{}/statuses", c.a.id),
    ] {
        let ids = s.status_ids(&path, Some(&c.f.token)).await;
        assert_none_of(&ids, &hidden, &format!("ex-follower {path}"));
    }
}

#[tokio::test]
async fn context_of_a_public_parent_hides_private_and_direct_replies() {
    let (s, a, f, m, x, y) = cast_with(TestServer::start().await).await;
    let parent = s.status(&a, "public parent", "public").await;
    let reply = |vis: &'static str, text: &'static str, who: &User| {
        let s = &s;
        let parent = parent.clone();
        let who = who.clone();
        async move {
            let st = s
                .post_status(
                    &who,
                    json!({"status": text, "visibility": vis, "in_reply_to_id": parent}),
                )
                .await;
            st["id"].as_str().unwrap().to_string()
        }
    };
    let r_public = reply("public", "public reply", &a).await;
    let r_private = reply("private", "private reply", &a).await;
    let r_direct = reply("direct", "@mallory direct reply", &a).await;
    // Y replies followers-only: only Y's followers (nobody) and A (the one replied to,
    // mentioned) see it.
    let r_y = reply("private", "@alice private from yuri", &y).await;
    // A reply to the private reply, public itself: visible, though its parent is not.
    let r_under = s
        .post_status(
            &a,
            json!({"status": "public under private", "in_reply_to_id": r_private}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let descendants = |token: Option<String>| {
        let s = &s;
        let parent = parent.clone();
        async move {
            let ctx = s
                .ok(
                    &format!("/api/v1/statuses/{parent}/context"),
                    token.as_deref(),
                )
                .await;
            assert_valid("Context", &ctx);
            TestServer::ids(&ctx["descendants"])
        }
    };
    for token in [Some(x.token.clone()), None] {
        let d = descendants(token).await;
        assert_eq!(d, vec![r_public.clone(), r_under.clone()]);
    }
    let d = descendants(Some(f.token.clone())).await;
    assert_eq!(
        d,
        vec![r_public.clone(), r_private.clone(), r_under.clone()]
    );
    let d = descendants(Some(m.token.clone())).await;
    assert_eq!(d, vec![r_public.clone(), r_direct.clone(), r_under.clone()]);
    let d = descendants(Some(a.token.clone())).await;
    assert_eq!(
        d,
        vec![
            r_public.clone(),
            r_private.clone(),
            r_direct.clone(),
            r_y.clone(),
            r_under.clone()
        ]
    );
    // Ancestors: the public reply under the private one does not reveal its parent.
    for token in [Some(x.token.as_str()), None] {
        let ctx = s
            .ok(&format!("/api/v1/statuses/{r_under}/context"), token)
            .await;
        assert_eq!(TestServer::ids(&ctx["ancestors"]), vec![parent.clone()]);
        let got = s.ok(&format!("/api/v1/statuses/{r_under}"), token).await;
        // The reply itself is public; its in_reply_to_id is an id, not content.
        assert_valid("Status", &got);
    }
    // The parent's replies_count is fine to show; the reply contents are what matter.
    let _ = s.ok(&format!("/api/v1/statuses/{parent}"), None).await;
}

#[tokio::test]
async fn notifications_search_and_marks() {
    let (s, a, f, m, x, y) = cast_with(TestServer::start().await).await;
    // F asks to be notified of A's posts; X tried too, then unfollowed.
    s.ok_post(
        &format!("/api/v1/accounts/{}/follow", a.id),
        Some(&f.token),
        json!({"notify": true}),
    )
    .await;
    s.ok_post(
        &format!("/api/v1/accounts/{}/follow", a.id),
        Some(&x.token),
        json!({"notify": true}),
    )
    .await;
    s.ok_post(
        &format!("/api/v1/accounts/{}/unfollow", a.id),
        Some(&x.token),
        json!({}),
    )
    .await;
    let (public, unlisted, private, direct) = post_all(&s, &a).await;
    let hidden = [&private, &direct];

    // F favourites and bookmarks the private post, then is removed from A's followers.
    s.ok_post(
        &format!("/api/v1/statuses/{private}/favourite"),
        Some(&f.token),
        json!({}),
    )
    .await;
    s.ok_post(
        &format!("/api/v1/statuses/{private}/bookmark"),
        Some(&f.token),
        json!({}),
    )
    .await;
    // M favourites the DM.
    s.ok_post(
        &format!("/api/v1/statuses/{direct}/favourite"),
        Some(&m.token),
        json!({}),
    )
    .await;
    let favs = s.status_ids("/api/v1/favourites", Some(&f.token)).await;
    assert_eq!(favs, vec![private.clone()]);

    let notes = |u: &User| {
        let s = &s;
        let token = u.token.clone();
        async move {
            let list = s.ok("/api/v1/notifications", Some(&token)).await;
            assert_valid_each("Notification", &list);
            list.as_array()
                .unwrap()
                .iter()
                .map(|n| {
                    (
                        n["type"].as_str().unwrap().to_string(),
                        n["status"]["id"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    // X: nothing at all.
    assert!(notes(&x).await.is_empty(), "X: {:?}", notes(&x).await);
    // Y: nothing (follows without notify, not mentioned).
    assert!(notes(&y).await.is_empty());
    // M: the mention, of the DM only.
    assert_eq!(
        notes(&m).await,
        vec![("mention".to_string(), direct.clone())]
    );
    // F: `status` notifications for public, unlisted and private; not the DM.
    let fnotes = notes(&f).await;
    let ids: Vec<String> = fnotes.iter().map(|(_, id)| id.clone()).collect();
    assert!(ids.contains(&private), "{fnotes:?}");
    assert!(!ids.contains(&direct), "{fnotes:?}");
    assert!(ids.contains(&public));
    let _ = &unlisted;

    // A removes F from followers: F's favourites, bookmarks and notifications no longer
    // show the private post.
    s.ok_post(
        &format!("/api/v1/accounts/{}/remove_from_followers", f.id),
        Some(&a.token),
        json!({}),
    )
    .await;
    let favs = s.status_ids("/api/v1/favourites", Some(&f.token)).await;
    assert_none_of(&favs, &hidden, "F's favourites");
    let marks = s.status_ids("/api/v1/bookmarks", Some(&f.token)).await;
    assert_none_of(&marks, &hidden, "F's bookmarks");
    let ids: Vec<String> = notes(&f).await.into_iter().map(|(_, id)| id).collect();
    assert_none_of(&ids, &hidden, "F's notifications");
    let (st, _, _) = s
        .get(
            &format!("/api/v1/statuses/{private}/favourited_by"),
            Some(&f.token),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // A still sees who favourited.
    let by = s
        .ok(
            &format!("/api/v1/statuses/{private}/favourited_by"),
            Some(&a.token),
        )
        .await;
    assert_eq!(TestServer::ids(&by), vec![f.id.clone()]);

    // Search: words, hashtags and URLs never surface the hidden posts.
    for token in [Some(x.token.as_str()), Some(f.token.as_str()), None] {
        for q in [
            "secretword".to_string(),
            format!("#{TAG}"),
            format!("{}/@alice/{private}", s.base),
            format!("{}/@alice/{direct}", s.base),
            format!("{}/users/alice/statuses/{private}", s.base),
            format!("{}/users/alice/statuses/{direct}", s.base),
        ] {
            let path = format!("/api/v2/search?q={}&resolve=true", enc(&q));
            let r = s.ok(&path, token).await;
            assert_valid("Search", &r);
            let ids = TestServer::ids(&r["statuses"]);
            assert_none_of(&ids, &hidden, &format!("search {q}"));
        }
    }
    // A finds her own.
    let r = s
        .ok("/api/v2/search?q=secretword&type=statuses", Some(&a.token))
        .await;
    let mut ids = TestServer::ids(&r["statuses"]);
    ids.sort();
    let mut want = vec![private.clone(), direct.clone()];
    want.sort();
    assert_eq!(ids, want);
    // M finds the DM by its URL.
    let r = s
        .ok(
            &format!(
                "/api/v2/search?q={}&type=statuses",
                enc(&format!("{}/@alice/{direct}", s.base))
            ),
            Some(&m.token),
        )
        .await;
    assert_eq!(TestServer::ids(&r["statuses"]), vec![direct.clone()]);
}

#[tokio::test]
async fn boosts_never_widen_the_audience() {
    let (s, a, f, _m, x, _y) = cast_with(TestServer::start().await).await;
    s.follow(&x, &f).await;
    let (public, _unlisted, private, direct) = post_all(&s, &a).await;
    // F may not boost the private post, nor anyone the DM.
    let (st, _, _) = s
        .post(
            &format!("/api/v1/statuses/{private}/reblog"),
            Some(&f.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, _) = s
        .post(
            &format!("/api/v1/statuses/{direct}/reblog"),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert!(st.is_client_error());
    // A's own boost of her private post stays followers-only: X (not a follower) never sees it.
    let own = s
        .ok_post(
            &format!("/api/v1/statuses/{private}/reblog"),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_eq!(own["visibility"], "private");
    let own_id = own["id"].as_str().unwrap().to_string();
    for token in [Some(x.token.as_str()), None] {
        let (st, _, _) = s.get(&format!("/api/v1/statuses/{own_id}"), token).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let ids = s
            .status_ids(&format!("/api/v1/accounts/{}/statuses", a.id), token)
            .await;
        assert!(!ids.contains(&own_id));
    }
    // F boosts the public post; X (who follows F) sees that boost.
    let b = s
        .ok_post(
            &format!("/api/v1/statuses/{public}/reblog"),
            Some(&f.token),
            json!({}),
        )
        .await;
    let boost = b["id"].as_str().unwrap().to_string();
    let home = s.status_ids("/api/v1/timelines/home", Some(&x.token)).await;
    assert_eq!(home, vec![boost.clone()]);
}

#[tokio::test]
async fn blocked_viewers_see_nothing_of_the_blocker() {
    let (s, a, f, _m, x, _y) = cast_with(TestServer::start().await).await;
    s.follow(&x, &f).await;
    let (public, unlisted, private, _direct) = post_all(&s, &a).await;
    // F boosts A's public post; X follows F, so the boost is in X's home. X then follows A,
    // whose posts come in too (a boost of a post already in the feed would not be delivered).
    let boost = s
        .ok_post(
            &format!("/api/v1/statuses/{public}/reblog"),
            Some(&f.token),
            json!({}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.follow(&x, &a).await;
    let home = s.status_ids("/api/v1/timelines/home", Some(&x.token)).await;
    assert!(home.contains(&boost) && home.contains(&private));

    s.ok_post(
        &format!("/api/v1/accounts/{}/block", x.id),
        Some(&a.token),
        json!({}),
    )
    .await;
    for id in [&public, &unlisted, &private] {
        let (st, _, _) = s
            .get(&format!("/api/v1/statuses/{id}"), Some(&x.token))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "blocked viewer reads {id}");
        let (st, _, _) = s
            .get(&format!("/api/v1/statuses/{id}/context"), Some(&x.token))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
    let acct = s
        .status_ids(
            &format!("/api/v1/accounts/{}/statuses", a.id),
            Some(&x.token),
        )
        .await;
    assert!(acct.is_empty(), "{acct:?}");
    for path in [
        "/api/v1/timelines/public".to_string(),
        format!("/api/v1/timelines/tag/{TAG}"),
        "/api/v1/timelines/home".to_string(),
    ] {
        let list = s.ok(&path, Some(&x.token)).await;
        assert_valid_each("Status", &list);
        for st in list.as_array().unwrap() {
            let author = &st["account"]["id"];
            let inner = &st["reblog"]["account"]["id"];
            assert!(
                author != a.id.as_str() && inner != a.id.as_str(),
                "{path} shows the blocker's post to the blocked: {st}"
            );
        }
    }
    // The boost by F, of A's post, is not a way around the block.
    let (st, body_status, body) = s
        .get(&format!("/api/v1/statuses/{boost}"), Some(&x.token))
        .await;
    let _ = body_status;
    assert!(
        st == StatusCode::NOT_FOUND || body["reblog"].is_null(),
        "boost of blocker's post shown to the blocked: {body}"
    );
    let fs = s
        .ok(
            &format!("/api/v1/accounts/{}/statuses", f.id),
            Some(&x.token),
        )
        .await;
    for st in fs.as_array().unwrap() {
        assert_ne!(st["reblog"]["account"]["id"], a.id.as_str(), "{st}");
    }
    // Signed out, the posts are still public.
    s.ok(&format!("/api/v1/statuses/{public}"), None).await;
}

#[tokio::test]
async fn suspended_authors_disappear() {
    let (s, a, f, m, x, _y) = cast_with(TestServer::start().await).await;
    s.follow(&x, &f).await;
    let (public, unlisted, private, direct) = post_all(&s, &a).await;
    let boost = s
        .ok_post(
            &format!("/api/v1/statuses/{public}/reblog"),
            Some(&f.token),
            json!({}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.kring
        .admin_suspend(None, a.id.parse().unwrap(), true)
        .await
        .unwrap();
    // Nobody reads the posts by id, not even the audience.
    for token in [
        Some(f.token.as_str()),
        Some(m.token.as_str()),
        Some(x.token.as_str()),
        None,
    ] {
        for id in [&public, &unlisted, &private, &direct] {
            let (st, _, _) = s.get(&format!("/api/v1/statuses/{id}"), token).await;
            assert_eq!(st, StatusCode::NOT_FOUND);
        }
        let (st, _, _) = s.get(&format!("/api/v1/accounts/{}", a.id), token).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _, _) = s
            .get(&format!("/api/v1/accounts/{}/statuses", a.id), token)
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        for path in [
            "/api/v1/timelines/public".to_string(),
            format!("/api/v1/timelines/tag/{TAG}"),
        ] {
            let ids = s.status_ids(&path, token).await;
            assert!(ids.is_empty(), "{path}: {ids:?}");
        }
        let r = s.ok("/api/v2/search?q=alice", token).await;
        assert_eq!(r["accounts"], json!([]));
    }
    // Nor at home, directly or boosted.
    for u in [&f, &m, &x] {
        let list = s.ok("/api/v1/timelines/home", Some(&u.token)).await;
        for st in list.as_array().unwrap() {
            assert_ne!(
                st["account"]["id"],
                a.id.as_str(),
                "home of {}: {st}",
                u.username
            );
            assert_ne!(
                st["reblog"]["account"]["id"],
                a.id.as_str(),
                "home of {}: {st}",
                u.username
            );
        }
    }
    let (st, _, body) = s.get(&format!("/api/v1/statuses/{boost}"), None).await;
    assert!(
        st == StatusCode::NOT_FOUND || body["reblog"].is_null(),
        "boost of a suspended author's post: {body}"
    );
    // The suspended account's token no longer works.
    let (st, _, _) = s
        .get("/api/v1/accounts/verify_credentials", Some(&a.token))
        .await;
    assert!(st == StatusCode::UNAUTHORIZED || st == StatusCode::FORBIDDEN);
}

// --- streaming -----------------------------------------------------------------------------------

const QUIET: Duration = Duration::from_millis(1200);

fn update_ids(events: &[common::StreamEvent]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.event == "update" || e.event == "status.update")
        .map(|e| {
            assert_valid("Status", &e.payload_json);
            e.payload_json["id"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test]
async fn streaming_delivers_only_to_the_audience() {
    let (s, a, f, m, x, y) = cast_with(TestServer::start().await).await;
    // Signed-out visitors cannot stream at all.
    let res = s
        .http
        .get(s.url("/api/v1/streaming/public"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let mut streams: Vec<(&str, Ws)> = Vec::new();
    for (name, user, query) in [
        ("X user", &x, "stream=user".to_string()),
        ("X public", &x, "stream=public".to_string()),
        ("X public:local", &x, "stream=public:local".to_string()),
        ("X hashtag", &x, format!("stream=hashtag&tag={TAG}")),
        (
            "X notifications",
            &x,
            "stream=user:notification".to_string(),
        ),
        ("F user", &f, "stream=user".to_string()),
        ("F public", &f, "stream=public".to_string()),
        ("Y user", &y, "stream=user".to_string()),
        ("M user", &m, "stream=user".to_string()),
    ] {
        streams.push((name, s.websocket(&user.token, &query).await));
    }
    let (public, unlisted, private, direct) = post_all(&s, &a).await;
    // And an edit of each, which streams `status.update`.
    for id in [&public, &private, &direct] {
        let text = if id == &direct {
            "@mallory edited"
        } else {
            "edited"
        };
        let (st, _, _) = s
            .put(
                &format!("/api/v1/statuses/{id}"),
                Some(&a.token),
                json!({"status": text}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
    }

    // Listen on all of them at once for a quiet while.
    let got: Vec<(&str, Vec<common::StreamEvent>)> =
        futures_util::future::join_all(streams.into_iter().map(|(name, mut ws)| async move {
            let events = ws.drain(QUIET).await;
            ws.close().await;
            (name, events)
        }))
        .await;
    let by = |n: &str| -> Vec<common::StreamEvent> {
        got.iter().find(|(k, _)| *k == n).unwrap().1.clone()
    };
    let leaks = |events: &[common::StreamEvent]| -> Vec<String> {
        // Any event mentioning a hidden id, whatever its kind or payload.
        events
            .iter()
            .filter(|e| e.payload.contains(&private) || e.payload.contains(&direct))
            .map(|e| format!("{} {}", e.event, e.payload))
            .collect()
    };
    for name in [
        "X user",
        "X public",
        "X public:local",
        "X hashtag",
        "X notifications",
        "F public",
    ] {
        let events = by(name);
        assert!(leaks(&events).is_empty(), "{name}: {:?}", leaks(&events));
    }
    assert!(by("X user").is_empty(), "{:?}", by("X user"));
    assert!(by("X notifications").is_empty());
    for name in ["X public", "X public:local", "X hashtag"] {
        let ids = update_ids(&by(name));
        assert!(ids.iter().all(|i| i == &public), "{name}: {ids:?}");
        assert!(ids.contains(&public), "{name} got the public post");
        assert!(!ids.contains(&unlisted), "{name}: unlisted is not public");
    }
    // F: public, unlisted, private; never the DM.
    let f_ids = update_ids(&by("F user"));
    for id in [&public, &unlisted, &private] {
        assert!(f_ids.contains(id), "F user stream lacks {id}: {f_ids:?}");
    }
    assert!(!f_ids.contains(&direct));
    assert!(by("F user").iter().all(|e| !e.payload.contains(&direct)));
    let y_ids = update_ids(&by("Y user"));
    assert!(y_ids.contains(&private) && !y_ids.contains(&direct));
    // M: the DM (and its mention notification), nothing followers-only.
    let m_events = by("M user");
    let m_ids = update_ids(&m_events);
    assert!(m_ids.contains(&direct), "{m_ids:?}");
    assert!(!m_ids.contains(&private) && !m_ids.contains(&public));
    let mention = m_events
        .iter()
        .find(|e| e.event == "notification")
        .expect("M gets the mention notification");
    assert_valid("Notification", &mention.payload_json);
    assert_eq!(mention.payload_json["type"], "mention");
    assert!(m_events.iter().all(|e| !e.payload.contains(&private)));
    // Deleting the hidden posts: outsiders get no `delete` for ids they never saw.
    let mut xs = s.websocket(&x.token, "stream=public").await;
    let mut fs = s.websocket(&f.token, "stream=user").await;
    for id in [&private, &direct] {
        s.delete(&format!("/api/v1/statuses/{id}"), Some(&a.token))
            .await;
    }
    let (xe, fe) = futures_util::future::join(xs.drain(QUIET), fs.drain(QUIET)).await;
    assert!(
        xe.iter()
            .all(|e| e.payload != private && e.payload != direct),
        "X's public stream learns of hidden posts' deletion: {xe:?}"
    );
    // F saw the private post, so F's home hears that it is gone.
    assert!(
        fe.iter()
            .any(|e| e.event == "delete" && e.payload == private),
        "{fe:?}"
    );
    assert!(fe.iter().all(|e| e.payload != direct), "{fe:?}");
}

// --- the viewer's own choices: blocks, mutes, domain blocks --------------------------------------
//
// One rule decides every path: a post (or a boost of a post) by an account the viewer blocked,
// muted, or whose domain the viewer blocked is not shown in home, lists, public and hashtag
// timelines, threads, search, favourites and bookmarks, notifications, streaming and the web
// pages. Opened directly by id it still opens (as in Mastodon); on the hidden account's own
// profile a mute shows its posts (the viewer asked for that account), a block or domain block
// does not.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Block,
    Mute,
    DomainBlock,
}

/// V (viewer) follows B (booster) and has B in a list; H (the account V will hide) posts a
/// tagged post that B boosts, replies in O's thread, mentions V and favourites V's post; V
/// favourites and bookmarks H's post. For `DomainBlock` H lives on a second server.
struct Scene {
    s: TestServer,
    /// H's server when it is not `s`.
    _remote: Option<TestServer>,
    v: User,
    b: User,
    o: User,
    h: User,
    /// H's account id on `s`.
    h_id: String,
    list: String,
    parent: String,
    /// On `s`: H's tagged post, its reply in O's thread, B's boost of the post.
    hpost: String,
    hpost_uri: String,
    hreply: String,
    boost: String,
    /// H's post mentioning V, on `s`.
    hmention: String,
}

async fn federating() -> TestServer {
    TestServer::start_with(kring::config::Partial {
        allow_private_federation: Some(true),
        ..Default::default()
    })
    .await
}

/// Find `uri` on `on` as `user` sees it (resolving it from its server if needed). Asked again
/// while not found: the same post may arrive by delivery while it is being fetched.
async fn resolve(on: &TestServer, user: &User, uri: &str) -> Value {
    poll(&format!("{uri} on {}", on.base), async || {
        let r = on
            .ok(
                &format!("/api/v2/search?type=statuses&resolve=true&q={}", enc(uri)),
                Some(&user.token),
            )
            .await;
        let found = r["statuses"][0].clone();
        (!found.is_null()).then_some(found)
    })
    .await
}

async fn poll<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(t) = f().await {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn scene(choice: Choice) -> Scene {
    let (s, remote) = if choice == Choice::DomainBlock {
        (federating().await, Some(federating().await))
    } else {
        (TestServer::start().await, None)
    };
    let v = s.register("vera").await;
    let b = s.register("bob").await;
    let o = s.register("olga").await;
    let hs = remote.as_ref().unwrap_or(&s);
    let h = hs.register("hank").await;
    s.follow(&v, &b).await;
    let parent_v = s.post_status(&o, json!({"status": "a thread"})).await;
    let parent = parent_v["id"].as_str().unwrap().to_string();
    let vpost = s.post_status(&v, json!({"status": "vera writes"})).await;

    // H's activity, on H's server.
    let hpost_v = hs
        .post_status(&h, json!({"status": format!("hank writes #{TAG}")}))
        .await;
    let hpost_uri = hpost_v["uri"].as_str().unwrap().to_string();
    let parent_on_h = resolve(hs, &h, parent_v["uri"].as_str().unwrap()).await;
    let hreply_v = hs
        .post_status(
            &h,
            json!({"status": "hank replies", "in_reply_to_id": parent_on_h["id"]}),
        )
        .await;
    let vpost_on_h = resolve(hs, &h, vpost["uri"].as_str().unwrap()).await;
    hs.ok_post(
        &format!(
            "/api/v1/statuses/{}/favourite",
            vpost_on_h["id"].as_str().unwrap()
        ),
        Some(&h.token),
        json!({}),
    )
    .await;
    let vera = if remote.is_some() {
        let acct = format!("vera@127.0.0.1:{}", s.port);
        hs.ok(
            &format!("/api/v2/search?type=accounts&resolve=true&q={}", enc(&acct)),
            Some(&h.token),
        )
        .await;
        acct
    } else {
        "vera".to_string()
    };
    hs.post_status(&h, json!({"status": format!("@{vera} hello")}))
        .await;

    // The same on `s`.
    let hpost_s = resolve(&s, &v, &hpost_uri).await;
    let hpost = hpost_s["id"].as_str().unwrap().to_string();
    let h_id = hpost_s["account"]["id"].as_str().unwrap().to_string();
    let hreply = resolve(&s, &v, hreply_v["uri"].as_str().unwrap()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let boost = s
        .ok_post(
            &format!("/api/v1/statuses/{hpost}/reblog"),
            Some(&b.token),
            json!({}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for action in ["favourite", "bookmark"] {
        s.ok_post(
            &format!("/api/v1/statuses/{hpost}/{action}"),
            Some(&v.token),
            json!({}),
        )
        .await;
    }
    let list = s
        .ok_post("/api/v1/lists", Some(&v.token), json!({"title": "people"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut members = vec![b.id.clone()];
    if remote.is_none() {
        s.follow(&v, &h).await;
        members.push(h.id.clone());
    }
    s.ok_post(
        &format!("/api/v1/lists/{list}/accounts"),
        Some(&v.token),
        json!({"account_ids": members}),
    )
    .await;
    // H's favourite and mention reach V (through federation when H is remote).
    let hmention = poll("H's notifications to V", async || {
        let n = s.ok("/api/v1/notifications", Some(&v.token)).await;
        let from_h: Vec<&Value> = n
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["account"]["id"] == h_id.as_str())
            .collect();
        let mention = from_h.iter().find(|n| n["type"] == "mention")?;
        (from_h.len() >= 2).then(|| mention["status"]["id"].as_str().unwrap().to_string())
    })
    .await;
    Scene {
        s,
        _remote: remote,
        v,
        b,
        o,
        h,
        h_id,
        list,
        parent,
        hpost,
        hpost_uri,
        hreply,
        boost,
        hmention,
    }
}

impl Scene {
    /// Every status V is shown on `path`, as (id, author id, boosted original's author id).
    async fn shown(&self, path: &str) -> Vec<(String, String, String)> {
        let list = self.s.ok(path, Some(&self.v.token)).await;
        assert_valid_each("Status", &list);
        list.as_array()
            .unwrap()
            .iter()
            .map(|st| {
                (
                    st["id"].as_str().unwrap().to_string(),
                    st["account"]["id"].as_str().unwrap_or("").to_string(),
                    st["reblog"]["account"]["id"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .collect()
    }

    /// Does `path` show V anything of H (a post by H or a boost of one)?
    async fn shows_h(&self, path: &str) -> bool {
        self.shown(path)
            .await
            .iter()
            .any(|(_, a, r)| *a == self.h_id || *r == self.h_id)
    }

    async fn notifications_from_h(&self) -> usize {
        let n = self
            .s
            .ok("/api/v1/notifications", Some(&self.v.token))
            .await;
        assert_valid_each("Notification", &n);
        n.as_array()
            .unwrap()
            .iter()
            .filter(|n| n["account"]["id"] == self.h_id.as_str())
            .count()
    }

    async fn context_ids(&self) -> Vec<String> {
        let c = self
            .s
            .ok(
                &format!("/api/v1/statuses/{}/context", self.parent),
                Some(&self.v.token),
            )
            .await;
        TestServer::ids(&c["descendants"])
    }

    async fn search_finds_hpost(&self) -> bool {
        let r = self
            .s
            .ok(
                &format!("/api/v2/search?type=statuses&q={}", enc(&self.hpost_uri)),
                Some(&self.v.token),
            )
            .await;
        TestServer::ids(&r["statuses"]).contains(&self.hpost)
    }

    /// A web page as V sees it (signed in with V's token as the session).
    async fn page(&self, path: &str) -> String {
        let res = self
            .s
            .http
            .get(self.s.url(path))
            .header("cookie", format!("kring_session={}", self.v.token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.text().await.unwrap()
    }

    fn paths(&self) -> Vec<String> {
        vec![
            "/api/v1/timelines/home".to_string(),
            "/api/v1/timelines/public".to_string(),
            format!("/api/v1/timelines/tag/{TAG}"),
            format!("/api/v1/timelines/list/{}", self.list),
            format!("/api/v1/accounts/{}/statuses", self.b.id),
            "/api/v1/favourites".to_string(),
            "/api/v1/bookmarks".to_string(),
        ]
    }

    fn pages(&self) -> Vec<String> {
        vec![
            "/home".to_string(),
            format!("/tags/{TAG}"),
            format!("/@{}/{}", self.o.username, self.parent),
            format!("/@{}", self.b.username),
            format!("/lists/{}", self.list),
            "/favourites".to_string(),
            "/bookmarks".to_string(),
            "/notifications".to_string(),
        ]
    }

    async fn choose(&self, choice: Choice) {
        let s = &self.s;
        let t = Some(self.v.token.as_str());
        match choice {
            Choice::Block => {
                s.ok_post(
                    &format!("/api/v1/accounts/{}/block", self.h_id),
                    t,
                    json!({}),
                )
                .await;
            }
            Choice::Mute => {
                s.ok_post(
                    &format!("/api/v1/accounts/{}/mute", self.h_id),
                    t,
                    json!({}),
                )
                .await;
            }
            Choice::DomainBlock => {
                let domain = self.hpost_uri.split('/').nth(2).unwrap().to_string();
                let r = s
                    .ok_post("/api/v1/domain_blocks", t, json!({"domain": domain}))
                    .await;
                assert_eq!(r, json!({}));
                assert_eq!(s.ok("/api/v1/domain_blocks", t).await, json!([domain]));
                let rel = s
                    .ok(
                        &format!("/api/v1/accounts/relationships?id[]={}", self.h_id),
                        t,
                    )
                    .await;
                assert_eq!(rel[0]["domain_blocking"], true, "{rel}");
            }
        }
    }
}

async fn a_hidden_account_is_hidden_on_every_path(choice: Choice) {
    let sc = scene(choice).await;
    let s = &sc.s;
    // Before: V sees H everywhere (so what follows proves something).
    for path in sc.paths() {
        assert!(sc.shows_h(&path).await, "before: {path} shows H");
    }
    assert!(sc.context_ids().await.contains(&sc.hreply));
    assert_eq!(sc.notifications_from_h().await, 2);
    assert!(sc.search_finds_hpost().await);
    for page in sc.pages() {
        let html = sc.page(&page).await;
        assert!(
            [&sc.hpost, &sc.hreply, &sc.hmention]
                .iter()
                .any(|id| html.contains(id.as_str())),
            "before: {page} shows H"
        );
    }

    sc.choose(choice).await;

    for path in sc.paths() {
        assert!(!sc.shows_h(&path).await, "{choice:?}: {path} shows H");
    }
    let context = sc.context_ids().await;
    assert!(
        !context.contains(&sc.hreply),
        "{choice:?}: thread {context:?}"
    );
    assert_eq!(
        sc.notifications_from_h().await,
        0,
        "{choice:?}: notifications"
    );
    assert!(!sc.search_finds_hpost().await, "{choice:?}: search");
    for page in sc.pages() {
        let html = sc.page(&page).await;
        for id in [&sc.hpost, &sc.hreply, &sc.boost, &sc.hmention] {
            assert!(!html.contains(id.as_str()), "{choice:?}: {page} shows {id}");
        }
    }
    // H's own profile: a mute leaves it readable (V asked for H), a block or domain block not.
    let profile = sc
        .shown(&format!("/api/v1/accounts/{}/statuses", sc.h_id))
        .await;
    let on_profile = profile.iter().any(|(id, _, _)| *id == sc.hpost);
    assert_eq!(
        on_profile,
        choice == Choice::Mute,
        "{choice:?}: H's profile"
    );
    // Opened directly, the post still opens for V (as in Mastodon).
    let (st, _, _) = s
        .get(&format!("/api/v1/statuses/{}", sc.hpost), Some(&sc.v.token))
        .await;
    assert_eq!(st, StatusCode::OK);
    // Others are not affected by V's choice.
    let ids = s
        .status_ids(&format!("/api/v1/timelines/tag/{TAG}"), Some(&sc.o.token))
        .await;
    assert!(ids.contains(&sc.hpost), "{ids:?}");

    // Undone, everything is back at once.
    let t = Some(sc.v.token.as_str());
    match choice {
        Choice::Block => {
            s.ok_post(
                &format!("/api/v1/accounts/{}/unblock", sc.h_id),
                t,
                json!({}),
            )
            .await;
        }
        Choice::Mute => {
            s.ok_post(
                &format!("/api/v1/accounts/{}/unmute", sc.h_id),
                t,
                json!({}),
            )
            .await;
        }
        Choice::DomainBlock => {
            let domain = sc.hpost_uri.split('/').nth(2).unwrap().to_string();
            let (st, _, body) = s
                .delete_json("/api/v1/domain_blocks", t, json!({"domain": domain}))
                .await;
            assert_eq!(st, StatusCode::OK, "{body}");
            assert_eq!(s.ok("/api/v1/domain_blocks", t).await, json!([]));
        }
    }
    for path in [
        format!("/api/v1/timelines/tag/{TAG}"),
        format!("/api/v1/accounts/{}/statuses", sc.b.id),
        "/api/v1/bookmarks".to_string(),
    ] {
        assert!(sc.shows_h(&path).await, "{choice:?} undone: {path}");
    }
    assert!(sc.context_ids().await.contains(&sc.hreply));
}

#[tokio::test]
async fn a_blocked_account_is_hidden_on_every_path() {
    a_hidden_account_is_hidden_on_every_path(Choice::Block).await;
}

#[tokio::test]
async fn a_muted_account_is_hidden_on_every_path() {
    a_hidden_account_is_hidden_on_every_path(Choice::Mute).await;
}

#[tokio::test]
async fn a_blocked_domain_is_hidden_on_every_path() {
    a_hidden_account_is_hidden_on_every_path(Choice::DomainBlock).await;
}

/// Streaming: after the choice, nothing new of H reaches V's streams (home, public, hashtag,
/// list, notifications), neither H's own posts nor B's boosts of them; O's posts still do.
async fn a_hidden_account_never_streams(choice: Choice) {
    let sc = scene(choice).await;
    let s = &sc.s;
    sc.choose(choice).await;
    let mut streams = Vec::new();
    for query in [
        "stream=user".to_string(),
        "stream=public".to_string(),
        format!("stream=hashtag&tag={TAG}"),
        format!("stream=list&list={}", sc.list),
    ] {
        streams.push((query.clone(), s.websocket(&sc.v.token, &query).await));
    }
    // H posts again (tagged), B boosts it, O posts (tagged) and boosts it too.
    let hs = sc._remote.as_ref().unwrap_or(s);
    let again = hs
        .post_status(&sc.h, json!({"status": format!("hank again #{TAG}")}))
        .await;
    let again = resolve(s, &sc.o, again["uri"].as_str().unwrap()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let boost = s
        .ok_post(
            &format!("/api/v1/statuses/{again}/reblog"),
            Some(&sc.b.token),
            json!({}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let olga = s.status(&sc.o, &format!("olga #{TAG}"), "public").await;
    s.ok_post(
        &format!("/api/v1/statuses/{olga}/reblog"),
        Some(&sc.b.token),
        json!({}),
    )
    .await;
    let got: Vec<(String, Vec<common::StreamEvent>)> =
        futures_util::future::join_all(streams.into_iter().map(|(q, mut ws)| async move {
            let events = ws.drain(QUIET).await;
            ws.close().await;
            (q, events)
        }))
        .await;
    for (q, events) in &got {
        for e in events {
            for id in [&again, &boost, &sc.hpost] {
                assert!(
                    !e.payload.contains(id.as_str()),
                    "{choice:?}: {q} streams {} {}",
                    e.event,
                    e.payload
                );
            }
            if e.event == "notification" {
                assert_ne!(
                    e.payload_json["account"]["id"],
                    sc.h_id.as_str(),
                    "{choice:?}: {q}"
                );
            }
        }
    }
    // O's post streams to public and hashtag, B's boost of it home and to the list.
    for (q, events) in &got {
        let ids = update_ids(events);
        assert!(
            ids.contains(&olga) || events.iter().any(|e| e.payload.contains(&olga)),
            "{choice:?}: {q} lacks O's post: {events:?}"
        );
    }
}

#[tokio::test]
async fn a_blocked_account_never_streams() {
    a_hidden_account_never_streams(Choice::Block).await;
}

#[tokio::test]
async fn a_muted_account_never_streams() {
    a_hidden_account_never_streams(Choice::Mute).await;
}

#[tokio::test]
async fn a_blocked_domain_never_streams() {
    a_hidden_account_never_streams(Choice::DomainBlock).await;
}

/// A follower removed by the author stops reading the author's followers-only posts on every
/// path at once: home, list, thread, profile, bookmarks, favourites, notifications, by id,
/// streaming and the web pages.
#[tokio::test]
async fn a_removed_follower_loses_followers_only_posts_everywhere() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let f = s.register("fred").await;
    let t = Some(f.token.as_str());
    s.ok_post(
        &format!("/api/v1/accounts/{}/follow", a.id),
        t,
        json!({"notify": true}),
    )
    .await;
    let list = s.ok_post("/api/v1/lists", t, json!({"title": "A"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.ok_post(
        &format!("/api/v1/lists/{list}/accounts"),
        t,
        json!({"account_ids": [a.id]}),
    )
    .await;
    let parent = s.status(&a, "public parent", "public").await;
    let private = s.status(&a, "followers only", "private").await;
    let reply = s
        .post_status(
            &a,
            json!({"status": "private reply", "visibility": "private", "in_reply_to_id": parent}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for action in ["favourite", "bookmark"] {
        s.ok_post(
            &format!("/api/v1/statuses/{private}/{action}"),
            t,
            json!({}),
        )
        .await;
    }
    let paths = [
        "/api/v1/timelines/home".to_string(),
        format!("/api/v1/timelines/list/{list}"),
        format!("/api/v1/accounts/{}/statuses", a.id),
        "/api/v1/favourites".to_string(),
        "/api/v1/bookmarks".to_string(),
    ];
    for path in &paths {
        assert!(
            s.status_ids(path, t).await.contains(&private),
            "before: {path}"
        );
    }
    let notes = s.ok("/api/v1/notifications", t).await;
    assert!(notes.to_string().contains(&private), "before: {notes}");

    s.ok_post(
        &format!("/api/v1/accounts/{}/remove_from_followers", f.id),
        Some(&a.token),
        json!({}),
    )
    .await;
    let mut ws = s.websocket(&f.token, "stream=user").await;
    let later = s.status(&a, "followers only, later", "private").await;

    for path in &paths {
        let ids = s.status_ids(path, t).await;
        assert_none_of(&ids, &[&private, &reply, &later], path);
    }
    let c = s.ok(&format!("/api/v1/statuses/{parent}/context"), t).await;
    assert!(!c.to_string().contains(&reply), "{c}");
    let notes = s.ok("/api/v1/notifications", t).await;
    assert!(!notes.to_string().contains(&private), "{notes}");
    for id in [&private, &reply] {
        let (st, _, _) = s.get(&format!("/api/v1/statuses/{id}"), t).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
    for page in [
        "/home".to_string(),
        format!("/lists/{list}"),
        format!("/@alice/{parent}"),
        "/@alice".to_string(),
        "/favourites".to_string(),
        "/bookmarks".to_string(),
    ] {
        let html = s
            .http
            .get(s.url(&page))
            .header("cookie", format!("kring_session={}", f.token))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for id in [&private, &reply, &later] {
            assert!(!html.contains(id.as_str()), "{page} shows {id}");
        }
    }
    let events = ws.drain(QUIET).await;
    assert!(
        events.iter().all(|e| !e.payload.contains(&later)),
        "{events:?}"
    );
}

/// On SQLite a post's text is kept in memory once read (`kring_store::status_bodies`): what
/// its audience read first must still not reach anyone else. F (follower) and M (mentioned)
/// read every path that shows the hidden posts, then the outsiders read every path.
#[tokio::test]
async fn what_the_audience_read_first_stays_hidden_from_the_rest() {
    let c = cast().await;
    let s = &c.s;
    let a = &c.a.id;
    let readers = [
        (&c.f.token, c.private.clone()),
        (&c.m.token, c.direct.clone()),
    ];
    for (token, id) in &readers {
        let t = Some(token.as_str());
        s.ok(&format!("/api/v1/statuses/{id}"), t).await;
        s.ok(&format!("/api/v1/statuses/{id}/context"), t).await;
        let home = s.status_ids("/api/v1/timelines/home", t).await;
        if *id == c.private {
            assert!(home.contains(id), "home of its follower: {home:?}");
        }
        let profile = s
            .status_ids(&format!("/api/v1/accounts/{a}/statuses"), t)
            .await;
        assert!(profile.contains(id), "profile for its reader: {profile:?}");
        s.ok(&format!("/api/v1/timelines/tag/{TAG}"), t).await;
    }
    let hidden = c.hidden();
    for (who, token) in c.outsiders() {
        for id in hidden {
            for path in [
                format!("/api/v1/statuses/{id}"),
                format!("/api/v1/statuses/{id}/context"),
            ] {
                let (st, _, body) = s.get(&path, token).await;
                assert_eq!(st, StatusCode::NOT_FOUND, "{who} GET {path}: {body}");
            }
        }
        for path in [
            format!("/api/v1/accounts/{a}/statuses"),
            "/api/v1/timelines/public".to_string(),
            format!("/api/v1/timelines/tag/{TAG}"),
        ] {
            let ids = s.status_ids(&path, token).await;
            assert_none_of(&ids, &hidden, &format!("{who} {path}"));
        }
        if let Some(t) = token {
            let ids = s.status_ids("/api/v1/timelines/home", Some(t)).await;
            assert_none_of(&ids, &hidden, &format!("{who} home"));
        }
    }
}
