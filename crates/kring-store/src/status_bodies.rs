//! SQLite: what a read of statuses decodes again and again — each post's text, its URIs, its
//! place in a thread — kept in memory, so a page's statement selects only what can change.
//!
//! A status's columns fall in two: those that change on their own (counters, visibility,
//! interaction policy, pending approval: the *head*) and the rest, which change only when the
//! post is edited, and then `edited_at` changes with them (the *body*). Every statement that
//! selects `STATUS_COLUMNS` is read with the head's columns instead, plus `edited_at`; a body
//! kept for that id with the same `edited_at` is the row's body, anything else is read whole
//! by id and kept. So nothing needs invalidating — the database says on every read which
//! version is current, in every process — and what a page shows is what the database holds
//! (a deleted post is not in the head's rows; a counter is read every time).
//!
//! Why: a page's 40 rows of 24 columns cost SQLite and the decoding into strings more than
//! the rest of its statement (the audience rule included): on the bench's database the home
//! timeline's statement took 57 µs whole and 34 µs with the head's columns, and decoding
//! its rows another ~25 µs (BENCHMARKS.md, session 25).
//!
//! **A write that changes a body column of an existing status must set `edited_at`** (as
//! `Tx::edit_status` does) — or the column must move to the head. `Status::same_version`
//! (which the API's rendered parts are checked with, on both databases) relies on it too.
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use kring_core::model::Status;
use kring_core::{Id, InteractionPolicy, Visibility};
use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::Backend;
use crate::readers;
use crate::rows::{STATUS_COLUMNS, StatusRow};
use crate::sql::Sql;

/// The head: what a statement selecting `STATUS_COLUMNS` is read with. `edited_at` is the
/// body's version.
const HEAD_COLUMNS: &str = "s.id, s.edited_at, s.visibility, s.interaction_policy, \
    s.pending_approval_by, s.replies_count, s.reblogs_count, s.favourites_count";

/// Bodies kept at most; past this the map starts over (as the API's rendered parts: a few
/// thousand posts are what a small server's timelines show in their active hours; ~1 KB each).
const ENTRIES: usize = 4096;

/// Ids of missing bodies read by one statement at most (an `IN` list of that many).
const MISSING_PER_READ: usize = 512;

struct Body {
    /// Its head's fields are those of when it was read; only the body's are used.
    status: Status,
    /// The policy's text as stored, so an unchanged one is not parsed again.
    policy: Option<String>,
}

#[derive(Default)]
pub(crate) struct StatusBodies {
    kept: Mutex<HashMap<Id, Arc<Body>>>,
}

struct Head {
    id: Id,
    edited_at: Option<i64>,
    visibility: Visibility,
    policy: Option<String>,
    pending_approval_by: Option<Id>,
    replies_count: i64,
    reblogs_count: i64,
    favourites_count: i64,
}

impl Head {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Head> {
        // The visibility as text borrowed from the row: a word, parsed without a copy.
        let visibility = match r.get_ref(2)? {
            ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(Visibility::parse),
            _ => None,
        };
        Ok(Head {
            id: Id(r.get(0)?),
            edited_at: r.get(1)?,
            // As `Status::from(StatusRow)`.
            visibility: visibility.unwrap_or(Visibility::Direct),
            policy: r.get(3)?,
            pending_approval_by: r.get::<_, Option<i64>>(4)?.map(Id),
            replies_count: r.get(5)?,
            reblogs_count: r.get(6)?,
            favourites_count: r.get(7)?,
        })
    }

    /// The status: `body`'s, with this head.
    fn on(self, body: &Body) -> Status {
        let interaction_policy = if self.policy == body.policy {
            body.status.interaction_policy.clone()
        } else {
            self.policy
                .as_deref()
                .and_then(InteractionPolicy::from_json)
        };
        Status {
            visibility: self.visibility,
            interaction_policy,
            pending_approval_by: self.pending_approval_by,
            replies_count: self.replies_count,
            reblogs_count: self.reblogs_count,
            favourites_count: self.favourites_count,
            ..body.status.clone()
        }
    }
}

impl StatusBodies {
    /// The statuses `sql` selects, in its order; `sql` selects `STATUS_COLUMNS` (once).
    pub(crate) fn read(&self, c: &Connection, sql: &Sql) -> rusqlite::Result<Vec<Status>> {
        let Some(text) = head_text(&sql.text) else {
            return whole(c, sql);
        };
        let mut st = readers::prepare_text(c, &text, sql)?;
        let mut rows = st.raw_query();
        let mut heads = Vec::new();
        while let Some(r) = rows.next()? {
            heads.push(Head::from_sqlite(r)?);
        }
        drop(rows);
        drop(st);

        // The kept bodies of the current versions; the rest are read whole.
        let found: Vec<Option<Arc<Body>>> = match self.kept.lock() {
            Ok(kept) => heads
                .iter()
                .map(|h| {
                    kept.get(&h.id)
                        .filter(|b| b.status.edited_at == h.edited_at)
                        .cloned()
                })
                .collect(),
            Err(_) => vec![None; heads.len()],
        };
        let missing: Vec<Id> = heads
            .iter()
            .zip(&found)
            .filter(|(_, b)| b.is_none())
            .map(|(h, _)| h.id)
            .collect();
        let mut read: HashMap<Id, Status> = HashMap::new();
        for ids in missing.chunks(MISSING_PER_READ) {
            let sql = crate::statuses::statuses_by_ids_sql(Backend::Sqlite, ids, None);
            let rows = readers::all(c, &sql, StatusRow::from_sqlite)?;
            self.keep(rows.into_iter().map(|r| {
                let policy = r.interaction_policy_text().map(str::to_string);
                let status = Status::from(r);
                read.insert(status.id, status.clone());
                Body { status, policy }
            }));
        }
        Ok(heads
            .into_iter()
            .zip(found)
            .filter_map(|(h, body)| match body {
                Some(b) => Some(h.on(&b)),
                // Read whole just now, in the head's read transaction (`Readers::read`), so
                // the head's version; a row missing here (it cannot be, in one snapshot) would
                // be left out rather than shown without its body.
                None => read.get(&h.id).cloned(),
            })
            .collect())
    }

    fn keep(&self, bodies: impl Iterator<Item = Body>) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        for b in bodies {
            if kept.len() >= ENTRIES {
                kept.clear();
            }
            kept.insert(b.status.id, Arc::new(b));
        }
    }
}

/// The rows of `sql` whole.
fn whole(c: &Connection, sql: &Sql) -> rusqlite::Result<Vec<Status>> {
    Ok(readers::all(c, sql, StatusRow::from_sqlite)?
        .into_iter()
        .map(Status::from)
        .collect())
}

/// `text` selecting the head's columns where it selects `STATUS_COLUMNS`; None if it does
/// not. Every statement selects them once, near its start (after a `WITH` at most): the text
/// is searched only that far: searching the rest of a 5 KB statement for a second copy was
/// ~2 % of a home timeline's samples (debug builds, which every test runs, check there is none).
fn head_text(text: &str) -> Option<String> {
    // The searcher is built once: `str::find` builds one per call, for a needle of ~350 bytes
    // (~0.4 % of a home timeline's samples, BENCHMARKS.md, session 26).
    static FINDER: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(STATUS_COLUMNS));
    let at = FINDER.find(text.as_bytes())?;
    let after = &text[at + STATUS_COLUMNS.len()..];
    debug_assert!(
        !after.contains(STATUS_COLUMNS),
        "a statement selects STATUS_COLUMNS twice: {text}"
    );
    Some([&text[..at], HEAD_COLUMNS, after].concat())
}
