//! Notifications: list (with types / exclude_types), get, dismiss, clear.
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kring_core::model::NotificationType;
use kring_service::Kring;
use serde::Deserialize;

use crate::auth::Auth;
use crate::entities::{self, Ctx};
use crate::error::ApiResult;
use crate::paging::{PageParams, paged};
use crate::params::{Query, lenient};
use crate::respond::{ctx, id};

pub fn routes() -> Router<Kring> {
    Router::new()
        .route("/api/v1/notifications", get(index))
        .route("/api/v1/notifications/clear", post(clear))
        .route("/api/v1/notifications/unread_count", get(unread_count))
        .route("/api/v1/notifications/{id}", get(show))
        .route("/api/v1/notifications/{id}/dismiss", post(dismiss))
}

#[derive(Deserialize)]
struct IndexQuery {
    #[serde(flatten)]
    page: PageParams,
    #[serde(default, deserialize_with = "lenient::strings")]
    types: Vec<String>,
    #[serde(default, deserialize_with = "lenient::strings")]
    exclude_types: Vec<String>,
    #[serde(default, deserialize_with = "lenient::opt_id")]
    account_id: Option<kring_core::Id>,
}

/// Unknown types are ignored, as Mastodon does (clients send types from newer versions).
fn types(names: &[String]) -> Vec<NotificationType> {
    names
        .iter()
        .filter_map(|n| NotificationType::parse(n))
        .collect()
}

async fn index(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<IndexQuery>,
) -> ApiResult<Response> {
    let actor = auth.user("read:notifications")?;
    let wanted = types(&q.types);
    if !q.types.is_empty() && wanted.is_empty() {
        return Ok(Json(Vec::<()>::new()).into_response());
    }
    let list = kring
        .notifications(
            actor,
            &wanted,
            &types(&q.exclude_types),
            q.account_id,
            &q.page.page(40, 80),
        )
        .await?;
    let keys: Vec<kring_core::Id> = list.iter().map(|n| n.id).collect();
    let views = kring.notification_views(actor, list).await?;
    let base = ctx(&kring);
    let c = Ctx::new(&base, &kring);
    let body: Vec<_> = views.iter().map(|n| entities::notification(c, n)).collect();
    Ok(paged(&base, "/api/v1/notifications", "", &keys, body))
}

async fn unread_count(State(kring): State<Kring>, auth: Auth) -> ApiResult<Response> {
    let actor = auth.user("read:notifications")?;
    let count = kring.unread_notifications(actor, 1000).await?;
    Ok(Json(serde_json::json!({ "count": count })).into_response())
}

async fn show(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("read:notifications")?;
    let n = kring.notification(actor, id(&raw)?).await?;
    let views = kring.notification_views(actor, vec![n]).await?;
    let v = views.first().ok_or_else(crate::error::not_found)?;
    let base = ctx(&kring);
    Ok(Json(entities::notification(Ctx::new(&base, &kring), v)).into_response())
}

async fn dismiss(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:notifications")?;
    kring.dismiss_notification(actor, id(&raw)?).await?;
    Ok(Json(entities::Empty {}).into_response())
}

async fn clear(State(kring): State<Kring>, auth: Auth) -> ApiResult<Response> {
    let actor = auth.user("write:notifications")?;
    kring.clear_notifications(actor).await?;
    Ok(Json(entities::Empty {}).into_response())
}
