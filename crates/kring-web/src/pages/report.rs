//! Reporting an account (and one of its posts) to this server's moderators.
use askama::Template;
use axum::extract::{Path, Query, State};
use kring_core::Error;
use kring_core::model::ReportCategory;
use kring_service::reports::{MAX_COMMENT, ReportRequest};
use serde::Deserialize;

use super::{SelectOption, checked, form_status, id, opt_id, render_status, see};
use crate::Web;
use crate::error::{WebResult, message};
use crate::session::{Posted, Viewer};
use crate::view::{Chrome, PostCard, account_path, display_name};

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    c: Chrome,
    account_id: String,
    name: String,
    handle: String,
    path: String,
    /// The account lives on another server (the report may be forwarded there).
    remote: bool,
    post: Option<PostCard>,
    categories: Vec<SelectOption>,
    comment: String,
    max: usize,
    sent: bool,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ReportQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    sent: Option<String>,
}

use crate::view::category_label;

#[allow(clippy::too_many_arguments)]
async fn page(
    web: &Web,
    v: &Viewer,
    account: kring_service::Id,
    status: Option<kring_service::Id>,
    category: ReportCategory,
    comment: String,
    sent: bool,
    error: Option<String>,
) -> WebResult {
    let kring = &web.kring;
    let a = kring.account(account).await?;
    let post = match status {
        Some(sid) => {
            let s = kring.status(Some(&v.actor), sid).await?;
            if s.account_id != a.id {
                return Err(Error::NotFound.into());
            }
            let view = kring.status_view(Some(&v.actor), s).await?;
            Some(PostCard::new(kring, None, &view))
        }
        None => None,
    };
    let path = format!("/accounts/{account}/report");
    let c = web
        .chrome(Some(v), format!("Report {}", display_name(&a)), "", path)
        .await?;
    render_status(
        form_status(&error),
        &ReportPage {
            c,
            account_id: a.id.to_string(),
            name: display_name(&a),
            handle: a.acct(),
            path: account_path(&a),
            remote: !a.is_local(),
            post,
            categories: ReportCategory::ALL
                .into_iter()
                .map(|k| SelectOption {
                    value: k.as_str(),
                    label: category_label(k),
                    selected: k == category,
                })
                .collect(),
            comment,
            max: MAX_COMMENT,
            sent,
            error,
        },
    )
}

pub async fn report_page(
    State(web): State<Web>,
    v: Viewer,
    Path(raw): Path<String>,
    Query(q): Query<ReportQuery>,
) -> WebResult {
    let status = opt_id(q.status.as_deref())?;
    let sent = q.sent.is_some();
    page(
        &web,
        &v,
        id(&raw)?,
        status,
        ReportCategory::Other,
        String::new(),
        sent,
        None,
    )
    .await
}

#[derive(Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    category: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    forward: Option<String>,
}

pub async fn file_report(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<ReportForm>,
) -> WebResult {
    let account = id(&raw)?;
    let status = opt_id(p.form.status.as_deref())?;
    let category = ReportCategory::parse(&p.form.category).unwrap_or(ReportCategory::Other);
    let req = ReportRequest {
        account_id: account,
        status_ids: status.into_iter().collect(),
        comment: p.form.comment.clone(),
        category: Some(category),
        forward: checked(&p.form.forward),
    };
    match web.kring.report(&p.viewer.actor, req).await {
        Ok(_) => see(&format!("/accounts/{account}/report?sent=1")),
        Err(e @ Error::Validation(_)) => {
            page(
                &web,
                &p.viewer,
                account,
                status,
                category,
                p.form.comment,
                false,
                Some(message(&e)),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
