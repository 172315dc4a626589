// SPDX-License-Identifier: AGPL-3.0-or-later
//! The web interface across two real Kring servers on 127.0.0.1: pages fetched and forms posted
//! over plain HTTP (no JavaScript), as a browser without scripts would.
//!
//! Covered: following an unlocked account on another server shows "Following" once its server's
//! `Accept` arrives; a visitor follows or replies "from your server" (their handle → their
//! server's `/authorize_interaction`, found by WebFinger), and Kring answers
//! `/authorize_interaction` for its own people; a friend and a circle member on another server
//! (the Friends badge, the circles control on a remote profile, a circle post and a local-only
//! post from the web composer).
mod common;
mod fed_common;

use fed_common::web::{csrf, page, submit, web_session};
use fed_common::{FedUser, Node, eventually, follow, uri};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_a_remote_account_shows_following_once_accepted() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let bob_id = a.remote_id(&alice, &bob.handle).await;
    let cookie = web_session(&a, &alice).await;
    let profile = format!("/@{}", bob.handle);
    let (st, html) = page(&a, &cookie, &profile).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains(">Follow</button>"), "{html}");
    assert!(!html.contains(">Following</span>"), "{html}");

    let (st, to) = submit(
        &a,
        Some(&cookie),
        &profile,
        &format!("/accounts/{bob_id}/follow"),
        &[("back", &profile)],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(to, profile);
    // Until bob's server answers, the page says what it waits for: not an approval, since bob
    // approves nobody by hand.
    let (_, html) = page(&a, &cookie, &profile).await;
    assert!(!html.contains("waiting for approval"), "{html}");
    assert!(
        html.contains(">Following</span>") || html.contains("waiting for their server"),
        "{html}"
    );
    // Once the Accept arrives the page shows Following, and Unfollow.
    let html = eventually("the profile shows Following", async || {
        let (_, html) = page(&a, &cookie, &profile).await;
        html.contains(">Following</span>").then_some(html)
    })
    .await;
    assert!(html.contains(">Unfollow</button>"), "{html}");
    assert!(!html.contains("Withdraw follow request"), "{html}");
    assert!(!html.contains("waiting for"), "{html}");
}

