//! Accounts and users in memory. Every page of statuses names its authors and every signed-in
//! request its actor, and these rows are the widest the store reads; they change far less
//! often than they are read.
//!
//! Every write to `accounts` or `users` goes through this crate, and each marks the accounts
//! it touched: the transaction forgets them when it commits (`Tx::commit`), single-statement
//! writes at once. Other processes sharing a PostgreSQL database hear of it through the hook
//! the service installs (`Store::on_accounts_changed`), which relays the ids over the event
//! bus; they call `Store::forget_accounts`. The time limit bounds what a lost relay message,
//! or a change made by another process on the same SQLite file (the CLI), could leave behind.
//!
//! A read that raced with a change must not put the old row back after the change dropped
//! it: a generation, bumped by every change, is taken before the read, and the row is kept
//! only if no change happened since.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use kring_core::Id;
use kring_core::model::{Account, User};

/// Bytes of accounts (and of users) kept at most, as `weight` estimates them: an account with
/// its key and profile is 1–3 KB, so a few thousand of the most read.
const CAPACITY_BYTES: u64 = 8 << 20;
/// See the module's note: how long a change made elsewhere may go unseen.
const TTL: Duration = Duration::from_secs(60);

/// Which accounts a write touched.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Changed {
    Accounts(Vec<Id>),
    /// Many at once (a domain's accounts).
    All,
    /// Only these accounts' post counters (a new post: `statuses_count`, `last_status_at`).
    /// Their copies leave the cache as for `Accounts`, but stay at hand for reads that show
    /// no counters (`AccountCache::account_ignoring_counts`): a received post's signer is
    /// otherwise read again on its author's next delivery.
    Counted(Vec<Id>),
}

pub(crate) type Hook = Arc<dyn Fn(&Changed) + Send + Sync>;

pub(crate) struct AccountCache {
    accounts: Kept<Arc<Account>>,
    users: Kept<User>,
    /// Copies that differ from their rows at most in post counters (see `Changed::Counted`).
    counted: Kept<Arc<Account>>,
    /// Held while copies move into `counted` or any leave it: a copy moved there must not
    /// outlive a change to more than its counters.
    moving: std::sync::Mutex<()>,
    generation: AtomicU64,
    hook: OnceLock<Hook>,
}

#[derive(Clone, Copy)]
pub(crate) struct Generation(u64);

/// Roughly the bytes an account takes in memory (its text; the rest is small and fixed).
fn weight(a: &Account) -> u32 {
    let text = a.username.len()
        + a.domain.as_ref().map_or(0, String::len)
        + a.display_name.len()
        + a.note.len()
        + a.note_html.len()
        + a.fields
            .iter()
            .map(|f| f.name.len() + f.value.len() + 48)
            .sum::<usize>()
        + a.avatar_url.as_ref().map_or(0, String::len)
        + a.header_url.as_ref().map_or(0, String::len)
        + a.uri.len()
        + a.url.len()
        + a.inbox_url.len()
        + a.shared_inbox_url.as_ref().map_or(0, String::len)
        + a.followers_url.len()
        + a.public_key_pem.len()
        + a.also_known_as.iter().map(|u| u.len() + 24).sum::<usize>();
    (text + 384).try_into().unwrap_or(u32::MAX)
}

/// What a kept copy weighs against `CAPACITY_BYTES`.
trait Weighed {
    fn weight(&self) -> u64;
}

impl Weighed for Arc<Account> {
    fn weight(&self) -> u64 {
        weight(self).into()
    }
}

impl Weighed for User {
    fn weight(&self) -> u64 {
        (256 + self.email.len() + self.password_hash.len() + self.locale.len()) as u64
    }
}

#[derive(Clone)]
struct ByWeight;

impl<V: Weighed> quick_cache::Weighter<Id, (Instant, V)> for ByWeight {
    fn weight(&self, _: &Id, kept: &(Instant, V)) -> u64 {
        kept.1.weight()
    }
}

/// Copies by account id, each with when it was read: one older than `TTL` is as good as absent.
///
/// quick_cache rather than moka (the project's other caches): a page of 40 posts looks up its
/// ~40 authors here, and moka's bookkeeping of every read (a queue of reads replayed into its
/// access order, a frequency sketch) made these look-ups 3 % of a home timeline's samples on
/// the small database and 13 % on the 1M one, where 10,000 accounts' entries are far apart
/// in memory (BENCHMARKS.md, session 28). quick_cache's read is a hash look-up under a shard's
/// read lock and one flag set; it has no time limit of its own, hence the read time kept here.
struct Kept<V: Weighed + Clone>(quick_cache::sync::Cache<Id, (Instant, V), ByWeight>);

impl<V: Weighed + Clone> Kept<V> {
    fn new() -> Self {
        // Its estimate of how many entries there will be: accounts weigh 1–3 KB.
        Kept(quick_cache::sync::Cache::with_weighter(
            (CAPACITY_BYTES / 1024) as usize,
            CAPACITY_BYTES,
            ByWeight,
        ))
    }

    fn get(&self, id: &Id) -> Option<V> {
        self.0
            .get(id)
            .and_then(|(read, v)| (read.elapsed() < TTL).then_some(v))
    }

