//! Chats (docs/chats.md) in plain forms: the inbox with unread counts and requests, starting a
//! chat with several people, and a chat's page (its messages, a composer, who is in it, and
//! the forms to rename, add, remove, leave, mute). Every action is the chats service's; a
//! chat the viewer is not in is a missing page.
use askama::Template;
use axum::extract::{OriginalUri, Path, Query, State};
use kring_service::chats::{ChatInput, ChatView};
use kring_service::media::upload::Upload;
use kring_service::statuses::PostRequest;
use kring_service::{Id, InboxFilter};
use serde::Deserialize;

use super::{form_refusal, form_status, id, named_account, path_of, render_status, see};
use crate::Web;
use crate::error::{WebError, WebResult};
use crate::session::{Posted, PostedFile, Viewer};
use crate::view::{AccountCard, Chrome, PageQuery, PostCard, display_name, older_link};

/// Chats on one page of the inbox, and messages on one page of a chat.
const PAGE: usize = 40;
/// How much of a chat's last message the inbox shows.
const PREVIEW_CHARS: usize = 120;

/// One chat in the inbox.
struct ChatRow {
    id: String,
    title: String,
    unread: i64,
    muted: bool,
    last: String,
}

fn title_of(v: &ChatView) -> String {
    match &v.chat.name {
        Some(n) => n.clone(),
        None if v.others.is_empty() => "Only you".into(),
        None => v
            .others
            .iter()
            .map(display_name)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn row(v: &ChatView) -> ChatRow {
    let last = v
        .last_status
        .as_ref()
        .map(|s| {
            let text = kring_core::text::html_to_text(&s.status.content);
            let mut cut: String = text.chars().take(PREVIEW_CHARS).collect();
            if text.chars().count() > PREVIEW_CHARS {
                cut.push('…');
            }
            format!("{}: {cut}", display_name(&s.account))
        })
        .unwrap_or_default();
    ChatRow {
        id: v.chat.id.to_string(),
        title: title_of(v),
        unread: v.unread(),
        muted: v.muted(),
        last,
    }
}

#[derive(Template)]
#[template(path = "chats.html")]
struct ChatsPage {
    c: Chrome,
    chats: Vec<ChatRow>,
    requests: Vec<ChatRow>,
    older: Option<String>,
    error: Option<String>,
    /// What was typed into "Start a chat" when it was refused.
    people: String,
    name: String,
}

async fn chats_page(
    web: &Web,
    v: &Viewer,
    q: &PageQuery,
    path: String,
    error: Option<String>,
    people: String,
    name: String,
) -> WebResult {
    let kring = &web.kring;
    let list = kring
        .chats(&v.actor, InboxFilter::Inbox, &q.page(PAGE))
        .await?;
    let requests = kring
        .chats(
            &v.actor,
            InboxFilter::Requests,
            &kring_core::model::Page::newest(PAGE),
        )
        .await?;
    let keys: Vec<Id> = list.iter().map(|c| c.activity_id).collect();
    let c = web.chrome(Some(v), "Chats", "chats", path).await?;
    render_status(
        form_status(&error),
        &ChatsPage {
            c,
            chats: list.iter().map(row).collect(),
            requests: requests.iter().map(row).collect(),
            older: older_link("/chats", &keys, PAGE),
            error,
            people,
            name,
        },
    )
}

/// The inbox: chats newest activity first, then the requests.
pub async fn chats(
    State(web): State<Web>,
    v: Viewer,
    uri: OriginalUri,
    Query(q): Query<PageQuery>,
) -> WebResult {
    chats_page(
        &web,
        &v,
        &q,
        path_of(&uri),
        None,
        String::new(),
        String::new(),
    )
    .await
}

#[derive(Deserialize)]
pub struct StartForm {
    /// Handles (`user` or `user@server`), separated by commas or spaces.
    #[serde(default)]
    people: String,
    #[serde(default)]
    name: String,
}

/// Start a chat with the people named.
pub async fn start(State(web): State<Web>, p: Posted<StartForm>) -> WebResult {
    let result = async {
        let mut ids = Vec::new();
        for acct in p
            .form
            .people
            .split(|c: char| c == ',' || c.is_whitespace())
            .map(|a| a.trim().trim_start_matches('@'))
            .filter(|a| !a.is_empty())
        {
            ids.push(named_account(&web, &p.viewer.actor, acct).await?);
        }
        web.kring
            .create_chat(
                &p.viewer.actor,
                ChatInput {
                    account_ids: ids,
                    name: Some(p.form.name.clone()),
                    ..ChatInput::default()
                },
            )
            .await
    }
    .await;
    match result {
        Ok(chat) => see(&format!("/chats/{}", chat.chat.id)),
        Err(e) => {
            let error = Some(form_refusal(e)?);
            chats_page(
                &web,
                &p.viewer,
                &PageQuery::default(),
                "/chats".into(),
                error,
                p.form.people.clone(),
                p.form.name.clone(),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "chat.html")]
struct ChatPage {
    c: Chrome,
    id: String,
    title: String,
    name: String,
    others: Vec<AccountCard>,
    posts: Vec<PostCard>,
    older: Option<String>,
    empty: &'static str,
    request: bool,
    muted: bool,
    manages: bool,
    error: Option<String>,
    /// What was typed and refused, kept to correct rather than retype.
    text: String,
    acct: String,
}

#[allow(clippy::too_many_arguments)]
async fn chat_page(
    web: &Web,
    v: &Viewer,
    chat: Id,
    q: &PageQuery,
    path: String,
    error: Option<String>,
    text: String,
    acct: String,
) -> WebResult {
    let kring = &web.kring;
    // Opening the chat reads it.
    let view = if q.max_id.is_none() && error.is_none() {
        kring.mark_chat_read(&v.actor, chat).await?
    } else {
        kring.chat_view(&v.actor, chat).await?
    };
    let mut messages = kring.chat_messages(&v.actor, chat, &q.page(PAGE)).await?;
    let keys: Vec<Id> = messages.iter().map(|s| s.id).collect();
    // A conversation reads oldest first.
    messages.reverse();
    let views = kring.status_views(Some(&v.actor), messages, None).await?;
    let title = title_of(&view);
    let c = web.chrome(Some(v), title.clone(), "chats", path).await?;
    render_status(
        form_status(&error),
        &ChatPage {
            c,
            id: chat.to_string(),
            title,
            name: view.chat.name.clone().unwrap_or_default(),
            others: view
                .others
                .iter()
                .map(|a| AccountCard::new(kring, a))
                .collect(),
            posts: web.cards(Some(&v.actor), &views).await?,
            older: older_link(&format!("/chats/{chat}"), &keys, PAGE),
            empty: "No messages yet. Say hello.",
            request: view.place() == Some(kring_core::InboxPlace::Requests),
            muted: view.muted(),
            manages: view.chat.may_manage(v.actor.id()),
            error,
            text,
            acct,
        },
    )
}

pub async fn chat(
    State(web): State<Web>,
    v: Viewer,
    uri: OriginalUri,
    Path(raw): Path<String>,
    Query(q): Query<PageQuery>,
) -> WebResult {
    chat_page(
        &web,
        &v,
        id(&raw)?,
        &q,
        path_of(&uri),
        None,
        String::new(),
        String::new(),
    )
    .await
}

/// The forms of a chat's page that post to its own address: say something, rename, add.
#[derive(Deserialize)]
pub struct ChatForm {
    #[serde(default)]
    op: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    acct: String,
}

pub async fn change(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<ChatForm>,
) -> WebResult {
    let chat = id(&raw)?;
    let kring = &web.kring;
    let actor = &p.viewer.actor;
    let result = match p.form.op.as_str() {
        "say" => kring
            .post_to_chat(
                actor,
                chat,
                PostRequest {
                    text: p.form.text.clone(),
                    ..PostRequest::default()
                },
            )
            .await
            .map(|_| ()),
        "rename" => kring
            .update_chat(actor, chat, Some(Some(p.form.name.clone())), None)
            .await
            .map(|_| ()),
        "add" => match named_account(&web, actor, &p.form.acct).await {
            Ok(a) => kring
                .add_chat_participants(actor, chat, &[a])
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        },
        _ => return Err(WebError::not_found()),
    };
    match result {
        Ok(()) => see(&format!("/chats/{chat}")),
        Err(e) => {
            let error = Some(form_refusal(e)?);
            chat_page(
                &web,
                &p.viewer,
                chat,
                &PageQuery::default(),
                format!("/chats/{chat}"),
                error,
                p.form.text.clone(),
                p.form.acct.clone(),
            )
            .await
        }
    }
}

/// The composer: a message, with a picture, video or sound file and its description if one
/// was chosen (a multipart form, so it works without the script). The file is uploaded as
/// through the API's media upload, then posted with the message; a refusal of either shows
/// on the chat's page with the text kept.
pub async fn say(State(web): State<Web>, Path(raw): Path<String>, mut p: PostedFile) -> WebResult {
    let chat = id(&raw)?;
    let kring = &web.kring;
    let text = p.field("text").to_string();
    let description = p.field("description").trim().to_string();
    let file = p.take_file();
    let PostedFile { viewer, slot, .. } = p;
    let actor = &viewer.actor;
    let result = async {
        // Only a participant uploads here: an outsider is told the chat does not exist before
        // anything is stored.
        kring.chat_view(actor, chat).await?;
        let mut media_ids = Vec::new();
        if let Some(bytes) = file {
            let slot = match slot {
                Some(s) => s,
                None => kring.upload_slot(Some(bytes.len() as u64)).await?,
            };
            let m = kring
                .upload_media(
                    actor,
                    &slot,
                    Upload {
                        bytes,
                        description: (!description.is_empty()).then(|| description.clone()),
                        focus: None,
                    },
                )
                .await?;
            media_ids.push(m.id);
        }
        kring
            .post_to_chat(
                actor,
                chat,
                PostRequest {
                    text: text.clone(),
                    media_ids,
                    ..PostRequest::default()
                },
            )
            .await
    }
    .await;
    match result {
        Ok(_) => see(&format!("/chats/{chat}")),
        Err(e) => {
            let error = Some(form_refusal(e)?);
            chat_page(
                &web,
                &viewer,
                chat,
                &PageQuery::default(),
                format!("/chats/{chat}"),
                error,
                text,
                String::new(),
            )
            .await
        }
    }
}

/// The buttons of a chat's page: leave, mute, unmute, accept, decline, delete from the inbox.
pub async fn action(
    State(web): State<Web>,
    Path((raw, action)): Path<(String, String)>,
    p: Posted<super::NoFields>,
) -> WebResult {
    let chat = id(&raw)?;
    let kring = &web.kring;
    let actor = &p.viewer.actor;
    match action.as_str() {
        "leave" => kring.leave_chat(actor, chat).await?,
        "decline" => kring.decline_chat_request(actor, chat).await?,
        "hide" => kring.hide_chat(actor, chat).await?,
        "mute" => {
            kring.mute_chat(actor, chat, true).await?;
            return see(&format!("/chats/{chat}"));
        }
        "unmute" => {
            kring.mute_chat(actor, chat, false).await?;
            return see(&format!("/chats/{chat}"));
        }
        "accept" => {
            kring.accept_chat_request(actor, chat).await?;
            return see(&format!("/chats/{chat}"));
        }
        _ => return Err(WebError::not_found()),
    }
    see("/chats")
}

/// A profile's "Message": the chat of just the viewer and that person, started if need be.
pub async fn with(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<super::NoFields>,
) -> WebResult {
    let chat = web.kring.open_chat_with(&p.viewer.actor, id(&raw)?).await?;
    see(&format!("/chats/{}", chat.chat.id))
}

/// Remove someone from a chat (its managers).
pub async fn remove(
    State(web): State<Web>,
    Path((raw, account)): Path<(String, String)>,
    p: Posted<super::NoFields>,
) -> WebResult {
    let chat = id(&raw)?;
    web.kring
        .remove_chat_participant(&p.viewer.actor, chat, id(&account)?)
        .await?;
    see(&format!("/chats/{chat}"))
}
