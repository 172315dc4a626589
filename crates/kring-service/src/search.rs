//! Search: accounts by handle or name, hashtags by prefix, and one's own posts by text.
//! With `resolve`, remote handles and URLs are looked up on their servers. Posts found are
//! results like a timeline's: those of accounts (and domains) the viewer blocked or muted are
//! left out, as in Mastodon.
use kring_core::model::{Account, Status, Tag};
use kring_store::Shown;

use crate::federation::Pasted;
use crate::{Actor, Error, Kring, Result, viewer_id};

fn is_web_url(q: &str) -> bool {
    q.starts_with("https://") || q.starts_with("http://")
}

/// A look-up on another server that failed is logged with the host asked and the reason
/// (which carries the remote status, e.g. "remote answered 404"), never the query's path or
/// anything posted; the person asking just finds nothing. Unknown here (`NotFound`) is
/// ordinary and logged at info, like refusals; anything else (unreachable, bad answers,
/// our own failures) at warn.
pub(crate) fn remote_lookup_failed(what: &'static str, host: &str, e: &Error) {
    match e {
        Error::NotFound | Error::Forbidden(_) | Error::BadRequest(_) => {
            tracing::info!(lookup = what, %host, reason = %e, "remote look-up failed");
        }
        _ => tracing::warn!(lookup = what, %host, reason = %e, "remote look-up failed"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchType {
    Accounts,
    Hashtags,
    Statuses,
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub q: String,
    pub kind: Option<SearchType>,
    pub following: bool,
    pub account_id: Option<crate::Id>,
    pub limit: i64,
    pub offset: i64,
    /// Look up remote accounts (by handle or URL) and posts (by URL) on other servers.
    pub resolve: bool,
}

#[derive(Debug, Default)]
pub struct SearchResults {
    pub accounts: Vec<Account>,
    pub statuses: Vec<Status>,
    pub hashtags: Vec<Tag>,
}

impl Kring {
    pub async fn search(
        &self,
        viewer: Option<&Actor>,
        req: SearchRequest,
    ) -> Result<SearchResults> {
        let q = req.q.trim();
        let mut out = SearchResults::default();
        if q.is_empty() {
            return Ok(out);
        }
        let limit = req.limit.clamp(1, 40);
        let offset = req.offset.max(0);
        let want = |t: SearchType| req.kind.is_none_or(|k| k == t);
        // Signed-out visitors may not page through search (as Mastodon).
        let offset = if viewer.is_none() { 0 } else { offset };
        // Resolving reaches other servers, so only signed-in people may ask for it.
        let resolve = req.resolve && Self::may_fetch_remote_for(viewer);
        // A pasted profile or post link is fetched once, whichever kind is asked for.
        let pasted = if resolve
            && is_web_url(q)
            && (want(SearchType::Accounts) || want(SearchType::Statuses))
        {
            self.resolve_pasted_url(q)
                .await
                .map_err(|e| {
                    let host = kring_activitypub::as2::host_of(q).unwrap_or_default();
                    remote_lookup_failed("link", &host, &e)
                })
                .ok()
        } else {
            None
        };
        if want(SearchType::Accounts) {
            out.accounts = self
                .search_accounts(viewer, q, req.following, limit, offset)
                .await?;
            let found = match &pasted {
                Some(Pasted::Account(a)) => Some(a.clone()),
                Some(Pasted::Status(_)) => None,
                None if resolve => self.resolve_account_query(q).await,
                None => None,
            };
            if let Some(a) = &found {
                // Looked up by name: as good as opening the profile.
                self.viewed(viewer, a).await;
            }
            if offset == 0
                && let Some(a) = found
                && !out.accounts.iter().any(|x| x.id == a.id)
            {
                out.accounts.insert(0, a);
            }
        }
        if want(SearchType::Hashtags) {
            let name = q.trim_start_matches('#');
            if let Some(n) = kring_core::text::normalize_tag(name) {
                out.hashtags = self.store.search_tags(&n, limit).await?;
            }
        }
        if want(SearchType::Statuses)
            && let Some(v) = viewer
        {
            // Full-text search covers one's own posts; a local post URL finds that post.
            if let Some(s) = self.status_by_url(viewer, q).await? {
                out.statuses.push(s);
            } else if let Some(Pasted::Status(s)) = &pasted
                && let Some(s) = self
                    .store
                    .shown_status(viewer_id(viewer), s.id, Shown::Listed)
                    .await?
            {
                out.statuses.push(s);
            } else if req.account_id.is_none_or(|a| a == v.id()) {
                out.statuses = self
                    .store
                    .search_own_statuses(v.id(), q, limit, offset)
                    .await?;
            }
        }
        Ok(out)
    }

    pub async fn search_accounts(
        &self,
        viewer: Option<&Actor>,
        q: &str,
        following: bool,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Account>> {
        let q = q.trim().trim_start_matches('@');
        let (name, domain) = match q.split_once('@') {
            Some((u, d)) if d.eq_ignore_ascii_case(&self.config.domain) => (u, Some("")),
            Some((u, d)) => (u, Some(d)),
            None => (q, None),
        };
        let following_of = if following { viewer_id(viewer) } else { None };
        let mut found = self
            .store
            .search_accounts(name, domain, following_of, limit, offset)
            .await?;
        // An exact handle match comes first.
        if let Some(pos) = found
            .iter()
            .position(|a| a.username.eq_ignore_ascii_case(name))
        {
            let exact = found.remove(pos);
            found.insert(0, exact);
        }
        Ok(found)
    }

    /// `user@domain` (with or without a leading @), resolved remotely.
    async fn resolve_account_query(&self, q: &str) -> Option<Account> {
        let q = q.trim_start_matches('@');
        let (user, domain) = q.split_once('@')?;
        if domain.eq_ignore_ascii_case(&self.config.domain) || user.is_empty() || domain.is_empty()
        {
            return None;
        }
        self.resolve_acct(user, domain)
            .await
            .map_err(|e| remote_lookup_failed("account", domain, &e))
            .ok()
    }

    async fn status_by_url(&self, viewer: Option<&Actor>, q: &str) -> Result<Option<Status>> {
        if !is_web_url(q) {
            return Ok(None);
        }
        let Some(s) = self.store.status_by_uri(q).await? else {
            // Local post URLs look like {base}/@user/{id}.
            let id = q
                .rsplit('/')
                .next()
                .and_then(|i| i.parse::<crate::Id>().ok());
            return match id {
                Some(id) if q.starts_with(&self.config.base_url()) => Ok(self
                    .store
                    .shown_status(viewer_id(viewer), id, Shown::Listed)
                    .await?),
                _ => Ok(None),
            };
        };
        self.store
            .shown_status(viewer_id(viewer), s.id, Shown::Listed)
            .await
    }
}
