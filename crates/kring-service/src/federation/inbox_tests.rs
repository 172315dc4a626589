//! Received activities are marked seen in the transaction that applies them. A failure while
//! applying (forced here by a database trigger that refuses the write the activity makes)
//! rolls the mark back, so the job's retry applies the activity; duplicates are applied once.
//! A batch of received posts with one that fails stores the others.
//! Runs on SQLite, or on PostgreSQL when `KRING_TEST_DATABASE_URL` is set.
use kring_core::time::now_micros;
use kring_store::{Backend, NewAccount, NewUser, Store};
use serde_json::json;
use sqlx::{AnyConnection, AssertSqlSafe, Connection};

use super::Received;
use crate::{Id, Kring, ServiceConfig};

/// A fresh database URL (and what keeps it alive).
async fn fresh_database() -> (String, Option<tempfile::TempDir>) {
    match std::env::var("KRING_TEST_DATABASE_URL") {
        Ok(server) if !server.trim().is_empty() => {
            let name = format!("kring_i_{:016x}", rand::random::<u64>());
            let mut conn = sqlx::PgConnection::connect(&server).await.expect("connect");
            sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create database");
            let (base, query) = match server.split_once('?') {
                Some((b, q)) => (b.to_string(), format!("?{q}")),
                None => (server.clone(), String::new()),
            };
            let root = base.rsplit_once('/').map(|(r, _)| r).unwrap_or(&base);
            (format!("{root}/{name}{query}"), None)
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("kring.db").display());
            (url, Some(dir))
        }
    }
}

fn account(username: &str, domain: Option<&str>) -> NewAccount {
    let host = domain.unwrap_or("kring.test");
    let uri = format!("https://{host}/users/{username}");
    NewAccount {
        id: Id::generate(),
        username: username.into(),
        domain: domain.map(str::to_string),
        display_name: String::new(),
        note: String::new(),
        note_html: String::new(),
        fields: Vec::new(),
        bot: false,
        group: false,
        locked: false,
        discoverable: true,
        url: format!("https://{host}/@{username}"),
        inbox_url: format!("{uri}/inbox"),
        shared_inbox_url: None,
        followers_url: format!("{uri}/followers"),
        public_key_pem: String::new(),
        private_key_pem: None,
        uri,
        created_at: now_micros(),
    }
}

/// Make inserts into `table` fail where `condition` (on `NEW`) holds, or stop doing so.
async fn refuse_inserts(url: &str, backend: Backend, table: &str, condition: &str, on: bool) {
    let mut conn = AnyConnection::connect(url).await.expect("connect");
    let sql: Vec<String> = match (backend, on) {
        (Backend::Sqlite, true) => vec![format!(
            "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} WHEN {condition} \
             BEGIN SELECT RAISE(ABORT, 'forced failure'); END"
        )],
        (Backend::Sqlite, false) => vec![format!("DROP TRIGGER refuse_{table}")],
        (Backend::Postgres, true) => vec![
            format!(
                "CREATE FUNCTION refuse_{table}() RETURNS trigger AS $$ BEGIN \
                 IF {condition} THEN RAISE EXCEPTION 'forced failure'; END IF; RETURN NEW; \
                 END $$ LANGUAGE plpgsql"
            ),
            format!(
                "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION refuse_{table}()"
            ),
        ],
        (Backend::Postgres, false) => vec![
            format!("DROP TRIGGER refuse_{table} ON {table}"),
            format!("DROP FUNCTION refuse_{table}()"),
        ],
    };
    for s in sql {
        sqlx::query(AssertSqlSafe(s))
            .execute(&mut conn)
            .await
            .expect("trigger");
    }
    let _ = conn.close().await;
}

/// Make every insert into `reports` fail, or stop doing so.
async fn refuse_reports(url: &str, backend: Backend, on: bool) {
    refuse_inserts(url, backend, "reports", "1 = 1", on).await;
}

