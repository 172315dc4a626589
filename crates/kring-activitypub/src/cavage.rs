//! draft-cavage-http-signatures-12: the `Signature` header the fediverse actually sends.
//!
//! The signing string is one `name: value` line per covered header, joined by `\n`, with the
//! pseudo-headers `(request-target)` (`post /inbox`), `(created)` and `(expires)`. Verification
//! here also enforces the policy every ActivityPub server applies: the method, path, host and a
//! fresh date must be signed, and so must the body digest when there is a body — otherwise a
//! captured signature could be replayed against another request.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::digest::verify_digest_header;
use crate::keys::{Algorithm, KeyPair, Signer, Verifier};
use crate::{Error, Headers, HttpRequestParts, Result, unix_seconds};

/// Default tolerance between a signature's date and our clock (Mastodon uses 12 hours too).
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(12 * 60 * 60);

const SIGNATURE: &str = "Signature";

/// A parsed `Signature` header (or `Authorization: Signature …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// `keyId`: for ActivityPub, the URL of the actor's `publicKey`.
    pub key_id: String,
    /// `algorithm` as sent (`rsa-sha256`, `hs2019`, …), if any.
    pub algorithm: Option<String>,
    /// Covered headers, lowercased, in signing order.
    pub headers: Vec<String>,
    /// The decoded signature bytes.
    pub signature: Vec<u8>,
    /// `created` (Unix seconds), if any.
    pub created: Option<i64>,
    /// `expires` (Unix seconds), if any.
    pub expires: Option<i64>,
}

impl SignatureHeader {
    /// Parses a `Signature` header value: `keyId="…",algorithm="…",headers="…",signature="…"`.
    pub fn parse(value: &str) -> Result<Self> {
        let mut key_id = None;
        let mut algorithm = None;
        let mut headers = None;
        let mut signature = None;
        let mut created = None;
        let mut expires = None;
        for (name, val) in parse_params(value)? {
            let slot = match name.as_str() {
                "keyid" => &mut key_id,
                "algorithm" => &mut algorithm,
                "headers" => &mut headers,
                "signature" => &mut signature,
                "created" => &mut created,
                "expires" => &mut expires,
                _ => continue, // Unknown parameters are ignored, as the draft requires.
            };
            if slot.replace(val).is_some() {
                return Err(Error::malformed(
                    SIGNATURE,
                    format!("duplicate `{name}` parameter"),
                ));
            }
        }
        let key_id = key_id
            .filter(|k| !k.is_empty())
            .ok_or_else(|| Error::malformed(SIGNATURE, "no keyId"))?;
        let signature = signature.ok_or_else(|| Error::malformed(SIGNATURE, "no signature"))?;
        let signature = B64
            .decode(signature.trim())
            .map_err(|e| Error::malformed(SIGNATURE, format!("signature is not base64: {e}")))?;
        // Without `headers` the draft signs only the date (`(created)` in draft-12, but senders
        // and the Appendix C vectors use `date`).
        let headers: Vec<String> = match headers {
            None => vec!["date".to_owned()],
            Some(h) => h
                .split_ascii_whitespace()
                .map(str::to_ascii_lowercase)
                .collect(),
        };
        if headers.is_empty() {
            return Err(Error::malformed(SIGNATURE, "empty headers list"));
        }
        let int = |name: &str, v: Option<String>| -> Result<Option<i64>> {
            v.map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| Error::malformed(SIGNATURE, format!("{name} is not an integer")))
            })
            .transpose()
        };
        Ok(Self {
            key_id,
            algorithm,
            headers,
            signature,
            created: int("created", created)?,
            expires: int("expires", expires)?,
        })
    }

    /// Finds and parses the signature of a request: the `Signature` header, else
    /// `Authorization: Signature …`.
    pub fn from_request(req: &HttpRequestParts<'_>) -> Result<Self> {
        if let Some(v) = req.headers().get("signature") {
            return Self::parse(v);
        }
        if let Some(v) = req.headers().get("authorization") {
            let v = v.trim_start();
            if let Some((scheme, params)) = v.split_once(' ')
                && scheme.eq_ignore_ascii_case("signature")
            {
                return Self::parse(params);
            }
        }
        Err(Error::MissingSignature)
    }

    /// Whether a header (lowercase name or pseudo-header) is covered.
    pub fn covers(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h == name)
    }

    /// The header value, in the order Mastodon writes it.
    pub fn to_header_value(&self) -> String {
        let mut out = format!("keyId=\"{}\"", quote(&self.key_id));
        if let Some(alg) = &self.algorithm {
            out.push_str(&format!(",algorithm=\"{}\"", quote(alg)));
        }
        if let Some(c) = self.created {
            out.push_str(&format!(",created={c}"));
        }
        if let Some(e) = self.expires {
            out.push_str(&format!(",expires={e}"));
        }
        out.push_str(&format!(
            ",headers=\"{}\",signature=\"{}\"",
            self.headers.join(" "),
            B64.encode(&self.signature)
        ));
        out
    }

    /// The signing string this signature covers on `req`.
    pub fn signing_string(&self, req: &HttpRequestParts<'_>) -> Result<String> {
        signing_string(req, &self.headers, self.created, self.expires)
    }
}

