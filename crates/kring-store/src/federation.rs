//! What federation stores: remote accounts and their endpoints, per-domain delivery health and
//! admin policy, activities already processed, and reports from other servers.
use kring_core::model::Account;
use kring_core::time::now_micros;
use kring_core::{Error, Id};

use crate::rows::{ACCOUNT_COLUMNS, AccountRow};
use crate::sql::Sql;
use crate::{Backend, Store, Tx, db_err};

/// A remote actor as fetched, to create or refresh its account.
#[derive(Debug, Clone)]
pub struct RemoteAccount {
    pub uri: String,
    pub username: String,
    pub domain: String,
    pub display_name: String,
    pub note_html: String,
    pub fields: Vec<kring_core::model::ProfileField>,
    pub bot: bool,
    /// Actor type `Group` (a Lemmy community, a Friendica forum, another Kring's group).
    pub group: bool,
    pub locked: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub url: String,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub followers_url: String,
    pub following_url: String,
    pub outbox_url: String,
    pub public_key_pem: String,
    /// The id of that key (`publicKey.id` in the owner's document).
    pub public_key_id: String,
    pub avatar_url: Option<String>,
    pub header_url: Option<String>,
    pub also_known_as: Vec<String>,
    pub created_at: i64,
}

/// What a remote server says of one of its accounts: its collections' `totalItems`
/// (`None` where not given).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemoteCounts {
    pub followers: Option<i64>,
    pub following: Option<i64>,
    pub statuses: Option<i64>,
}

/// What a remote server says of one of its posts: the `totalItems` of its `replies`, `shares`
/// and `likes` collections (`None` where not given).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PostCounts {
    pub replies: Option<i64>,
    pub reblogs: Option<i64>,
    pub favourites: Option<i64>,
}

impl PostCounts {
    /// Whether any of these is larger than the counters `s` has.
    pub fn exceed(&self, s: &kring_core::model::Status) -> bool {
        self.replies.is_some_and(|n| n > s.replies_count)
            || self.reblogs.is_some_and(|n| n > s.reblogs_count)
            || self.favourites.is_some_and(|n| n > s.favourites_count)
    }
}

/// An admin's policy for a remote domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainBlock {
    Silence,
    Suspend,
}

/// A report to store.
pub struct NewReport<'a> {
    pub reporter: Id,
    pub target: Id,
    pub status_ids: &'a [Id],
    pub comment: &'a str,
    pub category: kring_core::model::ReportCategory,
    pub forwarded: bool,
    /// The Flag activity's id, for reports from other servers.
    pub uri: Option<&'a str>,
}

#[derive(Debug, Clone, Default)]
pub struct DomainPolicy {
    pub block: Option<DomainBlock>,
    pub reject_media: bool,
    pub allowed: bool,
}

impl Store {
    /// Remote followers' inboxes, shared inboxes de-duplicated.
    pub async fn follower_inboxes(&self, account: Id) -> Result<Vec<String>, Error> {
        sqlx::query_scalar(
            "SELECT DISTINCT CASE WHEN a.shared_inbox_url IS NOT NULL AND a.shared_inbox_url <> '' THEN a.shared_inbox_url ELSE a.inbox_url END \
             FROM follows f JOIN accounts a ON a.id = f.account_id WHERE f.target_id = $1 AND a.domain <> '' AND a.inbox_url <> ''",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)
    }

