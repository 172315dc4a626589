//! A group's moderation page: the reports about its posts, its newest posts each with a form
//! to remove it from the group (with a reason), the posts removed, and — for its admins — the
//! moderation log. Everything is the service's (`kring_service::groups` moderation); this page
//! only shows it and posts the forms.
use askama::Template;
use axum::extract::{OriginalUri, Path, State};
use kring_core::model::{Account, Page, Status};
use kring_core::{GroupAction, GroupRole};
use kring_service::groups::GroupView;
use kring_service::{Actor, Id};
use serde::Deserialize;

use super::groups::{GroupHead, group_path};
use super::{form_refusal, form_status, id, path_of, render_status, see};
use crate::Web;
use crate::error::{WebError, WebResult};
use crate::session::{Posted, Viewer};
use crate::view::{Chrome, display_name, handle, status_path, time_label};

/// Newest posts listed for removal, and log entries shown.
const RECENT: usize = 20;
const LOG: usize = 50;

/// A post as the moderation page lists it: who, when, a plain excerpt, a link.
pub struct PostLine {
    pub id: String,
    pub who: String,
    pub when: String,
    pub excerpt: String,
    pub link: String,
}

pub struct ReportLine {
    pub id: String,
    pub by: String,
    pub about: String,
    pub comment: String,
    pub when: String,
    pub posts: Vec<PostLine>,
}

pub struct RemovedLine {
    /// None once the post itself is deleted.
    pub post: Option<PostLine>,
    pub by: String,
    pub reason: String,
    pub when: String,
}

pub struct LogLine {
    pub when: String,
    pub who: String,
    pub what: String,
    pub whom: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "group_review.html")]
struct ReviewPage {
    c: Chrome,
    g: GroupHead,
    error: Option<String>,
    reports: Vec<ReportLine>,
    recent: Vec<PostLine>,
    removed: Vec<RemovedLine>,
    /// The log, for admins and the owner only.
    log: Option<Vec<LogLine>>,
}

fn excerpt(s: &Status) -> String {
    let text = kring_core::text::html_to_text(&s.content);
    let text = text.trim();
    match text.char_indices().nth(140) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn post_line(web: &Web, s: &Status, author: Option<&Account>) -> PostLine {
    let (who, acct) = match author {
        Some(a) => (
            format!("{} (@{})", display_name(a), handle(&web.kring, a)),
            a.acct(),
        ),
        None => ("someone".to_string(), String::new()),
    };
    PostLine {
        id: s.id.to_string(),
        who,
        when: time_label(s.created_at),
        excerpt: excerpt(s),
        link: if acct.is_empty() {
            String::new()
        } else {
            status_path(&acct, s.id)
        },
    }
}

fn action_words(a: GroupAction) -> &'static str {
    match a {
        GroupAction::ApproveRequest => "approved the request of",
        GroupAction::RejectRequest => "rejected the request of",
        GroupAction::Invite => "invited",
        GroupAction::Remove => "removed",
        GroupAction::Ban => "banned",
        GroupAction::Unban => "unbanned",
        GroupAction::Promote => "gave a role to",
        GroupAction::Demote => "took a role from",
        GroupAction::TransferOwnership => "handed the group to",
        GroupAction::UpdateGroup => "edited the group",
        GroupAction::RemovePost => "removed a post by",
    }
}

