//! Pages anyone may open: the landing page, public and hashtag timelines, profiles and threads.
//! They call the service's read functions with the visitor as viewer (None when signed out),
//! so audiences are enforced where they always are: in the service and the store.
use askama::Template;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use kring_core::Visibility;
use kring_core::model::{Page, Registrations, Relationship};
use kring_service::{AccountStatusesFilter, Id, Locality};
use serde::Deserialize;

use super::path_of;
use super::{Tab, id, render};
use crate::Web;
use crate::error::WebResult;
use crate::session::MaybeViewer;
use crate::view::{
    AccountCard, Chrome, FieldView, PageQuery, PostCard, Preview, account_path, fields, older_link,
    status_path, url_encode,
};

const PAGE: usize = 20;

#[derive(Template)]
#[template(path = "landing.html")]
struct Landing {
    c: Chrome,
    description: String,
    rules: Vec<String>,
    registrations: &'static str,
    users: i64,
    statuses: i64,
    domain: String,
    posts: Vec<PostCard>,
    older: Option<String>,
    empty: &'static str,
    deleted: bool,
}

pub fn registrations_label(r: Registrations) -> &'static str {
    match r {
        Registrations::Open => "open",
        Registrations::Approval => "approval",
        Registrations::Closed => "closed",
    }
}

#[derive(Deserialize, Default)]
pub struct LandingQuery {
    #[serde(default)]
    deleted: Option<String>,
}

pub async fn landing(
    State(web): State<Web>,
    v: MaybeViewer,
    Query(q): Query<LandingQuery>,
) -> WebResult {
    if v.0.is_some() {
        return Ok(Redirect::to("/home").into_response());
    }
    let kring = &web.kring;
    let info = kring.instance().await?;
    let list = kring
        .public(None, Locality::Local, &Page::newest(PAGE))
        .await?;
    let views = kring.status_views(None, list, Some("public")).await?;
    let c = web.chrome(None, "Welcome", "landing", "/").await?;
    render(&Landing {
        c,
        description: info.description,
        rules: info.rules.into_iter().map(|r| r.text).collect(),
        registrations: registrations_label(info.registrations),
        users: info.user_count,
        statuses: info.status_count,
        domain: info.domain,
        posts: web.cards(None, &views).await?,
        older: Some("/public".into()),
        empty: "No public posts yet.",
        deleted: q.deleted.is_some(),
    })
}

#[derive(Template)]
#[template(path = "timeline.html")]
pub struct Timeline {
    pub c: Chrome,
    pub heading: String,
    pub intro: String,
    pub tabs: Vec<Tab>,
    pub posts: Vec<PostCard>,
    pub older: Option<String>,
    pub empty: &'static str,
}

#[derive(Deserialize, Default)]
pub struct PublicQuery {
    #[serde(default)]
    max_id: Option<String>,
    #[serde(default)]
    all: Option<String>,
}

pub async fn public_timeline(
    State(web): State<Web>,
    v: MaybeViewer,
    uri: OriginalUri,
    Query(q): Query<PublicQuery>,
) -> WebResult {
    let kring = &web.kring;
    let all = q.all.is_some();
    let page = PageQuery { max_id: q.max_id }.page(PAGE);
    let locality = if all { Locality::All } else { Locality::Local };
    let list = kring.public(v.actor(), locality, &page).await?;
    let keys: Vec<Id> = list.iter().map(|s| s.id).collect();
    let views = kring.status_views(v.actor(), list, Some("public")).await?;
    let base = if all { "/public?all=1" } else { "/public" };
    let c = web
        .chrome(v.0.as_ref(), "Public posts", "public", path_of(&uri))
        .await?;
    render(&Timeline {
        c,
        heading: "Public posts".into(),
        intro: if all {
            "Public posts from this server and the servers it knows, newest first.".into()
        } else {
            "Public posts from people on this server, newest first.".into()
        },
        tabs: vec![
            Tab {
                href: "/public".into(),
                label: "This server",
                current: !all,
            },
            Tab {
                href: "/public?all=1".into(),
                label: "Everywhere",
                current: all,
            },
        ],
        posts: web.cards(v.actor(), &views).await?,
        older: older_link(base, &keys, PAGE),
        empty: "No public posts yet.",
    })
}

