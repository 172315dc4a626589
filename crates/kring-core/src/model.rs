//! Domain records, as the service layer hands them to the doors. Doors convert these to their own
//! formats (Mastodon JSON, HTML, ActivityStreams); nothing here knows about any of them.
use serde::{Deserialize, Serialize};

use crate::time::Micros;
use crate::{Id, Visibility};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProfileField {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub verified_at: Option<Micros>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: Id,
    pub username: String,
    /// `None` for local accounts.
    pub domain: Option<String>,
    pub display_name: String,
    /// Local accounts: the text the user wrote; remote: the sanitised HTML as text.
    pub note: String,
    pub note_html: String,
    pub fields: Vec<ProfileField>,
    pub bot: bool,
    /// A group's actor (`type: Group`): following it is joining (docs/groups.md).
    pub group: bool,
    pub locked: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub hide_collections: bool,
    pub avatar_url: Option<String>,
    pub header_url: Option<String>,
    pub uri: String,
    pub url: String,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub followers_url: String,
    pub public_key_pem: String,
    pub also_known_as: Vec<String>,
    pub moved_to_id: Option<Id>,
    /// The counts shown. For a remote account, the larger of what is counted here and what
    /// its own server last said (its collections' `totalItems`).
    pub followers_count: i64,
    pub following_count: i64,
    pub statuses_count: i64,
    /// Remote accounts: when this server last read the account's collections (their counts
    /// and the first page of its outbox); `None` if never, and for local accounts.
    pub collections_fetched_at: Option<Micros>,
    pub last_status_at: Option<Micros>,
    pub suspended_at: Option<Micros>,
    pub created_at: Micros,
    pub updated_at: Micros,
}

impl Account {
    pub fn is_local(&self) -> bool {
        self.domain.is_none()
    }

    /// A profile field's value as HTML: local values are text (linked when a URL), remote
    /// ones arrived sanitised.
    pub fn field_html(&self, f: &ProfileField) -> String {
        if self.is_local() {
            crate::text::field_value_html(&f.value)
        } else {
            // Sanitised once more on the way out: values stored before the link rules
            // tightened may hold links of other schemes.
            crate::text::sanitize_remote_html(&f.value)
        }
    }

    /// The profile's web address, for links and the API's `url`: the remote `url` when it is
    /// http(s), else the actor id when that is, else nothing (never `javascript:` or `data:`).
    pub fn web_url(&self) -> &str {
        crate::text::http_url(&self.url)
            .or_else(|| crate::text::http_url(&self.uri))
            .unwrap_or("")
    }

