//! Kring's service layer: every action is defined once here, as a function taking the acting
//! account and a typed request, returning domain records. The Mastodon API, the web interface,
//! the ActivityPub inbox and the CLI only translate to and from these calls.
pub mod accounts;
pub mod auth;
mod caches;
pub mod chats;
pub mod circles;
pub mod cpu;
pub mod data;
pub mod domain_blocks;
pub mod events;
mod fanout;
pub mod federation;
pub mod filters;
pub mod groups;
pub mod instance;
pub mod interactions;
pub mod jobs;
pub mod keys;
pub mod limits;
pub mod lists;
pub mod live;
pub mod media;
pub mod media_proxy;
pub mod notifications;
pub mod page_security;
pub mod quotes;
pub mod relationships;
pub mod reports;
pub mod search;
pub mod sessions;
pub mod statuses;
pub mod timelines;
pub mod views;
pub mod web_reads;

use std::sync::Arc;

pub use kring_core::{Error, Id, Result};
pub use kring_store::Store;
// Request options the doors pass through unchanged.
pub use kring_store::{
    AccountStatusesFilter, DomainBlock, DomainPolicy, Edge, FollowOptions, InboxFilter, Locality,
    MemberFilter,
};

use kring_core::model::{Account, Registrations, User};

/// Settings the service layer needs (the binary reads them from flags, environment and file).
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The server's domain as it appears in handles and URLs, with a port if not default.
    pub domain: String,
    /// `https`, or `http` for loopback/test domains.
    pub scheme: String,
    pub registrations: Registrations,
    pub max_status_chars: usize,
    pub title: String,
    pub description: String,
    pub contact_email: String,
    /// Set when an SMTP server is configured: then new accounts must confirm their email.
    pub email_confirmation: bool,
    pub federation: federation::FederationConfig,
    /// How long an OAuth access token works; None: until revoked (Mastodon's default). Web
    /// sessions never expire this way.
    pub access_token_lifetime: Option<std::time::Duration>,
    /// Abuse limits (requests per client address, account or remote host).
    pub limits: limits::LimitsConfig,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// New accounts start out approving each follower (`locked`); each person can change it.
    pub approve_followers: bool,
    /// Who may create groups.
    pub group_creation: groups::GroupCreation,
    /// Whom a person may start a chat with (`chats::ChatFrom`).
    pub chat_from: chats::ChatFrom,
    /// Media attachments: where files go, and the limits.
    pub media: media::MediaConfig,
    /// Where data export archives are kept (`<data_dir>/exports`); None: exports are off.
    pub exports_dir: Option<std::path::PathBuf>,
    /// Where uploaded archives wait for their import job (`<data_dir>/imports`); None: an
    /// archive's posts are imported only from the console.
    pub imports_dir: Option<std::path::PathBuf>,
}

impl ServiceConfig {
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.domain)
    }

    pub fn for_tests(domain: &str) -> ServiceConfig {
        ServiceConfig {
            domain: domain.to_string(),
            scheme: "http".into(),
            registrations: Registrations::Open,
            max_status_chars: 5000,
            title: "Kring".into(),
            description: "A Kring server".into(),
            contact_email: String::new(),
            email_confirmation: false,
            federation: federation::FederationConfig {
                allow_private: true,
                ..Default::default()
            },
            access_token_lifetime: None,
            limits: limits::LimitsConfig::default(),
            trusted_proxies: Vec::new(),
            approve_followers: false,
            group_creation: groups::GroupCreation::Anyone,
            chat_from: chats::ChatFrom::Anyone,
            media: media::MediaConfig::default(),
            exports_dir: None,
            imports_dir: None,
        }
    }
}

/// The service: the store, the settings, the live event bus and federation's clients and
/// caches. Cheap to clone.
#[derive(Clone)]
pub struct Kring {
    pub store: Store,
    pub config: Arc<ServiceConfig>,
    pub events: events::Events,
    pub federation: Arc<federation::Federation>,
    /// Streaming viewers of this process, and who of them sees each live event.
    pub live: live::Live,
    /// The abuse limits every door asks (in memory, per process).
    pub limits: Arc<limits::Limits>,
    /// Apps by id: they never change once registered, and every status view names its app.
    apps: Arc<std::sync::Mutex<std::collections::HashMap<Id, Arc<kring_core::model::App>>>>,
    /// Where media files live (the folder or the bucket), opened once.
    media_store: Option<Arc<dyn media::storage::MediaStorage>>,
}

impl Kring {
    pub fn new(store: Store, config: ServiceConfig) -> Result<Kring> {
        let federation = federation::shared(config.federation.clone())?;
        let limits = limits::Limits::new(config.limits.clone(), config.trusted_proxies.clone());
        let media_store =
            media::storage::open(config.media.dir.as_ref(), config.media.s3.as_ref())?;
        Ok(Kring {
            media_store,
            limits: Arc::new(limits),
            store,
            config: Arc::new(config),
            events: events::Events::new(),
            federation,
            live: live::Live::default(),
            apps: Arc::default(),
        })
    }
}

/// The signed-in person acting: a local account and its user record.
#[derive(Debug, Clone)]
pub struct Actor {
    pub account: Account,
    pub user: User,
}

impl Actor {
    pub fn id(&self) -> Id {
        self.account.id
    }
    pub fn is_staff(&self) -> bool {
        self.user.role >= kring_core::model::Role::Moderator
    }
    pub fn is_admin(&self) -> bool {
        self.user.role == kring_core::model::Role::Admin
    }
}

/// The id of an optional actor, for read paths open to signed-out visitors.
pub fn viewer_id(actor: Option<&Actor>) -> Option<Id> {
    actor.map(Actor::id)
}
