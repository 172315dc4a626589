//! The counts a signed-in web page shows beside its menu, and the site's title, in one read.
//!
//! Why one statement: every signed-in page needs all of them, and each statement is a round
//! trip (on SQLite a hop to another thread and back). The subqueries are those the
//! single-purpose counts run, so each question still has one text.
use kring_core::{Error, Id};

use crate::chats::{chat_requests_sql, chat_unread_sql};
use crate::interactions::pending_requests_sql;
use crate::notifications::unread_notifications_sql;
use crate::reports::open_reports_sql;
use crate::sql::Sql;
use crate::{Store, db_err, readers};

/// What `Store::badges` counted, each up to its cap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Badges {
    pub unread_notifications: i64,
    /// Interaction requests waiting for an answer.
    pub pending_requests: i64,
    /// Unread messages in accepted, unmuted chats.
    pub chat_unread: i64,
    pub chat_requests: i64,
    /// Reports waiting for a moderator; None unless asked for (staff).
    pub open_reports: Option<i64>,
    /// The `title` setting, if an admin set one.
    pub title: Option<String>,
}

/// The row `badges` reads: five counts and the title.
type BadgeRow = (i64, i64, i64, i64, i64, Option<String>);

impl Store {
    /// The counts for `account`'s pages, each up to `cap`; reports only when `staff`.
    pub async fn badges(&self, account: Id, staff: bool, cap: i64) -> Result<Badges, Error> {
        let mut sql = Sql::new("SELECT ");
        let (me, cap) = (sql.param(account), sql.param(cap));
        let reports = if staff {
            open_reports_sql(&cap)
        } else {
            "CAST(0 AS BIGINT)".to_string()
        };
        sql.push(&format!(
            "{}, {}, {}, {}, {reports}, (SELECT value FROM settings WHERE key = 'title')",
            unread_notifications_sql(&me, &cap),
            pending_requests_sql(&me, &cap),
            chat_unread_sql(&me),
            chat_requests_sql(&me),
        ));
        let row: BadgeRow = match &self.readers {
            Some(r) => r
                .read(move |c| readers::all(c, &sql, readers::tuple))
                .await?
                .pop()
                .unwrap_or_default(),
            None => sql
                .query_as::<BadgeRow>()
                .fetch_one(self.pool())
                .await
                .map_err(db_err)?,
        };
        let (unread_notifications, pending_requests, chat_unread, chat_requests, reports, title) =
            row;
        Ok(Badges {
            unread_notifications,
            pending_requests,
            chat_unread,
            chat_requests,
            open_reports: staff.then_some(reports),
            title,
        })
    }
}
