//! The HTTP client for federation: every request is signed, bounded in time and size, and may
//! not reach private, loopback or link-local addresses (server-side request forgery) unless the
//! operator allows it for tests — which also allows plain `http` to such hosts.
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Headers, HttpRequestParts, KeyPair};

/// Largest response body read from a remote server.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
pub const ACCEPT_AS2: &str = "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("refused address: {0}")]
    Refused(String),
    #[error("invalid URL: {0}")]
    BadUrl(String),
    #[error("request failed: {0}")]
    Transport(String),
    #[error("remote answered {0}")]
    Status(u16),
    #[error("response too large")]
    TooLarge,
    #[error("response is not valid JSON: {0}")]
    BadJson(String),
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("not an ActivityStreams document (Content-Type {0})")]
    ContentType(String),
    #[error("too many fetches from {0} at once")]
    Busy(String),
    /// A redirect (never followed here); the absolute URL it points to.
    #[error("redirected to {0}")]
    Redirect(String),
}

/// Which signature scheme to sign a POST with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Cavage,
    Rfc9421,
}

/// Whether an address may be contacted when private addresses are refused: only globally
/// reachable unicast addresses. Written out by hand because `Ipv4Addr::is_global` and its IPv6
/// sibling are still unstable in std; the ranges are IANA's special-purpose registries.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0 // 0.0.0.0/8 "this network"
                || a == 100 && (b & 0xc0) == 64 // 100.64.0.0/10 carrier-grade NAT
                || a == 192 && b == 0 && c == 0 // 192.0.0.0/24 IETF protocol assignments
                || a == 198 && (b & 0xfe) == 18 // 198.18.0.0/15 benchmarking
                || a >= 224) // 224.0.0.0/4 multicast, 240.0.0.0/4 reserved, broadcast
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local
                || (seg[0] & 0xffc0) == 0xfe80 // fe80::/10 link local
                || (seg[0] & 0xffc0) == 0xfec0 // fec0::/10 deprecated site local
                || seg[..6] == [0, 0, 0, 0, 0, 0] // ::/96 IPv4-compatible (deprecated)
                || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] // 64:ff9b::/96 NAT64
                || seg[..3] == [0x64, 0xff9b, 1] // 64:ff9b:1::/48 local-use NAT64
                || seg[..4] == [0x100, 0, 0, 0] // 100::/64 discard only
                || seg[..2] == [0x2001, 0] // 2001::/32 Teredo
                || seg[0] == 0x2001 && (seg[1] & 0xfe00) == 0 // 2001::/23 IETF protocol assignments
                || seg[..2] == [0x2001, 0xdb8] // 2001:db8::/32 documentation
                || seg[0] == 0x2002 // 2002::/16 6to4
                || seg[0] == 0x3fff && seg[1] <= 0x0fff) // 3fff::/20 documentation
        }
    }
}

/// Test-only name resolution: these names resolve to fixed addresses without DNS, may be
/// reached over plain http and are exempt from the private-address guard, while every other
/// name stays guarded. It lets a test run the production client end to end on one machine.
pub type TestHosts = HashMap<String, IpAddr>;

