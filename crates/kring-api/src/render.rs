//! Statuses as Mastodon JSON bytes, from rendered parts kept in memory.
//!
//! Most of a Status is the same for every viewer: the post, its author, mentions, tags, app
//! and interaction policy. That shared part is serialised once and kept, split around the two
//! places that vary (the author's Account, kept separately as accounts change on their own,
//! and the boosted original, itself a status), and only the viewer's marks are written per
//! request. Each kept part holds a copy of what it was rendered from and is used only while
//! that is equal to what the request read (a post by its version and head,
//! `Status::same_version`): a page always shows what the database (or the
//! account cache, which other processes' changes invalidate) holds now, so edits, counters,
//! deletions and account changes show at once, in every process, with nothing to invalidate.
//! The bytes are exactly what serialising `entities::status` gives (checked in debug builds).
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use kring_core::Id;
use kring_core::Visibility;
use kring_core::model::{Account, App, Status};
use kring_service::views::StatusView;

use crate::entities::{self, Ctx};

/// Kept parts at most, each of statuses and of accounts; the cache starts over past this
/// (a few thousand statuses are what the timelines of a small server's active hours show).
const ENTRIES: usize = 4096;

/// What a status's shared part is rendered from (beside the base URL).
#[derive(Clone)]
struct StatusInputs {
    status: Status,
    application: Option<Arc<App>>,
    mentions: Vec<Arc<Account>>,
    tags: Vec<String>,
    policy_accounts: Vec<(Id, String)>,
    quotes_count: i64,
    quote_current_user: &'static str,
}

impl StatusInputs {
    fn matches(&self, v: &StatusView) -> bool {
        self.status.same_version(&v.status)
            && same_app(&self.application, &v.application)
            && same_accounts(&self.mentions, &v.mentions)
            && self.tags == v.tags
            && self.policy_accounts == v.policy_accounts
            && self.quotes_count == v.quotes_count
            && self.quote_current_user == v.quote_current_user
    }
}

/// A status's shared JSON, split where the author and the boosted original go:
/// `head` ends with `"account":`, `middle` ends with `"reblog":`, `tail` lacks the closing
/// brace (the viewer's marks come before it).
struct StatusParts {
    base: String,
    inputs: StatusInputs,
    head: Box<[u8]>,
    middle: Box<[u8]>,
    tail: Box<[u8]>,
}

struct AccountPart {
    base: String,
    account: Arc<Account>,
    json: Box<[u8]>,
}

#[derive(Default)]
struct Cache {
    statuses: Mutex<HashMap<Id, Arc<StatusParts>>>,
    accounts: Mutex<HashMap<Id, Arc<AccountPart>>>,
}

static CACHE: LazyLock<Cache> = LazyLock::new(Cache::default);

fn keep<T>(map: &Mutex<HashMap<Id, Arc<T>>>, id: Id, v: Arc<T>) {
    if let Ok(mut m) = map.lock() {
        if m.len() >= ENTRIES {
            m.clear();
        }
        m.insert(id, v);
    }
}

/// Whether two accounts are the same, and unchanged: the account cache hands out one `Arc`
/// per account until it changes, so comparing pointers settles it mostly without comparing
/// every field (which was a few percent of a timeline read).
fn same_account(a: &Arc<Account>, b: &Arc<Account>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// Whether two apps are the same (the service shares one `Arc` per app).
fn same_app(a: &Option<Arc<App>>, b: &Option<Arc<App>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
        (None, None) => true,
        _ => false,
    }
}

fn same_accounts(a: &[Arc<Account>], b: &[Arc<Account>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_account(a, b))
}

fn account_json(ctx: Ctx<'_>, a: &Arc<Account>) -> Arc<AccountPart> {
    let kept = CACHE
        .accounts
        .lock()
        .ok()
        .and_then(|m| m.get(&a.id).cloned());
    if let Some(k) = kept
        && k.base == ctx.base
    {
        if Arc::ptr_eq(&k.account, a) {
            return k;
        }
        if *k.account == **a {
            // The same account in a new copy (the account cache's copies expire and are read
            // again): kept under the new copy, so the next page's check is a pointer's.
            let part = Arc::new(AccountPart {
                base: k.base.clone(),
                account: a.clone(),
                json: k.json.clone(),
            });
            keep(&CACHE.accounts, a.id, part.clone());
            return part;
        }
    }
    let json = serde_json::to_vec(&entities::account(ctx, a)).unwrap_or_default();
    let part = Arc::new(AccountPart {
        base: ctx.base.to_string(),
        account: a.clone(),
        json: json.into_boxed_slice(),
    });
    keep(&CACHE.accounts, a.id, part.clone());
    part
}

/// Split a status's full JSON (rendered without marks and without a boosted original) into
/// its parts; None if it is not shaped as expected (then it is not kept).
/// A status's JSON in three pieces: head, middle and tail (see `StatusParts`).
type Pieces = (Box<[u8]>, Box<[u8]>, Box<[u8]>);

