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
use std::time::Duration;

use kring_core::Id;
use kring_core::model::{Account, User};
use moka::sync::Cache;

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
    accounts: Cache<Id, Arc<Account>>,
    users: Cache<Id, User>,
    /// Copies that differ from their rows at most in post counters (see `Changed::Counted`).
    counted: Cache<Id, Arc<Account>>,
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

impl Default for AccountCache {
    fn default() -> Self {
        AccountCache {
            accounts: Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                .weigher(|_, a: &Arc<Account>| weight(a))
                .time_to_live(TTL)
                .build(),
            users: Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                .weigher(|_, u: &User| {
                    (256 + u.email.len() + u.password_hash.len() + u.locale.len())
                        .try_into()
                        .unwrap_or(u32::MAX)
                })
                .time_to_live(TTL)
                .build(),
            counted: Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                .weigher(|_, a: &Arc<Account>| weight(a))
                .time_to_live(TTL)
                .build(),
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
                    if let Some(a) = self.accounts.remove(id) {
                        self.counted.insert(*id, a);
                    }
                }
            }
        }
    }

    pub fn set_hook(&self, hook: Hook) -> bool {
        self.hook.set(hook).is_ok()
    }
}
