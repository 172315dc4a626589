//! Accounts (local and remote) and the local users behind them.
use std::sync::Arc;

use kring_core::model::{Account, ProfileField, Role, User};
use kring_core::time::now_micros;
use kring_core::{Error, Id, Visibility};

use sqlx::AssertSqlSafe;

use crate::rows::{
    ACCOUNT_COLUMNS, AccountRow, ActorRow, NewAccount, NewUser, USER_COLUMNS, UserRow,
};
use crate::sql::Sql;
use crate::{Store, Tx, db_err};

/// Profile changes; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    pub note: Option<(String, String)>,
    pub fields: Option<Vec<ProfileField>>,
    pub bot: Option<bool>,
    pub locked: Option<bool>,
    pub discoverable: Option<bool>,
    pub indexable: Option<bool>,
    pub hide_collections: Option<bool>,
}

/// Preference changes for a local user.
#[derive(Debug, Default, Clone)]
pub struct PreferencesUpdate {
    pub default_visibility: Option<Visibility>,
    pub default_sensitive: Option<bool>,
    pub default_language: Option<Option<String>>,
}

impl Store {
    pub async fn account(&self, id: Id) -> Result<Option<Account>, Error> {
        Ok(self.accounts_by_ids(&[id]).await?.pop())
    }

    /// Accounts by id, in no particular order; unknown ids are skipped. From memory where
    /// they are there (see `account_cache`), the rest in one statement.
    pub async fn accounts_by_ids(&self, ids: &[Id]) -> Result<Vec<Account>, Error> {
        Ok(self
            .shared_accounts_by_ids(ids)
            .await?
            .into_iter()
            .map(Arc::unwrap_or_clone)
            .collect())
    }

    /// `accounts_by_ids`, shared with the cache instead of copied (a page's authors).
    pub async fn shared_accounts_by_ids(&self, ids: &[Id]) -> Result<Vec<Arc<Account>>, Error> {
        self.accounts_from_memory_or_read(ids, false).await
    }

    /// `account` for a check that shows no counters (a signature's key, a received post's
    /// author): its post counters may be behind by the posts stored since it was read.
    pub async fn account_ignoring_counts(&self, id: Id) -> Result<Option<Account>, Error> {
        Ok(self.accounts_ignoring_counts(&[id]).await?.pop())
    }

    /// `accounts_by_ids` as `account_ignoring_counts` reads them.
    pub async fn accounts_ignoring_counts(&self, ids: &[Id]) -> Result<Vec<Account>, Error> {
        Ok(self
            .accounts_from_memory_or_read(ids, true)
            .await?
            .into_iter()
            .map(Arc::unwrap_or_clone)
            .collect())
    }

