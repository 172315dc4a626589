//! Rows as the database returns them, and their conversion to domain records. Flags are read
//! as integers (0/1) on both backends.
use kring_core::model::{
    Account, App, List, Marker, Notification, NotificationType, ProfileField, Role, Status,
    StatusEdit, User,
};
use kring_core::time::Micros;
use kring_core::{Id, Visibility};

pub(crate) const ACCOUNT_COLUMNS: &str = "a.id, a.username, a.domain, a.display_name, a.note, a.note_html, a.fields, \
    a.bot, a.is_group, a.locked, a.discoverable, a.indexable, a.hide_collections, a.avatar_url, a.header_url, a.uri, a.url, \
    a.inbox_url, a.shared_inbox_url, a.followers_url, a.public_key_pem, a.also_known_as, a.moved_to_id, \
    a.followers_count, a.following_count, a.statuses_count, a.last_status_at, a.suspended_at, a.created_at, a.updated_at, \
    a.remote_followers_count, a.remote_following_count, a.remote_statuses_count, a.collections_fetched_at";

/// How many columns `ACCOUNT_COLUMNS` names (a user's columns follow them in `ActorRow`).
pub(crate) const ACCOUNT_COLUMN_COUNT: usize = 34;

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: i64,
    username: String,
    domain: String,
    display_name: String,
    note: String,
    note_html: String,
    fields: String,
    bot: i64,
    is_group: i64,
    locked: i64,
    discoverable: i64,
    indexable: i64,
    hide_collections: i64,
    avatar_url: Option<String>,
    header_url: Option<String>,
    uri: String,
    url: String,
    inbox_url: String,
    shared_inbox_url: Option<String>,
    followers_url: String,
    public_key_pem: String,
    also_known_as: String,
    moved_to_id: Option<i64>,
    followers_count: i64,
    following_count: i64,
    statuses_count: i64,
    last_status_at: Option<i64>,
    suspended_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    remote_followers_count: Option<i64>,
    remote_following_count: Option<i64>,
    remote_statuses_count: Option<i64>,
    collections_fetched_at: Option<i64>,
}

impl AccountRow {
    /// A row of `ACCOUNT_COLUMNS` read on a SQLite reader.
    pub(crate) fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccountRow> {
        Ok(AccountRow {
            id: r.get(0)?,
            username: r.get(1)?,
            domain: r.get(2)?,
            display_name: r.get(3)?,
            note: r.get(4)?,
            note_html: r.get(5)?,
            fields: r.get(6)?,
            bot: r.get(7)?,
            is_group: r.get(8)?,
            locked: r.get(9)?,
            discoverable: r.get(10)?,
            indexable: r.get(11)?,
            hide_collections: r.get(12)?,
            avatar_url: r.get(13)?,
            header_url: r.get(14)?,
            uri: r.get(15)?,
            url: r.get(16)?,
            inbox_url: r.get(17)?,
            shared_inbox_url: r.get(18)?,
            followers_url: r.get(19)?,
            public_key_pem: r.get(20)?,
            also_known_as: r.get(21)?,
            moved_to_id: r.get(22)?,
            followers_count: r.get(23)?,
            following_count: r.get(24)?,
            statuses_count: r.get(25)?,
            last_status_at: r.get(26)?,
            suspended_at: r.get(27)?,
            created_at: r.get(28)?,
            updated_at: r.get(29)?,
            remote_followers_count: r.get(30)?,
            remote_following_count: r.get(31)?,
            remote_statuses_count: r.get(32)?,
            collections_fetched_at: r.get(33)?,
        })
    }
}

/// A count shown for an account: the counter kept here, or what the account's own server last
/// said (its collection's `totalItems`) when that is larger. Both fall short of the truth in
/// their own way — the remote number may be a day old, and this server knows only the
/// followers, follows and posts that reached it — so the larger is the better guess, and a
/// profile never claims fewer posts or followers than it lists. Local accounts have no remote
/// numbers.
fn shown_count(here: i64, remote: Option<i64>) -> i64 {
    here.max(remote.unwrap_or(0))
}

