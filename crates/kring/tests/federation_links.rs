// SPDX-License-Identifier: AGPL-3.0-or-later
//! Links people copy from a browser: search (`resolve=true`) finds the profile or post behind
//! any profile or post URL, Kring's own and other servers' — two real Kring servers on
//! 127.0.0.1, and a hand-made remote answering as Mastodon, GoToSocial and Lemmy do (documents
//! at their web URLs, or redirects to them), all fetched with
//! `Accept: application/activity+json`. A redirect counts only within the origin that gave it.
mod common;
mod fed_common;

use axum::http::StatusCode as AxStatus;
use common::schema::assert_valid;
use fed_common::remote::Remote;
use fed_common::{FedUser, Node, id, uri};
use serde_json::{Value, json};

/// Search as `viewer` with `resolve=true`: (accounts, statuses) found.
async fn paste(on: &Node, viewer: &FedUser, q: &str) -> (Vec<Value>, Vec<Value>) {
    let found = on
        .ok_query(
            "/api/v2/search",
            &viewer.token,
            &[("q", q), ("resolve", "true")],
        )
        .await;
    let list = |k: &str| found[k].as_array().cloned().unwrap_or_default();
    let (accounts, statuses) = (list("accounts"), list("statuses"));
    for a in &accounts {
        assert_valid("Account", a);
    }
    for s in &statuses {
        assert_valid("Status", s);
    }
    (accounts, statuses)
}

/// The one account a pasted link finds.
async fn paste_account(on: &Node, viewer: &FedUser, q: &str) -> Value {
    let (accounts, statuses) = paste(on, viewer, q).await;
    assert_eq!(accounts.len(), 1, "{q}: {accounts:?}");
    assert!(statuses.is_empty(), "{q}: {statuses:?}");
    accounts[0].clone()
}

