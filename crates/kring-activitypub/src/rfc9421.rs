//! RFC 9421 HTTP Message Signatures: `Signature-Input` + `Signature` structured fields.
//!
//! The signature base is one line per covered component (`"@method": POST`), then the
//! `"@signature-params"` line, which repeats the serialized `Signature-Input` member so that the
//! parameters (created, keyid, …) are signed too. Both headers are RFC 8941/9651 dictionaries keyed
//! by a label, so one request may carry several signatures.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sfv::{
    BareItem, Dictionary, FieldType, InnerList, Integer, Item, Key, KeyRef, List, ListEntry, Parser,
};

use crate::digest::verify_content_digest_header;
use crate::keys::{Algorithm, KeyPair, Signer, Verifier};
use crate::{Error, Headers, HttpRequestParts, Result, unix_seconds};

const SIGNATURE_INPUT: &str = "Signature-Input";
const SIGNATURE: &str = "Signature";

/// Default tolerance between `created` and our clock.
pub const DEFAULT_MAX_SKEW: Duration = crate::cavage::DEFAULT_MAX_SKEW;

/// One covered component: a name (`@method`, `content-type`, …) and its parameters (`;bs`,
/// `;key="…"`, `;sf`).
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    item: Item,
}

impl Component {
    /// A component without parameters. Header names are lowercased, as the RFC requires.
    pub fn new(name: &str) -> Result<Self> {
        let name = if name.starts_with('@') {
            name.to_owned()
        } else {
            name.to_ascii_lowercase()
        };
        let s = sfv::String::from_string(name)
            .map_err(|(e, n)| Error::malformed(SIGNATURE_INPUT, format!("component `{n}`: {e}")))?;
        Ok(Self { item: Item::new(s) })
    }

    /// The component name.
    pub fn name(&self) -> &str {
        match &self.item.bare_item {
            BareItem::String(s) => s.as_str(),
            _ => "", // Unreachable: construction only admits strings.
        }
    }

    /// The component identifier as it appears in the signature base, e.g. `"date"` or
    /// `"example-dict";key="a"`.
    pub fn identifier(&self) -> String {
        self.item.serialize()
    }

    fn param(&self, name: &str) -> Option<&BareItem> {
        self.item.params.get(name)
    }
}

/// The signature parameters: the covered components plus `created`, `expires`, `keyid`, `alg`,
/// `nonce` and `tag`. Kept as the structured value itself so that a received one re-serializes
/// exactly (parameter order included).
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureParams {
    inner: InnerList,
}