    /// `user` for local accounts, `user@domain` for remote ones (Mastodon's `acct`).
    pub fn acct(&self) -> String {
        match &self.domain {
            None => self.username.clone(),
            Some(d) => format!("{}@{}", self.username, d),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Moderator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "user" => Role::User,
            "moderator" => Role::Moderator,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

/// A local person's log-in and preferences. Remote accounts have no `User`.
#[derive(Debug, Clone)]
pub struct User {
    pub account_id: Id,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub approved: bool,
    pub confirmed: bool,
    pub reason: Option<String>,
    pub locale: String,
    pub default_visibility: Visibility,
    pub default_sensitive: bool,
    pub default_language: Option<String>,
    pub created_at: Micros,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub id: Id,
    pub account_id: Id,
    pub uri: String,
    pub url: String,
    pub local: bool,
    pub in_reply_to_id: Option<Id>,
    pub in_reply_to_account_id: Option<Id>,
    pub reblog_of_id: Option<Id>,
    pub conversation_id: Id,
    /// What the author wrote (local posts); empty for remote posts.
    pub text: String,
    pub content: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub language: Option<String>,
    pub visibility: Visibility,
    /// Kept on this server: never federated, read only by its own accounts.
    pub local_only: bool,
    /// Who may reply, boost, favourite and quote. None: a remote post whose server sent no
    /// policy (anyone who may read it may), or a post stored before policies existed; see
    /// [`Status::policy`].
    pub interaction_policy: Option<crate::InteractionPolicy>,
    /// A reply or boost awaiting this account's approval: read by its author and that
    /// account only, until approved.
    pub pending_approval_by: Option<Id>,
    pub application_id: Option<Id>,
    pub replies_count: i64,
    pub reblogs_count: i64,
    pub favourites_count: i64,
    pub created_at: Micros,
    pub edited_at: Option<Micros>,
}

impl Status {
    /// The rules this post is interacted with by: its own, or for a post without one the
    /// server's default for its visibility (for a remote post: what its server's software
    /// assumes, anyone who may read it may interact, within the visibility).
    pub fn policy(&self) -> crate::InteractionPolicy {
        self.interaction_policy
            .clone()
            .unwrap_or_else(|| crate::InteractionPolicy::server_default(self.visibility))
    }

    /// The post's web address, for links and the API's `url`: the remote `url` when it is
    /// http(s), else the id when that is; `None` otherwise (never `javascript:` or `data:`).
    pub fn web_url(&self) -> Option<&str> {
        crate::text::http_url(&self.url).or_else(|| crate::text::http_url(&self.uri))
    }

    /// Whether `other` is this post as it is now: the same version (`id` and `edited_at`) with
    /// the same *head*. A post's other columns — its *body*: text, URIs, place in a thread —
    /// change only in an edit, which sets `edited_at` (the store's rule, kept by every write:
    /// see `kring_store::status_bodies`), so they need no comparison: comparing every post's
    /// text again was ~2 % of a home timeline's CPU where rendered parts are kept (BENCHMARKS.md,
    /// session 26). The head changes on its own and is compared.
    pub fn same_version(&self, other: &Status) -> bool {
        // Every field named: a new one must be placed in the head or the body here.
        let Status {
            id,
            edited_at,
            // The head.
            visibility,
            interaction_policy,
            pending_approval_by,
            replies_count,
            reblogs_count,
            favourites_count,
            // The body.
            account_id: _,
            uri: _,
            url: _,
            local: _,
            in_reply_to_id: _,
            in_reply_to_account_id: _,
            reblog_of_id: _,
            conversation_id: _,
            text: _,
            content: _,
            spoiler_text: _,
            sensitive: _,
            language: _,
            local_only: _,
            application_id: _,
            created_at: _,
        } = self;
        *id == other.id
            && *edited_at == other.edited_at
            && *visibility == other.visibility
            && *interaction_policy == other.interaction_policy
            && *pending_approval_by == other.pending_approval_by
            && *replies_count == other.replies_count
            && *reblogs_count == other.reblogs_count
            && *favourites_count == other.favourites_count
    }
}

/// Why someone reported an account (Mastodon's categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportCategory {
    Spam,
    Legal,
    Violation,
    Other,
}

impl ReportCategory {
    pub const ALL: [ReportCategory; 4] = [
        ReportCategory::Spam,
        ReportCategory::Legal,
        ReportCategory::Violation,
        ReportCategory::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportCategory::Spam => "spam",
            ReportCategory::Legal => "legal",
            ReportCategory::Violation => "violation",
            ReportCategory::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<ReportCategory> {
        ReportCategory::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A report to this server's moderators: filed here, or received from another server.
#[derive(Debug, Clone)]
pub struct Report {
    pub id: Id,
    /// Who reported: a local person, or a remote server's actor.
    pub account_id: Id,
    pub target_account_id: Id,
    pub status_ids: Vec<Id>,
    pub comment: String,
    pub category: ReportCategory,
    pub forwarded: bool,
    /// The Flag activity's id, for reports received from another server.
    pub uri: Option<String>,
    pub created_at: Micros,
    /// When a moderator resolved it, and who.
    pub action_taken_at: Option<Micros>,
    pub action_taken_by: Option<Id>,
    /// The group one of the reported posts is in: the report goes to its moderators too.
    pub group_id: Option<Id>,
}

#[derive(Debug, Clone)]
pub struct StatusEdit {
    pub id: Id,
    pub status_id: Id,
    pub content: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub created_at: Micros,
}

#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub id: Id,
    pub name: String,
    pub website: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: String,
    pub client_id: String,
    /// The SHA-256 of the client secret (see [`crate::secret`]); the secret itself is shown
    /// once, when the app is registered. None only for a row not yet upgraded from a stored
    /// plaintext secret, which no secret matches.
    pub client_secret_hash: Option<String>,
    pub created_at: Micros,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub id: Id,
    pub app_id: Option<Id>,
    pub account_id: Option<Id>,
    pub scopes: String,
    pub created_at: Micros,
    /// When it stops working; None: never (the default, as on Mastodon).
    pub expires_at: Option<Micros>,
    /// When it was last used, to the hour (docs/privacy.md); None: not since it was made.
    pub last_used_at: Option<Micros>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationType {
    Follow,
    FollowRequest,
    Mention,
    Favourite,
    Reblog,
    Update,
    Status,
    /// An interaction awaiting the recipient's approval (GoToSocial's `pending.reply`, …).
    PendingReply,
    PendingFavourite,
    PendingReblog,
    /// Someone quoted the recipient's post (Mastodon 4.5's `quote`).
    Quote,
    /// A post the recipient quoted was edited (Mastodon 4.5's `quoted_update`).
    QuotedUpdate,
    /// Someone asked to join a group the recipient moderates (Kring's `group.request`).
    GroupRequest,
    /// Someone invited the recipient to a group (Kring's `group.invite`).
    GroupInvite,
    /// A post in a group the recipient moderates was reported (Kring's `group.report`).
    GroupReport,
    /// A report for the server's moderators (Mastodon's `admin.report`).
    AdminReport,
    /// The recipient's data export is ready to download (Kring's `kring.export`).
    Export,
}

impl NotificationType {
    pub const ALL: [NotificationType; 17] = [
        NotificationType::Follow,
        NotificationType::FollowRequest,
        NotificationType::Mention,
        NotificationType::Favourite,
        NotificationType::Reblog,
        NotificationType::Update,
        NotificationType::Status,
        NotificationType::PendingReply,
        NotificationType::PendingFavourite,
        NotificationType::PendingReblog,
        NotificationType::Quote,
        NotificationType::QuotedUpdate,
        NotificationType::GroupRequest,
        NotificationType::GroupInvite,
        NotificationType::GroupReport,
        NotificationType::AdminReport,
        NotificationType::Export,
    ];

    /// What a listing shows when no types are asked for: Mastodon's. The `pending.*` and
    /// `group.*` types are listed only when asked for by name, so Mastodon clients never meet
    /// a type they do not know.
    pub fn shown_by_default(self) -> bool {
        !matches!(
            self,
            NotificationType::PendingReply
                | NotificationType::PendingFavourite
                | NotificationType::PendingReblog
                | NotificationType::GroupRequest
                | NotificationType::GroupInvite
                | NotificationType::GroupReport
                | NotificationType::Export
        )
    }
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationType::Follow => "follow",
            NotificationType::FollowRequest => "follow_request",
            NotificationType::Mention => "mention",
            NotificationType::Favourite => "favourite",
            NotificationType::Reblog => "reblog",
            NotificationType::Update => "update",
            NotificationType::Status => "status",
            NotificationType::PendingReply => "pending.reply",
            NotificationType::PendingFavourite => "pending.favourite",
            NotificationType::PendingReblog => "pending.reblog",
            NotificationType::Quote => "quote",
            NotificationType::QuotedUpdate => "quoted_update",
            NotificationType::GroupRequest => "group.request",
            NotificationType::GroupInvite => "group.invite",
            NotificationType::GroupReport => "group.report",
            NotificationType::AdminReport => "admin.report",
            NotificationType::Export => "kring.export",
        }
    }
    pub fn parse(s: &str) -> Option<NotificationType> {
        NotificationType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone)]
pub struct Notification {
    pub id: Id,
    pub account_id: Id,
    pub kind: NotificationType,
    pub from_account_id: Id,
    pub status_id: Option<Id>,
    /// The group it is about (`group.*`).
    pub group_id: Option<Id>,
    /// The report it is about (`group.report`, `admin.report`).
    pub report_id: Option<Id>,
    pub created_at: Micros,
}

#[derive(Debug, Clone, Default)]
pub struct Relationship {
    pub id: Id,
    pub following: bool,
    pub showing_reblogs: bool,
    pub notifying: bool,
    pub followed_by: bool,
    pub blocking: bool,
    pub blocked_by: bool,
    pub muting: bool,
    pub muting_notifications: bool,
    pub requested: bool,
    pub requested_by: bool,
    pub endorsed: bool,
    /// The viewer blocked the account's domain.
    pub domain_blocking: bool,
    pub note: String,
}

/// An interaction that needed, or got, the approval of the author of the post it is with
/// (GoToSocial's interaction request). When the author is on another server, it is one of this
/// server's people waiting for that server's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionRequest {
    pub id: Id,
    pub kind: crate::Interaction,
    /// The post interacted with, and its author (who decides).
    pub status_id: Id,
    pub target_account_id: Id,
    /// Who interacts, and the reply or boost they made (none for a favourite).
    pub account_id: Id,
    pub interaction_status_id: Option<Id>,
    /// The ActivityPub id of the reply, boost or Like.
    pub interaction_uri: String,
    /// A polite request's id (GoToSocial's `ReplyRequest`, …), if it came as one.
    pub request_uri: Option<String>,
    pub created_at: Micros,
    pub accepted_at: Option<Micros>,
    pub rejected_at: Option<Micros>,
    /// The Accept or Reject sent (or received).
    pub response_uri: Option<String>,
    /// What an Accept authorised: the `ReplyAuthorization` (…) other servers check.
    pub authorization_uri: Option<String>,
}

/// Where a quote stands with the quoted post's author (Mastodon 4.5's quote states that are
/// stored; `deleted` and `unauthorized` are decided when a quote is shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteState {
    /// Waiting for the quoted author's approval.
    Pending,
    Accepted,
    Rejected,
    /// Accepted, then withdrawn by the quoted author.
    Revoked,
}

impl QuoteState {
    pub fn as_str(self) -> &'static str {
        match self {
            QuoteState::Pending => "pending",
            QuoteState::Accepted => "accepted",
            QuoteState::Rejected => "rejected",
            QuoteState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<QuoteState> {
        [
            QuoteState::Pending,
            QuoteState::Accepted,
            QuoteState::Rejected,
            QuoteState::Revoked,
        ]
        .into_iter()
        .find(|q| q.as_str() == s)
    }
}

/// A post quoting another (FEP-044f).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The quoting post.
    pub status_id: Id,
    /// The quoted post and its author, when known here (the post may since be deleted).
    pub quoted_status_id: Option<Id>,
    pub quoted_account_id: Option<Id>,
    /// The quoted post's ActivityPub id.
    pub quoted_uri: String,
    pub state: QuoteState,
    /// The `QuoteAuthorization` that allows it.
    pub authorization_uri: Option<String>,
    pub created_at: Micros,
}

impl InteractionRequest {
    pub fn is_pending(&self) -> bool {
        self.accepted_at.is_none() && self.rejected_at.is_none()
    }
}

/// A named audience a person keeps privately: posts to it reach exactly its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Circle {
    pub id: Id,
    pub account_id: Id,
    pub title: String,
}

