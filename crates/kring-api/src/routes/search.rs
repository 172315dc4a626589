//! Search v2.
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kring_service::Kring;
use kring_service::search::{SearchRequest, SearchType};
use serde::Deserialize;
use serde_json::json;

use crate::auth::MaybeAuth;
use crate::client::Client;
use crate::entities::{self, Ctx};
use crate::error::{ApiResult, unprocessable};
use crate::params::{Query, lenient};
use crate::respond::ctx;

pub fn routes() -> Router<Kring> {
    Router::new().route("/api/v2/search", get(search))
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    following: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_id")]
    account_id: Option<kring_core::Id>,
    #[serde(default, deserialize_with = "lenient::count")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "lenient::count")]
    offset: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    resolve: Option<bool>,
}

async fn search(
    State(kring): State<Kring>,
    Client(client): Client,
    auth: MaybeAuth,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:search")?;
    // Resolving may fetch from other servers.
    if q.resolve == Some(true) && !q.q.trim().is_empty() {
        kring.limits.lookup(client, viewer.map(|v| v.id()))?;
    }
    let kind = match q.kind.as_deref() {
        None | Some("") => None,
        Some("accounts") => Some(SearchType::Accounts),
        Some("hashtags") => Some(SearchType::Hashtags),
        Some("statuses") => Some(SearchType::Statuses),
        Some(_) => return Err(unprocessable("Type is not included in the list")),
    };
    let found = kring
        .search(
            viewer,
            SearchRequest {
                q: q.q,
                kind,
                following: q.following.unwrap_or(false),
                account_id: q.account_id,
                limit: q.limit.unwrap_or(20),
                offset: q.offset.unwrap_or(0),
                resolve: q.resolve.unwrap_or(false),
            },
        )
        .await?;
    let views = kring
        .status_views(viewer, found.statuses, Some("public"))
        .await?;
    let base = ctx(&kring);
    let c = Ctx::new(&base, &kring);
    Ok(Json(json!({
        "accounts": found.accounts.iter().map(|a| entities::account(c, a)).collect::<Vec<_>>(),
        "statuses": views.iter().map(|v| entities::status(c, v)).collect::<Vec<_>>(),
        "hashtags": found.hashtags.iter().map(|t| entities::tag(c, t)).collect::<Vec<_>>(),
    }))
    .into_response())
}
