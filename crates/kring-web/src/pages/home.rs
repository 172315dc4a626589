//! The home feed with its compose box, posting, the per-post actions, favourites and bookmarks.
use askama::Template;
use axum::Json;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kring_core::Error;
use kring_core::Visibility;
use kring_service::Id;
use kring_service::media::upload::Upload;
use kring_service::statuses::PostRequest;
use serde::Deserialize;
use serde_json::json;

use super::path_of;
use super::policy::{
    PolicyChoices, PolicyForm, SENT_FOR_APPROVAL, boost_refused, composer_default,
};
use super::public::{Compose, Timeline};
use super::{Fields, checked, id, opt_id, render, render_status, see};
use crate::Web;
use crate::error::{WebError, WebResult, message};
use crate::session::{Posted, PostedFile, Viewer};
use crate::view::{Chrome, PageQuery, PostCard, older_link, safe_back};

/// Posts on one page of the home feed (as the benchmark's "40-post home feed").
pub const HOME_PAGE: usize = 40;
const PAGE: usize = 20;

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    c: Chrome,
    compose: Compose,
    posts: Vec<PostCard>,
    older: Option<String>,
    /// The first page shows a notice when new posts arrive (the page script's live updates).
    live: bool,
    empty: &'static str,
}

pub async fn home(
    State(web): State<Web>,
    v: Viewer,
    uri: OriginalUri,
    Query(q): Query<PageQuery>,
) -> WebResult {
    let kring = &web.kring;
    let actor = &v.actor;
    let list = kring.home(actor, &q.page(HOME_PAGE)).await?;
    let keys: Vec<Id> = list.iter().map(|s| s.id).collect();
    let views = kring.status_views(Some(actor), list, Some("home")).await?;
    let c = web.chrome(Some(&v), "Home", "home", path_of(&uri)).await?;
    render(&Home {
        compose: Compose::new(&web, actor, actor.user.default_visibility, "/home").await?,
        posts: web.cards(Some(actor), &views).await?,
        older: older_link("/home", &keys, HOME_PAGE),
        live: q.max_id.is_none(),
        empty: "Your feed is empty. Follow people to see their posts here, or write the first post yourself.",
        c,
    })
}

/// The post form. Its circles are one checkbox each, all named `circle_ids`, so it is read
/// from the form's fields in order.
pub struct PostForm {
    text: String,
    spoiler_text: String,
    visibility: String,
    circle_ids: Vec<Id>,
    local_only: bool,
    in_reply_to_id: Option<Id>,
    quoted_status_id: Option<Id>,
    /// A post to a group (from its page's composer).
    group_id: Option<Id>,
    idempotency: Option<String>,
    back: Option<String>,
    policy: PolicyForm,
}

impl PostForm {
    fn from_fields(f: &Fields) -> Result<PostForm, WebError> {
        Ok(PostForm {
            text: f.text("text"),
            spoiler_text: f.text("spoiler_text"),
            visibility: f.text("visibility"),
            circle_ids: f.ids("circle_ids")?,
            local_only: f.on("local_only"),
            in_reply_to_id: opt_id(f.get("in_reply_to_id"))?,
            quoted_status_id: opt_id(f.get("quoted_status_id"))?,
            group_id: opt_id(f.get("group_id"))?,
            idempotency: f.get("idempotency").map(str::to_string),
            back: f.get("back").map(str::to_string),
            policy: PolicyForm::from_fields(f),
        })
    }
}

#[derive(Template)]
#[template(path = "compose.html")]
struct ComposeAgain {
    c: Chrome,
    compose: Compose,
}

/// The post form on a page of its own. A refused post is shown again at this address, so it
/// is a page too (reloaded or bookmarked, it is an empty form rather than a missing page).
pub async fn compose_page(
    State(web): State<Web>,
    viewer: Viewer,
    Query(q): Query<ComposeQuery>,
) -> WebResult {
    let actor = &viewer.actor;
    let mut compose = Compose::new(&web, actor, actor.user.default_visibility, "/home").await?;
    // "Quote" on a post: the form quotes it (only a post the writer may read).
    if let Some(quoted) = q.quote.as_deref().and_then(|s| s.parse::<Id>().ok())
        && let Ok(s) = web.kring.status(Some(actor), quoted).await
    {
        let view = web.kring.status_view(Some(actor), s).await?;
        compose.quoting(&view);
    }
    let c = web
        .chrome(Some(&viewer), "New post", "", "/statuses")
        .await?;
    render(&ComposeAgain { c, compose })
}

