//! Federation in the service layer: the instance's and accounts' keys, signed fetches of remote
//! actors and objects, the one outbox path (every local action's activity is enqueued as
//! delivery jobs in the action's transaction), delivery, signature verification and the inbox.
pub mod admin;
mod deliver;
pub mod documents;
mod group_announces;
pub(crate) mod inbox;
pub(crate) mod outbox;
mod profiles;
pub(crate) mod resolve;
mod verify;

pub use deliver::DELIVER;
pub(crate) use deliver::Outcome as deliver_outcome;
pub use inbox::RECEIVE;
pub use kring_activitypub::as2::context;
pub use outbox::Recipients;
pub use profiles::{OUTBOX_POSTS, REFRESH_PROFILE};
pub use resolve::{MAX_REPLY_DEPTH, Pasted};
pub use verify::SignedRequest;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kring_activitypub::client::{Client, Scheme};
use kring_activitypub::{KeyPair, PublicKey};
use tokio::sync::OnceCell;

use crate::{Error, Id, Kring, Result};

/// Received activities waiting to be processed before the inbox answers 503.
pub const DEFAULT_INBOX_BACKLOG: i64 = 20_000;

/// Federation settings.
#[derive(Debug, Clone)]
pub struct FederationConfig {
    /// Allow fetching from and delivering to private/loopback addresses over plain http
    /// (tests on one machine only).
    pub allow_private: bool,
    /// Require signed GETs for every ActivityStreams document.
    pub authorized_fetch: bool,
    /// Only federate with domains an admin allowed.
    pub allowlist_mode: bool,
    /// Received activities waiting to be processed before inboxes answer 503.
    pub inbox_backlog_limit: i64,
    /// Tests only: host names resolved to fixed loopback addresses (and reachable over plain
    /// http) while every other name stays behind the private-address guard.
    pub test_hosts: kring_activitypub::client::TestHosts,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig {
            allow_private: false,
            authorized_fetch: false,
            allowlist_mode: false,
            inbox_backlog_limit: DEFAULT_INBOX_BACKLOG,
            test_hosts: Default::default(),
        }
    }
}

/// Caches and clients federation needs; shared by all clones of the service.
pub struct Federation {
    pub config: FederationConfig,
    pub client: Client,
    instance_key: OnceCell<KeyPair>,
    /// Parsed public keys by key id (parsing PEM costs more than verifying).
    public_keys: Mutex<HashMap<String, PublicKey>>,
    /// Parsed private keys of local accounts by account id.
    private_keys: Mutex<HashMap<Id, KeyPair>>,
    /// The signature scheme each host accepted last (double-knock memory).
    schemes: Mutex<HashMap<String, Scheme>>,
    /// The inbox's group commit (started by the first received activity).
    received: std::sync::OnceLock<tokio::sync::mpsc::Sender<inbox::Queued>>,
    /// The job runner's group commit of finished jobs (started by the first one).
    pub(crate) finished_jobs: std::sync::OnceLock<tokio::sync::mpsc::Sender<crate::jobs::Finished>>,
    /// The inbox backlog and when it was counted.
    backlog: Mutex<(std::time::Instant, i64)>,
    /// Per-domain policy and delivery health, read from the database at most every few
    /// seconds: every delivery and every inbox POST asks.
    domains: Mutex<HashMap<String, DomainState>>,
    /// The media proxy's memory of failures and sweeps.
    pub(crate) proxy: crate::media_proxy::ProxyState,
    /// URLs whose fetch failed lately, with the reason: not tried again until they expire,
    /// so a flood of requests naming a dead or bogus key or actor costs one fetch.
    failed_fetches: moka::sync::Cache<String, String>,
    /// Which account a key id was found on lately, with a hash of the PEM it had: every inbox
    /// POST names its key, and the account then comes from the store's account cache. A hit
    /// counts only while that account still has the same key (a rotated key falls back to
    /// the database, as before); dropped with the key's parsed copy (a failed signature).
    key_owners: moka::sync::Cache<String, (Id, u64)>,
    /// Key ids fetched again lately because a signature did not verify: a stream of bad
    /// signatures under one key id does not become a stream of fetches.
    refetched_keys: moka::sync::Cache<String, ()>,
    /// Remote accounts whose profile refresh was queued lately: many views of a profile
    /// queue one refresh, and a remote that failed is not asked again at once.
    profile_refreshes: moka::sync::Cache<Id, ()>,
    /// A turn per key id being fetched: deliveries that arrive together from an actor not
    /// known yet (a new server's first burst, a relay) wait for the first one's fetch and then
    /// find the key stored, instead of each making a signed GET of the same document.
    key_fetches: moka::sync::Cache<String, Arc<tokio::sync::Mutex<()>>>,
}

/// How long a failed fetch is remembered.
pub const FAILED_FETCH_TTL: std::time::Duration = std::time::Duration::from_secs(120);
/// How long a key id's owner is remembered (see `key_owners`).
const KEY_OWNER_TTL: std::time::Duration = std::time::Duration::from_secs(60);
/// How long after a refetch a failing signature does not trigger another.
const KEY_REFETCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);
/// How long a key id's fetch turn is kept after its last use (it is only needed while requests
/// under that key id arrive together).
const KEY_FETCH_TURN_IDLE: std::time::Duration = std::time::Duration::from_secs(60);
/// How long after queueing a profile refresh views do not queue another.
const PROFILE_REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

