//! The pool's connections to PostgreSQL, and the hot reads' own (`pg_reads`): one that the
//! server dropped while it sat idle (a server restart, an administrator, an idle timeout) is
//! found out and replaced before it is used, although connections are no longer pinged before
//! every use; a read dropped mid-way leaves no connection in the middle of a statement; a
//! read made while a write transaction is open never waits for that transaction's end.
mod common;

use std::time::Duration;

use common::{Post, local, store};
use kring_core::{Id, Visibility};
use kring_store::{Backend, Store};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// Two statuses read at once (two of the hot reads' connections), each found.
async fn two_reads_at_once(store: &Store, a: Id, b: Id) {
    let (x, y) = tokio::join!(store.status(a), store.status(b));
    assert_eq!(
        (x.unwrap().map(|s| s.id), y.unwrap().map(|s| s.id)),
        (Some(a), Some(b))
    );
}

#[tokio::test]
async fn a_connection_the_server_dropped_while_idle_is_replaced() {
    let (store, g) = store().await;
    if g.backend != Backend::Postgres {
        return; // SQLite's connections are files: nothing can drop them.
    }
    let author = local(&store, "author").await;
    let post = Post::new(&author, Visibility::Public).insert(&store).await;
    // Two reads at once: two pooled connections; and two of the hot reads' own.
    let (a, b) = tokio::join!(
        store.follow_request_count(Id(1)),
        store.follow_request_count(Id(2))
    );
    assert_eq!((a.unwrap(), b.unwrap()), (0, 0));
    two_reads_at_once(&store, post.id, post.id).await;

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
        two_reads_at_once(&store, post.id, post.id).await;
    }
}

#[tokio::test]
async fn a_read_dropped_midway_leaves_no_connection_midway() {
    let (store, _g) = store().await;
    let author = local(&store, "author").await;
    let post = Post::new(&author, Visibility::Public).insert(&store).await;
    let other = Post::new(&author, Visibility::Public).insert(&store).await;
    // Reads given ever longer to finish, so that some are dropped while their connection
    // waits for a reply (a request whose client went away) and some finish.
    for i in 0..300u64 {
        let _ = tokio::time::timeout(Duration::from_micros(i * 5), store.status(post.id)).await;
    }
    // Every read after them answers its own question.
    for _ in 0..8 {
        two_reads_at_once(&store, post.id, other.id).await;
    }
}

#[tokio::test]
async fn a_read_while_a_transaction_is_open_does_not_wait_for_it() {
    let (_store, g) = store().await;
    // One connection of each kind: a transaction's reads through the pool found it taken by
    // the transaction itself on PostgreSQL, and waited the pool's 30 s before failing (as
    // many requests at once as the pool had connections did that under load).
    let store = Store::connect(&g.url, 1).await.unwrap();
    let author = local(&store, "author").await;
    let tx = store.begin().await.unwrap();
    let reads = async {
        (
            store.follow_request_count(author.id).await,
            store.account(author.id).await,
        )
    };
    let (count, account) = tokio::time::timeout(Duration::from_secs(5), reads)
        .await
        .expect("reads while a transaction is open finish without it");
    assert_eq!(count.unwrap(), 0);
    assert_eq!(account.unwrap().map(|a| a.id), Some(author.id));
    drop(tx);
}