#[tokio::test]
async fn a_failed_apply_leaves_the_activity_unseen_and_duplicates_apply_once() {
    let (url, _dir) = fresh_database().await;
    let store = Store::connect(&url, 4).await.expect("connect");
    store.migrate().await.expect("migrate");
    let backend = store.backend();
    let kring = Kring::new(store.clone(), ServiceConfig::for_tests("kring.test")).unwrap();

    let alice = account("alice", None);
    let mallory = account("mallory", Some("a.example"));
    let mut tx = store.begin().await.unwrap();
    tx.insert_account(&alice).await.unwrap();
    tx.insert_user(
        alice.id,
        &NewUser {
            email: "alice@kring.test".into(),
            password_hash: "x".into(),
            role: kring_core::model::Role::User,
            approved: true,
            confirmed: true,
            reason: None,
            locale: "en".into(),
        },
    )
    .await
    .unwrap();
    tx.insert_account(&mallory).await.unwrap();
    tx.commit().await.unwrap();

    let flag = |id: &str| {
        serde_json::to_string(&Received {
            signer: mallory.id,
            activity: json!({
                "id": id,
                "type": "Flag",
                "actor": mallory.uri,
                "object": [alice.uri],
                "content": "spam",
            }),
        })
        .unwrap()
    };
    let reports = async || store.reports(false, 40).await.unwrap().len();
    let first = flag("https://a.example/flags/1");

    // Applying fails midway (after the activity was marked seen, at the report's insert).
    refuse_reports(&url, backend, true).await;
    assert!(kring.receive(&first).await.is_err(), "the forced failure");
    assert_eq!(reports().await, 0);
    assert!(
        !store
            .was_seen("a.example", "https://a.example/flags/1")
            .await
            .unwrap(),
        "a failed apply leaves the activity unseen"
    );

    // The job's retry applies it.
    refuse_reports(&url, backend, false).await;
    kring.receive(&first).await.expect("the retry");
    assert_eq!(reports().await, 1, "the retry applied the activity");
    assert!(
        store
            .was_seen("a.example", "https://a.example/flags/1")
            .await
            .unwrap()
    );

    // The same activity again (a duplicate delivery): applied once.
    kring.receive(&first).await.expect("the duplicate");
    assert_eq!(reports().await, 1, "a duplicate is not applied again");

    // Another activity is another report.
    kring
        .receive(&flag("https://a.example/flags/2"))
        .await
        .unwrap();
    assert_eq!(reports().await, 2);
}

/// A claim's received posts are stored in one transaction. When one of them fails, the others
/// are still stored (each under its own savepoint on the second try) and the failing one stays
/// unseen, its job kept for a retry.
#[tokio::test]
async fn one_failing_post_in_a_batch_leaves_the_others_stored() {
    let (url, _dir) = fresh_database().await;
    let store = Store::connect(&url, 4).await.expect("connect");
    store.migrate().await.expect("migrate");
    let backend = store.backend();
    let kring = Kring::new(store.clone(), ServiceConfig::for_tests("kring.test")).unwrap();
    let bob = account("bob", Some("b.example"));
    let mut tx = store.begin().await.unwrap();
    tx.insert_account(&bob).await.unwrap();
    tx.commit().await.unwrap();

    let create = |n: u32| {
        serde_json::to_string(&Received {
            signer: bob.id,
            activity: json!({
                "id": format!("https://b.example/creates/{n}"),
                "type": "Create",
                "actor": bob.uri,
                "object": {
                    "id": format!("https://b.example/notes/{n}"),
                    "type": "Note",
                    "attributedTo": bob.uri,
                    "to": ["https://www.w3.org/ns/activitystreams#Public"],
                    "content": format!("<p>post {n}</p>"),
                    "published": "2026-12-01T10:00:00Z",
                },
            }),
        })
        .unwrap()
    };
    let payloads: Vec<String> = (1..=3).map(create).collect();
    store
        .enqueue_many(super::RECEIVE, &payloads, now_micros())
        .await
        .unwrap();
    refuse_inserts(
        &url,
        backend,
        "statuses",
        "NEW.uri = 'https://b.example/notes/2'",
        true,
    )
    .await;
    let jobs = store.claim_jobs(10, 60_000_000, 5).await.unwrap();
    assert_eq!(jobs.len(), 3);
    kring.receive_batch(jobs).await;

    for (n, stored) in [(1, true), (2, false), (3, true)] {
        let uri = format!("https://b.example/notes/{n}");
        assert_eq!(
            store.status_by_uri(&uri).await.unwrap().is_some(),
            stored,
            "post {n}"
        );
        let activity = format!("https://b.example/creates/{n}");
        assert_eq!(
            store.was_seen("b.example", &activity).await.unwrap(),
            stored,
            "activity {n}"
        );
    }
    let mut conn = AnyConnection::connect(&url).await.expect("connect");
    let left: Vec<String> = sqlx::query_scalar("SELECT payload FROM jobs WHERE queue = $1")
        .bind(super::RECEIVE)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let _ = conn.close().await;
    assert_eq!(left, vec![payloads[1].clone()], "only the failed one waits");
    assert_eq!(
        store.account(bob.id).await.unwrap().unwrap().statuses_count,
        2
    );

    // Its retry stores it.
    refuse_inserts(&url, backend, "statuses", "", false).await;
    kring.receive(&payloads[1]).await.expect("the retry");
    assert!(
        store
            .status_by_uri("https://b.example/notes/2")
            .await
            .unwrap()
            .is_some()
    );
}