/// The one post a pasted link finds.
async fn paste_status(on: &Node, viewer: &FedUser, q: &str) -> Value {
    let (accounts, statuses) = paste(on, viewer, q).await;
    assert_eq!(statuses.len(), 1, "{q}: {statuses:?}");
    assert!(accounts.is_empty(), "{q}: {accounts:?}");
    statuses[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kring_profile_and_post_links_resolve() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let post = b.say(&bob, "a post worth linking", "public").await;
    let own = a.say(&alice, "my own post", "public").await;

    // B's human URLs, as a browser shows them (B answers them with redirects).
    let found = paste_account(&a, &alice, &b.url("/@bob")).await;
    assert_eq!(found["acct"], bob.handle);
    assert_eq!(found["uri"], bob.uri);
    let s = paste_status(&a, &alice, &b.url(&format!("/@bob/{}", id(&post)))).await;
    assert_eq!(s["uri"], uri(&post));
    assert_eq!(s["account"]["acct"], bob.handle);
    assert!(
        s["content"].as_str().unwrap().contains("worth linking"),
        "{s}"
    );
    // Its ActivityPub ids, and the same links again (now known), find the same.
    assert_eq!(paste_account(&a, &alice, &bob.uri).await["id"], found["id"]);
    assert_eq!(paste_status(&a, &alice, &uri(&post)).await["id"], s["id"]);
    assert_eq!(
        paste_account(&a, &alice, &b.url("/@bob")).await["id"],
        found["id"]
    );

    // A's own links find its own account and post, without asking anyone.
    let me = paste_account(&a, &alice, &a.url("/@alice")).await;
    assert_eq!(me["id"], alice.id.as_str());
    let mine = paste_status(&a, &alice, &a.url(&format!("/@alice/{}", id(&own)))).await;
    assert_eq!(mine["id"], own["id"]);
    assert_eq!(
        paste_account(&a, &alice, &alice.uri).await["id"],
        alice.id.as_str()
    );
    // A post under another person's name is not that post.
    let (acc, st) = paste(&a, &alice, &b.url(&format!("/@nobody/{}", id(&post)))).await;
    assert!(acc.is_empty() && st.is_empty(), "{acc:?} {st:?}");

    // Followers-only posts are not shown to someone who may not see them.
    let private = b.say(&bob, "followers only", "private").await;
    let (_, st) = paste(&a, &alice, &b.url(&format!("/@bob/{}", id(&private)))).await;
    assert!(st.is_empty(), "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mastodon_gotosocial_and_lemmy_links_resolve() {
    let (a, m, other) = tokio::join!(Node::start(), Remote::start(), Remote::start());
    let alice = a.register("alice").await;

    // Mastodon: /@user and /@user/ID answer with the documents whose ids are /users/…
    let mast = m.actor("/users/mast", "mast");
    m.put("/users/mast", mast.clone());
    m.put("/@mast", mast);
    let toot = m.object("/users/mast/statuses/1", "Note", "/users/mast", "a toot");
    m.put("/users/mast/statuses/1", toot.clone());
    m.put("/@mast/1", toot);
    let found = paste_account(&a, &alice, &m.url("/@mast")).await;
    assert_eq!(found["acct"], format!("mast@{}", m.domain()));
    assert_eq!(found["uri"], m.url("/users/mast"));
    let s = paste_status(&a, &alice, &m.url("/@mast/1")).await;
    assert_eq!(s["uri"], m.url("/users/mast/statuses/1"));
    assert!(s["content"].as_str().unwrap().contains("a toot"), "{s}");
    let m2 = m.object("/users/mast/statuses/2", "Note", "/users/mast", "by id");
    m.put("/users/mast/statuses/2", m2);
    let s = paste_status(&a, &alice, &m.url("/users/mast/statuses/2")).await;
    assert_eq!(s["uri"], m.url("/users/mast/statuses/2"));

    // GoToSocial: /@user and /@user/statuses/ID redirect to the ActivityPub ids.
    let gts = m.actor("/users/gts", "gts");
    m.put("/users/gts", gts);
    m.redirect("/@gts", AxStatus::SEE_OTHER, "/users/gts");
    let g1 = m.object(
        "/users/gts/statuses/01ABC",
        "Note",
        "/users/gts",
        "gts post",
    );
    m.put("/users/gts/statuses/01ABC", g1);
    m.redirect(
        "/@gts/statuses/01ABC",
        AxStatus::SEE_OTHER,
        &m.url("/users/gts/statuses/01ABC"),
    );
    let found = paste_account(&a, &alice, &m.url("/@gts")).await;
    assert_eq!(found["uri"], m.url("/users/gts"));
    let s = paste_status(&a, &alice, &m.url("/@gts/statuses/01ABC")).await;
    assert_eq!(s["uri"], m.url("/users/gts/statuses/01ABC"));

    // Lemmy: /u/name, /post/N (a Page) and /comment/N (a Note replying to it).
    let lem = m.actor("/u/lem", "lem");
    m.put("/u/lem", lem);
    let mut page = m.object("/post/3", "Page", "/u/lem", "the body");
    page["name"] = json!("A thread title");
    m.put("/post/3", page);
    let mut comment = m.object("/comment/4", "Note", "/u/lem", "a comment");
    comment["inReplyTo"] = json!(m.url("/post/3"));
    m.put("/comment/4", comment);
    let found = paste_account(&a, &alice, &m.url("/u/lem")).await;
    assert_eq!(found["uri"], m.url("/u/lem"));
    let post = paste_status(&a, &alice, &m.url("/post/3")).await;
    assert!(
        post["content"].as_str().unwrap().contains("A thread title"),
        "{post}"
    );
    let c = paste_status(&a, &alice, &m.url("/comment/4")).await;
    assert_eq!(c["uri"], m.url("/comment/4"));
    assert_eq!(c["in_reply_to_id"], post["id"], "{c}");

    // A redirect to another server is not followed: that server was never asked.
    let victim = other.actor("/users/victim", "victim");
    other.put("/users/victim", victim);
    m.redirect("/@away", AxStatus::FOUND, &other.url("/users/victim"));
    let (acc, st) = paste(&a, &alice, &m.url("/@away")).await;
    assert!(acc.is_empty() && st.is_empty(), "{acc:?} {st:?}");
    assert_eq!(other.hits("/users/victim"), 0);
    assert_eq!(m.hits("/@away"), 1);
    // Nor an endless chain of redirects on one server.
    m.redirect("/@loop", AxStatus::FOUND, "/@loop2");
    m.redirect("/@loop2", AxStatus::FOUND, "/@loop");
    let (acc, st) = paste(&a, &alice, &m.url("/@loop")).await;
    assert!(acc.is_empty() && st.is_empty(), "{acc:?} {st:?}");
    // A redirect to a document claiming another id that does not confirm it is refused.
    let mut fake = m.actor("/users/real", "real");
    fake["id"] = json!(m.url("/users/notthere"));
    m.put("/users/fake", fake);
    m.redirect("/@fake", AxStatus::FOUND, "/users/fake");
    let (acc, _) = paste(&a, &alice, &m.url("/@fake")).await;
    assert!(acc.is_empty(), "{acc:?}");

    // Signed-out visitors never make the server fetch anything.
    let before = m.hits("/@signedout");
    m.put("/@signedout", m.actor("/@signedout", "signedout"));
    let (st, found) = a
        .request(
            reqwest::Method::GET,
            "/api/v2/search",
            None,
            &[("q", &m.url("/@signedout")), ("resolve", "true")],
            None,
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::OK, "{found}");
    assert_eq!(m.hits("/@signedout"), before);
}