impl Relationship {
    /// Friends: each follows the other.
    pub fn is_friend(&self) -> bool {
        self.following && self.followed_by
    }
}

#[derive(Debug, Clone)]
pub struct List {
    pub id: Id,
    pub account_id: Id,
    pub title: String,
    pub replies_policy: String,
    pub exclusive: bool,
}

#[derive(Debug, Clone)]
pub struct Marker {
    pub timeline: String,
    pub last_read_id: Id,
    pub version: i64,
    pub updated_at: Micros,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterAction {
    Warn,
    Hide,
    Blur,
}

#[derive(Debug, Clone)]
pub struct FilterKeyword {
    pub id: Id,
    pub keyword: String,
    pub whole_word: bool,
}

#[derive(Debug, Clone)]
pub struct FilterStatus {
    pub id: Id,
    pub status_id: Id,
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub id: Id,
    pub account_id: Id,
    pub title: String,
    /// home, notifications, public, thread, account
    pub context: Vec<String>,
    pub action: FilterAction,
    pub expires_at: Option<Micros>,
    pub keywords: Vec<FilterKeyword>,
    pub statuses: Vec<FilterStatus>,
}

#[derive(Debug, Clone)]
pub struct Tag {
    pub id: Id,
    pub name: String,
}

/// Sign-up policy of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registrations {
    Open,
    Approval,
    Closed,
}

