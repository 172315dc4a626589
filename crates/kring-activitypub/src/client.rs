//! The HTTP client for federation: every request is signed, bounded in time and size, and may
//! not reach private, loopback or link-local addresses (server-side request forgery) unless the
//! operator allows it for tests — which also allows plain `http` to such hosts.
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;

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
}

/// Which signature scheme to sign a POST with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Cavage,
    Rfc9421,
}

/// Whether an address may be contacted when private addresses are refused.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // 100.64/10 carrier NAT
                || v4.octets()[0] >= 224)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80) // link local
        }
    }
}

/// A resolver that drops non-public addresses, so a public name pointing at an internal
/// address cannot be used to reach it.
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
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

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    allow_private: bool,
    user_agent: String,
}

impl Client {
    pub fn new(allow_private: bool, user_agent: &str) -> Result<Client, FetchError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .pool_max_idle_per_host(8)
            // Redirects would bypass the URL checks below; ActivityPub peers rarely need them.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent);
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        let http = builder
            .build()
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        Ok(Client {
            http,
            allow_private,
            user_agent: user_agent.to_string(),
        })
    }

    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Check a URL before contacting it: https only (http only where private hosts are
    /// allowed), and no literal private addresses.
    pub fn check_url(&self, raw: &str) -> Result<url::Url, FetchError> {
        let url = url::Url::parse(raw).map_err(|e| FetchError::BadUrl(format!("{raw}: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            other => return Err(FetchError::Refused(format!("scheme {other}"))),
        }
        let host = url
            .host()
            .ok_or_else(|| FetchError::BadUrl(format!("{raw}: no host")))?;
        if !self.allow_private {
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

    /// GET an ActivityStreams document, signed by `key_id`/`key` (for servers with authorized
    /// fetch) when a key is given.
    pub async fn get_json(
        &self,
        raw: &str,
        signer: Option<(&str, &KeyPair)>,
        accept: &str,
    ) -> Result<Value, FetchError> {
        let url = self.check_url(raw)?;
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
        if !res.status().is_success() {
            return Err(FetchError::Status(res.status().as_u16()));
        }
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
        assert!(is_public("93.184.216.34".parse().unwrap()));
        assert!(!is_public("100.64.0.1".parse().unwrap()));
        assert!(!is_public("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!is_public("fd00::1".parse().unwrap()));
        assert!(is_public("2001:4860:4860::8888".parse().unwrap()));
    }
}
