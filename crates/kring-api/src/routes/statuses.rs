//! Statuses: create, read, edit, delete, and the marks on them.
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kring_core::Visibility;
use kring_service::Kring;
use kring_service::statuses::{EditRequest, PostRequest};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Auth, MaybeAuth};
use crate::entities::{self, Ctx};
use crate::error::{ApiResult, unprocessable};
use crate::paging::PageParams;
use crate::params::{Params, Query, lenient};
use crate::respond::{self, ctx, id};

pub fn routes() -> Router<Kring> {
    Router::new()
        .route("/api/v1/statuses", post(create))
        .route("/api/v1/statuses/{id}", get(show).delete(delete).put(edit))
        .route("/api/v1/statuses/{id}/context", get(context))
        .route("/api/v1/statuses/{id}/history", get(history))
        .route("/api/v1/statuses/{id}/source", get(source))
        .route("/api/v1/statuses/{id}/favourited_by", get(favourited_by))
        .route("/api/v1/statuses/{id}/reblogged_by", get(reblogged_by))
        .route("/api/v1/statuses/{id}/favourite", post(favourite))
        .route("/api/v1/statuses/{id}/unfavourite", post(unfavourite))
        .route("/api/v1/statuses/{id}/reblog", post(reblog))
        .route("/api/v1/statuses/{id}/unreblog", post(unreblog))
        .route("/api/v1/statuses/{id}/bookmark", post(bookmark))
        .route("/api/v1/statuses/{id}/unbookmark", post(unbookmark))
        .route("/api/v1/statuses/{id}/pin", post(pin))
        .route("/api/v1/statuses/{id}/unpin", post(unpin))
        .route("/api/v1/statuses/{id}/quotes", get(quotes))
        .route(
            "/api/v1/statuses/{id}/quotes/{quoting}/revoke",
            post(revoke_quote),
        )
}

#[derive(Deserialize)]
struct CreateParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_id")]
    in_reply_to_id: Option<kring_core::Id>,
    /// Pleroma's: the conversation (Kring: the chat) the post goes into.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    in_reply_to_conversation_id: Option<kring_core::Id>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    sensitive: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    spoiler_text: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    visibility: Option<String>,
    /// Truth Social and Kring: the group the post goes to.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    group_id: Option<kring_core::Id>,
    /// Kring: the circles of a `circle` post.
    #[serde(default, deserialize_with = "lenient::ids")]
    circle_ids: Vec<kring_core::Id>,
    /// glitch-soc and Kring: keep the post on this server.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    local_only: Option<bool>,
    /// GoToSocial's spelling of the same: `federated: false` is local only.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    federated: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    language: Option<String>,
    #[serde(default, deserialize_with = "lenient::strings")]
    media_ids: Vec<String>,
    #[serde(default)]
    poll: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    scheduled_at: Option<String>,
    /// GoToSocial's: who may favourite, reply, boost (and Kring: quote).
    #[serde(default)]
    interaction_policy: Option<serde_json::Value>,
    /// Mastodon 4.5: the post this one quotes.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    quoted_status_id: Option<kring_core::Id>,
    /// Mastodon 4.5: who may quote this post (`public`, `followers`, `nobody`).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    quote_approval_policy: Option<String>,
}

fn visibility(v: Option<&str>) -> ApiResult<Option<Visibility>> {
    match v.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => Visibility::parse(v)
            .map(Some)
            .ok_or_else(|| unprocessable("Visibility is not included in the list")),
    }
}

/// The audience asked for: a visibility and, for a circle post, its circles. Akkoma's
/// `list:ID` names one circle (Kring's circles are what Akkoma's list-addressed posts are).
fn audience(
    v: Option<&str>,
    mut circle_ids: Vec<kring_core::Id>,
) -> ApiResult<(Option<Visibility>, Vec<kring_core::Id>)> {
    if let Some(raw) = v.and_then(|v| v.strip_prefix("list:")) {
        let id = raw
            .parse::<i64>()
            .map(kring_core::Id)
            .map_err(|_| unprocessable("Visibility is not included in the list"))?;
        circle_ids.push(id);
        return Ok((Some(Visibility::Circle), circle_ids));
    }
    let visibility = visibility(v)?;
    if visibility != Some(Visibility::Circle) && !circle_ids.is_empty() {
        return Err(unprocessable(
            "circle_ids can only be given with visibility circle",
        ));
    }
    Ok((visibility, circle_ids))
}

