//! What the server says about itself, plus the small endpoints clients call at start-up.
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kring_core::model::Registrations;
use kring_core::time::rfc3339;
use kring_service::Kring;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Auth, MaybeAuth};
use crate::entities::{self, Ctx};
use crate::error::ApiResult;
use crate::params::{Params, lenient};
use crate::respond::ctx;

/// The Mastodon API version Kring implements, in the form clients parse.
pub const MASTODON_VERSION: &str = "4.3.0";
pub const MASTODON_API_VERSION: i64 = 2;

pub fn routes() -> Router<Kring> {
    Router::new()
        .route("/api/v1/instance", get(v1))
        .route("/api/v1/instance/", get(v1))
        .route("/api/v2/instance", get(v2))
        .route("/api/v2/instance/", get(v2))
        .route("/api/v1/instance/rules", get(rules))
        .route("/api/v1/instance/peers", get(empty_list))
        .route(
            "/api/v1/instance/extended_description",
            get(extended_description),
        )
        .route("/api/v1/custom_emojis", get(empty_list))
        .route("/api/v1/announcements", get(empty_list))
        .route("/api/v1/trends", get(empty_list))
        .route("/api/v1/trends/tags", get(empty_list))
        .route("/api/v1/trends/statuses", get(empty_list))
        .route("/api/v1/trends/links", get(empty_list))
        .route("/api/v1/followed_tags", get(empty_list))
        .route("/api/v1/featured_tags", get(empty_list))
        .route("/api/v1/scheduled_statuses", get(empty_list))
        .route("/api/v1/preferences", get(preferences))
        .route("/api/v1/markers", get(markers).post(set_markers))
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth_metadata),
        )
        .route("/avatars/original/missing.png", get(default_image))
        .route("/headers/original/missing.png", get(default_image))
}

async fn empty_list() -> Json<[(); 0]> {
    Json([])
}

fn version() -> String {
    format!(
        "{MASTODON_VERSION} (compatible; Kring {})",
        env!("CARGO_PKG_VERSION")
    )
}

fn streaming_url(kring: &Kring) -> String {
    let scheme = if kring.config.scheme == "https" {
        "wss"
    } else {
        "ws"
    };
    format!("{scheme}://{}", kring.config.domain)
}

fn configuration(kring: &Kring, v2: bool) -> serde_json::Value {
    let media = &kring.config.media;
    // Nothing is accepted when the server keeps no media.
    let on = media.dir.is_some();
    let mut c = json!({
        "accounts": { "max_featured_tags": 0, "max_pinned_statuses": 5 },
        "statuses": {
            "max_characters": kring.config.max_status_chars,
            "max_media_attachments": if on { media.max_attachments } else { 0 },
            "characters_reserved_per_url": 23
        },
        "media_attachments": {
            "supported_mime_types": if on { media.supported_mime_types() } else { Vec::new() },
            "image_size_limit": if on { media.image_size_limit } else { 0 },
            "image_matrix_limit": if on { media.image_matrix_limit } else { 0 },
            "video_size_limit": if on { media.video_size_limit } else { 0 },
            // Video is kept as it is sent (no transcoding), so its frames are not limited.
            "video_frame_rate_limit": if on { 120 } else { 0 },
            "video_matrix_limit": if on { 8192 * 8192 } else { 0 }
        },
        "polls": { "max_options": 0, "max_characters_per_option": 0, "min_expiration": 0, "max_expiration": 0 }
    });
    if v2 {
        c["media_attachments"]["description_limit"] = json!(media.description_limit);
        c["translation"] = json!({ "enabled": false });
        c["urls"] = json!({ "streaming": streaming_url(kring) });
        c["vapid"] = json!({ "public_key": "" });
    }
    c
}

async fn v1(State(kring): State<Kring>) -> ApiResult<Response> {
    let i = kring.instance().await?;
    let base = ctx(&kring);
    let c = Ctx::new(&base, &kring);
    Ok(Json(json!({
        "uri": i.domain,
        "title": i.title,
        "short_description": i.description,
        "description": i.description,
        "email": i.contact_email,
        "version": version(),
        "urls": { "streaming_api": streaming_url(&kring) },
        "stats": { "user_count": i.user_count, "status_count": i.status_count, "domain_count": i.domain_count },
        "thumbnail": null,
        "languages": ["en"],
        "registrations": i.registrations != Registrations::Closed,
        "approval_required": i.registrations == Registrations::Approval,
        "invites_enabled": false,
        "configuration": configuration(&kring, false),
        "contact_account": i.contact_account.as_ref().map(|a| entities::account(c, a)),
        "rules": i.rules.iter().map(|r| json!({"id": r.id, "text": r.text, "hint": r.hint})).collect::<Vec<_>>(),
    }))
    .into_response())
}

