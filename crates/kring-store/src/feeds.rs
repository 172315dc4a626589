//! Home feeds (written on post, capped, read by index) and list timelines (read on demand).
use kring_core::model::{Page, Status};
use kring_core::{Error, Id};

use crate::rows::STATUS_COLUMNS;
use crate::sql::{Shown, Sql, visible_to};
use crate::{Store, Tx, db_err};

/// How many entries a home feed keeps; older pages are not served from the feed (as Mastodon's
/// 800). Trimming runs as a job, not on the posting path.
pub const FEED_CAP: i64 = 800;

/// How many of a feed's newest entries a boost is checked against: a boost whose original, or
/// another boost of it, is among them is not added again (Mastodon's `REBLOG_FALLOFF`).
pub const REBLOG_FALLOFF: i64 = 40;

/// A condition true unless `entry` is a boost whose original (or another boost of that
/// original) is among the `REBLOG_FALLOFF` newest entries of `account`'s feed; `account` and
/// `entry` are SQL expressions. So a post appears once among what a reader is looking at. This
/// decides nothing about who may see what (that is `sql::visible_to`): it only keeps a copy out.
pub(crate) fn not_recently_in_feed(account: &str, entry: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM statuses e JOIN home_feed h ON h.account_id = {account} \
         JOIN statuses rs ON rs.id = h.entry_id \
         WHERE e.id = {entry} AND e.reblog_of_id IS NOT NULL AND h.entry_id <> e.id \
         AND (rs.id = e.reblog_of_id OR rs.reblog_of_id = e.reblog_of_id) \
         AND h.entry_id >= COALESCE((SELECT h2.entry_id FROM home_feed h2 \
         WHERE h2.account_id = {account} ORDER BY h2.entry_id DESC LIMIT 1 OFFSET {}), 0))",
        REBLOG_FALLOFF - 1
    )
}

impl Store {
    /// A page of `account`'s home feed, newest first (boosts are entries of their own).
    pub async fn home_feed(&self, account: Id, page: &Page) -> Result<Vec<Status>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {STATUS_COLUMNS} FROM home_feed f JOIN statuses s ON s.id = f.entry_id WHERE f.account_id = "
        ));
        let v = sql.bind(account);
        // A feed row only says the entry was delivered; whether it is shown is decided now, by
        // the one rule, so a lost grant, a new block, mute or domain block (and an expired
        // mute's end) take effect at once.
        sql.and_shown(&v, Shown::Listed);
        sql.page("f.entry_id", page);
        self.page_of_statuses(&sql, page).await
    }

    /// Statuses by a list's members that are shown to the list's owner.
    pub async fn list_timeline(
        &self,
        owner: Id,
        list: Id,
        page: &Page,
    ) -> Result<Vec<Status>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {STATUS_COLUMNS} FROM statuses s WHERE s.account_id IN (SELECT account_id FROM list_accounts WHERE list_id = "
        ));
        sql.bind(list);
        sql.push(")");
        let v = sql.param(owner);
        sql.and_shown(&v, Shown::Listed);
        sql.page("s.id", page);
        self.page_of_statuses(&sql, page).await
    }

    /// Accounts whose feed is over the cap among those that received entries after `since`
    /// (for the trimming job: the entry index finds them without reading every feed).
    pub async fn feeds_over_cap(&self, since: Id, limit: i64) -> Result<Vec<Id>, Error> {
        // From the start, one pass over the whole table (in primary-key order, which groups by
        // account) is cheaper than the lookup; `$1 = $1` keeps the parameters the same. The
        // lookup's upper bound is there for SQLite's planner, which without statistics scans
        // the table for a one-sided range but uses the entry index for a two-sided one.
        let sql = if since.0 <= 0 {
            "SELECT account_id FROM home_feed WHERE $1 = $1 AND $4 = $4 \
             GROUP BY account_id HAVING COUNT(*) > $2 LIMIT $3"
        } else {
            "SELECT h.account_id FROM home_feed h WHERE h.account_id IN \
             (SELECT DISTINCT n.account_id FROM home_feed n WHERE n.entry_id > $1 AND n.entry_id < $4) \
             GROUP BY h.account_id HAVING COUNT(*) > $2 LIMIT $3"
        };
        let rows: Vec<i64> = sqlx::query_scalar(sql)
            .bind(since.0)
            .bind(FEED_CAP)
            .bind(limit)
            .bind(i64::MAX)
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(Id).collect())
    }
}