/// Paging bounds as Mastodon clients send them. `min_id` pages forward from a point (oldest
/// first, then reversed), `since_id` takes the newest after a point.
#[derive(Debug, Clone, Copy, Default)]
pub struct Page {
    pub max_id: Option<Id>,
    pub since_id: Option<Id>,
    pub min_id: Option<Id>,
    pub limit: usize,
}

impl Page {
    pub fn newest(limit: usize) -> Page {
        Page {
            limit,
            ..Page::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_its_id_and_edit_time_with_its_head() {
        let post = Status {
            id: Id(7),
            account_id: Id(1),
            uri: "https://example.com/s/7".into(),
            url: String::new(),
            local: true,
            in_reply_to_id: None,
            in_reply_to_account_id: None,
            reblog_of_id: None,
            conversation_id: Id(7),
            text: "hello".into(),
            content: "<p>hello</p>".into(),
            spoiler_text: String::new(),
            sensitive: false,
            language: None,
            visibility: Visibility::Public,
            local_only: false,
            interaction_policy: None,
            pending_approval_by: None,
            application_id: None,
            replies_count: 0,
            reblogs_count: 0,
            favourites_count: 0,
            created_at: 1,
            edited_at: None,
        };
        let with = |f: &dyn Fn(&mut Status)| {
            let mut s = post.clone();
            f(&mut s);
            s
        };
        assert!(post.same_version(&post.clone()));
        // The head is compared.
        for changed in [
            with(&|s| s.id = Id(8)),
            with(&|s| s.edited_at = Some(2)),
            with(&|s| s.visibility = Visibility::Private),
            with(&|s| s.interaction_policy = Some(crate::InteractionPolicy::everyone())),
            with(&|s| s.pending_approval_by = Some(Id(3))),
            with(&|s| s.replies_count = 1),
            with(&|s| s.reblogs_count = 1),
            with(&|s| s.favourites_count = 1),
        ] {
            assert!(!post.same_version(&changed), "{changed:?}");
        }
        // The body goes with the version: an edit sets `edited_at` (the store's rule).
        assert!(post.same_version(&with(&|s| s.content = "<p>other</p>".into())));
    }
}
