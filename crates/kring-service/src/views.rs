//! Statuses as doors show them: with author, boosted original, mentions, tags, the viewer's own
//! marks and filter matches. Built for a whole page at once (a fixed number of queries per page,
//! not per status).
use std::collections::HashMap;
use std::sync::Arc;

use kring_core::model::{Account, App, Filter, Notification, Status};
use kring_store::StatusFlags;

use crate::filters::FilterMatch;
use crate::{Actor, Id, Kring, Result};

#[derive(Debug, Clone)]
pub struct StatusView {
    pub status: Status,
    /// Shared with the account cache and the page's other posts (not a copy per post).
    pub account: Arc<Account>,
    pub reblog: Option<Box<StatusView>>,
    pub mentions: Vec<Arc<Account>>,
    pub tags: Vec<String>,
    pub application: Option<Arc<App>>,
    /// The accounts its interaction policy names one by one (id, ActivityPub id).
    pub policy_accounts: Vec<(Id, String)>,
    /// The post it quotes, as this viewer may see it.
    pub quote: Option<crate::quotes::QuoteView>,
    /// How many accepted quotes it has.
    pub quotes_count: i64,
    /// What the quote policy means for the viewer (Mastodon's `quote_approval.current_user`):
    /// `automatic`, `manual`, `denied`, or `unknown` when it depends on who follows whom.
    pub quote_current_user: &'static str,
    /// The viewer's marks; None for signed-out viewers.
    pub favourited: Option<bool>,
    pub reblogged: Option<bool>,
    pub bookmarked: Option<bool>,
    pub pinned: Option<bool>,
    pub muted: Option<bool>,
    pub filtered: Vec<FilterMatch>,
    /// The group the post is in (posted to it, or a reply in it), with the group's account.
    pub group: Option<(kring_core::Group, Arc<Account>)>,
    /// Its attachments, in order.
    pub media: Vec<kring_core::media::MediaAttachment>,
}

#[derive(Debug, Clone)]
pub struct NotificationView {
    pub notification: Notification,
    pub account: Account,
    pub status: Option<StatusView>,
    /// The group a `group.*` notification is about.
    pub group: Option<Account>,
    /// The report (and its target) of a `group.report` or `admin.report`.
    pub report: Option<(kring_core::model::Report, Account)>,
}

/// Which boosted originals `shared_status_views` keeps (the store's `OriginalsOf`).
pub(crate) use kring_store::OriginalsOf as Originals;

/// Ids of the views' statuses and of their boosted originals.
pub(crate) fn view_ids(views: &[StatusView]) -> Vec<Id> {
    let mut ids: Vec<Id> = Vec::with_capacity(views.len() * 2);
    for v in views {
        ids.push(v.status.id);
        if let Some(r) = &v.reblog {
            ids.push(r.status.id);
        }
    }
    ids
}

/// A shared view made the viewer's: their marks (None when signed out: `flags` None) and
/// matches of their filters for `context`; None when a `hide` filter hides it. A boost carries
/// its original's filter matches.
pub(crate) fn personalise(
    mut view: StatusView,
    flags: Option<&StatusFlags>,
    filters: &[Filter],
    context: Option<&str>,
) -> Option<StatusView> {
    mark(&mut view, flags, filters, context);
    if let Some(orig) = view.reblog.as_mut() {
        mark(orig, flags, filters, context);
        view.filtered = orig.filtered.clone();
    }
    let hidden = view
        .filtered
        .iter()
        .any(|m| m.filter.action == kring_core::model::FilterAction::Hide);
    (!hidden).then_some(view)
}

fn mark(
    view: &mut StatusView,
    flags: Option<&StatusFlags>,
    filters: &[Filter],
    context: Option<&str>,
) {
    let id = view.status.id;
    view.favourited = flags.map(|f| f.favourited.contains(&id));
    view.reblogged = flags.map(|f| f.reblogged.contains(&id));
    view.bookmarked = flags.map(|f| f.bookmarked.contains(&id));
    view.pinned = flags.map(|f| f.pinned.contains(&id));
    view.muted = flags.map(|_| false);
    view.filtered = match context {
        Some(c) if !filters.is_empty() => Kring::match_filters(filters, c, &view.status),
        _ => Vec::new(),
    };
}

