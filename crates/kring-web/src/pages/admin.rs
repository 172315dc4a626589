//! Administration: pending sign-ups, users (suspension, roles), policies for other servers,
//! the server's title, description and rules. The service checks who may do what; a section
//! the person may not use shows the service's answer instead.
use askama::Template;
use axum::extract::{Path, Query, State};
use kring_core::model::Role;
use kring_service::{DomainBlock, DomainPolicy};
use serde::Deserialize;

use super::{NoFields, SelectOption, checked, id, render, see};
use crate::Web;
use crate::error::{WebError, WebResult, message};
use crate::session::{Posted, Viewer};
use crate::view::{Chrome, account_path, status_path, time_label};

pub struct UserRow {
    pub id: String,
    pub handle: String,
    pub path: String,
    pub email: String,
    pub reason: String,
    pub created: String,
    pub approved: bool,
    pub suspended: bool,
    pub roles: Vec<SelectOption>,
}

/// An open report, as the moderators' list shows it.
pub struct ReportRow {
    pub id: String,
    pub reporter: String,
    pub reporter_path: String,
    /// Filed by a remote server (a Flag activity) rather than a person here.
    pub remote: bool,
    pub target: String,
    pub target_id: String,
    pub target_path: String,
    pub target_suspended: bool,
    pub category: &'static str,
    pub comment: String,
    pub created: String,
    /// (post path, post HTML) of the reported posts that still exist.
    pub posts: Vec<(String, String)>,
}

