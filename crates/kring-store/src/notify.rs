//! PostgreSQL's LISTEN/NOTIFY, so that several Kring processes on one database can tell each
//! other about live events (a post made through one process streams to clients of another).
//! SQLite runs one process, so there is nothing to relay.
pub use sqlx::postgres::PgListener;

use kring_core::Error;

use crate::{Backend, Store, db_err};

/// NOTIFY payloads must stay below 8,000 bytes.
pub const MAX_PAYLOAD: usize = 7_900;

impl Store {
    /// Send `payload` to every process listening on `channel` (PostgreSQL; a no-op on SQLite).
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<(), Error> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        if payload.len() > MAX_PAYLOAD {
            return Err(Error::internal("notification payload too large"));
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
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