    /// The remote account whose stored key has this id (the latest fetched, should two
    /// actors of one server list the same key id).
    pub async fn account_by_key_id(&self, key_id: &str) -> Result<Option<Account>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.domain <> '' AND a.public_key_id = "
        ));
        sql.bind(key_id);
        sql.push(" ORDER BY a.updated_at DESC LIMIT 1");
        // A delivery's signer whose key is not in memory yet.
        self.account_row(sql).await
    }

    /// A remote account's `followers`, `following` and `outbox` collection URLs, as its actor
    /// document last named them (empty where it named none).
    pub async fn collection_urls(&self, account: Id) -> Result<Option<[String; 3]>, Error> {
        let row: Option<(String, String, String)> = sqlx::query_as(
            "SELECT followers_url, following_url, outbox_url FROM accounts WHERE id = $1",
        )
        .bind(account.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(|(a, b, c)| [a, b, c]))
    }

    pub async fn domain_policy(&self, domain: &str) -> Result<DomainPolicy, Error> {
        let row: Option<(Option<String>, i64, i64)> =
            sqlx::query_as("SELECT block, reject_media, allowed FROM domains WHERE domain = $1")
                .bind(domain.to_ascii_lowercase())
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        Ok(match row {
            None => DomainPolicy::default(),
            Some((block, reject_media, allowed)) => DomainPolicy {
                block: match block.as_deref() {
                    Some("suspend") => Some(DomainBlock::Suspend),
                    Some("silence") => Some(DomainBlock::Silence),
                    _ => None,
                },
                reject_media: reject_media != 0,
                allowed: allowed != 0,
            },
        })
    }

    pub async fn set_domain_policy(
        &self,
        domain: &str,
        policy: &DomainPolicy,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO domains (domain, block, reject_media, allowed, created_at) VALUES ($1,$2,$3,$4,$5) \
             ON CONFLICT (domain) DO UPDATE SET block = excluded.block, reject_media = excluded.reject_media, allowed = excluded.allowed",
        )
        .bind(domain.to_ascii_lowercase())
        .bind(policy.block.map(|b| match b {
            DomainBlock::Silence => "silence",
            DomainBlock::Suspend => "suspend",
        }))
        .bind(policy.reject_media as i64)
        .bind(policy.allowed as i64)
        .bind(now_micros())
        .execute(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Domains with a block, for admins.
    pub async fn blocked_domains(&self) -> Result<Vec<(String, DomainPolicy)>, Error> {
        let rows: Vec<(String, Option<String>, i64, i64)> = sqlx::query_as(
            "SELECT domain, block, reject_media, allowed FROM domains WHERE block IS NOT NULL OR reject_media = 1 OR allowed = 1 ORDER BY domain",
        )
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(d, block, rm, allowed)| {
                let block = match block.as_deref() {
                    Some("suspend") => Some(DomainBlock::Suspend),
                    Some("silence") => Some(DomainBlock::Silence),
                    _ => None,
                };
                (
                    d,
                    DomainPolicy {
                        block,
                        reject_media: rm != 0,
                        allowed: allowed != 0,
                    },
                )
            })
            .collect())
    }

    /// Whether a received activity was applied already (a cheap check before fetching what
    /// it names; [`Tx::mark_seen`] is the one that counts).
    ///
    /// On SQLite through the readers: the inbox asks for most activities it receives.
    pub async fn was_seen(&self, origin: &str, activity_id: &str) -> Result<bool, Error> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM inbox_seen WHERE origin = ");
        sql.bind(origin.to_ascii_lowercase());
        sql.push(" AND activity_id = ");
        sql.bind(activity_id);
        Ok(self.count(sql).await? > 0)
    }

    /// Whether deliveries to this domain have failed for so long that we stop trying.
    pub async fn domain_unreachable(&self, domain: &str) -> Result<bool, Error> {
        let since: Option<Option<i64>> =
            sqlx::query_scalar("SELECT unreachable_since FROM domains WHERE domain = $1")
                .bind(domain.to_ascii_lowercase())
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        // Unreachable for a week: give up until it answers again (it is retried then by any
        // activity it sends us, which marks it reachable).
        Ok(since
            .flatten()
            .is_some_and(|t| now_micros() - t > 7 * 86_400 * 1_000_000))
    }

    pub async fn record_delivery(&self, domain: &str, ok: bool) -> Result<(), Error> {
        let now = now_micros();
        let sql = if ok {
            "INSERT INTO domains (domain, failures, last_success_at, created_at) VALUES ($1, 0, $2, $2) \
             ON CONFLICT (domain) DO UPDATE SET failures = 0, unreachable_since = NULL, last_success_at = $2"
        } else {
            "INSERT INTO domains (domain, failures, unreachable_since, created_at) VALUES ($1, 1, $2, $2) \
             ON CONFLICT (domain) DO UPDATE SET failures = domains.failures + 1, \
             unreachable_since = CASE WHEN domains.unreachable_since IS NULL THEN $2 ELSE domains.unreachable_since END"
        };
        sqlx::query(sql)
            .bind(domain.to_ascii_lowercase())
            .bind(now)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Remote accounts of a domain (to suspend them with the domain).
    /// Lift a domain's suspension from the accounts it suspended (accounts suspended for
    /// other reasons, by a moderator or because they were deleted, stay suspended).
    pub async fn lift_domain_suspension(&self, domain: &str) -> Result<u64, Error> {
        let r = sqlx::query(
            "UPDATE accounts SET suspended_at = NULL, domain_suspended = 0 \
             WHERE domain = $1 AND domain_suspended = 1",
        )
        .bind(domain.to_ascii_lowercase())
        .execute(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        self.account_cache
            .changed(&crate::account_cache::Changed::All);
        Ok(r.rows_affected())
    }

    pub async fn accounts_of_domain(&self, domain: &str) -> Result<Vec<Account>, Error> {
        let rows: Vec<AccountRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.domain = $1"
        )))
        .bind(domain.to_ascii_lowercase())
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Account::from).collect())
    }

    pub async fn follow_uri(&self, account: Id, target: Id) -> Result<Option<String>, Error> {
        let uri: Option<Option<String>> = sqlx::query_scalar(
            "SELECT uri FROM follows WHERE account_id = $1 AND target_id = $2 \
             UNION ALL SELECT uri FROM follow_requests WHERE account_id = $1 AND target_id = $2",
        )
        .bind(account.0)
        .bind(target.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(uri.flatten())
    }
}

