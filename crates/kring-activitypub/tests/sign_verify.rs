//! Sign → verify round trips with generated keys, and every way a request can fail verification:
//! each must give its own error, never a panic.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use kring_activitypub::digest::{content_digest_header, digest_header};
use kring_activitypub::{
    Algorithm, Ed25519KeyPair, Error, HttpRequestParts, KeyPair, PublicKey, Scheme, cavage,
    detect_scheme, http_date, rfc9421,
};

const KEY_ID: &str = "https://kring.example/users/alice#main-key";
const BODY: &[u8] = br#"{"type":"Follow","actor":"https://kring.example/users/alice"}"#;
const HOUR: Duration = Duration::from_secs(3600);

fn key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| KeyPair::generate().unwrap())
}

fn other_key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| KeyPair::generate().unwrap())
}

fn public() -> PublicKey {
    // Through PEM, as a remote server would receive it in the actor document.
    PublicKey::from_pem(&key().public_key_pem()).unwrap()
}

fn now() -> SystemTime {
    SystemTime::now()
}

// ---------------------------------------------------------------- draft-cavage

/// A POST as the sender builds it: absolute URL, Host, Date, Digest.
fn cavage_post(date: SystemTime, body: &[u8]) -> HttpRequestParts<'_> {
    HttpRequestParts::new("POST", "https://remote.example/users/bob/inbox")
        .unwrap()
        .header("Host", "remote.example")
        .header("Date", http_date(date))
        .header("Digest", digest_header(body))
        .header("Content-Type", "application/activity+json")
        .with_body(body)
}

fn cavage_signed(date: SystemTime) -> HttpRequestParts<'static> {
    let req = cavage_post(date, BODY);
    let sig = cavage::sign_request(
        req.method(),
        req.path_and_query(),
        req.headers(),
        KEY_ID,
        key(),
    )
    .unwrap();
    req.header("Signature", sig)
}

fn cavage_verify(req: &HttpRequestParts<'_>) -> Result<cavage::SignatureHeader, Error> {
    cavage::verify_request(req, &public(), &cavage::VerifyOptions::default())
}

#[test]
fn cavage_round_trip_post_and_get() {
    let req = cavage_signed(now());
    let sig = req.headers().get("signature").unwrap();
    assert!(sig.starts_with(&format!(
        "keyId=\"{KEY_ID}\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\""
    )));
    assert_eq!(detect_scheme(&req), Some(Scheme::Cavage));
    let parsed = cavage_verify(&req).unwrap();
    assert_eq!(parsed.key_id, KEY_ID);

    // The receiving side sees an origin-form target and the headers as sent.
    let received = HttpRequestParts::new("POST", "/users/bob/inbox")
        .unwrap()
        .with_headers(req.headers().clone())
        .with_body(BODY);
    cavage_verify(&received).unwrap();

    // GET (fetching an object): no body, no digest.
    let get = HttpRequestParts::new("GET", "/users/bob")
        .unwrap()
        .header("Host", "remote.example")
        .header("Date", http_date(now()))
        .header("Accept", "application/activity+json");
    let sig = cavage::sign_request("GET", "/users/bob", get.headers(), KEY_ID, key()).unwrap();
    assert!(sig.contains("headers=\"(request-target) host date\""));
    let get = get.header("Signature", sig);
    cavage_verify(&get).unwrap();

    // `Authorization: Signature …` is accepted too.
    let sig = get.headers().get("signature").unwrap().to_owned();
    let mut auth = get.clone();
    auth.headers_mut().remove("signature");
    auth.headers_mut()
        .insert("Authorization", format!("Signature {sig}"));
    cavage_verify(&auth).unwrap();
}