impl From<AccountRow> for Account {
    fn from(r: AccountRow) -> Account {
        Account {
            id: Id(r.id),
            username: r.username,
            domain: (!r.domain.is_empty()).then_some(r.domain),
            display_name: r.display_name,
            note: r.note,
            note_html: r.note_html,
            fields: serde_json::from_str(&r.fields).unwrap_or_default(),
            bot: r.bot != 0,
            group: r.is_group != 0,
            locked: r.locked != 0,
            discoverable: r.discoverable != 0,
            indexable: r.indexable != 0,
            hide_collections: r.hide_collections != 0,
            avatar_url: r.avatar_url,
            header_url: r.header_url,
            uri: r.uri,
            url: r.url,
            inbox_url: r.inbox_url,
            shared_inbox_url: r.shared_inbox_url,
            followers_url: r.followers_url,
            public_key_pem: r.public_key_pem,
            also_known_as: serde_json::from_str(&r.also_known_as).unwrap_or_default(),
            moved_to_id: r.moved_to_id.map(Id),
            followers_count: shown_count(r.followers_count, r.remote_followers_count),
            following_count: shown_count(r.following_count, r.remote_following_count),
            statuses_count: shown_count(r.statuses_count, r.remote_statuses_count),
            collections_fetched_at: r.collections_fetched_at,
            last_status_at: r.last_status_at,
            suspended_at: r.suspended_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// What creating an account needs; the store fills counters and timestamps.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub id: Id,
    pub username: String,
    pub domain: Option<String>,
    pub display_name: String,
    pub note: String,
    pub note_html: String,
    pub fields: Vec<ProfileField>,
    pub bot: bool,
    /// A group's account (actor type `Group`).
    pub group: bool,
    pub locked: bool,
    pub discoverable: bool,
    pub uri: String,
    pub url: String,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub followers_url: String,
    pub public_key_pem: String,
    pub private_key_pem: Option<String>,
    pub created_at: Micros,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub approved: bool,
    pub confirmed: bool,
    pub reason: Option<String>,
    pub locale: String,
}

pub(crate) const USER_COLUMNS: &str = "u.account_id, u.email, u.password_hash, u.role, u.approved, u.confirmed, u.reason, \
    u.locale, u.default_visibility, u.default_sensitive, u.default_language, u.created_at AS user_created_at";

/// Named apart from the account's `created_at`, so one row can carry both (`ActorRow`).
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    account_id: i64,
    email: String,
    password_hash: String,
    role: String,
    approved: i64,
    confirmed: i64,
    reason: Option<String>,
    locale: String,
    default_visibility: String,
    default_sensitive: i64,
    default_language: Option<String>,
    #[sqlx(rename = "user_created_at")]
    created_at: i64,
}

/// A local account with its user record, read in one statement (every signed-in request).
#[derive(sqlx::FromRow)]
pub(crate) struct ActorRow {
    #[sqlx(flatten)]
    pub account: AccountRow,
    #[sqlx(flatten)]
    pub user: UserRow,
}

impl UserRow {
    /// `USER_COLUMNS` read on a SQLite reader, from column `first` on (after an account's
    /// columns in an `ActorRow`).
    pub(crate) fn from_sqlite(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<UserRow> {
        Ok(UserRow {
            account_id: r.get(first)?,
            email: r.get(first + 1)?,
            password_hash: r.get(first + 2)?,
            role: r.get(first + 3)?,
            approved: r.get(first + 4)?,
            confirmed: r.get(first + 5)?,
            reason: r.get(first + 6)?,
            locale: r.get(first + 7)?,
            default_visibility: r.get(first + 8)?,
            default_sensitive: r.get(first + 9)?,
            default_language: r.get(first + 10)?,
            created_at: r.get(first + 11)?,
        })
    }
}

impl ActorRow {
    /// `ACCOUNT_COLUMNS` then `USER_COLUMNS`, read on a SQLite reader.
    pub(crate) fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<ActorRow> {
        Ok(ActorRow {
            account: AccountRow::from_sqlite(r)?,
            user: UserRow::from_sqlite(r, ACCOUNT_COLUMN_COUNT)?,
        })
    }
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> User {
        User {
            account_id: Id(r.account_id),
            email: r.email,
            password_hash: r.password_hash,
            role: Role::parse(&r.role).unwrap_or(Role::User),
            approved: r.approved != 0,
            confirmed: r.confirmed != 0,
            reason: r.reason,
            locale: r.locale,
            default_visibility: Visibility::parse(&r.default_visibility).unwrap_or_default(),
            default_sensitive: r.default_sensitive != 0,
            default_language: r.default_language,
            created_at: r.created_at,
        }
    }
}

pub(crate) const STATUS_COLUMNS: &str = "s.id, s.account_id, s.uri, s.url, s.local, s.in_reply_to_id, s.in_reply_to_account_id, \
    s.reblog_of_id, s.conversation_id, s.text, s.content, s.spoiler_text, s.sensitive, s.language, s.visibility, \
    s.application_id, s.replies_count, s.reblogs_count, s.favourites_count, s.created_at, s.edited_at, s.local_only, \
    s.interaction_policy, s.pending_approval_by";

#[derive(sqlx::FromRow)]
pub(crate) struct StatusRow {
    id: i64,
    account_id: i64,
    uri: String,
    url: String,
    local: i64,
    in_reply_to_id: Option<i64>,
    in_reply_to_account_id: Option<i64>,
    reblog_of_id: Option<i64>,
    conversation_id: i64,
    text: String,
    content: String,
    spoiler_text: String,
    sensitive: i64,
    language: Option<String>,
    visibility: String,
    application_id: Option<i64>,
    replies_count: i64,
    reblogs_count: i64,
    favourites_count: i64,
    created_at: i64,
    edited_at: Option<i64>,
    local_only: i64,
    interaction_policy: Option<String>,
    pending_approval_by: Option<i64>,
}

impl StatusRow {
    /// The interaction policy as stored (JSON).
    pub(crate) fn interaction_policy_text(&self) -> Option<&str> {
        self.interaction_policy.as_deref()
    }

