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

    /// The next `batches` batches of `size` readers of a fan-out after the account `after`,
    /// as their bounds (the readers as `Tx::fan_out_batch` counts them), so that they can
    /// run side by side, each its own transaction (`Tx::fan_out_range`).
    pub async fn fan_out_ranges(
        &self,
        entry: Id,
        author: Id,
        to: FanOut,
        after: Id,
        size: i64,
        batches: i64,
    ) -> Result<FanOutRanges, Error> {
        let (readers, first) = match to {
            FanOut::Followers { .. } => (FOLLOWER_READERS.to_string(), author),
            FanOut::Audience => (crate::circles::audience_readers(), entry),
        };
        // Every `size`-th reader ends a batch, and the last one the last batch; one row per
        // batch, not one per reader.
        let rows: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT account_id, t FROM (SELECT b.account_id, \
             ROW_NUMBER() OVER (ORDER BY b.account_id) AS n, COUNT(*) OVER () AS t \
             FROM ({readers}) b) x WHERE n % $4 = 0 OR n = t ORDER BY account_id"
        )))
        .bind(first.0)
        .bind(after.0)
        .bind(size * batches)
        .bind(size)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        let more = rows.first().is_some_and(|&(_, t)| t >= size * batches);
        Ok(FanOutRanges {
            ends: rows.into_iter().map(|(id, _)| Id(id)).collect(),
            more,
        })
    }
}

/// Who a fan-out puts an entry in front of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanOut {
    /// The author's local followers. Boosts go only to followers who show boosts; replies to
    /// someone else only to followers of that someone too (as Mastodon does, so feeds are not
    /// flooded with half-conversations).
    Followers {
        boost: bool,
        reply_to_other: Option<Id>,
    },
    /// The local accounts a narrowed post's friends and circle grants name
    /// (`circles::AUDIENCE_ACCOUNTS`), except those who block its author.
    Audience,
}

/// What one batch of a fan-out did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FanOutBatch {
    /// Accounts whose feed received the entry in this batch (to stream it to them).
    pub delivered: Vec<Id>,
    /// The next batch starts after this account; None when the fan-out is finished (or the
    /// entry is gone).
    pub next: Option<Id>,
}

/// The local followers of the account `$1` after `$2`, in order, at most `$3` (the readers of
/// a followers fan-out's batch, as `circles::audience_readers` is a narrowed post's).
const FOLLOWER_READERS: &str = "SELECT f.account_id FROM follows f JOIN users u ON u.account_id = f.account_id \
     WHERE f.target_id = $1 AND f.account_id > $2 ORDER BY f.account_id LIMIT $3";

/// The next batches of a fan-out, for running them side by side (`Store::fan_out_ranges`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FanOutRanges {
    /// Each batch's last reader, in account order: the first batch runs from after the
    /// account asked about up to the first of these, the next from there to the second.
    pub ends: Vec<Id>,
    /// Readers may remain after the last of `ends`.
    pub more: bool,
}

/// The INSERT of a followers fan-out, naming the accounts it wrote (`RETURNING`); with
/// `range` (after, up to) only for the followers whose account id is in it.
fn followers_insert(
    entry: Id,
    author: Id,
    boost: bool,
    reply_to_other: Option<Id>,
    range: Option<(Id, Id)>,
) -> Sql {
    let mut sql =
        Sql::new("INSERT INTO home_feed (account_id, entry_id, author_id) SELECT f.account_id, ");
    let e = sql.bind(entry);
    sql.push(", ");
    let a = sql.bind(author);
    sql.push(&format!(
        " FROM follows f JOIN users u ON u.account_id = f.account_id WHERE f.target_id = {a}"
    ));
    if let Some((after, upto)) = range {
        sql.push(" AND f.account_id > ");
        sql.bind(after);
        sql.push(" AND f.account_id <= ");
        sql.bind(upto);
    }
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
    sql.push(" RETURNING account_id");
    sql
}

