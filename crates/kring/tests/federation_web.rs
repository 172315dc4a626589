// SPDX-License-Identifier: AGPL-3.0-or-later
//! The web interface across two real Kring servers on 127.0.0.1: pages fetched and forms posted
//! over plain HTTP (no JavaScript), as a browser without scripts would.
//!
//! Covered: following an unlocked account on another server shows "Following" once its server's
//! `Accept` arrives.
mod common;
mod fed_common;

use fed_common::{FedUser, Node, PASSWORD, eventually};
use reqwest::StatusCode;

/// The form token on a web page.
fn csrf(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a form token") + 20;
    html[at..].split('"').next().unwrap().to_string()
}

/// A page as the holder of `cookie` sees it: status and body.
async fn page(on: &Node, cookie: &str, path: &str) -> (StatusCode, String) {
    let res = on
        .http
        .get(on.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .expect("page");
    (res.status(), res.text().await.expect("page body"))
}

/// Post a form of the page at `from` to `action`; the answer's status and `Location`.
async fn submit(
    on: &Node,
    cookie: Option<&str>,
    from: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut get = on.http.get(on.url(from));
    if let Some(c) = cookie {
        get = get.header("cookie", c);
    }
    let html = get.send().await.unwrap().text().await.unwrap();
    let token = csrf(&html);
    let mut form: Vec<(&str, &str)> = vec![("_csrf", &token)];
    form.extend_from_slice(fields);
    let mut rb = on.http.post(on.url(action)).form(&form);
    if let Some(c) = cookie {
        rb = rb.header("cookie", c);
    }
    let res = rb.send().await.unwrap();
    let location = res
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (res.status(), location)
}

/// Sign `user` in through the web form; the session cookie.
async fn web_session(on: &Node, user: &FedUser) -> String {
    let email = format!("{}@tests.invalid", user.username);
    let res = {
        let html = on
            .http
            .get(on.url("/auth/sign_in"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let token = csrf(&html);
        on.http
            .post(on.url("/auth/sign_in"))
            .form(&[
                ("_csrf", token.as_str()),
                ("email", email.as_str()),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap()
    };
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "web sign-in");
    let set = res
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap();
    set.split(';').next().unwrap().to_string()
}

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