/// Builds the signing string for `covered` headers (lowercase names or pseudo-headers).
pub fn signing_string(
    req: &HttpRequestParts<'_>,
    covered: &[impl AsRef<str>],
    created: Option<i64>,
    expires: Option<i64>,
) -> Result<String> {
    let mut out = String::new();
    for (i, name) in covered.iter().enumerate() {
        let name = name.as_ref().to_ascii_lowercase();
        let value = match name.as_str() {
            "(request-target)" => format!(
                "{} {}",
                req.method().to_ascii_lowercase(),
                req.path_and_query()
            ),
            "(created)" => created
                .ok_or(Error::MissingHeader(name.clone()))?
                .to_string(),
            "(expires)" => expires
                .ok_or(Error::MissingHeader(name.clone()))?
                .to_string(),
            _ => req
                .headers()
                .combined(&name)
                .ok_or(Error::MissingHeader(name.clone()))?,
        };
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&name);
        out.push_str(": ");
        out.push_str(&value);
    }
    Ok(out)
}

/// Signs an outgoing request the way Mastodon does: covers `(request-target) host date`, plus
/// `digest` when the headers carry one (add it with [`crate::digest::digest_header`] for a body).
/// Returns the `Signature` header value.
pub fn sign_request(
    method: &str,
    path_and_query: &str,
    headers: &Headers,
    key_id: &str,
    key: &KeyPair,
) -> Result<String> {
    let req = HttpRequestParts::new(method, path_and_query)?.with_headers(headers.clone());
    let mut covered = vec!["(request-target)", "host", "date"];
    if headers.contains("digest") {
        covered.push("digest");
    }
    sign(&req, key_id, &covered, key)
}

/// Signs `req` covering `covered` with any signer; returns the `Signature` header value.
pub fn sign(
    req: &HttpRequestParts<'_>,
    key_id: &str,
    covered: &[&str],
    signer: &dyn Signer,
) -> Result<String> {
    let string = signing_string(req, covered, None, None)?;
    let header = SignatureHeader {
        key_id: key_id.to_owned(),
        algorithm: Some(algorithm_name(signer.algorithm()).to_owned()),
        headers: covered.iter().map(|h| h.to_ascii_lowercase()).collect(),
        signature: signer.sign(string.as_bytes())?,
        created: None,
        expires: None,
    };
    Ok(header.to_header_value())
}

/// The `algorithm` value we send. Ed25519 has no draft name; implementations that support it
/// expect `hs2019` ("derive from the key").
fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RsaSha256 => "rsa-sha256",
        Algorithm::Ed25519 => "hs2019",
        Algorithm::HmacSha256 => "hmac-sha256",
    }
}

/// Verification policy.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Largest accepted distance between the signed date (`Date` or `(created)`) and now.
    pub max_skew: Duration,
    /// The current time; `None` reads the system clock (tests pin it).
    pub now: Option<SystemTime>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            max_skew: DEFAULT_MAX_SKEW,
            now: None,
        }
    }
}