impl SignatureParams {
    /// Parameters covering `components`, with no parameters yet (add them with `with_*`; they are
    /// serialized in the order added).
    pub fn new(components: &[&str]) -> Result<Self> {
        let items = components
            .iter()
            .map(|c| Component::new(c).map(|c| c.item))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            inner: InnerList::new(items),
        })
    }

    fn from_inner_list(inner: InnerList) -> Result<Self> {
        let bad = |reason: String| Error::malformed(SIGNATURE_INPUT, reason);
        for item in &inner.items {
            if !matches!(item.bare_item, BareItem::String(_)) {
                return Err(bad("component identifiers must be strings".into()));
            }
        }
        for (key, value) in &inner.params {
            let ok = match key.as_str() {
                "created" | "expires" => matches!(value, BareItem::Integer(_)),
                "keyid" | "alg" | "nonce" | "tag" => matches!(value, BareItem::String(_)),
                _ => true, // Unknown parameters are signed but otherwise ignored.
            };
            if !ok {
                return Err(bad(format!(
                    "parameter `{}` has the wrong type",
                    key.as_str()
                )));
            }
        }
        Ok(Self { inner })
    }

    fn with(mut self, name: &str, value: BareItem) -> Self {
        let key: Key = KeyRef::constant(name).to_owned();
        self.inner.params.insert(key, value);
        self
    }

    fn with_string(self, name: &str, value: &str) -> Result<Self> {
        let s = sfv::String::from_string(value.to_owned())
            .map_err(|(e, _)| Error::malformed(SIGNATURE_INPUT, format!("{name}: {e}")))?;
        Ok(self.with(name, BareItem::String(s)))
    }

    fn with_int(self, name: &str, value: i64) -> Result<Self> {
        let i = Integer::try_from(value)
            .map_err(|e| Error::malformed(SIGNATURE_INPUT, format!("{name}: {e}")))?;
        Ok(self.with(name, BareItem::Integer(i)))
    }

    /// Adds `created` (Unix seconds).
    pub fn with_created(self, t: i64) -> Result<Self> {
        self.with_int("created", t)
    }
    /// Adds `expires` (Unix seconds).
    pub fn with_expires(self, t: i64) -> Result<Self> {
        self.with_int("expires", t)
    }
    /// Adds `keyid`.
    pub fn with_keyid(self, keyid: &str) -> Result<Self> {
        self.with_string("keyid", keyid)
    }
    /// Adds `alg`.
    pub fn with_alg(self, alg: Algorithm) -> Result<Self> {
        self.with_string("alg", alg.rfc9421_name())
    }
    /// Adds `nonce`.
    pub fn with_nonce(self, nonce: &str) -> Result<Self> {
        self.with_string("nonce", nonce)
    }
    /// Adds `tag`.
    pub fn with_tag(self, tag: &str) -> Result<Self> {
        self.with_string("tag", tag)
    }

    /// The covered components, in order.
    pub fn components(&self) -> impl Iterator<Item = Component> + '_ {
        self.inner
            .items
            .iter()
            .map(|item| Component { item: item.clone() })
    }

    /// Whether a component (by name, any parameters) is covered.
    pub fn covers(&self, name: &str) -> bool {
        self.inner
            .items
            .iter()
            .any(|i| matches!(&i.bare_item, BareItem::String(s) if s.as_str() == name))
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.inner.params.get(name)?.as_integer().map(i64::from)
    }
    fn string(&self, name: &str) -> Option<&str> {
        self.inner.params.get(name)?.as_string().map(|s| s.as_str())
    }

    /// `created`, if present.
    pub fn created(&self) -> Option<i64> {
        self.int("created")
    }
    /// `expires`, if present.
    pub fn expires(&self) -> Option<i64> {
        self.int("expires")
    }
    /// `keyid`, if present: for ActivityPub, the actor's key URL.
    pub fn keyid(&self) -> Option<&str> {
        self.string("keyid")
    }
    /// `alg`, if present.
    pub fn alg(&self) -> Option<&str> {
        self.string("alg")
    }
    /// `nonce`, if present.
    pub fn nonce(&self) -> Option<&str> {
        self.string("nonce")
    }
    /// `tag`, if present.
    pub fn tag(&self) -> Option<&str> {
        self.string("tag")
    }

    /// The serialized inner list: the value of a `Signature-Input` member and of the
    /// `@signature-params` line.
    pub fn serialize(&self) -> String {
        serialize_entry(&ListEntry::InnerList(self.inner.clone()))
    }
}

/// A signature found on a request.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSignature {
    /// Its label (the dictionary key, e.g. `sig1`).
    pub label: String,
    /// What it covers and its parameters.
    pub params: SignatureParams,
    /// The signature bytes.
    pub signature: Vec<u8>,
}

/// Header values produced by signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// Value for `Signature-Input`.
    pub signature_input: String,
    /// Value for `Signature`.
    pub signature: String,
}

fn serialize_entry(entry: &ListEntry) -> String {
    // A one-member list serializes exactly as its member.
    let list: List = vec![entry.clone()];
    list.serialize().unwrap_or_default()
}

fn parse_dictionary(header: &str, value: &str) -> Result<Dictionary> {
    Parser::new(value)
        .parse::<Dictionary>()
        .map_err(|e| Error::malformed(header, e.to_string()))
}