impl Tx {
    /// Whether an activity for the followers of `followers_of` and for `accounts` may reach
    /// another server, as `follower_inboxes` and a distribution's account reads would find
    /// (it is only queued then). For followers it asks, among the first `examine` of them,
    /// for one who is not a local user (a probe of the small `users` table per follower,
    /// where `follower_inboxes`' join reads each follower's account row), and answers yes for
    /// an account with more followers than that: the probe runs under the write lock, so its
    /// cost is bounded, and the distribution decides for the rest as it always did. A local
    /// account without a user (a group, the instance actor) answers yes, as a remote one
    /// would: then the distribution runs and finds nobody. In the transaction, so that an
    /// account or follow it wrote counts.
    pub async fn reaches_elsewhere(
        &mut self,
        followers_of: Option<Id>,
        examine: i64,
        accounts: &[Id],
    ) -> Result<bool, Error> {
        let mut sql = Sql::new("SELECT ");
        if let Some(of) = followers_of {
            sql.push(
                "(SELECT COUNT(*) FROM (SELECT f.account_id FROM follows f WHERE f.target_id = ",
            );
            let of = sql.bind(of);
            sql.push(" LIMIT ");
            let examine = sql.bind(examine);
            sql.push(
                ") x WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.account_id = x.account_id)) \
                 + (SELECT COUNT(*) FROM (SELECT 1 FROM follows f WHERE f.target_id = ",
            );
            sql.push(&of);
            sql.push(" LIMIT 1 OFFSET ");
            sql.push(&examine);
            sql.push(") y) + ");
        }
        sql.push("(SELECT COUNT(*) FROM accounts a WHERE a.domain <> '' AND ");
        sql.in_ids(self.backend, "a.id", accounts);
        sql.push(")");
        let n: i64 =
            sqlx::query_scalar_with(sqlx::AssertSqlSafe(sql.text.clone()), sql.arguments())
                .fetch_one(&mut *self.tx)
                .await
                .map_err(db_err)?;
        Ok(n > 0)
    }