/// The `href` of the first link with `class="button"` on a page, unescaped.
fn button_link(html: &str) -> String {
    let at = html
        .find("class=\"button\" href=\"")
        .unwrap_or_else(|| panic!("a button link in {html}"))
        + 21;
    html[at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&amp;", "&")
}

/// The value of the hidden `uri` field of the "from your server" form.
fn interact_uri(html: &str) -> String {
    let at = html
        .find("name=\"uri\" value=\"")
        .unwrap_or_else(|| panic!("a from-your-server form in {html}"))
        + 18;
    html[at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
}

/// `uri` with every byte but ASCII letters and digits percent-encoded.
fn encoded(uri: &str) -> String {
    uri.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitors_follow_and_reply_from_their_own_server() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let post = b.say(&bob, "answer me from anywhere", "public").await;
    let post_uri = post["uri"].as_str().unwrap().to_string();

    // Kring's WebFinger publishes where its people interact with things from elsewhere.
    let jrd = a
        .http
        .get(a.url("/.well-known/webfinger"))
        .query(&[("resource", format!("acct:{}", alice.handle))])
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let template = jrd["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "http://ostatus.org/schema/1.0/subscribe")
        .and_then(|l| l["template"].as_str())
        .unwrap_or_else(|| panic!("no subscribe template: {jrd}"));
    assert_eq!(template, a.url("/authorize_interaction?uri={uri}"));

    // A signed-out visitor of bob's profile on B, whose account is on A, enters their handle
    // and is sent on to A's /authorize_interaction for bob.
    let anon = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let profile = anon.get(b.url("/@bob")).send().await.unwrap();
    let html = profile.text().await.unwrap();
    assert!(html.contains("action=\"/interact\""), "{html}");
    assert_eq!(interact_uri(&html), bob.uri);
    let go = |uri: String, handle: String| {
        let (anon, b) = (anon.clone(), b.url("/interact"));
        let token = csrf(&html);
        async move {
            let res = anon
                .post(b)
                .form(&[
                    ("_csrf", token.as_str()),
                    ("uri", &uri),
                    ("handle", &handle),
                ])
                .send()
                .await
                .unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    let (st, page_html) = go(bob.uri.clone(), format!("@{}", alice.handle)).await;
    assert_eq!(st, StatusCode::OK, "{page_html}");
    let target = button_link(&page_html);
    assert_eq!(
        target,
        a.url(&format!("/authorize_interaction?uri={}", encoded(&bob.uri)))
    );
    // A handle that leads nowhere says so, and keeps the form.
    let (st, bad) = go(bob.uri.clone(), "nobody".into()).await;
    assert_eq!(st, StatusCode::OK);
    assert!(bad.contains("full handle"), "{bad}");
    assert!(bad.contains("action=\"/interact\""), "{bad}");
    let (_, bad) = go(bob.uri.clone(), format!("nobody@{}", a.domain)).await;
    assert!(bad.contains("did not say how"), "{bad}");

    // The post page offers the same for replying.
    let thread = anon
        .get(b.url(&format!("/@bob/{}", post["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(interact_uri(&thread), post_uri);
    let (_, reply_page) = go(post_uri.clone(), alice.handle.clone()).await;
    let reply_target = button_link(&reply_page);
    assert_eq!(
        reply_target,
        a.url(&format!(
            "/authorize_interaction?uri={}",
            encoded(&post_uri)
        ))
    );

    // On A, alice must sign in first, and comes back to it.
    let path = reply_target.trim_start_matches(&a.base).to_string();
    let res = anon.get(a.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/auth/sign_in?next="), "{to}");
    // Signed in, she lands on bob's profile with Follow, or on the post with the reply form.
    let cookie = web_session(&a, &alice).await;
    let follow_path = target.trim_start_matches(&a.base).to_string();
    let res = a
        .http
        .get(a.url(&follow_path))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let landing = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(landing, format!("/@{}", bob.handle));
    let (st, html) = page(&a, &cookie, &landing).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains(">Follow</button>"), "{html}");
    let res = a
        .http
        .get(a.url(&path))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/statuses/"), "{to}");
    let res = a
        .http
        .get(a.url(&to))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let thread_path = res.headers()["location"].to_str().unwrap().to_string();
    let (st, html) = page(&a, &cookie, &thread_path).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("answer me from anywhere"), "{html}");
    assert!(html.contains("id=\"reply\""), "{html}");
    assert!(html.contains(&format!("@{} ", bob.handle)), "{html}");
}

/// The ActivityPub id of `user`'s newest post containing `text`, as their own server has it.
async fn uri_of(on: &Node, user: &FedUser, text: &str) -> String {
    let path = format!("/api/v1/accounts/{}/statuses", user.id);
    let list = on.statuses(user, &path).await;
    let found = list
        .iter()
        .find(|s| s["content"].as_str().is_some_and(|c| c.contains(text)))
        .unwrap_or_else(|| panic!("{text} among {list:?}"));
    found["uri"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_friend_and_a_circle_member_on_another_server_through_the_web() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let carol = b.register("carol").await;
    // bob and carol follow alice; alice follows bob back through the web: friends.
    follow(&b, &bob, &alice).await;
    follow(&b, &carol, &alice).await;
    let bob_id = a.remote_id(&alice, &bob.handle).await;
    let cookie = web_session(&a, &alice).await;
    let profile = format!("/@{}", bob.handle);
    let (st, _) = submit(
        &a,
        Some(&cookie),
        &profile,
        &format!("/accounts/{bob_id}/follow"),
        &[("back", &profile)],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    eventually("bob's profile on A shows Friends", async || {
        let (_, html) = page(&a, &cookie, &profile).await;
        html.contains("<span class=\"badge friend\">Friends</span>")
            .then_some(())
    })
    .await;
    let (_, friends) = page(&a, &cookie, "/friends").await;
    assert!(friends.contains(&format!("@{}", bob.handle)), "{friends}");

    // A circle, and bob (on B) put in it from his profile on A.
    let (st, circle) = submit(
        &a,
        Some(&cookie),
        "/circles",
        "/circles",
        &[("title", "Far friends")],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let cid = circle.trim_start_matches("/circles/").to_string();
    let (_, html) = page(&a, &cookie, &profile).await;
    assert!(html.contains("Add to your circles"), "{html}");
    let (st, to) = submit(
        &a,
        Some(&cookie),
        &profile,
        &format!("/accounts/{bob_id}/circles"),
        &[("back", &profile), ("shown", &cid), ("circle_ids", &cid)],
    )
    .await;
    assert_eq!((st, to.as_str()), (StatusCode::SEE_OTHER, profile.as_str()));
    let (_, html) = page(&a, &cookie, &profile).await;
    assert!(html.contains("In your circles: Far friends"), "{html}");

    // From the web composer: a circle post reaches bob on B, a local-only post does not.
    for fields in [
        vec![
            ("text", "circle word from the web"),
            ("visibility", "circle"),
            ("circle_ids", cid.as_str()),
        ],
        vec![
            ("text", "a word that stays home"),
            ("visibility", "public"),
            ("local_only", "1"),
        ],
    ] {
        let (st, to) = submit(&a, Some(&cookie), "/home", "/statuses", &fields).await;
        assert_eq!((st, to.as_str()), (StatusCode::SEE_OTHER, "/home"));
    }
    let circle_uri = uri_of(&a, &alice, "circle word from the web").await;
    let local_uri = uri_of(&a, &alice, "a word that stays home").await;
    let on_b = b.wait_home(&bob, &circle_uri).await;
    assert_eq!(on_b["kring"]["visibility"], "circle", "{on_b}");
    // A later public post reaches both, so the deliveries before it have been made.
    let later = a.say(&alice, "a public word after them", "public").await;
    b.wait_home(&bob, &uri(&later)).await;
    b.wait_home(&carol, &uri(&later)).await;
    assert!(
        b.in_home(&carol, &circle_uri).await.is_none(),
        "carol is in no circle"
    );
    assert!(b.in_home(&bob, &local_uri).await.is_none(), "local only");
    assert!(b.in_home(&carol, &local_uri).await.is_none(), "local only");
}
