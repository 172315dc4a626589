//! Lists of accounts (their timelines are in `feeds`).
use kring_core::model::{Account, List};
use kring_core::{Error, Id};

use sqlx::AssertSqlSafe;

use crate::rows::{ACCOUNT_COLUMNS, AccountRow, ListRow};
use crate::sql::Sql;
use crate::{Store, Tx, db_err};

impl Store {
    pub async fn lists_of(&self, account: Id) -> Result<Vec<List>, Error> {
        let rows: Vec<ListRow> = sqlx::query_as(
            "SELECT id, account_id, title, replies_policy, exclusive FROM lists WHERE account_id = $1 ORDER BY id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(List::from).collect())
    }

    pub async fn list(&self, id: Id) -> Result<Option<List>, Error> {
        let row: Option<ListRow> = sqlx::query_as(
            "SELECT id, account_id, title, replies_policy, exclusive FROM lists WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(List::from))
    }

    /// The lists of `owner` that contain `member`.
    pub async fn lists_with_member(&self, owner: Id, member: Id) -> Result<Vec<List>, Error> {
        let rows: Vec<ListRow> = sqlx::query_as(
            "SELECT l.id, l.account_id, l.title, l.replies_policy, l.exclusive FROM lists l \
             JOIN list_accounts la ON la.list_id = l.id WHERE l.account_id = $1 AND la.account_id = $2 ORDER BY l.id",
        )
        .bind(owner.0)
        .bind(member.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(List::from).collect())
    }

    /// The lists (of any local owner) that contain `member`: for streaming new posts to
    /// lists. On SQLite through the readers (asked for every new post, received ones too).
    pub async fn list_ids_containing(&self, member: Id) -> Result<Vec<Id>, Error> {
        let mut sql = Sql::new("SELECT list_id FROM list_accounts WHERE account_id = ");
        sql.bind(member);
        self.ids(sql).await
    }

    /// `list_ids_containing` for several members in one statement: (member, list) pairs.
    pub async fn list_ids_containing_any(&self, members: &[Id]) -> Result<Vec<(Id, Id)>, Error> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT account_id, list_id FROM list_accounts WHERE ");
        let set = sql.id_set(self.backend, members);
        sql.push(&crate::sql::in_set(self.backend, "account_id", &set));
        let pairs: Vec<(i64, i64)> = self.pairs(sql).await?;
        Ok(pairs.into_iter().map(|(a, l)| (Id(a), Id(l))).collect())
    }

    pub async fn list_members(&self, list: Id, limit: i64) -> Result<Vec<Account>, Error> {
        let rows: Vec<AccountRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM list_accounts la JOIN accounts a ON a.id = la.account_id \
             WHERE la.list_id = $1 ORDER BY a.id LIMIT $2"
        )))
        .bind(list.0)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Account::from).collect())
    }
}

impl Tx {
    pub async fn insert_list(&mut self, list: &List) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO lists (id, account_id, title, replies_policy, exclusive) VALUES ($1,$2,$3,$4,$5)",
        )
        .bind(list.id.0)
        .bind(list.account_id.0)
        .bind(&list.title)
        .bind(&list.replies_policy)
        .bind(list.exclusive as i64)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn update_list(&mut self, list: &List) -> Result<(), Error> {
        sqlx::query(
            "UPDATE lists SET title = $1, replies_policy = $2, exclusive = $3 WHERE id = $4",
        )
        .bind(&list.title)
        .bind(&list.replies_policy)
        .bind(list.exclusive as i64)
        .bind(list.id.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn delete_list(&mut self, id: Id) -> Result<(), Error> {
        sqlx::query("DELETE FROM lists WHERE id = $1")
            .bind(id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub async fn add_list_member(&mut self, list: Id, account: Id) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO list_accounts (list_id, account_id) VALUES ($1,$2) ON CONFLICT DO NOTHING",
        )
        .bind(list.0)
        .bind(account.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn remove_list_member(&mut self, list: Id, account: Id) -> Result<(), Error> {
        sqlx::query("DELETE FROM list_accounts WHERE list_id = $1 AND account_id = $2")
            .bind(list.0)
            .bind(account.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Remove `member` from all of `owner`'s lists (after an unfollow, as Mastodon does).
    pub async fn remove_from_owner_lists(&mut self, owner: Id, member: Id) -> Result<(), Error> {
        sqlx::query(
            "DELETE FROM list_accounts WHERE account_id = $1 AND list_id IN (SELECT id FROM lists WHERE account_id = $2)",
        )
        .bind(member.0)
        .bind(owner.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}
