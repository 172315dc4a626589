//! PostgreSQL's LISTEN/NOTIFY, so that several Kring processes on one database can tell each
//! other about live events (a post made through one process streams to clients of another).
//! SQLite runs one process, so there is nothing to relay.
pub use sqlx::postgres::PgListener;

use kring_core::Error;

use crate::{Backend, Store, db_err};

/// NOTIFY payloads must stay below 8,000 bytes.
pub const MAX_PAYLOAD: usize = 7_900;

impl Store {
    /// Send each of `payloads`, in order, to every process listening on `channel`, in one
    /// statement (PostgreSQL; a no-op on SQLite). Payloads are bound as one JSON array: a
    /// text array's literal would need its own quoting.
    pub async fn notify_all(&self, channel: &str, payloads: &[String]) -> Result<(), Error> {
        if self.backend != Backend::Postgres || payloads.is_empty() {
            return Ok(());
        }
        if payloads.iter().any(|p| p.len() > MAX_PAYLOAD) {
            return Err(Error::internal("notification payload too large"));
        }
        let all = serde_json::to_string(payloads).map_err(Error::internal)?;
        // A function scan yields the array's elements in order, and each row's pg_notify runs
        // as it is produced: the notifications queue in the payloads' order.
        sqlx::query("SELECT pg_notify($1, p) FROM json_array_elements_text(CAST($2 AS json)) AS p")
            .bind(channel)
            .bind(all)
            .execute(self.pool())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// A connection listening on `channel` (PostgreSQL), or None on SQLite. It reconnects by
    /// itself when the connection drops (notifications sent meanwhile are lost).
    pub async fn listen(&self, channel: &str) -> Result<Option<PgListener>, Error> {
        let Some(url) = &self.pg_url else {
            return Ok(None);
        };
        let mut listener = PgListener::connect(url).await.map_err(db_err)?;
        listener.listen(channel).await.map_err(db_err)?;
        Ok(Some(listener))
    }
}
