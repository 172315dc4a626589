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
mod media_view;
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
    let web = Web::new(kring);
    pages::routes()
        .layer(axum::middleware::from_fn_with_state(
            web.clone(),
            error::in_layout,
        ))
        .layer(DefaultBodyLimit::max(MAX_FORM))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(web)
}

pub use kring_service::page_security::CSP;

/// The security headers of every page (`kring_service::page_security`): this door sets them on
/// all its responses, and the server puts the same layer ([`html_security_headers`]) over the
/// other doors for their HTML. A Content-Security-Policy the handler set itself is kept (the
/// OAuth authorize page widens `form-action` to the app's redirect URI); everything else is
/// always set.
pub async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    for (name, value) in kring_service::page_security::HEADERS {
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// [`security_headers`] for responses that are HTML pages; others pass unchanged. The server
/// wraps every door in it, so no page — the API door's authorize and error pages, the
/// fallback's not-found page — goes out without the policy.
pub async fn html_security_headers(res: Response) -> Response {
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/html")
        });
    if html {
        security_headers(res).await
    } else {
        res
    }
}
