//! Migrations: they apply on an empty database, running them again is a no-op, and the two
//! backends' folders hold the same versions.
mod common;

use std::path::Path;

use kring_store::Backend;
use sqlx::{AnyConnection, Connection};

/// (version, description) of each `NNNN_description.sql` in a migrations folder, sorted.
fn versions(backend: &str) -> Vec<(i64, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let stem = name
            .strip_suffix(".sql")
            .unwrap_or_else(|| panic!("{backend}/{name}: not a .sql file"));
        let (version, description) = stem
            .split_once('_')
            .unwrap_or_else(|| panic!("{backend}/{name}: expected VERSION_description.sql"));
        let version: i64 = version
            .parse()
            .unwrap_or_else(|_| panic!("{backend}/{name}: version is not a number"));
        out.push((version, description.to_string()));
    }
    out.sort();
    out
}

#[test]
fn sqlite_and_postgres_folders_hold_the_same_versions() {
    let sqlite = versions("sqlite");
    let postgres = versions("postgres");
    assert!(!sqlite.is_empty(), "no migrations found");
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres must list the same versions"
    );
    let mut v: Vec<i64> = sqlite.iter().map(|(v, _)| *v).collect();
    v.dedup();
    assert_eq!(v.len(), sqlite.len(), "duplicate migration version");
}

async fn applied_versions(url: &str) -> Vec<i64> {
    let mut conn = AnyConnection::connect(url).await.unwrap();
    let rows: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let _ = conn.close().await;
    rows
}

#[tokio::test]
async fn migrations_apply_on_a_fresh_database_and_are_idempotent() {
    let (store, guard) = common::empty_store().await;
    let folder = match guard.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let expected: Vec<i64> = versions(folder).into_iter().map(|(v, _)| v).collect();

    // Nothing there yet: a read of a table fails.
    assert!(store.local_user_count().await.is_err());

    store.migrate().await.expect("first migrate");
    assert_eq!(applied_versions(&guard.url).await, expected);
    assert_eq!(store.local_user_count().await.unwrap(), 0);
    assert_eq!(store.pending_jobs().await.unwrap(), 0);

    // Data written between runs survives a second run, which applies nothing new.
    common::local(&store, "alice").await;
    store.migrate().await.expect("second migrate");
    store.migrate().await.expect("third migrate");
    assert_eq!(applied_versions(&guard.url).await, expected);
    assert_eq!(store.local_user_count().await.unwrap(), 1);
    store.ping().await.unwrap();

    // A second store (another process starting) migrating the same database is fine too.
    let other = kring_store::Store::connect(&guard.url, 2).await.unwrap();
    other.migrate().await.expect("migrate from a second store");
    assert_eq!(other.local_user_count().await.unwrap(), 1);
    other.close().await;
    store.close().await;
}

#[test]
fn backend_is_chosen_by_url() {
    assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
    assert_eq!(
        Backend::from_url("postgres://a@b/c").unwrap(),
        Backend::Postgres
    );
    assert_eq!(
        Backend::from_url("postgresql://a@b/c").unwrap(),
        Backend::Postgres
    );
    assert!(matches!(
        Backend::from_url("mysql://a@b/c"),
        Err(kring_core::Error::BadRequest(_))
    ));
}
