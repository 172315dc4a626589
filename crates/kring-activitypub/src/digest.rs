//! Body digests that bind a request body to its signature.
//!
//! draft-cavage signs the `Digest` header (RFC 3230 form, `SHA-256=<base64>`); RFC 9421 signs
//! `Content-Digest` (RFC 9530, a structured dictionary `sha-256=:<base64>:`). A signature only
//! protects the body if the receiver recomputes the digest, which is what `verify_*` do.

use aws_lc_rs::digest::{self, SHA256, SHA512};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sfv::{BareItem, Dictionary, ListEntry, Parser};

use crate::{Error, Result};

const DIGEST: &str = "Digest";
const CONTENT_DIGEST: &str = "Content-Digest";

/// `Digest` header value for `body`: `SHA-256=<base64>`.
pub fn digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", B64.encode(digest::digest(&SHA256, body)))
}

/// `Content-Digest` header value for `body`: `sha-256=:<base64>:`.
pub fn content_digest_header(body: &[u8]) -> String {
    format!("sha-256=:{}:", B64.encode(digest::digest(&SHA256, body)))
}

fn algorithm(name: &str) -> Option<&'static digest::Algorithm> {
    // Names are case-insensitive in RFC 3230; RFC 9530 keys are lowercase anyway.
    match name.to_ascii_lowercase().as_str() {
        "sha-256" => Some(&SHA256),
        "sha-512" => Some(&SHA512),
        _ => None,
    }
}

/// Checks a `Digest` header value (possibly listing several algorithms) against `body`.
///
/// Every supported algorithm listed must match and at least one must be supported; unknown ones
/// (`MD5`, `UNIXsum`, …) are ignored rather than trusted.
pub fn verify_digest_header(value: &str, body: &[u8]) -> Result<()> {
    let mut checked = false;
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, b64) = part
            .split_once('=')
            .ok_or_else(|| Error::malformed(DIGEST, format!("`{part}` is not ALGORITHM=VALUE")))?;
        let Some(alg) = algorithm(name.trim()) else {
            continue;
        };
        let expected = B64
            .decode(b64.trim())
            .map_err(|e| Error::malformed(DIGEST, format!("{name} value is not base64: {e}")))?;
        if digest::digest(alg, body).as_ref() != expected.as_slice() {
            return Err(Error::DigestMismatch(DIGEST));
        }
        checked = true;
    }
    if checked {
        Ok(())
    } else {
        Err(Error::UnsupportedDigest(DIGEST))
    }
}

/// Checks a `Content-Digest` header value against `body` (same rules as
/// [`verify_digest_header`]).
pub fn verify_content_digest_header(value: &str, body: &[u8]) -> Result<()> {
    let dict: Dictionary = Parser::new(value)
        .parse()
        .map_err(|e| Error::malformed(CONTENT_DIGEST, e.to_string()))?;
    let mut checked = false;
    for (name, entry) in &dict {
        let Some(alg) = algorithm(name.as_str()) else {
            continue;
        };
        let expected = match entry {
            ListEntry::Item(item) => match &item.bare_item {
                BareItem::ByteSequence(bytes) => bytes,
                _ => {
                    return Err(Error::malformed(
                        CONTENT_DIGEST,
                        format!("{name} is not a byte sequence"),
                    ));
                }
            },
            ListEntry::InnerList(_) => {
                return Err(Error::malformed(
                    CONTENT_DIGEST,
                    format!("{name} is a list"),
                ));
            }
        };
        if digest::digest(alg, body).as_ref() != expected.as_slice() {
            return Err(Error::DigestMismatch(CONTENT_DIGEST));
        }
        checked = true;
    }
    if checked {
        Ok(())
    } else {
        Err(Error::UnsupportedDigest(CONTENT_DIGEST))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"hello": "world"}"#;

    #[test]
    fn draft_cavage_digest() {
        // draft-cavage Appendix C request.
        assert_eq!(
            digest_header(BODY),
            "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
        );
        verify_digest_header(&digest_header(BODY), BODY).unwrap();
        verify_digest_header(
            "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=, MD5=xx",
            BODY,
        )
        .unwrap();
        assert_eq!(
            verify_digest_header(&digest_header(BODY), b"{}"),
            Err(Error::DigestMismatch("Digest"))
        );
        assert_eq!(
            verify_digest_header("MD5=abc", BODY),
            Err(Error::UnsupportedDigest("Digest"))
        );
        assert!(matches!(
            verify_digest_header("SHA-256=!!!", BODY),
            Err(Error::MalformedHeader { .. })
        ));
        assert!(matches!(
            verify_digest_header("SHA-256", BODY),
            Err(Error::MalformedHeader { .. })
        ));
    }

    #[test]
    fn rfc9530_content_digest() {
        assert_eq!(
            content_digest_header(BODY),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        verify_content_digest_header(&content_digest_header(BODY), BODY).unwrap();
        // RFC 9421 Appendix B request uses SHA-512.
        verify_content_digest_header(
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
            BODY,
        )
        .unwrap();
        assert_eq!(
            verify_content_digest_header(&content_digest_header(BODY), b""),
            Err(Error::DigestMismatch("Content-Digest"))
        );
        assert_eq!(
            verify_content_digest_header("md5=:AAAA:", BODY),
            Err(Error::UnsupportedDigest("Content-Digest"))
        );
        assert!(matches!(
            verify_content_digest_header("sha-256=X48E", BODY),
            Err(Error::MalformedHeader { .. })
        ));
        assert!(matches!(
            verify_content_digest_header("sha-256=:not base64", BODY),
            Err(Error::MalformedHeader { .. })
        ));
    }
}