#[test]
fn cavage_ed25519_hs2019_and_created() {
    let ed = Ed25519KeyPair::generate().unwrap();
    let ed_public = PublicKey::from_pem(&ed.public_key_pem()).unwrap();
    let req = cavage_post(now(), BODY);
    let covered = ["(request-target)", "host", "date", "digest"];
    let header = cavage::sign(&req, KEY_ID, &covered, &ed).unwrap();
    assert!(header.contains("algorithm=\"hs2019\""));
    let signed = req.clone().header("Signature", header);
    cavage::verify_request(&signed, &ed_public, &Default::default()).unwrap();
    // The RSA key cannot verify an Ed25519 signature declared as hs2019.
    assert_eq!(cavage_verify(&signed).unwrap_err(), Error::BadSignature);

    // (created) instead of date, built from the public pieces.
    let created = kring_now_secs();
    let mut sig = cavage::SignatureHeader {
        key_id: KEY_ID.into(),
        algorithm: Some("hs2019".into()),
        headers: vec![
            "(request-target)".into(),
            "host".into(),
            "(created)".into(),
            "digest".into(),
        ],
        signature: vec![],
        created: Some(created),
        expires: Some(created + 300),
    };
    let mut no_date = req.clone();
    no_date.headers_mut().remove("date");
    sig.signature = key().sign_rsa_sha256(sig.signing_string(&no_date).unwrap().as_bytes());
    let signed = no_date.clone().header("Signature", sig.to_header_value());
    assert!(
        sig.to_header_value()
            .contains(&format!("created={created},expires={}", created + 300))
    );
    cavage_verify(&signed).unwrap();

    // Past its `expires`.
    let later = cavage::VerifyOptions {
        now: Some(now() + Duration::from_secs(600)),
        ..Default::default()
    };
    assert!(matches!(
        cavage::verify_request(&signed, &public(), &later),
        Err(Error::Expired(_))
    ));
}

