//! Keys: RSA-2048 key pairs for our actors, parsed remote public keys, Ed25519 and HMAC keys.
//!
//! Everything is backed by aws-lc-rs. Parsing a PEM key costs far more than one verification, so
//! [`PublicKey`] is parsed once and then cheap to clone and share (`Arc` inside): cache it per
//! `keyId`.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self as sig, KeyPair as _, ParsedPublicKey, RsaKeyPair};
use aws_lc_rs::{hmac, signature::Ed25519KeyPair as LcEd25519KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::{Error, Result};

/// Smallest RSA modulus accepted by default. Mastodon and every current implementation use 2048.
pub const MIN_RSA_BITS: u32 = 2048;
/// Smallest RSA modulus accepted by [`PublicKey::from_pem_allow_legacy`].
pub const MIN_LEGACY_RSA_BITS: u32 = 1024;

/// A signature algorithm, named independently of the scheme that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256: cavage `rsa-sha256`, RFC 9421 `rsa-v1_5-sha256`.
    RsaSha256,
    /// Ed25519 (RFC 8032): RFC 9421 `ed25519`.
    Ed25519,
    /// HMAC-SHA-256 with a shared secret: cavage `hmac-sha256`, RFC 9421 `hmac-sha256`.
    HmacSha256,
}

impl Algorithm {
    /// The RFC 9421 `alg` registry name.
    pub fn rfc9421_name(self) -> &'static str {
        match self {
            Algorithm::RsaSha256 => "rsa-v1_5-sha256",
            Algorithm::Ed25519 => "ed25519",
            Algorithm::HmacSha256 => "hmac-sha256",
        }
    }

    /// Looks up an RFC 9421 `alg` name (exact match, the registry is lowercase).
    pub fn from_rfc9421_name(name: &str) -> Option<Self> {
        [
            Algorithm::RsaSha256,
            Algorithm::Ed25519,
            Algorithm::HmacSha256,
        ]
        .into_iter()
        .find(|a| a.rfc9421_name() == name)
    }
}

/// Something that produces signatures (our private keys).
pub trait Signer {
    /// The algorithm this key signs with.
    fn algorithm(&self) -> Algorithm;
    /// Signs `data`.
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>>;
}

/// Something that checks signatures (remote public keys, shared secrets).
pub trait Verifier {
    /// The one algorithm this key verifies; a signature naming another one is refused.
    fn algorithm(&self) -> Algorithm;
    /// Whether `signature` is valid over `data` under `alg` (false if `alg` does not fit the key).
    fn verify(&self, alg: Algorithm, data: &[u8], signature: &[u8]) -> bool;
}