/// What makes one viewer's rendering of a view differ from another's: the marks, and which
/// filters matched (a filter belongs to one viewer, so any match makes the rendering theirs).
pub(crate) fn rendering_key(view: &StatusView) -> (Vec<Option<bool>>, Vec<Id>) {
    let mut marks = Vec::with_capacity(12);
    let mut filters: Vec<Id> = view.filtered.iter().map(|m| m.filter.id).collect();
    for v in std::iter::once(view).chain(view.reblog.as_deref()) {
        marks.extend([v.favourited, v.reblogged, v.bookmarked, v.pinned, v.muted]);
        filters.extend(v.filtered.iter().map(|m| m.filter.id));
        // Whether the quoted post is shown, and the viewer's marks on it.
        if let Some(q) = &v.quote {
            marks.push(Some(q.quoted.is_some()));
            if let Some(inner) = &q.quoted {
                marks.extend([inner.favourited, inner.reblogged, inner.bookmarked]);
            }
        }
    }
    (marks, filters)
}

/// Apps kept in memory at most (a server has few; the cache starts over past this).
const APP_CACHE: usize = 10_000;

impl Kring {
    /// An app by id, from memory after the first time (apps never change once registered).
    /// Shared: each post of a page names its app, and a copy per post was ~1 % of a home
    /// timeline's CPU (BENCHMARKS.md, session 26).
    pub async fn app_by_id(&self, id: Id) -> Result<Option<Arc<App>>> {
        if let Some(app) = self.apps.lock().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(Some(app));
        }
        let app = self.store.app(id).await?.map(Arc::new);
        if let (Some(a), Ok(mut m)) = (&app, self.apps.lock()) {
            if m.len() >= APP_CACHE {
                m.clear();
            }
            m.insert(id, a.clone());
        }
        Ok(app)
    }

    /// Views of `statuses` for `viewer`, in the same order. Filters of `context` are applied:
    /// statuses hidden by a `hide` filter are left out.
    pub async fn status_views(
        &self,
        viewer: Option<&Actor>,
        statuses: Vec<Status>,
        context: Option<&str>,
    ) -> Result<Vec<StatusView>> {
        let (views, flags) = self
            .hydrated_status_views(
                Originals::ReadableBy(crate::viewer_id(viewer)),
                statuses,
                viewer.map(|v| v.id()),
            )
            .await?;
        let filters = match (viewer, context) {
            (Some(v), Some(_)) => self.filters_of(v.id()).await?,
            _ => Default::default(),
        };
        let mut views: Vec<StatusView> = views
            .into_iter()
            .filter_map(|v| personalise(v, flags.as_ref(), &filters, context))
            .collect();
        self.resolve_quotes(viewer, &mut views).await?;
        Ok(views)
    }

    /// Show each view's quoted post (and its boosted original's) to the viewer where the
    /// quote is accepted and the one audience rule lets the viewer read the quoted post;
    /// otherwise say why not (`deleted`, `unauthorized`). Quoted posts are shown one level
    /// deep: a quote inside a quote shows its state only, as Mastodon's shallow quotes.
    pub(crate) async fn resolve_quotes(
        &self,
        viewer: Option<&Actor>,
        views: &mut [StatusView],
    ) -> Result<()> {
        let viewer_id = crate::viewer_id(viewer);
        for v in views.iter_mut() {
            let current = quote_current_user(viewer_id, &v.status);
            v.quote_current_user = current;
            if let Some(r) = v.reblog.as_deref_mut() {
                r.quote_current_user = quote_current_user(viewer_id, &r.status);
            }
        }
        let mut wanted: Vec<Id> = Vec::new();
        for v in views.iter() {
            for q in std::iter::once(v)
                .chain(v.reblog.as_deref())
                .filter_map(|x| x.quote.as_ref())
            {
                if q.quote.state == kring_core::model::QuoteState::Accepted
                    && let Some(id) = q.quote.quoted_status_id
                {
                    wanted.push(id);
                }
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        wanted.sort();
        wanted.dedup();
        let existing = self.store.statuses_by_ids(&wanted).await?;
        let readable = self.store.visible_ids(viewer_id, &wanted).await?;
        let exists: std::collections::HashSet<Id> = existing.iter().map(|s| s.id).collect();
        let shown: Vec<Status> = existing
            .into_iter()
            .filter(|s| readable.contains(&s.id))
            .collect();
        let inner = self
            .shared_status_views(Originals::ReadableBy(viewer_id), shown)
            .await?;
        let flags = match viewer {
            Some(v) => Some(self.store.status_flags(v.id(), &view_ids(&inner)).await?),
            None => None,
        };
        let inner: HashMap<Id, StatusView> = inner
            .into_iter()
            .filter_map(|v| personalise(v, flags.as_ref(), &[], None))
            .map(|mut v| {
                v.quote_current_user = quote_current_user(viewer_id, &v.status);
                (v.status.id, v)
            })
            .collect();
        for v in views.iter_mut() {
            let one = |x: &mut StatusView| {
                let Some(q) = x.quote.as_mut() else { return };
                if q.quote.state != kring_core::model::QuoteState::Accepted {
                    return;
                }
                let Some(id) = q.quote.quoted_status_id else {
                    q.state = "deleted";
                    return;
                };
                match inner.get(&id) {
                    Some(i) => {
                        q.state = "accepted";
                        q.quoted = Some(Box::new(i.clone()));
                    }
                    None if exists.contains(&id) => q.state = "unauthorized",
                    None => q.state = "deleted",
                }
            };
            one(v);
            if let Some(r) = v.reblog.as_deref_mut() {
                one(r);
            }
        }
        Ok(())
    }

    /// Views of `statuses` as they are for everyone: author, boosted original, mentions, tags
    /// and app, without any viewer's marks or filters (`personalise` adds those). Boosts whose
    /// original is not readable (see `Originals`) and posts of suspended authors are left out.
    pub(crate) async fn shared_status_views(
        &self,
        originals: Originals,
        statuses: Vec<Status>,
    ) -> Result<Vec<StatusView>> {
        Ok(self
            .hydrated_status_views(originals, statuses, None)
            .await?
            .0)
    }

    /// `shared_status_views`, with `marks_of`'s own marks on the statuses read in the same go
    /// (one hop to the database for the whole page's hydration: `Store::hydrate`).
    pub(crate) async fn hydrated_status_views(
        &self,
        originals: Originals,
        statuses: Vec<Status>,
        marks_of: Option<Id>,
    ) -> Result<(Vec<StatusView>, Option<StatusFlags>)> {
        // Originals of boosts, only those the viewer may read: a boost is no way around a
        // block, a suspension or the original's audience (such boosts are left out below).
        let h = self.store.hydrate(&statuses, originals, marks_of).await?;
        let inner: HashMap<Id, Status> = h.originals.into_iter().map(|s| (s.id, s)).collect();
        let all: Vec<&Status> = statuses.iter().chain(inner.values()).collect();
        let (mentions, tags, media) = (h.mentions, h.tags, h.media);
        let quotes: HashMap<Id, kring_core::model::Quote> =
            h.quotes.into_iter().map(|q| (q.status_id, q)).collect();
        let quotes_counts: HashMap<Id, i64> = h.quotes_counts.into_iter().collect();
        let group_of = h.group_of;
        let mut account_ids: Vec<Id> = all.iter().map(|s| s.account_id).collect();
        account_ids.extend(mentions.iter().map(|(_, a)| *a));
        account_ids.extend(
            all.iter()
                .filter_map(|s| s.interaction_policy.as_ref())
                .flat_map(|p| p.accounts()),
        );
        let mut group_ids: Vec<Id> = group_of.values().copied().collect();
        group_ids.sort();
        group_ids.dedup();
        let groups: HashMap<Id, kring_core::Group> = self
            .store
            .groups_by_ids(&group_ids)
            .await?
            .into_iter()
            .map(|g| (g.id, g))
            .collect();
        account_ids.extend(group_ids);
        account_ids.sort();
        account_ids.dedup();
        let accounts: HashMap<Id, Arc<Account>> = self
            .store
            .shared_accounts_by_ids(&account_ids)
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        let mut apps: HashMap<Id, Arc<App>> = HashMap::new();
        for app_id in all.iter().filter_map(|s| s.application_id) {
            if let std::collections::hash_map::Entry::Vacant(e) = apps.entry(app_id)
                && let Some(app) = self.app_by_id(app_id).await?
            {
                e.insert(app);
            }
        }

        // By value: a page's statuses move into their views (no copy of every post's text).
        let build = |s: Status| -> Option<StatusView> {
            // Posts of suspended accounts are never shown (home feeds still hold their entries).
            let account = accounts
                .get(&s.account_id)
                .filter(|a| a.suspended_at.is_none())?
                .clone();
            let mut m: Vec<Arc<Account>> = mentions
                .iter()
                .filter(|(sid, _)| *sid == s.id)
                .filter_map(|(_, a)| accounts.get(a).cloned())
                .collect();
            m.sort_by_key(|a| a.id);
            let t: Vec<String> = tags
                .iter()
                .filter(|(sid, _)| *sid == s.id)
                .map(|(_, n)| n.clone())
                .collect();
            Some(StatusView {
                account,
                reblog: None,
                mentions: m,
                tags: t,
                application: s.application_id.and_then(|a| apps.get(&a).cloned()),
                policy_accounts: s
                    .interaction_policy
                    .as_ref()
                    .map(|p| {
                        p.accounts()
                            .into_iter()
                            .filter_map(|id| accounts.get(&id).map(|a| (id, a.uri.clone())))
                            .collect()
                    })
                    .unwrap_or_default(),
                quote: quotes
                    .get(&s.id)
                    .cloned()
                    .map(crate::quotes::QuoteView::unresolved),
                quotes_count: quotes_counts.get(&s.id).copied().unwrap_or(0),
                quote_current_user: "unknown",
                favourited: None,
                reblogged: None,
                bookmarked: None,
                pinned: None,
                muted: None,
                filtered: Vec::new(),
                group: group_of
                    .get(&s.id)
                    .and_then(|g| Some((groups.get(g)?.clone(), accounts.get(g)?.clone()))),
                media: media
                    .iter()
                    .filter(|m| m.status_id == Some(s.id))
                    .cloned()
                    .collect(),
                status: s,
            })
        };

        let mut out = Vec::with_capacity(statuses.len());
        for s in statuses {
            let reblog_of = s.reblog_of_id;
            let Some(mut view) = build(s) else { continue };
            if let Some(inner_id) = reblog_of {
                let Some(orig) = inner.get(&inner_id).cloned().and_then(build) else {
                    continue;
                };
                view.reblog = Some(Box::new(orig));
            }
            out.push(view);
        }
        Ok((out, h.flags))
    }

    pub async fn status_view(&self, viewer: Option<&Actor>, status: Status) -> Result<StatusView> {
        let id = status.id;
        let mut views = self.status_views(viewer, vec![status], None).await?;
        views.pop().ok_or_else(|| {
            tracing::warn!(status = %id, "status without author");
            crate::Error::NotFound
        })
    }

    pub async fn notification_views(
        &self,
        actor: &Actor,
        list: Vec<Notification>,
    ) -> Result<Vec<NotificationView>> {
        let status_ids: Vec<Id> = list.iter().filter_map(|n| n.status_id).collect();
        let statuses = self.store.statuses_by_ids(&status_ids).await?;
        let views: HashMap<Id, StatusView> = self
            .status_views(Some(actor), statuses, Some("notifications"))
            .await?
            .into_iter()
            .map(|v| (v.status.id, v))
            .collect();
        let mut reports: HashMap<Id, kring_core::model::Report> = HashMap::new();
        for r in list.iter().filter_map(|n| n.report_id) {
            if let Some(report) = self.store.report(r).await? {
                reports.insert(r, report);
            }
        }
        let mut account_ids: Vec<Id> = list.iter().map(|n| n.from_account_id).collect();
        account_ids.extend(list.iter().filter_map(|n| n.group_id));
        account_ids.extend(reports.values().map(|r| r.target_account_id));
        account_ids.sort();
        account_ids.dedup();
        let accounts: HashMap<Id, Account> = self
            .store
            .accounts_by_ids(&account_ids)
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        Ok(list
            .into_iter()
            .filter_map(|n| {
                let account = accounts.get(&n.from_account_id)?.clone();
                let status = match n.status_id {
                    Some(s) => Some(views.get(&s)?.clone()),
                    None => None,
                };
                // A notification whose group or report is gone has nothing left to show.
                let group = match n.group_id {
                    Some(g) => Some(accounts.get(&g)?.clone()),
                    None => None,
                };
                let report = match n.report_id {
                    Some(r) => {
                        let report = reports.get(&r)?.clone();
                        let target = accounts.get(&report.target_account_id)?.clone();
                        Some((report, target))
                    }
                    None => None,
                };
                Some(NotificationView {
                    notification: n,
                    account,
                    status,
                    group,
                    report,
                })
            })
            .collect())
    }
}

/// What a post's quote policy means for one viewer, without asking who follows whom: the
/// answer when it does not depend on that, else `unknown` (Mastodon's word for it).
pub(crate) fn quote_current_user(viewer: Option<Id>, s: &Status) -> &'static str {
    use kring_core::{Decision, Interaction, Relation};
    let Some(viewer) = viewer else {
        return "unknown";
    };
    if s.reblog_of_id.is_some()
        || s.pending_approval_by.is_some()
        || !crate::statuses::may_reblog(viewer, s)
    {
        return "denied";
    }
    let policy = s.policy();
    let decide = |follows: bool| {
        policy.decide(
            Interaction::Quote,
            &Relation {
                account: viewer,
                author: viewer == s.account_id,
                follows_author: follows,
                followed_by_author: follows,
                mentioned: false,
            },
        )
    };
    match (decide(false), decide(true)) {
        (a, b) if a == b => match a {
            Decision::Automatic => "automatic",
            Decision::Manual => "manual",
            Decision::Denied => "denied",
        },
        _ => "unknown",
    }
}
