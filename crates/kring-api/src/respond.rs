//! Shared ways of turning service results into responses.
use axum::Json;
use axum::response::{IntoResponse, Response};
use kring_core::Id;
use kring_core::model::{Account, Status};
use kring_service::{Actor, Kring};

use crate::entities::{self, Ctx};
use crate::error::{ApiResult, not_found};
use crate::paging::{paged, with_link};
use crate::render;

pub fn ctx(kring: &Kring) -> String {
    kring.config.base_url()
}

pub async fn status(kring: &Kring, viewer: Option<&Actor>, s: Status) -> ApiResult<Response> {
    let view = kring.status_view(viewer, s).await?;
    let base = ctx(kring);
    let mut body = Vec::with_capacity(2048);
    render::write_status(&mut body, Ctx::new(&base, kring), &view);
    Ok(json_bytes(body))
}

/// A response of JSON already serialised.
pub fn json_bytes(body: Vec<u8>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A page of statuses, keyed by their own ids.
pub async fn statuses(
    kring: &Kring,
    viewer: Option<&Actor>,
    list: Vec<Status>,
    context: Option<&str>,
    path: &str,
    extra: &str,
) -> ApiResult<Response> {
    let keys: Vec<Id> = list.iter().map(|s| s.id).collect();
    let views = kring.status_views(viewer, list, context).await?;
    let base = ctx(kring);
    let body = render::statuses(Ctx::new(&base, kring), &views);
    Ok(with_link(json_bytes(body), &base, path, extra, &keys))
}

/// A page of statuses keyed by something else (favourite or bookmark ids).
pub async fn keyed_statuses(
    kring: &Kring,
    viewer: &Actor,
    list: Vec<(Id, Status)>,
    path: &str,
) -> ApiResult<Response> {
    let keys: Vec<Id> = list.iter().map(|(k, _)| *k).collect();
    let views = kring
        .status_views(
            Some(viewer),
            list.into_iter().map(|(_, s)| s).collect(),
            None,
        )
        .await?;
    let base = ctx(kring);
    let body = render::statuses(Ctx::new(&base, kring), &views);
    Ok(with_link(json_bytes(body), &base, path, "", &keys))
}

/// A page of accounts keyed by the edge (follow, block, …) ids.
pub fn keyed_accounts(kring: &Kring, list: &[(Id, Account)], path: &str) -> Response {
    let keys: Vec<Id> = list.iter().map(|(k, _)| *k).collect();
    let base = ctx(kring);
    let c = Ctx::new(&base, kring);
    let body: Vec<_> = list.iter().map(|(_, a)| entities::account(c, a)).collect();
    paged(&base, path, "", &keys, body)
}

pub fn accounts(kring: &Kring, list: &[Account]) -> Response {
    let base = ctx(kring);
    let c = Ctx::new(&base, kring);
    Json(
        list.iter()
            .map(|a| entities::account(c, a))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

pub fn account(kring: &Kring, a: &Account) -> Response {
    let base = ctx(kring);
    Json(entities::account(Ctx::new(&base, kring), a)).into_response()
}

/// Parse a path id; anything that is not an id is simply not found.
pub fn id(raw: &str) -> ApiResult<Id> {
    raw.parse::<Id>().map_err(|_| not_found())
}
