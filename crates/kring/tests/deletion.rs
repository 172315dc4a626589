// SPDX-License-Identifier: AGPL-3.0-or-later
//! Deleting an account for good (issue 14 item 4), on SQLite and PostgreSQL: alice on A, with
//! posts of several audiences, a picture, an avatar, likes, bookmarks, follows both ways (with
//! bob on B and carol on A), a post naming dave on C (who follows nobody), a list, a circle, a
//! group she owns and one she is in, a chat, deletes her account with her password. Then A
//! holds nothing of her but the tombstone of her handle (checked over every column that names
//! an account in the live schema), her files are gone, her handle cannot be taken again, and
//! B and C have removed her posts.
mod common;
mod fed_common;

use fed_common::{Node, eventually, follow, id, local_copy, uri};
use serde_json::json;
use sqlx::Row;

/// Every (table, column) of the schema that holds an account's id: the foreign keys to
/// `accounts`, and the columns that name an account without one.
async fn account_columns(pool: &sqlx::AnyPool, postgres: bool) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if postgres {
        let rows = sqlx::query(
            "SELECT kcu.table_name::text, kcu.column_name::text FROM information_schema.table_constraints tc \
             JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name \
             JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name \
             WHERE tc.constraint_type = 'FOREIGN KEY' AND ccu.table_name = 'accounts'",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        for r in rows {
            out.push((r.get::<String, _>(0), r.get::<String, _>(1)));
        }
    } else {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE '_sqlx%'",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        for t in tables {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA foreign_key_list({t})")))
                .fetch_all(pool)
                .await
                .unwrap();
            for r in rows {
                if r.get::<String, _>(2) == "accounts" {
                    out.push((t.clone(), r.get::<String, _>(3)));
                }
            }
        }
    }
    for (t, c) in [
        ("home_feed", "account_id"),
        ("home_feed", "author_id"),
        ("idempotency_keys", "account_id"),
    ] {
        out.push((t.into(), c.into()));
    }
    assert!(
        out.len() > 30,
        "the schema walk found too few columns: {out:?}"
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_account_leaves_only_its_handle_here_and_its_posts_go_elsewhere() {
    let (a, b, c) = tokio::join!(Node::start(), Node::start(), Node::start());
    let alice = a.register("alice").await;
    // On C, dave follows nobody: he gets alice's post because it names him.
    let dave = c.register("dave").await;
    let carol = a.register("carol").await;
    let bob = b.register("bob").await;
    follow(&b, &bob, &alice).await;
    follow(&a, &alice, &bob).await;
    for (who, whom) in [(&carol, &alice), (&alice, &carol)] {
        a.ok_post(
            &format!("/api/v1/accounts/{}/follow", whom.id),
            &who.token,
            json!({}),
        )
        .await;
    }

    // What alice leaves behind: posts of several audiences, a reply, a like, a boost, a
    // bookmark, a list, a circle, groups, a chat, a picture and an avatar.
    let public = a.say(&alice, "hello from alice", "public").await;
    let private = a.say(&alice, "for my followers", "private").await;
    let to_dave = a
        .say(&alice, &format!("hello @{}", dave.handle), "public")
        .await;
    eventually("C has the post naming dave", async || {
        local_copy(&c, &dave, &uri(&to_dave)).await.map(|_| ())
    })
    .await;
    let carols = a.say(&carol, "carol speaks", "public").await;
    a.ok_post(
        &format!("/api/v1/statuses/{}/favourite", id(&carols)),
        &alice.token,
        json!({}),
    )
    .await;
    a.ok_post(
        &format!("/api/v1/statuses/{}/reblog", id(&carols)),
        &alice.token,
        json!({}),
    )
    .await;
    a.ok_post(
        &format!("/api/v1/statuses/{}/bookmark", id(&carols)),
        &alice.token,
        json!({}),
    )
    .await;
    a.post_status(
        &alice,
        json!({"status": "a reply", "in_reply_to_id": id(&carols)}),
    )
    .await;
    let list = a
        .ok_post("/api/v1/lists", &alice.token, json!({"title": "friends"}))
        .await;
    a.ok_post(
        &format!("/api/v1/lists/{}/accounts", id(&list)),
        &alice.token,
        json!({"account_ids": [carol.id]}),
    )
    .await;
    let circle = a
        .ok_post("/api/v1/circles", &alice.token, json!({"title": "close"}))
        .await;
    a.ok_post(
        &format!("/api/v1/circles/{}/accounts", id(&circle)),
        &alice.token,
        json!({"account_ids": [carol.id]}),
    )
    .await;
    a.post_status(
        &alice,
        json!({"status": "circle news", "visibility": "circle", "circle_ids": [id(&circle)]}),
    )
    .await;
    let mine = a
        .ok_post(
            "/api/v1/groups",
            &alice.token,
            json!({"display_name": "Alice's", "username": "alices"}),
        )
        .await;
    let carols_group = a
        .ok_post(
            "/api/v1/groups",
            &carol.token,
            json!({"display_name": "Carol's", "username": "carols"}),
        )
        .await;
    a.ok_post(
        &format!("/api/v1/groups/{}/join", id(&carols_group)),
        &alice.token,
        json!({}),
    )
    .await;
    a.post_status(
        &alice,
        json!({"status": "in carol's group", "group_id": id(&carols_group)}),
    )
    .await;
    a.ok_post(
        "/api/v1/statuses",
        &alice.token,
        json!({"status": format!("@carol a chat"), "visibility": "direct"}),
    )
    .await;
    // A picture in a post, and an avatar.
    let (st, media) = send_files(&a, &alice, "POST", "/api/v2/media", "file", "Alt text").await;
    assert_eq!(st, 200, "{media}");
    a.post_status(
        &alice,
        json!({"status": "a picture", "media_ids": [id(&media)]}),
    )
    .await;
    let (st, me) = send_files(
        &a,
        &alice,
        "PATCH",
        "/api/v1/accounts/update_credentials",
        "avatar",
        "",
    )
    .await;
    assert_eq!(st, 200, "{me}");
    b.wait_home(&bob, &uri(&public)).await;
    b.wait_home(&bob, &uri(&private)).await;
    let media_dir = a.data_dir().join("media");
    let files_before = common::files_under(&media_dir).len();

    // A wrong password deletes nothing.
    let (st, body) = a
        .request(
            reqwest::Method::POST,
            "/api/v1/accounts/delete",
            Some(&alice.token),
            &[],
            Some(json!({"password": "not it"})),
        )
        .await;
    assert_eq!(st.as_u16(), 422, "{body}");
    let (st, body) = a
        .request(
            reqwest::Method::POST,
            "/api/v1/accounts/delete",
            Some(&alice.token),
            &[],
            Some(json!({"password": fed_common::PASSWORD})),
        )
        .await;
    assert_eq!(st.as_u16(), 202, "{body}");

    // Her token is dead, her profile and posts answer nothing.
    let (st, _) = a
        .get("/api/v1/accounts/verify_credentials", &alice.token)
        .await;
    assert_eq!(st.as_u16(), 401);
    let (st, _) = a
        .get(&format!("/api/v1/statuses/{}", id(&public)), &carol.token)
        .await;
    assert_eq!(st.as_u16(), 404);
    let (st, _) = a
        .get(&format!("/api/v1/groups/{}", id(&mine)), &carol.token)
        .await;
    assert_eq!(st.as_u16(), 404, "the group she owned ended with her");
    let carol_now = a.account(&carol, &carol.id).await;
    assert_eq!(carol_now["followers_count"], 0, "{carol_now}");
    // Her own group is all carol follows now.
    assert_eq!(carol_now["following_count"], 1, "{carol_now}");
    let carols_now = a
        .ok(&format!("/api/v1/statuses/{}", id(&carols)), &carol.token)
        .await;
    assert_eq!(carols_now["favourites_count"], 0, "{carols_now}");
    assert_eq!(carols_now["reblogs_count"], 0, "{carols_now}");
    assert_eq!(carols_now["replies_count"], 0, "{carols_now}");
    // Her handle is not given to anyone else.
    let (st, body) = a
        .request(
            reqwest::Method::POST,
            "/api/v1/accounts",
            Some(&a.app_token().await),
            &[],
            Some(json!({"username": "alice", "email": "new@example.org",
                        "password": "another long password", "agreement": true, "locale": "en"})),
        )
        .await;
    assert_eq!(st.as_u16(), 422, "{body}");

    // Nothing of hers is left in any column that names an account, but the tombstone.
    sqlx::any::install_default_drivers();
    let url = a.db_url();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let postgres = url.starts_with("postgres");
    let alice_id: i64 = alice.id.parse().unwrap();
    let mut left = Vec::new();
    for (t, c) in account_columns(&pool, postgres).await {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {t} WHERE {c} = $1"
        )))
        .bind(alice_id)
        .fetch_one(&pool)
        .await
        .unwrap();
        if n > 0 {
            left.push(format!("{t}.{c}: {n}"));
        }
    }
    assert!(
        left.is_empty(),
        "rows of the deleted account remain: {left:?}"
    );
    let row = sqlx::query(
        "SELECT username, display_name, note, avatar_url, deleted_at, statuses_count FROM accounts WHERE id = $1",
    )
    .bind(alice_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>(0), "alice");
    assert_eq!(row.get::<String, _>(1), "");
    assert_eq!(row.get::<String, _>(2), "");
    assert!(row.get::<Option<String>, _>(3).is_none());
    assert!(row.get::<Option<i64>, _>(4).is_some());
    let statuses: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM statuses WHERE account_id = $1")
        .bind(alice_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(statuses, 0);
    // Her files too (carol has none: everything in the media folder was hers).
    assert!(
        files_before >= 3,
        "a picture, its thumbnail and an avatar: {files_before}"
    );
    assert!(
        common::files_under(&media_dir).is_empty(),
        "{:?}",
        common::files_under(&media_dir)
    );

    // B heard of it and removed her posts.
    eventually("B removed alice's posts", async || {
        (local_copy(&b, &bob, &uri(&public)).await.is_none()
            && local_copy(&b, &bob, &uri(&private)).await.is_none())
        .then_some(())
    })
    .await;
    assert!(b.in_home(&bob, &uri(&public)).await.is_none());
    // So did C, which had only the post that named dave.
    eventually("C removed alice's post", async || {
        local_copy(&c, &dave, &uri(&to_dave))
            .await
            .is_none()
            .then_some(())
    })
    .await;
}

