//! Forgetting what is no longer needed (docs/privacy.md says how long each thing is kept).
use kring_core::{Error, Id};

use crate::sql::Sql;
use crate::{Store, db_err};

/// What one round of forgetting removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Forgotten {
    pub idempotency_keys: u64,
    pub seen_activities: u64,
    pub auth_codes: u64,
    pub revoked_tokens: u64,
}

const DAY: i64 = 24 * 3600 * 1_000_000;

impl Store {
    /// Remove, as of `now` (microseconds): idempotency keys older than a day (a retried post
    /// comes within minutes), ids of received activities older than a week (redeliveries stop
    /// within days), expired authorisation codes, and tokens revoked over a day ago (a token
    /// not found is as refused as a revoked one).
    pub async fn forget_expired(&self, now: i64) -> Result<Forgotten, Error> {
        let run = async |sql: &'static str, before: i64| -> Result<u64, Error> {
            Ok(sqlx::query(sql)
                .bind(before)
                .execute(&mut *self.writer().await?)
                .await
                .map_err(db_err)?
                .rows_affected())
        };
        Ok(Forgotten {
            idempotency_keys: run(
                "DELETE FROM idempotency_keys WHERE created_at < $1",
                now - DAY,
            )
            .await?,
            seen_activities: run(
                "DELETE FROM inbox_seen WHERE received_at < $1",
                now - 7 * DAY,
            )
            .await?,
            auth_codes: run("DELETE FROM auth_codes WHERE expires_at < $1", now).await?,
            revoked_tokens: run(
                "DELETE FROM access_tokens WHERE revoked_at IS NOT NULL AND revoked_at < $1",
                now - DAY,
            )
            .await?,
        })
    }

    /// Tokens used up to `at` (microseconds): remembered for the person's list of sessions.
    /// Callers write a token at most once an hour and gather the uses of a second into one
    /// call (`kring-service`'s `authenticate`): one statement per 1,000 tokens.
    pub async fn note_token_uses(&self, tokens: &[Id], at: i64) -> Result<(), Error> {
        for chunk in tokens.chunks(1_000) {
            let mut sql = Sql::new("UPDATE access_tokens SET last_used_at = ");
            sql.bind(at);
            sql.push(" WHERE ");
            sql.in_ids(self.backend, "id", chunk);
            sql.query()
                .execute(&mut *self.writer().await?)
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }
}