pub async fn tag(
    State(web): State<Web>,
    v: MaybeViewer,
    uri: OriginalUri,
    Path(tag): Path<String>,
    Query(q): Query<PageQuery>,
) -> WebResult {
    let kring = &web.kring;
    let list = kring
        .tag_timeline(
            v.actor(),
            std::slice::from_ref(&tag),
            Locality::All,
            &q.page(PAGE),
        )
        .await?;
    let keys: Vec<Id> = list.iter().map(|s| s.id).collect();
    let views = kring.status_views(v.actor(), list, Some("public")).await?;
    let c = web
        .chrome(v.0.as_ref(), format!("#{tag}"), "", path_of(&uri))
        .await?;
    render(&Timeline {
        c,
        heading: format!("#{tag}"),
        intro: String::new(),
        tabs: Vec::new(),
        posts: web.cards(v.actor(), &views).await?,
        older: older_link(&format!("/tags/{}", url_encode(&tag)), &keys, PAGE),
        empty: "No public posts with this hashtag yet.",
    })
}

/// A follow/unfollow/block… button on a profile.
pub struct RelAction {
    pub action: &'static str,
    pub label: &'static str,
    pub class: &'static str,
    /// A question the script asks first (without scripts the form just posts).
    pub confirm: &'static str,
}

/// The buttons the relationship calls for, and a line describing a pending request. A
/// request to an account that approves nobody by hand (`locked` false: one on another server
/// whose `Accept` has not arrived yet) is only waiting for that server.
fn relation_actions(r: &Relationship, locked: bool) -> (Vec<RelAction>, Option<&'static str>) {
    let act = |action, label, class| RelAction {
        action,
        label,
        class,
        confirm: if action == "block" {
            "Block this account? You won't see each other's posts, and follows end."
        } else {
            ""
        },
    };
    if r.blocking {
        return (
            vec![act("unblock", "Unblock", "secondary")],
            Some("You block this account."),
        );
    }
    let mut out = Vec::new();
    let mut note = None;
    if r.following {
        out.push(act("unfollow", "Unfollow", "secondary"));
    } else if r.requested {
        out.push(act("unfollow", "Withdraw follow request", "secondary"));
        note = Some(if locked {
            "Follow requested: waiting for approval."
        } else {
            "Follow sent: waiting for their server to confirm it. Reload to see it change to Following."
        });
    } else {
        out.push(act("follow", "Follow", ""));
    }
    if r.muting {
        out.push(act("unmute", "Unmute", "secondary"));
    } else {
        out.push(act("mute", "Mute", "secondary"));
    }
    out.push(act("block", "Block", "danger"));
    (out, note)
}

#[derive(Template)]
#[template(path = "profile.html")]
struct Profile {
    c: Chrome,
    a: AccountCard,
    fields: Vec<FieldView>,
    statuses: i64,
    following: i64,
    followers: i64,
    followed_by: bool,
    /// The viewer follows this account (the follow was accepted).
    following_them: bool,
    /// Each follows the other.
    friend: bool,
    /// The viewer's circles, to put this account in or take it out of.
    circles: Option<ProfileCircles>,
    /// For signed-out visitors, an account of this server: "follow from your server".
    interact_uri: Option<String>,
    is_me: bool,
    /// A group of this server: its page (joining, rules, moderation).
    group_page: Option<String>,
    /// The account moved: where to (its name and profile path).
    moved_to: Option<(String, String)>,
    actions: Vec<RelAction>,
    relation_note: Option<&'static str>,
    with_replies: bool,
    posts: Vec<PostCard>,
    older: Option<String>,
    empty: &'static str,
}

/// A profile's circles control: the viewer's circles, ticked where the account is in them.
pub struct ProfileCircles {
    pub choices: Vec<CircleChoice>,
    /// The titles of those it is in, for the control's summary.
    pub names: String,
}

