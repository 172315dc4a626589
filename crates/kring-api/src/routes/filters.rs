//! Filters v2 with keywords and statuses.
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kring_core::model::FilterAction;
use kring_service::Kring;
use kring_service::filters::FilterRequest;
use serde::Deserialize;

use crate::auth::Auth;
use crate::entities;
use crate::error::{ApiResult, unprocessable};
use crate::params::{Params, lenient};
use crate::respond::id;

pub fn routes() -> Router<Kring> {
    Router::new()
        .route("/api/v2/filters", get(index).post(create))
        .route("/api/v2/filters/{id}", get(show).put(update).delete(delete))
        .route(
            "/api/v2/filters/{id}/keywords",
            get(keywords).post(add_keyword),
        )
        .route(
            "/api/v2/filters/{id}/statuses",
            get(statuses).post(add_status),
        )
        .route("/api/v1/filters", get(v1_index))
}

#[derive(Deserialize)]
struct FilterParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    title: Option<String>,
    #[serde(default)]
    context: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    filter_action: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "lenient::objects")]
    keywords_attributes: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
}

fn request(p: FilterParams) -> ApiResult<FilterRequest> {
    let context = match p.context {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(vec![s]),
        Some(serde_json::Value::Array(a)) => Some(
            a.into_iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        ),
        Some(serde_json::Value::Object(o)) => Some(
            o.into_iter()
                .filter_map(|(_, v)| v.as_str().map(str::to_string))
                .collect(),
        ),
        Some(_) => return Err(unprocessable("Context is invalid")),
    };
    let action = match p.filter_action.as_deref() {
        None | Some("") => None,
        Some("warn") => Some(FilterAction::Warn),
        Some("hide") => Some(FilterAction::Hide),
        Some("blur") => Some(FilterAction::Blur),
        Some(_) => return Err(unprocessable("Filter action is not included in the list")),
    };
    let expires_in = match p.expires_in {
        None => None,
        Some(serde_json::Value::Null) => Some(None),
        Some(serde_json::Value::String(s)) if s.is_empty() => Some(None),
        Some(serde_json::Value::String(s)) => Some(Some(
            s.parse::<i64>()
                .map_err(|_| unprocessable("Expires in is not a number"))?,
        )),
        Some(serde_json::Value::Number(n)) => Some(n.as_i64()),
        Some(_) => return Err(unprocessable("Expires in is not a number")),
    };
    let keywords = p
        .keywords_attributes
        .unwrap_or_default()
        .into_iter()
        .map(|k| {
            let kid = k
                .get("id")
                .and_then(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .or_else(|| v.as_i64().map(|i| i.to_string()))
                })
                .and_then(|s| s.parse().ok());
            let keyword = k
                .get("keyword")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string();
            let whole = lenient::value_bool(k.get("whole_word")).unwrap_or(true);
            let destroy = lenient::value_bool(k.get("_destroy")).unwrap_or(false);
            (kid, keyword, whole, destroy)
        })
        .collect();
    Ok(FilterRequest {
        title: p.title,
        context,
        action,
        expires_in,
        keywords,
    })
}

async fn index(State(kring): State<Kring>, auth: Auth) -> ApiResult<Response> {
    let actor = auth.user("read:filters")?;
    let filters = kring.filters(actor).await?;
    Ok(Json(filters.iter().map(entities::filter).collect::<Vec<_>>()).into_response())
}

/// The v1 filters endpoint, which old clients still call: nothing to report in its format.
async fn v1_index(auth: Auth) -> ApiResult<Response> {
    auth.user("read:filters")?;
    Ok(Json(Vec::<()>::new()).into_response())
}

async fn create(
    State(kring): State<Kring>,
    auth: Auth,
    Params(p): Params<FilterParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:filters")?;
    let f = kring.save_filter(actor, None, request(p)?).await?;
    Ok(Json(entities::filter(&f)).into_response())
}

async fn show(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("read:filters")?;
    let f = kring.filter(actor, id(&raw)?).await?;
    Ok(Json(entities::filter(&f)).into_response())
}

async fn update(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<FilterParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:filters")?;
    let f = kring
        .save_filter(actor, Some(id(&raw)?), request(p)?)
        .await?;
    Ok(Json(entities::filter(&f)).into_response())
}

async fn delete(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:filters")?;
    kring.delete_filter(actor, id(&raw)?).await?;
    Ok(Json(entities::Empty {}).into_response())
}

async fn keywords(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("read:filters")?;
    let f = kring.filter(actor, id(&raw)?).await?;
    Ok(Json(
        f.keywords
            .iter()
            .map(entities::filter_keyword)
            .collect::<Vec<_>>(),
    )
    .into_response())
}

#[derive(Deserialize)]
struct KeywordParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    keyword: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    whole_word: Option<bool>,
}

async fn add_keyword(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<KeywordParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:filters")?;
    let k = kring
        .add_filter_keyword(
            actor,
            id(&raw)?,
            p.keyword.as_deref().unwrap_or(""),
            p.whole_word.unwrap_or(true),
        )
        .await?;
    Ok(Json(entities::filter_keyword(&k)).into_response())
}

async fn statuses(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("read:filters")?;
    let f = kring.filter(actor, id(&raw)?).await?;
    Ok(Json(
        f.statuses
            .iter()
            .map(entities::filter_status)
            .collect::<Vec<_>>(),
    )
    .into_response())
}

#[derive(Deserialize)]
struct StatusParams {
    #[serde(default, deserialize_with = "lenient::opt_id")]
    status_id: Option<kring_core::Id>,
}

async fn add_status(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<StatusParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:filters")?;
    let sid = p
        .status_id
        .ok_or_else(|| unprocessable("Status can't be blank"))?;
    let s = kring.add_filter_status(actor, id(&raw)?, sid).await?;
    Ok(Json(entities::filter_status(&s)).into_response())
}
