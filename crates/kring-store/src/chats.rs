//! Group chats (docs/chats.md): the chat record, its participants with their inbox state, and
//! which statuses are its messages. Who may *read* a message is still decided only by
//! `sql::visible_to` (the `chat` grant, read against `chat_participants`); these decide what
//! the inbox shows and where copies go.
use kring_core::model::{Page, Status};
use kring_core::time::Micros;
use kring_core::{Chat, ChatManagers, Error, Id, InboxPlace, Participant, Participation};
use sqlx::AssertSqlSafe;

use crate::sql::{Shown, Sql, newest_first};
use crate::{Store, Tx, db_err};

const CHAT_COLUMNS: &str =
    "c.id, c.uri, c.local, c.name, c.creator_id, c.managers, c.version, c.created_at";
const PARTICIPANT_COLUMNS: &str = "p.chat_id, p.account_id, p.state, p.place, p.muted, p.unread, p.last_read_id, p.by_id, p.changed_at";

#[derive(sqlx::FromRow)]
struct ChatRow {
    id: i64,
    uri: String,
    local: i64,
    name: Option<String>,
    creator_id: i64,
    managers: String,
    version: i64,
    created_at: i64,
}

impl ChatRow {
    fn into_chat(self) -> Chat {
        Chat {
            id: Id(self.id),
            uri: self.uri,
            local: self.local != 0,
            name: self.name,
            creator_id: Id(self.creator_id),
            // The column's CHECK allows only the two.
            managers: ChatManagers::parse(&self.managers).unwrap_or_default(),
            version: self.version,
            created_at: self.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ParticipantRow {
    chat_id: i64,
    account_id: i64,
    state: String,
    place: Option<String>,
    muted: i64,
    unread: i64,
    last_read_id: Option<i64>,
    by_id: Option<i64>,
    changed_at: i64,
}

impl ParticipantRow {
    fn into_participant(self) -> Option<Participant> {
        Some(Participant {
            chat_id: Id(self.chat_id),
            account_id: Id(self.account_id),
            participation: Participation::from_row(
                &self.state,
                self.place.as_deref(),
                self.muted != 0,
                self.unread,
                self.last_read_id.map(Id),
                self.by_id.map(Id),
                self.changed_at,
            )?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct InboxRow {
    #[sqlx(flatten)]
    chat: ChatRow,
    #[sqlx(flatten)]
    participant: ParticipantRow,
    activity_id: i64,
}

/// One chat in an account's inbox: the chat, the account's own standing in it, and the id
/// inbox pages are keyed by (its newest activity).
#[derive(Debug, Clone)]
pub struct InboxEntry {
    pub chat: Chat,
    pub participation: Participation,
    pub activity_id: Id,
}

/// Which part of an inbox a listing wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxFilter {
    /// Accepted chats (not requests, not deleted from the inbox).
    Inbox,
    Requests,
}

impl Store {
    pub async fn chat(&self, id: Id) -> Result<Option<Chat>, Error> {
        let row: Option<ChatRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {CHAT_COLUMNS} FROM chats c WHERE c.id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(ChatRow::into_chat))
    }

    pub async fn chat_by_uri(&self, uri: &str) -> Result<Option<Chat>, Error> {
        let row: Option<ChatRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {CHAT_COLUMNS} FROM chats c WHERE c.uri = $1"
        )))
        .bind(uri)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(ChatRow::into_chat))
    }

    /// The chat a status is a message of.
    pub async fn chat_of_status(&self, status: Id) -> Result<Option<Id>, Error> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT chat_id FROM chat_messages WHERE status_id = $1")
                .bind(status.0)
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        Ok(id.map(Id))
    }

