//! Fixtures shared by the store tests. Every test gets a fresh database: a temporary SQLite file,
//! or, when `KRING_TEST_DATABASE_URL` is set, a new database on that PostgreSQL server (created
//! here and dropped, best effort, when the [`Guard`] goes away). The same tests run on both.
#![allow(dead_code)]

use std::sync::atomic::{AtomicI64, Ordering};

use kring_core::model::{Account, Page, Role, Status};
use kring_core::time::now_micros;
use kring_core::{Audience, Id, Visibility};
use kring_store::{Backend, FollowOptions, NewAccount, NewStatus, NewUser, Store};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

pub const PG_ENV: &str = "KRING_TEST_DATABASE_URL";

/// Keeps a test's database alive; removes it when dropped.
pub struct Guard {
    pub backend: Backend,
    /// The URL the store was connected with (to open a second store on the same database).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL: (server URL to connect to for the drop, database name).
    pg: Option<(String, String)>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let Some((server, name)) = self.pg.take() else {
            return;
        };
        // Drop runs inside the test's runtime; do the async work on a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&server).await {
                    let _ = sqlx::query(AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// A fresh, migrated store on the backend chosen by the environment.
pub async fn store() -> (Store, Guard) {
    let (store, guard) = empty_store().await;
    store.migrate().await.expect("migrate");
    (store, guard)
}

/// A fresh store on an empty (unmigrated) database.
pub async fn empty_store() -> (Store, Guard) {
    let guard = match std::env::var(PG_ENV) {
        Ok(server) if !server.is_empty() => fresh_pg(server).await,
        _ => fresh_sqlite(),
    };
    let store = Store::connect(&guard.url, 4).await.expect("connect");
    assert_eq!(store.backend(), guard.backend);
    (store, guard)
}

fn fresh_sqlite() -> Guard {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("kring.db").display());
    Guard {
        backend: Backend::Sqlite,
        url,
        _dir: Some(dir),
        pg: None,
    }
}

async fn fresh_pg(server: String) -> Guard {
    let name = format!("kring_s_{:016x}", rand::random::<u64>());
    let mut conn = PgConnection::connect(&server)
        .await
        .expect("connect to the PostgreSQL test server");
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create the test database");
    let _ = conn.close().await;
    Guard {
        backend: Backend::Postgres,
        url: with_database(&server, &name),
        _dir: None,
        pg: Some((server, name)),
    }
}

/// `postgres://u:p@host:port/db?opts` with `db` replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// Strictly increasing, time-based ids for the rows tests make themselves (timelines sort by
/// id; this keeps "made later" meaning "sorts later" within the process).
pub fn id() -> Id {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let candidate = Id::generate().0;
    let mut prev = LAST.load(Ordering::Relaxed);
    loop {
        let next = candidate.max(prev + 1);
        match LAST.compare_exchange(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return Id(next),
            Err(p) => prev = p,
        }
    }
}

pub fn new_account(username: &str, domain: Option<&str>) -> NewAccount {
    let host = domain.unwrap_or("kring.test");
    let uri = format!("https://{host}/users/{username}");
    NewAccount {
        id: id(),
        username: username.to_string(),
        domain: domain.map(str::to_string),
        display_name: String::new(),
        note: String::new(),
        note_html: String::new(),
        fields: Vec::new(),
        bot: false,
        group: false,
        locked: false,
        discoverable: true,
        url: format!("https://{host}/@{username}"),
        inbox_url: format!("{uri}/inbox"),
        shared_inbox_url: None,
        followers_url: format!("{uri}/followers"),
        public_key_pem: String::new(),
        private_key_pem: None,
        uri,
        created_at: now_micros(),
    }
}

pub fn new_user(username: &str) -> NewUser {
    NewUser {
        email: format!("{username}@kring.test"),
        password_hash: "x".into(),
        role: Role::User,
        approved: true,
        confirmed: true,
        reason: None,
        locale: "en".into(),
    }
}

/// Insert an account (with a `users` row when it is local) and read it back.
pub async fn insert_account(store: &Store, a: NewAccount) -> Account {
    let mut tx = store.begin().await.unwrap();
    tx.insert_account(&a).await.unwrap();
    if a.domain.is_none() {
        tx.insert_user(a.id, &new_user(&a.username)).await.unwrap();
    }
    tx.commit().await.unwrap();
    store.account(a.id).await.unwrap().expect("account")
}

/// A local account with a user.
pub async fn local(store: &Store, username: &str) -> Account {
    insert_account(store, new_account(username, None)).await
}

/// A remote account (no user).
pub async fn remote(store: &Store, username: &str, domain: &str) -> Account {
    insert_account(store, new_account(username, Some(domain))).await
}

/// A status to insert; `Post::new(&author, visibility).mention(..).reply_to(..).insert(&store)`.
pub struct Post {
    new: NewStatus,
}

impl Post {
    pub fn new(author: &Account, visibility: Visibility) -> Post {
        let sid = id();
        let host = author.domain.as_deref().unwrap_or("kring.test");
        Post {
            new: NewStatus {
                id: sid,
                account_id: author.id,
                uri: format!("https://{host}/users/{}/statuses/{sid}", author.username),
                url: format!("https://{host}/@{}/{sid}", author.username),
                local: author.domain.is_none(),
                in_reply_to_id: None,
                in_reply_to_account_id: None,
                reblog_of_id: None,
                conversation_id: sid,
                text: format!("post {sid}"),
                content: format!("<p>post {sid}</p>"),
                spoiler_text: String::new(),
                sensitive: false,
                language: Some("en".into()),
                visibility,
                audience: Audience::for_visibility(visibility, author.id, &[]),
                interaction_policy: None,
                pending_approval_by: None,
                application_id: None,
                mentions: Vec::new(),
                tags: Vec::new(),
                created_at: now_micros(),
            },
        }
    }

