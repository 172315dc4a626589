//! Editing one's own post, and the edit history every reader of a post may see.
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use kring_core::Error;
use kring_core::time::rfc3339;
use kring_service::statuses::EditRequest;
use serde::Deserialize;

use super::{form_status, id, render, render_status, see};
use crate::Web;
use crate::error::{WebResult, message};
use crate::session::{MaybeViewer, Posted, Viewer};
use crate::view::{Chrome, Person, status_path, time_label};

#[derive(Template)]
#[template(path = "edit.html")]
struct EditPage {
    c: Chrome,
    id: String,
    text: String,
    spoiler: String,
    back: String,
    max: usize,
    error: Option<String>,
}

async fn edit_form(
    web: &Web,
    v: &Viewer,
    sid: kring_service::Id,
    text: String,
    spoiler: String,
    error: Option<String>,
) -> WebResult {
    let path = format!("/statuses/{sid}/edit");
    let c = web.chrome(Some(v), "Edit post", "", path).await?;
    render_status(
        form_status(&error),
        &EditPage {
            c,
            id: sid.to_string(),
            text,
            spoiler,
            back: status_path(&v.actor.account.acct(), sid),
            max: web.kring.config.max_status_chars,
            error,
        },
    )
}

/// The edit form, with the post's text as its author wrote it.
pub async fn edit_page(State(web): State<Web>, v: Viewer, Path(raw): Path<String>) -> WebResult {
    let s = web.kring.source(&v.actor, id(&raw)?).await?;
    if s.reblog_of_id.is_some() {
        return Err(Error::NotFound.into());
    }
    edit_form(&web, &v, s.id, s.text, s.spoiler_text, None).await
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    spoiler_text: String,
}

pub async fn save_edit(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<EditForm>,
) -> WebResult {
    let sid = id(&raw)?;
    let req = EditRequest {
        text: p.form.text.clone(),
        spoiler_text: Some(p.form.spoiler_text.clone()),
        sensitive: None,
        language: None,
        // The web's edit form keeps a post's attachments.
        media_ids: None,
    };
    match web.kring.edit(&p.viewer.actor, sid, req).await {
        Ok(s) => see(&status_path(&p.viewer.actor.account.acct(), s.id)),
        Err(e @ Error::Validation(_)) => {
            let EditForm { text, spoiler_text } = p.form;
            edit_form(&web, &p.viewer, sid, text, spoiler_text, Some(message(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

/// One version of a post.
pub struct Version {
    pub label: String,
    pub created_iso: String,
    pub created: String,
    pub content: String,
    pub spoiler: String,
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    c: Chrome,
    author: Person,
    path: String,
    versions: Vec<Version>,
}

/// Every version of a post, newest first; shown to whoever may see the post.
pub async fn history(
    State(web): State<Web>,
    v: MaybeViewer,
    Path((acct, raw)): Path<(String, String)>,
) -> WebResult {
    let kring = &web.kring;
    let (s, author, edits) = kring.history(v.actor(), id(&raw)?).await?;
    let path = status_path(&author.acct(), s.id);
    if acct.trim_start_matches('@') != author.acct() {
        return Ok(Redirect::to(&format!("{path}/history")).into_response());
    }
    let n = edits.len();
    let versions = edits
        .iter()
        .enumerate()
        .rev()
        .map(|(i, e)| Version {
            label: match (i, i + 1 == n) {
                (0, true) => "Current version".into(),
                (0, false) => "Original".into(),
                (_, true) => format!("Current version (edit {i})"),
                _ => format!("Edit {i}"),
            },
            created_iso: rfc3339(e.created_at),
            created: time_label(e.created_at),
            content: e.content.clone(),
            spoiler: e.spoiler_text.clone(),
        })
        .collect();
    let author = Person::new(kring, &author);
    let c = web
        .chrome(
            v.0.as_ref(),
            format!("Edit history of a post by {}", author.name),
            "",
            format!("{path}/history"),
        )
        .await?;
    render(&HistoryPage {
        c,
        author,
        path,
        versions,
    })
}