fn kring_now_secs() -> i64 {
    i64::try_from(
        now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

#[test]
fn cavage_rejections() {
    let good = cavage_signed(now());

    // Tampered body: the digest no longer matches.
    let tampered = good.clone().with_body(b"{\"type\":\"Delete\"}");
    assert_eq!(
        cavage_verify(&tampered).unwrap_err(),
        Error::DigestMismatch("Digest")
    );

    // Tampered body *and* a recomputed Digest: the signature covers the old digest.
    let evil: &[u8] = b"{\"type\":\"Delete\"}";
    let mut tampered = good.clone().with_body(evil);
    tampered.headers_mut().insert("Digest", digest_header(evil));
    assert_eq!(cavage_verify(&tampered).unwrap_err(), Error::BadSignature);

    // Tampered signed header / path / method.
    let mut tampered = good.clone();
    tampered.headers_mut().insert("Host", "evil.example");
    assert_eq!(cavage_verify(&tampered).unwrap_err(), Error::BadSignature);
    let moved = HttpRequestParts::new("POST", "/users/carol/inbox")
        .unwrap()
        .with_headers(good.headers().clone())
        .with_body(BODY);
    assert_eq!(cavage_verify(&moved).unwrap_err(), Error::BadSignature);

    // Unsigned headers may change freely.
    let mut extra = good.clone();
    extra.headers_mut().insert("Content-Type", "text/plain");
    cavage_verify(&extra).unwrap();

    // Wrong key.
    let wrong = other_key().public_key();
    assert_eq!(
        cavage::verify_request(&good, &wrong, &Default::default()).unwrap_err(),
        Error::BadSignature
    );

    // Expired (> 12 h) and from the future.
    let old = cavage_signed(now() - 13 * HOUR);
    assert!(matches!(cavage_verify(&old), Err(Error::Expired(_))));
    let future = cavage_signed(now() + 13 * HOUR);
    assert!(matches!(cavage_verify(&future), Err(Error::NotYetValid(_))));
    // 11 h is within the default skew; a 1 h skew refuses it.
    let eleven = cavage_signed(now() - 11 * HOUR);
    cavage_verify(&eleven).unwrap();
    let strict = cavage::VerifyOptions {
        max_skew: HOUR,
        ..Default::default()
    };
    assert!(matches!(
        cavage::verify_request(&eleven, &public(), &strict),
        Err(Error::Expired(_))
    ));

    // Required headers not covered.
    let req = cavage_post(now(), BODY);
    for (covered, missing) in [
        (&["host", "date", "digest"][..], "(request-target)"),
        (&["(request-target)", "date", "digest"][..], "host"),
        (&["(request-target)", "host", "digest"][..], "date"),
        (&["(request-target)", "host", "date"][..], "digest"),
    ] {
        let signed = req.clone().header(
            "Signature",
            cavage::sign(&req, KEY_ID, covered, key()).unwrap(),
        );
        assert_eq!(
            cavage_verify(&signed).unwrap_err(),
            Error::NotCovered(missing.into())
        );
    }

    // A body without any Digest header.
    let mut no_digest = good.clone();
    no_digest.headers_mut().remove("digest");
    assert_eq!(
        cavage_verify(&no_digest).unwrap_err(),
        Error::MissingDigest("Digest")
    );

    // A signed header that is absent from the request.
    let mut no_host = good.clone();
    no_host.headers_mut().remove("host");
    assert_eq!(
        cavage_verify(&no_host).unwrap_err(),
        Error::MissingHeader("host".into())
    );

    // Unsupported and mismatched algorithms.
    let sig = good.headers().get("signature").unwrap();
    let mut alg = good.clone();
    alg.headers_mut()
        .insert("Signature", sig.replace("rsa-sha256", "rsa-sha512"));
    assert_eq!(
        cavage_verify(&alg).unwrap_err(),
        Error::UnsupportedAlgorithm("rsa-sha512".into())
    );
    let ed_public = Ed25519KeyPair::generate().unwrap().public_key();
    assert!(matches!(
        cavage::verify_request(&good, &ed_public, &Default::default()),
        Err(Error::AlgorithmMismatch { .. })
    ));

    // Malformed headers.
    let mut bad_date = good.clone();
    bad_date.headers_mut().insert("Date", "yesterday");
    assert!(matches!(
        cavage_verify(&bad_date),
        Err(Error::MalformedHeader { header, .. }) if header == "Date"
    ));
    let mut bad_sig = good.clone();
    bad_sig
        .headers_mut()
        .insert("Signature", "keyId=\"x\",signature=\"%%%\"");
    assert!(matches!(
        cavage_verify(&bad_sig),
        Err(Error::MalformedHeader { .. })
    ));
    let mut bad_digest = good.clone();
    bad_digest.headers_mut().insert("Digest", "SHA-256=???");
    assert!(matches!(
        cavage_verify(&bad_digest),
        Err(Error::MalformedHeader { .. })
    ));
    let mut unsigned = good.clone();
    unsigned.headers_mut().remove("signature");
    assert_eq!(
        cavage_verify(&unsigned).unwrap_err(),
        Error::MissingSignature
    );
    assert_eq!(detect_scheme(&unsigned), None);
}

#[test]
fn cavage_mangled_headers_never_panic() {
    let good = cavage_signed(now());
    let sig = good.headers().get("signature").unwrap().to_owned();
    let mut outcomes = 0;
    for i in 0..sig.len() {
        for mangled in [
            format!("{}{}", &sig[..i], &sig[i + 1..]),
            format!("{}\"{}", &sig[..i], &sig[i..]),
            format!("{},{}", &sig[..i], &sig[i..]),
            sig[..i].to_owned(),
        ] {
            let mut req = good.clone();
            req.headers_mut().insert("Signature", mangled);
            let _ = cavage_verify(&req); // Any error is fine; a panic fails the test.
            outcomes += 1;
        }
    }
    assert!(outcomes > 1000);
}

// ---------------------------------------------------------------- RFC 9421

fn rfc_post(body: &[u8]) -> HttpRequestParts<'_> {
    HttpRequestParts::new("POST", "https://remote.example/users/bob/inbox")
        .unwrap()
        .header("Host", "remote.example")
        .header("Content-Type", "application/activity+json")
        .header("Content-Digest", content_digest_header(body))
        .with_body(body)
}

fn rfc_signed(created: SystemTime) -> HttpRequestParts<'static> {
    let req = rfc_post(BODY);
    let out = rfc9421::sign_request(&req, KEY_ID, key(), created).unwrap();
    req.header("Signature-Input", out.signature_input)
        .header("Signature", out.signature)
}

fn rfc_verify(req: &HttpRequestParts<'_>) -> Result<rfc9421::ParsedSignature, Error> {
    rfc9421::verify_request(req, None, &public(), &rfc9421::VerifyOptions::default())
}