    async fn accounts_from_memory_or_read(
        &self,
        ids: &[Id],
        ignoring_counts: bool,
    ) -> Result<Vec<Arc<Account>>, Error> {
        let cache = &self.account_cache;
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        let mut out = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in &ids {
            let kept = if ignoring_counts {
                cache.account_ignoring_counts(*id)
            } else {
                cache.account(*id)
            };
            match kept {
                Some(a) => out.push(a),
                None => missing.push(*id),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let read_at = cache.generation();
        let mut sql = Sql::new(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE "));
        sql.in_ids(self.backend, "a.id", &missing);
        // A page's authors missing from memory: on SQLite on the readers (one hop).
        let rows: Vec<AccountRow> = match &self.readers {
            Some(r) => {
                r.read(move |c| crate::readers::all(c, &sql, AccountRow::from_sqlite))
                    .await?
            }
            None => sql
                .query_as()
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?,
        };
        for a in rows.into_iter().map(|r| Arc::new(Account::from(r))) {
            cache.keep_shared_account(a.clone(), read_at);
            out.push(a);
        }
        Ok(out)
    }

    /// `domain` None means local.
    pub async fn account_by_handle(
        &self,
        username: &str,
        domain: Option<&str>,
    ) -> Result<Option<Account>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE lower(a.username) = lower("
        ));
        sql.bind(username);
        sql.push(") AND a.domain = ");
        sql.bind(domain.unwrap_or("").to_lowercase());
        self.account_row(sql).await
    }

    /// The account a statement selects (`ACCOUNT_COLUMNS`), if any: on SQLite through the
    /// readers (accounts are looked up by handle and URI for every new actor and mention).
    pub(crate) async fn account_row(&self, sql: Sql) -> Result<Option<Account>, Error> {
        Ok(self
            .optional_row(sql, AccountRow::from_sqlite)
            .await?
            .map(Account::from))
    }

    /// Received activities name accounts by URI (authors, mentions, addressees), several per
    /// activity.
    pub async fn account_by_uri(&self, uri: &str) -> Result<Option<Account>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.uri = "
        ));
        sql.bind(uri);
        self.account_row(sql).await
    }

    pub async fn private_key_pem(&self, id: Id) -> Result<Option<String>, Error> {
        sqlx::query_scalar("SELECT private_key_pem FROM accounts WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map(Option::flatten)
            .map_err(db_err)
    }

    /// A local account and its user record: from memory, or in one statement.
    pub async fn account_and_user(&self, id: Id) -> Result<Option<(Account, User)>, Error> {
        let cache = &self.account_cache;
        if let (Some(a), Some(u)) = (cache.account(id), cache.user(id)) {
            return Ok(Some((Arc::unwrap_or_clone(a), u)));
        }
        let read_at = cache.generation();
        let mut sql = Sql::new(&format!(
            "SELECT {ACCOUNT_COLUMNS}, {USER_COLUMNS} FROM accounts a JOIN users u ON u.account_id = a.id WHERE a.id = "
        ));
        sql.bind(id.0);
        // Every signed-in request whose actor is not in memory: on SQLite on the readers.
        let Some(r) = self.optional_row(sql, ActorRow::from_sqlite).await? else {
            return Ok(None);
        };
        let (a, u) = (Account::from(r.account), User::from(r.user));
        cache.keep_account(&a, read_at);
        cache.keep_user(&u, read_at);
        Ok(Some((a, u)))
    }

    pub async fn user(&self, account_id: Id) -> Result<Option<User>, Error> {
        Ok(self.account_and_user(account_id).await?.map(|(_, u)| u))
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, Error> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE lower(u.email) = lower($1)");
        let row: Option<UserRow> = sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(email)
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?;
        Ok(row.map(User::from))
    }

    /// Local users with their accounts, newest first; `pending` only those awaiting approval.
    pub async fn users(&self, pending: bool, limit: i64) -> Result<Vec<(Account, User)>, Error> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE ($1 = 0 OR u.approved = 0) ORDER BY u.account_id DESC LIMIT $2"
        );
        let rows: Vec<UserRow> = sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(pending as i64)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        let users: Vec<User> = rows.into_iter().map(User::from).collect();
        let ids: Vec<Id> = users.iter().map(|u| u.account_id).collect();
        let accounts = self.accounts_by_ids(&ids).await?;
        Ok(users
            .into_iter()
            .filter_map(|u| {
                let a = accounts.iter().find(|a| a.id == u.account_id)?.clone();
                Some((a, u))
            })
            .collect())
    }

    /// The oldest unsuspended admin (the server's contact).
    pub async fn first_admin(&self) -> Result<Option<Account>, Error> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM users u JOIN accounts a ON a.id = u.account_id \
             WHERE u.role = 'admin' AND a.suspended_at IS NULL ORDER BY a.id LIMIT 1"
        );
        let row: Option<AccountRow> = sqlx::query_as(AssertSqlSafe(sql))
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?;
        Ok(row.map(Account::from))
    }

    pub async fn local_user_count(&self) -> Result<i64, Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.pool())
            .await
            .map_err(db_err)
    }

    /// Whether any local account has the admin role (a fresh server has none until one is
    /// made from the command line).
    pub async fn has_admin(&self) -> Result<bool, Error> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin'")
            .fetch_one(self.pool())
            .await
            .map_err(db_err)?;
        Ok(n > 0)
    }

    pub async fn local_status_count(&self) -> Result<i64, Error> {
        // The accounts' own counters, summed: 10,000 rows rather than a million statuses.
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(statuses_count), 0) AS BIGINT) FROM accounts WHERE domain = ''",
        )
            .fetch_one(self.pool())
            .await
            .map_err(db_err)
    }

    pub async fn known_domain_count(&self) -> Result<i64, Error> {
        sqlx::query_scalar("SELECT COUNT(DISTINCT domain) FROM accounts WHERE domain <> ''")
            .fetch_one(self.pool())
            .await
            .map_err(db_err)
    }

    /// Accounts whose handle or display name starts with `query` (case-insensitive);
    /// `following_of` restricts to accounts that account follows.
    pub async fn search_accounts(
        &self,
        query: &str,
        domain: Option<&str>,
        following_of: Option<Id>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Account>, Error> {
        let pattern = format!("{}%", escape_like(&query.to_lowercase()));
        let mut sql = Sql::new(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.suspended_at IS NULL AND (lower(a.username) LIKE "
        ));
        let p = sql.bind(pattern.clone());
        sql.push(&format!(
            " ESCAPE '\\' OR lower(a.display_name) LIKE {p} ESCAPE '\\')"
        ));
        if let Some(d) = domain {
            sql.push(" AND a.domain = ");
            sql.bind(d.to_lowercase());
        }
        if let Some(viewer) = following_of {
            sql.push(" AND EXISTS (SELECT 1 FROM follows f WHERE f.account_id = ");
            sql.bind(viewer);
            sql.push(" AND f.target_id = a.id)");
        }
        sql.push(" ORDER BY CASE WHEN a.domain = '' THEN 0 ELSE 1 END, a.followers_count DESC, a.id LIMIT ");
        sql.bind(limit);
        sql.push(" OFFSET ");
        sql.bind(offset);
        let rows: Vec<AccountRow> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(Account::from).collect())
    }
}