    /// Create or refresh a remote account; returns its id.
    pub async fn upsert_remote_account(&mut self, r: &RemoteAccount) -> Result<Id, Error> {
        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE uri = $1")
            .bind(&r.uri)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_err)?;
        let fields = serde_json::to_string(&r.fields).unwrap_or_else(|_| "[]".into());
        let aka = serde_json::to_string(&r.also_known_as).unwrap_or_else(|_| "[]".into());
        let now = now_micros();
        let id = match existing {
            Some(id) => {
                sqlx::query(
                    "UPDATE accounts SET username = $1, display_name = $2, note = $3, note_html = $3, fields = $4, bot = $5, \
                     locked = $6, discoverable = $7, indexable = $8, url = $9, inbox_url = $10, shared_inbox_url = $11, \
                     followers_url = $12, following_url = $13, outbox_url = $14, public_key_pem = $15, avatar_url = $16, \
                     header_url = $17, also_known_as = $18, fetched_at = $19, updated_at = $19, public_key_id = $21, is_group = $22 WHERE id = $20",
                )
                .bind(&r.username)
                .bind(&r.display_name)
                .bind(&r.note_html)
                .bind(&fields)
                .bind(r.bot as i64)
                .bind(r.locked as i64)
                .bind(r.discoverable as i64)
                .bind(r.indexable as i64)
                .bind(&r.url)
                .bind(&r.inbox_url)
                .bind(r.shared_inbox_url.as_deref())
                .bind(&r.followers_url)
                .bind(&r.following_url)
                .bind(&r.outbox_url)
                .bind(&r.public_key_pem)
                .bind(r.avatar_url.as_deref())
                .bind(r.header_url.as_deref())
                .bind(&aka)
                .bind(now)
                .bind(id)
                .bind(&r.public_key_id)
                .bind(r.group as i64)
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
                Id(id)
            }
            None => {
                let id = Id::generate();
                sqlx::query(
                    "INSERT INTO accounts (id, username, domain, display_name, note, note_html, fields, bot, locked, discoverable, \
                     indexable, uri, url, inbox_url, shared_inbox_url, followers_url, following_url, outbox_url, public_key_pem, \
                     avatar_url, header_url, also_known_as, fetched_at, created_at, updated_at, public_key_id, is_group) \
                     VALUES ($1,$2,$3,$4,$5,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$22,$24,$25)",
                )
                .bind(id.0)
                .bind(&r.username)
                .bind(r.domain.to_ascii_lowercase())
                .bind(&r.display_name)
                .bind(&r.note_html)
                .bind(&fields)
                .bind(r.bot as i64)
                .bind(r.locked as i64)
                .bind(r.discoverable as i64)
                .bind(r.indexable as i64)
                .bind(&r.uri)
                .bind(&r.url)
                .bind(&r.inbox_url)
                .bind(r.shared_inbox_url.as_deref())
                .bind(&r.followers_url)
                .bind(&r.following_url)
                .bind(&r.outbox_url)
                .bind(&r.public_key_pem)
                .bind(r.avatar_url.as_deref())
                .bind(r.header_url.as_deref())
                .bind(&aka)
                .bind(now)
                .bind(r.created_at)
                .bind(&r.public_key_id)
                .bind(r.group as i64)
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
                id
            }
        };
        self.touch(id);
        Ok(id)
    }

    /// Record a received activity, by its origin (the signer's host) and id, in the
    /// transaction that applies it; false when it was applied before. Rolling the transaction
    /// back (a failure while applying) leaves it unseen, so a retry applies it.
    pub async fn mark_seen(&mut self, origin: &str, activity_id: &str) -> Result<bool, Error> {
        let r = sqlx::query(
            "INSERT INTO inbox_seen (origin, activity_id, received_at) VALUES ($1,$2,$3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(origin.to_ascii_lowercase())
        .bind(activity_id)
        .bind(now_micros())
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }

    /// `mark_seen` for several activities in one statement (a claim of received posts): the
    /// (origin, activity id) pairs it marked now, origins in lower case. A pair named twice
    /// is marked, and returned, once.
    pub async fn mark_all_seen(
        &mut self,
        seen: &[(&str, &str)],
    ) -> Result<Vec<(String, String)>, Error> {
        if seen.is_empty() {
            return Ok(Vec::new());
        }
        // One JSON array of [origin, id] pairs: one statement text whatever the claim's size
        // (a VALUES row per activity made a prepared statement per size).
        let pairs: Vec<(String, &str)> = seen
            .iter()
            .map(|(origin, id)| (origin.to_ascii_lowercase(), *id))
            .collect();
        let pairs = serde_json::to_string(&pairs).map_err(Error::internal)?;
        let mut sql = Sql::new("INSERT INTO inbox_seen (origin, activity_id, received_at) SELECT ");
        match self.backend {
            Backend::Postgres => {
                sql.push("m->>0, m->>1, ");
                sql.bind(now_micros());
                sql.push(" FROM json_array_elements(CAST(");
                sql.bind(pairs);
                sql.push(" AS json)) AS m");
            }
            Backend::Sqlite => {
                sql.push("value ->> 0, value ->> 1, ");
                sql.bind(now_micros());
                sql.push(" FROM json_each(");
                sql.bind(pairs);
                // The WHERE keeps SQLite from reading ON CONFLICT as a join constraint.
                sql.push(") WHERE 1 = 1");
            }
        }
        sql.push(" ON CONFLICT DO NOTHING RETURNING origin, activity_id");
        sql.query_as()
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_err)
    }

    /// The (follower, target) of a follow or follow request by its activity id.
    pub async fn follow_by_uri(&mut self, uri: &str) -> Result<Option<(Id, Id, bool)>, Error> {
        let row: Option<(i64, i64, i64)> = sqlx::query_as(
            "SELECT account_id, target_id, 1 FROM follows WHERE uri = $1 \
             UNION ALL SELECT account_id, target_id, 0 FROM follow_requests WHERE uri = $1",
        )
        .bind(uri)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(row.map(|(a, t, accepted)| (Id(a), Id(t), accepted != 0)))
    }

    pub async fn insert_report(&mut self, r: &NewReport<'_>) -> Result<Id, Error> {
        let id = Id::generate();
        sqlx::query(
            "INSERT INTO reports (id, account_id, target_account_id, status_ids, comment, uri, created_at, category, forwarded) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        )
        .bind(id.0)
        .bind(r.reporter.0)
        .bind(r.target.0)
        .bind(serde_json::to_string(&r.status_ids.iter().map(|i| i.0).collect::<Vec<_>>()).unwrap_or_default())
        .bind(r.comment)
        .bind(r.uri)
        .bind(now_micros())
        .bind(r.category.as_str())
        .bind(i64::from(r.forwarded))
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        if !r.status_ids.is_empty() {
            // A report about a post in a group goes to the group's moderators too.
            let mut sql = crate::sql::Sql::new(
                "UPDATE reports SET group_id = (SELECT gs.group_id FROM group_statuses gs WHERE gs.removed_at IS NULL AND ",
            );
            sql.in_ids(self.backend, "gs.status_id", r.status_ids);
            sql.push(" ORDER BY gs.status_id LIMIT 1) WHERE id = ");
            sql.bind(id);
            sql.query().execute(&mut *self.tx).await.map_err(db_err)?;
        }
        Ok(id)
    }

    /// Store what a remote account's server said of its collections, read at `at`. A count not
    /// given this time keeps the one read before (a collection that failed to load says
    /// nothing about its size).
    pub async fn set_remote_counts(
        &mut self,
        account: Id,
        counts: &RemoteCounts,
        at: i64,
    ) -> Result<(), Error> {
        self.touch(account);
        sqlx::query(
            "UPDATE accounts SET remote_followers_count = COALESCE($1, remote_followers_count), \
             remote_following_count = COALESCE($2, remote_following_count), \
             remote_statuses_count = COALESCE($3, remote_statuses_count), collections_fetched_at = $4 \
             WHERE id = $5 AND domain <> ''",
        )
        .bind(counts.followers)
        .bind(counts.following)
        .bind(counts.statuses)
        .bind(at)
        .bind(account.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Raise a remote post's counters to what its server says, where that is more: the
    /// counters also move with what happens here (favourites, boosts and replies of people
    /// here), and a snapshot from elsewhere must not undo those.
    pub async fn raise_post_counts(&mut self, status: Id, c: &PostCounts) -> Result<(), Error> {
        sqlx::query(
            "UPDATE statuses SET \
             replies_count = CASE WHEN $1 > replies_count THEN $1 ELSE replies_count END, \
             reblogs_count = CASE WHEN $2 > reblogs_count THEN $2 ELSE reblogs_count END, \
             favourites_count = CASE WHEN $3 > favourites_count THEN $3 ELSE favourites_count END \
             WHERE id = $4 AND local = 0",
        )
        .bind(c.replies.unwrap_or(0))
        .bind(c.reblogs.unwrap_or(0))
        .bind(c.favourites.unwrap_or(0))
        .bind(status.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// The other accounts a local account says are also it (`alsoKnownAs`): what lets one of
    /// them move here.
    pub async fn set_also_known_as(&mut self, account: Id, uris: &[String]) -> Result<(), Error> {
        self.touch(account);
        sqlx::query("UPDATE accounts SET also_known_as = $1, updated_at = $2 WHERE id = $3")
            .bind(serde_json::to_string(uris).unwrap_or_else(|_| "[]".into()))
            .bind(now_micros())
            .bind(account.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub async fn set_moved_to(&mut self, account: Id, target: Id) -> Result<(), Error> {
        self.touch(account);
        sqlx::query("UPDATE accounts SET moved_to_id = $1 WHERE id = $2")
            .bind(target.0)
            .bind(account.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
