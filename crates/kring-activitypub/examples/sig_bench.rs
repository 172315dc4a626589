//! Micro benchmark: RSA-2048 PKCS#1 v1.5 SHA-256 throughput on one core.
//!
//! `cargo run --release -p kring-activitypub --example sig_bench`

use std::hint::black_box;
use std::time::{Duration, Instant};

use kring_activitypub::digest::digest_header;
use kring_activitypub::{Algorithm, HttpRequestParts, KeyPair, PublicKey, cavage, http_date};

/// Runs `f` repeatedly for about `budget` and returns operations per second.
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    // Warm-up.
    for _ in 0..10 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..10 {
            f();
        }
        n += 10;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let budget = Duration::from_secs(2);

    let start = Instant::now();
    let keys = 5;
    for _ in 0..keys {
        black_box(KeyPair::generate().unwrap());
    }
    let keygen_ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(keys);

    let key = KeyPair::generate().unwrap();
    let pem = key.public_key_pem();
    let public = PublicKey::from_pem(&pem).unwrap();
    // A typical Mastodon signing string.
    let data = b"(request-target): post /users/bob/inbox\nhost: remote.example\n\
date: Sun, 05 Jan 2014 21:31:40 GMT\ndigest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=";
    let sig = key.sign_rsa_sha256(data);

    let sign = rate(budget, || {
        black_box(key.sign_rsa_sha256(black_box(data)));
    });
    let verify = rate(budget, || {
        assert!(public.verify(Algorithm::RsaSha256, black_box(data), black_box(&sig)));
    });
    let parse = rate(budget, || {
        black_box(PublicKey::from_pem(black_box(&pem)).unwrap());
    });

    // The whole receive path for one inbox POST: parse header, check date and digest, verify.
    let body = br#"{"type":"Follow","actor":"https://kring.example/users/alice"}"#;
    let req = HttpRequestParts::new("POST", "/users/bob/inbox")
        .unwrap()
        .header("Host", "remote.example")
        .header("Date", http_date(std::time::SystemTime::now()))
        .header("Digest", digest_header(body))
        .with_body(body);
    let header =
        cavage::sign_request("POST", "/users/bob/inbox", req.headers(), "k", &key).unwrap();
    let req = req.header("Signature", header);
    let opts = cavage::VerifyOptions::default();
    let full = rate(budget, || {
        black_box(cavage::verify_request(black_box(&req), &public, &opts).unwrap());
    });

    println!("RSA-2048 PKCS#1 v1.5 SHA-256 (aws-lc-rs), one core:");
    println!("  key generation     {keygen_ms:>10.1} ms/key");
    println!("  sign               {sign:>10.0} /s");
    println!("  verify             {verify:>10.0} /s");
    println!("  parse public PEM   {parse:>10.0} /s");
    println!("  cavage verify_request (parse+date+digest+verify) {full:.0} /s");
}
