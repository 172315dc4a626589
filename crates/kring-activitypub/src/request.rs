//! A transport-neutral view of an HTTP request: just what signing and verification read.
//!
//! axum hands us `http::Request` on receive and reqwest builds one on send; both convert to
//! [`HttpRequestParts`] by copying a handful of short strings and borrowing the body.

use crate::{Error, Result};

/// Request headers as an ordered multimap with case-insensitive names.
///
/// Names are stored lowercased (signatures name headers in lowercase); values keep their bytes,
/// since every byte is signed. Repeated headers keep their order, which matters when they are
/// combined into one value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value, keeping any earlier values of the same header.
    pub fn append(&mut self, name: &str, value: impl Into<String>) {
        self.entries.push((name.to_ascii_lowercase(), value.into()));
    }

    /// Sets a header, replacing every earlier value of it.
    pub fn insert(&mut self, name: &str, value: impl Into<String>) {
        let name = name.to_ascii_lowercase();
        self.entries.retain(|(n, _)| *n != name);
        self.entries.push((name, value.into()));
    }

    /// Removes every value of a header.
    pub fn remove(&mut self, name: &str) {
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// The first value of a header.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order.
    pub fn get_all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.entries
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the header is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// All values of a header trimmed and joined with `", "`, the canonical form both signature
    /// schemes sign (RFC 9110 §5.3 field combination); `None` when absent.
    pub fn combined(&self, name: &str) -> Option<String> {
        let mut values = self.get_all(name).map(str::trim);
        let first = values.next()?;
        let mut out = first.to_owned();
        for v in values {
            out.push_str(", ");
            out.push_str(v);
        }
        Some(out)
    }

    /// `(lowercased name, value)` pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: AsRef<str>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut h = Headers::new();
        for (k, v) in iter {
            h.append(k.as_ref(), v);
        }
        h
    }
}

impl From<&http::HeaderMap> for Headers {
    fn from(map: &http::HeaderMap) -> Self {
        // Non-UTF-8 values cannot be part of a valid signature string anyway; keep them lossily so
        // that a signature covering them fails verification instead of the conversion failing.
        map.iter()
            .map(|(n, v)| {
                (
                    n.as_str(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect()
    }
}

/// The parts of an HTTP request that signatures cover.
#[derive(Debug, Clone)]
pub struct HttpRequestParts<'a> {
    method: String,
    scheme: Option<String>,
    authority: Option<String>,
    path_and_query: String,
    headers: Headers,
    body: Option<&'a [u8]>,
}

impl<'a> HttpRequestParts<'a> {
    /// A request for `target`, which is either absolute (`https://host/path?q`, as a client sends
    /// it) or origin-form (`/path?q`, as a server receives it; the authority then comes from the
    /// `Host` header and the scheme from [`with_scheme`](Self::with_scheme)). A `#fragment` is
    /// dropped: it never goes on the wire.
    pub fn new(method: &str, target: &str) -> Result<Self> {
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::InvalidTarget(format!("bad method `{method}`")));
        }
        let target = target.split('#').next().unwrap_or_default();
        let (scheme, authority, path_and_query) = if target.starts_with('/') {
            (None, None, target.to_owned())
        } else if let Some((scheme, rest)) = target.split_once("://") {
            let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            if !valid_scheme {
                return Err(Error::InvalidTarget(format!("bad scheme in `{target}`")));
            }
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (authority, pq) = rest.split_at(end);
            if authority.is_empty() {
                return Err(Error::InvalidTarget(format!("no authority in `{target}`")));
            }
            let pq = if pq.starts_with('/') {
                pq.to_owned()
            } else {
                format!("/{pq}")
            };
            (
                Some(scheme.to_ascii_lowercase()),
                Some(authority.to_owned()),
                pq,
            )
        } else {
            return Err(Error::InvalidTarget(format!(
                "`{target}` is neither an absolute URI nor an absolute path"
            )));
        };
        if path_and_query
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(Error::InvalidTarget(
                "whitespace in the request target".into(),
            ));
        }
        Ok(Self {
            method: method.to_owned(),
            scheme,
            authority,
            path_and_query,
            headers: Headers::new(),
            body: None,
        })
    }

    /// Converts an `http` request head (what axum and hyper expose), plus the body if any.
    pub fn from_http(parts: &http::request::Parts, body: Option<&'a [u8]>) -> Result<Self> {
        let target = parts.uri.to_string();
        let mut req = Self::new(parts.method.as_str(), &target)?;
        req.headers = Headers::from(&parts.headers);
        req.body = body;
        Ok(req)
    }

