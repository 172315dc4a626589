//! GoToSocial's interaction controls: a person's default policies
//! (`/api/v1/interaction_policies/defaults`) and the queue of interactions awaiting their
//! approval (`/api/v1/interaction_requests`). Policies are read here from JSON or Rails-style
//! form fields (`interaction_policy[can_reply][automatic_approval][]=public`); what they mean
//! is the service's (`kring_service::interactions`).
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kring_core::{Interaction, Visibility};
use kring_service::Kring;
use kring_service::interactions::{PolicyInput, RequestQuery, RuleInput};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Auth;
use crate::entities::{self, Ctx};
use crate::error::{ApiResult, unprocessable};
use crate::paging::{PageParams, paged};
use crate::params::{Params, Query, lenient};
use crate::respond::{ctx, id};

pub fn routes() -> Router<Kring> {
    Router::new()
        .route(
            "/api/v1/interaction_policies/defaults",
            get(defaults).patch(update_defaults),
        )
        .route("/api/v1/interaction_requests", get(requests))
        .route("/api/v1/interaction_requests/{id}", get(request))
        .route(
            "/api/v1/interaction_requests/{id}/authorize",
            post(authorize),
        )
        .route("/api/v1/interaction_requests/{id}/reject", post(reject))
}

/// A policy as a client sent it: an object of sub-policies (`can_favourite`, `can_reply`,
/// `can_reblog`, Kring's `can_quote`), each with `automatic_approval` and `manual_approval`
/// lists (GoToSocial before v0.20: `always`, `with_approval`). A list may come as an array, one
/// string, or a form's numbered fields.
pub fn policy_input(v: &Value) -> ApiResult<PolicyInput> {
    let bad = || {
        unprocessable(
            "interaction_policy must be an object of can_favourite, can_reply, can_reblog and can_quote, each with automatic_approval and manual_approval lists",
        )
    };
    let o = v.as_object().ok_or_else(bad)?;
    let list = |v: Option<&Value>| -> ApiResult<Vec<String>> {
        Ok(match v {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) if s.is_empty() => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| x.as_str().map(str::to_string).ok_or_else(bad))
                .collect::<ApiResult<_>>()?,
            Some(Value::Object(m)) => m
                .values()
                .map(|x| x.as_str().map(str::to_string).ok_or_else(bad))
                .collect::<ApiResult<_>>()?,
            Some(_) => return Err(bad()),
        })
    };
    let rule = |key: &str| -> ApiResult<Option<RuleInput>> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(r)) => {
                let mut automatic = list(r.get("automatic_approval"))?;
                automatic.extend(list(r.get("always"))?);
                let mut manual = list(r.get("manual_approval"))?;
                manual.extend(list(r.get("with_approval"))?);
                Ok(Some(RuleInput { automatic, manual }))
            }
            Some(_) => Err(bad()),
        }
    };
    Ok(PolicyInput {
        can_reply: rule("can_reply")?,
        can_reblog: rule("can_reblog")?,
        can_favourite: rule("can_favourite")?,
        can_quote: rule("can_quote")?,
    })
}

async fn defaults(State(kring): State<Kring>, auth: Auth) -> ApiResult<Response> {
    let actor = auth.user("read:accounts")?;
    let d = kring.policy_defaults(actor).await?;
    let named = kring.policy_accounts(&d).await?;
    Ok(Json(entities::default_policies(&d, &named)).into_response())
}

/// GoToSocial's PATCH: each visibility given gets that policy; each left out (or `null`)
/// goes back to the server's default.
async fn update_defaults(
    State(kring): State<Kring>,
    auth: Auth,
    Params(p): Params<serde_json::Map<String, Value>>,
) -> ApiResult<Response> {
    let actor = auth.user("write:accounts")?;
    let mut input = Vec::new();
    for (key, v) in &p {
        if v.is_null() {
            continue;
        }
        let Some(visibility) = Visibility::parse(key) else {
            continue;
        };
        input.push((visibility, policy_input(v)?));
    }
    let d = kring.set_policy_defaults(actor, input).await?;
    let named = kring.policy_accounts(&d).await?;
    Ok(Json(entities::default_policies(&d, &named)).into_response())
}

#[derive(Deserialize)]
struct RequestParams {
    #[serde(default, deserialize_with = "lenient::opt_id")]
    status_id: Option<kring_core::Id>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    favourites: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    replies: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    reblogs: Option<bool>,
    #[serde(flatten)]
    page: PageParams,
}

async fn requests(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<RequestParams>,
) -> ApiResult<Response> {
    let actor = auth.user("read:notifications")?;
    let mut kinds = Vec::new();
    for (on, kind) in [
        (q.favourites, Interaction::Favourite),
        (q.replies, Interaction::Reply),
        (q.reblogs, Interaction::Reblog),
    ] {
        if on != Some(false) {
            kinds.push(kind);
        }
    }
    if kinds.len() == 3 {
        kinds.clear();
    } else if kinds.is_empty() {
        return Ok(Json(Vec::<Value>::new()).into_response());
    }
    let list = kring
        .interaction_requests(
            actor,
            &RequestQuery {
                status_id: q.status_id,
                kinds,
            },
            &q.page.page(40, 80),
        )
        .await?;
    let base = ctx(&kring);
    let c = Ctx::new(&base, &kring);
    let keys: Vec<_> = list.iter().map(|r| r.request.id).collect();
    let body: Vec<_> = list
        .iter()
        .map(|r| entities::interaction_request(c, r))
        .collect();
    let mut extra = Vec::new();
    if let Some(s) = q.status_id {
        extra.push(format!("status_id={s}"));
    }
    for (name, on) in [
        ("favourites", q.favourites),
        ("replies", q.replies),
        ("reblogs", q.reblogs),
    ] {
        if on == Some(false) {
            extra.push(format!("{name}=false"));
        }
    }
    Ok(paged(
        &base,
        "/api/v1/interaction_requests",
        &extra.join("&"),
        &keys,
        body,
    ))
}

async fn request(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("read:notifications")?;
    let r = kring.interaction_request(actor, id(&raw)?).await?;
    let base = ctx(&kring);
    Ok(Json(entities::interaction_request(Ctx::new(&base, &kring), &r)).into_response())
}

async fn authorize(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:statuses")?;
    let r = kring.approve_interaction(actor, id(&raw)?).await?;
    let base = ctx(&kring);
    Ok(Json(entities::interaction_request(Ctx::new(&base, &kring), &r)).into_response())
}

async fn reject(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:statuses")?;
    let r = kring.reject_interaction(actor, id(&raw)?).await?;
    let base = ctx(&kring);
    Ok(Json(entities::interaction_request(Ctx::new(&base, &kring), &r)).into_response())
}