#[test]
fn rfc9421_round_trip_post_and_get() {
    let created = now();
    let req = rfc_signed(created);
    assert_eq!(
        req.headers().get("signature-input").unwrap(),
        format!(
            "sig1=(\"@method\" \"@target-uri\" \"content-digest\");created={};keyid=\"{KEY_ID}\"",
            kring_now_secs_of(created)
        )
    );
    assert_eq!(detect_scheme(&req), Some(Scheme::Rfc9421));
    let sig = rfc_verify(&req).unwrap();
    assert_eq!(sig.label, "sig1");
    assert_eq!(sig.params.keyid(), Some(KEY_ID));

    // Receiving side: origin-form target + Host + the scheme the proxy terminated.
    let received = HttpRequestParts::new("POST", "/users/bob/inbox")
        .unwrap()
        .with_scheme("https")
        .with_headers(req.headers().clone())
        .with_body(BODY);
    rfc_verify(&received).unwrap();

    // GET.
    let get = HttpRequestParts::new("GET", "https://remote.example/users/bob?page=1")
        .unwrap()
        .header("Host", "remote.example");
    let out = rfc9421::sign_request(&get, KEY_ID, key(), now()).unwrap();
    assert!(
        out.signature_input
            .starts_with("sig1=(\"@method\" \"@target-uri\");created=")
    );
    let get = get
        .header("Signature-Input", out.signature_input)
        .header("Signature", out.signature);
    rfc_verify(&get).unwrap();

    // Ed25519 with an explicit alg parameter.
    let ed = Ed25519KeyPair::generate().unwrap();
    let params = rfc9421::SignatureParams::new(&["@method", "@target-uri", "content-digest"])
        .unwrap()
        .with_created(kring_now_secs())
        .unwrap()
        .with_keyid(KEY_ID)
        .unwrap()
        .with_alg(Algorithm::Ed25519)
        .unwrap();
    let req = rfc_post(BODY);
    let out = rfc9421::sign(&req, "ed", &params, &ed).unwrap();
    let signed = req
        .header("Signature-Input", out.signature_input)
        .header("Signature", out.signature);
    rfc9421::verify_request(&signed, Some("ed"), &ed.public_key(), &Default::default()).unwrap();
    // The RSA key refuses it before doing any crypto.
    assert!(matches!(
        rfc_verify(&signed),
        Err(Error::AlgorithmMismatch { .. })
    ));
}