/// A resolver that drops non-public addresses, so a public name pointing at an internal
/// address cannot be used to reach it (unless private addresses are allowed, for tests).
struct GuardedResolver {
    allow_private: bool,
    test_hosts: Arc<TestHosts>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let fixed = self.test_hosts.get(&host).copied();
        let allow_private = self.allow_private;
        Box::pin(async move {
            if let Some(ip) = fixed {
                return Ok(Box::new(std::iter::once(SocketAddr::new(ip, 0))) as Addrs);
            }
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(std::io::Error::other(format!(
                    "{host} resolves to no public address"
                ))) as _);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// How many fetches may run at once against one host; more wait (up to [`HOST_WAIT`]), so a
/// flood of unknown signers cannot make us hammer their server or exhaust our sockets.
pub const FETCHES_PER_HOST: usize = 4;
/// How long a fetch waits for its host's turn before giving up.
pub const HOST_WAIT: Duration = Duration::from_secs(10);
/// Hosts whose fetch limits are remembered at once.
const HOST_LIMITS_KEPT: u64 = 10_000;

/// Options for [`Client::with_options`].
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    pub allow_private: bool,
    pub user_agent: String,
    /// See [`TestHosts`]; empty outside tests.
    pub test_hosts: TestHosts,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    allow_private: bool,
    test_hosts: Arc<TestHosts>,
    user_agent: String,
    /// A semaphore per host bounding concurrent fetches (evicted when idle).
    host_limits: moka::sync::Cache<String, Arc<Semaphore>>,
}

impl Client {
    pub fn new(allow_private: bool, user_agent: &str) -> Result<Client, FetchError> {
        Client::with_options(ClientOptions {
            allow_private,
            user_agent: user_agent.to_string(),
            test_hosts: TestHosts::new(),
        })
    }