/// An RSA key pair for signing outgoing requests (RSA-2048 unless imported bigger).
#[derive(Clone)]
pub struct KeyPair {
    inner: Arc<RsaKeyPair>,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print private material.
        f.debug_struct("KeyPair")
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// Generates a fresh RSA-2048 key pair (roughly 50–200 ms: do it off the async runtime).
    pub fn generate() -> Result<Self> {
        let kp = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| Error::Crypto("RSA key generation failed"))?;
        Ok(Self {
            inner: Arc::new(kp),
        })
    }

    /// Parses a PKCS#8 `PRIVATE KEY` PEM (what [`to_pkcs8_pem`](Self::to_pkcs8_pem) writes).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        let der = pem_decode(pem, &["PRIVATE KEY"])?.1;
        let kp = RsaKeyPair::from_pkcs8(&der).map_err(|e| rsa_rejected(&e))?;
        Ok(Self {
            inner: Arc::new(kp),
        })
    }

    /// Parses either PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY` PEM; the latter is how
    /// Mastodon (Ruby OpenSSL) stores its actors' keys, so imports need it.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let (label, der) = pem_decode(pem, &["PRIVATE KEY", "RSA PRIVATE KEY"])?;
        let kp = if label == "PRIVATE KEY" {
            RsaKeyPair::from_pkcs8(&der)
        } else {
            RsaKeyPair::from_der(&der)
        }
        .map_err(|e| rsa_rejected(&e))?;
        Ok(Self {
            inner: Arc::new(kp),
        })
    }

    /// The private key as PKCS#8 `PRIVATE KEY` PEM, for storage.
    pub fn to_pkcs8_pem(&self) -> Result<String> {
        let der: Pkcs8V1Der<'static> = self
            .inner
            .as_der()
            .map_err(|_| Error::Crypto("PKCS#8 encoding failed"))?;
        Ok(pem_encode("PRIVATE KEY", der.as_ref()))
    }

    /// The public key as SPKI `PUBLIC KEY` PEM: the value of ActivityPub's
    /// `publicKey.publicKeyPem`.
    pub fn public_key_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.spki_der())
    }

    /// The public half, ready to verify.
    pub fn public_key(&self) -> PublicKey {
        // Our own key is valid by construction; this cannot fail for a key aws-lc accepted.
        PublicKey::from_spki_or_pkcs1_der(&self.spki_der(), MIN_RSA_BITS)
            .expect("public half of a validated RSA key pair parses")
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> u32 {
        u32::try_from(self.inner.public_modulus_len() * 8).unwrap_or(u32::MAX)
    }

    /// RSASSA-PKCS1-v1_5 SHA-256 signature of `data`.
    pub fn sign_rsa_sha256(&self, data: &[u8]) -> Vec<u8> {
        let mut out = vec![0; self.inner.public_modulus_len()];
        // aws-lc only fails here on allocation failure or a wrongly sized buffer; the buffer is
        // sized from the key itself.
        self.inner
            .sign(&sig::RSA_PKCS1_SHA256, &SystemRandom::new(), data, &mut out)
            .expect("RSA signing with a validated key and a modulus-sized buffer");
        out
    }

    fn spki_der(&self) -> Vec<u8> {
        let der: PublicKeyX509Der<'static> = self
            .inner
            .public_key()
            .as_der()
            .expect("SPKI encoding of a validated RSA key");
        der.as_ref().to_vec()
    }
}

impl Signer for KeyPair {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RsaSha256
    }
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        Ok(self.sign_rsa_sha256(data))
    }
}

/// An Ed25519 key pair (RFC 9421 `ed25519`).
#[derive(Clone)]
pub struct Ed25519KeyPair {
    inner: Arc<LcEd25519KeyPair>,
}

impl fmt::Debug for Ed25519KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519KeyPair").finish_non_exhaustive()
    }
}

impl Ed25519KeyPair {
    /// Generates a fresh key pair.
    pub fn generate() -> Result<Self> {
        let kp =
            LcEd25519KeyPair::generate().map_err(|_| Error::Crypto("Ed25519 key generation"))?;
        Ok(Self {
            inner: Arc::new(kp),
        })
    }

    /// Parses PKCS#8 (v1 or v2) DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let kp = LcEd25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|e| Error::InvalidKey(format!("Ed25519 private key rejected: {e}")))?;
        Ok(Self {
            inner: Arc::new(kp),
        })
    }

    /// Parses a PKCS#8 `PRIVATE KEY` PEM.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        Self::from_pkcs8_der(&pem_decode(pem, &["PRIVATE KEY"])?.1)
    }

    /// The public key as SPKI `PUBLIC KEY` PEM.
    pub fn public_key_pem(&self) -> String {
        let der: PublicKeyX509Der<'static> = self
            .inner
            .public_key()
            .as_der()
            .expect("SPKI encoding of an Ed25519 key");
        pem_encode("PUBLIC KEY", der.as_ref())
    }

    /// The public half, ready to verify.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::ed25519_from_raw(self.inner.public_key().as_ref())
            .expect("public half of a valid Ed25519 key pair")
    }
}

impl Signer for Ed25519KeyPair {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Ed25519
    }
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        Ok(self.inner.sign(data).as_ref().to_vec())
    }
}

/// A shared HMAC-SHA-256 secret; signs and verifies (RFC 9421 `hmac-sha256`).
#[derive(Clone)]
pub struct HmacKey {
    inner: Arc<hmac::Key>,
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacKey").finish_non_exhaustive()
    }
}

impl HmacKey {
    /// Wraps a secret (any length; RFC 2104 hashes long ones).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            inner: Arc::new(hmac::Key::new(hmac::HMAC_SHA256, secret)),
        }
    }
}