impl Tx {
    /// Put an entry into the feeds of `author`'s local followers. Boosts go only to followers
    /// who show boosts; replies to someone else only to followers of that someone too (as
    /// Mastodon does, so feeds are not flooded with half-conversations).
    pub async fn fan_out_to_followers(
        &mut self,
        entry: Id,
        author: Id,
        boost: bool,
        reply_to_other: Option<Id>,
    ) -> Result<u64, Error> {
        let mut sql = Sql::new(
            "INSERT INTO home_feed (account_id, entry_id, author_id) SELECT f.account_id, ",
        );
        let e = sql.bind(entry);
        sql.push(", ");
        let a = sql.bind(author);
        sql.push(&format!(
            " FROM follows f JOIN users u ON u.account_id = f.account_id WHERE f.target_id = {a}"
        ));
        if boost {
            sql.push(" AND f.show_reblogs = 1");
            // Nobody sees their own post again as someone's boost.
            sql.push(&format!(
                " AND f.account_id <> (SELECT account_id FROM statuses WHERE id = (SELECT reblog_of_id FROM statuses WHERE id = {e}))"
            ));
            sql.push(" AND ");
            sql.push(&not_recently_in_feed("f.account_id", &e));
        }
        if let Some(other) = reply_to_other {
            sql.push(" AND EXISTS (SELECT 1 FROM follows f2 WHERE f2.account_id = f.account_id AND f2.target_id = ");
            sql.bind(other);
            sql.push(")");
        }
        sql.push(&format!(
            " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = f.account_id AND b.target_id = {a}) ON CONFLICT DO NOTHING"
        ));
        let r = sql.query().execute(&mut *self.tx).await.map_err(db_err)?;
        Ok(r.rows_affected())
    }

    /// Put an entry into the feeds of these (local) accounts (a boost not where its original
    /// is among the newest entries already, as for followers).
    pub async fn fan_out_to(
        &mut self,
        entry: Id,
        author: Id,
        accounts: &[Id],
    ) -> Result<(), Error> {
        let query = format!(
            "INSERT INTO home_feed (account_id, entry_id, author_id) \
             SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM users WHERE account_id = $1) AND {} \
             ON CONFLICT DO NOTHING",
            not_recently_in_feed("$1", "$2")
        );
        for account in accounts {
            // The text is ours: constants and placeholders, no input.
            sqlx::query(sqlx::AssertSqlSafe(query.as_str()))
                .bind(account.0)
                .bind(entry.0)
                .bind(author.0)
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    pub async fn delete_feed_entries(&mut self, entry: Id) -> Result<(), Error> {
        sqlx::query("DELETE FROM home_feed WHERE entry_id = $1")
            .bind(entry.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// After an unfollow or block: `author`'s entries leave `account`'s feed.
    pub async fn remove_author_from_feed(&mut self, account: Id, author: Id) -> Result<(), Error> {
        sqlx::query("DELETE FROM home_feed WHERE account_id = $1 AND author_id = $2")
            .bind(account.0)
            .bind(author.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// After a follow: the author's recent posts that `account` may now see join its feed.
    pub async fn backfill_feed(
        &mut self,
        account: Id,
        author: Id,
        limit: i64,
    ) -> Result<(), Error> {
        // The LIMIT sits in a sub-select (PostgreSQL allows no ON CONFLICT after it), and the
        // outer WHERE keeps SQLite from reading ON CONFLICT as a join constraint.
        let mut sql = Sql::new(
            "INSERT INTO home_feed (account_id, entry_id, author_id) SELECT * FROM (SELECT ",
        );
        let v = sql.bind(account);
        sql.push(" AS account_id, s.id AS entry_id, s.account_id AS author_id FROM statuses s WHERE s.account_id = ");
        sql.bind(author);
        sql.push(" AND (s.in_reply_to_id IS NULL OR s.in_reply_to_account_id = s.account_id) AND ");
        sql.push(&visible_to(&v));
        sql.push(" ORDER BY s.id DESC LIMIT ");
        sql.bind(limit);
        sql.push(") AS backfill WHERE 1 = 1 ON CONFLICT DO NOTHING");
        sql.query().execute(&mut *self.tx).await.map_err(db_err)?;
        Ok(())
    }

    /// Keep the newest `FEED_CAP` entries of a feed.
    pub async fn trim_feed(&mut self, account: Id) -> Result<(), Error> {
        sqlx::query(
            "DELETE FROM home_feed WHERE account_id = $1 AND entry_id < \
             (SELECT entry_id FROM home_feed WHERE account_id = $1 ORDER BY entry_id DESC LIMIT 1 OFFSET $2)",
        )
        .bind(account.0)
        .bind(FEED_CAP - 1)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}

impl Store {
    /// Local accounts whose home feed holds this entry (to stream it to them).
    pub async fn feed_recipients(&self, entry: Id) -> Result<Vec<Id>, Error> {
        let rows: Vec<i64> =
            sqlx::query_scalar("SELECT account_id FROM home_feed WHERE entry_id = $1")
                .bind(entry.0)
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
        Ok(rows.into_iter().map(Id).collect())
    }

    /// Local followers who asked to be notified of `author`'s posts.
    pub async fn notify_subscribers(&self, author: Id) -> Result<Vec<Id>, Error> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT f.account_id FROM follows f JOIN users u ON u.account_id = f.account_id \
             WHERE f.target_id = $1 AND f.notify = 1",
        )
        .bind(author.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Id).collect())
    }
}