    /// A row of `STATUS_COLUMNS` (in that order) read by the SQLite readers (`readers`).
    pub(crate) fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<StatusRow> {
        Ok(StatusRow {
            id: r.get(0)?,
            account_id: r.get(1)?,
            uri: r.get(2)?,
            url: r.get(3)?,
            local: r.get(4)?,
            in_reply_to_id: r.get(5)?,
            in_reply_to_account_id: r.get(6)?,
            reblog_of_id: r.get(7)?,
            conversation_id: r.get(8)?,
            text: r.get(9)?,
            content: r.get(10)?,
            spoiler_text: r.get(11)?,
            sensitive: r.get(12)?,
            language: r.get(13)?,
            visibility: r.get(14)?,
            application_id: r.get(15)?,
            replies_count: r.get(16)?,
            reblogs_count: r.get(17)?,
            favourites_count: r.get(18)?,
            created_at: r.get(19)?,
            edited_at: r.get(20)?,
            local_only: r.get(21)?,
            interaction_policy: r.get(22)?,
            pending_approval_by: r.get(23)?,
        })
    }

    /// A row of `STATUS_COLUMNS` (in that order) read by PostgreSQL's hot reads (`pg_reads`).
    pub(crate) fn from_pg(r: &sqlx::postgres::PgRow) -> Result<StatusRow, sqlx::Error> {
        use crate::pg_reads::{int, opt_int};
        use sqlx::Row;
        Ok(StatusRow {
            id: int(r, 0)?,
            account_id: int(r, 1)?,
            uri: r.try_get(2)?,
            url: r.try_get(3)?,
            local: int(r, 4)?,
            in_reply_to_id: opt_int(r, 5)?,
            in_reply_to_account_id: opt_int(r, 6)?,
            reblog_of_id: opt_int(r, 7)?,
            conversation_id: int(r, 8)?,
            text: r.try_get(9)?,
            content: r.try_get(10)?,
            spoiler_text: r.try_get(11)?,
            sensitive: int(r, 12)?,
            language: r.try_get(13)?,
            visibility: r.try_get(14)?,
            application_id: opt_int(r, 15)?,
            replies_count: int(r, 16)?,
            reblogs_count: int(r, 17)?,
            favourites_count: int(r, 18)?,
            created_at: int(r, 19)?,
            edited_at: opt_int(r, 20)?,
            local_only: int(r, 21)?,
            interaction_policy: r.try_get(22)?,
            pending_approval_by: opt_int(r, 23)?,
        })
    }
}

impl From<StatusRow> for Status {
    fn from(r: StatusRow) -> Status {
        Status {
            id: Id(r.id),
            account_id: Id(r.account_id),
            uri: r.uri,
            url: r.url,
            local: r.local != 0,
            in_reply_to_id: r.in_reply_to_id.map(Id),
            in_reply_to_account_id: r.in_reply_to_account_id.map(Id),
            reblog_of_id: r.reblog_of_id.map(Id),
            conversation_id: Id(r.conversation_id),
            text: r.text,
            content: r.content,
            spoiler_text: r.spoiler_text,
            sensitive: r.sensitive != 0,
            language: r.language,
            visibility: Visibility::parse(&r.visibility).unwrap_or(Visibility::Direct),
            local_only: r.local_only != 0,
            interaction_policy: r
                .interaction_policy
                .as_deref()
                .and_then(kring_core::InteractionPolicy::from_json),
            pending_approval_by: r.pending_approval_by.map(Id),
            application_id: r.application_id.map(Id),
            replies_count: r.replies_count,
            reblogs_count: r.reblogs_count,
            favourites_count: r.favourites_count,
            created_at: r.created_at,
            edited_at: r.edited_at,
        }
    }
}

/// What creating a status needs. The audience decides who may read it.
#[derive(Debug, Clone)]
pub struct NewStatus {
    pub id: Id,
    pub account_id: Id,
    pub uri: String,
    pub url: String,
    pub local: bool,
    pub in_reply_to_id: Option<Id>,
    pub in_reply_to_account_id: Option<Id>,
    pub reblog_of_id: Option<Id>,
    pub conversation_id: Id,
    pub text: String,
    pub content: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub language: Option<String>,
    pub visibility: Visibility,
    pub audience: kring_core::Audience,
    /// None: a remote post whose server sent no policy.
    pub interaction_policy: Option<kring_core::InteractionPolicy>,
    /// Set for a reply or boost stored awaiting this account's approval.
    pub pending_approval_by: Option<Id>,
    pub application_id: Option<Id>,
    pub mentions: Vec<Id>,
    pub tags: Vec<String>,
    pub created_at: Micros,
}

impl NewStatus {
    /// A boost of `orig`: no text of its own, in the original's conversation.
    // Each argument is a distinct column the caller decides; a builder would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub fn boost(
        id: Id,
        account_id: Id,
        uri: String,
        url: String,
        local: bool,
        orig: &Status,
        visibility: Visibility,
        audience: kring_core::Audience,
        created_at: Micros,
    ) -> NewStatus {
        NewStatus {
            id,
            account_id,
            uri,
            url,
            local,
            in_reply_to_id: None,
            in_reply_to_account_id: None,
            reblog_of_id: Some(orig.id),
            conversation_id: orig.conversation_id,
            text: String::new(),
            content: String::new(),
            spoiler_text: String::new(),
            sensitive: false,
            language: None,
            visibility,
            audience,
            interaction_policy: None,
            pending_approval_by: None,
            application_id: None,
            mentions: Vec::new(),
            tags: Vec::new(),
            created_at,
        }
    }

