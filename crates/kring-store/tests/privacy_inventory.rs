// SPDX-License-Identifier: AGPL-3.0-or-later
//! docs/privacy.md lists every table and column Kring's database holds (issue 14 item 5): this
//! compares that list with the schema the migrations build, on SQLite and PostgreSQL, so a
//! column added without saying what it keeps, why and how long fails here.
mod common;

use std::collections::{BTreeMap, BTreeSet};

use kring_store::Backend;
use sqlx::{AnyConnection, Connection, Row};

/// Table → columns, as docs/privacy.md lists them: a `### \`table\`` heading, then a paragraph
/// starting `Columns:` naming each column in backticks.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/privacy.md");
    let text = std::fs::read_to_string(&path).expect("docs/privacy.md");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut table: Option<String> = None;
    let mut in_columns = false;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            table = Some(h.trim().trim_matches('`').to_string());
            in_columns = false;
            continue;
        }
        if line.starts_with("Columns:") {
            in_columns = true;
        } else if line.trim().is_empty() {
            in_columns = false;
        }
        if in_columns && let Some(t) = &table {
            let cols = out.entry(t.clone()).or_default();
            for (i, part) in line.split('`').enumerate() {
                if i % 2 == 1 {
                    assert!(cols.insert(part.to_string()), "{t}.{part} listed twice");
                }
            }
        }
    }
    out
}

async fn schema(url: &str, backend: Backend) -> BTreeMap<String, BTreeSet<String>> {
    let mut conn = AnyConnection::connect(url).await.unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    match backend {
        Backend::Postgres => {
            let rows = sqlx::query(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            for r in rows {
                out.entry(r.get::<String, _>(0))
                    .or_default()
                    .insert(r.get::<String, _>(1));
            }
        }
        Backend::Sqlite => {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_sqlx%' ESCAPE '\\'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            for t in tables {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA table_info({t})")))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                for r in rows {
                    out.entry(t.clone())
                        .or_default()
                        .insert(r.get::<String, _>(1));
                }
            }
        }
    }
    let _ = conn.close().await;
    out
}

#[tokio::test]
async fn the_privacy_inventory_lists_every_column_the_database_holds() {
    let (store, guard) = common::store().await;
    let live = schema(&guard.url, guard.backend).await;
    let listed = documented();
    assert!(
        live.len() > 40,
        "the schema walk found too few tables: {live:?}"
    );
    let mut problems = Vec::new();
    for (table, cols) in &live {
        let Some(doc) = listed.get(table) else {
            problems.push(format!("table `{table}` is not in docs/privacy.md"));
            continue;
        };
        for c in cols.difference(doc) {
            problems.push(format!(
                "`{table}.{c}` is in the database but not in docs/privacy.md"
            ));
        }
        for c in doc.difference(cols) {
            problems.push(format!(
                "`{table}.{c}` is in docs/privacy.md but not in the database"
            ));
        }
    }
    for table in listed.keys() {
        if !live.contains_key(table) {
            problems.push(format!(
                "docs/privacy.md lists `{table}`, which the database lacks"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/privacy.md is out of date:\n{}",
        problems.join("\n")
    );
    // Nothing about network addresses, by name at least.
    for (table, cols) in &live {
        for c in cols {
            assert!(
                ![
                    "ip",
                    "ip_address",
                    "remote_addr",
                    "user_agent",
                    "last_sign_in_ip"
                ]
                .contains(&c.as_str()),
                "`{table}.{c}` looks like a network address or device fingerprint"
            );
        }
    }
    store.close().await;
}

/// What docs/privacy.md keeps only for a while goes once the while is over, and nothing newer.
#[tokio::test]
async fn expired_records_are_forgotten_and_fresh_ones_kept() {
    let (store, guard) = common::store().await;
    let alice = common::local(&store, "alice").await;
    let now = kring_core::time::now_micros();
    let hour = 3600 * 1_000_000i64;
    let mut conn = AnyConnection::connect(&guard.url).await.unwrap();
    let exec = async |conn: &mut AnyConnection, sql: &str| {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(conn)
            .await
            .unwrap();
    };
    let a = alice.id.0;
    exec(
        &mut conn,
        &format!(
            "INSERT INTO apps (id, name, redirect_uris, scopes, client_id, client_secret, created_at) \
             VALUES (1, 'app', 'urn:ietf:wg:oauth:2.0:oob', 'read', 'cid', '', {now})"
        ),
    )
    .await;
    for (key, at) in [("old", now - 25 * hour), ("new", now - hour)] {
        exec(
            &mut conn,
            &format!(
                "INSERT INTO idempotency_keys (account_id, key, status_id, created_at) VALUES ({a}, '{key}', 1, {at})"
            ),
        )
        .await;
    }
    for (id, at) in [("old", now - 8 * 24 * hour), ("new", now - 24 * hour)] {
        exec(
            &mut conn,
            &format!(
                "INSERT INTO inbox_seen (origin, activity_id, received_at) VALUES ('example.org', '{id}', {at})"
            ),
        )
        .await;
    }
    for (code, at) in [("old", now - hour), ("new", now + hour)] {
        exec(
            &mut conn,
            &format!(
                "INSERT INTO auth_codes (code_hash, app_id, account_id, redirect_uri, scopes, expires_at) \
                 VALUES ('{code}', 1, {a}, 'urn:ietf:wg:oauth:2.0:oob', 'read', {at})"
            ),
        )
        .await;
    }
    for (id, revoked) in [
        (1, format!("{}", now - 25 * hour)),
        (2, format!("{}", now - hour)),
        (3, "NULL".to_string()),
    ] {
        exec(
            &mut conn,
            &format!(
                "INSERT INTO access_tokens (id, token_hash, app_id, account_id, scopes, created_at, revoked_at) \
                 VALUES ({id}, 'h{id}', 1, {a}, 'read', {now}, {revoked})"
            ),
        )
        .await;
    }
    let gone = store.forget_expired(now).await.unwrap();
    assert_eq!(
        gone,
        kring_store::Forgotten {
            idempotency_keys: 1,
            seen_activities: 1,
            auth_codes: 1,
            revoked_tokens: 1,
        }
    );
    for (table, left) in [
        ("idempotency_keys", 1),
        ("inbox_seen", 1),
        ("auth_codes", 1),
        ("access_tokens", 2),
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(n, left, "{table}");
    }
    // A token's last use is remembered (the person's list of sessions shows it).
    store
        .note_token_uses(&[kring_core::Id(3)], now)
        .await
        .unwrap();
    let tokens = store.tokens_of(alice.id).await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].last_used_at, Some(now));
    let _ = conn.close().await;
    store.close().await;
}
