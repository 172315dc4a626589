//! Circles and their members (Kring's extension, docs/api.md). The shapes follow Mastodon's
//! lists so list-aware client code can drive them.
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kring_core::Id;
use kring_service::Kring;
use serde::Deserialize;

use crate::auth::Auth;
use crate::entities;
use crate::error::ApiResult;
use crate::paging::PageParams;
use crate::params::{Params, Query, lenient};
use crate::respond::{self, id};

pub fn routes() -> Router<Kring> {
    Router::new()
        .route("/api/v1/circles", get(index).post(create))
        .route("/api/v1/circles/{id}", get(show).put(update).delete(delete))
        .route(
            "/api/v1/circles/{id}/accounts",
            get(members).post(add).delete(remove),
        )
        .route("/api/v1/accounts/{id}/circles", get(containing))
}

#[derive(Deserialize)]
struct CircleParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    title: Option<String>,
}

async fn index(State(kring): State<Kring>, auth: Auth) -> ApiResult<Response> {
    let actor = auth.user("read:lists")?;
    let circles = kring.circles(actor).await?;
    Ok(Json(circles.iter().map(entities::circle).collect::<Vec<_>>()).into_response())
}

async fn create(
    State(kring): State<Kring>,
    auth: Auth,
    Params(p): Params<CircleParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:lists")?;
    let c = kring
        .create_circle(actor, p.title.as_deref().unwrap_or(""))
        .await?;
    Ok(Json(entities::circle(&c)).into_response())
}

async fn show(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("read:lists")?;
    let c = kring.circle(actor, id(&raw)?).await?;
    Ok(Json(entities::circle(&c)).into_response())
}

async fn update(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<CircleParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:lists")?;
    let id = id(&raw)?;
    let c = match p.title.as_deref() {
        Some(title) => kring.rename_circle(actor, id, title).await?,
        None => kring.circle(actor, id).await?,
    };
    Ok(Json(entities::circle(&c)).into_response())
}

async fn delete(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:lists")?;
    kring.delete_circle(actor, id(&raw)?).await?;
    Ok(Json(entities::Empty {}).into_response())
}

async fn members(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let actor = auth.user("read:lists")?;
    let id = id(&raw)?;
    let page = q.page(40, 80);
    let accounts = kring.circle_members(actor, id, &page).await?;
    let paged: Vec<(Id, kring_core::model::Account)> =
        accounts.into_iter().map(|a| (a.id, a)).collect();
    Ok(respond::keyed_accounts(
        &kring,
        &paged,
        &format!("/api/v1/circles/{id}/accounts"),
    ))
}

#[derive(Deserialize)]
struct AccountIds {
    #[serde(default, deserialize_with = "lenient::ids")]
    account_ids: Vec<Id>,
}

async fn add(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<AccountIds>,
) -> ApiResult<Response> {
    let actor = auth.user("write:lists")?;
    kring
        .add_to_circle(actor, id(&raw)?, &p.account_ids)
        .await?;
    Ok(Json(entities::Empty {}).into_response())
}

async fn remove(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<AccountIds>,
) -> ApiResult<Response> {
    let actor = auth.user("write:lists")?;
    kring
        .remove_from_circle(actor, id(&raw)?, &p.account_ids)
        .await?;
    Ok(Json(entities::Empty {}).into_response())
}

/// The viewer's circles an account is in (as Mastodon's `/accounts/:id/lists`).
async fn containing(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("read:lists")?;
    let circles = kring.circles_with(actor, id(&raw)?).await?;
    Ok(Json(circles.iter().map(entities::circle).collect::<Vec<_>>()).into_response())
}