    /// Every participant of a chat, whatever their standing, oldest first.
    pub async fn chat_participants(&self, chat: Id) -> Result<Vec<Participant>, Error> {
        let rows: Vec<ParticipantRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {PARTICIPANT_COLUMNS} FROM chat_participants p WHERE p.chat_id = $1 ORDER BY p.changed_at, p.account_id"
        )))
        .bind(chat.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .filter_map(ParticipantRow::into_participant)
            .collect())
    }

    /// The active participants of a chat.
    pub async fn active_participants(&self, chat: Id) -> Result<Vec<Id>, Error> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT account_id FROM chat_participants WHERE chat_id = $1 AND state = 'active' ORDER BY account_id",
        )
        .bind(chat.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(Id).collect())
    }

    /// The remote active participants of a chat who may read `status` (those who joined
    /// before it): where it, and each later Update or Delete of it, is delivered.
    pub async fn remote_chat_readers(&self, chat: Id, status: Id) -> Result<Vec<Id>, Error> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT a.id FROM chat_participants p JOIN accounts a ON a.id = p.account_id \
             WHERE p.chat_id = $1 AND p.state = 'active' AND p.joined_after < $2 \
             AND a.domain <> '' AND a.suspended_at IS NULL ORDER BY a.id",
        )
        .bind(chat.0)
        .bind(status.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(Id).collect())
    }

    /// The active participants of a chat who may read `status` (those who joined before it):
    /// whom its Note names.
    pub async fn chat_readers(&self, chat: Id, status: Id) -> Result<Vec<Id>, Error> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT account_id FROM chat_participants WHERE chat_id = $1 AND state = 'active' \
             AND joined_after < $2 ORDER BY account_id",
        )
        .bind(chat.0)
        .bind(status.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(Id).collect())
    }

    /// One account's standing in a chat.
    pub async fn participation(
        &self,
        chat: Id,
        account: Id,
    ) -> Result<Option<Participation>, Error> {
        let row: Option<ParticipantRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {PARTICIPANT_COLUMNS} FROM chat_participants p WHERE p.chat_id = $1 AND p.account_id = $2"
        )))
        .bind(chat.0)
        .bind(account.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row
            .and_then(ParticipantRow::into_participant)
            .map(|p| p.participation))
    }

    /// The chat whose active participants are exactly `accounts` (sorted, deduplicated), the
    /// one a direct post among them joins. Candidates are the first account's chats.
    pub async fn chat_with_exactly(&self, accounts: &[Id]) -> Result<Option<Id>, Error> {
        let Some(first) = accounts.first() else {
            return Ok(None);
        };
        let n = accounts.len() as i64;
        let candidates: Vec<i64> = sqlx::query_scalar(
            "SELECT c.id FROM chats c JOIN chat_participants p ON p.chat_id = c.id \
             WHERE p.account_id = $1 AND p.state = 'active' \
             AND (SELECT COUNT(*) FROM chat_participants q WHERE q.chat_id = c.id AND q.state = 'active') = $2 \
             ORDER BY c.activity_id DESC",
        )
        .bind(first.0)
        .bind(n)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        for c in candidates {
            if self.active_participants(Id(c)).await? == accounts {
                return Ok(Some(Id(c)));
            }
        }
        Ok(None)
    }

    /// An account's chats where it is an active participant, newest activity first, paged
    /// by that activity's id.
    pub async fn chat_inbox(
        &self,
        account: Id,
        filter: InboxFilter,
        page: &Page,
    ) -> Result<Vec<InboxEntry>, Error> {
        let places = match filter {
            InboxFilter::Inbox => "('inbox')",
            InboxFilter::Requests => "('requests')",
        };
        let mut sql = Sql::new(&format!(
            "SELECT {CHAT_COLUMNS}, {PARTICIPANT_COLUMNS}, c.activity_id FROM chats c \
             JOIN chat_participants p ON p.chat_id = c.id \
             WHERE p.state = 'active' AND p.place IN {places} AND p.account_id = "
        ));
        sql.bind(account);
        sql.page("c.activity_id", page);
        let rows: Vec<InboxRow> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(newest_first(rows, page)
            .into_iter()
            .filter_map(|r| {
                Some(InboxEntry {
                    activity_id: Id(r.activity_id),
                    participation: r.participant.into_participant()?.participation,
                    chat: r.chat.into_chat(),
                })
            })
            .collect())
    }

    /// Unread messages in an account's accepted chats (muted ones not counted), and how many
    /// requests wait.
    pub async fn chat_unread_totals(&self, account: Id) -> Result<(i64, i64), Error> {
        let mut sql = crate::sql::Sql::new("SELECT ");
        let account = sql.param(account);
        sql.push(&format!(
            "{}, {}",
            chat_unread_sql(&account),
            chat_requests_sql(&account)
        ));
        Ok(self.pairs::<i64, i64>(sql).await?.pop().unwrap_or((0, 0)))
    }

    /// The newest message of `chat` that `viewer` may read (the one audience rule).
    pub async fn last_chat_message(&self, chat: Id, viewer: Id) -> Result<Option<Status>, Error> {
        Ok(self
            .chat_messages(chat, viewer, &Page::newest(1))
            .await?
            .pop())
    }

    /// The newest message id of a chat, whoever may read it.
    pub async fn newest_chat_message(&self, chat: Id) -> Result<Option<Id>, Error> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT MAX(status_id) FROM chat_messages WHERE chat_id = $1")
                .bind(chat.0)
                .fetch_one(self.pool())
                .await
                .map_err(db_err)?;
        Ok(id.map(Id))
    }

    /// A chat's messages that `viewer` may read, newest first. Shown as a timeline is (the
    /// viewer's blocks and mutes hide their authors' messages), not as a post opened by id.
    pub async fn chat_messages(
        &self,
        chat: Id,
        viewer: Id,
        page: &Page,
    ) -> Result<Vec<Status>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM chat_messages cm JOIN statuses s ON s.id = cm.status_id WHERE cm.chat_id = ",
            crate::rows::STATUS_COLUMNS
        ));
        sql.bind(chat);
        let v = sql.param(viewer);
        sql.and_shown(&v, Shown::Listed);
        sql.page("s.id", page);
        self.page_of_statuses(&sql, page).await
    }

    /// Whether `domain` has an active participant of `chat`.
    pub async fn chat_known_on_domain(&self, chat: Id, domain: &str) -> Result<bool, Error> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM chat_participants p JOIN accounts a ON a.id = p.account_id \
             WHERE p.chat_id = $1 AND p.state = 'active' AND a.domain = $2",
        )
        .bind(chat.0)
        .bind(domain)
        .fetch_one(self.pool())
        .await
        .map_err(db_err)?;
        Ok(n > 0)
    }
}