impl Signer for HmacKey {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HmacSha256
    }
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        Ok(hmac::sign(&self.inner, data).as_ref().to_vec())
    }
}

impl Verifier for HmacKey {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HmacSha256
    }
    fn verify(&self, alg: Algorithm, data: &[u8], signature: &[u8]) -> bool {
        // hmac::verify compares in constant time.
        alg == Algorithm::HmacSha256 && hmac::verify(&self.inner, data, signature).is_ok()
    }
}

/// A parsed public key (RSA or Ed25519) of a remote actor. Clone is a reference-count bump.
#[derive(Clone)]
pub struct PublicKey {
    inner: Arc<PublicKeyInner>,
}

struct PublicKeyInner {
    algorithm: Algorithm,
    rsa_bits: Option<u32>,
    parsed: ParsedPublicKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &self.inner.algorithm)
            .field("rsa_bits", &self.inner.rsa_bits)
            .finish()
    }
}

// DER of the AlgorithmIdentifier OIDs we recognise inside an SPKI.
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

impl PublicKey {
    /// Parses an SPKI `PUBLIC KEY` PEM (RSA or Ed25519) or a PKCS#1 `RSA PUBLIC KEY` PEM (some
    /// servers publish that). RSA keys must have at least [`MIN_RSA_BITS`] bits.
    pub fn from_pem(pem: &str) -> Result<Self> {
        Self::from_pem_min_bits(pem, MIN_RSA_BITS)
    }

    /// Like [`from_pem`](Self::from_pem) but accepts RSA keys down to 1024 bits, for the odd old
    /// peer (and the draft-cavage test key). Prefer `from_pem`.
    pub fn from_pem_allow_legacy(pem: &str) -> Result<Self> {
        Self::from_pem_min_bits(pem, MIN_LEGACY_RSA_BITS)
    }

    fn from_pem_min_bits(pem: &str, min_bits: u32) -> Result<Self> {
        let (_, der) = pem_decode(pem, &["PUBLIC KEY", "RSA PUBLIC KEY"])?;
        Self::from_spki_or_pkcs1_der(&der, min_bits)
    }

    /// Parses DER: an SPKI (RSA or Ed25519) or a PKCS#1 `RSAPublicKey`.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        Self::from_spki_or_pkcs1_der(der, MIN_RSA_BITS)
    }

    /// An Ed25519 key from its 32 raw bytes.
    pub fn ed25519_from_raw(raw: &[u8]) -> Result<Self> {
        if raw.len() != 32 {
            return Err(Error::InvalidKey(
                "an Ed25519 public key is 32 bytes".into(),
            ));
        }
        Self::ed25519(raw)
    }

    fn ed25519(bytes: &[u8]) -> Result<Self> {
        let parsed = ParsedPublicKey::new(&sig::ED25519, bytes)
            .map_err(|e| Error::InvalidKey(format!("Ed25519 public key rejected: {e}")))?;
        Ok(Self::wrap(Algorithm::Ed25519, None, parsed))
    }

    fn from_spki_or_pkcs1_der(der: &[u8], min_bits: u32) -> Result<Self> {
        match spki_algorithm(der) {
            Some(oid) if oid == OID_ED25519 => return Self::ed25519(der),
            Some(oid) if oid != OID_RSA_ENCRYPTION => {
                return Err(Error::InvalidKey(
                    "unsupported key type (only RSA and Ed25519 are supported)".into(),
                ));
            }
            _ => {} // RSA SPKI, or not an SPKI at all: try PKCS#1 RSAPublicKey.
        }
        // aws-lc accepts both encodings and normalises to PKCS#1, whose modulus we measure.
        let rsa = sig::RsaSubjectPublicKey::from_der(der)
            .map_err(|e| Error::InvalidKey(format!("RSA public key rejected: {e}")))?;
        let bits = pkcs1_modulus_bits(rsa.as_ref())
            .ok_or_else(|| Error::InvalidKey("unreadable RSA modulus".into()))?;
        if bits < min_bits {
            return Err(Error::KeyTooSmall {
                bits,
                min: min_bits,
            });
        }
        let params = if bits >= MIN_RSA_BITS {
            &sig::RSA_PKCS1_2048_8192_SHA256
        } else {
            &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
        };
        let parsed = ParsedPublicKey::new(params, der)
            .map_err(|e| Error::InvalidKey(format!("RSA public key rejected: {e}")))?;
        Ok(Self::wrap(Algorithm::RsaSha256, Some(bits), parsed))
    }

    fn wrap(algorithm: Algorithm, rsa_bits: Option<u32>, parsed: ParsedPublicKey) -> Self {
        Self {
            inner: Arc::new(PublicKeyInner {
                algorithm,
                rsa_bits,
                parsed,
            }),
        }
    }

    /// RSA modulus size, `None` for Ed25519.
    pub fn rsa_bits(&self) -> Option<u32> {
        self.inner.rsa_bits
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.algorithm
    }

    /// Whether `signature` is a valid `alg` signature of `data` by this key.
    pub fn verify(&self, alg: Algorithm, data: &[u8], signature: &[u8]) -> bool {
        alg == self.inner.algorithm && self.inner.parsed.verify_sig(data, signature).is_ok()
    }
}