#[derive(Clone)]
struct DomainState {
    read_at: std::time::Instant,
    policy: kring_store::DomainPolicy,
    unreachable: bool,
    /// The last delivery outcome we wrote was a success (no need to write another).
    healthy: bool,
}

const DOMAIN_CACHE_SECS: u64 = 10;

const KEY_CACHE_LIMIT: usize = 50_000;

impl Federation {
    pub fn new(config: FederationConfig) -> Result<Federation> {
        let client = Client::with_options(kring_activitypub::client::ClientOptions {
            allow_private: config.allow_private,
            user_agent: format!("Kring/{}", env!("CARGO_PKG_VERSION")),
            test_hosts: config.test_hosts.clone(),
        })
        .map_err(Error::internal)?;
        Ok(Federation {
            config,
            client,
            instance_key: OnceCell::new(),
            public_keys: Mutex::new(HashMap::new()),
            private_keys: Mutex::new(HashMap::new()),
            schemes: Mutex::new(HashMap::new()),
            received: std::sync::OnceLock::new(),
            finished_jobs: std::sync::OnceLock::new(),
            backlog: Mutex::new((
                std::time::Instant::now() - std::time::Duration::from_secs(60),
                0,
            )),
            domains: Mutex::new(HashMap::new()),
            proxy: Default::default(),
            failed_fetches: moka::sync::Cache::builder()
                .max_capacity(KEY_CACHE_LIMIT as u64)
                .time_to_live(FAILED_FETCH_TTL)
                .build(),
            key_owners: moka::sync::Cache::builder()
                .max_capacity(KEY_CACHE_LIMIT as u64)
                .time_to_live(KEY_OWNER_TTL)
                .build(),
            refetched_keys: moka::sync::Cache::builder()
                .max_capacity(KEY_CACHE_LIMIT as u64)
                .time_to_live(KEY_REFETCH_INTERVAL)
                .build(),
            profile_refreshes: moka::sync::Cache::builder()
                .max_capacity(KEY_CACHE_LIMIT as u64)
                .time_to_live(PROFILE_REFRESH_INTERVAL)
                .build(),
            key_fetches: moka::sync::Cache::builder()
                .max_capacity(KEY_CACHE_LIMIT as u64)
                .time_to_idle(KEY_FETCH_TURN_IDLE)
                .build(),
        })
    }

    /// Why fetching `url` failed lately, if it did.
    fn recent_failure(&self, url: &str) -> Option<String> {
        self.failed_fetches.get(url)
    }

    fn remember_failure(&self, url: &str, reason: String) {
        self.failed_fetches.insert(url.to_string(), reason);
    }

    /// Whether a key may be fetched again after a failed verification (and note that it is).
    fn may_refetch_key(&self, key_id: &str) -> bool {
        if self.refetched_keys.contains_key(key_id) {
            return false;
        }
        self.refetched_keys.insert(key_id.to_string(), ());
        true
    }

    /// Wait for `key_id`'s turn to fetch its key: one fetch of a key id at a time in this
    /// process (see `key_fetches`). `get_with` hands every caller the same lock, even callers
    /// that ask at the same moment.
    async fn key_fetch_turn(&self, key_id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        self.key_fetches
            .get_with(key_id.to_string(), || Arc::new(tokio::sync::Mutex::new(())))
            .lock_owned()
            .await
    }

    /// Whether a refresh of `account`'s profile may be queued now (and note that it is).
    fn ask_profile_refresh(&self, account: Id) -> bool {
        if self.profile_refreshes.contains_key(&account) {
            return false;
        }
        self.profile_refreshes.insert(account, ());
        true
    }

    fn cached_public_key(&self, key_id: &str) -> Option<PublicKey> {
        self.public_keys.lock().ok()?.get(key_id).cloned()
    }

    fn key_owner(&self, key_id: &str) -> Option<(Id, u64)> {
        self.key_owners.get(key_id)
    }

    /// A signature under `key_id` verified with `key`, which `owner` has: keep the parsed key
    /// and remember its owner (see `key_owners`) for the next request under that key id.
    fn remember_signer(&self, key_id: &str, key: PublicKey, owner: &kring_core::model::Account) {
        if let Ok(mut map) = self.public_keys.lock() {
            if map.len() >= KEY_CACHE_LIMIT {
                map.clear();
            }
            map.insert(key_id.to_string(), key);
        }
        self.key_owners.insert(
            key_id.to_string(),
            (owner.id, pem_hash(&owner.public_key_pem)),
        );
    }

    fn forget_public_key(&self, key_id: &str) {
        self.key_owners.invalidate(key_id);
        if let Ok(mut map) = self.public_keys.lock() {
            map.remove(key_id);
        }
    }

    fn scheme_for(&self, host: &str) -> Option<Scheme> {
        self.schemes.lock().ok()?.get(host).copied()
    }

