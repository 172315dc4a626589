// SPDX-License-Identifier: AGPL-3.0-or-later
//! The data export (issue 14, docs/export-format.md) against the real server over HTTP (SQLite,
//! or PostgreSQL with `KRING_TEST_DATABASE_URL`): a person with posts of every audience, a
//! boost, a like, a bookmark, a picture, follows, a follower, a list, a block, a mute, a domain
//! block, a circle, a group they own and a chat asks for an export on the web settings page,
//! sees it made in the background, is notified, downloads it, and every part of the zip is
//! checked; nobody else can download it; `kring export` writes the same archive.
mod common;

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::time::Duration;

use common::{PASSWORD, TestServer, User};
use kring::config::{Partial, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([10, 200, 10]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The form token on a web page.
fn csrf(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a form token") + 20;
    html[at..].split('"').next().unwrap().to_string()
}

/// Sign in through the web form; the session cookie.
async fn web_session(s: &TestServer, u: &User) -> String {
    let html = s
        .http
        .get(s.url("/auth/sign_in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf(&html);
    let res = s
        .http
        .post(s.url("/auth/sign_in"))
        .form(&[
            ("_csrf", token.as_str()),
            ("email", u.email.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "web sign-in");
    let set = res
        .headers()
        .get("set-cookie")
        .expect("a cookie")
        .to_str()
        .unwrap();
    set.split(';').next().unwrap().to_string()
}

async fn page(s: &TestServer, cookie: &str, path: &str) -> (StatusCode, String) {
    let res = s
        .http
        .get(s.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Every file of a zip archive by name.
fn unzip(bytes: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip archive");
    let mut files = HashMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        files.insert(f.name().to_string(), data);
    }
    files
}

fn json_file(files: &HashMap<String, Vec<u8>>, name: &str) -> Value {
    let bytes = files
        .get(name)
        .unwrap_or_else(|| panic!("{name} in the archive"));
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn text_file(files: &HashMap<String, Vec<u8>>, name: &str) -> String {
    String::from_utf8(
        files
            .get(name)
            .unwrap_or_else(|| panic!("{name} in the archive"))
            .clone(),
    )
    .unwrap()
}

struct Made {
    uris: HashMap<&'static str, String>,
    circle: String,
    group: String,
    chat: String,
    boosted_uri: String,
    liked_uri: String,
    bookmarked_uri: String,
    picture_url: String,
}

/// Alice and the people and things around her.
async fn make(
    s: &TestServer,
    alice: &User,
    bob: &User,
    carol: &User,
    dave: &User,
    erin: &User,
) -> Made {
    // Bob and Alice follow each other (friends); Alice follows Carol.
    s.follow(bob, alice).await;
    s.follow(alice, bob).await;
    s.follow(alice, carol).await;
    let circle = s
        .ok_post(
            "/api/v1/circles",
            Some(&alice.token),
            json!({"title": "Close, ones"}),
        )
        .await;
    let circle = id_of(&circle);
    s.ok_post(
        &format!("/api/v1/circles/{circle}/accounts"),
        Some(&alice.token),
        json!({"account_ids": [bob.id]}),
    )
    .await;
    let group = s
        .ok_post(
            "/api/v1/groups",
            Some(&alice.token),
            json!({"display_name": "Bird Watchers", "note": "Birds!", "group_visibility": "everyone"}),
        )
        .await;
    let group = id_of(&group);
    let chat = s
        .ok_post(
            "/api/v1/kring/chats",
            Some(&alice.token),
            json!({"account_ids": [bob.id], "name": "Us"}),
        )
        .await;
    let chat = id_of(&chat);

    // A picture.
    let (ct, body) = {
        let boundary = "exportboundary";
        let mut body = Vec::new();
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
        body.extend_from_slice(&png(32, 16));
        body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\na green field\r\n--{boundary}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={boundary}"), body)
    };
    let (st, _, media) = s
        .raw(
            reqwest::Method::POST,
            "/api/v2/media",
            Some(&alice.token),
            Some(&ct),
            body,
        )
        .await;
    assert!(st.is_success(), "{st} {media}");
    let media_id = id_of(&media);

    let mut uris = HashMap::new();
    for (label, body) in [
        (
            "public",
            json!({"status": "public post", "visibility": "public", "media_ids": [media_id]}),
        ),
        (
            "unlisted",
            json!({"status": "unlisted post", "visibility": "unlisted"}),
        ),
        (
            "followers",
            json!({"status": "followers post", "visibility": "private"}),
        ),
        (
            "friends",
            json!({"status": "friends post", "visibility": "friends"}),
        ),
        (
            "circle",
            json!({"status": "circle post", "visibility": "circle", "circle_ids": [circle]}),
        ),
        ("group", json!({"status": "group post", "group_id": group})),
    ] {
        let st = s.post_status(alice, body).await;
        uris.insert(label, st["uri"].as_str().unwrap().to_string());
    }
    let msg = s
        .ok_post(
            &format!("/api/v1/kring/chats/{chat}/messages"),
            Some(&alice.token),
            json!({"status": "chat message"}),
        )
        .await;
    uris.insert("chat", msg["uri"].as_str().unwrap().to_string());
    let picture_url = s
        .ok(&format!("/api/v1/media/{media_id}"), Some(&alice.token))
        .await["url"]
        .as_str()
        .unwrap()
        .to_string();

    // Carol's posts: one boosted, one liked, one bookmarked.
    let boosted = s.post_status(carol, json!({"status": "boost me"})).await;
    let liked = s.post_status(carol, json!({"status": "like me"})).await;
    let bookmarked = s.post_status(carol, json!({"status": "keep me"})).await;
    s.ok_post(
        &format!("/api/v1/statuses/{}/reblog", id_of(&boosted)),
        Some(&alice.token),
        json!({}),
    )
    .await;
    s.ok_post(
        &format!("/api/v1/statuses/{}/favourite", id_of(&liked)),
        Some(&alice.token),
        json!({}),
    )
    .await;
    s.ok_post(
        &format!("/api/v1/statuses/{}/bookmark", id_of(&bookmarked)),
        Some(&alice.token),
        json!({}),
    )
    .await;

    // A list, a block, a mute, a domain block.
    let list = s
        .ok_post(
            "/api/v1/lists",
            Some(&alice.token),
            json!({"title": "Friends"}),
        )
        .await;
    s.ok_post(
        &format!("/api/v1/lists/{}/accounts", id_of(&list)),
        Some(&alice.token),
        json!({"account_ids": [carol.id]}),
    )
    .await;
    s.ok_post(
        &format!("/api/v1/accounts/{}/block", dave.id),
        Some(&alice.token),
        json!({}),
    )
    .await;
    s.ok_post(
        &format!("/api/v1/accounts/{}/mute", erin.id),
        Some(&alice.token),
        json!({"notifications": true}),
    )
    .await;
    s.ok_post(
        "/api/v1/domain_blocks",
        Some(&alice.token),
        json!({"domain": "spam.example"}),
    )
    .await;

    Made {
        uris,
        circle,
        group,
        chat,
        boosted_uri: boosted["uri"].as_str().unwrap().to_string(),
        liked_uri: liked["uri"].as_str().unwrap().to_string(),
        bookmarked_uri: bookmarked["uri"].as_str().unwrap().to_string(),
        picture_url,
    }
}

/// Check every part of Alice's archive.
async fn check_archive(s: &TestServer, bytes: &[u8], made: &Made) {
    let files = unzip(bytes);
    let domain = s.kring.config.domain.clone();
    let at = |u: &str| format!("{u}@{domain}");

    let actor = json_file(&files, "actor.json");
    assert_eq!(actor["type"], "Person");
    assert_eq!(actor["preferredUsername"], "alice");

    let outbox = json_file(&files, "outbox.json");
    assert_eq!(outbox["type"], "OrderedCollection");
    let items = outbox["orderedItems"].as_array().unwrap();
    assert_eq!(outbox["totalItems"], items.len());
    let by_uri: HashMap<String, &Value> = items
        .iter()
        .filter(|i| i["type"] == "Create")
        .map(|i| (i["object"]["id"].as_str().unwrap().to_string(), i))
        .collect();
    for (label, visibility) in [
        ("public", "public"),
        ("unlisted", "unlisted"),
        ("followers", "private"),
        ("friends", "friends"),
        ("circle", "circle"),
        ("chat", "direct"),
    ] {
        let item = by_uri
            .get(&made.uris[label])
            .unwrap_or_else(|| panic!("the {label} post in the outbox: {outbox:#}"));
        assert_eq!(
            item["object"]["kringVisibility"], visibility,
            "{label}: {item}"
        );
        assert!(
            item["object"]["to"].is_array() && item["object"]["cc"].is_array(),
            "{item}"
        );
    }
    let public = by_uri[&made.uris["public"]];
    assert!(
        public["object"]["to"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "https://www.w3.org/ns/activitystreams#Public"),
        "{public}"
    );
    assert_eq!(
        by_uri[&made.uris["circle"]]["object"]["kringCircles"],
        json!([made.circle])
    );
    assert_eq!(
        by_uri[&made.uris["group"]]["object"]["kringGroup"],
        made.group
    );
    assert_eq!(by_uri[&made.uris["chat"]]["object"]["kringChat"], made.chat);
    let boosts: Vec<&Value> = items.iter().filter(|i| i["type"] == "Announce").collect();
    assert_eq!(boosts.len(), 1, "{outbox:#}");
    assert_eq!(boosts[0]["object"], made.boosted_uri);

    // The picture: named by its path in the archive, with the bytes the server serves.
    let attachment = &public["object"]["attachment"][0];
    let path = attachment["url"].as_str().unwrap();
    assert!(path.starts_with("media/attachments/"), "{attachment}");
    let served = reqwest::get(&made.picture_url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        files.get(path).map(Vec::as_slice),
        Some(&served[..]),
        "the picture's bytes"
    );

    let likes = json_file(&files, "likes.json");
    assert_eq!(likes["type"], "OrderedCollection");
    assert_eq!(likes["orderedItems"], json!([made.liked_uri]));
    let bookmarks = json_file(&files, "bookmarks.json");
    assert_eq!(bookmarks["orderedItems"], json!([made.bookmarked_uri]));

    assert_eq!(
        text_file(&files, "following_accounts.csv"),
        format!(
            "Account address,Show boosts,Notify on new posts,Languages\n{},true,false,\n{},true,false,\n{},true,false,\n",
            at("bob"),
            at("carol"),
            // A group is joined by following its actor (as Mastodon users join groups).
            at("bird_watchers")
        )
    );
    assert_eq!(
        text_file(&files, "followers.csv"),
        format!("Account address\n{}\n", at("bob"))
    );
    assert_eq!(
        text_file(&files, "lists.csv"),
        format!("Friends,{}\n", at("carol"))
    );
    assert_eq!(
        text_file(&files, "blocked_accounts.csv"),
        format!("{}\n", at("dave"))
    );
    assert_eq!(
        text_file(&files, "muted_accounts.csv"),
        format!("Account address,Hide notifications\n{},true\n", at("erin"))
    );
    assert_eq!(text_file(&files, "blocked_domains.csv"), "spam.example\n");
    assert_eq!(
        text_file(&files, "bookmarks.csv"),
        format!("{}\n", made.bookmarked_uri)
    );

    let circles = json_file(&files, "circles.json");
    assert_eq!(
        circles,
        json!([{ "id": made.circle, "title": "Close, ones", "members": [at("bob")] }])
    );
    let groups = json_file(&files, "groups.json");
    let g = &groups[0];
    assert_eq!(g["id"], made.group, "{groups:#}");
    assert_eq!(g["role"], "owner");
    assert_eq!(g["group"]["name"], "Bird Watchers");
    assert_eq!(g["group"]["note"], "Birds!");
    assert_eq!(g["group"]["members"][0]["address"], at("alice"));
    assert_eq!(g["group"]["members"][0]["role"], "owner");
    let chats = json_file(&files, "chats.json");
    let c = &chats[0];
    assert_eq!(c["id"], made.chat, "{chats:#}");
    assert_eq!(c["name"], "Us");
    let who: Vec<&str> = c["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["address"].as_str().unwrap())
        .collect();
    assert!(
        who.contains(&at("alice").as_str()) && who.contains(&at("bob").as_str()),
        "{c}"
    );
    assert_eq!(c["messages"], json!([made.uris["chat"]]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_holds_everything_and_only_its_owner_downloads_it() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let dave = s.register("dave").await;
    let erin = s.register("erin").await;
    let made = make(&s, &alice, &bob, &carol, &dave, &erin).await;

    // Ask on the settings page (in its navigation), wait until it is ready.
    let cookie = web_session(&s, &alice).await;
    let (st, html) = page(&s, &cookie, "/settings/profile").await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        html.contains("href=\"/settings/export\""),
        "the settings navigation names the export"
    );
    let (st, html) = page(&s, &cookie, "/settings/export").await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("Make a new archive"), "{html}");
    let token = csrf(&html);
    let res = s
        .http
        .post(s.url("/settings/export"))
        .header("cookie", &cookie)
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mut link = None;
    for _ in 0..300 {
        let (_, html) = page(&s, &cookie, "/settings/export").await;
        if let Some(at) = html.find("/settings/export/") {
            let tail = &html[at..];
            link = Some(tail[..tail.find('"').unwrap()].to_string());
            break;
        }
        assert!(!html.contains("failed"), "{html}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let link = link.expect("the archive was made");
    assert!(link.ends_with("/download"), "{link}");

    // The notification, hidden from Mastodon apps unless asked for.
    let all = s.ok("/api/v1/notifications", Some(&alice.token)).await;
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|n| n["type"] != "kring.export"),
        "{all}"
    );
    let asked = s
        .ok(
            "/api/v1/notifications?types[]=kring.export",
            Some(&alice.token),
        )
        .await;
    assert_eq!(asked.as_array().unwrap().len(), 1, "{asked}");
    let (_, html) = page(&s, &cookie, "/notifications").await;
    assert!(html.contains("your data export is ready"), "{html}");

    let res = s
        .http
        .get(s.url(&link))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let bytes = res.bytes().await.unwrap();
    check_archive(&s, &bytes, &made).await;

    // Nobody else downloads it: another person, or nobody signed in.
    let bob_cookie = web_session(&s, &bob).await;
    let res = s
        .http
        .get(s.url(&link))
        .header("cookie", &bob_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = s.http.get(s.url(&link)).send().await.unwrap();
    assert_ne!(res.status(), StatusCode::OK);

    // The CLI writes the same archive.
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("alice.zip");
    // Not std's Command: waiting for it would stop this test's runtime, and with it the
    // in-process server, perhaps inside a transaction the console then waits for.
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kring"));
    cmd.args(["export", "--user", "alice", "--out"])
        .arg(&file)
        .arg("--data-dir")
        .arg(s.data_dir())
        .args(["--domain", &s.kring.config.domain, "--log", "error"]);
    if let Some(url) = s.database_url() {
        cmd.args(["--database-url", url]);
    }
    let done = cmd.output().await.expect("run kring export");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let written = std::fs::read(&file).unwrap();
    check_archive(&s, &written, &made).await;
    let (a, b) = (unzip(&bytes), unzip(&written));
    let mut names_a: Vec<&String> = a.keys().collect();
    let mut names_b: Vec<&String> = b.keys().collect();
    names_a.sort();
    names_b.sort();
    assert_eq!(names_a, names_b, "the same files");
    s.stop().await;
}

/// Asks the web settings page for an export; the redirect.
async fn ask(s: &TestServer, cookie: &str) {
    let (_, html) = page(s, cookie, "/settings/export").await;
    let token = csrf(&html);
    let res = s
        .http
        .post(s.url("/settings/export"))
        .header("cookie", cookie)
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_export_at_a_time_made_by_the_worker_with_its_progress_shown() {
    let web = TestServer::start_with(Partial {
        role: Some(Role::Web),
        ..Partial::default()
    })
    .await;
    let alice = web.register("alice").await;
    web.status(&alice, "hello", "public").await;
    let cookie = web_session(&web, &alice).await;
    ask(&web, &cookie).await;
    // Asking again while it is being made answers the one being made.
    ask(&web, &cookie).await;
    let (_, html) = page(&web, &cookie, "/settings/export").await;
    assert!(
        html.contains("Your archive is being made: 0% done"),
        "{html}"
    );
    assert!(
        !html.contains("Make a new archive"),
        "no second request while one runs"
    );
    assert_eq!(
        web.kring
            .store
            .pending_jobs_in("export.build")
            .await
            .unwrap(),
        1
    );

    let worker = web
        .another_process(Partial {
            role: Some(Role::Worker),
            ..Partial::default()
        })
        .await;
    let mut ready = false;
    for _ in 0..300 {
        let (_, html) = page(&web, &cookie, "/settings/export").await;
        if html.contains("Download your archive") {
            assert!(
                html.contains("Make a new archive"),
                "a new one may be asked for now"
            );
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the worker made the archive");
    worker.stop().await;
    web.stop().await;
}
