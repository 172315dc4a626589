//! Kring's own web interface: server-rendered pages that translate page requests and form posts
//! into the same `Kring` service calls as the Mastodon API, and render the results as HTML.
//! Nothing is decided here: who may see what, what is valid, what an action does — all of that
//! lives in the service. Every page works without JavaScript; a small local script adds in-place
//! actions and a "new posts" notice.
//!
//! Privacy by construction: a strict Content-Security-Policy (no inline code, nothing from other
//! origins), `Referrer-Policy: same-origin`, and one cookie — the session, HttpOnly and SameSite.
mod assets;
mod client;
mod error;
mod pages;
mod session;
mod view;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use kring_service::Kring;

/// The largest form body accepted.
pub const MAX_FORM: usize = 64 * 1024;

/// The state of the web door: the service and lazily loaded server keys.
#[derive(Clone)]
pub struct Web {
    pub kring: Kring,
    keys: Arc<tokio::sync::OnceCell<session::Keys>>,
}

impl Web {
    pub fn new(kring: Kring) -> Web {
        Web {
            kring,
            keys: Arc::new(tokio::sync::OnceCell::new()),
        }
    }
}

/// A browser's page load of an unknown path: the HTML "not found" page, with this door's
/// security headers.
pub async fn not_found_page() -> Response {
    security_headers(error::error_page(
        axum::http::StatusCode::NOT_FOUND,
        &error::message(&kring_core::Error::NotFound),
    ))
    .await
}

/// A browser's request refused by the service (a rate limit, say): the error page in this
/// door's layout, with its headers.
pub async fn error_page_for(e: kring_core::Error) -> Response {
    use axum::response::IntoResponse;
    security_headers(error::WebError::Service(e).into_response()).await
}

/// Every web page on one router, without a fallback (the binary chooses between this door's
/// HTML page and the API's JSON for unknown paths).
pub fn router(kring: Kring) -> Router {
    pages::routes()
        .layer(DefaultBodyLimit::max(MAX_FORM))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(Web::new(kring))
}

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; \
base-uri 'none'";

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    res
}