    /// Replaces all headers.
    pub fn with_headers(mut self, headers: Headers) -> Self {
        self.headers = headers;
        self
    }

    /// Appends one header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Attaches the body (needed to check `Digest`/`Content-Digest`).
    pub fn with_body(mut self, body: &'a [u8]) -> Self {
        self.body = Some(body);
        self
    }

    /// Sets the scheme for an origin-form target (a server behind a TLS proxy knows it is `https`).
    pub fn with_scheme(mut self, scheme: &str) -> Self {
        self.scheme = Some(scheme.to_ascii_lowercase());
        self
    }

    /// The method as sent (normally uppercase).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Path and query, e.g. `/users/a/inbox?x=1`.
    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }

    /// The path alone (never empty).
    pub fn path(&self) -> &str {
        let p = self.path_and_query.split('?').next().unwrap_or_default();
        if p.is_empty() { "/" } else { p }
    }

    /// The query without `?`, if the target has one.
    pub fn query(&self) -> Option<&str> {
        self.path_and_query.split_once('?').map(|(_, q)| q)
    }

    /// Lowercase scheme, if known.
    pub fn scheme(&self) -> Option<&str> {
        self.scheme.as_deref()
    }

    /// The authority as it appears in the target URI, or else the `Host` header.
    pub fn authority(&self) -> Option<&str> {
        self.authority
            .as_deref()
            .or_else(|| self.headers.get("host").map(str::trim))
    }

    /// The full target URI: the absolute target if given, else rebuilt from scheme, `Host` and
    /// path — which is what the sender had when it signed.
    pub fn target_uri(&self) -> Result<String> {
        let scheme = self.scheme().ok_or_else(|| {
            Error::InvalidTarget(
                "the scheme is unknown (use with_scheme on the receiving side)".into(),
            )
        })?;
        let authority = self
            .authority()
            .ok_or_else(|| Error::InvalidTarget("no authority and no Host header".into()))?;
        Ok(format!("{scheme}://{authority}{}", self.path_and_query))
    }

    /// The headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The headers, mutably (e.g. to add `Date` and `Digest` before signing).
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body, if one was attached.
    pub fn body(&self) -> Option<&'a [u8]> {
        self.body
    }

    /// Whether the request carries a non-empty body, which must then be bound by a digest.
    pub(crate) fn has_body(&self) -> bool {
        self.body.is_some_and(|b| !b.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_case_insensitive_and_combine() {
        let mut h = Headers::new();
        h.append("X-Multi", " a ");
        h.append("x-multi", "b");
        h.append("Host", "example.com");
        assert_eq!(h.get("HOST"), Some("example.com"));
        assert_eq!(h.combined("x-MULTI").as_deref(), Some("a, b"));
        h.insert("X-MULTI", "c");
        assert_eq!(h.combined("x-multi").as_deref(), Some("c"));
        assert!(h.combined("absent").is_none());
    }

    #[test]
    fn parses_absolute_and_origin_targets() {
        let r = HttpRequestParts::new("GET", "HTTPS://Example.com:8443?a=b#frag").unwrap();
        assert_eq!(r.scheme(), Some("https"));
        assert_eq!(r.authority(), Some("Example.com:8443"));
        assert_eq!(r.path_and_query(), "/?a=b");
        assert_eq!(r.path(), "/");
        assert_eq!(r.query(), Some("a=b"));

        let r = HttpRequestParts::new("POST", "/inbox")
            .unwrap()
            .header("Host", "kring.example")
            .with_scheme("https");
        assert_eq!(r.target_uri().unwrap(), "https://kring.example/inbox");
        assert_eq!(r.query(), None);

        assert!(HttpRequestParts::new("GET", "inbox").is_err());
        assert!(HttpRequestParts::new("GET", "https:///x").is_err());
        assert!(HttpRequestParts::new("G T", "/").is_err());
        assert!(HttpRequestParts::new("GET", "/a b").is_err());
    }

    #[test]
    fn converts_from_http() {
        let req = http::Request::builder()
            .method("POST")
            .uri("/users/a/inbox?x=1")
            .header("Host", "kring.example")
            .header("Content-Type", "application/activity+json")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let r = HttpRequestParts::from_http(&parts, Some(b"{}")).unwrap();
        assert_eq!(r.method(), "POST");
        assert_eq!(r.path_and_query(), "/users/a/inbox?x=1");
        assert_eq!(
            r.headers().get("content-type"),
            Some("application/activity+json")
        );
        assert_eq!(r.body(), Some(&b"{}"[..]));
    }
}