/// Parses every signature on a request, in `Signature-Input` order.
pub fn parse_signatures(headers: &Headers) -> Result<Vec<ParsedSignature>> {
    let input = headers
        .combined("signature-input")
        .ok_or(Error::MissingSignature)?;
    let sigs = headers
        .combined("signature")
        .ok_or(Error::MissingSignature)?;
    let input = parse_dictionary(SIGNATURE_INPUT, &input)?;
    let sigs = parse_dictionary(SIGNATURE, &sigs)?;
    let mut out = Vec::with_capacity(input.len());
    for (label, entry) in input {
        let ListEntry::InnerList(inner) = entry else {
            return Err(Error::malformed(
                SIGNATURE_INPUT,
                format!("`{}` is not an inner list", label.as_str()),
            ));
        };
        let params = SignatureParams::from_inner_list(inner)?;
        let signature = match sigs.get(label.as_str()) {
            Some(ListEntry::Item(Item {
                bare_item: BareItem::ByteSequence(bytes),
                ..
            })) => bytes.clone(),
            Some(_) => {
                return Err(Error::malformed(
                    SIGNATURE,
                    format!("`{}` is not a byte sequence", label.as_str()),
                ));
            }
            None => {
                return Err(Error::malformed(
                    SIGNATURE,
                    format!("no signature labelled `{}`", label.as_str()),
                ));
            }
        };
        out.push(ParsedSignature {
            label: label.as_str().to_owned(),
            params,
            signature,
        });
    }
    if out.is_empty() {
        return Err(Error::malformed(SIGNATURE_INPUT, "no signatures"));
    }
    Ok(out)
}

/// Builds the signature base for `params` over `req`.
pub fn signature_base(req: &HttpRequestParts<'_>, params: &SignatureParams) -> Result<String> {
    let mut out = String::new();
    let mut seen: Vec<String> = Vec::new();
    for component in params.components() {
        let id = component.identifier();
        if seen.contains(&id) {
            return Err(Error::malformed(
                SIGNATURE_INPUT,
                format!("{id} is listed twice"),
            ));
        }
        let value = component_value(req, &component)?;
        if value.contains(['\n', '\r']) {
            return Err(Error::malformed(
                component.name(),
                "value contains a line break",
            ));
        }
        out.push_str(&id);
        out.push_str(": ");
        out.push_str(&value);
        out.push('\n');
        seen.push(id);
    }
    out.push_str("\"@signature-params\": ");
    out.push_str(&params.serialize());
    Ok(out)
}

fn component_value(req: &HttpRequestParts<'_>, c: &Component) -> Result<String> {
    let name = c.name();
    let unsupported = || Error::UnsupportedComponent(c.identifier());
    if let Some(derived) = name.strip_prefix('@') {
        if !c.item.params.is_empty() {
            return Err(unsupported()); // ;req, @query-param;name=…: responses/queries we don't sign.
        }
        return Ok(match derived {
            "method" => req.method().to_owned(),
            "target-uri" => req.target_uri()?,
            "authority" => normalized_authority(req)?,
            "scheme" => req
                .scheme()
                .ok_or_else(|| Error::InvalidTarget("the scheme is unknown".into()))?
                .to_owned(),
            "request-target" => req.path_and_query().to_owned(),
            "path" => req.path().to_owned(),
            "query" => format!("?{}", req.query().unwrap_or_default()),
            _ => return Err(unsupported()),
        });
    }

    if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(Error::malformed(
            SIGNATURE_INPUT,
            format!("bad component name `{name}`"),
        ));
    }
    for (key, _) in &c.item.params {
        if !matches!(key.as_str(), "bs" | "key" | "sf") {
            return Err(unsupported()); // ;req and ;tr (responses, trailers) are not for us.
        }
    }
    let values: Vec<&str> = req.headers().get_all(name).map(str::trim).collect();
    if values.is_empty() {
        return Err(Error::MissingHeader(name.to_owned()));
    }
    let bs = c.param("bs").is_some();
    let key = c.param("key");
    let sf = c.param("sf").is_some();
    if bs && (key.is_some() || sf) {
        return Err(Error::malformed(
            SIGNATURE_INPUT,
            "`bs` cannot be combined with `key` or `sf`",
        ));
    }
    if bs {
        // Each field line is wrapped separately, so values containing commas survive intact.
        let wrapped: Vec<String> = values
            .iter()
            .map(|v| format!(":{}:", B64.encode(v)))
            .collect();
        return Ok(wrapped.join(", "));
    }
    let combined = values.join(", ");
    if let Some(key) = key {
        let Some(key) = key.as_string() else {
            return Err(Error::malformed(SIGNATURE_INPUT, "`key` must be a string"));
        };
        let dict = parse_dictionary(name, &combined)?;
        let member = dict
            .get(key.as_str())
            .ok_or_else(|| Error::MissingHeader(format!("{name};key=\"{}\"", key.as_str())))?;
        return Ok(serialize_entry(member));
    }
    if sf {
        // The RFC needs the field's type; without a registry, try the types in order of
        // strictness. Valid values of one type re-serialize identically as the others, so the
        // guess does not change the result.
        if let Ok(dict) = Parser::new(&combined).parse::<Dictionary>() {
            return Ok(dict.serialize().unwrap_or_default());
        }
        if let Ok(list) = Parser::new(&combined).parse::<List>() {
            return Ok(list.serialize().unwrap_or_default());
        }
        let item = Parser::new(&combined)
            .parse::<Item>()
            .map_err(|e| Error::malformed(name, e.to_string()))?;
        return Ok(item.serialize());
    }
    Ok(combined)
}