/// Parses the request's signature and verifies it with `key` (when the key is already known).
pub fn verify_request(
    req: &HttpRequestParts<'_>,
    key: &dyn Verifier,
    opts: &VerifyOptions,
) -> Result<SignatureHeader> {
    let sig = SignatureHeader::from_request(req)?;
    verify(req, &sig, key, opts)?;
    Ok(sig)
}

/// Verifies a parsed signature against `req` and the signer's key.
///
/// Checks, cheapest first: required coverage, algorithm, freshness, body digest, then the
/// signature itself.
pub fn verify(
    req: &HttpRequestParts<'_>,
    sig: &SignatureHeader,
    key: &dyn Verifier,
    opts: &VerifyOptions,
) -> Result<()> {
    for required in ["(request-target)", "host"] {
        if !sig.covers(required) {
            return Err(Error::NotCovered(required.to_owned()));
        }
    }
    // `(created)` is the draft-12 replacement for `date`; either one dates the signature.
    if !sig.covers("date") && !sig.covers("(created)") {
        return Err(Error::NotCovered("date".to_owned()));
    }

    let alg = resolve_algorithm(sig.algorithm.as_deref(), key.algorithm())?;

    let now = unix_seconds(opts.now.unwrap_or_else(SystemTime::now));
    let max_skew = i64::try_from(opts.max_skew.as_secs()).unwrap_or(i64::MAX);
    if sig.covers("date") {
        let value = req
            .headers()
            .get("date")
            .ok_or_else(|| Error::MissingHeader("date".into()))?;
        let date = httpdate::parse_http_date(value.trim())
            .map_err(|_| Error::malformed("Date", format!("`{value}` is not an HTTP date")))?;
        check_freshness("Date", unix_seconds(date), now, max_skew)?;
    }
    if sig.covers("(created)") {
        let created = sig
            .created
            .ok_or_else(|| Error::MissingHeader("(created)".into()))?;
        check_freshness("created", created, now, max_skew)?;
    }
    if let Some(expires) = sig.expires
        && expires < now
    {
        return Err(Error::Expired(format!("expired {} s ago", now - expires)));
    }

    if let Some(body) = req.body() {
        let digest = req.headers().get("digest");
        if !body.is_empty() {
            if digest.is_none() {
                return Err(Error::MissingDigest("Digest"));
            }
            if !sig.covers("digest") {
                return Err(Error::NotCovered("digest".into()));
            }
        }
        // An unsigned Digest proves nothing; a signed one must match the body.
        if let Some(value) = digest
            && sig.covers("digest")
        {
            verify_digest_header(value, body)?;
        }
    }

    let string = sig.signing_string(req)?;
    if key.verify(alg, string.as_bytes(), &sig.signature) {
        Ok(())
    } else {
        Err(Error::BadSignature)
    }
}

fn resolve_algorithm(declared: Option<&str>, key_alg: Algorithm) -> Result<Algorithm> {
    let alg = match declared.map(str::to_ascii_lowercase).as_deref() {
        // hs2019 (and no algorithm at all) means "whatever the key is".
        None | Some("hs2019") => return Ok(key_alg),
        Some("rsa-sha256") => Algorithm::RsaSha256,
        Some("ed25519") => Algorithm::Ed25519,
        Some("hmac-sha256") => Algorithm::HmacSha256,
        Some(other) => return Err(Error::UnsupportedAlgorithm(other.to_owned())),
    };
    if alg == key_alg {
        Ok(alg)
    } else {
        Err(Error::AlgorithmMismatch {
            declared: declared.unwrap_or_default().to_owned(),
            key: key_alg.rfc9421_name(),
        })
    }
}

fn check_freshness(what: &str, signed_at: i64, now: i64, max_skew: i64) -> Result<()> {
    let age = now.saturating_sub(signed_at);
    if age > max_skew {
        Err(Error::Expired(format!(
            "{what} is {age} s old (limit {max_skew} s)"
        )))
    } else if -age > max_skew {
        Err(Error::NotYetValid(format!(
            "{what} is {} s in the future (limit {max_skew} s)",
            -age
        )))
    } else {
        Ok(())
    }
}