async fn v2(State(kring): State<Kring>) -> ApiResult<Response> {
    let i = kring.instance().await?;
    let base = ctx(&kring);
    let c = Ctx::new(&base, &kring);
    Ok(Json(json!({
        "domain": i.domain,
        "title": i.title,
        "version": version(),
        "source_url": "https://kring.invalid/source",
        "description": i.description,
        "usage": { "users": { "active_month": i.user_count } },
        "thumbnail": { "url": format!("{base}/avatars/original/missing.png") },
        "icon": [],
        "languages": ["en"],
        "configuration": configuration(&kring, true),
        "registrations": {
            "enabled": i.registrations != Registrations::Closed,
            "approval_required": i.registrations == Registrations::Approval,
            "message": null,
            "url": null
        },
        "api_versions": { "mastodon": MASTODON_API_VERSION },
        "contact": {
            "email": i.contact_email,
            "account": i.contact_account.as_ref().map(|a| entities::account(c, a))
        },
        "rules": i.rules.iter().map(|r| json!({"id": r.id, "text": r.text, "hint": r.hint})).collect::<Vec<_>>(),
    }))
    .into_response())
}

async fn rules(State(kring): State<Kring>) -> ApiResult<Response> {
    let rules = kring.instance().await?.rules;
    Ok(Json(
        rules
            .iter()
            .map(|r| json!({"id": r.id, "text": r.text, "hint": r.hint}))
            .collect::<Vec<_>>(),
    )
    .into_response())
}

async fn extended_description(State(kring): State<Kring>) -> ApiResult<Response> {
    let i = kring.instance().await?;
    Ok(Json(json!({ "updated_at": rfc3339(kring_core::time::now_micros()), "content": kring_core::text::escape_html(&i.description) })).into_response())
}

async fn preferences(State(kring): State<Kring>, auth: Auth) -> ApiResult<Response> {
    let actor = auth.user("read:accounts")?;
    let _ = &kring;
    let u = &actor.user;
    Ok(Json(json!({
        "posting:default:visibility": u.default_visibility.mastodon_str(),
        "posting:default:sensitive": u.default_sensitive,
        "posting:default:language": u.default_language,
        "reading:expand:media": "default",
        "reading:expand:spoilers": false,
    }))
    .into_response())
}

#[derive(Deserialize)]
struct MarkerQuery {
    #[serde(default, deserialize_with = "lenient::strings")]
    timeline: Vec<String>,
}

async fn markers(
    State(kring): State<Kring>,
    auth: Auth,
    crate::params::Query(q): crate::params::Query<MarkerQuery>,
) -> ApiResult<Response> {
    let actor = auth.user("read:statuses")?;
    let all = kring.markers(actor).await?;
    let mut out = serde_json::Map::new();
    for m in all
        .iter()
        .filter(|m| q.timeline.is_empty() || q.timeline.contains(&m.timeline))
    {
        out.insert(
            m.timeline.clone(),
            serde_json::to_value(entities::marker(m)).unwrap_or_default(),
        );
    }
    Ok(Json(out).into_response())
}

#[derive(Deserialize)]
struct MarkerBody {
    home: Option<serde_json::Map<String, serde_json::Value>>,
    notifications: Option<serde_json::Map<String, serde_json::Value>>,
}

async fn set_markers(
    State(kring): State<Kring>,
    auth: Auth,
    Params(b): Params<MarkerBody>,
) -> ApiResult<Response> {
    let actor = auth.user("write:statuses")?;
    for (name, m) in [("home", &b.home), ("notifications", &b.notifications)] {
        if let Some(m) = m {
            let id = m
                .get("last_read_id")
                .and_then(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .or_else(|| v.as_i64().map(|i| i.to_string()))
                })
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| crate::error::unprocessable("last_read_id is missing or invalid"))?;
            kring.set_marker(actor, name, id).await?;
        }
    }
    markers(
        State(kring),
        auth,
        crate::params::Query(MarkerQuery {
            timeline: Vec::new(),
        }),
    )
    .await
}

async fn oauth_metadata(State(kring): State<Kring>, _maybe: MaybeAuth) -> Json<serde_json::Value> {
    let base = ctx(&kring);
    Json(json!({
        "issuer": format!("{base}/"),
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "app_registration_endpoint": format!("{base}/api/v1/apps"),
        "scopes_supported": kring_core::scopes::KNOWN,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "password", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }))
}

/// The default avatar and header: a 1×1 grey PNG, served locally.
async fn default_image() -> impl IntoResponse {
    const PNG: &[u8] = include_bytes!("../../static/missing.png");
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        PNG,
    )
}