fn split(full: &[u8], account: &[u8]) -> Option<Pieces> {
    // Keys are found by their quoted names with a comma before them: inside a JSON string a
    // quote is always escaped, so these sequences only occur as keys; the Account object
    // holds neither key, and `account` comes before `content` and `reblog`.
    const ACCOUNT: &[u8] = b",\"account\":";
    const REBLOG: &[u8] = b",\"reblog\":null";
    let find = |hay: &[u8], needle: &[u8], from: usize| -> Option<usize> {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    };
    let head_end = find(full, ACCOUNT, 0)? + ACCOUNT.len();
    let middle_start = head_end + account.len();
    if full.get(head_end..middle_start)? != account {
        return None;
    }
    let reblog = find(full, REBLOG, middle_start)?;
    let middle_end = reblog + REBLOG.len() - b"null".len();
    let tail_start = reblog + REBLOG.len();
    if full.last() != Some(&b'}') || tail_start >= full.len() {
        return None;
    }
    Some((
        full[..head_end].into(),
        full[middle_start..middle_end].into(),
        full[tail_start..full.len() - 1].into(),
    ))
}

fn status_parts(ctx: Ctx<'_>, v: &StatusView, account: &[u8]) -> Option<Arc<StatusParts>> {
    // A quote (its state, and the quoted post as this viewer may see it) and a group (its
    // member count) change on their own: such statuses are rendered whole, every time.
    // Attachments too (their alt text changes without the post).
    if v.quote.is_some() || v.group.is_some() || !v.media.is_empty() {
        return None;
    }
    let id = v.status.id;
    let kept = CACHE.statuses.lock().ok().and_then(|m| m.get(&id).cloned());
    if let Some(k) = kept
        && k.base == ctx.base
        && k.inputs.matches(v)
    {
        if k.inputs
            .mentions
            .iter()
            .zip(&v.mentions)
            .all(|(a, b)| Arc::ptr_eq(a, b))
        {
            return Some(k);
        }
        // Equal mentioned accounts in new copies: kept under those (as `account_json`).
        let parts = Arc::new(StatusParts {
            base: k.base.clone(),
            inputs: StatusInputs {
                mentions: v.mentions.clone(),
                ..k.inputs.clone()
            },
            head: k.head.clone(),
            middle: k.middle.clone(),
            tail: k.tail.clone(),
        });
        keep(&CACHE.statuses, id, parts.clone());
        return Some(parts);
    }
    // The shared part: no marks (signed out), no filters, no original.
    let shared = StatusView {
        reblog: None,
        favourited: None,
        reblogged: None,
        bookmarked: None,
        pinned: None,
        muted: None,
        filtered: Vec::new(),
        ..v.clone()
    };
    let full = serde_json::to_vec(&entities::status(ctx, &shared)).ok()?;
    let (head, middle, tail) = split(&full, account)?;
    let parts = Arc::new(StatusParts {
        base: ctx.base.to_string(),
        inputs: StatusInputs {
            status: v.status.clone(),
            application: v.application.clone(),
            mentions: v.mentions.clone(),
            tags: v.tags.clone(),
            policy_accounts: v.policy_accounts.clone(),
            quotes_count: v.quotes_count,
            quote_current_user: v.quote_current_user,
        },
        head,
        middle,
        tail,
    });
    keep(&CACHE.statuses, id, parts.clone());
    Some(parts)
}

fn write_mark(out: &mut Vec<u8>, key: &str, value: Option<bool>) {
    if let Some(b) = value {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(if b { b"\":true" } else { b"\":false" });
    }
}

/// Append the JSON of `v` to `out`: what `serde_json::to_vec(&entities::status(ctx, v))`
/// gives, mostly from kept parts.
pub fn write_status(out: &mut Vec<u8>, ctx: Ctx<'_>, v: &StatusView) {
    let start = out.len();
    let account = account_json(ctx, &v.account);
    let Some(parts) = status_parts(ctx, v, &account.json) else {
        // Not kept (an unexpected shape): serialised whole.
        let _ = serde_json::to_writer(&mut *out, &entities::status(ctx, v));
        return;
    };
    out.extend_from_slice(&parts.head);
    out.extend_from_slice(&account.json);
    out.extend_from_slice(&parts.middle);
    match &v.reblog {
        Some(r) => write_status(out, ctx, r),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(&parts.tail);
    // The viewer's marks, in `StatusJson`'s order and with its rules.
    let s = &v.status;
    let own = v.pinned.is_some() && v.account.is_local();
    write_mark(out, "favourited", v.favourited);
    write_mark(out, "reblogged", v.reblogged);
    write_mark(out, "muted", v.muted);
    write_mark(out, "bookmarked", v.bookmarked);
    write_mark(
        out,
        "pinned",
        if own && s.visibility != Visibility::Direct {
            v.pinned
        } else {
            None
        },
    );
    if v.favourited.is_some() {
        out.extend_from_slice(b",\"filtered\":");
        let filtered: Vec<_> = v.filtered.iter().map(entities::filter_result).collect();
        let _ = serde_json::to_writer(&mut *out, &filtered);
    }
    out.push(b'}');
    #[cfg(debug_assertions)]
    {
        let whole = serde_json::to_vec(&entities::status(ctx, v)).unwrap_or_default();
        debug_assert_eq!(
            String::from_utf8_lossy(&out[start..]),
            String::from_utf8_lossy(&whole),
            "kept parts render a status differently"
        );
    }
    let _ = start;
}

/// A JSON array of statuses.
pub fn statuses(ctx: Ctx<'_>, views: &[StatusView]) -> Vec<u8> {
    // ~2 KB a post and its author (more for a boost): at 2 KB a page of 40 outgrew its first
    // buffer and was copied into a second (~1.5 % of a home timeline's CPU).
    let mut out = Vec::with_capacity(4096 * views.len() + 2);
    out.push(b'[');
    for (i, v) in views.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_status(&mut out, ctx, v);
    }
    out.push(b']');
    out
}
