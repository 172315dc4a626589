//! A small builder for statements whose WHERE clauses depend on the request (paging, filters).
//! sqlx's QueryBuilder writes `?` placeholders for `Any`, which PostgreSQL rejects, so this one
//! numbers `$N` itself; SQLite reads `$N` as the N-th parameter too.
use kring_core::Id;
use kring_core::model::Page;
use kring_core::time::now_micros;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments};

use crate::Backend;

#[derive(Clone)]
pub(crate) enum Arg {
    I(i64),
    S(String),
}

#[derive(Default, Clone)]
pub(crate) struct Sql {
    pub text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Append a placeholder bound to `arg`, returning its `$N` for reuse in the same statement.
    pub fn bind(&mut self, arg: impl Into<Arg>) -> String {
        self.args.push(arg.into());
        let p = format!("${}", self.args.len());
        self.text.push_str(&p);
        p
    }

    /// `column IN` the set `ids` (bound as [`id_set`](Self::id_set) says).
    pub fn in_ids(&mut self, backend: Backend, column: &str, ids: &[Id]) -> &mut Self {
        let set = self.id_set(backend, ids);
        self.push(&in_set(backend, column, &set))
    }

    /// `column NOT IN` the set `ids`.
    pub fn not_in_ids(&mut self, backend: Backend, column: &str, ids: &[Id]) -> &mut Self {
        let set = self.id_set(backend, ids);
        self.push(&not_in_set(backend, column, &set))
    }