async fn review_page(
    web: &Web,
    v: &Viewer,
    gid: Id,
    path: String,
    error: Option<String>,
) -> WebResult {
    let kring = &web.kring;
    let actor: &Actor = &v.actor;
    let view: GroupView = kring.group(Some(actor), gid).await?;
    let role = view.role();
    if !role.is_some_and(GroupRole::moderates) {
        return Err(WebError::not_found());
    }
    let name_of = |a: &Account| format!("{} (@{})", display_name(a), handle(kring, a));
    let mut reports = Vec::new();
    for r in kring.group_reports(actor, gid, false).await? {
        reports.push(ReportLine {
            id: r.report.id.to_string(),
            by: name_of(&r.reporter),
            about: name_of(&r.target),
            comment: r.report.comment.clone(),
            when: time_label(r.report.created_at),
            posts: r
                .statuses
                .iter()
                .map(|s| post_line(web, s, Some(&r.target)))
                .collect(),
        });
    }
    let timeline = kring
        .group_timeline(Some(actor), gid, &Page::newest(RECENT))
        .await?;
    let mut recent = Vec::new();
    for s in &timeline {
        let author = kring.account(s.account_id).await.ok();
        recent.push(post_line(web, s, author.as_ref()));
    }
    let mut removed = Vec::new();
    for r in kring.removed_group_posts(actor, gid, RECENT as i64).await? {
        let by = match r.removed.removed_by {
            Some(a) => kring.account(a).await.map(|a| name_of(&a)).ok(),
            None => None,
        };
        let post = match &r.status {
            Some(s) => {
                let author = kring.account(s.account_id).await.ok();
                Some(post_line(web, s, author.as_ref()))
            }
            None => None,
        };
        removed.push(RemovedLine {
            post,
            by: by.unwrap_or_else(|| "a moderator".into()),
            reason: r.removed.reason.clone(),
            when: time_label(r.removed.removed_at),
        });
    }
    let log = if role.is_some_and(GroupRole::administers) {
        let (entries, accounts) = kring
            .group_moderation_log(actor, gid, &Page::newest(LOG))
            .await?;
        let find = |id: Option<Id>| {
            id.and_then(|id| accounts.iter().find(|a| a.id == id))
                .map(name_of)
                .unwrap_or_default()
        };
        Some(
            entries
                .iter()
                .map(|e| LogLine {
                    when: time_label(e.created_at),
                    who: find(e.actor_id),
                    what: action_words(e.action).to_string(),
                    whom: find(e.target_account_id),
                    reason: e.reason.clone(),
                })
                .collect(),
        )
    } else {
        None
    };
    let c = web
        .chrome(
            Some(v),
            format!("Moderation of {}", display_name(&view.account)),
            "groups",
            path,
        )
        .await?;
    render_status(
        form_status(&error),
        &ReviewPage {
            c,
            g: GroupHead::new(web, &view, "/moderation"),
            error,
            reports,
            recent,
            removed,
            log,
        },
    )
}

pub async fn review(
    State(web): State<Web>,
    v: Viewer,
    uri: OriginalUri,
    Path(raw): Path<String>,
) -> WebResult {
    review_page(&web, &v, id(&raw)?, path_of(&uri), None).await
}

#[derive(Deserialize, Default)]
pub struct RemoveForm {
    #[serde(default)]
    reason: String,
}

/// Remove a post from the group (moderators).
pub async fn remove_post(
    State(web): State<Web>,
    Path((raw, status)): Path<(String, String)>,
    p: Posted<RemoveForm>,
) -> WebResult {
    let gid = id(&raw)?;
    let sid = id(&status)?;
    let path = format!("{}/moderation", group_path(gid));
    match web
        .kring
        .remove_group_post(&p.viewer.actor, gid, sid, &p.form.reason)
        .await
    {
        Ok(()) => see(&path),
        Err(e) => {
            let error = form_refusal(e)?;
            review_page(&web, &p.viewer, gid, path, Some(error)).await
        }
    }
}

/// A group moderator is done with a report.
pub async fn resolve_report(
    State(web): State<Web>,
    Path((raw, report)): Path<(String, String)>,
    p: Posted<super::NoFields>,
) -> WebResult {
    let gid = id(&raw)?;
    let path = format!("{}/moderation", group_path(gid));
    match web
        .kring
        .resolve_group_report(&p.viewer.actor, gid, id(&report)?)
        .await
    {
        Ok(()) => see(&path),
        Err(e) => {
            let error = form_refusal(e)?;
            review_page(&web, &p.viewer, gid, path, Some(error)).await
        }
    }
}