    pub fn with_options(options: ClientOptions) -> Result<Client, FetchError> {
        let test_hosts: Arc<TestHosts> = Arc::new(
            options
                .test_hosts
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        );
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .pool_max_idle_per_host(8)
            // Redirects would bypass the URL checks below, and a document only counts when it
            // comes from the URL its id names: redirects are never followed.
            .redirect(reqwest::redirect::Policy::none())
            // Federation traffic never goes through a proxy from the environment: a proxy
            // would resolve names itself, past the address guard.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: options.allow_private,
                test_hosts: test_hosts.clone(),
            }))
            .user_agent(&options.user_agent)
            .build()
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        Ok(Client {
            http,
            allow_private: options.allow_private,
            test_hosts,
            user_agent: options.user_agent,
            host_limits: moka::sync::Cache::builder()
                .max_capacity(HOST_LIMITS_KEPT)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        })
    }

    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Whether plain http may be used for this host (`host` or `host:port`): private hosts when
    /// those are allowed, and test hosts.
    pub fn allows_http(&self, host: &str) -> bool {
        if self.allow_private {
            return true;
        }
        let name = match host.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        };
        self.test_hosts.contains_key(&name.to_ascii_lowercase())
    }

    /// Wait for a turn to fetch from `url`'s host.
    async fn host_turn(&self, url: &url::Url) -> Result<OwnedSemaphorePermit, FetchError> {
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        let sem = self
            .host_limits
            .get_with(host.clone(), || Arc::new(Semaphore::new(FETCHES_PER_HOST)));
        match tokio::time::timeout(HOST_WAIT, sem.acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            _ => Err(FetchError::Busy(host)),
        }
    }

    /// Check a URL before contacting it: https only (http only where private hosts are
    /// allowed), and no literal private addresses.
    pub fn check_url(&self, raw: &str) -> Result<url::Url, FetchError> {
        let url = url::Url::parse(raw).map_err(|e| FetchError::BadUrl(format!("{raw}: {e}")))?;
        let host = url
            .host()
            .ok_or_else(|| FetchError::BadUrl(format!("{raw}: no host")))?;
        let test_host = matches!(host, url::Host::Domain(d) if self.test_hosts.contains_key(&d.to_ascii_lowercase()));
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private || test_host => {}
            other => return Err(FetchError::Refused(format!("scheme {other}"))),
        }
        if !self.allow_private && !test_host {
            let literal = match host {
                url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
                url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
                url::Host::Domain(d)
                    if d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost") =>
                {
                    return Err(FetchError::Refused(d.to_string()));
                }
                url::Host::Domain(_) => None,
            };
            if let Some(ip) = literal
                && !is_public(ip)
            {
                return Err(FetchError::Refused(ip.to_string()));
            }
        }
        Ok(url)
    }

    /// GET JSON (WebFinger, NodeInfo), signed by `key_id`/`key` when a key is given.
    pub async fn get_json(
        &self,
        raw: &str,
        signer: Option<(&str, &KeyPair)>,
        accept: &str,
    ) -> Result<Value, FetchError> {
        self.get_checked(raw, signer, accept, |_| Ok(())).await
    }

    /// GET an ActivityStreams document, signed by `key_id`/`key` (for servers with authorized
    /// fetch) when a key is given. The answer counts only when its Content-Type says it is
    /// one ([`is_activity_content_type`]): a file someone uploaded to a server (served as
    /// `application/json`, an image, …) is not that server speaking.
    pub async fn get_activity(
        &self,
        raw: &str,
        signer: Option<(&str, &KeyPair)>,
    ) -> Result<Value, FetchError> {
        self.get_checked(raw, signer, ACCEPT_AS2, |ct| {
            if ct.is_some_and(is_activity_content_type) {
                Ok(())
            } else {
                Err(FetchError::ContentType(
                    ct.unwrap_or("missing").chars().take(100).collect(),
                ))
            }
        })
        .await
    }

    async fn get_checked(
        &self,
        raw: &str,
        signer: Option<(&str, &KeyPair)>,
        accept: &str,
        check_type: impl Fn(Option<&str>) -> Result<(), FetchError>,
    ) -> Result<Value, FetchError> {
        let url = self.check_url(raw)?;
        let _turn = self.host_turn(&url).await?;
        let mut headers = base_headers(&url);
        headers.insert("accept", accept);
        if let Some((key_id, key)) = signer {
            let sig =
                crate::cavage::sign_request("GET", &path_and_query(&url), &headers, key_id, key)
                    .map_err(|e| FetchError::Sign(e.to_string()))?;
            headers.insert("signature", sig);
        }
        let mut req = self.http.get(url.as_str());
        for (k, v) in headers.iter() {
            if k != "host" {
                req = req.header(k, v);
            }
        }
        let res = req
            .send()
            .await
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        if res.status().is_redirection()
            && let Some(to) = res
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| url.join(l).ok())
        {
            // The caller decides whether to follow it (see `Kring::fetch_pasted`).
            return Err(FetchError::Redirect(to.to_string()));
        }
        if !res.status().is_success() {
            return Err(FetchError::Status(res.status().as_u16()));
        }
        check_type(
            res.headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        )?;
        let bytes = read_limited(res).await?;
        serde_json::from_slice(&bytes).map_err(|e| FetchError::BadJson(e.to_string()))
    }

    /// GET a file (an image for the media proxy): unsigned, no cookies, at most `limit` bytes.
    /// Returns the body and the `Content-Type` the server claimed.
    pub async fn get_bytes(
        &self,
        raw: &str,
        accept: &str,
        limit: usize,
    ) -> Result<(Vec<u8>, Option<String>), FetchError> {
        let url = self.check_url(raw)?;
        let res = self
            .http
            .get(url.as_str())
            .header("accept", accept)
            .send()
            .await
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        if !res.status().is_success() {
            return Err(FetchError::Status(res.status().as_u16()));
        }
        let mime = res
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok((read_up_to(res, limit).await?, mime))
    }

    /// POST an activity to an inbox, signed with the chosen scheme. Returns the status code.
    pub async fn post_activity(
        &self,
        inbox: &str,
        body: &[u8],
        key_id: &str,
        key: &KeyPair,
        scheme: Scheme,
    ) -> Result<u16, FetchError> {
        let url = self.check_url(inbox)?;
        let mut headers = base_headers(&url);
        headers.insert("content-type", "application/activity+json");
        headers.insert("accept", ACCEPT_AS2);
        match scheme {
            Scheme::Cavage => {
                headers.insert("digest", crate::digest::digest_header(body));
                let sig = crate::cavage::sign_request(
                    "POST",
                    &path_and_query(&url),
                    &headers,
                    key_id,
                    key,
                )
                .map_err(|e| FetchError::Sign(e.to_string()))?;
                headers.insert("signature", sig);
            }
            Scheme::Rfc9421 => {
                headers.insert("content-digest", crate::digest::content_digest_header(body));
                let parts = HttpRequestParts::new("POST", url.as_str())
                    .map_err(|e| FetchError::Sign(e.to_string()))?
                    .with_headers(headers.clone())
                    .with_body(body);
                let sig = crate::rfc9421::sign_request(&parts, key_id, key, SystemTime::now())
                    .map_err(|e| FetchError::Sign(e.to_string()))?;
                headers.insert("signature-input", sig.signature_input);
                headers.insert("signature", sig.signature);
            }
        }
        let mut req = self.http.post(url.as_str()).body(body.to_vec());
        for (k, v) in headers.iter() {
            if k != "host" {
                req = req.header(k, v);
            }
        }
        let res = req
            .send()
            .await
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        let status = res.status().as_u16();
        // Drain a little of the body so the connection can be reused; ignore its content.
        let _ = read_limited(res).await;
        Ok(status)
    }

    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }
}