async fn profile_circles(
    web: &Web,
    viewer: &kring_service::Actor,
    account: Id,
) -> Result<ProfileCircles, kring_core::Error> {
    let kring = &web.kring;
    let all = kring.circles(viewer).await?;
    let with = kring.circles_with(viewer, account).await?;
    let names = with
        .iter()
        .map(|c| c.title.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(ProfileCircles {
        choices: all
            .into_iter()
            .map(|c| CircleChoice {
                checked: with.iter().any(|w| w.id == c.id),
                id: c.id.to_string(),
                title: c.title,
            })
            .collect(),
        names,
    })
}

#[derive(Deserialize, Default)]
pub struct ProfileQuery {
    #[serde(default)]
    max_id: Option<String>,
    #[serde(default)]
    with_replies: Option<String>,
}

/// Whether the request asks for ActivityPub (a server fetching a pasted profile or post link,
/// as Mastodon's search does) rather than a page.
fn wants_activity(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|a| a.contains("application/activity+json") || a.contains("application/ld+json"))
}

/// A local `user` (or `user@this.domain`) from a human URL's `@…`; None for other servers.
fn local_name<'a>(web: &Web, acct: &'a str) -> Option<&'a str> {
    let acct = acct.trim_start_matches('@');
    match acct.split_once('@') {
        None => Some(acct),
        Some((user, domain)) if domain.eq_ignore_ascii_case(&web.kring.config.domain) => Some(user),
        Some(_) => None,
    }
}

/// A human URL asked for ActivityPub: the document's address. Who may read it is the
/// federation door's business there; the address is built from the path alone, so this says
/// nothing about whether the post exists or who may see it.
fn activity_redirect(web: &Web, acct: &str, status: Option<&str>) -> Option<Response> {
    let name = local_name(web, acct)?;
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') || name.is_empty() {
        return None;
    }
    let target = match status {
        None => format!("/users/{name}"),
        Some(raw) if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) => {
            format!("/users/{name}/statuses/{raw}")
        }
        Some(_) => return None,
    };
    let mut res = Redirect::to(&target).into_response();
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    Some(res)
}

pub async fn profile(
    State(web): State<Web>,
    headers: HeaderMap,
    v: MaybeViewer,
    uri: OriginalUri,
    Path(acct): Path<String>,
    Query(q): Query<ProfileQuery>,
) -> WebResult {
    if wants_activity(&headers)
        && let Some(res) = activity_redirect(&web, &acct, None)
    {
        return Ok(res);
    }
    let kring = &web.kring;
    let viewer = v.actor();
    let account = kring.lookup(viewer, &acct).await?;
    let with_replies = q.with_replies.is_some();
    let filter = AccountStatusesFilter {
        exclude_replies: !with_replies,
        ..Default::default()
    };
    let page = PageQuery { max_id: q.max_id }.page(PAGE);
    let list = kring
        .account_statuses(viewer, account.id, filter, None, &page)
        .await?;
    let keys: Vec<Id> = list.iter().map(|s| s.id).collect();
    let views = kring.status_views(viewer, list, Some("account")).await?;
    let is_me = viewer.is_some_and(|a| a.id() == account.id);
    let rel = match viewer {
        Some(a) if !is_me => kring.relationships(a, &[account.id]).await?.pop(),
        _ => None,
    };
    let (actions, relation_note) = rel
        .as_ref()
        .map(|r| relation_actions(r, account.locked))
        .unwrap_or_default();
    // Nobody who blocks the viewer, or whom the viewer blocks, can be in their circles.
    let circles = match (viewer, &rel) {
        (Some(a), Some(r)) if !r.blocking && !r.blocked_by => {
            Some(profile_circles(&web, a, account.id).await?)
        }
        _ => None,
    };
    let base = account_path(&account);
    let older_base = if with_replies {
        format!("{base}?with_replies=1")
    } else {
        base.clone()
    };
    let card = AccountCard::new(kring, &account);
    let mut c = web
        .chrome(
            v.0.as_ref(),
            format!("{} (@{})", card.name, card.handle),
            if is_me { "profile" } else { "" },
            path_of(&uri),
        )
        .await?;
    c.preview = Some(Preview::new(
        &web,
        "profile",
        format!("{} (@{})", card.name, card.handle),
        &card.note_html,
        &card.path,
        &card.avatar,
    ));
    let moved_to = match account.moved_to_id {
        Some(to) => kring.account(to).await.ok().map(|t| {
            (
                format!("@{}", AccountCard::new(kring, &t).handle),
                account_path(&t),
            )
        }),
        None => None,
    };
    render(&Profile {
        c,
        moved_to,
        group_page: (account.group && account.is_local())
            .then(|| super::groups::group_path(account.id)),
        fields: fields(&account),
        statuses: account.statuses_count,
        following: account.following_count,
        followers: account.followers_count,
        followed_by: rel.as_ref().is_some_and(|r| r.followed_by),
        following_them: rel.as_ref().is_some_and(|r| r.following && !r.blocking),
        friend: rel.as_ref().is_some_and(|r| r.is_friend() && !r.blocking),
        circles,
        interact_uri: (viewer.is_none() && account.domain.is_none()).then(|| account.uri.clone()),
        is_me,
        actions,
        relation_note,
        with_replies,
        posts: web.cards(viewer, &views).await?,
        older: older_link(&older_base, &keys, PAGE),
        empty: "No posts to show.",
        a: card,
    })
}