    /// The status as `Store::status` reads it once `insert_status` and then (a remote post)
    /// `raise_post_counts` with `counts` have written it: what announcing a received post
    /// needs, without reading it back. (A post stored in the same transaction that answers
    /// or boosts this one is not counted here.)
    pub fn as_stored(&self, counts: &crate::PostCounts) -> Status {
        let raised = |n: Option<i64>| n.unwrap_or(0).max(0);
        let mut s = self.to_status();
        if !self.local {
            s.replies_count = raised(counts.replies);
            s.reblogs_count = raised(counts.reblogs);
            s.favourites_count = raised(counts.favourites);
        }
        s
    }

    /// The status as it will read once stored (counters start at zero).
    pub fn to_status(&self) -> Status {
        Status {
            id: self.id,
            account_id: self.account_id,
            uri: self.uri.clone(),
            url: self.url.clone(),
            local: self.local,
            in_reply_to_id: self.in_reply_to_id,
            in_reply_to_account_id: self.in_reply_to_account_id,
            reblog_of_id: self.reblog_of_id,
            conversation_id: self.conversation_id,
            text: self.text.clone(),
            content: self.content.clone(),
            spoiler_text: self.spoiler_text.clone(),
            sensitive: self.sensitive,
            language: self.language.clone(),
            visibility: self.visibility,
            local_only: self.audience.local_only,
            interaction_policy: self.interaction_policy.clone(),
            pending_approval_by: self.pending_approval_by,
            application_id: self.application_id,
            replies_count: 0,
            reblogs_count: 0,
            favourites_count: 0,
            created_at: self.created_at,
            edited_at: None,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EditRow {
    id: i64,
    status_id: i64,
    content: String,
    spoiler_text: String,
    sensitive: i64,
    created_at: i64,
}

impl From<EditRow> for StatusEdit {
    fn from(r: EditRow) -> StatusEdit {
        StatusEdit {
            id: Id(r.id),
            status_id: Id(r.status_id),
            content: r.content,
            spoiler_text: r.spoiler_text,
            sensitive: r.sensitive != 0,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AppRow {
    id: i64,
    name: String,
    website: Option<String>,
    redirect_uris: String,
    scopes: String,
    client_id: String,
    client_secret_hash: Option<String>,
    created_at: i64,
}

impl From<AppRow> for App {
    fn from(r: AppRow) -> App {
        App {
            id: Id(r.id),
            name: r.name,
            website: r.website,
            redirect_uris: r.redirect_uris.split('\n').map(str::to_string).collect(),
            scopes: r.scopes,
            client_id: r.client_id,
            client_secret_hash: r.client_secret_hash,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct NotificationRow {
    id: i64,
    account_id: i64,
    kind: String,
    from_account_id: i64,
    status_id: Option<i64>,
    group_id: Option<i64>,
    report_id: Option<i64>,
    created_at: i64,
}

impl NotificationRow {
    pub(crate) fn into_domain(self) -> Option<Notification> {
        Some(Notification {
            id: Id(self.id),
            account_id: Id(self.account_id),
            kind: NotificationType::parse(&self.kind)?,
            from_account_id: Id(self.from_account_id),
            status_id: self.status_id.map(Id),
            group_id: self.group_id.map(Id),
            report_id: self.report_id.map(Id),
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ListRow {
    id: i64,
    account_id: i64,
    title: String,
    replies_policy: String,
    exclusive: i64,
}

impl From<ListRow> for List {
    fn from(r: ListRow) -> List {
        List {
            id: Id(r.id),
            account_id: Id(r.account_id),
            title: r.title,
            replies_policy: r.replies_policy,
            exclusive: r.exclusive != 0,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MarkerRow {
    timeline: String,
    last_read_id: i64,
    version: i64,
    updated_at: i64,
}

impl From<MarkerRow> for Marker {
    fn from(r: MarkerRow) -> Marker {
        Marker {
            timeline: r.timeline,
            last_read_id: Id(r.last_read_id),
            version: r.version,
            updated_at: r.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ActorRow::from_sqlite` reads the user's columns after the account's by this count.
    #[test]
    fn the_account_column_count_is_the_columns_named() {
        assert_eq!(ACCOUNT_COLUMNS.split(',').count(), ACCOUNT_COLUMN_COUNT);
    }
}