async fn create(
    State(kring): State<Kring>,
    auth: Auth,
    headers: HeaderMap,
    Params(p): Params<CreateParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:statuses")?;
    let media_ids = super::media::media_ids(&p.media_ids)?;
    if p.poll.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(unprocessable("Polls are not supported yet"));
    }
    if p.scheduled_at.is_some() {
        return Err(unprocessable("Scheduled posts are not supported yet"));
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(128).collect::<String>());
    let (visibility, circle_ids) = audience(p.visibility.as_deref(), p.circle_ids)?;
    let mut interaction_policy = match &p.interaction_policy {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(super::interaction_policies::policy_input(v)?),
    };
    if let Some(q) = p.quote_approval_policy.as_deref().filter(|q| !q.is_empty()) {
        // Mastodon's three choices, as the quote part of GoToSocial's policy.
        let automatic = match q {
            "public" => vec!["public".to_string()],
            "followers" => vec!["followers".to_string()],
            "nobody" => Vec::new(),
            _ => {
                return Err(unprocessable(
                    "quote_approval_policy must be public, followers or nobody",
                ));
            }
        };
        interaction_policy
            .get_or_insert_with(Default::default)
            .can_quote = Some(kring_service::interactions::RuleInput {
            automatic,
            manual: Vec::new(),
        });
    }
    let status = kring
        .post(
            actor,
            PostRequest {
                text: p.status.unwrap_or_default(),
                in_reply_to_id: p.in_reply_to_id,
                sensitive: p.sensitive,
                spoiler_text: p.spoiler_text.unwrap_or_default(),
                visibility,
                circle_ids,
                group_id: p.group_id,
                local_only: p.local_only == Some(true) || p.federated == Some(false),
                language: p.language,
                application_id: auth.0.token.app_id,
                idempotency_key: key,
                interaction_policy,
                quoted_status_id: p.quoted_status_id,
                chat_id: p.in_reply_to_conversation_id,
                media_ids,
            },
        )
        .await?;
    respond::status(&kring, Some(actor), status).await
}

async fn show(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:statuses")?;
    let s = kring.status(viewer, id(&raw)?).await?;
    respond::status(&kring, viewer, s).await
}

async fn delete(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:statuses")?;
    // The deleted status, with its source text, so clients can "delete and redraft".
    let view = kring.delete_for_redraft(actor, id(&raw)?).await?;
    let base = ctx(&kring);
    Ok(Json(entities::status_with_text(
        Ctx::new(&base, &kring),
        &view,
        true,
    ))
    .into_response())
}

#[derive(Deserialize)]
struct EditParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    spoiler_text: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    sensitive: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    language: Option<String>,
    #[serde(default, deserialize_with = "lenient::strings")]
    media_ids: Vec<String>,
}

async fn edit(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<EditParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:statuses")?;
    // As Mastodon: the attachments an edit sends are those the post keeps (none: none).
    let media_ids = Some(super::media::media_ids(&p.media_ids)?);
    let s = kring
        .edit(
            actor,
            id(&raw)?,
            EditRequest {
                text: p.status.unwrap_or_default(),
                spoiler_text: p.spoiler_text,
                sensitive: p.sensitive,
                language: p.language,
                media_ids,
            },
        )
        .await?;
    respond::status(&kring, Some(actor), s).await
}

async fn context(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:statuses")?;
    let (up, down) = kring.context(viewer, id(&raw)?).await?;
    // Both sides hydrated at once (one set of statements, not two).
    let ancestors: std::collections::HashSet<kring_core::Id> = up.iter().map(|s| s.id).collect();
    let (up, down): (Vec<_>, Vec<_>) = kring
        .status_views(viewer, up.into_iter().chain(down).collect(), Some("thread"))
        .await?
        .into_iter()
        .partition(|v| ancestors.contains(&v.status.id));
    let base = ctx(&kring);
    let c = Ctx::new(&base, &kring);
    // Written as bytes (not through a `Value`, which would copy every status into a map).
    let mut body = b"{\"ancestors\":".to_vec();
    body.extend(crate::render::statuses(c, &up));
    body.extend_from_slice(b",\"descendants\":");
    body.extend(crate::render::statuses(c, &down));
    body.push(b'}');
    Ok(crate::respond::json_bytes(body))
}

