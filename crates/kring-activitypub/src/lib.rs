//! Kring's HTTP-signature layer.
//!
//! ActivityPub servers authenticate server-to-server requests with HTTP signatures. Two schemes are
//! in use: the older draft-cavage-http-signatures-12 (`Signature:` header, what Mastodon and most
//! of the fediverse send) and RFC 9421 HTTP Message Signatures (`Signature-Input:` + `Signature:`).
//! This crate implements both, on top of one request abstraction ([`HttpRequestParts`]) and one
//! key layer ([`keys`]) backed by aws-lc-rs.
//!
//! Receive side, draft-cavage:
//! 1. convert the incoming request to [`HttpRequestParts`];
//! 2. [`cavage::SignatureHeader::from_request`] to learn the `keyId`;
//! 3. fetch (or take from cache) the actor's key and parse it once with [`PublicKey::from_pem`];
//! 4. [`cavage::verify`].
//!
//! RFC 9421 works the same way with [`rfc9421::parse_signatures`] and [`rfc9421::verify`].
// The JSON-LD context (`as2::context`) is one long `json!` literal.
#![recursion_limit = "256"]

pub mod as2;
pub mod cavage;
pub mod client;
pub mod digest;
pub mod keys;
mod request;
pub mod rfc9421;

pub use keys::{Algorithm, Ed25519KeyPair, HmacKey, KeyPair, PublicKey, Signer, Verifier};
pub use request::{Headers, HttpRequestParts};

use std::time::SystemTime;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while signing or verifying.
///
/// Variants are deliberately fine-grained so that callers can log (and tests can assert) *why* a
/// request was refused; none of them carries secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request carries no signature at all.
    #[error(
        "the request is not signed (no Signature, Authorization: Signature or Signature-Input header)"
    )]
    MissingSignature,
    /// A header exists but cannot be parsed.
    #[error("malformed {header} header: {reason}")]
    MalformedHeader {
        /// Header (or parameter) name.
        header: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The signature covers a header or component the request does not have.
    #[error("signed header `{0}` is missing from the request")]
    MissingHeader(String),
    /// Our policy requires this header/component to be covered by the signature, and it is not.
    #[error("`{0}` must be covered by the signature")]
    NotCovered(String),
    /// The request has a body but no digest header to bind it to the signature.
    #[error("the request has a body but no {0} header")]
    MissingDigest(&'static str),
    /// The body does not hash to the value in the digest header.
    #[error("the body does not match the {0} header")]
    DigestMismatch(&'static str),
    /// None of the digest algorithms in the header is one we implement.
    #[error("no supported digest algorithm in the {0} header")]
    UnsupportedDigest(&'static str),
    /// The signature algorithm is unknown or not allowed.
    #[error("unsupported signature algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// The declared algorithm cannot be used with the key (e.g. `rsa-sha256` with an Ed25519 key).
    #[error("signature algorithm `{declared}` does not match the {key} key")]
    AlgorithmMismatch {
        /// Algorithm named in the signature.
        declared: String,
        /// Algorithm of the key.
        key: &'static str,
    },
    /// The cryptographic check failed: wrong key, or signed content was altered.
    #[error("signature verification failed")]
    BadSignature,
    /// The signature (or its Date) is too old, or past its `expires`.
    #[error("signature expired: {0}")]
    Expired(String),
    /// The signature claims to be from the future (beyond the allowed clock skew).
    #[error("signature is not yet valid: {0}")]
    NotYetValid(String),
    /// A key could not be parsed or is unacceptable.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// An RSA key is below the accepted size.
    #[error("RSA key of {bits} bits is too small (minimum {min})")]
    KeyTooSmall {
        /// Modulus size.
        bits: u32,
        /// Minimum accepted.
        min: u32,
    },
    /// An RFC 9421 component (or component parameter) we do not implement.
    #[error("unsupported signature component `{0}`")]
    UnsupportedComponent(String),
    /// An RFC 9421 signature label is not present.
    #[error("no signature labelled `{0}`")]
    UnknownLabel(String),
    /// The request target (URI) cannot be used, e.g. no scheme known for `@scheme`.
    #[error("invalid request target: {0}")]
    InvalidTarget(String),
    /// The crypto library failed for a reason unrelated to the input (should not happen).
    #[error("cryptographic failure: {0}")]
    Crypto(&'static str),
}

impl Error {
    pub(crate) fn malformed(header: &str, reason: impl Into<String>) -> Self {
        Error::MalformedHeader {
            header: header.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Which signature scheme a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// draft-cavage (`Signature: keyId=…` or `Authorization: Signature …`).
    Cavage,
    /// RFC 9421 (`Signature-Input` present).
    Rfc9421,
}

/// Tells the schemes apart. Both use a `Signature` header, but only RFC 9421 sends
/// `Signature-Input`, so its presence decides.
pub fn detect_scheme(req: &HttpRequestParts<'_>) -> Option<Scheme> {
    let h = req.headers();
    if h.contains("signature-input") {
        Some(Scheme::Rfc9421)
    } else if h.contains("signature")
        || h.get("authorization").is_some_and(|v| {
            v.trim_start()
                .get(..10)
                .is_some_and(|p| p.eq_ignore_ascii_case("signature "))
        })
    {
        Some(Scheme::Cavage)
    } else {
        None
    }
}

/// Formats `t` as an HTTP `Date` header value (IMF-fixdate), e.g. `Sun, 05 Jan 2014 21:31:40 GMT`.
pub fn http_date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

/// Seconds since the Unix epoch, negative before it; signatures carry times in this form.
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}
