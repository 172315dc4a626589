//! Chats (docs/chats.md): Mastodon's conversations (`/api/v1/conversations`, each a chat) and
//! Kring's chat endpoints (`/api/v1/kring/chats…`, docs/api.md). Posting into a chat is also
//! `POST /api/v1/statuses` with `in_reply_to_conversation_id` (Pleroma's), or a `direct`
//! post, which joins the chat of exactly its people.
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use kring_core::{ChatManagers, Id, InboxPlace};
use kring_service::chats::{ChatInput, ChatView};
use kring_service::statuses::PostRequest;
use kring_service::{InboxFilter, Kring};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Auth;
use crate::entities::{self, Ctx};
use crate::error::{ApiResult, unprocessable};
use crate::paging::{PageParams, paged};
use crate::params::{Params, Query, lenient};
use crate::respond::{self, ctx, id};

const READ: &str = "read:statuses";
const WRITE: &str = "write:conversations";

pub fn routes() -> Router<Kring> {
    Router::new()
        .route("/api/v1/conversations", get(conversations))
        // Mastodon.py asks with a trailing slash; Mastodon (Rails) answers both.
        .route("/api/v1/conversations/", get(conversations))
        .route("/api/v1/conversations/{id}", delete(hide))
        .route("/api/v1/conversations/{id}/read", post(read))
        .route("/api/v1/kring/chats", get(chats).post(create))
        .route("/api/v1/kring/chats/requests", get(requests))
        .route("/api/v1/kring/chats/counts", get(counts))
        .route(
            "/api/v1/kring/chats/{id}",
            get(show).patch(update).put(update).delete(hide),
        )
        .route(
            "/api/v1/kring/chats/{id}/messages",
            get(messages).post(post_message),
        )
        .route("/api/v1/kring/chats/{id}/participants", post(add))
        .route(
            "/api/v1/kring/chats/{id}/participants/{account_id}",
            delete(remove),
        )
        .route("/api/v1/kring/chats/{id}/leave", post(leave))
        .route("/api/v1/kring/chats/{id}/read", post(read))
        .route("/api/v1/kring/chats/{id}/mute", post(mute))
        .route("/api/v1/kring/chats/{id}/unmute", post(unmute))
        .route("/api/v1/kring/chats/{id}/accept", post(accept))
        .route("/api/v1/kring/chats/{id}/decline", post(decline))
}

/// A chat as Mastodon's Conversation entity (`id`, `unread`, `accounts`, `last_status`), with
/// Kring's own fields beside them.
pub fn conversation(c: Ctx<'_>, v: &ChatView) -> Value {
    json!({
        "id": v.chat.id.to_string(),
        "unread": v.unread() > 0,
        "accounts": v.others.iter().map(|a| entities::account(c, a)).collect::<Vec<_>>(),
        "last_status": v.last_status.as_ref().map(|s| entities::status(c, s)),
        "name": v.chat.name,
        "uri": v.chat.uri,
        "unread_count": v.unread(),
        "muted": v.muted(),
        "request": v.place() == Some(InboxPlace::Requests),
        "managers": v.chat.managers.as_str(),
        "created_by": v.chat.creator_id.to_string(),
        "home": v.chat.local,
    })
}

fn one(kring: &Kring, v: &ChatView) -> Response {
    let base = ctx(kring);
    Json(conversation(Ctx::new(&base, kring), v)).into_response()
}

async fn list(
    kring: &Kring,
    auth: &Auth,
    filter: InboxFilter,
    p: &PageParams,
    path: &str,
) -> ApiResult<Response> {
    let actor = auth.user(READ)?;
    let list = kring.chats(actor, filter, &p.page(20, 40)).await?;
    let keys: Vec<Id> = list.iter().map(|v| v.activity_id).collect();
    let base = ctx(kring);
    let c = Ctx::new(&base, kring);
    let body: Vec<Value> = list.iter().map(|v| conversation(c, v)).collect();
    Ok(paged(&base, path, "", &keys, body))
}

async fn conversations(
    State(kring): State<Kring>,
    auth: Auth,
    Query(p): Query<PageParams>,
) -> ApiResult<Response> {
    list(
        &kring,
        &auth,
        InboxFilter::Inbox,
        &p,
        "/api/v1/conversations",
    )
    .await
}

async fn chats(
    State(kring): State<Kring>,
    auth: Auth,
    Query(p): Query<PageParams>,
) -> ApiResult<Response> {
    list(&kring, &auth, InboxFilter::Inbox, &p, "/api/v1/kring/chats").await
}

async fn requests(
    State(kring): State<Kring>,
    auth: Auth,
    Query(p): Query<PageParams>,
) -> ApiResult<Response> {
    list(
        &kring,
        &auth,
        InboxFilter::Requests,
        &p,
        "/api/v1/kring/chats/requests",
    )
    .await
}

async fn counts(State(kring): State<Kring>, auth: Auth) -> ApiResult<Response> {
    let actor = auth.user(READ)?;
    let c = kring.chat_counts(actor).await?;
    Ok(Json(json!({ "unread": c.unread, "requests": c.requests })).into_response())
}

