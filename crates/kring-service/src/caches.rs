//! Bounded in-memory caches of what nearly every request reads and seldom changes: bearer
//! tokens (every authenticated request) and each account's filters (every timeline read).
//!
//! An entry is dropped by the event that changes it (`SessionsChanged`, `FiltersChanged`),
//! which the event bus also relays to the other processes sharing a PostgreSQL database, so
//! a revoked token stops working everywhere at once. The time limits only bound what a lost
//! relay message (the relay is best effort) could leave behind.
//!
//! A read that raced with a change must not put the old value back after the change dropped
//! it: each cache has a generation, bumped by every change, and a value read from the store is
//! kept only if no change happened since the read began.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kring_core::Id;
use kring_core::model::{Filter, Token};
use moka::sync::Cache;

use crate::events::{Event, EventKind};

/// Tokens and filter sets kept at most (a few hundred bytes each).
const CAPACITY: u64 = 20_000;
/// How long a token is trusted from memory without asking the store again.
const TOKEN_TTL: Duration = Duration::from_secs(300);
/// How long an account's filters are kept.
const FILTERS_TTL: Duration = Duration::from_secs(600);
/// How often a token's last use is written (the sessions list says "last used" to the hour).
const TOKEN_USE_EVERY: Duration = Duration::from_secs(3600);
/// How long the uses of tokens are gathered before they are written together.
pub(crate) const TOKEN_USES_GATHERED: Duration = Duration::from_secs(1);

pub(crate) struct Caches {
    /// By the token's hash (the store keeps only hashes; neither keeps the secret).
    tokens: Cache<String, Arc<Token>>,
    tokens_generation: AtomicU64,
    filters: Cache<Id, Arc<Vec<Filter>>>,
    filters_generation: AtomicU64,
    /// Tokens whose use was written within the last hour (by this process).
    token_uses: Cache<Id, ()>,
    /// Uses not written yet: the next write takes them all (see `queue_token_use`).
    token_uses_due: Mutex<Vec<Id>>,
}

impl Default for Caches {
    fn default() -> Self {
        Caches {
            tokens: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(TOKEN_TTL)
                .support_invalidation_closures()
                .build(),
            tokens_generation: AtomicU64::new(0),
            filters: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(FILTERS_TTL)
                .build(),
            filters_generation: AtomicU64::new(0),
            token_uses: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(TOKEN_USE_EVERY)
                .build(),
            token_uses_due: Mutex::new(Vec::new()),
        }
    }
}

/// Taken before a store read whose result may be cached (see the module's note on races).
#[derive(Clone, Copy)]
pub(crate) struct Generation(u64);

impl Caches {
    /// Drop what `event` changes. Called for every event published here or relayed from
    /// another process.
    pub(crate) fn apply(&self, event: &Event) {
        match &event.kind {
            EventKind::SessionsChanged(account) => {
                self.tokens_generation.fetch_add(1, Ordering::SeqCst);
                let account = *account;
                // Fails only without `support_invalidation_closures`, set above.
                if self
                    .tokens
                    .invalidate_entries_if(move |_, t| t.account_id == account)
                    .is_err()
                {
                    self.tokens.invalidate_all();
                }
            }
            EventKind::FiltersChanged => {
                self.filters_generation.fetch_add(1, Ordering::SeqCst);
                for stream in &event.streams {
                    if let crate::events::Stream::User(id) = stream {
                        self.filters.invalidate(id);
                    }
                }
            }
            _ => {}
        }
    }

    pub(crate) fn token(&self, hash: &str) -> Option<Arc<Token>> {
        self.tokens.get(hash)
    }

    /// Whether a use of `token` should be written now: the first in the last hour here.
    pub(crate) fn note_token_use(&self, token: Id) -> bool {
        if self.token_uses.contains_key(&token) {
            return false;
        }
        self.token_uses.insert(token, ());
        true
    }

    /// Queue the use of `token` for the next write; true when none was queued, so the caller
    /// schedules that write (`TOKEN_USES_GATHERED` later). Why gathered: a write per token
    /// each on its own transaction was one write per request while a server's people come
    /// back (the 1M bench's 10,000 viewers: ~1,800 writes a second), and every commit also
    /// empties the SQLite readers' page caches (BENCHMARKS.md, session 29).
    pub(crate) fn queue_token_use(&self, token: Id) -> bool {
        let mut due = self
            .token_uses_due
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        due.push(token);
        due.len() == 1
    }

    /// The uses queued since the last write, to write now.
    pub(crate) fn take_token_uses(&self) -> Vec<Id> {
        std::mem::take(
            &mut *self
                .token_uses_due
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    pub(crate) fn tokens_generation(&self) -> Generation {
        Generation(self.tokens_generation.load(Ordering::SeqCst))
    }

    pub(crate) fn keep_token(&self, hash: String, token: Arc<Token>, read_at: Generation) {
        if self.tokens_generation.load(Ordering::SeqCst) == read_at.0 {
            self.tokens.insert(hash, token);
        }
    }

    pub(crate) fn filters(&self, account: Id) -> Option<Arc<Vec<Filter>>> {
        self.filters.get(&account)
    }

    pub(crate) fn filters_generation(&self) -> Generation {
        Generation(self.filters_generation.load(Ordering::SeqCst))
    }

    pub(crate) fn keep_filters(&self, account: Id, filters: Arc<Vec<Filter>>, read_at: Generation) {
        if self.filters_generation.load(Ordering::SeqCst) == read_at.0 {
            self.filters.insert(account, filters);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Stream;

    #[test]
    fn token_uses_are_written_once_an_hour_and_gathered() {
        let c = Caches::default();
        // The first use of a token in the hour is due; the first due use schedules the write.
        assert!(c.note_token_use(Id(1)));
        assert!(c.queue_token_use(Id(1)));
        assert!(!c.note_token_use(Id(1)));
        assert!(c.note_token_use(Id(2)));
        assert!(
            !c.queue_token_use(Id(2)),
            "the scheduled write takes it too"
        );
        assert_eq!(c.take_token_uses(), vec![Id(1), Id(2)]);
        assert!(c.take_token_uses().is_empty());
        // After a write, the next due use schedules the next one.
        assert!(c.note_token_use(Id(3)));
        assert!(c.queue_token_use(Id(3)));
    }

    fn token(account: i64) -> Arc<Token> {
        Arc::new(Token {
            id: Id(account * 10),
            app_id: None,
            account_id: Some(Id(account)),
            scopes: "read".into(),
            created_at: 0,
            expires_at: None,
            last_used_at: None,
        })
    }

    #[test]
    fn a_change_drops_exactly_its_account_and_stale_reads_are_not_kept() {
        let c = Caches::default();
        let g = c.tokens_generation();
        c.keep_token("a".into(), token(1), g);
        c.keep_token("b".into(), token(2), g);
        c.apply(&Event {
            kind: EventKind::SessionsChanged(Some(Id(1))),
            streams: Vec::new(),
        });
        c.tokens.run_pending_tasks();
        assert!(c.token("a").is_none());
        assert!(c.token("b").is_some());
        // A read that began before the change must not be cached after it.
        c.keep_token("a".into(), token(1), g);
        assert!(c.token("a").is_none());

        let g = c.filters_generation();
        c.keep_filters(Id(1), Arc::new(Vec::new()), g);
        c.keep_filters(Id(2), Arc::new(Vec::new()), g);
        c.apply(&Event {
            kind: EventKind::FiltersChanged,
            streams: vec![Stream::User(Id(2))],
        });
        assert!(c.filters(Id(1)).is_some());
        assert!(c.filters(Id(2)).is_none());
    }
}
