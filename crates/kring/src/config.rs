//! Configuration: command-line flags beat environment variables beat the TOML file beat
//! defaults. See docs/configuration.md.
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use kring_core::model::Registrations;
use kring_service::ServiceConfig;
use kring_service::limits::{LimitsConfig, Rate};
use serde::Deserialize;

/// Settings as given in one source; `None` means "not set here".
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partial {
    pub listen: Option<String>,
    pub domain: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub registrations: Option<Registrations>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub contact_email: Option<String>,
    pub max_status_chars: Option<usize>,
    /// Allow plain http on a non-loopback domain (for tests behind a test network only).
    pub insecure_http: Option<bool>,
    pub database_max_connections: Option<u32>,
    /// Federate with private/loopback addresses over plain http (tests on one machine only).
    pub allow_private_federation: Option<bool>,
    /// Require signed GETs for every ActivityStreams document.
    pub authorized_fetch: Option<bool>,
    /// Federate only with domains an admin allowed.
    pub federation_allowlist: Option<bool>,
    /// Received activities waiting before inboxes answer 503.
    pub inbox_backlog_limit: Option<i64>,
    /// What this process does: `all` (the default), `web` (HTTP only) or `worker` (jobs only).
    pub role: Option<Role>,
    /// Tests only: host names resolved to fixed addresses (e.g. `"a.test" = "127.0.0.1"`),
    /// reachable over plain http, while every other name stays behind the private-address
    /// guard. Lets tests run the production federation client on one machine.
    pub federation_test_hosts: Option<std::collections::HashMap<String, std::net::IpAddr>>,
    /// Seconds an OAuth access token works (clients renew it with the refresh token); unset
    /// or 0: until revoked, as on Mastodon.
    pub access_token_lifetime: Option<u64>,
    /// Abuse limits by name (`sign_in = "25/5m"`; `all` sets every one), over the defaults.
    pub rate_limits: Option<BTreeMap<String, String>>,
    /// Reverse proxies whose `X-Forwarded-For` header names the client.
    pub trusted_proxies: Option<Vec<IpAddr>>,
    /// New accounts approve each follower (each can change it); default on.
    pub approve_followers: Option<bool>,
    /// Who may create groups: `anyone` (the default) or `admins`.
    pub group_creation: Option<kring_service::groups::GroupCreation>,
    /// Whom people may start chats with: `anyone` (the default), `followers` or `friends`.
    pub chat_from: Option<kring_service::chats::ChatFrom>,
    /// Media attachments' limits (the `[media]` table).
    pub media: Option<MediaPartial>,
}

/// The `[media]` table: each limit over its default (`kring_service::media::MediaConfig`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaPartial {
    pub max_attachments: Option<usize>,
    pub image_size_limit: Option<usize>,
    pub video_size_limit: Option<usize>,
    pub image_matrix_limit: Option<u64>,
    pub description_limit: Option<usize>,
    /// Keep copies of remote media in the media storage (default true).
    pub remote_cache: Option<bool>,
    /// Days an unused copy of remote media is kept (default 7).
    pub remote_cache_days: Option<u32>,
    /// Bytes all copies of remote media may take together (default 1 GiB).
    pub remote_cache_budget: Option<u64>,
    /// Seconds a video or audio file may last.
    pub video_duration_limit: Option<u64>,
    /// The `ffmpeg` and `ffprobe` programs (default: from PATH).
    pub ffmpeg_path: Option<PathBuf>,
    pub ffprobe_path: Option<PathBuf>,
    /// Keep the files in an S3-compatible bucket (`[media.s3]`) instead of `<data_dir>/media`.
    pub s3: Option<S3Partial>,
}

/// The `[media.s3]` table. The secret may come from `KRING_MEDIA_S3_SECRET_ACCESS_KEY` (and the
/// key id from `KRING_MEDIA_S3_ACCESS_KEY_ID`), which beat the file, to keep it out of it.
#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Partial {
    pub bucket: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// The bucket's own address for reading; apps get `<public_url>/<key>` for attachments.
    pub public_url: Option<String>,
}

impl std::fmt::Debug for S3Partial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Partial")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "***"),
            )
            .field("public_url", &self.public_url)
            .finish()
    }
}

