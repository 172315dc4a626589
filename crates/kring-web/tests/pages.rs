//! The web door driven in-process: sign-up, sessions, CSRF and origin checks, posting, the
//! signed-out view, security headers, interaction controls. (The browser suite in tests/web
//! drives the real binary.) Runs on SQLite, or on a fresh PostgreSQL database for each test
//! when `KRING_TEST_DATABASE_URL` is set.
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kring_service::{Kring, ServiceConfig, Store};
use tower::ServiceExt;

struct App {
    router: Router,
    kring: Kring,
    _dir: tempfile::TempDir,
    _db: Option<PgDatabase>,
}

/// A fresh PostgreSQL database, dropped (best effort) with the test's app.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out = std::process::Command::new("psql")
        .args([url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .map_err(|e| format!("cannot run psql (install postgresql-client): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The database of one test: SQLite in `dir`, or a new PostgreSQL database when
/// `KRING_TEST_DATABASE_URL` names a server.
fn database(dir: &tempfile::TempDir) -> (String, Option<PgDatabase>) {
    match std::env::var("KRING_TEST_DATABASE_URL") {
        Ok(admin) if !admin.trim().is_empty() => {
            let name = format!(
                "kring_w_{}_{:x}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            );
            psql(&admin, &format!("CREATE DATABASE {name}")).unwrap();
            let (base, query) = match admin.split_once('?') {
                Some((b, q)) => (b.to_string(), format!("?{q}")),
                None => (admin.clone(), String::new()),
            };
            let root = base.rsplit_once('/').map(|(r, _)| r).unwrap_or(&base);
            (
                format!("{root}/{name}{query}"),
                Some(PgDatabase {
                    admin_url: admin.clone(),
                    name,
                }),
            )
        }
        _ => (format!("sqlite://{}/kring.db", dir.path().display()), None),
    }
}

async fn app() -> App {
    app_with(kring_core::model::Registrations::Open).await
}

struct Res {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl App {
    async fn send(&self, req: Request<Body>) -> Res {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 10 << 20)
            .await
            .unwrap();
        Res {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Res {
        let mut b = Request::get(path);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    async fn post(&self, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Res {
        self.post_with(path, cookie, form, &[]).await
    }

    async fn post_with(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Res {
        let body = serde_urlencoded::to_string(form).unwrap();
        let mut b = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "kring.test");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        self.send(b.body(Body::from(body)).unwrap()).await
    }

    /// Sign up through the form and return the session cookie.
    async fn sign_up(&self, name: &str) -> String {
        let page = self.get("/auth/sign_up", None).await;
        let csrf = csrf(&page.body);
        let email = format!("{name}@example.org");
        let res = self
            .post(
                "/auth/sign_up",
                None,
                &[
                    ("_csrf", &csrf),
                    ("username", name),
                    ("email", &email),
                    ("password", "correct horse battery"),
                    ("agreement", "1"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let set = res.headers[header::SET_COOKIE].to_str().unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"));
        set.split(';').next().unwrap().to_string()
    }
}

fn csrf(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a form token") + 20;
    html[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn sign_up_post_and_signed_out_view() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    let home = app.get("/home", Some(&alice)).await;
    assert_eq!(home.status, StatusCode::OK);
    let csp = home.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(home.headers[header::REFERRER_POLICY], "same-origin");
    assert!(!home.body.contains("<style") && !home.body.contains(" style="));
    assert!(!home.body.contains("<script>"));
    let token = csrf(&home.body);

    let res = app
        .post(
            "/statuses",
            Some(&alice),
            &[
                ("_csrf", &token),
                ("text", "hello public #kring"),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    app.post(
        "/statuses",
        Some(&alice),
        &[
            ("_csrf", &token),
            ("text", "secret for followers"),
            ("visibility", "private"),
        ],
    )
    .await;
    let home = app.get("/home", Some(&alice)).await;
    assert!(home.body.contains("hello public"));
    assert!(home.body.contains("secret for followers"));

    // Signed out: the profile shows the public post only.
    let profile = app.get("/@alice", None).await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
    assert!(profile.body.contains("hello public"));
    assert!(!profile.body.contains("secret for followers"));
    let landing = app.get("/", None).await;
    assert!(landing.body.contains("hello public"));
    assert!(!landing.body.contains("secret for followers"));
    let tag = app.get("/tags/kring", None).await;
    assert!(tag.body.contains("hello public"));
    // Signed-in pages send visitors to sign in.
    for path in [
        "/home",
        "/notifications",
        "/settings/profile",
        "/admin",
        "/search",
    ] {
        let res = app.get(path, None).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            res.headers[header::LOCATION]
                .to_str()
                .unwrap()
                .starts_with("/auth/sign_in")
        );
    }
}

#[tokio::test]
async fn forms_need_the_token_and_this_origin() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    let home = app.get("/home", Some(&alice)).await;
    let token = csrf(&home.body);
    // No token, or a wrong one: refused.
    let res = app
        .post("/statuses", Some(&alice), &[("text", "forged")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = app
        .post(
            "/statuses",
            Some(&alice),
            &[("_csrf", "nope"), ("text", "forged")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // The right token from another site: refused.
    let res = app
        .post_with(
            "/statuses",
            Some(&alice),
            &[("_csrf", &token), ("text", "forged")],
            &[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let home = app.get("/home", Some(&alice)).await;
    assert!(!home.body.contains("forged"));
    // Same origin: accepted.
    let res = app
        .post_with(
            "/statuses",
            Some(&alice),
            &[("_csrf", &token), ("text", "real")],
            &[
                ("origin", "http://kring.test"),
                ("sec-fetch-site", "same-origin"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sign_out_revokes_the_session() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    let home = app.get("/home", Some(&alice)).await;
    let token = csrf(&home.body);
    let sessions = app.get("/settings/sessions", Some(&alice)).await;
    assert!(sessions.body.contains("(this browser)"));
    let res = app
        .post("/auth/sign_out", Some(&alice), &[("_csrf", &token)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        res.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let res = app.get("/home", Some(&alice)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn follow_locked_account_and_accept() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let bob_token = csrf(&app.get("/home", Some(&bob)).await.body);
    let res = app
        .post(
            "/settings/profile",
            Some(&bob),
            &[
                ("_csrf", &bob_token),
                ("display_name", "Bob"),
                ("note", "I lock"),
                ("locked", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let profile = app.get("/@bob", Some(&alice)).await;
    assert!(profile.body.contains("Approves followers"));
    let at = profile.body.find("/accounts/").unwrap() + 10;
    let bob_id: String = profile.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let token = csrf(&profile.body);
    let res = app
        .post(
            &format!("/accounts/{bob_id}/follow"),
            Some(&alice),
            &[("_csrf", &token), ("back", "/@bob")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let profile = app.get("/@bob", Some(&alice)).await;
    assert!(profile.body.contains("Withdraw follow request"));
    let requests = app.get("/follow_requests", Some(&bob)).await;
    assert!(requests.body.contains("@alice@kring.test"));
    let at = requests.body.find("/follow_requests/").unwrap() + 17;
    let alice_id: String = requests.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let res = app
        .post(
            &format!("/follow_requests/{alice_id}/authorize"),
            Some(&bob),
            &[("_csrf", &bob_token)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let profile = app.get("/@bob", Some(&alice)).await;
    assert!(profile.body.contains(">Unfollow<"));
}

#[tokio::test]
async fn static_assets_are_served_and_cached() {
    let app = app().await;
    let home = app.get("/", None).await;
    let at = home.body.find("/static/kring.css?v=").unwrap();
    let url = home.body[at..].split('"').next().unwrap().to_string();
    let res = app.get(&url, None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let res = app.get("/static/kring.css", None).await;
    assert_eq!(
        res.headers[header::CACHE_CONTROL].to_str().unwrap(),
        "public, no-cache"
    );
    let res = app.get("/static/kring.js", None).await;
    assert!(
        res.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    let res = app.get("/static/../Cargo.toml", None).await;
    assert_ne!(res.status, StatusCode::OK);
}

async fn app_with(registrations: kring_core::model::Registrations) -> App {
    let dir = tempfile::tempdir().unwrap();
    let (url, db) = database(&dir);
    let store = Store::connect(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    let mut config = ServiceConfig::for_tests("kring.test");
    config.registrations = registrations;
    let kring = Kring::new(store, config).unwrap();
    App {
        router: kring_web::router(kring.clone()),
        _dir: dir,
        _db: db,
        kring,
    }
}

async fn sign_in(app: &App, email: &str, password: &str) -> Res {
    let page = app.get("/auth/sign_in", None).await;
    let token = csrf(&page.body);
    app.post(
        "/auth/sign_in",
        None,
        &[("_csrf", &token), ("email", email), ("password", password)],
    )
    .await
}

#[tokio::test]
async fn approval_mode_sign_up_waits_for_an_admin() {
    use kring_service::accounts::{Origin, Registration};
    let app = app_with(kring_core::model::Registrations::Approval).await;
    let kring = app.kring.clone();
    kring
        .create_account(
            Registration {
                username: "boss".into(),
                email: "boss@example.org".into(),
                password: "boss password".into(),
                agreement: true,
                locale: "en".into(),
                reason: None,
            },
            Origin::Admin {
                role: kring_core::model::Role::Admin,
            },
        )
        .await
        .unwrap();
    let page = app.get("/auth/sign_up", None).await;
    assert!(page.body.contains("approved by its moderators"));
    let res = app
        .post(
            "/auth/sign_up",
            None,
            &[
                ("_csrf", &csrf(&page.body)),
                ("username", "dana"),
                ("email", "dana@example.org"),
                ("password", "correct horse battery"),
                ("reason", "I know Alice"),
                ("agreement", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("pending approval"), "{}", res.body);
    assert!(!res.headers.contains_key(header::SET_COOKIE));
    let res = sign_in(&app, "dana@example.org", "correct horse battery").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("pending approval"));

    let res = sign_in(&app, "boss@example.org", "boss password").await;
    let boss = res.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let admin = app.get("/admin", Some(&boss)).await;
    assert_eq!(admin.status, StatusCode::OK);
    assert!(admin.body.contains("I know Alice"));
    let at = admin.body.find("/approve").unwrap();
    let id: String = admin.body[..at]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let res = app
        .post(
            &format!("/admin/accounts/{id}/approve"),
            Some(&boss),
            &[("_csrf", &csrf(&admin.body))],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = sign_in(&app, "dana@example.org", "correct horse battery").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    // Closed: the page explains, and the service refuses a forged post.
    let closed = app_with(kring_core::model::Registrations::Closed).await;
    let page = closed.get("/auth/sign_up", None).await;
    assert!(page.body.contains("not taking new sign-ups"));
    assert!(!page.body.contains("name=\"username\""));
}

#[tokio::test]
async fn home_pages_with_max_id() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    let token = csrf(&app.get("/home", Some(&alice)).await.body);
    for i in 0..45 {
        let text = format!("numbered post {i:02}");
        app.post(
            "/statuses",
            Some(&alice),
            &[("_csrf", &token), ("text", &text), ("visibility", "public")],
        )
        .await;
    }
    let home = app.get("/home", Some(&alice)).await;
    assert_eq!(home.body.matches("<article class=\"post").count(), 40);
    assert!(home.body.contains("numbered post 44"));
    assert!(!home.body.contains("numbered post 04"));
    let at = home.body.find("/home?max_id=").unwrap();
    let older = home.body[at..].split('"').next().unwrap().to_string();
    let page2 = app.get(&older, Some(&alice)).await;
    assert_eq!(page2.body.matches("<article class=\"post").count(), 5);
    assert!(page2.body.contains("numbered post 00"));
    assert!(!page2.body.contains("Older posts"));
}

/// A fresh server explains how to become its first admin instead of "not allowed"; once an
/// admin exists, /admin is the moderators' page again.
#[tokio::test]
async fn a_fresh_server_says_how_to_become_its_admin() {
    use kring_service::accounts::{Origin, Registration};
    let app = app().await;
    let first = app.sign_up("first").await;
    let res = app.get("/admin", Some(&first)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(
        res.body.contains("No one runs this server yet"),
        "{}",
        res.body
    );
    assert!(res.body.contains("kring admin create-user"), "{}", res.body);
    assert!(res.body.contains("aria-label=\"Main\""), "in the layout");
    app.kring
        .create_account(
            Registration {
                username: "boss".into(),
                email: "boss@example.org".into(),
                password: "boss password".into(),
                agreement: true,
                locale: "en".into(),
                reason: None,
            },
            Origin::Admin {
                role: kring_core::model::Role::Admin,
            },
        )
        .await
        .unwrap();
    let res = app.get("/admin", Some(&first)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(!res.body.contains("kring admin create-user"));
    assert!(res.body.contains("Not allowed"), "{}", res.body);
}

/// Public profile and post pages carry link-preview (OpenGraph) tags with this server's own
/// URLs; a followers-only post's page does not put its text in them.
#[tokio::test]
async fn public_pages_carry_link_previews() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    let home = app.get("/home", Some(&alice)).await;
    let token = csrf(&home.body);
    for (text, visibility) in [
        ("a public thought worth sharing", "public"),
        ("only for my followers", "private"),
    ] {
        let res = app
            .post(
                "/statuses",
                Some(&alice),
                &[
                    ("_csrf", &token),
                    ("text", text),
                    ("visibility", visibility),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
    }
    let base = app.kring.config.base_url();
    let profile = app.get("/@alice", None).await;
    assert!(
        profile
            .body
            .contains("<meta property=\"og:type\" content=\"profile\">")
    );
    assert!(profile.body.contains("og:title\" content=\"alice (@alice@"));
    assert!(
        profile
            .body
            .contains(&format!("og:url\" content=\"{base}/@alice\""))
    );
    assert!(
        profile
            .body
            .contains(&format!("og:image\" content=\"{base}/static/"))
    );
    // The post pages, found from the profile's links (as alice, who sees both).
    let mine = app.get("/@alice", Some(&alice)).await;
    let link = |text: &str| {
        let at = mine.body.find(text).expect("the post on the profile");
        let before = &mine.body[..at];
        let start = before.rfind("<a href=\"/@alice/").expect("its link") + 9;
        before[start..].split('"').next().unwrap().to_string()
    };
    let public = app.get(&link("a public thought"), None).await;
    assert_eq!(public.status, StatusCode::OK);
    assert!(public.body.contains("og:type\" content=\"article\""));
    assert!(
        public
            .body
            .contains("og:description\" content=\"a public thought worth sharing\"")
    );
    let private = app.get(&link("only for my followers"), Some(&alice)).await;
    assert_eq!(private.status, StatusCode::OK);
    assert!(
        !private.body.contains("og:"),
        "no preview of a followers-only post"
    );
    // Pages that are not public carry none.
    assert!(!home.body.contains("og:"));
}

/// The href of the first link to one of `author`'s posts before `text` on a page.
fn post_link(html: &str, author: &str, text: &str) -> String {
    let at = html.find(text).expect("the post on the page");
    let needle = format!("<a href=\"/@{author}/");
    let start = html[..at].rfind(&needle).expect("its link") + 9;
    html[start..].split('"').next().unwrap().to_string()
}

/// Friends (a badge, the friends page), circles (made, filled from a profile, posted to from
/// the composer, emptied, deleted with a question first) and local-only posts, through the
/// web door's forms.
#[tokio::test]
async fn friends_circles_and_local_only_posts() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let dave = app.sign_up("dave").await;
    let kring = &app.kring;
    let id_of = async |name: &str| kring.lookup(None, name).await.unwrap().id.to_string();
    let (bob_id, alice_id) = (id_of("bob").await, id_of("alice").await);
    let at = csrf(&app.get("/home", Some(&alice)).await.body);
    let bt = csrf(&app.get("/home", Some(&bob)).await.body);
    let dt = csrf(&app.get("/home", Some(&dave)).await.body);
    for (who, t, whom) in [
        (&alice, &at, &bob_id),
        (&bob, &bt, &alice_id),
        (&dave, &dt, &alice_id),
    ] {
        let res = app
            .post(
                &format!("/accounts/{whom}/follow"),
                Some(who),
                &[("_csrf", t)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    }

    // Friends: a badge on the profile, and the friends page (linked from the navigation).
    let profile = app.get("/@bob", Some(&alice)).await;
    assert!(
        profile
            .body
            .contains("<span class=\"badge friend\">Friends</span>")
    );
    let profile = app.get("/@alice", Some(&dave)).await;
    assert!(profile.body.contains(">Following<"));
    assert!(!profile.body.contains("badge friend"), "dave only follows");
    let friends = app.get("/friends", Some(&alice)).await;
    assert_eq!(friends.status, StatusCode::OK);
    assert!(
        friends
            .body
            .contains("<a href=\"/friends\" aria-current=\"page\">Friends</a>")
    );
    assert!(friends.body.contains("@bob@kring.test"));
    assert!(!friends.body.contains("@dave@kring.test"));

    // A circle, made on the circles page; a refused name comes back with the reason.
    let res = app
        .post("/circles", Some(&alice), &[("_csrf", &at), ("title", "  ")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("class=\"error\""), "{}", res.body);
    let res = app
        .post(
            "/circles",
            Some(&alice),
            &[("_csrf", &at), ("title", "Close")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let circle_path = res.headers[header::LOCATION].to_str().unwrap().to_string();
    let cid = circle_path.trim_start_matches("/circles/").to_string();
    let page = app.get(&circle_path, Some(&alice)).await;
    assert!(page.body.contains("<h1>Close</h1>"));
    assert!(page.body.contains("No one is in this circle yet"));
    // Nobody else's circle exists for them.
    assert_eq!(
        app.get(&circle_path, Some(&dave)).await.status,
        StatusCode::NOT_FOUND
    );

    // Bob is added from his profile; the profile says which circles he is in.
    let profile = app.get("/@bob", Some(&alice)).await;
    assert!(profile.body.contains("Add to your circles"));
    assert!(profile.body.contains(&format!("id=\"circle-{cid}\"")));
    let set = format!("/accounts/{bob_id}/circles");
    let res = app
        .post(
            &set,
            Some(&alice),
            &[
                ("_csrf", &at),
                ("back", "/@bob"),
                ("shown", &cid),
                ("circle_ids", &cid),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.headers[header::LOCATION], "/@bob");
    let profile = app.get("/@bob", Some(&alice)).await;
    assert!(profile.body.contains("In your circles: Close"));
    assert!(
        app.get(&circle_path, Some(&alice))
            .await
            .body
            .contains("@bob@kring.test")
    );

    // The composer offers every audience, the circles and local-only.
    let home = app.get("/home", Some(&alice)).await;
    for want in [
        "value=\"public\"",
        "value=\"unlisted\"",
        "value=\"private\"",
        "value=\"friends\"",
        "value=\"circle\"",
        "value=\"direct\"",
        &format!("id=\"compose-circle-{cid}\""),
        "id=\"compose-local\"",
    ] {
        assert!(home.body.contains(want), "{want}");
    }
    // Circles ticked for another audience, or "Circles" without one: refused, form kept.
    let res = app
        .post(
            "/statuses",
            Some(&alice),
            &[
                ("_csrf", &at),
                ("text", "meant for the circle"),
                ("visibility", "public"),
                ("circle_ids", &cid),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("You ticked circles"), "{}", res.body);
    assert!(res.body.contains("meant for the circle"));
    assert!(res.body.contains(&format!("value=\"{cid}\" checked")));
    let res = app
        .post(
            "/statuses",
            Some(&alice),
            &[
                ("_csrf", &at),
                ("text", "meant for the circle"),
                ("visibility", "circle"),
                ("local_only", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body.contains("Choose at least one circle"),
        "{}",
        res.body
    );
    assert!(res.body.contains("<option value=\"circle\" selected>"));
    assert!(
        res.body
            .contains("id=\"compose-local\" name=\"local_only\" value=\"1\" checked")
    );
    assert_eq!(
        kring
            .account(alice_id.parse().unwrap())
            .await
            .unwrap()
            .statuses_count,
        0
    );
    for (text, fields) in [
        (
            "circle secret",
            vec![("visibility", "circle"), ("circle_ids", cid.as_str())],
        ),
        ("friends secret", vec![("visibility", "friends")]),
        (
            "kept at home",
            vec![("visibility", "public"), ("local_only", "1")],
        ),
    ] {
        let mut form = vec![("_csrf", at.as_str()), ("text", text)];
        form.extend(fields);
        let res = app.post("/statuses", Some(&alice), &form).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{text}: {}", res.body);
    }

    // Bob (friend, in the circle) reads all three; Dave (a follower) only the local one;
    // visitors none of them.
    let home = app.get("/home", Some(&bob)).await;
    for text in ["circle secret", "friends secret", "kept at home"] {
        assert!(home.body.contains(text), "bob: {text}");
    }
    assert!(home.body.contains(" · Circles"));
    assert!(home.body.contains(" · Friends only"));
    assert!(
        home.body
            .contains("<span class=\"local-only\">Local only</span>")
    );
    let home = app.get("/home", Some(&dave)).await;
    assert!(home.body.contains("kept at home"));
    assert!(!home.body.contains("circle secret") && !home.body.contains("friends secret"));
    let visitor = app.get("/@alice", None).await;
    assert!(!visitor.body.contains("kept at home") && !visitor.body.contains("secret"));

    // A reply to the circle post says it stays in the circle.
    let bob_home = app.get("/home", Some(&bob)).await;
    let thread = post_link(&bob_home.body, "alice", "circle secret");
    let page = app.get(&thread, Some(&bob)).await;
    assert!(
        page.body
            .contains("The same circles as the post you are replying to")
    );
    assert!(page.body.contains("name=\"visibility\" value=\"circle\""));
    assert!(!page.body.contains("id=\"compose-vis\""));
    assert_eq!(
        app.get(&thread, Some(&dave)).await.status,
        StatusCode::NOT_FOUND
    );
    let friends_thread = post_link(&bob_home.body, "alice", "friends secret");
    let page = app.get(&friends_thread, Some(&bob)).await;
    assert!(
        page.body.contains("The friends of the post&#39;s author"),
        "{}",
        page.body
    );
    assert!(page.body.contains("name=\"visibility\" value=\"friends\""));
    let local = post_link(&bob_home.body, "alice", "kept at home");
    let page = app.get(&local, Some(&bob)).await;
    assert!(page.body.contains("This reply stays on this server"));

    // Taken out of the circle (unticked on the profile): Bob no longer reads its post.
    let res = app
        .post(
            &set,
            Some(&alice),
            &[("_csrf", &at), ("back", "/@bob"), ("shown", &cid)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        !app.get("/home", Some(&bob))
            .await
            .body
            .contains("circle secret")
    );
    assert_eq!(
        app.get(&thread, Some(&bob)).await.status,
        StatusCode::NOT_FOUND
    );

    // Rename; delete asks first (without the script, on a page of its own).
    let res = app
        .post(
            &circle_path,
            Some(&alice),
            &[("_csrf", &at), ("op", "rename"), ("title", "Closest")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let circles = app.get("/circles", Some(&alice)).await;
    assert!(
        circles
            .body
            .contains(&format!("<a href=\"/circles/{cid}\">Closest</a>"))
    );
    let delete = format!("{circle_path}/delete");
    let res = app
        .post(&delete, Some(&alice), &[("_csrf", &at), ("confirm", "0")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.headers[header::LOCATION], delete.as_str());
    let ask = app.get(&delete, Some(&alice)).await;
    assert!(ask.body.contains("Delete this circle?") && ask.body.contains("Closest"));
    assert_eq!(
        app.get(&circle_path, Some(&alice)).await.status,
        StatusCode::OK
    );
    let res = app
        .post(&delete, Some(&alice), &[("_csrf", &at), ("confirm", "1")])
        .await;
    assert_eq!(res.headers[header::LOCATION], "/circles");
    assert_eq!(
        app.get(&circle_path, Some(&alice)).await.status,
        StatusCode::NOT_FOUND
    );

    // The default audience may be friends only, never circles.
    let prefs = app.get("/settings/preferences", Some(&alice)).await;
    assert!(prefs.body.contains("value=\"friends\""));
    assert!(!prefs.body.contains("value=\"circle\""));
    let res = app
        .post(
            "/settings/preferences",
            Some(&alice),
            &[("_csrf", &at), ("privacy", "friends")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let home = app.get("/home", Some(&alice)).await;
    assert!(home.body.contains("<option value=\"friends\" selected>"));
    assert!(!home.body.contains("value=\"circle\""), "no circles left");
}

/// The newest post on a profile page, as its viewer sees it.
async fn newest_post(app: &App, acct: &str, cookie: &str) -> String {
    let page = app.get(&format!("/@{acct}"), Some(cookie)).await;
    let marker = format!("href=\"/@{acct}/");
    page.body
        .match_indices(&marker)
        .map(|(i, m)| {
            page.body[i + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
        })
        .find(|id| !id.is_empty())
        .expect("a post")
}

#[tokio::test]
async fn interaction_controls_composer_settings_buttons_and_the_approval_queue() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let carol = app.sign_up("carol").await;
    let kring = &app.kring;
    let alice_id = kring.lookup(None, "alice").await.unwrap().id.to_string();
    let at = csrf(&app.get("/home", Some(&alice)).await.body);
    let bt = csrf(&app.get("/home", Some(&bob)).await.body);
    let ct = csrf(&app.get("/home", Some(&carol)).await.body);
    // Bob follows Alice; Carol does not.
    let res = app
        .post(
            &format!("/accounts/{alice_id}/follow"),
            Some(&bob),
            &[("_csrf", &bt)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    // The composer offers the choices, starting from the defaults (everyone, at once).
    let home = app.get("/home", Some(&alice)).await;
    for want in [
        "Who can reply, boost and favourite",
        "<select id=\"compose-can_reply\" name=\"can_reply\">",
        "<select id=\"compose-can_reply-approval\" name=\"can_reply_approval\">",
        "name=\"can_reblog\"",
        "name=\"can_favourite_approval\"",
        "<option value=\"public\" selected>Everyone</option>",
    ] {
        assert!(home.body.contains(want), "{want}");
    }
    // A choice the form does not offer is refused, with what was written kept.
    let res = app
        .post(
            "/statuses",
            Some(&alice),
            &[
                ("_csrf", &at),
                ("text", "kept text"),
                ("visibility", "public"),
                ("can_reply", "everybody-ish"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Choose who can interact from the list."));
    assert!(res.body.contains("kept text"));

    // A post: replies from followers only, no boosts, favourites from everyone.
    let res = app
        .post(
            "/statuses",
            Some(&alice),
            &[
                ("_csrf", &at),
                ("text", "followers may answer"),
                ("visibility", "public"),
                ("can_reply", "followers"),
                ("can_reply_approval", "nobody"),
                ("can_reblog", "nobody"),
                ("can_reblog_approval", "nobody"),
                ("can_favourite", "public"),
                ("can_favourite_approval", "nobody"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let closed = newest_post(&app, "alice", &alice).await;
    let page = app.get(&format!("/@alice/{closed}"), Some(&carol)).await;
    assert!(
        page.body.contains("Only followers can reply"),
        "{}",
        page.body
    );
    assert!(page.body.contains("The author turned off boosts"));
    assert!(!page.body.contains(&format!("/statuses/{closed}/reblog")));
    assert!(page.body.contains(&format!("/statuses/{closed}/favourite")));
    assert!(!page.body.contains("id=\"compose-text\""), "no reply form");
    let page = app.get(&format!("/@alice/{closed}"), Some(&bob)).await;
    assert!(!page.body.contains("Only followers can reply"));
    assert!(page.body.contains("id=\"compose-text\""), "bob follows");
    // A boost the author does not allow, sent anyway: refused, and said clearly.
    let res = app
        .post(
            &format!("/statuses/{closed}/reblog"),
            Some(&carol),
            &[("_csrf", &ct), ("on", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(
        res.body.contains("Boosting this post is not allowed"),
        "{}",
        res.body
    );
    // So is a reply Carol may not make.
    let res = app
        .post(
            "/statuses",
            Some(&carol),
            &[
                ("_csrf", &ct),
                ("text", "let me in"),
                ("in_reply_to_id", &closed),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("not allowed to reply"), "{}", res.body);

    // Settings: replies from followers at once, from everyone else after approval;
    // favourites likewise.
    let prefs = app.get("/settings/preferences", Some(&alice)).await;
    assert!(
        prefs
            .body
            .contains("Who can interact with my posts by default")
    );
    assert!(prefs.body.contains("id=\"default-can_reply\""));
    let res = app
        .post(
            "/settings/preferences",
            Some(&alice),
            &[
                ("_csrf", &at),
                ("privacy", "public"),
                ("language", ""),
                ("can_reply", "followers"),
                ("can_reply_approval", "public"),
                ("can_reblog", "public"),
                ("can_reblog_approval", "nobody"),
                ("can_favourite", "followers"),
                ("can_favourite_approval", "public"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let prefs = app.get("/settings/preferences", Some(&alice)).await;
    assert!(
        prefs.body.contains(
            "<select id=\"default-can_reply\" name=\"can_reply\">\n<option value=\"public\">Everyone</option><option value=\"followers\" selected>"
        ),
        "{}",
        prefs.body
    );
    // The composer now starts from them.
    let home = app.get("/home", Some(&alice)).await;
    assert!(home.body.contains(
        "<select id=\"compose-can_reply-approval\" name=\"can_reply_approval\">\n<option value=\"public\" selected>"
    ));

    // A post with the defaults: Carol's reply and favourite wait for Alice.
    let res = app
        .post(
            "/statuses",
            Some(&alice),
            &[
                ("_csrf", &at),
                ("text", "ask first"),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let asked = newest_post(&app, "alice", &alice).await;
    let page = app.get(&format!("/@alice/{asked}"), Some(&carol)).await;
    assert!(page.body.contains("· needs approval"));
    assert!(
        page.body
            .contains("yours is shown to others once they accept it")
    );
    let res = app
        .post(
            "/statuses",
            Some(&carol),
            &[
                ("_csrf", &ct),
                ("text", "@alice a reply that waits"),
                ("visibility", "public"),
                ("in_reply_to_id", &asked),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    // Not shown to others yet.
    let page = app.get(&format!("/@alice/{asked}"), Some(&bob)).await;
    assert!(!page.body.contains("a reply that waits"));
    // In place, the favourite says it waits.
    let res = app
        .post_with(
            &format!("/statuses/{asked}/favourite"),
            Some(&carol),
            &[("_csrf", &ct), ("on", "1")],
            &[("accept", "application/json")],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(
        res.body.contains("once the author approves it"),
        "{}",
        res.body
    );

    // Alice: the notifications page counts them and leads to the queue.
    let notes = app.get("/notifications", Some(&alice)).await;
    assert!(
        notes.body.contains(
            "<a href=\"/interaction_requests\">Awaiting your approval<span class=\"unread\">2<"
        ),
        "{}",
        notes.body
    );
    assert!(notes.body.contains("Review what awaits your approval"));
    let queue = app.get("/interaction_requests", Some(&alice)).await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.body.contains(
        "<a href=\"/interaction_requests\" aria-current=\"page\">Awaiting your approval"
    ));
    assert!(
        queue
            .body
            .contains("<a href=\"/notifications\" aria-current=\"page\">Notifications")
    );
    assert!(queue.body.contains("wants to reply to your post"));
    assert!(queue.body.contains("a reply that waits"));
    assert!(queue.body.contains("wants to favourite your post"));
    let ids: Vec<String> = queue
        .body
        .match_indices("action=\"/interaction_requests/")
        .map(|(i, m)| {
            queue.body[i + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect()
        })
        .collect();
    assert_eq!(ids.len(), 4, "accept and reject for each");
    // Nobody else answers for her.
    let res = app
        .post(
            &format!("/interaction_requests/{}/accept", ids[0]),
            Some(&bob),
            &[("_csrf", &bt)],
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // Without the form token, nothing happens.
    let res = app
        .post(
            &format!("/interaction_requests/{}/accept", ids[0]),
            Some(&alice),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // The newest first: the favourite is rejected, the reply accepted.
    let res = app
        .post(
            &format!("/interaction_requests/{}/reject", ids[0]),
            Some(&alice),
            &[("_csrf", &at)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.headers[header::LOCATION], "/interaction_requests");
    let res = app
        .post(
            &format!("/interaction_requests/{}/accept", ids[2]),
            Some(&alice),
            &[("_csrf", &at)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let queue = app.get("/interaction_requests", Some(&alice)).await;
    assert!(queue.body.contains("Nothing waits for your approval."));
    assert!(!queue.body.contains("Awaiting your approval<span"));
    let page = app.get(&format!("/@alice/{asked}"), Some(&bob)).await;
    assert!(page.body.contains("a reply that waits"), "accepted");
    assert!(
        page.body
            .contains("Favourite <span class=\"count\">0</span>"),
        "rejected"
    );
}

/// The group id a create form redirected to.
fn group_id_of(res: &Res) -> String {
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let at = res.headers[header::LOCATION].to_str().unwrap();
    at.trim_start_matches("/groups/").to_string()
}

#[tokio::test]
async fn groups_discover_join_post_and_moderate() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let carol = app.sign_up("carol").await;
    let dave = app.sign_up("dave").await;
    let kring = &app.kring;
    let id_of = async |name: &str| kring.lookup(None, name).await.unwrap().id.to_string();
    let (bob_id, carol_id, alice_id) = (
        id_of("bob").await,
        id_of("carol").await,
        id_of("alice").await,
    );
    let token = async |cookie: &str| csrf(&app.get("/groups", Some(cookie)).await.body);
    let (at, bt, ct, dt) = (
        token(&alice).await,
        token(&bob).await,
        token(&carol).await,
        token(&dave).await,
    );

    // The groups page is in the navigation, with a create form.
    let page = app.get("/groups", Some(&alice)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("<a href=\"/groups\" aria-current=\"page\">Groups</a>")
    );
    assert!(page.body.contains("You are in no group yet"));
    assert!(page.body.contains("Create group"));

    // Create a public, a closed (members-only) and a private group.
    let create = async |name: &str, display: &str, kind: &str, rules: &str| {
        app.post(
            "/groups",
            Some(&alice),
            &[
                ("_csrf", &at),
                ("username", name),
                ("display_name", display),
                ("note", "A place to talk"),
                ("rules", rules),
                ("kind", kind),
                ("members_only", "1"),
            ],
        )
        .await
    };
    let readers =
        group_id_of(&create("readers", "Readers", "public", "Be kind\nStay on topic").await);
    let club = group_id_of(&create("club", "Book club", "closed", "").await);
    let secret = group_id_of(&create("secret", "Secret garden", "private", "").await);
    // A taken name comes back on the form, with what was typed.
    let res = create("readers", "Readers again", "public", "").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body.contains("Username has already been taken"),
        "{}",
        res.body
    );
    assert!(res.body.contains("value=\"Readers again\""));
    let (rp, cp, sp) = (
        format!("/groups/{readers}"),
        format!("/groups/{club}"),
        format!("/groups/{secret}"),
    );

    // Discovery: public and closed groups, for everyone; the private one is not listed.
    for cookie in [None, Some(dave.as_str())] {
        let page = app.get("/groups", cookie).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains(&format!("href=\"{rp}\"")));
        assert!(page.body.contains(&format!("href=\"{cp}\"")));
        assert!(!page.body.contains(&format!("href=\"{sp}\"")));
    }
    let mine = app.get("/groups", Some(&alice)).await;
    assert!(
        mine.body.contains(&format!("href=\"{sp}\"")),
        "her own groups"
    );
    let out = app.get(&rp, None).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.body.contains("Sign in</a> to join"));

    // Joining a public group: the rules show before, the composer after.
    let page = app.get(&rp, Some(&bob)).await;
    assert!(page.body.contains("<li>Be kind</li>") && page.body.contains("<li>Stay on topic</li>"));
    assert!(page.body.contains("Join group"));
    assert!(!page.body.contains("name=\"group_id\""));
    let res = app
        .post(&format!("{rp}/join"), Some(&bob), &[("_csrf", &bt)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = app.get(&rp, Some(&bob)).await;
    assert!(page.body.contains("Leave group"));
    assert!(
        page.body
            .contains(&format!("name=\"group_id\" value=\"{readers}\""))
    );
    assert!(page.body.contains("2</strong> members"));

    // Posting to the group from its page.
    let res = app
        .post(
            "/statuses",
            Some(&bob),
            &[
                ("_csrf", &bt),
                ("text", "Hello readers"),
                ("group_id", &readers),
                ("back", &rp),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.headers[header::LOCATION], rp.as_str());
    let page = app.get(&rp, None).await;
    assert!(page.body.contains("Hello readers"), "a public group's post");
    // A non-member's post to it is refused, with the form kept.
    let res = app
        .post(
            "/statuses",
            Some(&dave),
            &[
                ("_csrf", &dt),
                ("text", "Let me in"),
                ("group_id", &readers),
                ("back", &rp),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body
            .contains("You must be a member of this group to post in it")
    );
    assert!(res.body.contains(">Let me in</textarea>"));

    // A closed group: a request, seen and approved by its owner.
    let res = app
        .post(&format!("{cp}/join"), Some(&bob), &[("_csrf", &bt)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = app.get(&cp, Some(&bob)).await;
    assert!(page.body.contains("waiting for a moderator") && page.body.contains("Cancel request"));
    assert!(page.body.contains("for its members only"));
    assert_eq!(
        app.get(&format!("{cp}/requests"), Some(&bob)).await.status,
        StatusCode::FORBIDDEN
    );
    let requests = app.get(&format!("{cp}/requests"), Some(&alice)).await;
    assert_eq!(requests.status, StatusCode::OK);
    assert!(requests.body.contains("@bob@kring.test"));
    let res = app
        .post(
            &format!("{cp}/members/{bob_id}/approve"),
            Some(&alice),
            &[("_csrf", &at), ("back", &format!("{cp}/requests"))],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = app.get(&cp, Some(&bob)).await;
    assert!(page.body.contains("Leave group"));
    let requests = app.get(&format!("{cp}/requests"), Some(&alice)).await;
    assert!(requests.body.contains("No one is waiting to join"));

    // A private group: invitations by handle; its posts and members for members only.
    let inv = format!("{sp}/invitations");
    let res = app
        .post(&inv, Some(&alice), &[("_csrf", &at), ("acct", "nobody")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("No account nobody was found"));
    assert!(res.body.contains("value=\"nobody\""));
    let res = app
        .post(&inv, Some(&alice), &[("_csrf", &at), ("acct", "@carol")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(
        app.get(&inv, Some(&alice))
            .await
            .body
            .contains("@carol@kring.test")
    );
    let groups = app.get("/groups", Some(&carol)).await;
    assert!(groups.body.contains("Invitations") && groups.body.contains(&format!("href=\"{sp}\"")));
    let page = app.get(&sp, Some(&carol)).await;
    assert!(page.body.contains("Accept invitation"));
    assert!(page.body.contains("Only members see this group"));
    let res = app
        .post(&format!("{sp}/join"), Some(&carol), &[("_csrf", &ct)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    app.post(
        "/statuses",
        Some(&alice),
        &[
            ("_csrf", &at),
            ("text", "Whispers in the garden"),
            ("group_id", &secret),
            ("back", &sp),
        ],
    )
    .await;
    let page = app.get(&sp, Some(&carol)).await;
    assert!(
        page.body.contains("Whispers in the garden"),
        "a member reads it"
    );
    assert!(page.body.contains("The members of Secret garden only"));
    let members = app.get(&format!("{sp}/members"), Some(&carol)).await;
    assert_eq!(members.status, StatusCode::OK);
    assert!(members.body.contains("@alice@kring.test") && members.body.contains("Owner"));
    for cookie in [Some(dave.as_str()), None] {
        let page = app.get(&sp, cookie).await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "its name and rules are visible"
        );
        assert!(page.body.contains("Secret garden"));
        assert!(!page.body.contains("Whispers in the garden"));
        assert!(page.body.contains("Only members see this group"));
        assert!(!page.body.contains(&format!("href=\"{sp}/members\"")));
        let members = app.get(&format!("{sp}/members"), cookie).await;
        assert_eq!(members.status, StatusCode::NOT_FOUND);
        assert!(!members.body.contains("@carol@kring.test"));
    }
    let search = app.get("/home", Some(&dave)).await;
    assert!(!search.body.contains("Whispers in the garden"));

    // Roles: the owner makes Bob a moderator; he may remove, ban and unban members below
    // him, never the owner (the service's refusal is shown on the page).
    app.post(&format!("{rp}/join"), Some(&carol), &[("_csrf", &ct)])
        .await;
    let members = app.get(&format!("{rp}/members"), Some(&alice)).await;
    assert!(members.body.contains("Make moderator"));
    assert!(members.body.contains(&format!("/transfer?to={bob_id}")));
    let act = async |cookie: &str, t: &str, who: &str, action: &str, role: &str| {
        app.post(
            &format!("{rp}/members/{who}/{action}"),
            Some(cookie),
            &[("_csrf", t), ("role", role)],
        )
        .await
    };
    let res = act(&alice, &at, &bob_id, "promote", "moderator").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let members = app.get(&format!("{rp}/members"), Some(&bob)).await;
    assert!(
        members
            .body
            .contains("<span class=\"badge\">Moderator</span>")
    );
    assert!(members.body.contains(&format!("/members/{carol_id}/kick")));
    assert!(!members.body.contains(&format!("/members/{alice_id}/kick")));
    assert!(
        !members.body.contains("Make moderator"),
        "moderators do not promote"
    );
    let res = act(&bob, &bt, &alice_id, "kick", "").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("This action is not allowed"));
    let res = act(&bob, &bt, &bob_id, "promote", "admin").await;
    assert!(res.body.contains("This action is not allowed"));
    let res = act(&bob, &bt, &carol_id, "kick", "").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        !app.get(&format!("{rp}/members"), Some(&bob))
            .await
            .body
            .contains("@carol@kring.test")
    );
    app.post(&format!("{rp}/join"), Some(&carol), &[("_csrf", &ct)])
        .await;
    let res = act(&bob, &bt, &carol_id, "ban", "").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let bans = app.get(&format!("{rp}/bans"), Some(&bob)).await;
    assert!(bans.body.contains("@carol@kring.test") && bans.body.contains("Unban"));
    let res = app
        .post(&format!("{rp}/join"), Some(&carol), &[("_csrf", &ct)])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("You are banned from this group"));
    assert!(
        app.get(&rp, Some(&carol))
            .await
            .body
            .contains("You are banned from this group")
    );
    let res = act(&bob, &bt, &carol_id, "unban", "").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        app.get(&format!("{rp}/bans"), Some(&bob))
            .await
            .body
            .contains("No one is banned")
    );
    let res = act(&alice, &at, &bob_id, "demote", "member").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let members = app.get(&format!("{rp}/members"), Some(&alice)).await;
    assert!(
        !members
            .body
            .contains("<span class=\"badge\">Moderator</span>")
    );
    assert_eq!(
        app.get(&format!("{rp}/bans"), Some(&bob)).await.status,
        StatusCode::FORBIDDEN
    );

    // Settings (admins), transfer and delete (the owner).
    assert_eq!(
        app.get(&format!("{rp}/edit"), Some(&bob)).await.status,
        StatusCode::FORBIDDEN
    );
    let edit = app.get(&format!("{rp}/edit"), Some(&alice)).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(edit.body.contains("Stay on topic</textarea>"));
    let res = app
        .post(
            &format!("{rp}/edit"),
            Some(&alice),
            &[
                ("_csrf", &at),
                ("display_name", "Readers' corner"),
                ("note", "Books"),
                ("rules", "Be kind"),
                ("kind", "closed"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = app.get(&rp, None).await;
    assert!(
        page.body.contains("Readers&#39; corner") || page.body.contains("Readers&#x27; corner"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Closed group"));
    let res = app
        .post(
            &format!("{rp}/edit"),
            Some(&alice),
            &[("_csrf", &at), ("display_name", " "), ("kind", "public")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body.contains("Display name can&#39;t be blank")
            || res.body.contains("Display name can&#x27;t be blank"),
        "{}",
        res.body
    );

    let confirm = app
        .get(&format!("{cp}/transfer?to={bob_id}"), Some(&alice))
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("Transfer ownership?"));
    let res = app
        .post(
            &format!("{cp}/transfer"),
            Some(&alice),
            &[("_csrf", &at), ("account_id", &bob_id)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = app.get(&cp, Some(&bob)).await;
    assert!(page.body.contains("You are the owner"));
    let res = app
        .post(&format!("{cp}/delete"), Some(&alice), &[("_csrf", &at)])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "only the owner deletes");
    assert_eq!(
        app.get(&format!("{cp}/delete"), Some(&bob)).await.status,
        StatusCode::OK
    );
    let res = app
        .post(&format!("{cp}/delete"), Some(&bob), &[("_csrf", &bt)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.headers[header::LOCATION], "/groups");
    assert_eq!(app.get(&cp, Some(&bob)).await.status, StatusCode::NOT_FOUND);

    // The group's profile links to its page.
    let profile = app.get("/@readers", None).await;
    assert!(profile.body.contains(&format!("href=\"{rp}\"")));
}

/// A group's moderation page (issue 11 items 5 and 6): a report about a post in the group
/// reaches the group's moderators there; a moderator removes the post with a reason (it
/// leaves the group's page and shows under "Removed posts"); the log is for admins only.
#[tokio::test]
async fn group_moderation_page_reports_removals_and_the_log() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let carol = app.sign_up("carol").await;
    let kring = &app.kring;
    let id_of = async |name: &str| kring.lookup(None, name).await.unwrap().id.to_string();
    let (bob_id, carol_id) = (id_of("bob").await, id_of("carol").await);
    let token = async |cookie: &str| csrf(&app.get("/groups", Some(cookie)).await.body);
    let (at, bt, ct) = (token(&alice).await, token(&bob).await, token(&carol).await);
    let gid = group_id_of(
        &app.post(
            "/groups",
            Some(&alice),
            &[
                ("_csrf", &at),
                ("username", "porch"),
                ("display_name", "Porch"),
                ("kind", "public"),
            ],
        )
        .await,
    );
    let gp = format!("/groups/{gid}");
    for (cookie, t) in [(&bob, &bt), (&carol, &ct)] {
        let res = app
            .post(&format!("{gp}/join"), Some(cookie), &[("_csrf", t)])
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
    }
    let res = app
        .post(
            &format!("{gp}/members/{carol_id}/promote"),
            Some(&alice),
            &[("_csrf", &at), ("role", "moderator"), ("back", &gp)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = app
        .post(
            "/statuses",
            Some(&bob),
            &[
                ("_csrf", &bt),
                ("text", "Buy cheap watches"),
                ("group_id", &gid),
                ("back", &gp),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let post = newest_post(&app, "bob", &bob).await;

    // Members see no moderation tab or page; moderators do.
    assert!(
        !app.get(&gp, Some(&bob))
            .await
            .body
            .contains("/moderation\"")
    );
    assert_eq!(
        app.get(&format!("{gp}/moderation"), Some(&bob))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // alice reports the post: carol (a moderator) sees it on the group's moderation page.
    let res = app
        .post(
            &format!("/accounts/{bob_id}/report"),
            Some(&alice),
            &[
                ("_csrf", &at),
                ("status", &post),
                ("category", "spam"),
                ("comment", "selling again"),
            ],
        )
        .await;
    assert!(
        res.status.is_redirection() || res.status == StatusCode::OK,
        "{}",
        res.body
    );
    let page = app.get(&format!("{gp}/moderation"), Some(&carol)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("selling again"), "{}", page.body);
    assert!(page.body.contains("Buy cheap watches"));
    assert!(
        !page.body.contains("Moderation log"),
        "the log is for admins"
    );
    // carol removes the post from the group, with a reason.
    let res = app
        .post(
            &format!("{gp}/statuses/{post}/remove"),
            Some(&carol),
            &[("_csrf", &ct), ("reason", "no selling here")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(
        !app.get(&gp, Some(&alice))
            .await
            .body
            .contains("Buy cheap watches")
    );
    let page = app.get(&format!("{gp}/moderation"), Some(&alice)).await;
    let removed = page.body.split("id=\"removed-title\"").nth(1).unwrap_or("");
    assert!(
        removed.contains("Buy cheap watches") && removed.contains("no selling here"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Moderation log"));
    assert!(page.body.contains("removed a post by"), "{}", page.body);
    // Removing it again is refused on the page, with the reason.
    let res = app
        .post(
            &format!("{gp}/statuses/{post}/remove"),
            Some(&carol),
            &[("_csrf", &ct), ("reason", "again")],
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // The report is resolved from the page.
    let report = page
        .body
        .split("/reports/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_default()
        .to_string();
    let res = app
        .post(
            &format!("{gp}/reports/{report}/resolve"),
            Some(&carol),
            &[("_csrf", &ct)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = app.get(&format!("{gp}/moderation"), Some(&carol)).await;
    assert!(page.body.contains("No open reports"));
}

/// Quote posts in the web interface (issue 10 items 5 and 6): a post that may be quoted has a
/// Quote link; the composer it opens shows the quoted post and sends `quoted_status_id`; the
/// quoting post shows the quoted one; a post whose author allows no quotes has no link, and a
/// quote sent anyway is refused on the form with the text kept.
#[tokio::test]
async fn quotes_in_the_web_interface() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let at = csrf(&app.get("/home", Some(&alice)).await.body);
    let bt = csrf(&app.get("/home", Some(&bob)).await.body);
    let post = async |cookie: &str, token: &str, fields: &[(&str, &str)]| {
        let mut form = vec![("_csrf", token)];
        form.extend_from_slice(fields);
        app.post("/statuses", Some(cookie), &form).await
    };
    let res = post(
        &alice,
        &at,
        &[("text", "words worth quoting"), ("visibility", "public")],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let open = newest_post(&app, "alice", &alice).await;
    let page = app.get(&format!("/@alice/{open}"), Some(&bob)).await;
    let link = format!("href=\"/statuses?quote={open}\"");
    assert!(page.body.contains(&link), "{}", page.body);
    let compose = app
        .get(&format!("/statuses?quote={open}"), Some(&bob))
        .await;
    assert_eq!(compose.status, StatusCode::OK);
    assert!(
        compose
            .body
            .contains(&format!("name=\"quoted_status_id\" value=\"{open}\""))
    );
    assert!(compose.body.contains("aria-label=\"The post you quote\""));
    assert!(compose.body.contains("words worth quoting"));
    let res = post(
        &bob,
        &bt,
        &[
            ("text", "so true"),
            ("visibility", "public"),
            ("quoted_status_id", &open),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let quoting = newest_post(&app, "bob", &bob).await;
    let page = app.get(&format!("/@bob/{quoting}"), None).await;
    let aside = page
        .body
        .split("aria-label=\"Quoted post\"")
        .nth(1)
        .unwrap_or_default();
    assert!(aside.contains("words worth quoting"), "{}", page.body);

    // A followers-only post, which no one may quote (a quote would widen it): bob follows
    // alice and reads it, but has no link, and a quote sent anyway is refused on the form.
    let alice_id = app
        .kring
        .lookup(None, "alice")
        .await
        .unwrap()
        .id
        .to_string();
    let res = app
        .post(
            &format!("/accounts/{alice_id}/follow"),
            Some(&bob),
            &[("_csrf", &bt)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = post(
        &alice,
        &at,
        &[("text", "not for quoting"), ("visibility", "private")],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let closed = newest_post(&app, "alice", &alice).await;
    let page = app.get(&format!("/@alice/{closed}"), Some(&bob)).await;
    assert!(page.body.contains("not for quoting"), "bob reads it");
    assert!(
        !page
            .body
            .contains(&format!("href=\"/statuses?quote={closed}\""))
    );
    let res = post(
        &bob,
        &bt,
        &[
            ("text", "quoting anyway"),
            ("visibility", "public"),
            ("quoted_status_id", &closed),
        ],
    )
    .await;
    assert!(res.status.is_client_error(), "{} {}", res.status, res.body);
    assert!(res.body.contains("quoting anyway"), "the text is kept");
}

#[tokio::test]
async fn deleting_the_account_asks_twice_and_ends_the_session() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    let page = app.get("/settings/delete", Some(&alice)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("cannot be undone"), "{}", page.body);
    assert!(page.body.contains("@alice"));
    let token = csrf(&page.body);
    // Without the box ticked, or with a wrong password: nothing happens.
    let res = app
        .post(
            "/settings/delete",
            Some(&alice),
            &[("_csrf", &token), ("password", "correct horse battery")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Tick the box"), "{}", res.body);
    let res = app
        .post(
            "/settings/delete",
            Some(&alice),
            &[("_csrf", &token), ("password", "wrong"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("password is not correct"), "{}", res.body);
    assert_eq!(app.get("/home", Some(&alice)).await.status, StatusCode::OK);
    // With both: gone, signed out, told so.
    let res = app
        .post(
            "/settings/delete",
            Some(&alice),
            &[
                ("_csrf", &token),
                ("password", "correct horse battery"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.headers[header::LOCATION], "/?deleted=1");
    assert!(
        res.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        app.get("/home", Some(&alice)).await.status,
        StatusCode::SEE_OTHER
    );
    let landing = app.get("/?deleted=1", None).await;
    assert!(landing.body.contains("Your account was deleted"));
    let profile = app.get("/@alice", None).await;
    assert_eq!(profile.status, StatusCode::NOT_FOUND, "{}", profile.body);
}

#[tokio::test]
async fn sessions_say_when_they_were_last_used_and_nothing_of_where() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    app.get("/home", Some(&alice)).await;
    // Written in the background, at most once an hour.
    let mut page = String::new();
    for _ in 0..50 {
        page = app.get("/settings/sessions", Some(&alice)).await.body;
        if !page.contains("<td>—</td>") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(page.contains("Last used"), "{page}");
    assert!(!page.contains("<td>—</td>"), "no last use shown: {page}");
    assert!(page.contains("keeps no addresses and no locations"));
}

#[tokio::test]
async fn moving_settings_save_old_accounts_and_refuse_a_move_nobody_claims() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    let _bob = app.sign_up("bob").await;
    let page = app.get("/settings/migration", Some(&alice)).await;
    assert_eq!(page.status, StatusCode::OK);
    let token = csrf(&page.body);
    let res = app
        .post(
            "/settings/migration/aliases",
            Some(&alice),
            &[("_csrf", &token), ("aliases", "bob\n")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = app
        .get("/settings/migration?saved=aliases", Some(&alice))
        .await;
    assert!(page.body.contains("/users/bob"), "{}", page.body);
    assert!(page.body.contains("Your old accounts were saved"));
    let res = app
        .post(
            "/settings/migration/aliases",
            Some(&alice),
            &[("_csrf", &token), ("aliases", "nobody-here")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body.contains("No account named nobody-here"),
        "{}",
        res.body
    );
    // bob does not name alice: she cannot move to him.
    let res = app
        .post(
            "/settings/migration/move",
            Some(&alice),
            &[
                ("_csrf", &token),
                ("target", "bob"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("alias"), "{}", res.body);
}

#[tokio::test]
async fn the_import_page_takes_a_csv_without_javascript() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    let page = app.get("/settings/import", Some(&alice)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("enctype=\"multipart/form-data\""));
    let token = csrf(&page.body);
    let send = async |kind: &str, file: &str| {
        let boundary = "KringWebImport";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\n{kind}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\nmerge\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n\
             --{boundary}--\r\n"
        );
        app.send(
            Request::post("/settings/import")
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .header(header::HOST, "kring.test")
                .header(header::COOKIE, &alice)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    };
    let res = send("domain_blocks", "#domain\nspam.example\n").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        res.headers[header::LOCATION],
        "/settings/import?saved=import"
    );
    let res = send("everything", "x\n").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(
        res.body.contains("Choose what the file holds"),
        "{}",
        res.body
    );
}

/// An 8 × 8 PNG.
const PNG: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 8, 0, 0, 0, 8, 8, 2, 0,
    0, 0, 75, 109, 41, 220, 0, 0, 0, 17, 73, 68, 65, 84, 120, 156, 99, 16, 56, 33, 128, 21, 49, 12,
    45, 9, 0, 170, 18, 58, 1, 59, 203, 50, 86, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

/// A multipart form with the session's token and one picture part.
async fn send_picture(app: &App, path: &str, cookie: &str, token: &str, part: &str) -> Res {
    send_multipart(
        app,
        path,
        cookie,
        &[("_csrf", token)],
        &[(part, "p.png", PNG)],
    )
    .await
}

/// A multipart form as a browser sends it: text fields, then file inputs (name, file name,
/// bytes; an input left empty has neither).
async fn send_multipart(
    app: &App,
    path: &str,
    cookie: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> Res {
    let boundary = "KringWebForm";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file_name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    app.send(
        Request::post(path)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header(header::HOST, "kring.test")
            .header(header::COOKIE, cookie)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn people_and_group_admins_upload_pictures_without_javascript() {
    let dir = tempfile::tempdir().unwrap();
    let (url, db) = database(&dir);
    let store = Store::connect(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    let mut config = ServiceConfig::for_tests("kring.test");
    config.media.dir = Some(dir.path().join("media"));
    let kring = Kring::new(store, config).unwrap();
    let app = App {
        router: kring_web::router(kring.clone()),
        _dir: dir,
        _db: db,
        kring,
    };
    let alice = app.sign_up("alice").await;
    let page = app.get("/settings/profile", Some(&alice)).await;
    assert!(page.body.contains("action=\"/settings/profile/pictures\""));
    let token = csrf(&page.body);
    let res = send_picture(&app, "/settings/profile/pictures", &alice, &token, "avatar").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let profile = app.get("/@alice", None).await;
    assert!(
        profile.body.contains("/media/"),
        "the new avatar: {}",
        profile.body
    );
    // … and removes it again: the default picture, and the file is gone.
    let page = app.get("/settings/profile", Some(&alice)).await;
    assert!(
        page.body.contains("name=\"remove_avatar\""),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("name=\"remove_header\""),
        "no header to remove"
    );
    let media_dir = app.kring.config.media.dir.clone().unwrap();
    assert!(!files_under(&media_dir).is_empty());
    let res = send_multipart(
        &app,
        "/settings/profile/pictures",
        &alice,
        &[("_csrf", &token), ("remove_avatar", "1")],
        &[("avatar", "", b"")],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let me = app.get("/settings/profile", Some(&alice)).await;
    assert!(!me.body.contains("name=\"remove_avatar\""), "{}", me.body);
    assert!(!app.get("/@alice", None).await.body.contains("/media/"));
    assert!(
        files_under(&media_dir).is_empty(),
        "the avatar's file is gone"
    );

    // A group's admin sets its header from the group's settings.
    let token = csrf(&app.get("/groups", Some(&alice)).await.body);
    let res = app
        .post(
            "/groups",
            Some(&alice),
            &[
                ("_csrf", &token),
                ("display_name", "Garden"),
                ("username", "garden"),
                ("kind", "public"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let group = res.headers[header::LOCATION].to_str().unwrap().to_string();
    let edit = app.get(&format!("{group}/edit"), Some(&alice)).await;
    assert!(
        edit.body.contains(&format!("action=\"{group}/pictures\"")),
        "{}",
        edit.body
    );
    let res = send_picture(&app, &format!("{group}/pictures"), &alice, &token, "header").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let gid: kring_core::Id = group.rsplit('/').next().unwrap().parse().unwrap();
    let account = app.kring.account(gid).await.unwrap();
    assert!(
        account
            .header_url
            .as_deref()
            .is_some_and(|h| h.contains("/media/")),
        "{account:?}"
    );
    // Someone else may not.
    let bob = app.sign_up("bob").await;
    let token = csrf(&app.get("/home", Some(&bob)).await.body);
    let res = send_picture(&app, &format!("{group}/pictures"), &bob, &token, "avatar").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("This action is not allowed"));
    assert_eq!(app.kring.account(gid).await.unwrap().avatar_url, None);
}

/// Every file under a folder (a media storage), however deep.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}