impl Tx {
    /// The chat as this transaction sees it.
    pub async fn chat(&mut self, id: Id) -> Result<Option<Chat>, Error> {
        let row: Option<ChatRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {CHAT_COLUMNS} FROM chats c WHERE c.id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(row.map(ChatRow::into_chat))
    }

    /// The active participants as this transaction sees them.
    pub async fn active_participants(&mut self, chat: Id) -> Result<Vec<Id>, Error> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT account_id FROM chat_participants WHERE chat_id = $1 AND state = 'active' ORDER BY account_id",
        )
        .bind(chat.0)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(Id).collect())
    }

    pub async fn insert_chat(&mut self, c: &Chat) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO chats (id, uri, local, name, creator_id, managers, version, activity_id, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$1,$8)",
        )
        .bind(c.id.0)
        .bind(&c.uri)
        .bind(c.local as i64)
        .bind(c.name.clone())
        .bind(c.creator_id.0)
        .bind(c.managers.as_str())
        .bind(c.version)
        .bind(c.created_at)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Name and managers, as the home server says.
    pub async fn update_chat(
        &mut self,
        chat: Id,
        name: Option<&str>,
        managers: ChatManagers,
    ) -> Result<(), Error> {
        sqlx::query("UPDATE chats SET name = $2, managers = $3 WHERE id = $1")
            .bind(chat.0)
            .bind(name.map(str::to_string))
            .bind(managers.as_str())
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Set the version of a chat's state: the home's next (`None`: one more than now), or
    /// the one its home told.
    /// Bump a chat's version (None), or set it to `version` only if that is newer than the
    /// one it has: false when it is not (a newer state was applied meanwhile). The check and
    /// the write are one statement, so two received states applied at once keep the newer
    /// whichever commits last.
    pub async fn set_chat_version(
        &mut self,
        chat: Id,
        version: Option<i64>,
    ) -> Result<bool, Error> {
        let q = match version {
            None => {
                sqlx::query("UPDATE chats SET version = version + 1 WHERE id = $1").bind(chat.0)
            }
            Some(v) => sqlx::query("UPDATE chats SET version = $2 WHERE id = $1 AND version < $2")
                .bind(chat.0)
                .bind(v),
        };
        let done = q.execute(&mut *self.tx).await.map_err(db_err)?;
        Ok(version.is_none() || done.rows_affected() > 0)
    }

    pub async fn delete_chat(&mut self, chat: Id) -> Result<(), Error> {
        sqlx::query("DELETE FROM chats WHERE id = $1")
            .bind(chat.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Set an account's standing in a chat (creating its row). Someone who becomes active
    /// (joins, is added, comes back) reads the chat's messages from then on: the newest
    /// message now is where their reading starts (`joined_after`); one already active keeps
    /// theirs.
    pub async fn set_participation(
        &mut self,
        chat: Id,
        account: Id,
        p: &Participation,
        at: Micros,
    ) -> Result<(), Error> {
        let (place, muted, unread, last_read, by) = match p {
            Participation::Active {
                place,
                muted,
                unread,
                last_read_id,
            } => (
                Some(place.as_str()),
                *muted,
                *unread,
                last_read_id.map(|i| i.0),
                None,
            ),
            Participation::Left { .. } => (None, false, 0, None, None),
            Participation::Removed { by, .. } => (None, false, 0, None, by.map(|i| i.0)),
        };
        sqlx::query(
            "INSERT INTO chat_participants (chat_id, account_id, state, place, muted, unread, last_read_id, by_id, changed_at, joined_after) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9, COALESCE((SELECT MAX(m.status_id) FROM chat_messages m WHERE m.chat_id = $1), 0)) \
             ON CONFLICT (chat_id, account_id) DO UPDATE SET state = excluded.state, place = excluded.place, \
             muted = excluded.muted, unread = excluded.unread, last_read_id = excluded.last_read_id, \
             by_id = excluded.by_id, changed_at = excluded.changed_at, \
             joined_after = CASE WHEN chat_participants.state = 'active' AND excluded.state = 'active' \
                 THEN chat_participants.joined_after ELSE excluded.joined_after END",
        )
        .bind(chat.0)
        .bind(account.0)
        .bind(p.state())
        .bind(place.map(str::to_string))
        .bind(muted as i64)
        .bind(unread)
        .bind(last_read)
        .bind(by)
        .bind(at)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Record `status` (by `author`) as a message of `chat`: the chat moves to the top of
    /// inboxes, every other active participant has one more unread message, and those who
    /// deleted the chat from their inbox find it there again. Requests stay requests.
    pub async fn add_chat_message(
        &mut self,
        chat: Id,
        status: Id,
        author: Id,
    ) -> Result<(), Error> {
        sqlx::query("INSERT INTO chat_messages (status_id, chat_id) VALUES ($1, $2)")
            .bind(status.0)
            .bind(chat.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "UPDATE chats SET activity_id = CASE WHEN activity_id < $2 THEN $2 ELSE activity_id END WHERE id = $1",
        )
        .bind(chat.0)
        .bind(status.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        sqlx::query(
            "UPDATE chat_participants SET unread = unread + 1, \
             place = CASE WHEN place = 'hidden' THEN 'inbox' ELSE place END \
             WHERE chat_id = $1 AND state = 'active' AND account_id <> $2 AND joined_after < $3",
        )
        .bind(chat.0)
        .bind(author.0)
        .bind(status.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        // The author has read everything up to their own message, and writing in a chat
        // held among their requests accepts it.
        sqlx::query(
            "UPDATE chat_participants SET unread = 0, last_read_id = $3, place = 'inbox' \
             WHERE chat_id = $1 AND account_id = $2 AND state = 'active'",
        )
        .bind(chat.0)
        .bind(author.0)
        .bind(status.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Mark a chat read up to `last` for an active participant.
    pub async fn mark_chat_read(
        &mut self,
        chat: Id,
        account: Id,
        last: Option<Id>,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE chat_participants SET unread = 0, last_read_id = $3 \
             WHERE chat_id = $1 AND account_id = $2 AND state = 'active'",
        )
        .bind(chat.0)
        .bind(account.0)
        .bind(last.map(|i| i.0))
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Move an active participant's chat to `place` in their inbox.
    pub async fn set_inbox_place(
        &mut self,
        chat: Id,
        account: Id,
        place: InboxPlace,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE chat_participants SET place = $3 WHERE chat_id = $1 AND account_id = $2 AND state = 'active'",
        )
        .bind(chat.0)
        .bind(account.0)
        .bind(place.as_str())
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn set_chat_muted(
        &mut self,
        chat: Id,
        account: Id,
        muted: bool,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE chat_participants SET muted = $3 WHERE chat_id = $1 AND account_id = $2 AND state = 'active'",
        )
        .bind(chat.0)
        .bind(account.0)
        .bind(muted as i64)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}

/// Unread messages of `account` (a placeholder) in accepted, unmuted chats: a scalar subquery.
/// PostgreSQL sums BIGINTs as NUMERIC, which the Any driver cannot read: hence the cast.
pub(crate) fn chat_unread_sql(account: &str) -> String {
    format!(
        "COALESCE((SELECT CAST(SUM(unread) AS BIGINT) FROM chat_participants WHERE account_id = {account} \
         AND state = 'active' AND place = 'inbox' AND muted = 0), 0)"
    )
}

/// Chat requests waiting for `account`'s answer: a scalar subquery.
pub(crate) fn chat_requests_sql(account: &str) -> String {
    format!(
        "(SELECT COUNT(*) FROM chat_participants WHERE account_id = {account} AND state = 'active' \
         AND place = 'requests')"
    )
}