/// Whether a Content-Type names an ActivityStreams document: `application/activity+json`, or
/// `application/ld+json` with the ActivityStreams profile (as Mastodon requires since
/// CVE-2024-23832). Parsed by hand: a media type and one parameter are all there is to read,
/// and the `mime` crate would not check the profile's value either.
pub fn is_activity_content_type(value: &str) -> bool {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/activity+json" => true,
        "application/ld+json" => parts.any(|p| {
            let Some((name, v)) = p.split_once('=') else {
                return false;
            };
            name.trim().eq_ignore_ascii_case("profile")
                && v.trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|p| p == "https://www.w3.org/ns/activitystreams")
        }),
        _ => false,
    }
}

fn path_and_query(url: &url::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{}", url.path(), q),
        None => url.path().to_string(),
    }
}

fn base_headers(url: &url::Url) -> Headers {
    let mut h = Headers::new();
    let host = match url.port() {
        Some(p) => format!("{}:{}", url.host_str().unwrap_or(""), p),
        None => url.host_str().unwrap_or("").to_string(),
    };
    h.insert("host", host);
    h.insert("date", crate::http_date(SystemTime::now()));
    h
}

async fn read_limited(res: reqwest::Response) -> Result<Vec<u8>, FetchError> {
    read_up_to(res, MAX_RESPONSE_BYTES).await
}