impl Tx {
    /// Put an entry into the feeds of `author`'s local followers (`FanOut::Followers`), all
    /// at once: for a large audience use `fan_out_batch`. Returns whose feeds it went into
    /// (their streams are told without reading them back).
    pub async fn fan_out_to_followers(
        &mut self,
        entry: Id,
        author: Id,
        boost: bool,
        reply_to_other: Option<Id>,
    ) -> Result<Vec<Id>, Error> {
        let sql = followers_insert(entry, author, boost, reply_to_other, None);
        let rows: Vec<i64> =
            sqlx::query_scalar_with(sqlx::AssertSqlSafe(sql.text.clone()), sql.arguments())
                .fetch_all(&mut *self.tx)
                .await
                .map_err(db_err)?;
        Ok(rows.into_iter().map(Id).collect())
    }

    /// One batch of a fan-out: the entry into the feeds of the next `limit` readers `to`
    /// names, in account order after `after`. A batch is small so the write lock it needs is
    /// short: one person with many followers never stalls everyone else's writes. It decides
    /// nothing about who may see the entry (that is `sql::visible_to`, on every read); it
    /// only writes where it was delivered.
    ///
    /// Does nothing once the entry is gone (deleted while its fan-out ran). On PostgreSQL the
    /// entry's row is locked for the batch (`FOR SHARE`), and a delete removes the row before
    /// the feed entries (`delete_status`): so either the delete waits for this batch and then
    /// removes its entries too, or this batch waits for the delete and finds nothing.
    pub async fn fan_out_batch(
        &mut self,
        entry: Id,
        author: Id,
        to: FanOut,
        after: Id,
        limit: i64,
    ) -> Result<FanOutBatch, Error> {
        if !self.lock_entry_for_fan_out(entry).await? {
            return Ok(FanOutBatch::default());
        }
        // The batch's readers first (by index, in account order), so its bounds are known
        // whatever the insert below leaves out (boost settings, blocks, rows already there).
        // Only their count and the last are needed: one row, not one per reader (each row
        // is a hop between threads on SQLite).
        let (count, last): (i64, Option<i64>) = match to {
            FanOut::Followers { .. } => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*), MAX(b.account_id) FROM ({FOLLOWER_READERS}) b"
            )))
            .bind(author.0)
            .bind(after.0)
            .bind(limit),
            FanOut::Audience => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*), MAX(b.account_id) FROM ({}) b",
                crate::circles::audience_readers()
            )))
            .bind(entry.0)
            .bind(after.0)
            .bind(limit),
        }
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db_err)?;
        let Some(last) = last else {
            return Ok(FanOutBatch::default());
        };
        Ok(FanOutBatch {
            delivered: self
                .fan_out_insert(entry, author, to, (after, Id(last)))
                .await?,
            next: (count >= limit).then_some(Id(last)),
        })
    }

    /// One batch of a fan-out whose bounds are known (`Store::fan_out_ranges`): the entry into
    /// the feeds of the readers `to` names whose account id is after `after`, up to `upto`.
    /// Returns whose feeds it went into (none already holding it, so a batch run again tells
    /// nobody twice). Does nothing once the entry is gone, as `fan_out_batch`.
    pub async fn fan_out_range(
        &mut self,
        entry: Id,
        author: Id,
        to: FanOut,
        after: Id,
        upto: Id,
    ) -> Result<Vec<Id>, Error> {
        if !self.lock_entry_for_fan_out(entry).await? {
            return Ok(Vec::new());
        }
        self.fan_out_insert(entry, author, to, (after, upto)).await
    }

    /// Whether the entry still exists; on PostgreSQL its row stays locked (`FOR SHARE`) until
    /// this transaction ends, so a delete and a fan-out batch wait for each other
    /// (`fan_out_batch`).
    async fn lock_entry_for_fan_out(&mut self, entry: Id) -> Result<bool, Error> {
        let lock = match self.backend {
            crate::Backend::Postgres => " FOR SHARE",
            // The store's write lock serialises this transaction with any delete.
            crate::Backend::Sqlite => "",
        };
        let exists: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM statuses WHERE id = $1{lock}"
        )))
        .bind(entry.0)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(exists.is_some())
    }

    /// The entry into the feeds of `to`'s readers in `range` (after, up to).
    async fn fan_out_insert(
        &mut self,
        entry: Id,
        author: Id,
        to: FanOut,
        range: (Id, Id),
    ) -> Result<Vec<Id>, Error> {
        let delivered: Vec<i64> = match to {
            FanOut::Followers {
                boost,
                reply_to_other,
            } => {
                let sql = followers_insert(entry, author, boost, reply_to_other, Some(range));
                sqlx::query_scalar_with(sqlx::AssertSqlSafe(sql.text.clone()), sql.arguments())
                    .fetch_all(&mut *self.tx)
                    .await
            }
            FanOut::Audience => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(crate::circles::audience_insert(true)))
                    .bind(entry.0)
                    .bind(author.0)
                    .bind(range.0.0)
                    .bind(range.1.0)
                    .fetch_all(&mut *self.tx)
                    .await
            }
        }
        .map_err(db_err)?;
        Ok(delivered.into_iter().map(Id).collect())
    }

    /// Put an entry into the feeds of these (local) accounts (a boost not where its original
    /// is among the newest entries already, as for followers). Returns whose feeds it went
    /// into.
    pub async fn fan_out_to(
        &mut self,
        entry: Id,
        author: Id,
        accounts: &[Id],
    ) -> Result<Vec<Id>, Error> {
        let query = format!(
            "INSERT INTO home_feed (account_id, entry_id, author_id) \
             SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM users WHERE account_id = $1) AND {} \
             ON CONFLICT DO NOTHING RETURNING account_id",
            not_recently_in_feed("$1", "$2")
        );
        let mut reached = Vec::new();
        for account in accounts {
            // The text is ours: constants and placeholders, no input.
            let written: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(query.as_str()))
                .bind(account.0)
                .bind(entry.0)
                .bind(author.0)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(db_err)?;
            reached.extend(written.map(Id));
        }
        Ok(reached)
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
        sql.limit(limit);
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

