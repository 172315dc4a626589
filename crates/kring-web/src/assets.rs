//! The stylesheet, script and images, compiled into the binary and served from `/static/`.
//! Their URLs carry a hash of the content, so browsers may cache them for good.
use std::sync::OnceLock;

use axum::extract::{Path, RawQuery};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

/// What is sent for each asset (in `ASSETS`' order), computed once: the script and stylesheet
/// without their comments and indentation, which are for whoever reads the source — a third of
/// the script and 7 % of the stylesheet, on every first visit (the home page's weight
/// budget in BENCHMARKS.md counts them). Line breaks stay, so the script's statements end
/// where they did.
fn bodies() -> &'static [Vec<u8>] {
    static BODIES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BODIES.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| match a.name.rsplit('.').next() {
                Some("js") => compact_script(a.body),
                Some("css") => compact_style(a.body),
                _ => a.body.to_vec(),
            })
            .collect()
    })
}

/// The script without whole-line `//` comments, indentation and blank lines. Written here
/// rather than with a minifier crate: this much is safe for Kring's own script (no template
/// literal or string spans lines, which a test checks), and a minifier that renames or joins
/// would be a large dependency for the few kilobytes more it saves.
fn compact_script(source: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(source);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.into_bytes()
}

/// The stylesheet without `/* … */` comments, indentation and blank lines (no string in it
/// holds `/*`, which a test checks).
fn compact_style(source: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(source);
    let mut rest = text.as_ref();
    let mut bare = String::with_capacity(text.len());
    while let Some(start) = rest.find("/*") {
        bare.push_str(&rest[..start]);
        rest = match rest[start..].find("*/") {
            Some(end) => &rest[start + end + 2..],
            None => "",
        };
    }
    bare.push_str(rest);
    let mut out = String::with_capacity(bare.len());
    for line in bare.lines().map(str::trim).filter(|l| !l.is_empty()) {
        out.push_str(line);
        out.push('\n');
    }
    out.into_bytes()
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "kring.css",
        mime: "text/css; charset=utf-8",
        body: include_bytes!("../static/kring.css"),
    },
    Asset {
        name: "kring.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/kring.js"),
    },
    Asset {
        name: "avatar.svg",
        mime: "image/svg+xml",
        body: include_bytes!("../static/avatar.svg"),
    },
    Asset {
        name: "header.svg",
        mime: "image/svg+xml",
        body: include_bytes!("../static/header.svg"),
    },
    Asset {
        name: "favicon.svg",
        mime: "image/svg+xml",
        body: include_bytes!("../static/favicon.svg"),
    },
];

/// `/static/NAME?v=HASH` for each asset, computed once.
pub fn url(name: &str) -> &'static str {
    static URLS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let urls = URLS.get_or_init(|| {
        ASSETS
            .iter()
            .zip(bodies())
            .map(|(a, body)| {
                let hash = Sha256::digest(body);
                let short: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
                (a.name, format!("/static/{}?v={short}", a.name))
            })
            .collect()
    });
    urls.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, u)| u.as_str())
        .unwrap_or("/static/missing")
}

/// An asset. With the `?v=` of its current URL it may be cached for good; without (as other
/// pages, such as the OAuth page, may link it) browsers check back each time.
pub async fn serve(Path(name): Path<String>, RawQuery(query): RawQuery) -> Response {
    let versioned = query.is_some_and(|q| q.starts_with("v="));
    respond(&name, versioned)
}

fn respond(name: &str, versioned: bool) -> Response {
    match ASSETS.iter().zip(bodies()).find(|(a, _)| a.name == name) {
        Some((a, body)) => (
            [
                (header::CONTENT_TYPE, a.mime),
                (
                    header::CACHE_CONTROL,
                    if versioned {
                        "public, max-age=31536000, immutable"
                    } else {
                        "public, no-cache"
                    },
                ),
            ],
            body.as_slice(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/favicon.ico`: browsers ask for it on their own; answer with the SVG icon.
pub async fn favicon() -> Response {
    respond("favicon.svg", false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str) -> &'static [u8] {
        ASSETS.iter().find(|a| a.name == name).expect("asset").body
    }

    fn sent(name: &str) -> &'static [u8] {
        let at = ASSETS.iter().position(|a| a.name == name).expect("asset");
        &bodies()[at]
    }

    #[test]
    fn the_script_has_no_string_across_lines_that_compaction_would_change() {
        // Trimming lines is only safe while no template literal or continued string spans
        // lines: a backtick or a line ending in a backslash outside a comment would.
        let compact = std::str::from_utf8(sent("kring.js")).expect("utf-8");
        assert!(!compact.contains('`'), "a template literal in kring.js");
        assert!(!compact.lines().any(|l| l.ends_with('\\')));
        assert!(compact.len() < source("kring.js").len() * 3 / 4);
        assert!(compact.contains("\"use strict\";\n"));
        assert_eq!(
            compact_script(b"// a\nfunction f() {\n  // b\n  return 1; // c\n\n}\n"),
            b"function f() {\nreturn 1; // c\n}\n"
        );
    }

    #[test]
    fn the_stylesheet_loses_comments_not_rules() {
        let css = String::from_utf8_lossy(source("kring.css"));
        assert!(!css.contains("\"/*") && !css.contains("'/*"));
        let compact = std::str::from_utf8(sent("kring.css")).expect("utf-8");
        assert!(!compact.contains("/*") && !compact.contains("*/"));
        assert_eq!(compact.matches('{').count(), css.matches('{').count());
        assert_eq!(compact.matches('}').count(), css.matches('}').count());
        assert_eq!(
            compact_style(b"a { x: 1; } /* one\n two */\n  b {\n    y: 2;\n  }\n"),
            b"a { x: 1; }\nb {\ny: 2;\n}\n"
        );
    }

    #[test]
    fn assets_are_served_as_compacted_with_the_hash_of_what_is_sent() {
        let hash = Sha256::digest(sent("kring.js"));
        assert!(url("kring.js").ends_with(&format!("{:02x}", hash[5])));
        assert_eq!(sent("avatar.svg"), source("avatar.svg"));
    }
}