impl S3Partial {
    fn resolve(self) -> Result<kring_service::media::storage::S3Config, String> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let bucket = self
            .bucket
            .filter(|b| !b.trim().is_empty())
            .ok_or("[media.s3] needs a bucket")?;
        let access_key_id = env("KRING_MEDIA_S3_ACCESS_KEY_ID")
            .or(self.access_key_id)
            .ok_or("[media.s3] needs access_key_id (or KRING_MEDIA_S3_ACCESS_KEY_ID)")?;
        let secret_access_key = env("KRING_MEDIA_S3_SECRET_ACCESS_KEY")
            .or(self.secret_access_key)
            .ok_or("[media.s3] needs secret_access_key (or KRING_MEDIA_S3_SECRET_ACCESS_KEY)")?;
        if let Some(u) = &self.endpoint
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(format!("[media.s3] endpoint {u:?} must be an http(s) URL"));
        }
        if let Some(u) = &self.public_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(format!(
                "[media.s3] public_url {u:?} must be an http(s) URL"
            ));
        }
        Ok(kring_service::media::storage::S3Config {
            bucket,
            endpoint: self.endpoint.map(|e| e.trim_end_matches('/').to_string()),
            region: self.region.unwrap_or_else(|| "us-east-1".into()),
            access_key_id,
            secret_access_key,
            public_url: self.public_url.map(|u| u.trim_end_matches('/').to_string()),
        })
    }
}

impl MediaPartial {
    fn resolve(self, dir: PathBuf) -> Result<kring_service::media::MediaConfig, String> {
        let d = kring_service::media::MediaConfig::default();
        let s3 = self.s3.map(S3Partial::resolve).transpose()?;
        Ok(kring_service::media::MediaConfig {
            s3,
            dir: Some(dir),
            max_attachments: self
                .max_attachments
                .unwrap_or(d.max_attachments)
                .clamp(1, 20),
            image_size_limit: self.image_size_limit.unwrap_or(d.image_size_limit).max(1),
            video_size_limit: self.video_size_limit.unwrap_or(d.video_size_limit).max(1),
            image_matrix_limit: self
                .image_matrix_limit
                .unwrap_or(d.image_matrix_limit)
                .max(1),
            description_limit: self.description_limit.unwrap_or(d.description_limit).max(1),
            remote_cache: self.remote_cache.unwrap_or(d.remote_cache),
            remote_cache_days: self.remote_cache_days.unwrap_or(d.remote_cache_days),
            remote_cache_budget: self.remote_cache_budget.unwrap_or(d.remote_cache_budget),
            video_duration_limit: self
                .video_duration_limit
                .unwrap_or(d.video_duration_limit)
                .max(1),
            ffmpeg_path: self.ffmpeg_path.unwrap_or(d.ffmpeg_path),
            ffprobe_path: self.ffprobe_path.unwrap_or(d.ffprobe_path),
        })
    }
}

/// What a `kring serve` process runs. Several processes on one PostgreSQL database may split
/// the work: web processes answer HTTP, worker processes run the job queue.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// HTTP and the job worker.
    #[default]
    All,
    /// HTTP only (the jobs this process queues are run by worker processes).
    Web,
    /// The job worker only, no HTTP.
    Worker,
}

impl Role {
    pub fn http(self) -> bool {
        self != Role::Worker
    }
    pub fn jobs(self) -> bool {
        self != Role::Web
    }
}