/// Escapes a value for a quoted-string.
fn quote(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Splits `name="quoted value", name=token, …` into lowercased names and unescaped values.
fn parse_params(input: &str) -> Result<Vec<(String, String)>> {
    let bad = |reason: &str| Error::malformed(SIGNATURE, reason);
    let mut out = Vec::new();
    let mut rest = input.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| bad("expected name=value"))?;
        let name = name.trim();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad("bad parameter name"));
        }
        let after = after.trim_start();
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => value.push(chars.next().ok_or_else(|| bad("dangling escape"))?.1),
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    _ => value.push(c),
                }
            }
            let end = end.ok_or_else(|| bad("unterminated quoted string"))?;
            (value, &quoted[end..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        out.push((name.to_ascii_lowercase(), value));
        let after = after.trim_start();
        rest = match after.strip_prefix(',') {
            Some(r) => r.trim_start(),
            None if after.is_empty() => after,
            None => return Err(bad("expected `,` between parameters")),
        };
    }
    if out.is_empty() {
        return Err(bad("empty header"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_params_with_escapes_and_commas() {
        let sig = SignatureHeader::parse(
            r#"keyId="https://a.example/u#main-key,\"x\"", algorithm=hs2019,headers="(request-target) Host date",signature="AAEC",created=5"#,
        )
        .unwrap();
        assert_eq!(sig.key_id, r#"https://a.example/u#main-key,"x""#);
        assert_eq!(sig.algorithm.as_deref(), Some("hs2019"));
        assert_eq!(sig.headers, ["(request-target)", "host", "date"]);
        assert_eq!(sig.signature, [0, 1, 2]);
        assert_eq!(sig.created, Some(5));
        let round = SignatureHeader::parse(&sig.to_header_value()).unwrap();
        assert_eq!(round, sig);
    }

    #[test]
    fn malformed_signature_headers_are_errors() {
        for bad in [
            "",
            "keyId",
            r#"keyId="a""#,
            r#"signature="AAAA""#,
            r#"keyId="",signature="AAAA""#,
            r#"keyId="a",signature="not base64!""#,
            r#"keyId="a,signature="AAAA""#,
            r#"keyId="a" signature="AAAA""#,
            r#"keyId="a",keyId="b",signature="AAAA""#,
            r#"keyId="a",signature="AAAA",headers="""#,
            r#"keyId="a",signature="AAAA",created=soon"#,
            r#"k y="a",signature="AAAA""#,
            r#"keyId="a\"#,
        ] {
            let err = SignatureHeader::parse(bad).unwrap_err();
            assert!(
                matches!(err, Error::MalformedHeader { .. }),
                "{bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn authorization_header_form() {
        let req = HttpRequestParts::new("GET", "/")
            .unwrap()
            .header("Authorization", r#"Signature keyId="k",signature="AAAA""#);
        assert_eq!(SignatureHeader::from_request(&req).unwrap().key_id, "k");
        let req = HttpRequestParts::new("GET", "/")
            .unwrap()
            .header("Authorization", "Bearer x");
        assert_eq!(
            SignatureHeader::from_request(&req),
            Err(Error::MissingSignature)
        );
    }

    #[test]
    fn algorithm_resolution() {
        use Algorithm::*;
        assert_eq!(resolve_algorithm(None, Ed25519), Ok(Ed25519));
        assert_eq!(resolve_algorithm(Some("hs2019"), RsaSha256), Ok(RsaSha256));
        assert_eq!(
            resolve_algorithm(Some("RSA-SHA256"), RsaSha256),
            Ok(RsaSha256)
        );
        assert!(matches!(
            resolve_algorithm(Some("rsa-sha256"), Ed25519),
            Err(Error::AlgorithmMismatch { .. })
        ));
        assert!(matches!(
            resolve_algorithm(Some("rsa-sha1"), RsaSha256),
            Err(Error::UnsupportedAlgorithm(_))
        ));
    }
}