/// `@authority`: host lowercased, default port dropped (RFC 9421 §2.2.3).
fn normalized_authority(req: &HttpRequestParts<'_>) -> Result<String> {
    let authority = req
        .authority()
        .ok_or_else(|| Error::InvalidTarget("no authority and no Host header".into()))?
        .to_ascii_lowercase();
    let default_port = match req.scheme() {
        Some("https") => Some(":443"),
        Some("http") => Some(":80"),
        _ => None,
    };
    Ok(match default_port.and_then(|p| authority.strip_suffix(p)) {
        Some(host) => host.to_owned(),
        None => authority,
    })
}

/// Signs `req` with `params` under `label`.
pub fn sign(
    req: &HttpRequestParts<'_>,
    label: &str,
    params: &SignatureParams,
    signer: &dyn Signer,
) -> Result<SignatureHeaders> {
    KeyRef::from_str(label).map_err(|e| Error::malformed("label", e.to_string()))?;
    let base = signature_base(req, params)?;
    let signature = signer.sign(base.as_bytes())?;
    Ok(SignatureHeaders {
        signature_input: format!("{label}={}", params.serialize()),
        signature: format!("{label}=:{}:", B64.encode(signature)),
    })
}

/// Signs an outgoing ActivityPub request with rsa-v1_5-sha256 as `sig1`, covering `@method` and
/// `@target-uri`, plus `content-digest` when a body is attached (set that header first with
/// [`crate::digest::content_digest_header`]); parameters `created` and `keyid`.
pub fn sign_request(
    req: &HttpRequestParts<'_>,
    key_id: &str,
    key: &KeyPair,
    created: SystemTime,
) -> Result<SignatureHeaders> {
    let mut components = vec!["@method", "@target-uri"];
    if req.body().is_some() {
        components.push("content-digest");
    }
    let params = SignatureParams::new(&components)?
        .with_created(unix_seconds(created))?
        .with_keyid(key_id)?;
    sign(req, "sig1", &params, key)
}

/// Verification policy.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Largest accepted distance between `created` and now.
    pub max_skew: Duration,
    /// The current time; `None` reads the system clock.
    pub now: Option<SystemTime>,
    /// Refuse signatures without `created` (they could be replayed forever).
    pub require_created: bool,
    /// Require the ActivityPub minimum: `@method`, the target (`@target-uri`, or `@authority`
    /// with `@request-target` or `@path` + `@query`), and `content-digest` when there is a body.
    pub require_request_coverage: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            max_skew: DEFAULT_MAX_SKEW,
            now: None,
            require_created: true,
            require_request_coverage: true,
        }
    }
}

/// Parses the request's signatures and verifies the one labelled `label` (or the first).
pub fn verify_request(
    req: &HttpRequestParts<'_>,
    label: Option<&str>,
    key: &dyn Verifier,
    opts: &VerifyOptions,
) -> Result<ParsedSignature> {
    let mut sigs = parse_signatures(req.headers())?;
    let index = match label {
        None => 0,
        Some(l) => sigs
            .iter()
            .position(|s| s.label == l)
            .ok_or_else(|| Error::UnknownLabel(l.to_owned()))?,
    };
    let sig = sigs.swap_remove(index);
    verify(req, &sig, key, opts)?;
    Ok(sig)
}

