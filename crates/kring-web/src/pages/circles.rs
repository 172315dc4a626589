//! Friends and circles: the friends page (mutual follows), one's circles (create, rename,
//! delete, members) and a profile's control to put someone in one's circles. Circles are
//! private to their owner: the service answers "not found" for anyone else's, and these pages
//! only ever show the viewer's own.
use std::collections::HashSet;

use askama::Template;
use axum::extract::{OriginalUri, Path, Query, State};
use kring_core::Error;
use kring_service::{Edge, Id};
use serde::Deserialize;

use super::path_of;
use super::{
    Change, ChangeForm, Fields, Tab, form_refusal, form_status, id, named_account, render,
    render_status, see,
};
use crate::Web;
use crate::error::{WebResult, message};
use crate::session::{Posted, Viewer};
use crate::view::{AccountCard, Chrome, PageQuery, account_path, older_link, safe_back};

/// Accounts on one page of the friends page and of a circle's members.
const PEOPLE_PAGE: usize = 40;

/// Friends and circles are one entry of the navigation, with a tab each.
fn tabs(current: &str) -> Vec<Tab> {
    [("/friends", "Friends"), ("/circles", "Circles")]
        .into_iter()
        .map(|(href, label)| Tab {
            href: href.into(),
            label,
            current: href == current,
        })
        .collect()
}

// --- friends ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "friends.html")]
struct Friends {
    c: Chrome,
    tabs: Vec<Tab>,
    accounts: Vec<AccountCard>,
    older: Option<String>,
}

/// The people one follows who follow back, newest friendship first.
pub async fn friends(
    State(web): State<Web>,
    v: Viewer,
    uri: OriginalUri,
    Query(q): Query<PageQuery>,
) -> WebResult {
    let kring = &web.kring;
    let list = kring
        .own_edges(&v.actor, Edge::Friends, &q.page(PEOPLE_PAGE))
        .await?;
    let keys: Vec<Id> = list.iter().map(|(k, _)| *k).collect();
    let c = web
        .chrome(Some(&v), "Friends", "friends", path_of(&uri))
        .await?;
    render(&Friends {
        c,
        tabs: tabs("/friends"),
        accounts: list
            .iter()
            .map(|(_, a)| AccountCard::new(kring, a))
            .collect(),
        older: older_link("/friends", &keys, PEOPLE_PAGE),
    })
}

// --- circles ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "circles.html")]
struct Circles {
    c: Chrome,
    tabs: Vec<Tab>,
    circles: Vec<(String, String)>,
    error: Option<String>,
    /// What was typed as a new circle's title when it was refused.
    title: String,
}

async fn circles_page(web: &Web, v: &Viewer, error: Option<String>, title: String) -> WebResult {
    let circles = web.kring.circles(&v.actor).await?;
    let c = web
        .chrome(Some(v), "Circles", "friends", "/circles")
        .await?;
    render_status(
        form_status(&error),
        &Circles {
            c,
            tabs: tabs("/circles"),
            circles: circles
                .into_iter()
                .map(|c| (c.id.to_string(), c.title))
                .collect(),
            error,
            title,
        },
    )
}

pub async fn circles(State(web): State<Web>, v: Viewer) -> WebResult {
    circles_page(&web, &v, None, String::new()).await
}

#[derive(Deserialize)]
pub struct TitleForm {
    #[serde(default)]
    title: String,
}

