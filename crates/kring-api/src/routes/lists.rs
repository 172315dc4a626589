//! Lists and their members.
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
use crate::params::{Params, Query, lenient};
use crate::respond::{self, id};

pub fn routes() -> Router<Kring> {
    Router::new()
        .route("/api/v1/lists", get(index).post(create))
        .route("/api/v1/lists/{id}", get(show).put(update).delete(delete))
        .route(
            "/api/v1/lists/{id}/accounts",
            get(members).post(add).delete(remove),
        )
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    title: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    replies_policy: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    exclusive: Option<bool>,
}

async fn index(State(kring): State<Kring>, auth: Auth) -> ApiResult<Response> {
    let actor = auth.user("read:lists")?;
    let lists = kring.lists(actor).await?;
    Ok(Json(lists.iter().map(entities::list).collect::<Vec<_>>()).into_response())
}

async fn create(
    State(kring): State<Kring>,
    auth: Auth,
    Params(p): Params<ListParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:lists")?;
    let l = kring
        .create_list(
            actor,
            p.title.as_deref().unwrap_or(""),
            p.replies_policy.as_deref(),
            p.exclusive.unwrap_or(false),
        )
        .await?;
    Ok(Json(entities::list(&l)).into_response())
}

async fn show(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("read:lists")?;
    let l = kring.list(actor, id(&raw)?).await?;
    Ok(Json(entities::list(&l)).into_response())
}

async fn update(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<ListParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:lists")?;
    let l = kring
        .update_list(
            actor,
            id(&raw)?,
            p.title.as_deref(),
            p.replies_policy.as_deref(),
            p.exclusive,
        )
        .await?;
    Ok(Json(entities::list(&l)).into_response())
}

async fn delete(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:lists")?;
    kring.delete_list(actor, id(&raw)?).await?;
    Ok(Json(entities::Empty {}).into_response())
}

#[derive(Deserialize)]
struct MembersQuery {
    #[serde(default, deserialize_with = "lenient::count")]
    limit: Option<i64>,
}

async fn members(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(q): Query<MembersQuery>,
) -> ApiResult<Response> {
    let actor = auth.user("read:lists")?;
    // limit=0 means all members in Mastodon.
    let limit = match q.limit {
        Some(0) => 10_000,
        Some(l) => l.clamp(1, 80),
        None => 40,
    };
    let list = kring.list_members(actor, id(&raw)?, limit).await?;
    Ok(respond::accounts(&kring, &list))
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
    kring.add_to_list(actor, id(&raw)?, &p.account_ids).await?;
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
        .remove_from_list(actor, id(&raw)?, &p.account_ids)
        .await?;
    Ok(Json(entities::Empty {}).into_response())
}
