// SPDX-License-Identifier: AGPL-3.0-or-later
//! Importing Mastodon's CSV exports (issue 14 item 2), on SQLite and PostgreSQL: alice on A
//! imports follows (accounts on B and on A), blocks, mutes, blocked servers, bookmarks and
//! lists through GoToSocial's `POST /api/v1/import`; remote accounts are looked up in the
//! background; importing the same file twice adds nothing twice; `overwrite` undoes what the
//! file does not name; a file Kring cannot read is refused. And `kring import` from the
//! console.
mod common;
mod fed_common;

use fed_common::{FedUser, Node, eventually, id};
use serde_json::{Value, json};

async fn import(
    on: &Node,
    user: &FedUser,
    kind: &str,
    mode: &str,
    csv: impl AsRef<[u8]>,
) -> (u16, Value) {
    let boundary = "KringImportBoundary";
    let mut body = String::new();
    for (k, v) in [("type", kind), ("mode", mode)] {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"data\"; filename=\"{kind}.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    ));
    let mut body = body.into_bytes();
    body.extend_from_slice(csv.as_ref());
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = on
        .http
        .post(on.url("/api/v1/import"))
        .bearer_auth(&user.token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let st = res.status().as_u16();
    (st, res.json().await.unwrap_or_default())
}

/// A small PNG uploaded with its alt text; answers the upload's id.
async fn upload_png(on: &Node, user: &FedUser, alt: &str) -> String {
    let img = image::RgbImage::from_pixel(24, 12, image::Rgb([10, 200, 10]));
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let boundary = "KringPictureBoundary";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\n").into_bytes();
    body.extend_from_slice(png.get_ref());
    body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n{alt}\r\n--{boundary}--\r\n").as_bytes());
    let res = on
        .http
        .post(on.url("/api/v2/media"))
        .bearer_auth(&user.token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let v: Value = res.json().await.unwrap();
    id(&v)
}

/// What a post is, as compared across servers: its typed text, audience, date (to the
/// second: archives keep no more), warning, language and pictures' alt text.
async fn post_facts(on: &Node, user: &FedUser, s: &Value) -> Value {
    let source = on
        .ok(&format!("/api/v1/statuses/{}/source", id(s)), &user.token)
        .await;
    json!({
        "text": source["text"],
        "visibility": s["kring"]["visibility"],
        "created_at": s["created_at"].as_str().unwrap()[..19],
        "spoiler_text": s["spoiler_text"],
        "sensitive": s["sensitive"],
        "language": s["language"],
        "alt": s["media_attachments"].as_array().unwrap().iter().map(|m| m["description"].clone()).collect::<Vec<_>>(),
        "reply": !s["in_reply_to_id"].is_null(),
    })
}

/// Every post of `user` as `post_facts`, sorted by text.
async fn all_post_facts(on: &Node, user: &FedUser) -> Vec<Value> {
    let list = on
        .ok(
            &format!("/api/v1/accounts/{}/statuses?limit=40", user.id),
            &user.token,
        )
        .await;
    let mut out = Vec::new();
    for s in list.as_array().unwrap() {
        out.push(post_facts(on, user, s).await);
    }
    out.sort_by_key(|f| f["text"].as_str().unwrap_or("").to_string());
    out
}

async fn accts(on: &Node, user: &FedUser, path: &str) -> Vec<String> {
    let mut v: Vec<String> = on
        .ok(path, &user.token)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["acct"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mastodon_csvs_import_merge_and_overwrite() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let dave = a.register("dave").await;
    let bob = b.register("bob").await;
    let carol = b.register("carol").await;
    let eve = b.register("eve").await;
    let post = b.say(&bob, "worth keeping", "public").await;

    let following = format!(
        "Account address,Show boosts,Notify on new posts,Languages\n{},true,false,\n{},false,true,\n{}@{},true,false,\n",
        bob.handle, carol.handle, dave.username, a.domain
    );
    let (st, body) = import(&a, &alice, "following", "merge", &following).await;
    assert_eq!(st, 202, "{body}");
    let mut want = vec![bob.handle.clone(), carol.handle.clone(), "dave".to_string()];
    want.sort();
    let path = format!("/api/v1/accounts/{}/following", alice.id);
    eventually("alice follows the file's accounts", async || {
        (accts(&a, &alice, &path).await == want).then_some(())
    })
    .await;
    let carol_on_a = a.remote_id(&alice, &carol.handle).await;
    let r = a.relationship(&alice, &carol_on_a).await;
    assert_eq!(r["showing_reblogs"], false, "{r}");
    assert_eq!(r["notifying"], true, "{r}");
    let _ = &dave;

    // The same file again adds nothing twice.
    let (st, _) = import(&a, &alice, "following_accounts", "merge", &following).await;
    assert_eq!(st, 202);
    let blocks = format!("Account address\n{}\n", eve.handle);
    import(&a, &alice, "blocks", "merge", &blocks).await;
    let mutes = format!(
        "Account address,Hide notifications\n{},false\n",
        carol.handle
    );
    import(&a, &alice, "mutes", "merge", &mutes).await;
    import(
        &a,
        &alice,
        "domain_blocks",
        "merge",
        "#domain\nspam.example\n",
    )
    .await;
    let bookmarks = format!("{}\n", post["url"].as_str().unwrap());
    import(&a, &alice, "bookmarks", "merge", &bookmarks).await;
    let lists = format!("\"Close, friends\",{}\n", bob.handle);
    import(&a, &alice, "lists", "merge", &lists).await;
    eventually("every import applied", async || {
        let blocked = accts(&a, &alice, "/api/v1/blocks").await;
        let muted = accts(&a, &alice, "/api/v1/mutes").await;
        let domains = a.ok("/api/v1/domain_blocks", &alice.token).await;
        let marks = a.ok("/api/v1/bookmarks", &alice.token).await;
        let lists = a.ok("/api/v1/lists", &alice.token).await;
        (blocked == vec![eve.handle.clone()]
            && muted == vec![carol.handle.clone()]
            && domains == json!(["spam.example"])
            && marks.as_array()?.len() == 1
            && lists.as_array()?.len() == 1)
            .then_some(())
    })
    .await;
    assert_eq!(accts(&a, &alice, &path).await, want, "nothing twice");
    let me = a
        .ok("/api/v1/accounts/verify_credentials", &alice.token)
        .await;
    assert_eq!(me["following_count"], 3, "{me}");
    let marks = a.ok("/api/v1/bookmarks", &alice.token).await;
    assert_eq!(marks[0]["uri"], post["uri"], "{marks}");
    let lists = a.ok("/api/v1/lists", &alice.token).await;
    assert_eq!(lists[0]["title"], "Close, friends", "{lists}");
    let members = accts(
        &a,
        &alice,
        &format!("/api/v1/lists/{}/accounts", id(&lists[0])),
    )
    .await;
    assert_eq!(members, vec![bob.handle.clone()]);

    // Overwrite: only bob is followed afterwards.
    let only_bob = format!("Account address\n{}\n", bob.handle);
    let (st, _) = import(&a, &alice, "following", "overwrite", &only_bob).await;
    assert_eq!(st, 202);
    eventually("only bob is followed", async || {
        (accts(&a, &alice, &path).await == vec![bob.handle.clone()]).then_some(())
    })
    .await;

    // What Kring cannot read, or does not know, is refused at once.
    let (st, body) = import(&a, &alice, "statuses", "merge", &only_bob).await;
    assert_eq!(st, 422, "{body}");
    let (st, body) = import(&a, &alice, "following", "sideways", &only_bob).await;
    assert_eq!(st, 422, "{body}");
    // Not text: a picture called following.csv.
    let (st, body) = import(
        &a,
        &alice,
        "following",
        "merge",
        b"\x89PNG\r\n\x1a\n\xff\xfe\x00",
    )
    .await;
    assert_eq!(st, 422, "{body}");
}

/// `kring import` applies a file at once and says what it did.
#[test]
fn the_console_imports_a_csv_for_an_account() {
    let bin = env!("CARGO_BIN_EXE_kring");
    let dir = tempfile::tempdir().expect("temp dir");
    let (_db, database_url) = common::fresh_database();
    let store_args = common::cli_store_args(dir.path(), database_url.as_deref());
    let created = std::process::Command::new(bin)
        .args([
            "admin",
            "create-user",
            "--username",
            "dora",
            "--email",
            "dora@tests.invalid",
            "--password",
            common::PASSWORD,
        ])
        .args(&store_args)
        .output()
        .unwrap();
    assert!(created.status.success());
    let file = dir.path().join("blocked_domains.csv");
    std::fs::write(&file, "#domain\nspam.example\nads.example\n").unwrap();
    let out = std::process::Command::new(bin)
        .args(["import", "--user", "dora", "--type", "domain_blocks"])
        .arg(&file)
        .args(&store_args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("2 applied, 0 skipped, 0 removed"), "{said}");
}

/// A person's connections go round: `kring export` of alice on A, imported on B into a new
/// account (`type=archive`, Kring's), gives the same follows, blocks, mutes, blocked servers,
/// bookmarks, lists, circles and posts; importing it again adds nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_exported_here_is_imported_elsewhere() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let carol = a.register("carol").await;
    let dan = a.register("dan").await;
    let eve = a.register("eve").await;
    let post = a.say(&carol, "keep this", "public").await;
    for who in [&carol, &dan] {
        a.ok_post(
            &format!("/api/v1/accounts/{}/follow", who.id),
            &alice.token,
            json!({}),
        )
        .await;
    }
    a.ok_post(
        &format!("/api/v1/accounts/{}/block", eve.id),
        &alice.token,
        json!({}),
    )
    .await;
    a.ok_post(
        &format!("/api/v1/accounts/{}/mute", dan.id),
        &alice.token,
        json!({}),
    )
    .await;
    a.ok_post(
        "/api/v1/domain_blocks",
        &alice.token,
        json!({"domain": "spam.example"}),
    )
    .await;
    a.ok_post(
        &format!("/api/v1/statuses/{}/bookmark", id(&post)),
        &alice.token,
        json!({}),
    )
    .await;
    let list = a
        .ok_post("/api/v1/lists", &alice.token, json!({"title": "Close"}))
        .await;
    a.ok_post(
        &format!("/api/v1/lists/{}/accounts", id(&list)),
        &alice.token,
        json!({"account_ids": [carol.id]}),
    )
    .await;
    let circle = a
        .ok_post("/api/v1/circles", &alice.token, json!({"title": "Inner"}))
        .await;
    a.ok_post(
        &format!("/api/v1/circles/{}/accounts", id(&circle)),
        &alice.token,
        json!({"account_ids": [carol.id]}),
    )
    .await;

    // Her posts: every audience the import brings in, a thread, a picture with alt text; a
    // direct message, which stays where it was.
    let pic = upload_png(&a, &alice, "a green field").await;
    let first = a
        .post_status(
            &alice,
            json!({"status": "hello #garden", "visibility": "public", "language": "nl",
                   "spoiler_text": "plants", "media_ids": [pic]}),
        )
        .await;
    a.post_status(
        &alice,
        json!({"status": "and a reply to myself", "visibility": "public", "in_reply_to_id": id(&first)}),
    )
    .await;
    a.say(&alice, "said quietly", "unlisted").await;
    a.say(&alice, "for followers", "private").await;
    a.say(&alice, "for friends", "friends").await;
    a.post_status(
        &alice,
        json!({"status": "for the inner circle", "visibility": "circle", "circle_ids": [id(&circle)]}),
    )
    .await;
    a.say(&alice, &format!("@{} just us", carol.handle), "direct")
        .await;
    let mut want_posts = all_post_facts(&a, &alice).await;
    want_posts.retain(|f| f["visibility"] != "direct");
    assert_eq!(want_posts.len(), 6);

    // The console writes her archive.
    let out = a.data_dir().join("alice.zip");
    let done = a
        .console()
        .args(["export", "--user", "alice", "--out"])
        .arg(&out)
        .output()
        .await
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let zip = std::fs::read(&out).unwrap();

    // Imported on B through the API (applied in the background) …
    let ally = b.register("ally").await;
    let (st, body) = import(&b, &ally, "archive", "merge", &zip).await;
    assert_eq!(st, 202, "{body}");
    let following = format!("/api/v1/accounts/{}/following", ally.id);
    let mut want = vec![carol.handle.clone(), dan.handle.clone()];
    want.sort();
    eventually("everything imported on B", async || {
        let lists = b.ok("/api/v1/lists", &ally.token).await;
        let circles = b.ok("/api/v1/circles", &ally.token).await;
        (accts(&b, &ally, &following).await == want
            && accts(&b, &ally, "/api/v1/blocks").await == vec![eve.handle.clone()]
            && accts(&b, &ally, "/api/v1/mutes").await == vec![dan.handle.clone()]
            && b.ok("/api/v1/domain_blocks", &ally.token).await == json!(["spam.example"])
            && b.ok("/api/v1/bookmarks", &ally.token)
                .await
                .as_array()?
                .len()
                == 1
            && lists.as_array()?.len() == 1
            && circles.as_array()?.len() == 1
            && b.ok(
                &format!("/api/v1/accounts/{}/statuses?limit=40", ally.id),
                &ally.token,
            )
            .await
            .as_array()?
            .len()
                == 6)
            .then_some(())
    })
    .await;
    // Every post is there as it was: text, audience, date, warning, language, alt text, the
    // thread; the picture is served here.
    assert_eq!(all_post_facts(&b, &ally).await, want_posts);
    let mine = b
        .ok(
            &format!("/api/v1/accounts/{}/statuses?limit=40", ally.id),
            &ally.token,
        )
        .await;
    let with_picture = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|s| !s["media_attachments"].as_array().unwrap().is_empty())
        .unwrap();
    let picture = with_picture["media_attachments"][0]["url"]
        .as_str()
        .unwrap();
    assert!(picture.starts_with(&b.url("/")), "{picture}");
    assert_eq!(b.http.get(picture).send().await.unwrap().status(), 200);
    let reply = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|s| !s["in_reply_to_id"].is_null())
        .unwrap();
    assert_eq!(reply["in_reply_to_id"], with_picture["id"]);
    let lists = b.ok("/api/v1/lists", &ally.token).await;
    assert_eq!(lists[0]["title"], "Close");
    let members = accts(
        &b,
        &ally,
        &format!("/api/v1/lists/{}/accounts", id(&lists[0])),
    )
    .await;
    assert_eq!(members, vec![carol.handle.clone()]);
    let circles = b.ok("/api/v1/circles", &ally.token).await;
    assert_eq!(circles[0]["title"], "Inner");
    let members = accts(
        &b,
        &ally,
        &format!("/api/v1/circles/{}/accounts", id(&circles[0])),
    )
    .await;
    assert_eq!(members, vec![carol.handle.clone()]);
    let marks = b.ok("/api/v1/bookmarks", &ally.token).await;
    assert_eq!(marks[0]["uri"], post["uri"]);
    // … and again from B's console once that is done: nothing twice.
    let again = b
        .console()
        .args(["import", "--user", "ally", "--type", "archive"])
        .arg(&out)
        .output()
        .await
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        b.ok("/api/v1/lists", &ally.token)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        b.ok("/api/v1/circles", &ally.token)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let me = b
        .ok("/api/v1/accounts/verify_credentials", &ally.token)
        .await;
    assert_eq!(me["following_count"], 2, "{me}");
    assert_eq!(all_post_facts(&b, &ally).await, want_posts);
    // Not an archive: refused at once.
    let (st, _) = import(&b, &ally, "archive", "merge", b"not a zip").await;
    assert_eq!(st, 422);
}

/// A Mastodon archive (its `outbox.json` and media files, as Mastodon 4 writes them) imported
/// on B: public, unlisted and followers-only posts and a thread come in dated as they were
/// written, with their picture and its alt text; a direct message and a boost do not. They
/// reach nobody: a follower on A does not get them. Importing again adds nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mastodon_archives_posts_are_imported_backdated_and_sent_to_nobody() {
    use std::io::Write;
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let ally = b.register("ally").await;
    let carol = a.register("carol").await;
    // carol on A follows ally on B before the import.
    let found = a
        .ok(
            &format!("/api/v2/search?q={}&resolve=true", ally.handle),
            &carol.token,
        )
        .await;
    let ally_on_a = id(&found["accounts"][0]);
    a.ok_post(
        &format!("/api/v1/accounts/{ally_on_a}/follow"),
        &carol.token,
        json!({}),
    )
    .await;
    eventually("carol follows ally", async || {
        let me = b
            .ok("/api/v1/accounts/verify_credentials", &ally.token)
            .await;
        (me["followers_count"] == 1).then_some(())
    })
    .await;

    let old = "https://old.example/users/ally";
    let public = "https://www.w3.org/ns/activitystreams#Public";
    let followers = format!("{old}/followers");
    let note = |n: u32, published: &str, to: Value, cc: Value, extra: Value| {
        let mut o = json!({
            "id": format!("{old}/statuses/{n}"),
            "type": "Note",
            "attributedTo": old,
            "published": published,
            "to": to,
            "cc": cc,
            "content": format!("<p>old post {n}</p>"),
            "contentMap": {"en": format!("<p>old post {n}</p>")},
            "sensitive": false,
            "attachment": [],
            "tag": [],
        });
        for (k, v) in extra.as_object().unwrap() {
            o[k] = v.clone();
        }
        json!({
            "id": format!("{old}/statuses/{n}/activity"),
            "type": "Create",
            "actor": old,
            "published": published,
            "to": o["to"].clone(),
            "cc": o["cc"].clone(),
            "object": o,
        })
    };
    let img = image::RgbImage::from_pixel(30, 20, image::Rgb([200, 10, 10]));
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let media_path = "media_attachments/files/109/000/000/original/abc.png";
    let outbox = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "outbox.json",
        "type": "OrderedCollection",
        "orderedItems": [
            note(1, "2019-05-01T10:00:00Z", json!([public]), json!([followers]), json!({
                "summary": "a red square",
                "attachment": [{
                    "type": "Document", "mediaType": "image/png",
                    "url": format!("/{media_path}"), "name": "a red square on white",
                    "focalPoint": [0.0, 0.5], "width": 30, "height": 20,
                }],
                "tag": [{"type": "Hashtag", "name": "#Red", "href": "https://old.example/tags/red"}],
            })),
            note(2, "2019-05-01T10:05:00Z", json!([public]), json!([followers]),
                 json!({"inReplyTo": format!("{old}/statuses/1")})),
            note(3, "2020-01-02T03:04:05Z", json!([followers]), json!([public]), json!({})),
            note(4, "2021-06-07T08:09:10Z", json!([followers]), json!([]), json!({})),
            note(5, "2021-06-08T08:09:10Z", json!(["https://else.example/users/x"]), json!([]), json!({})),
            {
                "id": format!("{old}/statuses/6/activity"), "type": "Announce", "actor": old,
                "published": "2022-01-01T00:00:00Z", "to": [public],
                "object": "https://else.example/users/x/statuses/1",
            },
        ],
    });
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    zip.start_file("outbox.json", opts).unwrap();
    zip.write_all(outbox.to_string().as_bytes()).unwrap();
    zip.start_file("actor.json", opts).unwrap();
    zip.write_all(json!({"id": old, "type": "Person"}).to_string().as_bytes())
        .unwrap();
    zip.start_file(media_path, opts).unwrap();
    zip.write_all(png.get_ref()).unwrap();
    let archive = zip.finish().unwrap().into_inner();

    let (st, body) = import(&b, &ally, "archive", "merge", &archive).await;
    assert_eq!(st, 202, "{body}");
    let path = format!("/api/v1/accounts/{}/statuses?limit=40", ally.id);
    eventually("the posts imported", async || {
        (b.ok(&path, &ally.token).await.as_array()?.len() == 4).then_some(())
    })
    .await;
    let posts = b.ok(&path, &ally.token).await;
    let posts = posts.as_array().unwrap();
    // Newest first, each dated as written.
    let dates: Vec<&str> = posts
        .iter()
        .map(|s| &s["created_at"].as_str().unwrap()[..19])
        .collect();
    assert_eq!(
        dates,
        vec![
            "2021-06-07T08:09:10",
            "2020-01-02T03:04:05",
            "2019-05-01T10:05:00",
            "2019-05-01T10:00:00"
        ]
    );
    let vis: Vec<&str> = posts
        .iter()
        .map(|s| s["visibility"].as_str().unwrap())
        .collect();
    assert_eq!(vis, vec!["private", "unlisted", "public", "public"]);
    let first = &posts[3];
    assert!(first["content"].as_str().unwrap().contains("old post 1"));
    assert_eq!(first["spoiler_text"], "a red square");
    assert_eq!(first["sensitive"], true);
    assert_eq!(first["language"], "en");
    assert_eq!(first["tags"][0]["name"], "red");
    let m = &first["media_attachments"][0];
    assert_eq!(m["description"], "a red square on white");
    assert_eq!(m["meta"]["original"]["width"], 30);
    assert_eq!(
        b.http
            .get(m["url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(posts[2]["in_reply_to_id"], first["id"]);
    let source = b
        .ok(
            &format!("/api/v1/statuses/{}/source", id(&posts[1])),
            &ally.token,
        )
        .await;
    assert_eq!(source["text"], "old post 3");
    // Nobody was told: carol on A has none of them, ally has no notification.
    a.say(&carol, "a later post of carol's", "public").await;
    let home = a.home(&carol).await;
    assert!(
        home.iter()
            .all(|s| !s["content"].as_str().unwrap_or("").contains("old post")),
        "{home:?}"
    );
    // Again, from the console: nothing twice (the direct message and the boost are left out
    // again).
    let file = b.data_dir().join("mastodon.zip");
    std::fs::write(&file, &archive).unwrap();
    let again = b
        .console()
        .args(["import", "--user", "ally", "--type", "archive"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(said.contains("0 applied, 2 skipped, 0 removed"), "{said}");
    assert_eq!(b.ok(&path, &ally.token).await.as_array().unwrap().len(), 4);
}