    /// Bind a set of ids, returning what [`in_set`] needs to test membership (to use it
    /// twice). The databases differ in what is cheap, measured (BENCHMARKS.md, session 14):
    /// - PostgreSQL: *one* array parameter. A list of 64 parameters cost a parse and plan of
    ///   each in every statement; one keeps the statement's plan reusable.
    /// - SQLite: one parameter per id, padded to a power of two by repeating the last (a
    ///   repeat in an `IN` list changes nothing), so a few statement texts serve every page
    ///   (statements are cached by text). One JSON parameter (`json_each`) cost more: SQLite
    ///   builds a temporary index of the list per statement, ~13 µs, more than binding 64
    ///   integers; a single status read got 60 % dearer.
    pub fn id_set(&mut self, backend: Backend, ids: &[Id]) -> String {
        use std::fmt::Write;
        // Writing to a String cannot fail (the `let _ = write!` below).
        match backend {
            Backend::Postgres => {
                let mut list = String::with_capacity(2 + ids.len() * 20);
                list.push('{');
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        list.push(',');
                    }
                    let _ = write!(list, "{}", id.0);
                }
                list.push('}');
                self.param(list)
            }
            Backend::Sqlite => {
                // SQLite takes an empty list, `IN ()`.
                let padded = if ids.is_empty() {
                    0
                } else {
                    ids.len().next_power_of_two()
                };
                let last = ids.last().copied().unwrap_or_default();
                let first = self.args.len() + 1;
                self.args
                    .extend((0..padded).map(|i| Arg::I(ids.get(i).copied().unwrap_or(last).0)));
                placeholders(Text::IdSet, "(", first, padded, ("", ""))
            }
        }
    }

    /// SQLite: `ids` as a table for a `WITH` clause, `page_ids(page_id) AS NOT MATERIALIZED
    /// (VALUES ($N), ...)`, to join with `page_ids CROSS JOIN t WHERE t.column =
    /// page_ids.page_id` (`CROSS JOIN` keeps the ids as the outer loop in SQLite: each one an
    /// index look-up). Why not `IN`: SQLite builds a temporary index of an `IN` list at every
    /// use before looking the ids up, and a page's hydration used one list up to five times
    /// (BENCHMARKS.md, session 24); `NOT MATERIALIZED` keeps a table used more than once
    /// from being copied into one too (the marks' statement: 20 µs with `IN`, 18 materialised,
    /// 13 not; one id as cheap as `IN`'s).
    /// Repeats are dropped (a join, unlike `IN`, would return a repeated id's rows twice),
    /// then the list is padded with 0 — never an id, all are positive — so a few texts serve
    /// every page: to 1, 2, 4 or 8, then to a multiple of 8 up to 64, then to a power of two.
    /// Why not a power of two throughout (as `id_set`): every row is an index look-up, and a
    /// page of 40 posts padded to 64 made each of its six hydration statements look up 0 24
    /// times (BENCHMARKS.md, session 25).
    pub fn id_rows(&mut self, ids: &[Id]) -> String {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let padded = match ids.len().max(1) {
            n @ 9..=64 => n.div_ceil(8) * 8,
            n => n.next_power_of_two(),
        };
        let first = self.args.len() + 1;
        self.args
            .extend((0..padded).map(|i| Arg::I(ids.get(i).map_or(0, |id| id.0))));
        placeholders(
            Text::IdRows,
            "page_ids(page_id) AS NOT MATERIALIZED (VALUES ",
            first,
            padded,
            ("(", ")"),
        )
    }

    /// Append another statement's text and its parameters, renumbering its `$N` after ours, so
    /// that statements built on their own can be read as parts of one (`hydrate` on
    /// PostgreSQL). Every `$` followed by digits in `other` is one of its placeholders: no
    /// statement of ours has a `$` in a literal.
    pub fn push_sql(&mut self, other: &Sql) -> &mut Self {
        use std::fmt::Write;
        let offset = self.args.len();
        let mut rest = other.text.as_str();
        while let Some(at) = rest.find('$') {
            self.text.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            match after[..digits].parse::<usize>() {
                // Writing to a String cannot fail.
                Ok(n) => {
                    let _ = write!(self.text, "${}", n + offset);
                }
                Err(_) => self.text.push('$'),
            }
            rest = &after[digits..];
        }
        self.text.push_str(rest);
        self.args.extend(other.args.iter().cloned());
        self
    }

    /// Bind without writing the placeholder (to reuse it later by name).
    pub fn param(&mut self, arg: impl Into<Arg>) -> String {
        self.args.push(arg.into());
        format!("${}", self.args.len())
    }

    pub fn args(&self) -> &[Arg] {
        &self.args
    }

    pub fn arguments(&self) -> AnyArguments {
        let mut a = AnyArguments::default();
        for arg in &self.args {
            // Encoding these primitive types into Any arguments cannot fail.
            let _ = match arg {
                Arg::I(i) => a.add(*i),
                Arg::S(s) => a.add(s.clone()),
            };
        }
        a
    }

    pub fn query(&self) -> sqlx::query::Query<'_, Any, AnyArguments> {
        sqlx::query_with(AssertSqlSafe(self.text.clone()), self.arguments())
    }

    pub fn query_scalar<T>(&self) -> sqlx::query::QueryScalar<'_, Any, T, AnyArguments>
    where
        (T,): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        sqlx::query_scalar_with(AssertSqlSafe(self.text.clone()), self.arguments())
    }

    pub fn query_as<T>(&self) -> sqlx::query::QueryAs<'_, Any, T, AnyArguments>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        sqlx::query_as_with(AssertSqlSafe(self.text.clone()), self.arguments())
    }

    /// `AND` the status aliased `s` is shown to `viewer` (a placeholder from `param` or `bind`,
    /// or a column) where it is `shown`: the one audience rule (`shown_to`).
    pub fn and_shown(&mut self, viewer: &str, shown: Shown) -> &mut Self {
        self.push(" AND ");
        if shown == Shown::Direct {
            // No time parameter: PostgreSQL rejects a parameter no expression uses.
            return self.push(&visible_to(viewer));
        }
        let now = self.param(now_micros());
        self.push(&shown_to(viewer, &now, shown))
    }

    /// Paging on an id column, then ORDER BY and LIMIT. With `min_id` the rows come oldest
    /// first (callers reverse them), as Mastodon's `min_id` pages forward from a point.
    pub fn page(&mut self, column: &str, page: &Page) -> &mut Self {
        if let Some(Id(max)) = page.max_id {
            self.push(&format!(" AND {column} < "));
            self.bind(max);
        }
        if let Some(Id(since)) = page.since_id {
            self.push(&format!(" AND {column} > "));
            self.bind(since);
        }
        if let Some(Id(min)) = page.min_id {
            self.push(&format!(" AND {column} > "));
            self.bind(min);
            self.push(&format!(" ORDER BY {column} ASC LIMIT "));
        } else {
            self.push(&format!(" ORDER BY {column} DESC LIMIT "));
        }
        self.limit(page.limit.clamp(1, 1000) as i64)
    }

    /// A LIMIT's number written into the text, not bound. Why: PostgreSQL plans a prepared
    /// statement once for all parameter values after five runs ("generic plan") only when
    /// that plan looks as cheap as the per-value ones; a bound LIMIT counts as a tenth of
    /// the table there, so the timelines were planned afresh on every run (most of their
    /// database CPU, BENCHMARKS.md), and a forced generic plan read the whole table. A
    /// literal lets the cheap plan be kept. An integer cannot inject; clients send few sizes.
    pub fn limit(&mut self, n: i64) -> &mut Self {
        use std::fmt::Write;
        // Writing to a String cannot fail.
        let _ = write!(self.text, "{n}");
        self
    }
}