    fn insert(&self, id: Id, v: V) {
        self.0.insert(id, (Instant::now(), v));
    }

    fn invalidate(&self, id: &Id) {
        self.0.remove(id);
    }

    fn invalidate_all(&self) {
        self.0.clear();
    }

    /// Taken out, with when it was read.
    fn remove(&self, id: &Id) -> Option<(Instant, V)> {
        self.0.remove(id).map(|(_, kept)| kept)
    }

    /// Put back as read at `read` (a copy moved keeps its age).
    fn put_back(&self, id: Id, kept: (Instant, V)) {
        self.0.insert(id, kept);
    }
}

impl Default for AccountCache {
    fn default() -> Self {
        AccountCache {
            accounts: Kept::new(),
            users: Kept::new(),
            counted: Kept::new(),
            moving: std::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            hook: OnceLock::new(),
        }
    }
}

impl AccountCache {
    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::SeqCst))
    }

    /// Shared, not copied: a page of statuses asks for dozens at once.
    pub fn account(&self, id: Id) -> Option<Arc<Account>> {
        self.accounts.get(&id)
    }

    /// `account`, or a copy whose post counters may be behind (`Changed::Counted`).
    pub fn account_ignoring_counts(&self, id: Id) -> Option<Arc<Account>> {
        self.accounts.get(&id).or_else(|| self.counted.get(&id))
    }

    pub fn user(&self, id: Id) -> Option<User> {
        self.users.get(&id)
    }

    pub fn keep_account(&self, a: &Account, read_at: Generation) {
        self.keep_shared_account(Arc::new(a.clone()), read_at);
    }

    /// `keep_account` for a copy the reader hands on: the cache keeps that same `Arc`, so
    /// what the reader's caller keeps (the API's rendered accounts) is recognised by its
    /// pointer on the next read instead of by comparing every field.
    pub fn keep_shared_account(&self, a: Arc<Account>, read_at: Generation) {
        if self.generation.load(Ordering::SeqCst) == read_at.0 {
            self.accounts.insert(a.id, a);
        }
    }

    pub fn keep_user(&self, u: &User, read_at: Generation) {
        if self.generation.load(Ordering::SeqCst) == read_at.0 {
            self.users.insert(u.account_id, u.clone());
        }
    }

    /// Drop what changed here, and tell other processes (the hook).
    pub fn changed(&self, c: &Changed) {
        self.forget(c);
        if let Some(hook) = self.hook.get() {
            hook(c);
        }
    }

    /// Drop what changed (here or, relayed, in another process).
    pub fn forget(&self, c: &Changed) {
        // A poisoned lock only means another thread panicked while holding it: the caches
        // stay consistent either way.
        let _moving = self
            .moving
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::SeqCst);
        match c {
            Changed::Accounts(ids) => {
                for id in ids {
                    self.accounts.invalidate(id);
                    self.users.invalidate(id);
                    self.counted.invalidate(id);
                }
            }
            Changed::All => {
                self.accounts.invalidate_all();
                self.users.invalidate_all();
                self.counted.invalidate_all();
            }
            Changed::Counted(ids) => {
                for id in ids {
                    if let Some(kept) = self.accounts.remove(id) {
                        self.counted.put_back(*id, kept);
                    }
                }
            }
        }
    }

    pub fn set_hook(&self, hook: Hook) -> bool {
        self.hook.set(hook).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for a kept account: its weight is its number.
    #[derive(Clone, Debug, PartialEq)]
    struct W(u64);

    impl Weighed for W {
        fn weight(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn kept_copies_are_read_until_dropped_or_too_old() {
        let kept: Kept<W> = Kept::new();
        kept.insert(Id(1), W(10));
        kept.insert(Id(2), W(20));
        assert_eq!(kept.get(&Id(1)), Some(W(10)));
        assert_eq!(kept.get(&Id(3)), None);

        kept.invalidate(&Id(1));
        assert_eq!(kept.get(&Id(1)), None);

        // Moved with its age: a copy read longer ago than the limit is as good as absent.
        let (read, v) = kept.remove(&Id(2)).expect("kept");
        assert_eq!((kept.get(&Id(2)), &v), (None, &W(20)));
        kept.put_back(Id(2), (read, v));
        assert_eq!(kept.get(&Id(2)), Some(W(20)));
        if let Some(long_ago) = Instant::now().checked_sub(TTL + Duration::from_secs(1)) {
            kept.put_back(Id(2), (long_ago, W(20)));
            assert_eq!(kept.get(&Id(2)), None);
        }

        kept.insert(Id(4), W(1));
        kept.invalidate_all();
        assert_eq!(kept.get(&Id(4)), None);

        // Bounded by weight: far more than the capacity leaves at most the capacity kept.
        let each = 64 << 10;
        for i in 0..1_000 {
            kept.insert(Id(i), W(each));
        }
        let left = (0..1_000).filter(|i| kept.get(&Id(*i)).is_some()).count() as u64;
        assert!(left > 0 && left * each <= CAPACITY_BYTES, "{left} kept");
    }
}
