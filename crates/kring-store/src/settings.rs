//! Server-wide settings and rules, edited by admins.
use kring_core::{Error, Id};

use crate::{Store, db_err};

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: Id,
    pub text: String,
    pub hint: String,
}

impl Store {
    pub async fn setting(&self, key: &str) -> Result<Option<String>, Error> {
        // Every web page reads the site title: on the hot reads' connections.
        let mut sql = crate::sql::Sql::new("SELECT value FROM settings WHERE key = ");
        sql.bind(key);
        self.text(sql).await
    }

    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1,$2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn rules(&self) -> Result<Vec<Rule>, Error> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, text, hint FROM rules ORDER BY position, id")
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(id, text, hint)| Rule {
                id: Id(id),
                text,
                hint,
            })
            .collect())
    }

    pub async fn add_rule(&self, text: &str, hint: &str) -> Result<Id, Error> {
        let id = Id::generate();
        sqlx::query(
            "INSERT INTO rules (id, text, hint, position) VALUES ($1,$2,$3,(SELECT COUNT(*) FROM rules))",
        )
        .bind(id.0)
        .bind(text)
        .bind(hint)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(id)
    }

    pub async fn delete_rule(&self, id: Id) -> Result<bool, Error> {
        let r = sqlx::query("DELETE FROM rules WHERE id = $1")
            .bind(id.0)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }
}
