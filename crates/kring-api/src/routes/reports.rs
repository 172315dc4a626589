//! Filing reports to this server's moderators.
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use kring_core::model::ReportCategory;
use kring_service::Kring;
use kring_service::reports::ReportRequest;
use serde::Deserialize;

use crate::auth::Auth;
use crate::entities::{self, Ctx};
use crate::error::{ApiResult, unprocessable};
use crate::params::{Params, lenient};
use crate::respond::ctx;

pub fn routes() -> Router<Kring> {
    Router::new().route("/api/v1/reports", post(create))
}

#[derive(Deserialize)]
struct ReportParams {
    #[serde(default, deserialize_with = "lenient::opt_id")]
    account_id: Option<kring_core::Id>,
    #[serde(default, deserialize_with = "lenient::ids")]
    status_ids: Vec<kring_core::Id>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    comment: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    category: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    forward: Option<bool>,
}

async fn create(
    State(kring): State<Kring>,
    auth: Auth,
    Params(p): Params<ReportParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:reports")?;
    let account_id = p
        .account_id
        .ok_or_else(|| unprocessable("Account can't be blank"))?;
    let category = match p.category.as_deref() {
        None | Some("") => None,
        Some(c) => Some(
            ReportCategory::parse(c)
                .ok_or_else(|| unprocessable("Category is not included in the list"))?,
        ),
    };
    let report = kring
        .report(
            actor,
            ReportRequest {
                account_id,
                status_ids: p.status_ids,
                comment: p.comment.unwrap_or_default(),
                category,
                forward: p.forward.unwrap_or(false),
            },
        )
        .await?;
    let base = ctx(&kring);
    Ok(Json(entities::report(
        Ctx::new(&base, &kring),
        &report.report,
        &report.target,
    ))
    .into_response())
}
