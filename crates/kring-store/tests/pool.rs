//! The pool's connections to PostgreSQL: one that the server dropped while it sat idle (a
//! server restart, an administrator, an idle timeout) is found out and replaced before it is
//! used, although connections are no longer pinged before every use.
mod common;

use std::time::Duration;

use common::store;
use kring_core::Id;
use kring_store::Backend;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

#[tokio::test]
async fn a_connection_the_server_dropped_while_idle_is_replaced() {
    let (store, g) = store().await;
    if g.backend != Backend::Postgres {
        return; // SQLite's connections are files: nothing can drop them.
    }
    // Two reads at once: two pooled connections.
    let (a, b) = tokio::join!(
        store.follow_request_count(Id(1)),
        store.follow_request_count(Id(2))
    );
    assert_eq!((a.unwrap(), b.unwrap()), (0, 0));

    let mut admin = PgConnection::connect(&g.url).await.unwrap();
    let dropped: Vec<(bool,)> = sqlx::query_as(AssertSqlSafe(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    ))
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!dropped.is_empty() && dropped.iter().all(|d| d.0));
    let _ = admin.close().await;

    tokio::time::sleep(Duration::from_millis(1300)).await;
    for _ in 0..4 {
        let (a, b) = tokio::join!(
            store.follow_request_count(Id(1)),
            store.follow_request_count(Id(2))
        );
        assert_eq!((a.unwrap(), b.unwrap()), (0, 0));
    }
}