#[derive(Deserialize, Default)]
pub struct ComposeQuery {
    #[serde(default)]
    quote: Option<String>,
}

/// A post from the composer (a multipart form: its files go with it). Each file chosen is
/// uploaded as through the API's media upload, with the description beside it, then attached
/// to the post; a file without a description is refused unless "post without a description"
/// is ticked. A refusal shows the form again with what was written (the files must be chosen
/// again).
pub async fn create(State(web): State<Web>, p: PostedFile) -> WebResult {
    let form = PostForm::from_fields(&p.form::<Fields>()?)?;
    let descriptions: Vec<String> = p
        .all("description")
        .into_iter()
        .map(|d| d.trim().to_string())
        .collect();
    let undescribed_ok = !p.field("no_description").is_empty();
    let PostedFile {
        viewer,
        files,
        slot,
        ..
    } = p;
    let chosen: Vec<(Vec<u8>, String)> = files
        .into_iter()
        .enumerate()
        .filter(|(_, f)| !f.is_empty())
        .map(|(i, f)| (f, descriptions.get(i).cloned().unwrap_or_default()))
        .collect();
    let visibility = Visibility::parse(&form.visibility);
    let req = PostRequest {
        text: form.text.clone(),
        in_reply_to_id: form.in_reply_to_id,
        sensitive: None,
        spoiler_text: form.spoiler_text.clone(),
        visibility,
        circle_ids: form.circle_ids.clone(),
        group_id: form.group_id,
        local_only: form.local_only,
        language: None,
        application_id: None,
        idempotency_key: form.idempotency.clone().filter(|k| !k.is_empty()),
        interaction_policy: None,
        quoted_status_id: form.quoted_status_id,
        chat_id: None,
        media_ids: Vec::new(),
    };
    let req = match form.policy.input() {
        Ok(policy) => Ok(PostRequest {
            interaction_policy: policy,
            ..req
        }),
        Err(e) => Err(e),
    };
    // Circles ticked for another audience: which one was meant is unclear, and guessing could
    // make the post wider than intended (as the API refuses `circle_ids` without "circle").
    let result = match req {
        _ if !form.circle_ids.is_empty() && visibility != Some(Visibility::Circle) => {
            Err(Error::validation(
                "You ticked circles but chose another audience: choose \"Circles\" to post to them, or untick them.",
            ))
        }
        Ok(_) if chosen.len() > web.kring.config.media.max_attachments => {
            Err(Error::validation(format!(
                "A post can have at most {} files.",
                web.kring.config.media.max_attachments
            )))
        }
        Ok(_) if !undescribed_ok && chosen.iter().any(|(_, d)| d.is_empty()) => {
            Err(Error::validation(
                "Describe each file for people who cannot see or hear it, or tick \"Post without a description\".",
            ))
        }
        Ok(req) => {
            async {
                let mut media_ids = Vec::new();
                // The form's room holds all its files (a form without one has none).
                let slot = match slot {
                    Some(s) => Some(s),
                    None if !chosen.is_empty() => {
                        let bytes = chosen.iter().map(|(b, _)| b.len() as u64).sum();
                        Some(web.kring.upload_slot(Some(bytes)).await?)
                    }
                    None => None,
                };
                for ((bytes, description), place) in chosen.into_iter().zip(slot.iter().cycle()) {
                    let upload = Upload {
                        bytes,
                        description: (!description.is_empty()).then_some(description),
                        focus: None,
                    };
                    media_ids.push(
                        web.kring
                            .upload_media(&viewer.actor, place, upload)
                            .await?
                            .id,
                    );
                }
                web.kring
                    .post(&viewer.actor, PostRequest { media_ids, ..req })
                    .await
            }
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => see(&safe_back(form.back.as_deref(), "/home")),
        Err(e @ (Error::Validation(_) | Error::BadRequest(_) | Error::Forbidden(_))) => {
            // Show the form again with what was written and why it didn't work.
            let actor = &viewer.actor;
            let back = safe_back(form.back.as_deref(), "/home");
            let mut compose = Compose::new(
                &web,
                actor,
                visibility.unwrap_or(actor.user.default_visibility),
                &back,
            )
            .await?;
            compose.text = form.text;
            compose.spoiler = form.spoiler_text;
            compose.tick(&form.circle_ids);
            compose.local_only = form.local_only;
            if let Some(g) = form.group_id
                && let Ok(view) = web.kring.group(Some(actor), g).await
            {
                compose.for_group(&view);
            }
            let defaults = web.kring.policy_defaults(actor).await?;
            compose.policy = PolicyChoices::from_form(
                compose.policy.prefix,
                compose.policy.legend,
                &form.policy,
                &composer_default(&defaults, compose.visibility),
            );
            if let Some(parent) = form.in_reply_to_id {
                match web.kring.status(Some(actor), parent).await {
                    Ok(parent) => compose.reply_to(&parent),
                    Err(_) => compose.in_reply_to = Some(parent.to_string()),
                }
            }
            if let Some(quoted) = form.quoted_status_id
                && let Ok(s) = web.kring.status(Some(actor), quoted).await
            {
                let view = web.kring.status_view(Some(actor), s).await?;
                compose.quoting(&view);
            }
            compose.error = Some(message(&e));
            let c = web
                .chrome(Some(&viewer), "New post", "", "/statuses")
                .await?;
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ComposeAgain { c, compose },
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    on: Option<String>,
    /// Delete: "0" when no one was asked yet (no script), "1" once confirmed.
    #[serde(default)]
    confirm: Option<String>,
    #[serde(default)]
    back: Option<String>,
}

/// Favourite, boost, bookmark (each on or off) and delete: one small form per button.
#[derive(Template)]
#[template(path = "confirm_delete.html")]
struct ConfirmDelete {
    c: Chrome,
    id: String,
    content: String,
    spoiler: String,
    back: String,
}

#[derive(Deserialize)]
pub struct BackQuery {
    #[serde(default)]
    back: Option<String>,
}

/// An action's address opened as a page. For Delete it is the question "delete this post?"
/// (where a Delete without the page's script leads, so nothing is deleted on one click);
/// otherwise (reloaded after a refusal, or typed) the post itself, not a blank "method not
/// allowed".
pub async fn status_action_address(
    State(web): State<Web>,
    v: Viewer,
    Path((raw, action)): Path<(String, String)>,
    Query(q): Query<BackQuery>,
) -> WebResult {
    let sid = id(&raw)?;
    if action != "delete" {
        return see(&format!("/statuses/{sid}"));
    }
    let status = web.kring.source(&v.actor, sid).await?;
    let back = safe_back(q.back.as_deref(), "/home");
    let c = web
        .chrome(
            Some(&v),
            "Delete this post?",
            "",
            format!("/statuses/{sid}/delete"),
        )
        .await?;
    render(&ConfirmDelete {
        c,
        id: sid.to_string(),
        content: status.content,
        spoiler: status.spoiler_text,
        back,
    })
}

pub async fn status_action(
    State(web): State<Web>,
    Path((raw, action)): Path<(String, String)>,
    p: Posted<ActionForm>,
) -> WebResult {
    let kring = &web.kring;
    let actor = &p.viewer.actor;
    let sid = id(&raw)?;
    let on = checked(&p.form.on);
    let back = safe_back(p.form.back.as_deref(), "/home");
    // The in-place answer says when a boost or favourite now waits for the author's approval
    // (without the script, the button said so before it was pressed).
    let awaits = if p.json && on && matches!(action.as_str(), "favourite" | "reblog") {
        awaits_approval(&web, actor, sid, &action).await?
    } else {
        false
    };
    let (active, count) = match action.as_str() {
        "favourite" => {
            let s = if on {
                kring.favourite(actor, sid).await?
            } else {
                kring.unfavourite(actor, sid).await?
            };
            (on, Some(s.favourites_count))
        }
        "reblog" => {
            if on {
                kring
                    .reblog(actor, sid, None)
                    .await
                    .map_err(boost_refused)?;
            } else {
                kring.unreblog(actor, sid).await?;
            }
            // Only the in-place answer shows the new count; a redirect reloads the page.
            let count = if p.json {
                Some(kring.status(Some(actor), sid).await?.reblogs_count)
            } else {
                None
            };
            (on, count)
        }
        "bookmark" => {
            kring.bookmark(actor, sid, on).await?;
            (on, None)
        }
        "delete" => {
            // Without the page's script nobody was asked yet: ask on a page of its own.
            if p.form.confirm.as_deref() == Some("0") {
                return see(&format!(
                    "/statuses/{sid}/delete?back={}",
                    crate::view::url_encode(&back)
                ));
            }
            kring.delete(actor, sid).await?;
            // The deleted post's own page is gone: go home instead.
            let back = if back.contains(&sid.to_string()) {
                "/home".to_string()
            } else {
                back
            };
            return see(&back);
        }
        _ => return Err(WebError::not_found()),
    };
    if p.json {
        if awaits {
            return Ok(
                Json(json!({ "active": false, "message": SENT_FOR_APPROVAL })).into_response(),
            );
        }
        return Ok(Json(json!({ "active": active, "count": count })).into_response());
    }
    see(&back)
}

/// Whether the viewer's favourite or boost of `sid` will wait for its author's approval.
async fn awaits_approval(
    web: &Web,
    actor: &kring_service::Actor,
    sid: Id,
    action: &str,
) -> Result<bool, WebError> {
    let kring = &web.kring;
    let view = kring
        .status_view(Some(actor), kring.status(Some(actor), sid).await?)
        .await?;
    let shown = view.reblog.as_deref().unwrap_or(&view).status.id;
    let p = kring
        .post_permissions(actor, std::slice::from_ref(&view))
        .await?;
    let offer = p.get(&shown).map(|p| {
        if action == "reblog" {
            p.reblog
        } else {
            p.favourite
        }
    });
    Ok(offer == Some(kring_service::interactions::Offer::AfterApproval))
}

async fn marked(web: Web, v: Viewer, uri: OriginalUri, q: PageQuery, bookmarks: bool) -> WebResult {
    let kring = &web.kring;
    let list = kring.marked(&v.actor, bookmarks, &q.page(PAGE)).await?;
    let keys: Vec<Id> = list.iter().map(|(k, _)| *k).collect();
    let views = kring
        .status_views(
            Some(&v.actor),
            list.into_iter().map(|(_, s)| s).collect(),
            None,
        )
        .await?;
    let (title, nav, base) = if bookmarks {
        ("Bookmarks", "bookmarks", "/bookmarks")
    } else {
        ("Favourites", "favourites", "/favourites")
    };
    let c = web.chrome(Some(&v), title, nav, path_of(&uri)).await?;
    render(&Timeline {
        heading: title.into(),
        intro: if bookmarks {
            "Posts you bookmarked. Only you see these.".into()
        } else {
            "Posts you favourited.".into()
        },
        tabs: Vec::new(),
        posts: web.cards(Some(&v.actor), &views).await?,
        older: older_link(base, &keys, PAGE),
        empty: if bookmarks {
            "No bookmarks yet."
        } else {
            "No favourites yet."
        },
        c,
    })
}

pub async fn favourites(
    State(web): State<Web>,
    v: Viewer,
    uri: OriginalUri,
    Query(q): Query<PageQuery>,
) -> WebResult {
    marked(web, v, uri, q, false).await
}

pub async fn bookmarks(
    State(web): State<Web>,
    v: Viewer,
    uri: OriginalUri,
    Query(q): Query<PageQuery>,
) -> WebResult {
    marked(web, v, uri, q, true).await
}