pub(crate) fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Tx {
    pub async fn insert_account(&mut self, a: &NewAccount) -> Result<(), Error> {
        self.touch(a.id);
        sqlx::query(
            "INSERT INTO accounts (id, username, domain, display_name, note, note_html, fields, bot, locked, \
             discoverable, uri, url, inbox_url, shared_inbox_url, followers_url, public_key_pem, private_key_pem, \
             created_at, updated_at, is_group) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$18,$19)",
        )
        .bind(a.id.0)
        .bind(&a.username)
        .bind(a.domain.as_deref().unwrap_or("").to_lowercase())
        .bind(&a.display_name)
        .bind(&a.note)
        .bind(&a.note_html)
        .bind(serde_json::to_string(&a.fields).unwrap_or_else(|_| "[]".into()))
        .bind(a.bot as i64)
        .bind(a.locked as i64)
        .bind(a.discoverable as i64)
        .bind(&a.uri)
        .bind(&a.url)
        .bind(&a.inbox_url)
        .bind(a.shared_inbox_url.as_deref())
        .bind(&a.followers_url)
        .bind(&a.public_key_pem)
        .bind(a.private_key_pem.as_deref())
        .bind(a.created_at)
        .bind(a.group as i64)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn insert_user(&mut self, account_id: Id, u: &NewUser) -> Result<(), Error> {
        self.touch(account_id);
        sqlx::query(
            "INSERT INTO users (account_id, email, password_hash, role, approved, confirmed, reason, locale, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        )
        .bind(account_id.0)
        .bind(&u.email)
        .bind(&u.password_hash)
        .bind(u.role.as_str())
        .bind(u.approved as i64)
        .bind(u.confirmed as i64)
        .bind(u.reason.as_deref())
        .bind(&u.locale)
        .bind(now_micros())
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn update_profile(&mut self, id: Id, p: &ProfileUpdate) -> Result<(), Error> {
        self.touch(id);
        let mut sql = Sql::new("UPDATE accounts SET updated_at = ");
        sql.bind(now_micros());
        if let Some(v) = &p.display_name {
            sql.push(", display_name = ");
            sql.bind(v.as_str());
        }
        if let Some((text, html)) = &p.note {
            sql.push(", note = ");
            sql.bind(text.as_str());
            sql.push(", note_html = ");
            sql.bind(html.as_str());
        }
        if let Some(f) = &p.fields {
            sql.push(", fields = ");
            sql.bind(serde_json::to_string(f).unwrap_or_else(|_| "[]".into()));
        }
        for (col, v) in [
            ("bot", p.bot),
            ("locked", p.locked),
            ("discoverable", p.discoverable),
            ("indexable", p.indexable),
            ("hide_collections", p.hide_collections),
        ] {
            if let Some(v) = v {
                sql.push(&format!(", {col} = "));
                sql.bind(v);
            }
        }
        sql.push(" WHERE id = ");
        sql.bind(id);
        sql.query().execute(&mut *self.tx).await.map_err(db_err)?;
        Ok(())
    }

    pub async fn update_preferences(&mut self, id: Id, p: &PreferencesUpdate) -> Result<(), Error> {
        self.touch(id);
        let mut sql = Sql::new("UPDATE users SET account_id = account_id");
        if let Some(v) = p.default_visibility {
            sql.push(", default_visibility = ");
            sql.bind(v.as_str());
        }
        if let Some(v) = p.default_sensitive {
            sql.push(", default_sensitive = ");
            sql.bind(v);
        }
        if let Some(v) = &p.default_language {
            sql.push(", default_language = ");
            match v {
                Some(l) => {
                    sql.bind(l.as_str());
                }
                None => {
                    sql.push("NULL");
                }
            }
        }
        sql.push(" WHERE account_id = ");
        sql.bind(id);
        sql.query().execute(&mut *self.tx).await.map_err(db_err)?;
        Ok(())
    }

    pub async fn set_password_hash(&mut self, id: Id, hash: &str) -> Result<(), Error> {
        self.touch(id);
        sqlx::query("UPDATE users SET password_hash = $1 WHERE account_id = $2")
            .bind(hash)
            .bind(id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub async fn set_approved(&mut self, id: Id) -> Result<bool, Error> {
        self.touch(id);
        let r = sqlx::query("UPDATE users SET approved = 1 WHERE account_id = $1")
            .bind(id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn set_role(&mut self, id: Id, role: Role) -> Result<bool, Error> {
        self.touch(id);
        let r = sqlx::query("UPDATE users SET role = $1 WHERE account_id = $2")
            .bind(role.as_str())
            .bind(id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }

    /// Suspend an account because its domain was suspended; an account already suspended
    /// (for its own reasons) keeps its suspension and is not marked as the domain's.
    pub async fn suspend_for_domain(&mut self, id: Id) -> Result<(), Error> {
        self.touch(id);
        sqlx::query(
            "UPDATE accounts SET suspended_at = $1, domain_suspended = 1 \
             WHERE id = $2 AND suspended_at IS NULL",
        )
        .bind(now_micros())
        .bind(id.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn set_suspended(&mut self, id: Id, suspended: bool) -> Result<bool, Error> {
        self.touch(id);
        let r = sqlx::query("UPDATE accounts SET suspended_at = $1 WHERE id = $2")
            .bind(suspended.then(now_micros))
            .bind(id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        if suspended {
            // A suspended account's sessions end at once.
            sqlx::query("UPDATE access_tokens SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL")
                .bind(now_micros())
                .bind(id.0)
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
        }
        Ok(r.rows_affected() > 0)
    }

    /// Add to an account's denormalised counters (kept in the same transaction as the change).
    pub async fn bump_counts(
        &mut self,
        id: Id,
        followers: i64,
        following: i64,
        statuses: i64,
    ) -> Result<(), Error> {
        self.touch(id);
        sqlx::query(
            "UPDATE accounts SET \
             followers_count = CASE WHEN followers_count + $1 < 0 THEN 0 ELSE followers_count + $1 END, \
             following_count = CASE WHEN following_count + $2 < 0 THEN 0 ELSE following_count + $2 END, \
             statuses_count = CASE WHEN statuses_count + $3 < 0 THEN 0 ELSE statuses_count + $3 END WHERE id = $4",
        )
        .bind(followers)
        .bind(following)
        .bind(statuses)
        .bind(id.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// A new post of `id` made at `at`: `bump_counts` and `touch_last_status` in one statement.
    pub(crate) async fn count_new_post(&mut self, id: Id, at: i64) -> Result<(), Error> {
        self.count(id);
        // The text is ours: constants and placeholders, no input.
        sqlx::query(sqlx::AssertSqlSafe(count_new_post_sql("$1", "$2")))
            .bind(at)
            .bind(id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// A post of `id` made at `at`. Older posts arrive too (a remote account's outbox read
    /// for its profile, a reply's fetched parent): they never move the date back.
    pub async fn touch_last_status(&mut self, id: Id, at: i64) -> Result<(), Error> {
        self.touch(id);
        sqlx::query(
            "UPDATE accounts SET last_status_at = $1 WHERE id = $2 \
             AND (last_status_at IS NULL OR last_status_at < $1)",
        )
        .bind(at)
        .bind(id.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}

/// `Tx::count_new_post`'s statement, its time and account as the placeholders given:
/// PostgreSQL's `insert_status` runs it inside the status's own statement.
pub(crate) fn count_new_post_sql(at: &str, id: &str) -> String {
    format!(
        "UPDATE accounts SET statuses_count = statuses_count + 1, \
         last_status_at = CASE WHEN last_status_at IS NULL OR last_status_at < {at} THEN {at} \
         ELSE last_status_at END WHERE id = {id}"
    )
}
