//! A small builder for statements whose WHERE clauses depend on the request (paging, filters).
//! sqlx's QueryBuilder writes `?` placeholders for `Any`, which PostgreSQL rejects, so this one
//! numbers `$N` itself; SQLite reads `$N` as the N-th parameter too.
use kring_core::Id;
use kring_core::model::Page;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments};

pub(crate) enum Arg {
    I(i64),
    S(String),
}

#[derive(Default)]
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

    /// Bind without writing the placeholder (to reuse it later by name).
    pub fn param(&mut self, arg: impl Into<Arg>) -> String {
        self.args.push(arg.into());
        format!("${}", self.args.len())
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

    pub fn query_as<T>(&self) -> sqlx::query::QueryAs<'_, Any, T, AnyArguments>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        sqlx::query_as_with(AssertSqlSafe(self.text.clone()), self.arguments())
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
        self.bind(page.limit.clamp(1, 1000) as i64);
        self
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

/// The one audience check, as SQL: may the account bound at `viewer` (0 when signed out) read
/// the status aliased `s`? Authors read their own; public posts are readable by all; otherwise a
/// grant must name the viewer or an account the viewer follows. Nobody reads posts of suspended
/// accounts or of accounts that block them. Every read path of statuses goes through this.
pub(crate) fn visible_to(viewer: &str) -> String {
    format!(
        "(NOT EXISTS (SELECT 1 FROM accounts sa WHERE sa.id = s.account_id AND sa.suspended_at IS NOT NULL) \
         AND (s.account_id = {viewer} OR ((s.public = 1 OR EXISTS (SELECT 1 FROM status_audience sg WHERE sg.status_id = s.id AND \
           ((sg.kind = 'account' AND sg.target_id = {viewer}) OR \
            (sg.kind = 'followers' AND EXISTS (SELECT 1 FROM follows sf WHERE sf.account_id = {viewer} AND sf.target_id = sg.target_id))))) \
         AND NOT EXISTS (SELECT 1 FROM blocks sb WHERE sb.account_id = s.account_id AND sb.target_id = {viewer}))))"
    )
}