async fn read_up_to(res: reqwest::Response, limit: usize) -> Result<Vec<u8>, FetchError> {
    if res.content_length().is_some_and(|l| l as usize > limit) {
        return Err(FetchError::TooLarge);
    }
    let mut out = Vec::new();
    let mut stream = res.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| FetchError::Transport(e.to_string()))?;
        if out.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_refused() {
        let c = Client::new(false, "test").unwrap();
        for bad in [
            "http://example.org/",
            "https://127.0.0.1/",
            "https://10.0.0.1/x",
            "https://[::1]/",
            "https://localhost/",
            "https://169.254.169.254/",
            "https://192.168.1.1/",
            "ftp://example.org/",
        ] {
            assert!(c.check_url(bad).is_err(), "{bad}");
        }
        assert!(c.check_url("https://example.org/users/a").is_ok());
        let t = Client::new(true, "test").unwrap();
        assert!(t.check_url("http://127.0.0.1:8080/inbox").is_ok());
    }

    #[test]
    fn public_ip_classification() {
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "192.0.1.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.254",
            "2001:4860:4860::8888",
            "2a00:1450:4001::1",
            "2003::1",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public} is public");
        }
        for private in [
            // already refused before
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "192.0.2.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            // 0.0.0.0/8
            "0.0.0.0",
            "0.1.2.3",
            // 100.64.0.0/10
            "100.64.0.1",
            "100.127.255.255",
            // 192.0.0.0/24
            "192.0.0.1",
            "192.0.0.170",
            // 198.18.0.0/15
            "198.18.0.1",
            "198.19.255.255",
            // multicast, reserved, broadcast
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.254",
            "255.255.255.255",
            // NAT64, 6to4, Teredo (each can embed a private IPv4 address)
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            // other special IPv6
            "::127.0.0.1",
            "fec0::1",
            "2001:db8::1",
            "100::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private} is refused");
        }
    }

    #[test]
    fn literal_special_addresses_are_refused_in_urls() {
        let c = Client::new(false, "test").unwrap();
        for bad in [
            "https://0.0.0.0/",
            "https://100.64.1.1/",
            "https://192.0.0.8/",
            "https://198.18.0.1/",
            "https://240.0.0.1/",
            "https://255.255.255.255/",
            "https://[64:ff9b::7f00:1]/",
            "https://[2002:7f00:1::1]/",
            "https://[2001::1]/",
        ] {
            assert!(
                matches!(c.check_url(bad), Err(FetchError::Refused(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn test_hosts_are_the_only_exception() {
        let mut hosts = TestHosts::new();
        hosts.insert("a.test".into(), "127.0.0.1".parse().unwrap());
        let c = Client::with_options(ClientOptions {
            allow_private: false,
            user_agent: "test".into(),
            test_hosts: hosts,
        })
        .unwrap();
        assert!(c.check_url("http://a.test:8080/users/a").is_ok());
        assert!(c.check_url("http://A.Test/users/a").is_ok());
        assert!(c.allows_http("a.test:8080"));
        assert!(!c.allows_http("b.test:8080"));
        assert!(
            c.check_url("http://b.test/").is_err(),
            "plain http elsewhere"
        );
        assert!(c.check_url("https://127.0.0.1/").is_err());
        assert!(c.check_url("https://localhost/").is_err());
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused() {
        // `localhost` is refused by name, so ask the resolver directly, as reqwest does.
        let r = GuardedResolver {
            allow_private: false,
            test_hosts: Arc::new(TestHosts::new()),
        };
        let name: Name = "localhost".parse().unwrap();
        assert!(r.resolve(name).await.is_err());
        let mut hosts = TestHosts::new();
        hosts.insert("a.test".into(), "127.0.0.2".parse().unwrap());
        let r = GuardedResolver {
            allow_private: false,
            test_hosts: Arc::new(hosts),
        };
        let addrs: Vec<SocketAddr> = r
            .resolve("a.test".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(addrs[0].ip(), "127.0.0.2".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn activity_content_types() {
        for ok in [
            "application/activity+json",
            "application/activity+json; charset=utf-8",
            "Application/Activity+JSON",
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
            "application/ld+json;profile=https://www.w3.org/ns/activitystreams",
            "application/ld+json; charset=utf-8; profile=\"https://w3id.org/security/v1 https://www.w3.org/ns/activitystreams\"",
        ] {
            assert!(is_activity_content_type(ok), "{ok}");
        }
        for bad in [
            "application/json",
            "application/ld+json",
            "application/ld+json; profile=\"https://example.org/ns\"",
            "text/html",
            "image/png",
            "application/octet-stream",
            "application/jrd+json",
            "",
        ] {
            assert!(!is_activity_content_type(bad), "{bad}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fetches_from_one_host_are_bounded() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (o, m) = (open.clone(), most.clone());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (o, m) = (o.clone(), m.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut got = Vec::new();
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    let now = o.fetch_add(1, Ordering::SeqCst) + 1;
                    m.fetch_max(now, Ordering::SeqCst);
                    // Hold the request long enough for the others to pile up.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    o.fetch_sub(1, Ordering::SeqCst);
                    let body = "{}";
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/activity+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(answer.as_bytes()).await;
                });
            }
        });
        let c = Client::new(true, "test").unwrap();
        let url = format!("http://127.0.0.1:{port}/doc");
        let all = futures_util::future::join_all((0..12).map(|_| c.get_activity(&url, None))).await;
        assert!(all.iter().all(|r| r.is_ok()), "{all:?}");
        let most = most.load(Ordering::SeqCst);
        assert!(
            (1..=FETCHES_PER_HOST).contains(&most),
            "{most} fetches at once"
        );
    }
}
