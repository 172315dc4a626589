//! Deleting an account for good (docs/privacy.md): every row it owns goes — through the
//! foreign keys' cascades, so a table added later is covered as soon as it names its account —
//! and its handle stays as a tombstone so it is never given to someone else.
use kring_core::time::now_micros;
use kring_core::{Error, Id};

use crate::{Store, Tx, db_err};

/// What an account keeps once deleted: who it was on the wire (handle, addresses) and its key
/// pair, which signs the deletion's deliveries and lets other servers check them later, as
/// Mastodon keeps a deleted account's keys. Nothing a person wrote or chose.
#[derive(sqlx::FromRow)]
struct Tombstone {
    id: i64,
    username: String,
    domain: String,
    uri: String,
    url: String,
    inbox_url: String,
    shared_inbox_url: Option<String>,
    followers_url: String,
    following_url: String,
    outbox_url: String,
    public_key_pem: String,
    private_key_pem: Option<String>,
    public_key_id: Option<String>,
    is_group: i64,
}

impl Store {
    /// The stored files of an account's attachments (originals and thumbnails).
    pub async fn media_keys_of(&self, account: Id) -> Result<Vec<String>, Error> {
        let rows: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT file_key, thumbnail_key FROM media_attachments WHERE account_id = $1",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .flat_map(|(a, b)| [a, b])
            .flatten()
            .collect())
    }

    /// The other servers' accounts an account is connected with — followers and followed, and
    /// everyone its posts reached or answered: those it mentioned or replied to, whose posts
    /// it boosted or liked, its circles' members, its groups' members — who hear of its
    /// deletion (each server once).
    pub async fn remote_contacts(&self, account: Id) -> Result<Vec<Id>, Error> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT a.id FROM accounts a WHERE a.domain <> '' AND a.suspended_at IS NULL AND a.id IN \
             (SELECT account_id FROM follows WHERE target_id = $1 \
              UNION SELECT target_id FROM follows WHERE account_id = $1 \
              UNION SELECT account_id FROM follow_requests WHERE target_id = $1 \
              UNION SELECT m.account_id FROM mentions m JOIN statuses s ON s.id = m.status_id \
                    WHERE s.account_id = $1 \
              UNION SELECT in_reply_to_account_id FROM statuses \
                    WHERE account_id = $1 AND in_reply_to_account_id IS NOT NULL \
              UNION SELECT o.account_id FROM statuses b JOIN statuses o ON o.id = b.reblog_of_id \
                    WHERE b.account_id = $1 \
              UNION SELECT s.account_id FROM favourites f JOIN statuses s ON s.id = f.status_id \
                    WHERE f.account_id = $1 \
              UNION SELECT cm.account_id FROM circle_members cm JOIN circles c ON c.id = cm.circle_id \
                    WHERE c.account_id = $1 \
              UNION SELECT o.account_id FROM group_memberships mine \
                    JOIN group_memberships o ON o.group_id = mine.group_id \
                    WHERE mine.account_id = $1 AND mine.state = 'member' AND o.state = 'member')",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(Id).collect())
    }

    /// The other servers' accounts that boosted, liked or answered a post: their servers
    /// hold it (and their followers' servers, through the boost), so they hear of its
    /// deletion too.
    pub async fn remote_reach(&self, status: Id) -> Result<Vec<Id>, Error> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT a.id FROM accounts a WHERE a.domain <> '' AND a.suspended_at IS NULL AND a.id IN \
             (SELECT account_id FROM statuses WHERE reblog_of_id = $1 \
              UNION SELECT account_id FROM statuses WHERE in_reply_to_id = $1 \
              UNION SELECT account_id FROM favourites WHERE status_id = $1)",
        )
        .bind(status.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(Id).collect())
    }

    /// The chats `account` takes part in, and the groups it owns: what it leaves or ends
    /// before it goes.
    pub async fn chats_and_owned_groups(&self, account: Id) -> Result<(Vec<Id>, Vec<Id>), Error> {
        let chats: Vec<i64> = sqlx::query_scalar(
            "SELECT chat_id FROM chat_participants WHERE account_id = $1 AND state = 'active'",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        let groups: Vec<i64> = sqlx::query_scalar(
            "SELECT group_id FROM group_memberships WHERE account_id = $1 AND role = 'owner'",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok((
            chats.into_iter().map(Id).collect(),
            groups.into_iter().map(Id).collect(),
        ))
    }

    /// Whether `account` is a tombstone: deleted, never to be restored.
    pub async fn account_deleted(&self, account: Id) -> Result<bool, Error> {
        let at: Option<Option<i64>> =
            sqlx::query_scalar("SELECT deleted_at FROM accounts WHERE id = $1")
                .bind(account.0)
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        Ok(matches!(at, Some(Some(_))))
    }
}

impl Tx {
    /// Remove an account and everything that is its (posts, media rows, follows both ways,
    /// likes, bookmarks, lists, circles, memberships, chats' participation, notifications,
    /// sessions, its user with e-mail and password hash, …), keep only its tombstone. Counters
    /// of other accounts and posts it counted in are lowered first. False: no such account.
    pub async fn purge_account(&mut self, account: Id) -> Result<bool, Error> {
        let Some(t): Option<Tombstone> = sqlx::query_as(
            "SELECT id, username, domain, uri, url, inbox_url, shared_inbox_url, followers_url, \
             following_url, outbox_url, public_key_pem, private_key_pem, public_key_id, is_group \
             FROM accounts WHERE id = $1",
        )
        .bind(account.0)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db_err)?
        else {
            return Ok(false);
        };
        self.touch(account);
        // Accounts whose counters change are read again from the database (the cache).
        let counted: Vec<i64> = sqlx::query_scalar(
            "SELECT target_id FROM follows WHERE account_id = $1 UNION SELECT account_id FROM follows WHERE target_id = $1",
        )
        .bind(account.0)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_err)?;
        for a in counted {
            self.touch(Id(a));
        }
        // What others' counters say of it.
        for sql in [
            "UPDATE accounts SET followers_count = followers_count - 1 WHERE followers_count > 0 \
             AND id IN (SELECT target_id FROM follows WHERE account_id = $1)",
            "UPDATE accounts SET following_count = following_count - 1 WHERE following_count > 0 \
             AND id IN (SELECT account_id FROM follows WHERE target_id = $1)",
            "UPDATE statuses SET favourites_count = favourites_count - 1 WHERE favourites_count > 0 \
             AND id IN (SELECT status_id FROM favourites WHERE account_id = $1)",
            "UPDATE statuses SET reblogs_count = reblogs_count - 1 WHERE reblogs_count > 0 \
             AND id IN (SELECT reblog_of_id FROM statuses WHERE account_id = $1 AND reblog_of_id IS NOT NULL)",
            "UPDATE statuses SET replies_count = replies_count - (SELECT COUNT(*) FROM statuses r \
             WHERE r.in_reply_to_id = statuses.id AND r.account_id = $1) \
             WHERE id IN (SELECT in_reply_to_id FROM statuses WHERE account_id = $1 AND in_reply_to_id IS NOT NULL)",
            // Rows that name it without a foreign key.
            "DELETE FROM status_audience WHERE target_id = $1 AND kind IN ('account', 'friend')",
            "DELETE FROM home_feed WHERE account_id = $1 OR author_id = $1",
            "DELETE FROM idempotency_keys WHERE account_id = $1",
            // Everything else goes with the row (ON DELETE CASCADE).
            "DELETE FROM accounts WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(account.0)
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
        }
        let now = now_micros();
        sqlx::query(
            "INSERT INTO accounts (id, username, domain, uri, url, inbox_url, shared_inbox_url, \
             followers_url, following_url, outbox_url, public_key_pem, private_key_pem, public_key_id, \
             is_group, discoverable, indexable, suspended_at, deleted_at, created_at, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,0,0,$15,$15,$15,$15)",
        )
        .bind(t.id)
        .bind(&t.username)
        .bind(&t.domain)
        .bind(&t.uri)
        .bind(&t.url)
        .bind(&t.inbox_url)
        .bind(t.shared_inbox_url.as_deref())
        .bind(&t.followers_url)
        .bind(&t.following_url)
        .bind(&t.outbox_url)
        .bind(&t.public_key_pem)
        .bind(t.private_key_pem.as_deref())
        .bind(t.public_key_id.as_deref())
        .bind(t.is_group)
        .bind(now)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(true)
    }
}