pub struct DomainRow {
    pub domain: String,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    c: Chrome,
    notice: Option<String>,
    reports: Vec<ReportRow>,
    pending: Vec<UserRow>,
    users: Vec<UserRow>,
    domains_error: Option<String>,
    domains: Vec<DomainRow>,
    title: String,
    description: String,
    rules: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
pub struct AdminQuery {
    #[serde(default)]
    done: Option<String>,
}

fn role_options(role: Role) -> Vec<SelectOption> {
    [Role::User, Role::Moderator, Role::Admin]
        .into_iter()
        .map(|r| SelectOption {
            value: r.as_str(),
            label: match r {
                Role::User => "User",
                Role::Moderator => "Moderator",
                Role::Admin => "Admin",
            },
            selected: r == role,
        })
        .collect()
}

fn policy_summary(p: &DomainPolicy) -> String {
    let mut parts = Vec::new();
    match p.block {
        Some(DomainBlock::Silence) => parts.push("silenced"),
        Some(DomainBlock::Suspend) => parts.push("suspended"),
        None => {}
    }
    if p.reject_media {
        parts.push("media rejected");
    }
    if p.allowed {
        parts.push("allowed");
    }
    if parts.is_empty() {
        "no restrictions".into()
    } else {
        parts.join(", ")
    }
}

#[derive(Template)]
#[template(path = "no_admin.html")]
struct NoAdminPage {
    c: Chrome,
}

pub async fn page(State(web): State<Web>, v: Viewer, Query(q): Query<AdminQuery>) -> WebResult {
    let kring = &web.kring;
    let actor = Some(&v.actor);
    // A fresh server: no one may administer it yet, so say how someone becomes the first
    // admin rather than "not allowed".
    if !v.actor.is_staff() && !kring.has_admin().await? {
        let c = web
            .chrome(Some(&v), "No one runs this server yet", "admin", "/admin")
            .await?;
        return render(&NoAdminPage { c });
    }
    // The first check tells whether this person may see the admin pages at all.
    let all = kring.admin_users(actor, false).await?;
    let row = |(a, u): &(kring_core::model::Account, kring_core::model::User)| UserRow {
        id: a.id.to_string(),
        handle: a.acct(),
        path: account_path(a),
        email: u.email.clone(),
        reason: u.reason.clone().unwrap_or_default(),
        created: time_label(u.created_at),
        approved: u.approved,
        suspended: a.suspended_at.is_some(),
        roles: role_options(u.role),
    };
    let pending: Vec<UserRow> = kring
        .admin_users(actor, true)
        .await?
        .iter()
        .map(row)
        .collect();
    let users: Vec<UserRow> = all.iter().map(row).collect();
    let (domains, domains_error) = match kring.admin_domain_policies(actor).await {
        Ok(list) => (
            list.iter()
                .map(|(d, p)| DomainRow {
                    domain: d.clone(),
                    summary: policy_summary(p),
                })
                .collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(message(&e))),
    };
    let reports = kring
        .reports(&v.actor, false)
        .await?
        .into_iter()
        .map(|r| ReportRow {
            id: r.report.id.to_string(),
            reporter: r.reporter.acct(),
            reporter_path: account_path(&r.reporter),
            remote: !r.reporter.is_local(),
            target: r.target.acct(),
            target_id: r.target.id.to_string(),
            target_path: account_path(&r.target),
            target_suspended: r.target.suspended_at.is_some(),
            category: crate::view::category_label(r.report.category),
            comment: r.report.comment.clone(),
            created: time_label(r.report.created_at),
            posts: r
                .statuses
                .iter()
                .map(|s| (status_path(&r.target.acct(), s.id), s.content.clone()))
                .collect(),
        })
        .collect();
    let info = kring.instance().await?;
    let notice = match q.done.as_deref() {
        Some("resolved") => Some("The report was resolved."),
        Some("approved") => Some("The account was approved."),
        Some("suspended") => Some("The account was suspended."),
        Some("unsuspended") => Some("The account was unsuspended."),
        Some("role") => Some("The role was changed."),
        Some("domain") => Some("The policy was saved."),
        Some("domain_removed") => Some("The policy was removed."),
        Some("rule") => Some("The rules were updated."),
        Some("server") => Some("The server's title and description were saved."),
        _ => None,
    };
    let c = web
        .chrome(Some(&v), "Administration", "admin", "/admin")
        .await?;
    render(&AdminPage {
        c,
        notice: notice.map(str::to_string),
        reports,
        pending,
        users,
        domains_error,
        domains,
        title: info.title,
        description: info.description,
        rules: info
            .rules
            .into_iter()
            .map(|r| (r.id.to_string(), r.text))
            .collect(),
    })
}

/// A moderator is done with a report.
pub async fn resolve_report(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<NoFields>,
) -> WebResult {
    web.kring.resolve_report(&p.viewer.actor, id(&raw)?).await?;
    see("/admin?done=resolved#reports")
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    on: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

pub async fn account_action(
    State(web): State<Web>,
    Path((raw, action)): Path<(String, String)>,
    p: Posted<AccountForm>,
) -> WebResult {
    let kring = &web.kring;
    let actor = Some(&p.viewer.actor);
    let target = id(&raw)?;
    let done = match action.as_str() {
        "approve" => {
            kring.admin_approve(actor, target).await?;
            "approved"
        }
        "suspend" => {
            let on = checked(&p.form.on);
            kring.admin_suspend(actor, target, on).await?;
            if on { "suspended" } else { "unsuspended" }
        }
        "role" => {
            let role = p
                .form
                .role
                .as_deref()
                .and_then(Role::parse)
                .ok_or_else(|| WebError::from(kring_core::Error::validation("Unknown role")))?;
            kring.admin_set_role(actor, target, role).await?;
            "role"
        }
        _ => return Err(WebError::not_found()),
    };
    see(&format!("/admin?done={done}"))
}

#[derive(Deserialize)]
pub struct DomainForm {
    #[serde(default)]
    domain: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    reject_media: Option<String>,
    #[serde(default)]
    allowed: Option<String>,
}

pub async fn set_domain(State(web): State<Web>, p: Posted<DomainForm>) -> WebResult {
    let f = &p.form;
    let policy = DomainPolicy {
        block: match f.severity.as_str() {
            "silence" => Some(DomainBlock::Silence),
            "suspend" => Some(DomainBlock::Suspend),
            _ => None,
        },
        reject_media: checked(&f.reject_media),
        allowed: checked(&f.allowed),
    };
    web.kring
        .admin_set_domain_policy(Some(&p.viewer.actor), &f.domain, policy)
        .await?;
    see("/admin?done=domain#domains")
}

#[derive(Deserialize)]
pub struct RemoveDomainForm {
    #[serde(default)]
    domain: String,
}

pub async fn remove_domain(State(web): State<Web>, p: Posted<RemoveDomainForm>) -> WebResult {
    web.kring
        .admin_set_domain_policy(
            Some(&p.viewer.actor),
            &p.form.domain,
            DomainPolicy::default(),
        )
        .await?;
    see("/admin?done=domain_removed#domains")
}

#[derive(Deserialize)]
pub struct RuleForm {
    #[serde(default)]
    text: String,
}

pub async fn add_rule(State(web): State<Web>, p: Posted<RuleForm>) -> WebResult {
    web.kring
        .add_rule(Some(&p.viewer.actor), &p.form.text)
        .await?;
    see("/admin?done=rule#server")
}

pub async fn delete_rule(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<NoFields>,
) -> WebResult {
    web.kring
        .remove_rule(Some(&p.viewer.actor), id(&raw)?)
        .await?;
    see("/admin?done=rule#server")
}

#[derive(Deserialize)]
pub struct ServerForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
}

pub async fn set_server_text(State(web): State<Web>, p: Posted<ServerForm>) -> WebResult {
    web.kring
        .set_instance_text(
            Some(&p.viewer.actor),
            Some(&p.form.title),
            Some(&p.form.description),
        )
        .await?;
    see("/admin?done=server#server")
}