#[derive(Template)]
#[template(path = "accounts.html")]
pub struct Accounts {
    pub c: Chrome,
    pub heading: String,
    pub back: Option<(String, String)>,
    pub accounts: Vec<AccountCard>,
    pub older: Option<String>,
    pub empty: &'static str,
}

async fn connections(
    web: Web,
    v: MaybeViewer,
    uri: OriginalUri,
    acct: String,
    q: PageQuery,
    followers: bool,
) -> WebResult {
    let kring = &web.kring;
    let account = kring.lookup(v.actor(), &acct).await?;
    let list = kring
        .connections(v.actor(), account.id, followers, &q.page(40))
        .await?;
    let keys: Vec<Id> = list.iter().map(|(k, _)| *k).collect();
    let card = AccountCard::new(kring, &account);
    let heading = if followers {
        format!("Followers of {}", card.name)
    } else {
        format!("Followed by {}", card.name)
    };
    let base = format!(
        "{}/{}",
        card.path,
        if followers { "followers" } else { "following" }
    );
    let c = web
        .chrome(v.0.as_ref(), heading.clone(), "", path_of(&uri))
        .await?;
    render(&Accounts {
        c,
        heading,
        back: Some((card.path.clone(), format!("Back to {}", card.name))),
        accounts: list
            .iter()
            .map(|(_, a)| AccountCard::new(kring, a))
            .collect(),
        older: older_link(&base, &keys, 40),
        empty: "Nothing to show here (the list may be hidden).",
    })
}

pub async fn followers(
    State(web): State<Web>,
    v: MaybeViewer,
    uri: OriginalUri,
    Path(acct): Path<String>,
    Query(q): Query<PageQuery>,
) -> WebResult {
    connections(web, v, uri, acct, q, true).await
}

pub async fn following(
    State(web): State<Web>,
    v: MaybeViewer,
    uri: OriginalUri,
    Path(acct): Path<String>,
    Query(q): Query<PageQuery>,
) -> WebResult {
    connections(web, v, uri, acct, q, false).await
}

/// The reply form's state (also used by the compose box on the home page).
pub struct Compose {
    pub label: &'static str,
    pub button: &'static str,
    pub text: String,
    pub spoiler: String,
    pub visibility: Visibility,
    pub options: Vec<super::SelectOption>,
    /// The writer's circles, for "Circles" (ticked: the ones chosen).
    pub circles: Vec<CircleChoice>,
    pub local_only: bool,
    /// A reply to a friends or circle post stays in that audience (the service keeps it so):
    /// the form says so instead of offering a choice.
    pub kept: Option<&'static str>,
    /// A reply to a local-only post stays on this server too.
    pub kept_local: bool,
    pub in_reply_to: Option<String>,
    /// The post quoted (its id, author and text, shown under the form).
    pub quote: Option<QuoteChoice>,
    pub idempotency: String,
    pub back: String,
    pub error: Option<String>,
    /// A word before posting (a reply that will wait for the author's approval).
    pub note: Option<String>,
    /// Who may reply to, boost and favourite the new post.
    pub policy: super::policy::PolicyChoices,
    pub max: usize,
    /// A post to a group (its composer on the group's page): the group decides who reads it.
    pub group: Option<GroupChoice>,
    /// The file inputs (1, 2, …): as many as a post's attachments may be.
    pub attach: Vec<usize>,
    pub description_limit: usize,
}

/// The group a post goes to, in the composer.
pub struct GroupChoice {
    pub id: String,
    /// Who reads it, as the group decides.
    pub audience: String,
}