fn kring_now_secs_of(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn rfc9421_rejections() {
    let good = rfc_signed(now());

    let tampered = good.clone().with_body(b"{}");
    assert_eq!(
        rfc_verify(&tampered).unwrap_err(),
        Error::DigestMismatch("Content-Digest")
    );

    let mut tampered = good.clone().with_body(b"{}");
    tampered
        .headers_mut()
        .insert("Content-Digest", content_digest_header(b"{}"));
    assert_eq!(rfc_verify(&tampered).unwrap_err(), Error::BadSignature);

    let moved = HttpRequestParts::new("POST", "https://remote.example/users/carol/inbox")
        .unwrap()
        .with_headers(good.headers().clone())
        .with_body(BODY);
    assert_eq!(rfc_verify(&moved).unwrap_err(), Error::BadSignature);
    let put = HttpRequestParts::new("PUT", "https://remote.example/users/bob/inbox")
        .unwrap()
        .with_headers(good.headers().clone())
        .with_body(BODY);
    assert_eq!(rfc_verify(&put).unwrap_err(), Error::BadSignature);

    let wrong = other_key().public_key();
    assert_eq!(
        rfc9421::verify_request(&good, None, &wrong, &Default::default()).unwrap_err(),
        Error::BadSignature
    );

    assert!(matches!(
        rfc_verify(&rfc_signed(now() - 13 * HOUR)),
        Err(Error::Expired(_))
    ));
    assert!(matches!(
        rfc_verify(&rfc_signed(now() + 13 * HOUR)),
        Err(Error::NotYetValid(_))
    ));

    // Coverage policy.
    let req = rfc_post(BODY);
    let sign_with = |components: &[&str]| {
        let params = rfc9421::SignatureParams::new(components)
            .unwrap()
            .with_created(kring_now_secs())
            .unwrap()
            .with_keyid(KEY_ID)
            .unwrap();
        let out = rfc9421::sign(&req, "sig1", &params, key()).unwrap();
        req.clone()
            .header("Signature-Input", out.signature_input)
            .header("Signature", out.signature)
    };
    assert_eq!(
        rfc_verify(&sign_with(&["@target-uri", "content-digest"])).unwrap_err(),
        Error::NotCovered("@method".into())
    );
    assert_eq!(
        rfc_verify(&sign_with(&["@method", "@path", "content-digest"])).unwrap_err(),
        Error::NotCovered("@target-uri".into())
    );
    assert_eq!(
        rfc_verify(&sign_with(&["@method", "@target-uri"])).unwrap_err(),
        Error::NotCovered("content-digest".into())
    );
    // @authority + @path is an acceptable spelling of the target when there is no query.
    rfc_verify(&sign_with(&[
        "@method",
        "@authority",
        "@path",
        "content-digest",
    ]))
    .unwrap();

    // No created / expired by `expires`.
    let no_created = {
        let params = rfc9421::SignatureParams::new(&["@method", "@target-uri", "content-digest"])
            .unwrap()
            .with_keyid(KEY_ID)
            .unwrap();
        let out = rfc9421::sign(&req, "sig1", &params, key()).unwrap();
        req.clone()
            .header("Signature-Input", out.signature_input)
            .header("Signature", out.signature)
    };
    assert_eq!(
        rfc_verify(&no_created).unwrap_err(),
        Error::NotCovered("created".into())
    );
    let expired = {
        let t = kring_now_secs();
        let params = rfc9421::SignatureParams::new(&["@method", "@target-uri", "content-digest"])
            .unwrap()
            .with_created(t - 100)
            .unwrap()
            .with_expires(t - 10)
            .unwrap();
        let out = rfc9421::sign(&req, "sig1", &params, key()).unwrap();
        req.clone()
            .header("Signature-Input", out.signature_input)
            .header("Signature", out.signature)
    };
    assert!(matches!(rfc_verify(&expired), Err(Error::Expired(_))));

    // Body without Content-Digest at all.
    let mut no_digest = good.clone();
    no_digest.headers_mut().remove("content-digest");
    assert_eq!(
        rfc_verify(&no_digest).unwrap_err(),
        Error::MissingDigest("Content-Digest")
    );
    // Signed header missing (policy relaxed to reach the signature base).
    let relaxed = rfc9421::VerifyOptions {
        require_request_coverage: false,
        ..Default::default()
    };
    let no_body = HttpRequestParts::new("POST", "https://remote.example/users/bob/inbox")
        .unwrap()
        .with_headers(no_digest.headers().clone());
    assert_eq!(
        rfc9421::verify_request(&no_body, None, &public(), &relaxed).unwrap_err(),
        Error::MissingHeader("content-digest".into())
    );

    // Algorithms.
    let mut alg = good.clone();
    let input = alg.headers().get("signature-input").unwrap().to_owned();
    alg.headers_mut()
        .insert("Signature-Input", format!("{input};alg=\"rsa-pss-sha512\""));
    assert_eq!(
        rfc_verify(&alg).unwrap_err(),
        Error::UnsupportedAlgorithm("rsa-pss-sha512".into())
    );

    // Labels and malformed fields.
    assert_eq!(
        rfc9421::verify_request(&good, Some("nope"), &public(), &Default::default()).unwrap_err(),
        Error::UnknownLabel("nope".into())
    );
    let mut bad = good.clone();
    bad.headers_mut()
        .insert("Signature-Input", "sig1=(\"@method\"");
    assert!(matches!(
        rfc_verify(&bad),
        Err(Error::MalformedHeader { .. })
    ));
    let mut bad = good.clone();
    bad.headers_mut().insert("Signature", "sig1=\"not bytes\"");
    assert!(matches!(
        rfc_verify(&bad),
        Err(Error::MalformedHeader { .. })
    ));
    let mut bad = good.clone();
    bad.headers_mut().insert("Content-Digest", "sha-256=nope");
    assert!(matches!(
        rfc_verify(&bad),
        Err(Error::MalformedHeader { .. })
    ));
    let mut unsigned = good.clone();
    unsigned.headers_mut().remove("signature");
    assert_eq!(rfc_verify(&unsigned).unwrap_err(), Error::MissingSignature);
}

#[test]
fn rfc9421_mangled_headers_never_panic() {
    let good = rfc_signed(now());
    for name in ["signature-input", "signature"] {
        let value = good.headers().get(name).unwrap().to_owned();
        for i in 0..value.len() {
            for mangled in [
                format!("{}{}", &value[..i], &value[i + 1..]),
                format!("{}({}", &value[..i], &value[i..]),
                format!("{};{}", &value[..i], &value[i..]),
                value[..i].to_owned(),
            ] {
                let mut req = good.clone();
                req.headers_mut().insert(name, mangled);
                let _ = rfc_verify(&req);
            }
        }
    }
}