/// `column IN` the set bound at `set` by [`Sql::id_set`].
pub(crate) fn in_set(backend: Backend, column: &str, set: &str) -> String {
    match backend {
        Backend::Sqlite => format!("{column} IN {set}"),
        // `= ANY(array)` is an index lookup per element in PostgreSQL's plans.
        Backend::Postgres => format!("{column} = ANY(CAST({set} AS BIGINT[]))"),
    }
}

/// `column NOT IN` the set bound at `set` by [`Sql::id_set`] (ids are never NULL).
pub(crate) fn not_in_set(backend: Backend, column: &str, set: &str) -> String {
    match backend {
        Backend::Sqlite => format!("{column} NOT IN {set}"),
        Backend::Postgres => format!("{column} <> ALL(CAST({set} AS BIGINT[]))"),
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::I(v)
    }
}
impl From<Id> for Arg {
    fn from(v: Id) -> Arg {
        Arg::I(v.0)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Arg {
        Arg::I(v as i64)
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Arg {
        Arg::S(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Arg {
        Arg::S(v.to_string())
    }
}

/// Rows fetched with `min_id` come oldest first; timelines are newest first.
pub(crate) fn newest_first<T>(mut rows: Vec<T>, page: &Page) -> Vec<T> {
    if page.min_id.is_some() {
        rows.reverse();
    }
    rows
}

/// Where a status is being shown, which decides how much of the viewer's own choices (blocks,
/// mutes, domain blocks) hide it. The audience itself (grants, suspension, the author's blocks)
/// is the same everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Opened by id or URL: the viewer asked for this post, so only the audience decides (as
    /// Mastodon, whose blocker may still open a blocked account's post by its link).
    Direct,
    /// On its author's profile: the viewer asked for this account, so a mute does not hide its
    /// own posts, but blocks and domain blocks do; boosts of anyone the viewer hides are hidden.
    Profile,
    /// Everywhere else (home, lists, public and hashtag timelines, threads, search, favourites
    /// and bookmarks, streaming): blocks, domain blocks and mutes all hide, for the post and for
    /// a boost's original alike.
    Listed,
}

/// Which of the viewer's mutes hide an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mutes {
    /// Every mute in force.
    All,
    /// Only mutes that also silence notifications (for notifications).
    Notifications,
    /// None (a profile the viewer opened).
    None,
}

/// The facts about the viewer that the audience rule asks for every row but that do not
/// depend on the row: has any account been suspended, does anyone block the viewer, is the
/// viewer an account of this server, has the viewer blocked, domain-blocked or muted anyone.
/// Each guards a per-row lookup (a viewer who blocked nobody pays no block lookup per row).
///
/// Why they are read in one place per statement rather than where each check stands: the rule
/// appears in a statement once per status it checks (a post, a boost's original), and
/// PostgreSQL sets up every subquery of a statement on every run, used or not: that start-up
/// was most of the backends' time on a timeline page (BENCHMARKS.md, session 21). Read once,
/// as the columns of a one-row table that the rule's checks refer to, each is set up once.
/// Only [`guarded`] makes them, so a check cannot refer to guards its statement lacks.
struct Guards {
    /// The viewer when it is a column (one statement deciding for many viewers): the guards
    /// then differ per row, so each is asked where it stands, and only when reached, rather
    /// than all of them up front for every row. `None`: the one-row table [`GUARDS`].
    per_row: Option<String>,
}

#[derive(Clone, Copy)]
enum Guard {
    Suspended,
    Blocked,
    IsLocal,
    Blocks,
    DomainBlocks,
    Mutes,
}

impl Guard {
    const ALL: [Guard; 6] = [
        Guard::Suspended,
        Guard::Blocked,
        Guard::IsLocal,
        Guard::Blocks,
        Guard::DomainBlocks,
        Guard::Mutes,
    ];

    fn name(self) -> &'static str {
        match self {
            Guard::Suspended => "suspended",
            Guard::Blocked => "blocked",
            Guard::IsLocal => "is_local",
            Guard::Blocks => "blocks",
            Guard::DomainBlocks => "domain_blocks",
            Guard::Mutes => "mutes",
        }
    }

    /// The question, for `viewer`.
    fn sql(self, viewer: &str) -> String {
        match self {
            Guard::Suspended => {
                "EXISTS (SELECT 1 FROM accounts WHERE suspended_at IS NOT NULL)".to_string()
            }
            Guard::Blocked => format!("EXISTS (SELECT 1 FROM blocks WHERE target_id = {viewer})"),
            Guard::IsLocal => format!("EXISTS (SELECT 1 FROM users WHERE account_id = {viewer})"),
            Guard::Blocks => format!("EXISTS (SELECT 1 FROM blocks WHERE account_id = {viewer})"),
            Guard::DomainBlocks => {
                format!("EXISTS (SELECT 1 FROM account_domain_blocks WHERE account_id = {viewer})")
            }
            Guard::Mutes => format!("EXISTS (SELECT 1 FROM mutes WHERE account_id = {viewer})"),
        }
    }
}

impl Guards {
    fn get(&self, guard: Guard) -> String {
        match &self.per_row {
            Some(viewer) => guard.sql(viewer),
            None => format!("{GUARDS}.{}", guard.name()),
        }
    }
}

/// The alias of the guards' one-row table inside [`guarded`]; no statement uses it otherwise.
const GUARDS: &str = "vg";

/// `body` (which may use the viewer's [`Guards`]) as one condition. For a bound `viewer`:
/// `EXISTS` over the guards' one-row table (the table's `LIMIT` keeps PostgreSQL from folding
/// it back into copies of its subqueries). For a column, `body` asks each guard in place.
fn guarded(viewer: &str, body: impl FnOnce(&Guards) -> String) -> String {
    // Placeholders are `$N` (`Sql::param`/`bind`); anything else is a column of the statement
    // (qualified, as `a.id`: the guards' own tables have unqualified `account_id`s).
    if !viewer.starts_with('$') {
        return body(&Guards {
            per_row: Some(viewer.to_string()),
        });
    }
    let columns: Vec<String> = Guard::ALL
        .iter()
        .map(|g| format!("{} AS {}", g.sql(viewer), g.name()))
        .collect();
    format!(
        "EXISTS (SELECT 1 FROM (SELECT {} LIMIT 1) {GUARDS} WHERE {})",
        columns.join(", "),
        body(&Guards { per_row: None })
    )
}

/// The one audience check, as SQL: may the account `viewer` (a bound id, or a column; 0 when
/// signed out) read the status aliased `s`? See `may_read` for the rule; a boost is readable
/// only if its original is too, so a boost is never a way around the original's audience, a
/// suspension or a block. Every read path of statuses goes through this (or `shown_to`).
pub(crate) fn visible_to(viewer: &str) -> String {
    kept(Text::Visible, viewer, "", || {
        guarded(viewer, |g| readable(g, viewer, None))
    })
}

/// `visible_to` as a check within [`guarded`], with `original`: a further condition on a
/// boost's original (aliased `so`), read in the same lookup of it.
fn readable(g: &Guards, viewer: &str, original: Option<String>) -> String {
    format!(
        "({} AND (s.reblog_of_id IS NULL OR EXISTS (SELECT 1 FROM statuses so WHERE so.id = s.reblog_of_id AND {}{})))",
        may_read(g, "s", viewer),
        may_read(g, "so", viewer),
        original.map(|c| format!(" AND {c}")).unwrap_or_default()
    )
}

/// `visible_to`, and not hidden by the viewer's own choices where it is `shown` (`now`: a
/// bound current time, for mutes that expire). Applied to the author and, for a boost, to the
/// original's author too. The viewer's own posts are never hidden from them.
pub(crate) fn shown_to(viewer: &str, now: &str, shown: Shown) -> String {
    let (own, original, text) = match shown {
        Shown::Direct => return visible_to(viewer),
        Shown::Profile => (Mutes::None, Mutes::All, Text::ShownProfile),
        Shown::Listed => (Mutes::All, Mutes::All, Text::ShownListed),
    };
    kept(text, viewer, now, || {
        guarded(viewer, |g| {
            let original = format!(
                "NOT {}",
                hides_account(g, viewer, "so.account_id", now, original)
            );
            format!(
                "({} AND NOT {})",
                readable(g, viewer, Some(original)),
                hides_account(g, viewer, "s.account_id", now, own)
            )
        })
    })
}

/// A notification (aliased `n`) is shown to its `owner`: its sender not hidden by the owner
/// (blocked, domain-blocked, or muted with notifications), and its status, if any, readable by
/// the owner. The same rule as statuses, with the same guards.
pub(crate) fn notification_shown_to(owner: &str, now: &str) -> String {
    kept(Text::Notification, owner, now, || {
        guarded(owner, |g| {
            format!(
                "(NOT {} AND (n.status_id IS NULL OR EXISTS (SELECT 1 FROM statuses s WHERE s.id = n.status_id AND {})))",
                hides_account(g, owner, "n.from_account_id", now, Mutes::Notifications),
                readable(g, owner, None)
            )
        })
    })
}

/// Which kept text (`kept`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Text {
    IdSet,
    IdRows,
    Visible,
    ShownProfile,
    ShownListed,
    Notification,
}