/// The post a new post quotes, in the composer.
pub struct QuoteChoice {
    pub id: String,
    pub author: String,
    pub content: String,
}

/// One of the writer's circles in the composer.
pub struct CircleChoice {
    pub id: String,
    pub title: String,
    pub checked: bool,
}

impl Compose {
    /// The form for `actor`, starting at `visibility`, with their circles (none ticked).
    pub async fn new(
        web: &Web,
        actor: &kring_service::Actor,
        visibility: Visibility,
        back: &str,
    ) -> Result<Compose, kring_core::Error> {
        let circles: Vec<CircleChoice> = web
            .kring
            .circles(actor)
            .await?
            .into_iter()
            .map(|c| CircleChoice {
                id: c.id.to_string(),
                title: c.title,
                checked: false,
            })
            .collect();
        let defaults = web.kring.policy_defaults(actor).await?;
        let policy = super::policy::PolicyChoices::new(
            "compose",
            "Who can interact with this post",
            &super::policy::composer_default(&defaults, visibility),
        );
        Ok(Compose {
            label: "What's on your mind?",
            button: "Post",
            text: String::new(),
            spoiler: String::new(),
            visibility,
            options: super::compose_options(visibility, !circles.is_empty()),
            circles,
            local_only: false,
            kept: None,
            kept_local: false,
            in_reply_to: None,
            quote: None,
            idempotency: kring_service::auth::random_secret(),
            back: back.to_string(),
            error: None,
            note: None,
            policy,
            max: web.kring.config.max_status_chars,
            group: None,
            attach: (1..=web.kring.config.media.max_attachments).collect(),
            description_limit: web.kring.config.media.description_limit,
        })
    }

    /// A post to `g` (its author a member): the group decides the audience, so the form says
    /// who will read it instead of offering a choice.
    pub fn for_group(&mut self, g: &kring_service::groups::GroupView) {
        let name = crate::view::display_name(&g.account);
        self.group = Some(GroupChoice {
            id: g.group.id.to_string(),
            audience: if g.group.posts_members_only() {
                format!("The members of {name} only: the group keeps its posts for members")
            } else {
                format!("Everyone: posts in {name} are public")
            },
        });
        self.circles.clear();
        self.kept = None;
        self.label = "Write to the group";
        self.button = "Post to the group";
    }

    /// Tick the circles that were chosen (a form shown again).
    pub fn tick(&mut self, chosen: &[Id]) {
        for c in &mut self.circles {
            c.checked = chosen.iter().any(|id| id.to_string() == c.id);
        }
    }

    /// A post quoting `quoted` (a post the writer may read; the service decides whether it
    /// may be quoted when the form is sent).
    pub fn quoting(&mut self, quoted: &kring_service::views::StatusView) {
        self.quote = Some(QuoteChoice {
            id: quoted.status.id.to_string(),
            author: format!("@{}", quoted.account.acct()),
            content: quoted.status.content.clone(),
        });
        self.label = "Your post quoting this one";
    }

    /// A reply to `parent`: a friends or circle post's audience, and a local-only post's
    /// staying here, carry over to the reply whatever is chosen, so the form says so.
    pub fn reply_to(&mut self, parent: &kring_core::model::Status) {
        self.in_reply_to = Some(parent.id.to_string());
        if parent.visibility.is_narrowed() {
            self.visibility = parent.visibility;
            self.kept = Some(match parent.visibility {
                // The author's friends (not the replier's): the audience is the post's.
                Visibility::Friends => {
                    "The friends of the post's author, as for the post you are replying to"
                }
                Visibility::Group => "The group's members, as for the post you are replying to",
                _ => "The same circles as the post you are replying to",
            });
        }
        self.kept_local = parent.local_only;
    }
}

#[derive(Template)]
#[template(path = "thread.html")]
struct Thread {
    c: Chrome,
    ancestors: Vec<PostCard>,
    post: PostCard,
    descendants: Vec<PostCard>,
    compose: Option<Compose>,
    /// Why the viewer may not reply (the author's choice), instead of the reply form.
    reply_closed: Option<String>,
    next: String,
    /// For signed-out visitors, a post of this server: "reply from your server".
    interact_uri: Option<String>,
}

