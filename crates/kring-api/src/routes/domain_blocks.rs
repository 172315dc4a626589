//! A person's own domain blocks (`/api/v1/domain_blocks`), as Mastodon: the list is bare
//! domain strings paged by `Link` headers; blocking and unblocking answer `{}`.
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kring_service::Kring;
use serde::Deserialize;

use crate::auth::Auth;
use crate::entities;
use crate::error::ApiResult;
use crate::paging::{PageParams, paged};
use crate::params::{Params, Query};
use crate::respond::ctx;

pub fn routes() -> Router<Kring> {
    Router::new().route(
        "/api/v1/domain_blocks",
        get(list).post(block).delete(unblock),
    )
}

#[derive(Deserialize)]
struct DomainParams {
    #[serde(default)]
    domain: String,
}

async fn list(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let actor = auth.user("read:blocks")?;
    let list = kring.domain_blocks(actor, &q.page(100, 200)).await?;
    let keys: Vec<_> = list.iter().map(|(k, _)| *k).collect();
    let body: Vec<&str> = list.iter().map(|(_, d)| d.as_str()).collect();
    Ok(paged(
        &ctx(&kring),
        "/api/v1/domain_blocks",
        "",
        &keys,
        body,
    ))
}

async fn block(
    State(kring): State<Kring>,
    auth: Auth,
    Params(p): Params<DomainParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:blocks")?;
    kring.block_domain(actor, &p.domain).await?;
    Ok(Json(entities::Empty {}).into_response())
}

async fn unblock(
    State(kring): State<Kring>,
    auth: Auth,
    Params(p): Params<DomainParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:blocks")?;
    kring.unblock_domain(actor, &p.domain).await?;
    Ok(Json(entities::Empty {}).into_response())
}