/// Texts kept at most per thread; past this they start over (statements name a few dozen
/// placeholder combinations, so this is never reached in practice).
const KEPT_TEXTS: usize = 256;
/// Longer texts are not kept (an id list of thousands, as a bulk operation may bind): the
/// audience rule is ~5 KB, a page's id list under 1 KB.
const KEPT_TEXT_BYTES: usize = 16 << 10;

thread_local! {
    static KEPT: std::cell::RefCell<std::collections::HashMap<(Text, String, String), String>> =
        std::cell::RefCell::default();
}

/// The text `build` makes of `text` with these two placeholders (or columns), kept per thread.
/// Why: the audience rule is a few KB of SQL put together by dozens of `format!`s, and an id
/// set one `$N` per id; a page's statements name the same placeholders on every request, and
/// building them again was several percent of a home timeline's CPU (BENCHMARKS.md, session
/// 24). The key is everything the text depends on. Per thread: no lock on the read path.
fn kept(text: Text, a: &str, b: &str, build: impl FnOnce() -> String) -> String {
    let key = (text, a.to_string(), b.to_string());
    if let Some(t) = KEPT.with(|k| k.borrow().get(&key).cloned()) {
        return t;
    }
    let t = build();
    if t.len() > KEPT_TEXT_BYTES {
        return t;
    }
    KEPT.with(|k| {
        let mut k = k.borrow_mut();
        if k.len() >= KEPT_TEXTS {
            k.clear();
        }
        k.insert(key, t.clone());
    });
    t
}