    pub fn mention(mut self, ids: &[Id]) -> Post {
        self.new.mentions.extend_from_slice(ids);
        self
    }

    pub fn reply_to(mut self, parent: &Status) -> Post {
        self.new.in_reply_to_id = Some(parent.id);
        self.new.in_reply_to_account_id = Some(parent.account_id);
        self.new.conversation_id = parent.conversation_id;
        self
    }

    /// A boost of `orig` (the author of the `Post` is the booster).
    pub fn boost_of(mut self, orig: &Status) -> Post {
        self.new.reblog_of_id = Some(orig.id);
        self.new.conversation_id = orig.conversation_id;
        self.new.text.clear();
        self.new.content.clear();
        self.new.uri.push_str("/activity");
        self
    }

    pub fn tags(mut self, tags: &[&str]) -> Post {
        self.new.tags = tags.iter().map(|t| t.to_string()).collect();
        self
    }

    pub fn text(mut self, text: &str) -> Post {
        self.new.text = text.to_string();
        self.new.content = format!("<p>{text}</p>");
        self
    }

    pub fn spoiler(mut self, spoiler: &str) -> Post {
        self.new.spoiler_text = spoiler.to_string();
        self
    }

    pub fn build(mut self) -> NewStatus {
        self.new.audience =
            Audience::for_visibility(self.new.visibility, self.new.account_id, &self.new.mentions);
        self.new
    }

    pub async fn insert(self, store: &Store) -> Status {
        let new = self.build();
        let mut tx = store.begin().await.unwrap();
        tx.insert_status(&new).await.unwrap();
        tx.commit().await.unwrap();
        store.status(new.id).await.unwrap().expect("status")
    }
}

pub const FOLLOW: FollowOptions = FollowOptions {
    show_reblogs: true,
    notify: false,
};

/// `a` follows `b`, with the counters kept as the service keeps them.
pub async fn follow(store: &Store, a: Id, b: Id) {
    follow_with(store, a, b, FOLLOW).await;
}

pub async fn follow_with(store: &Store, a: Id, b: Id, opts: FollowOptions) {
    let mut tx = store.begin().await.unwrap();
    if tx.insert_follow(a, b, opts, None).await.unwrap() {
        tx.bump_counts(a, 0, 1, 0).await.unwrap();
        tx.bump_counts(b, 1, 0, 0).await.unwrap();
    }
    tx.commit().await.unwrap();
}

pub async fn block(store: &Store, a: Id, b: Id) {
    let mut tx = store.begin().await.unwrap();
    tx.insert_block(a, b).await.unwrap();
    tx.commit().await.unwrap();
}

pub fn newest(limit: usize) -> Page {
    Page::newest(limit)
}

pub fn ids<T>(items: &[T], id: impl Fn(&T) -> Id) -> Vec<Id> {
    items.iter().map(id).collect()
}

pub fn status_ids(items: &[Status]) -> Vec<Id> {
    items.iter().map(|s| s.id).collect()
}

/// Wait until `now_micros()` is past `t` (for leases and expiries set a moment ahead).
pub async fn wait_past(t: i64) {
    while now_micros() <= t {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}
