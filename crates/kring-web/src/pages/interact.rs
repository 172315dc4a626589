// SPDX-License-Identifier: AGPL-3.0-or-later
//! Interacting from another server: a visitor enters their handle on a profile or post page
//! and continues on their own server (its `/authorize_interaction`, found by WebFinger), and
//! this server's own people arriving from elsewhere land on the account or post, with Follow
//! or the reply form. No JavaScript needed.
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use kring_service::federation::Pasted;
use serde::Deserialize;

use super::render;
use crate::Web;
use crate::client::Client;
use crate::error::{WebResult, message};
use crate::session::{AnonPosted, MaybeViewer, Viewer};
use crate::view::{Chrome, account_path};

#[derive(Deserialize)]
pub struct InteractForm {
    #[serde(default)]
    uri: String,
    #[serde(default)]
    handle: String,
}

#[derive(Template)]
#[template(path = "interact.html")]
struct Interact {
    c: Chrome,
    /// Where to continue; None with `error` when the handle led nowhere.
    target: Option<String>,
    error: Option<String>,
    uri: String,
    handle: String,
}

/// The "from your server" form: a page with the way on, to the visitor's server. (A page with
/// a link rather than a redirect: `form-action 'self'` would stop a redirect to another origin.)
pub async fn interact(
    State(web): State<Web>,
    Client(client): Client,
    v: MaybeViewer,
    AnonPosted(f): AnonPosted<InteractForm>,
) -> WebResult {
    let kring = &web.kring;
    // A look-up on another server, limited as search's.
    kring.limits.lookup(client, v.actor().map(|a| a.id()))?;
    let (target, error) = match kring.remote_interaction_url(&f.handle, &f.uri).await {
        Ok(t) => (Some(t), None),
        Err(e) => (None, Some(message(&e))),
    };
    let c = web
        .chrome(v.0.as_ref(), "Continue on your server", "", "/interact")
        .await?;
    render(&Interact {
        c,
        target,
        error,
        uri: f.uri,
        handle: f.handle,
    })
}

#[derive(Deserialize)]
pub struct AuthorizeQuery {
    #[serde(default)]
    uri: String,
}

/// `/authorize_interaction?uri=…` (the template this server's WebFinger publishes): the
/// account or post behind `uri`, fetched when unknown, where Follow and the reply form are.
pub async fn authorize_interaction(
    State(web): State<Web>,
    Client(client): Client,
    v: Viewer,
    Query(q): Query<AuthorizeQuery>,
) -> WebResult {
    let kring = &web.kring;
    kring.limits.lookup(client, Some(v.actor.id()))?;
    match kring.authorize_interaction(&v.actor, q.uri.trim()).await? {
        Pasted::Account(a) => Ok(Redirect::to(&account_path(&a)).into_response()),
        Pasted::Status(s) => Ok(Redirect::to(&format!("/statuses/{}", s.id)).into_response()),
    }
}