    fn remember_scheme(&self, host: &str, scheme: Scheme) {
        if let Ok(mut map) = self.schemes.lock() {
            map.insert(host.to_string(), scheme);
        }
    }
}

/// A hash of a PEM, to tell whether an account's key is still the one a key id was found with.
pub(crate) fn pem_hash(pem: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    pem.hash(&mut h);
    h.finish()
}

impl Kring {
    pub fn instance_actor_uri(&self) -> String {
        format!("{}/actor", self.config.base_url())
    }

    /// The instance actor's key (signs fetches not made on behalf of a person), created once.
    pub async fn instance_key(&self) -> Result<&KeyPair> {
        self.federation
            .instance_key
            .get_or_try_init(|| async {
                if let Some(pem) = self.store.setting("instance_private_key").await? {
                    return KeyPair::from_pem(&pem).map_err(Error::internal);
                }
                let keys = crate::keys::generate().await?;
                self.store
                    .set_setting("instance_private_key", &keys.private_pem)
                    .await?;
                KeyPair::from_pem(&keys.private_pem).map_err(Error::internal)
            })
            .await
    }

    /// A local account's signing key.
    pub(crate) async fn account_key(&self, id: Id) -> Result<KeyPair> {
        if let Some(k) = self
            .federation
            .private_keys
            .lock()
            .ok()
            .and_then(|m| m.get(&id).cloned())
        {
            return Ok(k);
        }
        let pem = self
            .store
            .private_key_pem(id)
            .await?
            .ok_or_else(|| Error::internal(format!("account {id} has no private key")))?;
        let key = KeyPair::from_pem(&pem).map_err(Error::internal)?;
        if let Ok(mut m) = self.federation.private_keys.lock() {
            if m.len() >= KEY_CACHE_LIMIT {
                m.clear();
            }
            m.insert(id, key.clone());
        }
        Ok(key)
    }

    /// Whether we talk to this domain at all (admin suspension, allow-list mode).
    async fn domain_state(&self, domain: &str) -> Result<DomainState> {
        let key = domain.to_ascii_lowercase();
        if let Some(s) = self
            .federation
            .domains
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
            && s.read_at.elapsed() < std::time::Duration::from_secs(DOMAIN_CACHE_SECS)
        {
            return Ok(s);
        }
        let state = DomainState {
            read_at: std::time::Instant::now(),
            policy: self.store.domain_policy(&key).await?,
            unreachable: self.store.domain_unreachable(&key).await?,
            healthy: false,
        };
        if let Ok(mut m) = self.federation.domains.lock() {
            if m.len() >= KEY_CACHE_LIMIT {
                m.clear();
            }
            // Another process may have found the domain unreachable meanwhile: then the next
            // success must be written again.
            let healthy = m.get(&key).is_some_and(|s| s.healthy) && !state.unreachable;
            m.insert(
                key,
                DomainState {
                    healthy,
                    ..state.clone()
                },
            );
        }
        Ok(state)
    }

    /// A domain's policy, from the cache (read at most every few seconds).
    pub(crate) async fn cached_domain_policy(
        &self,
        domain: &str,
    ) -> Result<kring_store::DomainPolicy> {
        Ok(self.domain_state(domain).await?.policy)
    }

    /// Forget cached domain state (after an admin changed a policy).
    pub(crate) fn forget_domain(&self, domain: &str) {
        if let Ok(mut m) = self.federation.domains.lock() {
            m.remove(&domain.to_ascii_lowercase());
        }
    }

    pub(crate) async fn domain_unreachable(&self, domain: &str) -> Result<bool> {
        Ok(self.domain_state(domain).await?.unreachable)
    }

    /// Record a delivery outcome; successes are written only when the domain was not already
    /// known to be healthy.
    pub(crate) async fn note_delivery(&self, domain: &str, ok: bool) -> Result<()> {
        let key = domain.to_ascii_lowercase();
        let healthy = self
            .federation
            .domains
            .lock()
            .ok()
            .and_then(|m| m.get(&key).map(|s| s.healthy))
            .unwrap_or(false);
        if ok && healthy {
            return Ok(());
        }
        self.store.record_delivery(&key, ok).await?;
        if let Ok(mut m) = self.federation.domains.lock()
            && let Some(s) = m.get_mut(&key)
        {
            s.healthy = ok;
            if ok {
                s.unreachable = false;
            }
        }
        Ok(())
    }

    pub async fn federates_with(&self, domain: &str) -> Result<bool> {
        if domain.eq_ignore_ascii_case(&self.config.domain) {
            return Ok(false);
        }
        let policy = self.domain_state(domain).await?.policy;
        if policy.block == Some(kring_store::DomainBlock::Suspend) {
            return Ok(false);
        }
        if self.federation.config.allowlist_mode && !policy.allowed {
            return Ok(false);
        }
        Ok(true)
    }

    /// Whether an AS2 id belongs to this server.
    pub fn is_local_uri(&self, uri: &str) -> bool {
        uri.starts_with(&format!("{}/", self.config.base_url()))
    }
}

pub(crate) fn shared(config: FederationConfig) -> Result<Arc<Federation>> {
    Federation::new(config).map(Arc::new)
}
