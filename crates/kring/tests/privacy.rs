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
use common::{TestServer, User, Ws};
use reqwest::StatusCode;
use serde_json::json;

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

fn enc(s: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", &[("v", s)])
        .unwrap()
        .query()
        .unwrap()
        .trim_start_matches("v=")
        .to_string()
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
    s.follow(&x, &a).await;
    s.follow(&x, &f).await;
    let (public, unlisted, private, _direct) = post_all(&s, &a).await;
    // F boosts A's public post; X follows F, so the boost is in X's home.
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