impl Partial {
    /// Fill what `self` leaves unset from `lower`.
    pub fn or(self, lower: Partial) -> Partial {
        Partial {
            listen: self.listen.or(lower.listen),
            domain: self.domain.or(lower.domain),
            data_dir: self.data_dir.or(lower.data_dir),
            database_url: self.database_url.or(lower.database_url),
            registrations: self.registrations.or(lower.registrations),
            title: self.title.or(lower.title),
            description: self.description.or(lower.description),
            contact_email: self.contact_email.or(lower.contact_email),
            max_status_chars: self.max_status_chars.or(lower.max_status_chars),
            insecure_http: self.insecure_http.or(lower.insecure_http),
            database_max_connections: self
                .database_max_connections
                .or(lower.database_max_connections),
            allow_private_federation: self
                .allow_private_federation
                .or(lower.allow_private_federation),
            authorized_fetch: self.authorized_fetch.or(lower.authorized_fetch),
            federation_allowlist: self.federation_allowlist.or(lower.federation_allowlist),
            inbox_backlog_limit: self.inbox_backlog_limit.or(lower.inbox_backlog_limit),
            role: self.role.or(lower.role),
            federation_test_hosts: self.federation_test_hosts.or(lower.federation_test_hosts),
            access_token_lifetime: self.access_token_lifetime.or(lower.access_token_lifetime),
            // Limits merge by name: a higher source overrides the names it sets.
            rate_limits: match (self.rate_limits, lower.rate_limits) {
                (Some(high), Some(mut low)) => {
                    low.extend(high);
                    Some(low)
                }
                (high, low) => high.or(low),
            },
            trusted_proxies: self.trusted_proxies.or(lower.trusted_proxies),
            approve_followers: self.approve_followers.or(lower.approve_followers),
            group_creation: self.group_creation.or(lower.group_creation),
            chat_from: self.chat_from.or(lower.chat_from),
            media: self.media.or(lower.media),
        }
    }

    pub fn from_file(path: &Path) -> Result<Partial, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text)
            .map_err(|e| format!("invalid configuration in {}: {e}", path.display()))
    }
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub domain: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub registrations: Registrations,
    pub title: String,
    pub description: String,
    pub contact_email: String,
    pub max_status_chars: usize,
    pub scheme: &'static str,
    pub database_max_connections: u32,
    pub allow_private_federation: bool,
    pub authorized_fetch: bool,
    pub federation_allowlist: bool,
    pub inbox_backlog_limit: i64,
    pub role: Role,
    pub federation_test_hosts: std::collections::HashMap<String, std::net::IpAddr>,
    pub access_token_lifetime: Option<std::time::Duration>,
    pub limits: LimitsConfig,
    pub trusted_proxies: Vec<IpAddr>,
    pub approve_followers: bool,
    pub group_creation: kring_service::groups::GroupCreation,
    pub chat_from: kring_service::chats::ChatFrom,
    pub media: kring_service::media::MediaConfig,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DOMAIN: &str = "localhost:8080";
pub const DEFAULT_DATA_DIR: &str = "kring-data";

/// The defaults with the named limits set; `all` first, so a named limit beats it.
fn resolve_limits(named: BTreeMap<String, String>) -> Result<LimitsConfig, String> {
    let mut limits = LimitsConfig::default();
    let (all, rest): (Vec<_>, Vec<_>) = named.into_iter().partition(|(k, _)| k == "all");
    for (name, rate) in all.into_iter().chain(rest) {
        let rate: Rate = rate
            .parse()
            .map_err(|e| format!("rate limit {name}: {e}"))?;
        limits.set(&name, rate)?;
    }
    Ok(limits)
}

/// `NAME=RATE` pairs from a flag or the environment, as the file's table.
pub fn parse_rate_limits(pairs: &[String]) -> Result<BTreeMap<String, String>, String> {
    pairs
        .iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| {
                    format!("rate limit {p:?} is not NAME=COUNT/PERIOD (e.g. sign_in=25/5m)")
                })
        })
        .collect()
}