pub async fn thread(
    State(web): State<Web>,
    headers: HeaderMap,
    v: MaybeViewer,
    uri: OriginalUri,
    Path((acct, raw)): Path<(String, String)>,
) -> WebResult {
    if wants_activity(&headers)
        && let Some(res) = activity_redirect(&web, &acct, Some(&raw))
    {
        return Ok(res);
    }
    let kring = &web.kring;
    let viewer = v.actor();
    let status = kring.status(viewer, id(&raw)?).await?;
    // A boost's page is its original's page.
    if let Some(orig) = status.reblog_of_id {
        return Ok(Redirect::to(&format!("/statuses/{orig}")).into_response());
    }
    let view = kring.status_view(viewer, status).await?;
    let canonical = status_path(&view.account.acct(), view.status.id);
    if acct.trim_start_matches('@') != view.account.acct() {
        return Ok(Redirect::to(&canonical).into_response());
    }
    let (up, down) = kring.context(viewer, view.status.id).await?;
    let up = kring.status_views(viewer, up, Some("thread")).await?;
    let down = kring.status_views(viewer, down, Some("thread")).await?;
    let mut post = web.card(viewer, &view).await?;
    post.focus = true;
    let compose = match viewer {
        Some(a) => {
            let mut c = Compose::new(
                &web,
                a,
                reply_visibility(a.user.default_visibility, view.status.visibility),
                &canonical,
            )
            .await?;
            c.label = "Your reply";
            c.button = "Reply";
            c.reply_to(&view.status);
            // Address the author and everyone they mentioned, as Mastodon's compose box does.
            let mut mentions = Vec::new();
            for acc in std::iter::once(&view.account).chain(view.mentions.iter()) {
                if acc.id != a.id() {
                    let m = format!("@{}", acc.acct());
                    if !mentions.contains(&m) {
                        mentions.push(m);
                    }
                }
            }
            if !mentions.is_empty() {
                c.text = format!("{} ", mentions.join(" "));
            }
            if post.reply.approval {
                c.note = Some(
                    "The author approves replies to this post: yours is shown to others once they accept it."
                        .into(),
                );
            }
            Some(c)
        }
        None => None,
    };
    let interact_uri = (viewer.is_none() && view.status.local).then(|| view.status.uri.clone());
    let title = format!("Post by {}", post.author.name);
    let path = path_of(&uri);
    let mut c = web.chrome(v.0.as_ref(), title, "", path.clone()).await?;
    // Previews only for what anyone may read: a followers-only post's text stays out of them.
    if matches!(
        view.status.visibility,
        Visibility::Public | Visibility::Unlisted
    ) {
        c.preview = Some(Preview::new(
            &web,
            "article",
            format!("{} (@{})", post.author.name, post.author.handle),
            &view.status.content,
            &canonical,
            &post.author.avatar,
        ));
    }
    let reply_closed = (viewer.is_some() && !post.reply.offered).then(|| post.reply.why.clone());
    render(&Thread {
        c,
        reply_closed,
        ancestors: web.cards(viewer, &up).await?,
        post,
        descendants: web.cards(viewer, &down).await?,
        compose,
        next: url_encode(&path),
        interact_uri,
    })
}

/// The reply form starts with the narrower of the person's default and the parent's
/// visibility (a suggestion only: the person picks, the service builds the audience).
fn reply_visibility(default: Visibility, parent: Visibility) -> Visibility {
    let rank = |v: Visibility| match v {
        Visibility::Public => 0,
        Visibility::Unlisted => 1,
        Visibility::Private => 2,
        Visibility::Friends => 3,
        Visibility::Circle => 4,
        Visibility::Group => 4,
        Visibility::Direct => 5,
    };
    if rank(parent) > rank(default) {
        parent
    } else {
        default
    }
}

/// `/statuses/{id}`: the post's page, wherever its author lives.
pub async fn status_redirect(
    State(web): State<Web>,
    v: MaybeViewer,
    Path(raw): Path<String>,
) -> WebResult {
    let kring = &web.kring;
    let status = kring.status(v.actor(), id(&raw)?).await?;
    let target = match status.reblog_of_id {
        Some(orig) => kring.status(v.actor(), orig).await?,
        None => status,
    };
    let author = kring.account(target.account_id).await?;
    Ok(Redirect::to(&status_path(&author.acct(), target.id)).into_response())
}
