// SPDX-License-Identifier: AGPL-3.0-or-later
//! The web interface as a browser without scripts uses it: signing in through the form, pages
//! fetched with the session cookie, forms posted with their CSRF token.
use reqwest::StatusCode;

use super::{FedUser, Node, PASSWORD};

/// The form token on a web page.
pub fn csrf(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a form token") + 20;
    html[at..].split('"').next().unwrap().to_string()
}

/// A page as the holder of `cookie` sees it: status and body.
pub async fn page(on: &Node, cookie: &str, path: &str) -> (StatusCode, String) {
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
pub async fn submit(
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
pub async fn web_session(on: &Node, user: &FedUser) -> String {
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