/// Whether a domain (with optional port) names this machine.
pub fn is_loopback_domain(domain: &str) -> bool {
    let host = match domain.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => domain,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Config {
    pub fn resolve(p: Partial) -> Result<Config, String> {
        let listen_raw = p.listen.unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen: SocketAddr = listen_raw.parse().map_err(|_| {
            format!("listen address {listen_raw:?} is not ADDR:PORT (e.g. 127.0.0.1:8080)")
        })?;
        let domain = p
            .domain
            .unwrap_or_else(|| DEFAULT_DOMAIN.into())
            .trim()
            .to_ascii_lowercase();
        if domain.is_empty()
            || domain.contains('/')
            || domain.contains(char::is_whitespace)
            || domain.contains('@')
        {
            return Err(format!(
                "domain {domain:?} must be a host name with an optional port, like social.example or localhost:8080"
            ));
        }
        let loopback = is_loopback_domain(&domain);
        let allow_private_federation = p.allow_private_federation.unwrap_or(false);
        // Federating over plain http with private hosts implies plain http for ourselves too.
        let insecure = p.insecure_http.unwrap_or(false) || allow_private_federation;
        let data_dir = p
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = match p.database_url {
            Some(u) => u,
            None => format!("sqlite://{}", data_dir.join("kring.db").display()),
        };
        kring_store::Backend::from_url(&database_url).map_err(|e| e.to_string())?;
        let limits = resolve_limits(p.rate_limits.unwrap_or_default())?;
        let registrations = p.registrations.unwrap_or(if loopback {
            Registrations::Open
        } else {
            Registrations::Approval
        });
        let media = p
            .media
            .unwrap_or_default()
            .resolve(data_dir.join("media"))?;
        Ok(Config {
            listen,
            scheme: if loopback || insecure {
                "http"
            } else {
                "https"
            },
            domain,
            data_dir,
            database_url,
            registrations,
            title: p.title.unwrap_or_else(|| "Kring".into()),
            description: p
                .description
                .unwrap_or_else(|| "A small social server for friends, circles and groups.".into()),
            contact_email: p.contact_email.unwrap_or_default(),
            max_status_chars: p.max_status_chars.unwrap_or(5000).clamp(1, 100_000),
            database_max_connections: p.database_max_connections.unwrap_or(8).clamp(1, 256),
            allow_private_federation,
            authorized_fetch: p.authorized_fetch.unwrap_or(false),
            federation_allowlist: p.federation_allowlist.unwrap_or(false),
            inbox_backlog_limit: p
                .inbox_backlog_limit
                .unwrap_or(kring_service::federation::DEFAULT_INBOX_BACKLOG)
                .max(1),
            role: p.role.unwrap_or_default(),
            federation_test_hosts: p.federation_test_hosts.unwrap_or_default(),
            access_token_lifetime: p
                .access_token_lifetime
                .filter(|s| *s > 0)
                .map(std::time::Duration::from_secs),
            limits,
            trusted_proxies: p.trusted_proxies.unwrap_or_default(),
            // Relationships first: a follower is someone one said yes to.
            approve_followers: p.approve_followers.unwrap_or(true),
            group_creation: p.group_creation.unwrap_or_default(),
            chat_from: p.chat_from.unwrap_or_default(),
            media,
        })
    }

    pub fn service(&self) -> ServiceConfig {
        ServiceConfig {
            domain: self.domain.clone(),
            scheme: self.scheme.into(),
            registrations: self.registrations,
            max_status_chars: self.max_status_chars,
            title: self.title.clone(),
            description: self.description.clone(),
            contact_email: self.contact_email.clone(),
            // No mailer is configurable yet, so accounts need no email confirmation.
            email_confirmation: false,
            federation: kring_service::federation::FederationConfig {
                allow_private: self.allow_private_federation,
                authorized_fetch: self.authorized_fetch,
                allowlist_mode: self.federation_allowlist,
                inbox_backlog_limit: self.inbox_backlog_limit,
                test_hosts: self.federation_test_hosts.clone(),
            },
            access_token_lifetime: self.access_token_lifetime,
            limits: self.limits.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            approve_followers: self.approve_followers,
            group_creation: self.group_creation,
            chat_from: self.chat_from,
            media: self.media.clone(),
            exports_dir: Some(kring_service::data::export::exports_dir_in(&self.data_dir)),
            imports_dir: Some(self.data_dir.join("imports")),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_s3_table_is_read_and_its_secret_never_printed() {
        let p: Partial = toml::from_str(
            "[media.s3]\nbucket = \"pics\"\nendpoint = \"http://127.0.0.1:9000/\"\naccess_key_id = \"AKID\"\nsecret_access_key = \"s3cr3t-value\"",
        )
        .unwrap();
        assert!(!format!("{p:?}").contains("s3cr3t-value"));
        let c = Config::resolve(p).unwrap();
        let s3 = c.media.s3.as_ref().unwrap();
        assert_eq!(s3.bucket, "pics");
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s3.region, "us-east-1");
        assert!(!format!("{c:?}").contains("s3cr3t-value"));
        assert!(
            Config::resolve(Partial::default())
                .unwrap()
                .media
                .s3
                .is_none()
        );
        let bad: Partial =
            toml::from_str("[media.s3]\nbucket = \"pics\"\nendpoint = \"ftp://x\"\naccess_key_id = \"a\"\nsecret_access_key = \"b\"").unwrap();
        assert!(Config::resolve(bad).unwrap_err().contains("endpoint"));
        let no_bucket: Partial =
            toml::from_str("[media.s3]\naccess_key_id = \"a\"\nsecret_access_key = \"b\"").unwrap();
        assert!(Config::resolve(no_bucket).unwrap_err().contains("bucket"));
        assert!(toml::from_str::<Partial>("[media.s3]\nbukket = \"x\"").is_err());
    }

    #[test]
    fn role_from_the_file_and_default() {
        let p: Partial = toml::from_str("role = \"worker\"").unwrap();
        assert_eq!(p.role, Some(Role::Worker));
        assert!(toml::from_str::<Partial>("role = \"everything\"").is_err());
        let c = Config::resolve(Partial::default()).unwrap();
        assert_eq!(c.role, Role::All);
        assert!(c.role.http() && c.role.jobs());
        assert!(!Role::Web.jobs() && !Role::Worker.http());
    }

    #[test]
    fn followers_need_approval_unless_the_server_says_otherwise() {
        assert!(
            Config::resolve(Partial::default())
                .unwrap()
                .approve_followers
        );
        let p: Partial = toml::from_str("approve_followers = false").unwrap();
        assert!(!Config::resolve(p).unwrap().approve_followers);
    }

    #[test]
    fn precedence_and_defaults() {
        let flags = Partial {
            listen: Some("127.0.0.1:9000".into()),
            ..Partial::default()
        };
        let env = Partial {
            listen: Some("127.0.0.1:9001".into()),
            domain: Some("example.org".into()),
            ..Partial::default()
        };
        let file = Partial {
            domain: Some("file.example".into()),
            title: Some("From file".into()),
            ..Partial::default()
        };
        let c = Config::resolve(flags.or(env).or(file)).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.domain, "example.org");
        assert_eq!(c.title, "From file");
        assert_eq!(c.scheme, "https");
        assert_eq!(c.registrations, Registrations::Approval);
        let local = Config::resolve(Partial::default()).unwrap();
        assert_eq!(local.scheme, "http");
        assert_eq!(local.registrations, Registrations::Open);
        assert!(local.database_url.ends_with("kring-data/kring.db"));
    }

    #[test]
    fn rate_limits_from_sources() {
        let file: Partial = toml::from_str(
            "trusted_proxies = [\"127.0.0.1\"]\n[rate_limits]\nall = \"1000/1m\"\nsign_in = \"3/5m\"\nwrites = \"7/1h\"",
        )
        .unwrap();
        let flags = Partial {
            rate_limits: Some(parse_rate_limits(&["writes=8/1m".into()]).unwrap()),
            ..Partial::default()
        };
        let c = Config::resolve(flags.or(file)).unwrap();
        assert_eq!(c.limits.sign_in.to_string(), "3/5m");
        assert_eq!(c.limits.writes.to_string(), "8/1m");
        assert_eq!(c.limits.sign_up.to_string(), "1000/1m");
        assert_eq!(
            c.trusted_proxies,
            vec!["127.0.0.1".parse::<IpAddr>().unwrap()]
        );
        let d = Config::resolve(Partial::default()).unwrap();
        assert_eq!(d.limits, LimitsConfig::default());
        assert_eq!(d.limits.requests.to_string(), "300/5m");
        assert!(parse_rate_limits(&["sign_in".into()]).is_err());
        let bad = Partial {
            rate_limits: Some(parse_rate_limits(&["nope=1/1m".into()]).unwrap()),
            ..Partial::default()
        };
        assert!(Config::resolve(bad).is_err());
    }

    #[test]
    fn loopback_domains() {
        assert!(is_loopback_domain("localhost:8080"));
        assert!(is_loopback_domain("127.0.0.1:3000"));
        assert!(is_loopback_domain("[::1]:80"));
        assert!(!is_loopback_domain("social.example"));
        assert!(
            Config::resolve(Partial {
                domain: Some("a/b".into()),
                ..Partial::default()
            })
            .is_err()
        );
    }
}