/// Verifies one parsed signature against `req` and the signer's key.
pub fn verify(
    req: &HttpRequestParts<'_>,
    sig: &ParsedSignature,
    key: &dyn Verifier,
    opts: &VerifyOptions,
) -> Result<()> {
    let p = &sig.params;
    if opts.require_request_coverage {
        check_coverage(req, p)?;
    }

    let alg = match p.alg() {
        None => key.algorithm(),
        Some(name) => {
            let alg = Algorithm::from_rfc9421_name(name)
                .ok_or_else(|| Error::UnsupportedAlgorithm(name.to_owned()))?;
            if alg != key.algorithm() {
                return Err(Error::AlgorithmMismatch {
                    declared: name.to_owned(),
                    key: key.algorithm().rfc9421_name(),
                });
            }
            alg
        }
    };

    let now = unix_seconds(opts.now.unwrap_or_else(SystemTime::now));
    let max_skew = i64::try_from(opts.max_skew.as_secs()).unwrap_or(i64::MAX);
    match p.created() {
        Some(created) => {
            let age = now.saturating_sub(created);
            if age > max_skew {
                return Err(Error::Expired(format!(
                    "created {age} s ago (limit {max_skew} s)"
                )));
            }
            if -age > max_skew {
                return Err(Error::NotYetValid(format!(
                    "created {} s in the future",
                    -age
                )));
            }
        }
        None if opts.require_created => return Err(Error::NotCovered("created".into())),
        None => {}
    }
    if let Some(expires) = p.expires()
        && expires < now
    {
        return Err(Error::Expired(format!("expired {} s ago", now - expires)));
    }

    if p.covers("content-digest")
        && let Some(body) = req.body()
    {
        let value = req
            .headers()
            .combined("content-digest")
            .ok_or(Error::MissingDigest("Content-Digest"))?;
        verify_content_digest_header(&value, body)?;
    }

    let base = signature_base(req, p)?;
    if key.verify(alg, base.as_bytes(), &sig.signature) {
        Ok(())
    } else {
        Err(Error::BadSignature)
    }
}

