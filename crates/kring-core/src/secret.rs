//! Secrets the server hands out (client secrets, access and refresh tokens, authorization
//! codes) and how they are kept: only a hash is stored, and a presented secret is checked by
//! hashing it and comparing the hashes in constant time.
//!
//! Plain SHA-256, not a password hash (Argon2): these secrets are 32 random bytes, so there is
//! nothing to guess and no dictionary to slow down; a fast hash still makes a leaked database
//! useless for logging in, and it lets tokens be looked up by their hash on every request.
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The stored form of a secret: lower-case hex of its SHA-256.
pub fn hash(secret: &str) -> String {
    // In one pass: a `format!` per byte was 32 small strings for every signed-in request's
    // token (~0.7 % of the web home page's samples, BENCHMARKS.md, session 27).
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` is the one whose hash is `stored`. Compares in constant time (with
/// `subtle`, made for this), so response times say nothing about how much of it matched.
pub fn matches(secret: &str, stored: &str) -> bool {
    eq(hash(secret).as_bytes(), stored.as_bytes())
}

/// Constant-time equality of two byte strings (their lengths are not secret).
pub fn eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_hex_sha256_and_matches_checks_it() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(matches("abc", &hash("abc")));
        assert!(!matches("abd", &hash("abc")));
        assert!(!matches("abc", "abc"));
        assert!(!matches("abc", ""));
        assert!(eq(b"", b""));
        assert!(!eq(b"a", b"ab"));
    }
}