/// `open`, then `$first` and the `count - 1` placeholders after it, each written between
/// `wrap`'s two halves and separated by commas, then `)`: an id list's text (kept, `kept`).
fn placeholders(text: Text, open: &str, first: usize, count: usize, wrap: (&str, &str)) -> String {
    use std::fmt::Write;
    kept(text, &first.to_string(), &count.to_string(), || {
        let mut out = String::with_capacity(open.len() + 2 + count * 8);
        out.push_str(open);
        for n in first..first + count {
            if n > first {
                out.push(',');
            }
            // Writing to a String cannot fail.
            let _ = write!(out, "{}${n}{}", wrap.0, wrap.1);
        }
        out.push(')');
        out
    })
}

/// Has `viewer` chosen not to see `account` (a column or bound id): blocked it, blocked its
/// domain, or muted it (which mutes count: `mutes`)? Never true for oneself.
fn hides_account(g: &Guards, viewer: &str, account: &str, now: &str, mutes: Mutes) -> String {
    let mute = match mutes {
        Mutes::None => String::new(),
        Mutes::All | Mutes::Notifications => format!(
            " OR ({} AND EXISTS (SELECT 1 FROM mutes hm WHERE hm.account_id = {viewer} AND hm.target_id = {account} \
              AND (hm.expires_at IS NULL OR hm.expires_at > {now}){}))",
            g.get(Guard::Mutes),
            if mutes == Mutes::Notifications {
                " AND hm.notifications = 1"
            } else {
                ""
            }
        ),
    };
    // Each lookup runs only if the viewer has any such choice at all (`Guards`): the same
    // answer, as the lookup finding a row implies its guard.
    format!(
        "({account} <> {viewer} AND (({} \
             AND EXISTS (SELECT 1 FROM blocks hb WHERE hb.account_id = {viewer} AND hb.target_id = {account})) \
          OR ({} \
             AND EXISTS (SELECT 1 FROM accounts ha JOIN account_domain_blocks hd ON hd.domain = ha.domain \
             WHERE ha.id = {account} AND hd.account_id = {viewer})){mute}))",
        g.get(Guard::Blocks),
        g.get(Guard::DomainBlocks)
    )
}