impl Tx {
    /// Local accounts whose home feed holds this entry, for a transaction about to remove
    /// it: the entry's row is locked first (PostgreSQL; on SQLite the write lock does it), so
    /// no fan-out batch still running adds a reader this transaction would not tell.
    pub async fn feed_recipients_for_removal(&mut self, entry: Id) -> Result<Vec<Id>, Error> {
        if self.backend == crate::Backend::Postgres {
            sqlx::query("SELECT id FROM statuses WHERE id = $1 FOR UPDATE")
                .bind(entry.0)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(db_err)?;
        }
        let rows: Vec<i64> =
            sqlx::query_scalar("SELECT account_id FROM home_feed WHERE entry_id = $1")
                .bind(entry.0)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(db_err)?;
        Ok(rows.into_iter().map(Id).collect())
    }
}

impl Store {
    /// Local accounts whose home feed holds this entry (to stream it to them).
    ///
    /// On SQLite through the readers: every new post and boost streams to them, a thousand rows
    /// for a post to a thousand followers, each a hop between threads through sqlx.
    pub async fn feed_recipients(&self, entry: Id) -> Result<Vec<Id>, Error> {
        let mut sql = Sql::new("SELECT account_id FROM home_feed WHERE entry_id = ");
        sql.bind(entry);
        self.ids(sql).await
    }

    /// Local followers who asked to be notified of `author`'s posts.
    ///
    /// On SQLite through the readers (asked after every post).
    pub async fn notify_subscribers(&self, author: Id) -> Result<Vec<Id>, Error> {
        let mut sql = Sql::new(
            "SELECT f.account_id FROM follows f JOIN users u ON u.account_id = f.account_id \
             WHERE f.notify = 1 AND f.target_id = ",
        );
        sql.bind(author);
        self.ids(sql).await
    }
}