async fn history(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:statuses")?;
    let (_, author, edits) = kring.history(viewer, id(&raw)?).await?;
    let base = ctx(&kring);
    let c = Ctx::new(&base, &kring);
    let body: Vec<_> = edits
        .iter()
        .map(|e| serde_json::to_value(entities::status_edit(c, e, &author)).unwrap_or_default())
        .collect();
    Ok(Json(body).into_response())
}

async fn source(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("read:statuses")?;
    let s = kring.source(actor, id(&raw)?).await?;
    Ok(Json(json!({ "id": s.id, "text": s.text, "spoiler_text": s.spoiler_text })).into_response())
}

async fn favourited_by(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Path(raw): Path<String>,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:accounts")?;
    let sid = id(&raw)?;
    let list = kring
        .status_actors(viewer, sid, false, &q.page(40, 80))
        .await?;
    Ok(respond::keyed_accounts(
        &kring,
        &list,
        &format!("/api/v1/statuses/{sid}/favourited_by"),
    ))
}

async fn reblogged_by(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Path(raw): Path<String>,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:accounts")?;
    let sid = id(&raw)?;
    let list = kring
        .status_actors(viewer, sid, true, &q.page(40, 80))
        .await?;
    Ok(respond::keyed_accounts(
        &kring,
        &list,
        &format!("/api/v1/statuses/{sid}/reblogged_by"),
    ))
}

async fn favourite(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:favourites")?;
    let s = kring.favourite(actor, id(&raw)?).await?;
    respond::status(&kring, Some(actor), s).await
}

async fn unfavourite(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:favourites")?;
    let s = kring.unfavourite(actor, id(&raw)?).await?;
    respond::status(&kring, Some(actor), s).await
}

#[derive(Deserialize)]
struct ReblogParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    visibility: Option<String>,
}

async fn reblog(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<ReblogParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:statuses")?;
    let s = kring
        .reblog(actor, id(&raw)?, visibility(p.visibility.as_deref())?)
        .await?;
    respond::status(&kring, Some(actor), s).await
}

async fn unreblog(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:statuses")?;
    let s = kring.unreblog(actor, id(&raw)?).await?;
    respond::status(&kring, Some(actor), s).await
}

async fn bookmark(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:bookmarks")?;
    let s = kring.bookmark(actor, id(&raw)?, true).await?;
    respond::status(&kring, Some(actor), s).await
}

async fn unbookmark(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:bookmarks")?;
    let s = kring.bookmark(actor, id(&raw)?, false).await?;
    respond::status(&kring, Some(actor), s).await
}

async fn pin(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:accounts")?;
    let s = kring.pin(actor, id(&raw)?, true).await?;
    respond::status(&kring, Some(actor), s).await
}

async fn unpin(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:accounts")?;
    let s = kring.pin(actor, id(&raw)?, false).await?;
    respond::status(&kring, Some(actor), s).await
}

/// Mastodon 4.5: the accepted quotes of a post, that the viewer is shown.
async fn quotes(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Path(raw): Path<String>,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:statuses")?;
    let sid = id(&raw)?;
    let list = kring.quotes_of_status(viewer, sid, &q.page(20, 40)).await?;
    respond::statuses(
        &kring,
        viewer,
        list,
        Some("public"),
        &format!("/api/v1/statuses/{sid}/quotes"),
        "",
    )
    .await
}

/// Mastodon 4.5: the quoted post's author withdraws their approval of one quote; answers
/// the quoting post.
async fn revoke_quote(
    State(kring): State<Kring>,
    auth: Auth,
    Path((raw, quoting)): Path<(String, String)>,
) -> ApiResult<Response> {
    let actor = auth.user("write:statuses")?;
    let s = kring.revoke_quote(actor, id(&raw)?, id(&quoting)?).await?;
    respond::status(&kring, Some(actor), s).await
}
