//! Kring's Mastodon client API door: OAuth, REST routes, Mastodon JSON, streaming. Handlers parse
//! requests into service calls and render the results; they decide nothing themselves.
pub mod auth;
pub mod client;
pub mod entities;
pub mod error;
pub mod paging;
pub mod params;
mod render;
mod respond;
mod routes;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kring_service::Kring;

/// The largest request body accepted (media uploads have their own limit).
pub const MAX_BODY: usize = 1024 * 1024;

/// All client-API routes (and the OAuth pages) on one router.
pub fn router(kring: Kring) -> Router {
    Router::new()
        .merge(routes::instance::routes())
        .merge(routes::oauth::routes())
        .merge(routes::accounts::routes())
        .merge(routes::domain_blocks::routes())
        .merge(routes::statuses::routes())
        .merge(routes::timelines::routes())
        .merge(routes::notifications::routes())
        .merge(routes::lists::routes())
        .merge(routes::circles::routes())
        .merge(routes::groups::routes())
        .merge(routes::conversations::routes())
        .merge(routes::interaction_policies::routes())
        .merge(routes::filters::routes())
        .merge(routes::search::routes())
        .merge(routes::reports::routes())
        .merge(routes::streaming::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // Uploads stream their bodies under the media limits, outside the 1 MiB one.
        .merge(routes::media::routes())
        .with_state(kring)
}

/// Mastodon's answer to an unknown path (the binary's fallback uses it for everything but
/// browsers' page loads).
pub fn not_found() -> axum::response::Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"error": "Record not found"})),
    )
        .into_response()
}