fn check_coverage(req: &HttpRequestParts<'_>, p: &SignatureParams) -> Result<()> {
    if !p.covers("@method") {
        return Err(Error::NotCovered("@method".into()));
    }
    let query_covered = p.covers("@query") || req.query().is_none();
    let target_covered = p.covers("@target-uri")
        || (p.covers("@authority")
            && (p.covers("@request-target") || (p.covers("@path") && query_covered)));
    if !target_covered {
        return Err(Error::NotCovered("@target-uri".into()));
    }
    if req.has_body() && !p.covers("content-digest") {
        return Err(if req.headers().contains("content-digest") {
            Error::NotCovered("content-digest".into())
        } else {
            Error::MissingDigest("Content-Digest")
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> HttpRequestParts<'static> {
        HttpRequestParts::new("GET", "/path?x=1")
            .unwrap()
            .with_scheme("https")
            .header("Host", "Example.COM:443")
            .header("Example-Dict", " a=1, b=2;x=1;y=2, c=(a b c)")
            .header("X-Ows", "  leading and trailing  ")
            .header("X-Multi", "one, two")
            .header("X-Multi", "three")
    }

    fn value(name: &str) -> Result<String> {
        let list: List = Parser::new(name).parse().unwrap();
        let ListEntry::Item(item) = &list[0] else {
            unreachable!()
        };
        component_value(&req(), &Component { item: item.clone() })
    }

    #[test]
    fn derived_components() {
        assert_eq!(value(r#""@method""#).unwrap(), "GET");
        assert_eq!(value(r#""@authority""#).unwrap(), "example.com");
        assert_eq!(value(r#""@scheme""#).unwrap(), "https");
        assert_eq!(
            value(r#""@target-uri""#).unwrap(),
            "https://Example.COM:443/path?x=1"
        );
        assert_eq!(value(r#""@request-target""#).unwrap(), "/path?x=1");
        assert_eq!(value(r#""@path""#).unwrap(), "/path");
        assert_eq!(value(r#""@query""#).unwrap(), "?x=1");
        let no_query = HttpRequestParts::new("GET", "https://a.example").unwrap();
        let c = Component::new("@query").unwrap();
        assert_eq!(component_value(&no_query, &c).unwrap(), "?");
        assert!(matches!(
            value(r#""@status""#),
            Err(Error::UnsupportedComponent(_))
        ));
        assert!(matches!(
            value(r#""@query-param";name="x""#),
            Err(Error::UnsupportedComponent(_))
        ));
    }

    #[test]
    fn header_components_and_parameters() {
        assert_eq!(value(r#""x-ows""#).unwrap(), "leading and trailing");
        assert_eq!(value(r#""x-multi""#).unwrap(), "one, two, three");
        // RFC 9421 §2.1.3 example shape: each line wrapped separately.
        assert_eq!(
            value(r#""x-multi";bs"#).unwrap(),
            ":b25lLCB0d28=:, :dGhyZWU=:"
        );
        assert_eq!(value(r#""example-dict";key="b""#).unwrap(), "2;x=1;y=2");
        assert_eq!(value(r#""example-dict";key="c""#).unwrap(), "(a b c)");
        assert_eq!(
            value(r#""example-dict";sf"#).unwrap(),
            "a=1, b=2;x=1;y=2, c=(a b c)"
        );
        assert!(matches!(
            value(r#""example-dict";key="z""#),
            Err(Error::MissingHeader(_))
        ));
        assert!(matches!(value(r#""absent""#), Err(Error::MissingHeader(_))));
        assert!(matches!(
            value(r#""x-multi";req"#),
            Err(Error::UnsupportedComponent(_))
        ));
        assert!(matches!(
            value(r#""Host""#),
            Err(Error::MalformedHeader { .. })
        ));
        assert!(matches!(
            value(r#""x-multi";bs;sf"#),
            Err(Error::MalformedHeader { .. })
        ));
    }

    #[test]
    fn params_builder_serializes_in_order() {
        let p = SignatureParams::new(&["@method", "Content-Digest"])
            .unwrap()
            .with_created(1)
            .unwrap()
            .with_keyid("https://a.example/u#main-key")
            .unwrap()
            .with_alg(Algorithm::RsaSha256)
            .unwrap();
        assert_eq!(
            p.serialize(),
            r#"("@method" "content-digest");created=1;keyid="https://a.example/u#main-key";alg="rsa-v1_5-sha256""#
        );
        assert_eq!(p.created(), Some(1));
        assert_eq!(p.alg(), Some("rsa-v1_5-sha256"));
        assert!(p.covers("content-digest"));
        assert!(SignatureParams::new(&["bad\u{7f}"]).is_err());
        assert!(
            SignatureParams::new(&[])
                .unwrap()
                .with_keyid("ünïcode")
                .is_err()
        );
    }

    #[test]
    fn malformed_signature_fields() {
        let parse = |input: &str, sig: &str| {
            let h: Headers = [("Signature-Input", input), ("Signature", sig)]
                .into_iter()
                .collect();
            parse_signatures(&h)
        };
        let ok_sig = "s=:AAAA:";
        for (input, sig) in [
            ("s=(\"@method\"", ok_sig),
            ("s=\"@method\"", ok_sig),
            ("s=(@method)", ok_sig),
            ("s=(\"@method\");created=\"x\"", ok_sig),
            ("s=(\"@method\");keyid=1", ok_sig),
            ("s=(\"@method\")", "s=\"AAAA\""),
            ("s=(\"@method\")", "t=:AAAA:"),
            ("s=(\"@method\")", "s=:AA!A:"),
            ("", ok_sig),
        ] {
            let err = parse(input, sig).unwrap_err();
            assert!(
                matches!(err, Error::MalformedHeader { .. }),
                "{input} / {sig}: {err:?}"
            );
        }
        let none: Headers = Headers::new();
        assert_eq!(parse_signatures(&none), Err(Error::MissingSignature));
        let dup = parse("s=(\"@method\" \"@method\")", ok_sig).unwrap();
        let r = HttpRequestParts::new("GET", "/").unwrap();
        assert!(matches!(
            signature_base(&r, &dup[0].params),
            Err(Error::MalformedHeader { .. })
        ));
    }
}
