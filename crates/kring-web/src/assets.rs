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
            .map(|a| {
                let hash = Sha256::digest(a.body);
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
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => (
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
            a.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/favicon.ico`: browsers ask for it on their own; answer with the SVG icon.
pub async fn favicon() -> Response {
    respond("favicon.svg", false)
}
