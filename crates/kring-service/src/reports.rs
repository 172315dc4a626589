//! Reports: people tell this server's moderators about an account (and some of its posts);
//! moderators read them and resolve them. Reports from other servers (Flag activities) arrive
//! through the inbox and land in the same list.
use kring_core::model::{Account, NotificationType, Report, ReportCategory, Status};
use kring_store::NewReport;

use crate::{Actor, Error, Id, Kring, Result};

/// The longest comment a report may carry (Mastodon's limit).
pub const MAX_COMMENT: usize = 1000;
/// Posts one report may name.
const MAX_STATUSES: usize = 50;

#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub account_id: Id,
    pub status_ids: Vec<Id>,
    pub comment: String,
    pub category: Option<ReportCategory>,
    /// Also send it to the reported account's server (when that is another server), from
    /// this server's instance actor, so the reporter stays anonymous.
    pub forward: bool,
}

/// A report as moderators see it.
#[derive(Debug, Clone)]
pub struct ReportView {
    pub report: Report,
    pub reporter: Account,
    pub target: Account,
    /// The reported posts that still exist.
    pub statuses: Vec<Status>,
}

impl Kring {
    /// File a report about an account. The posts named must be the account's, and ones the
    /// reporter can see.
    pub async fn report(&self, actor: &Actor, req: ReportRequest) -> Result<ReportView> {
        let target = self
            .store
            .account(req.account_id)
            .await?
            .ok_or(Error::NotFound)?;
        if target.id == actor.id() {
            return Err(Error::validation("You cannot report yourself"));
        }
        let comment = req.comment.trim();
        if comment.chars().count() > MAX_COMMENT {
            return Err(Error::validation(format!(
                "Comment is too long (maximum is {MAX_COMMENT} characters)"
            )));
        }
        let mut status_ids = req.status_ids;
        status_ids.sort();
        status_ids.dedup();
        if status_ids.len() > MAX_STATUSES {
            return Err(Error::validation("Too many posts in one report"));
        }
        let mut reported = Vec::new();
        if !status_ids.is_empty() {
            let visible = self
                .store
                .visible_ids(Some(actor.id()), &status_ids)
                .await?;
            let statuses = self.store.statuses_by_ids(&status_ids).await?;
            let all_theirs = status_ids.iter().all(|id| {
                visible.contains(id)
                    && statuses
                        .iter()
                        .any(|s| s.id == *id && s.account_id == target.id)
            });
            if !all_theirs {
                return Err(Error::validation(
                    "Statuses must be posts of the reported account that you can see",
                ));
            }
            reported = statuses;
        }
        let forward = req.forward && !target.is_local();
        let category = req.category.unwrap_or(ReportCategory::Other);
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_report(&NewReport {
                reporter: actor.id(),
                target: target.id,
                status_ids: &status_ids,
                comment,
                category,
                forwarded: forward,
                uri: None,
            })
            .await?;
        if forward {
            let mut object = vec![serde_json::Value::from(target.uri.clone())];
            object.extend(
                reported
                    .iter()
                    .map(|s| serde_json::Value::from(s.uri.clone())),
            );
            let flag = serde_json::json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{}/flags/{}", self.config.base_url(), Id::generate()),
                "type": "Flag",
                "actor": self.instance_actor_uri(),
                "content": comment,
                "object": object,
            });
            self.emit_as_instance(&mut tx, flag, vec![target.id])
                .await?;
        }
        let made = self
            .notify_of_report_in(&mut tx, actor.id(), id, &status_ids)
            .await?;
        tx.commit().await?;
        self.publish_notifications(&made);
        let report = self.store.report(id).await?.ok_or(Error::NotFound)?;
        Ok(ReportView {
            report,
            reporter: actor.account.clone(),
            target,
            statuses: reported,
        })
    }

    /// Tell of a new report (filed here or received): the server's moderators
    /// (`admin.report`), and the moderators of the group the report is filed under, the one
    /// carrying its earliest post (`group.report`). Returns what to publish after commit.
    pub(crate) async fn notify_of_report_in(
        &self,
        tx: &mut kring_store::Tx,
        reporter: Id,
        report: Id,
        status_ids: &[Id],
    ) -> Result<Vec<(Id, Id)>> {
        let mut made: Vec<(Id, Id)> = Vec::new();
        for m in self.store.server_staff().await? {
            if let Some(n) = self
                .notify_group_in(
                    tx,
                    m,
                    NotificationType::AdminReport,
                    reporter,
                    None,
                    Some(report),
                )
                .await?
            {
                made.push((m, n));
            }
        }
        let carrying = self
            .store
            .groups_of_statuses(status_ids)
            .await?
            .into_iter()
            .min_by_key(|(status, _)| *status)
            .map(|(_, group)| group);
        let Some(group) = carrying else {
            return Ok(made);
        };
        for m in self.store.local_group_staff(group).await? {
            if made.iter().any(|(who, _)| *who == m) {
                // A server moderator who also moderates the group hears of it once.
                continue;
            }
            if let Some(n) = self
                .notify_group_in(
                    tx,
                    m,
                    NotificationType::GroupReport,
                    reporter,
                    Some(group),
                    Some(report),
                )
                .await?
            {
                made.push((m, n));
            }
        }
        Ok(made)
    }

    /// Reports for moderators, newest first: open ones, or resolved ones.
    pub async fn reports(&self, actor: &Actor, resolved: bool) -> Result<Vec<ReportView>> {
        Self::require_staff(Some(actor))?;
        let reports = self.store.reports(resolved, 100).await?;
        self.report_views(reports).await
    }

    /// Reports with their reporters, targets and the reported posts that still exist.
    pub(crate) async fn report_views(&self, reports: Vec<Report>) -> Result<Vec<ReportView>> {
        let mut ids: Vec<Id> = reports
            .iter()
            .flat_map(|r| [r.account_id, r.target_account_id])
            .collect();
        ids.sort();
        ids.dedup();
        let accounts = self.store.accounts_by_ids(&ids).await?;
        let status_ids: Vec<Id> = reports
            .iter()
            .flat_map(|r| r.status_ids.iter().copied())
            .collect();
        let statuses = self.store.statuses_by_ids(&status_ids).await?;
        Ok(reports
            .into_iter()
            .filter_map(|report| {
                let find = |id: Id| accounts.iter().find(|a| a.id == id).cloned();
                Some(ReportView {
                    reporter: find(report.account_id)?,
                    target: find(report.target_account_id)?,
                    statuses: statuses
                        .iter()
                        .filter(|s| report.status_ids.contains(&s.id))
                        .cloned()
                        .collect(),
                    report,
                })
            })
            .collect())
    }

    /// How many reports wait for a moderator (up to `cap`); None for people who are not staff.
    pub async fn open_reports(&self, actor: &Actor, cap: i64) -> Result<Option<i64>> {
        if !actor.is_staff() {
            return Ok(None);
        }
        Ok(Some(self.store.open_reports(cap).await?))
    }

    /// A moderator is done with a report.
    pub async fn resolve_report(&self, actor: &Actor, id: Id) -> Result<()> {
        Self::require_staff(Some(actor))?;
        if self.store.resolve_report(id, actor.id()).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }
}