async fn show(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user(READ)?;
    let v = kring.chat_view(actor, id(&raw)?).await?;
    Ok(one(&kring, &v))
}

async fn read(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user(WRITE)?;
    let v = kring.mark_chat_read(actor, id(&raw)?).await?;
    Ok(one(&kring, &v))
}

async fn hide(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user(WRITE)?;
    kring.hide_chat(actor, id(&raw)?).await?;
    Ok(Json(entities::Empty {}).into_response())
}

#[derive(Deserialize)]
struct ChatParams {
    #[serde(default, deserialize_with = "lenient::ids")]
    account_ids: Vec<Id>,
    /// Absent: unchanged (PATCH) or none (POST); empty: no name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    name: Option<String>,
    /// `creator` or `everyone`: who may rename and add or remove people.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    managers: Option<String>,
}

fn managers_of(p: &ChatParams) -> ApiResult<Option<ChatManagers>> {
    match p.managers.as_deref().filter(|m| !m.is_empty()) {
        None => Ok(None),
        Some(m) => ChatManagers::parse(m)
            .map(Some)
            .ok_or_else(|| unprocessable("Managers is not included in the list")),
    }
}

async fn create(
    State(kring): State<Kring>,
    auth: Auth,
    Params(p): Params<ChatParams>,
) -> ApiResult<Response> {
    let actor = auth.user(WRITE)?;
    let managers = managers_of(&p)?.unwrap_or_default();
    let v = kring
        .create_chat(
            actor,
            ChatInput {
                account_ids: p.account_ids,
                name: p.name,
                managers,
            },
        )
        .await?;
    Ok(one(&kring, &v))
}

async fn update(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<ChatParams>,
) -> ApiResult<Response> {
    let actor = auth.user(WRITE)?;
    let managers = managers_of(&p)?;
    let v = kring
        .update_chat(actor, id(&raw)?, p.name.map(Some), managers)
        .await?;
    Ok(one(&kring, &v))
}

async fn add(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<ChatParams>,
) -> ApiResult<Response> {
    let actor = auth.user(WRITE)?;
    if p.account_ids.is_empty() {
        return Err(unprocessable("Choose at least one person to add"));
    }
    let v = kring
        .add_chat_participants(actor, id(&raw)?, &p.account_ids)
        .await?;
    Ok(one(&kring, &v))
}

async fn remove(
    State(kring): State<Kring>,
    auth: Auth,
    Path((raw, account)): Path<(String, String)>,
) -> ApiResult<Response> {
    let actor = auth.user(WRITE)?;
    let v = kring
        .remove_chat_participant(actor, id(&raw)?, id(&account)?)
        .await?;
    Ok(one(&kring, &v))
}

async fn leave(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user(WRITE)?;
    kring.leave_chat(actor, id(&raw)?).await?;
    Ok(Json(entities::Empty {}).into_response())
}

async fn mute(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user(WRITE)?;
    let v = kring.mute_chat(actor, id(&raw)?, true).await?;
    Ok(one(&kring, &v))
}

async fn unmute(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user(WRITE)?;
    let v = kring.mute_chat(actor, id(&raw)?, false).await?;
    Ok(one(&kring, &v))
}

async fn accept(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user(WRITE)?;
    let v = kring.accept_chat_request(actor, id(&raw)?).await?;
    Ok(one(&kring, &v))
}

async fn decline(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user(WRITE)?;
    kring.decline_chat_request(actor, id(&raw)?).await?;
    Ok(Json(entities::Empty {}).into_response())
}

async fn messages(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(p): Query<PageParams>,
) -> ApiResult<Response> {
    let actor = auth.user(READ)?;
    let chat = id(&raw)?;
    let list = kring.chat_messages(actor, chat, &p.page(20, 40)).await?;
    respond::statuses(
        &kring,
        Some(actor),
        list,
        None,
        &format!("/api/v1/kring/chats/{chat}/messages"),
        "",
    )
    .await
}

#[derive(Deserialize)]
struct MessageParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_id")]
    in_reply_to_id: Option<Id>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    spoiler_text: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    sensitive: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    language: Option<String>,
    /// Uploads to attach (`POST /api/v2/media` first), as on `POST /api/v1/statuses`.
    #[serde(default, deserialize_with = "lenient::strings")]
    media_ids: Vec<String>,
}

async fn post_message(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<MessageParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:statuses")?;
    let media_ids = super::media::media_ids(&p.media_ids)?;
    let status = kring
        .post_to_chat(
            actor,
            id(&raw)?,
            PostRequest {
                text: p.status.unwrap_or_default(),
                in_reply_to_id: p.in_reply_to_id,
                spoiler_text: p.spoiler_text.unwrap_or_default(),
                sensitive: p.sensitive,
                language: p.language,
                application_id: auth.0.token.app_id,
                media_ids,
                ..PostRequest::default()
            },
        )
        .await?;
    respond::status(&kring, Some(actor), status).await
}