/// A multipart request with one PNG file part named `part` (and a `description`).
async fn send_files(
    on: &Node,
    user: &fed_common::FedUser,
    method: &str,
    path: &str,
    part: &str,
    description: &str,
) -> (u16, serde_json::Value) {
    let img = image::RgbImage::from_pixel(40, 30, image::Rgb([10, 200, 10]));
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let boundary = "KringDeletionBoundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{part}\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&png.into_inner());
    body.extend_from_slice(
        format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n{description}\r\n--{boundary}--\r\n")
            .as_bytes(),
    );
    let res = on
        .http
        .request(method.parse().unwrap(), on.url(path))
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

/// `kring admin delete-user`: refuses without `--yes`, deletes with it, and the handle stays
/// taken (a new `create-user` of it fails).
#[test]
fn the_console_deletes_an_account_only_when_told_yes() {
    let bin = env!("CARGO_BIN_EXE_kring");
    let dir = tempfile::tempdir().expect("temp dir");
    let (_db, database_url) = common::fresh_database();
    let store_args = common::cli_store_args(dir.path(), database_url.as_deref());
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(["admin"])
            .args(args)
            .args(&store_args)
            .output()
            .expect("run kring admin")
    };
    let create = [
        "create-user",
        "--username",
        "dora",
        "--email",
        "dora@tests.invalid",
        "--password",
        common::PASSWORD,
    ];
    assert!(run(&create).status.success());
    let no = run(&["delete-user", "dora"]);
    assert!(!no.status.success());
    assert!(String::from_utf8_lossy(&no.stderr).contains("--yes"));
    let listed = run(&["list-users"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("dora"));
    let yes = run(&["delete-user", "dora", "--yes"]);
    assert!(
        yes.status.success(),
        "{}",
        String::from_utf8_lossy(&yes.stderr)
    );
    assert!(String::from_utf8_lossy(&yes.stdout).contains("Deleted dora"));
    let again = run(&create);
    assert!(!again.status.success(), "the handle was given out again");
    let gone = run(&["delete-user", "dora", "--yes"]);
    assert!(!gone.status.success(), "deleted twice");
}
