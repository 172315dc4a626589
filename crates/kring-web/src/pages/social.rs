//! Notifications, follow requests, follow/block/mute buttons, search and lists.
use askama::Template;
use axum::extract::{OriginalUri, Path, Query, State};
use kring_core::model::{NotificationType, Page};
use kring_service::search::SearchRequest;
use kring_service::{Edge, Id};
use serde::Deserialize;

use super::path_of;
use super::{
    Change, ChangeForm, NoFields, form_refusal, form_status, id, named_account, render,
    render_status, see,
};
use crate::Web;
use crate::client::Client;
use crate::error::{WebError, WebResult, message};
use crate::session::{Posted, Viewer};
use crate::view::{
    AccountCard, Chrome, PageQuery, Person, PostCard, older_link, safe_back, time_label,
};

pub struct NotificationItem {
    pub kind: &'static str,
    pub text: &'static str,
    pub who: Person,
    pub created: String,
    pub created_iso: String,
    pub post: Option<PostCard>,
    /// Whom or what it is about beyond the sender: the group, or a report's target.
    pub about: Option<Person>,
    /// Where to act on it (a path and its label).
    pub action: Option<(String, &'static str)>,
}

/// The group or report a notification is about, and where to answer it.
fn about_and_action(
    kring: &kring_service::Kring,
    n: &kring_service::views::NotificationView,
) -> (Option<Person>, Option<(String, &'static str)>) {
    let group = n.group.as_ref().map(|g| Person::new(kring, g));
    let group_page = |tail: &str| {
        n.notification
            .group_id
            .map(|g| format!("{}{tail}", super::groups::group_path(g)))
    };
    match n.notification.kind {
        NotificationType::GroupRequest => (
            group,
            group_page("/requests").map(|p| (p, "Review requests to join")),
        ),
        NotificationType::GroupInvite => (
            group,
            group_page("").map(|p| (p, "See the group and its rules")),
        ),
        NotificationType::GroupReport => (
            group,
            group_page("/moderation").map(|p| (p, "Review the group's reports")),
        ),
        NotificationType::AdminReport => (
            n.report
                .as_ref()
                .map(|(_, target)| Person::new(kring, target)),
            Some(("/admin".to_string(), "Review reports")),
        ),
        NotificationType::Export => (
            None,
            Some(("/settings/export".to_string(), "Download your archive")),
        ),
        _ => (None, None),
    }
}

fn notification_text(kind: NotificationType) -> &'static str {
    match kind {
        NotificationType::Follow => "followed you",
        NotificationType::FollowRequest => "asked to follow you",
        NotificationType::Mention => "mentioned you",
        NotificationType::Favourite => "favourited your post",
        NotificationType::Reblog => "boosted your post",
        NotificationType::Update => "edited a post you boosted",
        NotificationType::Status => "posted",
        NotificationType::PendingReply => "replied, awaiting your approval",
        NotificationType::PendingFavourite => "favourited your post, awaiting your approval",
        NotificationType::PendingReblog => "boosted your post, awaiting your approval",
        NotificationType::Quote => "quoted your post",
        NotificationType::QuotedUpdate => "edited a post you quoted",
        NotificationType::GroupRequest => "asked to join",
        NotificationType::GroupInvite => "invited you to join",
        NotificationType::GroupReport => "reported a post in",
        NotificationType::AdminReport => "reported",
        NotificationType::Export => "— your data export is ready",
    }
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct Notifications {
    c: Chrome,
    items: Vec<NotificationItem>,
    older: Option<String>,
}

const NOTES_PAGE: usize = 30;
const LIST_PAGE: usize = 20;

pub async fn notifications(
    State(web): State<Web>,
    v: Viewer,
    uri: OriginalUri,
    Query(q): Query<PageQuery>,
) -> WebResult {
    let kring = &web.kring;
    // All kinds, those about interactions awaiting approval too (which Mastodon apps, not
    // knowing them, are only sent when they ask).
    let list = kring
        .notifications(
            &v.actor,
            &NotificationType::ALL,
            &[],
            None,
            &q.page(NOTES_PAGE),
        )
        .await?;
    let keys: Vec<Id> = list.iter().map(|n| n.id).collect();
    // Seeing the newest page reads them all (the same marker Mastodon apps move).
    if q.max_id.is_none()
        && let Some(newest) = keys.first()
    {
        kring.mark_notifications_read(&v.actor, *newest).await?;
    }
    let views = kring.notification_views(&v.actor, list).await?;
    let posts: Vec<_> = views.iter().filter_map(|n| n.status.clone()).collect();
    let mut cards = web.cards(Some(&v.actor), &posts).await?.into_iter();
    let items = views
        .iter()
        .map(|n| {
            let (about, action) = about_and_action(kring, n);
            NotificationItem {
                kind: n.notification.kind.as_str(),
                text: notification_text(n.notification.kind),
                who: Person::new(kring, &n.account),
                created: time_label(n.notification.created_at),
                created_iso: kring_core::time::rfc3339(n.notification.created_at),
                post: n.status.as_ref().and_then(|_| cards.next()),
                about,
                action,
            }
        })
        .collect();
    let c = web
        .chrome(Some(&v), "Notifications", "notifications", path_of(&uri))
        .await?;
    render(&Notifications {
        c,
        items,
        older: older_link("/notifications", &keys, NOTES_PAGE),
    })
}

pub async fn clear_notifications(State(web): State<Web>, p: Posted<NoFields>) -> WebResult {
    web.kring.clear_notifications(&p.viewer.actor).await?;
    see("/notifications")
}

#[derive(Template)]
#[template(path = "follow_requests.html")]
struct FollowRequests {
    c: Chrome,
    accounts: Vec<AccountCard>,
}

pub async fn follow_requests(State(web): State<Web>, v: Viewer) -> WebResult {
    let kring = &web.kring;
    let list = kring
        .own_edges(&v.actor, Edge::FollowRequests, &Page::newest(80))
        .await?;
    let c = web
        .chrome(Some(&v), "Follow requests", "", "/follow_requests")
        .await?;
    render(&FollowRequests {
        c,
        accounts: list
            .iter()
            .map(|(_, a)| AccountCard::new(kring, a))
            .collect(),
    })
}

pub async fn answer_follow_request(
    State(web): State<Web>,
    Path((raw, action)): Path<(String, String)>,
    p: Posted<NoFields>,
) -> WebResult {
    let from = id(&raw)?;
    match action.as_str() {
        "authorize" => {
            web.kring
                .authorize_follow_request(&p.viewer.actor, from)
                .await?;
        }
        "reject" => {
            web.kring
                .reject_follow_request(&p.viewer.actor, from)
                .await?;
        }
        _ => return Err(WebError::not_found()),
    }
    see("/follow_requests")
}

#[derive(Deserialize)]
pub struct BackForm {
    #[serde(default)]
    back: Option<String>,
}

/// Follow, unfollow (also withdraws a request), block, unblock, mute, unmute.
pub async fn account_action(
    State(web): State<Web>,
    Path((raw, action)): Path<(String, String)>,
    p: Posted<BackForm>,
) -> WebResult {
    let kring = &web.kring;
    let actor = &p.viewer.actor;
    let target = id(&raw)?;
    match action.as_str() {
        "follow" => {
            kring.follow(actor, target, None, None).await?;
        }
        "unfollow" => {
            kring.unfollow(actor, target).await?;
        }
        "block" => {
            kring.block(actor, target).await?;
        }
        "unblock" => {
            kring.unblock(actor, target).await?;
        }
        "mute" => {
            kring.mute(actor, target, true, None).await?;
        }
        "unmute" => {
            kring.unmute(actor, target).await?;
        }
        _ => return Err(WebError::not_found()),
    }
    // Every form sends where to go back to; look the profile up only when it did not.
    let back = safe_back(p.form.back.as_deref(), "");
    if !back.is_empty() {
        return see(&back);
    }
    let fallback = match kring.account(target).await {
        Ok(a) => crate::view::account_path(&a),
        Err(_) => "/home".into(),
    };
    see(&fallback)
}

#[derive(Template)]
#[template(path = "search.html")]
struct Search {
    c: Chrome,
    q: String,
    searched: bool,
    error: Option<String>,
    accounts: Vec<AccountCard>,
    tags: Vec<String>,
    posts: Vec<PostCard>,
    older: Option<String>,
    empty: &'static str,
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub async fn search(
    State(web): State<Web>,
    Client(client): Client,
    v: Viewer,
    uri: OriginalUri,
    Query(sq): Query<SearchQuery>,
) -> WebResult {
    let kring = &web.kring;
    let q = sq.q.trim().to_string();
    // The search resolves handles and URLs on other servers.
    if !q.is_empty() {
        kring.limits.lookup(client, Some(v.actor.id()))?;
    }
    let mut page = Search {
        c: web
            .chrome(Some(&v), "Search", "search", path_of(&uri))
            .await?,
        searched: !q.is_empty(),
        q: q.clone(),
        error: None,
        accounts: Vec::new(),
        tags: Vec::new(),
        posts: Vec::new(),
        older: None,
        empty: "No posts found.",
    };
    if !q.is_empty() {
        let req = SearchRequest {
            q,
            kind: None,
            following: false,
            account_id: None,
            limit: 20,
            offset: 0,
            resolve: true,
        };
        match kring.search(Some(&v.actor), req).await {
            Ok(r) => {
                page.accounts = r
                    .accounts
                    .iter()
                    .map(|a| AccountCard::new(kring, a))
                    .collect();
                page.tags = r.hashtags.into_iter().map(|t| t.name).collect();
                let views = kring.status_views(Some(&v.actor), r.statuses, None).await?;
                page.posts = web.cards(Some(&v.actor), &views).await?;
            }
            Err(e) => page.error = Some(message(&e)),
        }
    }
    render(&page)
}

// --- lists ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "lists.html")]
struct Lists {
    c: Chrome,
    lists: Vec<(String, String)>,
    error: Option<String>,
}

async fn lists_page(web: &Web, v: &Viewer, error: Option<String>) -> WebResult {
    let lists = web.kring.lists(&v.actor).await?;
    let c = web.chrome(Some(v), "Lists", "lists", "/lists").await?;
    render_status(
        form_status(&error),
        &Lists {
            c,
            lists: lists
                .into_iter()
                .map(|l| (l.id.to_string(), l.title))
                .collect(),
            error,
        },
    )
}

pub async fn lists(State(web): State<Web>, v: Viewer) -> WebResult {
    lists_page(&web, &v, None).await
}

#[derive(Deserialize)]
pub struct TitleForm {
    #[serde(default)]
    title: String,
}

pub async fn create_list(State(web): State<Web>, p: Posted<TitleForm>) -> WebResult {
    match web
        .kring
        .create_list(&p.viewer.actor, &p.form.title, None, false)
        .await
    {
        Ok(l) => see(&format!("/lists/{}", l.id)),
        Err(e @ kring_core::Error::Validation(_)) => {
            lists_page(&web, &p.viewer, Some(message(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    c: Chrome,
    id: String,
    title: String,
    error: Option<String>,
    /// What was typed into "Add someone" when it was refused, to correct rather than retype.
    acct: String,
    members: Vec<AccountCard>,
    posts: Vec<PostCard>,
    older: Option<String>,
    empty: &'static str,
}

async fn list_page(
    web: &Web,
    v: &Viewer,
    list_id: Id,
    q: &PageQuery,
    path: String,
    error: Option<String>,
    acct: String,
) -> WebResult {
    let kring = &web.kring;
    let list = kring.list(&v.actor, list_id).await?;
    let members = kring.list_members(&v.actor, list_id, 500).await?;
    let statuses = kring
        .list_timeline(&v.actor, list_id, &q.page(LIST_PAGE))
        .await?;
    let keys: Vec<Id> = statuses.iter().map(|s| s.id).collect();
    let views = kring
        .status_views(Some(&v.actor), statuses, Some("home"))
        .await?;
    let c = web
        .chrome(Some(v), list.title.clone(), "lists", path)
        .await?;
    render_status(
        form_status(&error),
        &ListPage {
            c,
            id: list.id.to_string(),
            title: list.title,
            error,
            acct,
            members: members.iter().map(|a| AccountCard::new(kring, a)).collect(),
            posts: web.cards(Some(&v.actor), &views).await?,
            older: older_link(&format!("/lists/{}", list.id), &keys, LIST_PAGE),
            empty: "No posts from the people on this list yet.",
        },
    )
}

pub async fn list(
    State(web): State<Web>,
    v: Viewer,
    uri: OriginalUri,
    Path(raw): Path<String>,
    Query(q): Query<PageQuery>,
) -> WebResult {
    list_page(&web, &v, id(&raw)?, &q, path_of(&uri), None, String::new()).await
}

/// The management forms post to the list's own address ([`ChangeForm`]), with the
/// management section open again after a refusal.
pub async fn change_list(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<ChangeForm>,
) -> WebResult {
    let list_id = id(&raw)?;
    let result = match p.form.change()? {
        Change::Rename(title) => rename(&web, &p.viewer, list_id, title).await,
        Change::Add(acct) => add(&web, &p.viewer, list_id, acct).await,
    };
    after_list_change(&web, &p.viewer, list_id, result, &p.form.acct).await
}

async fn rename(web: &Web, v: &Viewer, list_id: Id, title: &str) -> Result<(), kring_core::Error> {
    web.kring
        .update_list(&v.actor, list_id, Some(title), None, None)
        .await
        .map(|_| ())
}

async fn add(web: &Web, v: &Viewer, list_id: Id, acct: &str) -> Result<(), kring_core::Error> {
    let a = named_account(web, &v.actor, acct).await?;
    web.kring.add_to_list(&v.actor, list_id, &[a]).await
}

pub async fn rename_list(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<TitleForm>,
) -> WebResult {
    let list_id = id(&raw)?;
    let result = rename(&web, &p.viewer, list_id, &p.form.title).await;
    after_list_change(&web, &p.viewer, list_id, result, "").await
}

/// After a change to a list: back to its page, or the page again with what was wrong.
async fn after_list_change(
    web: &Web,
    v: &Viewer,
    list_id: Id,
    result: Result<(), kring_core::Error>,
    acct: &str,
) -> WebResult {
    let path = format!("/lists/{list_id}");
    let error = match result {
        Ok(()) => return see(&path),
        Err(e) => form_refusal(e)?,
    };
    list_page(
        web,
        v,
        list_id,
        &PageQuery::default(),
        path,
        Some(error),
        acct.trim().to_string(),
    )
    .await
}

pub async fn delete_list(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<NoFields>,
) -> WebResult {
    web.kring.delete_list(&p.viewer.actor, id(&raw)?).await?;
    see("/lists")
}

#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    acct: String,
}

pub async fn add_member(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<MemberForm>,
) -> WebResult {
    let list_id = id(&raw)?;
    let result = add(&web, &p.viewer, list_id, &p.form.acct).await;
    after_list_change(&web, &p.viewer, list_id, result, &p.form.acct).await
}

pub async fn remove_member(
    State(web): State<Web>,
    Path((raw, account)): Path<(String, String)>,
    p: Posted<NoFields>,
) -> WebResult {
    let list_id = id(&raw)?;
    web.kring
        .remove_from_list(&p.viewer.actor, list_id, &[id(&account)?])
        .await?;
    see(&format!("/lists/{list_id}"))
}