pub async fn create(State(web): State<Web>, p: Posted<TitleForm>) -> WebResult {
    match web
        .kring
        .create_circle(&p.viewer.actor, &p.form.title)
        .await
    {
        Ok(c) => see(&format!("/circles/{}", c.id)),
        Err(e @ Error::Validation(_)) => {
            circles_page(&web, &p.viewer, Some(message(&e)), p.form.title).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "circle.html")]
struct CirclePage {
    c: Chrome,
    id: String,
    title: String,
    /// The title field's value (what was typed, when a rename was refused).
    new_title: String,
    error: Option<String>,
    /// What was typed into "Add someone" when it was refused, to correct rather than retype.
    acct: String,
    members: Vec<AccountCard>,
    older: Option<String>,
    /// A later page of the members (the first page says "no one yet" when empty).
    paged: bool,
}

struct Shown {
    error: Option<String>,
    acct: String,
    new_title: Option<String>,
}

async fn circle_page(
    web: &Web,
    v: &Viewer,
    circle_id: Id,
    q: &PageQuery,
    path: String,
    shown: Shown,
) -> WebResult {
    let kring = &web.kring;
    let circle = kring.circle(&v.actor, circle_id).await?;
    let members = kring
        .circle_members(&v.actor, circle_id, &q.page(PEOPLE_PAGE))
        .await?;
    let keys: Vec<Id> = members.iter().map(|a| a.id).collect();
    let c = web
        .chrome(Some(v), circle.title.clone(), "friends", path)
        .await?;
    render_status(
        form_status(&shown.error),
        &CirclePage {
            c,
            id: circle.id.to_string(),
            new_title: shown.new_title.unwrap_or_else(|| circle.title.clone()),
            title: circle.title,
            error: shown.error,
            acct: shown.acct,
            members: members.iter().map(|a| AccountCard::new(kring, a)).collect(),
            older: older_link(&format!("/circles/{}", circle.id), &keys, PEOPLE_PAGE),
            paged: q.max_id.is_some(),
        },
    )
}

pub async fn circle(
    State(web): State<Web>,
    v: Viewer,
    uri: OriginalUri,
    Path(raw): Path<String>,
    Query(q): Query<PageQuery>,
) -> WebResult {
    let shown = Shown {
        error: None,
        acct: String::new(),
        new_title: None,
    };
    circle_page(&web, &v, id(&raw)?, &q, path_of(&uri), shown).await
}

/// Rename and "add someone" post to the circle's own address ([`ChangeForm`]).
pub async fn change(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<ChangeForm>,
) -> WebResult {
    let kring = &web.kring;
    let actor = &p.viewer.actor;
    let circle_id = id(&raw)?;
    let change = p.form.change()?;
    let result = match change {
        Change::Rename(title) => kring
            .rename_circle(actor, circle_id, title)
            .await
            .map(|_| ()),
        Change::Add(acct) => match named_account(&web, actor, acct).await {
            Ok(a) => kring.add_to_circle(actor, circle_id, &[a]).await,
            Err(e) => Err(e),
        },
    };
    let path = format!("/circles/{circle_id}");
    let error = match result {
        Ok(()) => return see(&path),
        Err(e) => form_refusal(e)?,
    };
    let shown = match change {
        Change::Rename(title) => Shown {
            error: Some(error),
            acct: String::new(),
            new_title: Some(title.to_string()),
        },
        Change::Add(acct) => Shown {
            error: Some(error),
            acct: acct.trim().to_string(),
            new_title: None,
        },
    };
    circle_page(
        &web,
        &p.viewer,
        circle_id,
        &PageQuery::default(),
        path,
        shown,
    )
    .await
}

pub async fn remove_member(
    State(web): State<Web>,
    Path((raw, account)): Path<(String, String)>,
    p: Posted<super::NoFields>,
) -> WebResult {
    let circle_id = id(&raw)?;
    web.kring
        .remove_from_circle(&p.viewer.actor, circle_id, &[id(&account)?])
        .await?;
    see(&format!("/circles/{circle_id}"))
}

#[derive(Template)]
#[template(path = "confirm_delete_circle.html")]
struct ConfirmDelete {
    c: Chrome,
    id: String,
    title: String,
}

/// "Delete this circle?" on a page of its own: where the Delete button leads without the
/// page's script (with it, the script asks), so nothing is deleted on one click.
pub async fn confirm_delete(
    State(web): State<Web>,
    v: Viewer,
    Path(raw): Path<String>,
) -> WebResult {
    let circle = web.kring.circle(&v.actor, id(&raw)?).await?;
    let c = web
        .chrome(
            Some(&v),
            "Delete this circle?",
            "friends",
            format!("/circles/{}/delete", circle.id),
        )
        .await?;
    render(&ConfirmDelete {
        c,
        id: circle.id.to_string(),
        title: circle.title,
    })
}

#[derive(Deserialize)]
pub struct DeleteForm {
    /// "0" when no one was asked yet (no script), "1" once confirmed.
    #[serde(default)]
    confirm: Option<String>,
}

pub async fn delete(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<DeleteForm>,
) -> WebResult {
    let circle_id = id(&raw)?;
    if p.form.confirm.as_deref() == Some("0") {
        return see(&format!("/circles/{circle_id}/delete"));
    }
    web.kring.delete_circle(&p.viewer.actor, circle_id).await?;
    see("/circles")
}

/// A profile's circles control: the account ends up in exactly the ticked circles among those
/// the form showed (a circle made or changed elsewhere meanwhile is left as it is).
pub async fn set_circles(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<Fields>,
) -> WebResult {
    let kring = &web.kring;
    let actor = &p.viewer.actor;
    let target = id(&raw)?;
    let shown = p.form.ids("shown")?;
    let ticked: HashSet<Id> = p.form.ids("circle_ids")?.into_iter().collect();
    let now: HashSet<Id> = kring
        .circles_with(actor, target)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    for circle in shown {
        match (ticked.contains(&circle), now.contains(&circle)) {
            (true, false) => kring.add_to_circle(actor, circle, &[target]).await?,
            (false, true) => kring.remove_from_circle(actor, circle, &[target]).await?,
            _ => {}
        }
    }
    let back = safe_back(p.form.get("back"), "");
    if !back.is_empty() {
        return see(&back);
    }
    let fallback = match kring.account(target).await {
        Ok(a) => account_path(&a),
        Err(_) => "/circles".into(),
    };
    see(&fallback)
}