impl Verifier for PublicKey {
    fn algorithm(&self) -> Algorithm {
        self.inner.algorithm
    }
    fn verify(&self, alg: Algorithm, data: &[u8], signature: &[u8]) -> bool {
        PublicKey::verify(self, alg, data, signature)
    }
}

fn rsa_rejected(e: &aws_lc_rs::error::KeyRejected) -> Error {
    if e.description_() == "TooSmall" {
        Error::InvalidKey("RSA private key too small (minimum 2048 bits)".into())
    } else {
        Error::InvalidKey(format!("RSA private key rejected: {e}"))
    }
}

/// Decodes the first PEM block whose label is one of `labels`; returns (label, DER).
pub(crate) fn pem_decode(pem: &str, labels: &[&'static str]) -> Result<(&'static str, Vec<u8>)> {
    let start = pem
        .find("-----BEGIN ")
        .ok_or_else(|| Error::InvalidKey("not PEM (no BEGIN line)".into()))?;
    let rest = &pem[start + "-----BEGIN ".len()..];
    let (label, rest) = rest
        .split_once("-----")
        .ok_or_else(|| Error::InvalidKey("not PEM (bad BEGIN line)".into()))?;
    let label = labels
        .iter()
        .copied()
        .find(|l| *l == label)
        .ok_or_else(|| {
            Error::InvalidKey(format!(
                "unexpected PEM label `{label}` (expected {})",
                labels.join(" or ")
            ))
        })?;
    let end_marker = format!("-----END {label}-----");
    let body = &rest[..rest
        .find(&end_marker)
        .ok_or_else(|| Error::InvalidKey("PEM has no matching END line".into()))?];
    if body.contains(':') {
        return Err(Error::InvalidKey(
            "encrypted PEM keys are not supported".into(),
        ));
    }
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = B64
        .decode(b64)
        .map_err(|e| Error::InvalidKey(format!("PEM body is not base64: {e}")))?;
    Ok((label, der))
}

/// PEM with 64-column lines, as OpenSSL writes it.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Reads one DER TLV; returns (tag, contents, rest). Only definite lengths (DER has no others).
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (len_bytes, r) = rest.split_at(n);
        rest = r;
        len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The algorithm OID of an SPKI (`SEQUENCE { SEQUENCE { OID, … }, BIT STRING }`), if `der` is one.
fn spki_algorithm(der: &[u8]) -> Option<&[u8]> {
    let (0x30, spki, _) = der_tlv(der)? else {
        return None;
    };
    let (0x30, alg_id, _) = der_tlv(spki)? else {
        return None;
    };
    let (0x06, oid, _) = der_tlv(alg_id)? else {
        return None;
    };
    Some(oid)
}

/// Bit length of the modulus in a PKCS#1 `RSAPublicKey` (`SEQUENCE { INTEGER n, INTEGER e }`).
fn pkcs1_modulus_bits(der: &[u8]) -> Option<u32> {
    let (0x30, seq, _) = der_tlv(der)? else {
        return None;
    };
    let (0x02, n, _) = der_tlv(seq)? else {
        return None;
    };
    let first_nonzero = n.iter().position(|b| *b != 0)?;
    let n = &n[first_nonzero..];
    let bytes = u32::try_from(n.len()).ok()?;
    Some(bytes * 8 - n[0].leading_zeros())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// One generated key for the whole test binary: generation is the slow part.
    pub(crate) fn test_key() -> &'static KeyPair {
        static KEY: OnceLock<KeyPair> = OnceLock::new();
        KEY.get_or_init(|| KeyPair::generate().unwrap())
    }

    #[test]
    fn generate_sign_verify_and_pem_round_trip() {
        let kp = test_key();
        assert_eq!(kp.bits(), 2048);
        let sig = kp.sign_rsa_sha256(b"hello");
        assert_eq!(sig.len(), 256);
        let pem = kp.public_key_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let pk = PublicKey::from_pem(&pem).unwrap();
        assert_eq!(pk.rsa_bits(), Some(2048));
        assert!(pk.verify(Algorithm::RsaSha256, b"hello", &sig));
        assert!(!pk.verify(Algorithm::RsaSha256, b"hellO", &sig));
        assert!(!pk.verify(Algorithm::Ed25519, b"hello", &sig));

        let private = kp.to_pkcs8_pem().unwrap();
        assert!(private.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let again = KeyPair::from_pkcs8_pem(&private).unwrap();
        assert_eq!(again.public_key_pem(), pem);
        // RSA PKCS#1 v1.5 is deterministic: same key, same signature.
        assert_eq!(again.sign_rsa_sha256(b"hello"), sig);
        assert_eq!(KeyPair::from_pem(&private).unwrap().public_key_pem(), pem);
    }

    #[test]
    fn accepts_pkcs1_rsa_public_key_pem() {
        let kp = test_key();
        // Turn our SPKI into PKCS#1 by taking the BIT STRING contents.
        let spki = pem_decode(&kp.public_key_pem(), &["PUBLIC KEY"]).unwrap().1;
        let (_, seq, _) = der_tlv(&spki).unwrap();
        let (_, _, rest) = der_tlv(seq).unwrap();
        let (tag, bits, _) = der_tlv(rest).unwrap();
        assert_eq!(tag, 0x03);
        let pkcs1 = pem_encode("RSA PUBLIC KEY", &bits[1..]);
        let pk = PublicKey::from_pem(&pkcs1).unwrap();
        assert!(pk.verify(Algorithm::RsaSha256, b"x", &kp.sign_rsa_sha256(b"x")));
    }

    #[test]
    fn ed25519_spki_and_hmac() {
        let kp = Ed25519KeyPair::generate().unwrap();
        let pk = PublicKey::from_pem(&kp.public_key_pem()).unwrap();
        assert_eq!(pk.algorithm(), Algorithm::Ed25519);
        let s = Signer::sign(&kp, b"msg").unwrap();
        assert!(pk.verify(Algorithm::Ed25519, b"msg", &s));
        assert!(!pk.verify(Algorithm::RsaSha256, b"msg", &s));

        let h = HmacKey::new(b"secret");
        let mac = h.sign(b"msg").unwrap();
        assert!(Verifier::verify(&h, Algorithm::HmacSha256, b"msg", &mac));
        assert!(!Verifier::verify(
            &HmacKey::new(b"other"),
            Algorithm::HmacSha256,
            b"msg",
            &mac
        ));
    }

    #[test]
    fn bad_keys_are_errors_not_panics() {
        for input in [
            "",
            "garbage",
            "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n",
        ] {
            assert!(
                matches!(PublicKey::from_pem(input), Err(Error::InvalidKey(_))),
                "{input:?}"
            );
        }
        assert!(
            KeyPair::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
        assert!(PublicKey::ed25519_from_raw(&[0; 31]).is_err());
    }

    #[test]
    fn public_keys_are_cheap_shared_handles() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<PublicKey>();
        assert_traits::<KeyPair>();
        assert_traits::<Ed25519KeyPair>();
        assert_traits::<HmacKey>();
    }
}