/// May `viewer` read the status aliased `s` itself (boosts aside)? Authors read their own;
/// public posts are readable by all; otherwise a grant must name the viewer, an account the
/// viewer follows, an account the viewer is friends with (both follow each other), a circle
/// the viewer is in, a group the viewer is a member of (not merely requested, invited or
/// banned), a chat the viewer is an active participant of (not one they left or were removed
/// from) and joined before the message was written (`joined_after`: a newcomer reads from
/// their joining on), or the viewer while a friend of the author. Grants are read when the
/// post is, so an ended follow or friendship, a removed circle member or a member who left or
/// was removed from a group loses earlier posts at once. A reply or boost awaiting its approval
/// (`pending_approval_by`) is read by the one who decides on it instead of its audience, until
/// approved. Local-only posts are read only by this server's accounts (`Guards`' `is_local`).
/// Nobody reads posts of suspended accounts or of accounts that block them; those lookups run
/// only when anyone is suspended or blocks the viewer at all (`Guards`).
fn may_read(g: &Guards, s: &str, viewer: &str) -> String {
    let suspended = g.get(Guard::Suspended);
    let is_local = g.get(Guard::IsLocal);
    let blocked = g.get(Guard::Blocked);
    format!(
        "(NOT ({suspended} \
              AND EXISTS (SELECT 1 FROM accounts {s}_a WHERE {s}_a.id = {s}.account_id AND {s}_a.suspended_at IS NOT NULL)) \
         AND ({s}.account_id = {viewer} OR ((({s}.pending_approval_by IS NULL AND ({s}.public = 1 OR EXISTS (SELECT 1 FROM status_audience {s}_g WHERE {s}_g.status_id = {s}.id AND \
           (({s}_g.kind = 'account' AND {s}_g.target_id = {viewer}) OR \
            ({s}_g.kind = 'followers' AND EXISTS (SELECT 1 FROM follows {s}_f WHERE {s}_f.account_id = {viewer} AND {s}_f.target_id = {s}_g.target_id)) OR \
            ({s}_g.kind = 'friends' AND EXISTS (SELECT 1 FROM follows {s}_f1 WHERE {s}_f1.account_id = {viewer} AND {s}_f1.target_id = {s}_g.target_id) \
               AND EXISTS (SELECT 1 FROM follows {s}_f2 WHERE {s}_f2.account_id = {s}_g.target_id AND {s}_f2.target_id = {viewer})) OR \
            ({s}_g.kind = 'circle' AND EXISTS (SELECT 1 FROM circle_members {s}_c WHERE {s}_c.circle_id = {s}_g.target_id AND {s}_c.account_id = {viewer})) OR \
            ({s}_g.kind = 'group' AND EXISTS (SELECT 1 FROM group_memberships {s}_m WHERE {s}_m.group_id = {s}_g.target_id AND {s}_m.account_id = {viewer} AND {s}_m.state = 'member')) OR \
            ({s}_g.kind = 'chat' AND EXISTS (SELECT 1 FROM chat_participants {s}_cp WHERE {s}_cp.chat_id = {s}_g.target_id AND {s}_cp.account_id = {viewer} AND {s}_cp.state = 'active' AND {s}_cp.joined_after < {s}.id)) OR \
            ({s}_g.kind = 'friend' AND {s}_g.target_id = {viewer} AND EXISTS (SELECT 1 FROM follows {s}_f3 WHERE {s}_f3.account_id = {viewer} AND {s}_f3.target_id = {s}.account_id) \
               AND EXISTS (SELECT 1 FROM follows {s}_f4 WHERE {s}_f4.account_id = {s}.account_id AND {s}_f4.target_id = {viewer})))))) \
           OR {s}.pending_approval_by = {viewer}) \
         AND ({s}.local_only = 0 OR {is_local}) \
         AND NOT ({blocked} \
              AND EXISTS (SELECT 1 FROM blocks {s}_b WHERE {s}_b.account_id = {s}.account_id AND {s}_b.target_id = {viewer})))))"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_rows_are_padded_to_a_few_lengths() {
        let padded = |n: i64| {
            let ids: Vec<Id> = (1..=n).map(Id).collect();
            let mut sql = Sql::new("");
            let rows = sql.id_rows(&ids);
            assert_eq!(rows.matches('$').count(), sql.args().len());
            // The ids once each, in order, then zeros.
            let args: Vec<i64> = sql
                .args()
                .iter()
                .map(|a| match a {
                    Arg::I(v) => *v,
                    Arg::S(_) => panic!("ids are numbers"),
                })
                .collect();
            assert_eq!(args[..n.max(0) as usize], (1..=n).collect::<Vec<_>>()[..]);
            assert!(args[n.max(0) as usize..].iter().all(|&v| v == 0));
            args.len()
        };
        let lengths: Vec<usize> = [0, 1, 2, 3, 5, 8, 9, 16, 17, 40, 41, 63, 64, 65, 200]
            .into_iter()
            .map(padded)
            .collect();
        assert_eq!(
            lengths,
            vec![1, 1, 2, 4, 8, 8, 16, 16, 24, 40, 48, 64, 64, 128, 256]
        );
        // Repeats once.
        let mut sql = Sql::new("");
        sql.id_rows(&[Id(5), Id(3), Id(5)]);
        assert_eq!(sql.args().len(), 2);
    }

    #[test]
    fn kept_audience_texts_are_those_of_their_placeholders() {
        let first = shown_to("$1", "$2", Shown::Listed);
        // Built again from nothing, on another thread (texts are kept per thread).
        let fresh = std::thread::spawn(|| shown_to("$1", "$2", Shown::Listed))
            .join()
            .expect("the thread runs");
        assert_eq!(first, fresh);
        assert_eq!(shown_to("$1", "$2", Shown::Listed), first);
        let other = shown_to("$3", "$4", Shown::Listed);
        assert_ne!(other, first);
        assert!(other.contains("$3") && other.contains("$4") && !other.contains("$1 "));
        assert_ne!(shown_to("$1", "$2", Shown::Profile), first);
        assert_ne!(visible_to("$1"), first);
        assert_eq!(shown_to("$1", "$2", Shown::Direct), visible_to("$1"));
        assert_ne!(notification_shown_to("$1", "$2"), first);
    }

    #[test]
    fn a_statement_appended_has_its_placeholders_renumbered_after_ours() {
        let mut a = Sql::new("SELECT ");
        a.bind(7i64);
        let mut b = Sql::new("x = ");
        b.bind("s");
        b.push(" AND y = $1 AND z = ");
        b.bind(9i64);
        b.push(" AND w = '$'");
        a.push(", (").push_sql(&b).push(")");
        assert_eq!(
            a.text,
            "SELECT $1, (x = $2 AND y = $2 AND z = $3 AND w = '$')"
        );
        assert_eq!(a.args().len(), 3);
        assert!(matches!(a.args()[2], Arg::I(9)));
        assert!(matches!(&a.args()[1], Arg::S(s) if s == "s"));
    }
}
