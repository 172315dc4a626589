//! OAuth storage on both backends: client secrets of apps made before migration 0008 end up
//! hashed, and codes and refresh tokens are taken by exactly one of several concurrent users.
mod common;

use std::path::Path;

use kring_core::Id;
use kring_core::model::App;
use kring_core::time::now_micros;
use kring_store::{AuthCode, Backend, NewToken, Store};
use sqlx::{AnyConnection, Connection};

async fn app(store: &Store) -> App {
    let app = App {
        id: common::id(),
        name: "tests".into(),
        website: None,
        redirect_uris: vec!["urn:ietf:wg:oauth:2.0:oob".into()],
        scopes: "read".into(),
        client_id: format!("client-{}", rand::random::<u64>()),
        client_secret_hash: Some(kring_core::secret::hash("secret")),
        created_at: now_micros(),
    };
    store.insert_app(&app).await.unwrap();
    app
}

fn token(app: &App, refresh: &str) -> NewToken {
    NewToken {
        id: common::id(),
        token_hash: kring_core::secret::hash(&format!("access-{}", rand::random::<u64>())),
        refresh_hash: Some(kring_core::secret::hash(refresh)),
        app_id: Some(app.id),
        account_id: None,
        scopes: "read".into(),
        expires_at: None,
    }
}

#[tokio::test]
async fn plaintext_client_secrets_from_before_0008_are_hashed_on_migrate() {
    let (store, guard) = common::empty_store().await;
    let folder = match guard.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    // The schema as it was before 0008, with an app holding its secret in plain text.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(folder);
    let before = sqlx::migrate::Migrator::new(dir).await.unwrap();
    let mut conn = AnyConnection::connect(&guard.url).await.unwrap();
    before.run_to(7, &mut conn).await.unwrap();
    sqlx::query(
        "INSERT INTO apps (id, name, website, redirect_uris, scopes, client_id, client_secret, created_at) \
         VALUES (1, 'old app', NULL, 'urn:ietf:wg:oauth:2.0:oob', 'read', 'old-client', 'old-secret', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();

    store.migrate().await.expect("migrate");
    let app = store
        .app_by_client_id("old-client")
        .await
        .unwrap()
        .expect("app kept");
    assert_eq!(
        app.client_secret_hash.as_deref(),
        Some(kring_core::secret::hash("old-secret").as_str())
    );
    let (plain,): (String,) = sqlx::query_as("SELECT client_secret FROM apps WHERE id = 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(plain, "", "the plaintext is gone");
    // Migrating again changes nothing.
    store.migrate().await.expect("migrate again");
    let again = store.app_by_client_id("old-client").await.unwrap().unwrap();
    assert_eq!(again.client_secret_hash, app.client_secret_hash);
    let _ = conn.close().await;
    store.close().await;
}

#[tokio::test]
async fn a_refresh_token_rotates_once_under_concurrency() {
    let (store, _guard) = common::store().await;
    let app = app(&store).await;
    let other = self::app(&store).await;
    store.insert_token(&token(&app, "refresh-1")).await.unwrap();
    let hash = kring_core::secret::hash("refresh-1");

    // Another app's refresh: nothing happens.
    let none = store
        .rotate_refresh_token(&hash, other.id, |_| token(&other, "x"))
        .await
        .unwrap();
    assert!(none.is_none());

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (store, hash, app) = (store.clone(), hash.clone(), app.clone());
        tasks.spawn(async move {
            store
                .rotate_refresh_token(&hash, app.id, |old| NewToken {
                    scopes: old.scopes.clone(),
                    ..token(&app, &format!("refresh-next-{i}"))
                })
                .await
                .unwrap()
        });
    }
    let mut won = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Some((old, new)) = r.unwrap() {
            won.push((old, new));
        }
    }
    assert_eq!(won.len(), 1, "exactly one rotation");
    let (old, new) = &won[0];
    assert_eq!(old.scopes, "read");
    assert_eq!(new.scopes, "read");
    // The old token is revoked, the new one live.
    assert!(
        store
            .token_by_hash(&new.token_hash)
            .await
            .unwrap()
            .is_some()
    );
    let again = store
        .rotate_refresh_token(&hash, app.id, |_| token(&app, "y"))
        .await
        .unwrap();
    assert!(again.is_none(), "used once");
}

#[tokio::test]
async fn a_code_is_taken_once_under_concurrency() {
    let (store, _guard) = common::store().await;
    let app = app(&store).await;
    let alice = common::local(&store, "alice").await;
    store
        .insert_auth_code(
            "code-hash",
            &AuthCode {
                app_id: app.id,
                account_id: alice.id,
                redirect_uri: "urn:ietf:wg:oauth:2.0:oob".into(),
                scopes: "read".into(),
                code_challenge: None,
                challenge_method: None,
                expires_at: now_micros() + 60_000_000,
            },
        )
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.spawn(async move { store.take_auth_code("code-hash").await.unwrap() });
    }
    let mut taken: Vec<Id> = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Some(code) = r.unwrap() {
            taken.push(code.account_id);
        }
    }
    assert_eq!(taken, vec![alice.id]);
}

/// A token reads back by its hash as it was issued (on SQLite from the readers), with its last
/// use once noted, and not at all once revoked.
#[tokio::test]
async fn a_token_reads_back_by_its_hash_until_revoked() {
    let (store, _guard) = common::store().await;
    let app = app(&store).await;
    let alice = common::local(&store, "alice").await;
    let expires = now_micros() + 3_600_000_000;
    let new = NewToken {
        account_id: Some(alice.id),
        scopes: "read write:statuses".into(),
        expires_at: Some(expires),
        ..token(&app, "refresh-read-back")
    };
    store.insert_token(&new).await.unwrap();
    let got = store.token_by_hash(&new.token_hash).await.unwrap().unwrap();
    assert_eq!(
        (got.id, got.app_id, got.account_id, got.scopes.as_str()),
        (new.id, Some(app.id), Some(alice.id), "read write:statuses")
    );
    assert_eq!((got.expires_at, got.last_used_at), (Some(expires), None));
    assert!(got.created_at > 0 && got.created_at <= now_micros());

    // Uses are written together; a token not among them keeps what it had.
    let other = NewToken {
        account_id: Some(alice.id),
        ..token(&app, "not-used")
    };
    store.insert_token(&other).await.unwrap();
    let used = now_micros();
    store
        .note_token_uses(&[new.id, Id(-1)], used)
        .await
        .unwrap();
    let got = store.token_by_hash(&new.token_hash).await.unwrap().unwrap();
    assert_eq!(got.last_used_at, Some(used));
    let not_used = store
        .token_by_hash(&other.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(not_used.last_used_at, None);
    // Many at once (more than one statement's worth).
    let many: Vec<Id> = std::iter::once(other.id)
        .chain((1..=2_500).map(|i| Id(-i)))
        .collect();
    store.note_token_uses(&many, used + 1).await.unwrap();
    let not_used = store
        .token_by_hash(&other.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(not_used.last_used_at, Some(used + 1));

    assert!(store.token_by_hash("no such hash").await.unwrap().is_none());
    let revoked = store.revoke_token(&new.token_hash, None).await.unwrap();
    assert_eq!(revoked, vec![Some(alice.id)]);
    assert!(
        store
            .token_by_hash(&new.token_hash)
            .await
            .unwrap()
            .is_none()
    );
}
