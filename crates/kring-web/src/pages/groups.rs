//! Groups (docs/groups.md): the groups page (the viewer's groups, invitations waiting for
//! them, the server's public and closed groups as a plain list, and a form to create one), a
//! group's page (about, rules, where the viewer stands, its composer and timeline), joining
//! and leaving, and the admins' pages (edit, transfer, delete). Who may see and do what is
//! the service's: these pages only ask it and show the answer, refusals included.
use askama::Template;
use axum::extract::{OriginalUri, Path, Query, State};
use kring_core::model::Page;
use kring_core::{Error, GroupKind, GroupRole, Membership, Visibility};
use kring_service::groups::{GroupInput, GroupUpdate, GroupView};
use kring_service::{Actor, Id};
use serde::Deserialize;

use super::public::Compose;
use super::{Tab, form_refusal, form_status, id, path_of, render, render_status, see};
use crate::Web;
use crate::error::{WebError, WebResult};
use crate::session::{MaybeViewer, Posted, Viewer};
use crate::view::{
    Chrome, PageQuery, PostCard, avatar, display_name, excerpt, handle, older_link, safe_back,
};

/// Groups on one page of the discovery list.
const GROUPS_PAGE: usize = 40;
/// Posts on one page of a group's timeline.
const POSTS_PAGE: usize = 20;

/// A group in a list.
pub struct GroupCard {
    pub name: String,
    pub handle: String,
    pub path: String,
    pub avatar: String,
    pub kind: &'static str,
    pub members: i64,
    pub about: String,
    /// Where the viewer stands ("Member", "Admin", "Request sent", …), empty for no relation.
    pub standing: &'static str,
}

impl GroupCard {
    pub fn new(web: &Web, v: &GroupView) -> GroupCard {
        GroupCard {
            name: display_name(&v.account),
            handle: handle(&web.kring, &v.account),
            path: group_path(v.group.id),
            avatar: avatar(&v.account),
            kind: kind_label(v),
            members: v.group.members_count,
            about: excerpt(&v.account.note_html, 200),
            standing: standing_label(v.membership.as_ref()),
        }
    }
}

pub fn group_path(id: Id) -> String {
    format!("/groups/{id}")
}

fn kind_label(v: &GroupView) -> &'static str {
    match v.group.kind {
        GroupKind::Public => "Public group",
        GroupKind::Closed => "Closed group",
        GroupKind::Private => "Private group",
    }
}

/// What the group's kind means for someone deciding whether to join.
fn kind_hint(v: &GroupView) -> &'static str {
    match v.group.kind {
        GroupKind::Public => "Anyone can join. Posts are public.",
        GroupKind::Closed if v.group.members_only => {
            "Moderators approve who joins. Posts are for members only."
        }
        GroupKind::Closed => "Moderators approve who joins. Posts are public.",
        GroupKind::Private => {
            "Joining is by approval or invitation. Posts, members and the timeline are for members only."
        }
    }
}

pub fn role_label(r: GroupRole) -> &'static str {
    match r {
        GroupRole::Owner => "Owner",
        GroupRole::Admin => "Admin",
        GroupRole::Moderator => "Moderator",
        GroupRole::Member => "Member",
    }
}

fn standing_label(m: Option<&Membership>) -> &'static str {
    match m {
        Some(Membership::Member { role, .. }) => role_label(*role),
        Some(Membership::Requested { .. }) => "Request sent",
        Some(Membership::Invited { .. }) => "Invited",
        Some(Membership::Banned { .. }) => "Banned",
        None => "",
    }
}

/// The tabs of a group's pages: its posts, its members (for whoever may see them) and, for
/// moderators, requests, invitations and bans; for admins, its settings.
pub fn group_tabs(v: &GroupView, current: &str) -> Vec<Tab> {
    let base = group_path(v.group.id);
    let role = v.role();
    let mut tabs = vec![("", "Posts")];
    if !v.group.is_hidden() || role.is_some() {
        tabs.push(("/members", "Members"));
    }
    if role.is_some_and(GroupRole::moderates) {
        tabs.extend([
            ("/requests", "Requests"),
            ("/invitations", "Invitations"),
            ("/bans", "Bans"),
            ("/moderation", "Moderation"),
        ]);
    }
    if role.is_some_and(GroupRole::administers) {
        tabs.push(("/edit", "Settings"));
    }
    tabs.into_iter()
        .map(|(suffix, label)| Tab {
            href: format!("{base}{suffix}"),
            label,
            current: suffix == current,
        })
        .collect()
}

/// The head of every group page: name, handle, kind, member count, and the tabs.
pub struct GroupHead {
    pub name: String,
    pub handle: String,
    pub path: String,
    pub profile: String,
    pub avatar: String,
    pub kind: &'static str,
    pub kind_hint: &'static str,
    pub members: i64,
    pub tabs: Vec<Tab>,
}

impl GroupHead {
    pub fn new(web: &Web, v: &GroupView, tab: &str) -> GroupHead {
        GroupHead {
            name: display_name(&v.account),
            handle: handle(&web.kring, &v.account),
            path: group_path(v.group.id),
            profile: crate::view::account_path(&v.account),
            avatar: avatar(&v.account),
            kind: kind_label(v),
            kind_hint: kind_hint(v),
            members: v.group.members_count,
            tabs: group_tabs(v, tab),
        }
    }
}

// --- the groups page ----------------------------------------------------------------------

/// The create (and edit) form's fields, as typed.
#[derive(Deserialize, Default)]
pub struct GroupForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    rules: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    members_only: Option<String>,
}

impl GroupForm {
    fn kind(&self) -> Result<GroupKind, Error> {
        GroupKind::parse(&self.kind).ok_or_else(|| Error::validation("Choose the kind of group"))
    }

    fn is(&self, kind: &str) -> bool {
        self.kind == kind
    }

    fn members_only(&self) -> bool {
        super::checked(&self.members_only)
    }
}

#[derive(Template)]
#[template(path = "groups.html")]
struct Groups {
    c: Chrome,
    signed_in: bool,
    /// The first page of the list (later ones are only more of the server's groups).
    first_page: bool,
    mine: Vec<GroupCard>,
    invitations: Vec<GroupCard>,
    listed: Vec<GroupCard>,
    older: Option<String>,
    /// The create form, for those who may create groups.
    create: Option<GroupForm>,
    error: Option<String>,
}

async fn groups_page(
    web: &Web,
    v: Option<&Viewer>,
    q: &PageQuery,
    path: String,
    create: GroupForm,
    error: Option<String>,
) -> WebResult {
    let kring = &web.kring;
    let actor = v.map(|v| &v.actor);
    let listed = kring.discover_groups(actor, &q.page(GROUPS_PAGE)).await?;
    let keys: Vec<Id> = listed.iter().map(|g| g.group.id).collect();
    let (mine, invitations) = match actor {
        // The first page only: later pages of discovery are only the list.
        Some(a) if q.max_id.is_none() => (
            kring.my_groups(a, &Page::newest(100)).await?,
            kring.group_invitations(a, &Page::newest(100)).await?,
        ),
        _ => (Vec::new(), Vec::new()),
    };
    let cards = |list: &[GroupView]| list.iter().map(|g| GroupCard::new(web, g)).collect();
    let c = web.chrome(v, "Groups", "groups", path).await?;
    render_status(
        form_status(&error),
        &Groups {
            c,
            signed_in: actor.is_some(),
            first_page: q.max_id.is_none(),
            mine: cards(&mine),
            invitations: cards(&invitations),
            listed: cards(&listed),
            older: older_link("/groups", &keys, GROUPS_PAGE),
            create: actor
                .filter(|a| kring.may_create_groups(a) && q.max_id.is_none())
                .map(|_| create),
            error,
        },
    )
}

pub async fn groups(
    State(web): State<Web>,
    v: MaybeViewer,
    uri: OriginalUri,
    Query(q): Query<PageQuery>,
) -> WebResult {
    let form = GroupForm {
        kind: "public".into(),
        ..GroupForm::default()
    };
    groups_page(&web, v.0.as_ref(), &q, path_of(&uri), form, None).await
}

pub async fn create(State(web): State<Web>, p: Posted<GroupForm>) -> WebResult {
    let f = &p.form;
    let result = match f.kind() {
        Ok(kind) => {
            let input = GroupInput {
                username: f.username.clone(),
                display_name: f.display_name.clone(),
                note: f.note.clone(),
                kind,
                members_only: f.members_only(),
                rules: f.rules.clone(),
            };
            web.kring.create_group(&p.viewer.actor, input).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(v) => see(&group_path(v.group.id)),
        Err(e) => {
            let error = form_refusal(e)?;
            let q = PageQuery::default();
            groups_page(
                &web,
                Some(&p.viewer),
                &q,
                "/groups".into(),
                p.form,
                Some(error),
            )
            .await
        }
    }
}

// --- a group's page -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "group.html")]
struct GroupPage {
    c: Chrome,
    g: GroupHead,
    about_html: String,
    rules: Vec<String>,
    signed_in: bool,
    /// The viewer's membership state: "member", "requested", "invited", "banned" or "".
    state: &'static str,
    role: &'static str,
    owner: bool,
    /// Joining is at once (public) rather than a request.
    open: bool,
    error: Option<String>,
    compose: Option<Compose>,
    /// The timeline, or None when the viewer may not see it (a private group's non-members).
    posts: Option<Vec<PostCard>>,
    /// The group's posts are for members, and the viewer is not one.
    members_only_note: bool,
    older: Option<String>,
    empty: &'static str,
}

async fn group_page(
    web: &Web,
    v: Option<&Viewer>,
    gid: Id,
    q: &PageQuery,
    path: String,
    error: Option<String>,
    compose: Option<Compose>,
) -> WebResult {
    let kring = &web.kring;
    let actor = v.map(|v| &v.actor);
    let view = kring.group(actor, gid).await?;
    let member = view.membership.as_ref().is_some_and(Membership::is_member);
    let (posts, older) = match kring.group_timeline(actor, gid, &q.page(POSTS_PAGE)).await {
        Ok(list) => {
            let keys: Vec<Id> = list.iter().map(|s| s.id).collect();
            let views = kring.status_views(actor, list, Some("public")).await?;
            (
                Some(web.cards(actor, &views).await?),
                older_link(&group_path(gid), &keys, POSTS_PAGE),
            )
        }
        // The group was found: its timeline is what is hidden.
        Err(Error::NotFound) => (None, None),
        Err(e) => return Err(e.into()),
    };
    let compose = match (compose, actor) {
        (Some(c), _) => Some(c),
        (None, Some(a)) if member => Some(group_composer(web, a, &view).await?),
        _ => None,
    };
    let c = web
        .chrome(v, display_name(&view.account), "groups", path)
        .await?;
    render_status(
        form_status(&error),
        &GroupPage {
            c,
            g: GroupHead::new(web, &view, ""),
            about_html: view.account.note_html.clone(),
            rules: rule_lines(&view.group.rules),
            signed_in: actor.is_some(),
            state: view
                .membership
                .as_ref()
                .map(Membership::state)
                .unwrap_or(""),
            role: view.role().map(role_label).unwrap_or(""),
            owner: view.role() == Some(GroupRole::Owner),
            open: view.group.kind == GroupKind::Public,
            error,
            compose,
            posts,
            members_only_note: view.group.posts_members_only() && !member,
            older,
            empty: "No posts in this group yet.",
        },
    )
}

/// The group's rules, one per non-empty line.
fn rule_lines(rules: &str) -> Vec<String> {
    rules
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

async fn group_composer(web: &Web, actor: &Actor, v: &GroupView) -> Result<Compose, WebError> {
    let mut compose = Compose::new(web, actor, Visibility::Public, &group_path(v.group.id)).await?;
    compose.for_group(v);
    Ok(compose)
}

pub async fn group(
    State(web): State<Web>,
    v: MaybeViewer,
    uri: OriginalUri,
    Path(raw): Path<String>,
    Query(q): Query<PageQuery>,
) -> WebResult {
    group_page(&web, v.0.as_ref(), id(&raw)?, &q, path_of(&uri), None, None).await
}

/// Join (or ask to, or accept an invitation) and leave (or cancel a request, or decline an
/// invitation): the service decides which, by the group's kind and where the viewer stands.
pub async fn membership_action(
    State(web): State<Web>,
    Path((raw, action)): Path<(String, String)>,
    p: Posted<super::NoFields>,
) -> WebResult {
    let gid = id(&raw)?;
    let actor = &p.viewer.actor;
    let result = match action.as_str() {
        "join" => web.kring.join_group(actor, gid).await,
        "leave" => web.kring.leave_group(actor, gid).await,
        _ => return Err(WebError::not_found()),
    };
    let path = group_path(gid);
    match result {
        Ok(_) => see(&path),
        Err(e) => {
            let error = form_refusal(e)?;
            let q = PageQuery::default();
            group_page(&web, Some(&p.viewer), gid, &q, path, Some(error), None).await
        }
    }
}

// --- settings, transfer, delete (the group's admins and owner) --------------------------------

#[derive(Template)]
#[template(path = "group_edit.html")]
struct EditPage {
    c: Chrome,
    g: GroupHead,
    form: GroupForm,
    owner: bool,
    error: Option<String>,
}

async fn edit_page(
    web: &Web,
    v: &Viewer,
    view: &GroupView,
    form: GroupForm,
    error: Option<String>,
) -> WebResult {
    let path = format!("{}/edit", group_path(view.group.id));
    let c = web
        .chrome(
            Some(v),
            format!("Settings of {}", display_name(&view.account)),
            "groups",
            path,
        )
        .await?;
    render_status(
        form_status(&error),
        &EditPage {
            c,
            g: GroupHead::new(web, view, "/edit"),
            form,
            owner: view.role() == Some(GroupRole::Owner),
            error,
        },
    )
}

/// The settings form (the group's admins: the service refuses anyone else's change, and the
/// form is not offered to them).
pub async fn edit(State(web): State<Web>, v: Viewer, Path(raw): Path<String>) -> WebResult {
    let view = web.kring.group(Some(&v.actor), id(&raw)?).await?;
    if !view.role().is_some_and(GroupRole::administers) {
        return Err(Error::forbidden("Only the group's admins change its settings").into());
    }
    let form = GroupForm {
        username: view.account.username.clone(),
        display_name: view.account.display_name.clone(),
        note: view.account.note.clone(),
        rules: view.group.rules.clone(),
        kind: view.group.kind.as_str().into(),
        members_only: view.group.members_only.then(|| "1".into()),
    };
    edit_page(&web, &v, &view, form, None).await
}

pub async fn save(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<GroupForm>,
) -> WebResult {
    let gid = id(&raw)?;
    let f = &p.form;
    let actor = &p.viewer.actor;
    let result = match f.kind() {
        Ok(kind) => {
            let update = GroupUpdate {
                display_name: Some(f.display_name.clone()),
                note: Some(f.note.clone()),
                kind: Some(kind),
                members_only: Some(f.members_only()),
                rules: Some(f.rules.clone()),
                ..GroupUpdate::default()
            };
            web.kring.update_group(actor, gid, update).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(v) => see(&group_path(v.group.id)),
        Err(e) => {
            let error = form_refusal(e)?;
            let view = web.kring.group(Some(actor), gid).await?;
            edit_page(&web, &p.viewer, &view, p.form, Some(error)).await
        }
    }
}

#[derive(Template)]
#[template(path = "group_confirm.html")]
struct Confirm {
    c: Chrome,
    g: GroupHead,
    heading: String,
    text: String,
    action: String,
    button: &'static str,
    /// The new owner (a transfer).
    account_id: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct TransferQuery {
    #[serde(default)]
    to: Option<String>,
}

/// "Hand the group to …?" on a page of its own (from the members page).
pub async fn confirm_transfer(
    State(web): State<Web>,
    v: Viewer,
    Path(raw): Path<String>,
    Query(q): Query<TransferQuery>,
) -> WebResult {
    let kring = &web.kring;
    let view = kring.group(Some(&v.actor), id(&raw)?).await?;
    let to = id(q.to.as_deref().unwrap_or_default())?;
    let account = kring.account(to).await?;
    let name = display_name(&view.account);
    let path = format!("{}/transfer", group_path(view.group.id));
    let c = web
        .chrome(Some(&v), "Transfer ownership?", "groups", path.clone())
        .await?;
    render(&Confirm {
        c,
        g: GroupHead::new(&web, &view, "/members"),
        heading: "Transfer ownership?".into(),
        text: format!(
            "{} (@{}) will own {name}: they alone can then delete it or hand it on. You stay an admin.",
            display_name(&account),
            handle(kring, &account)
        ),
        action: path,
        button: "Transfer ownership",
        account_id: Some(to.to_string()),
    })
}

#[derive(Deserialize)]
pub struct TransferForm {
    #[serde(default)]
    account_id: String,
}

pub async fn transfer(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<TransferForm>,
) -> WebResult {
    let gid = id(&raw)?;
    let to = id(&p.form.account_id)?;
    web.kring.transfer_group(&p.viewer.actor, gid, to).await?;
    see(&format!("{}/members", group_path(gid)))
}

/// "Delete this group?" on a page of its own (the owner; the service refuses anyone else).
pub async fn confirm_delete(
    State(web): State<Web>,
    v: Viewer,
    Path(raw): Path<String>,
) -> WebResult {
    let view = web.kring.group(Some(&v.actor), id(&raw)?).await?;
    let path = format!("{}/delete", group_path(view.group.id));
    let c = web
        .chrome(Some(&v), "Delete this group?", "groups", path.clone())
        .await?;
    render(&Confirm {
        c,
        heading: "Delete this group?".into(),
        text: format!(
            "You are about to delete {}. Its members' posts stay theirs, but a post for members only is then read by its author and the people it mentions only. Servers of its members on other servers are told it is gone. This cannot be undone.",
            display_name(&view.account)
        ),
        g: GroupHead::new(&web, &view, "/edit"),
        action: path,
        button: "Delete group",
        account_id: None,
    })
}

pub async fn delete(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<super::NoFields>,
) -> WebResult {
    web.kring.delete_group(&p.viewer.actor, id(&raw)?).await?;
    see("/groups")
}

/// Where a moderation form returns (its `back` field, this group's members page otherwise).
pub fn back_to(back: Option<&str>, gid: Id) -> String {
    safe_back(back, &format!("{}/members", group_path(gid)))
}

/// New pictures for the group (its admins; a multipart form that works without JavaScript).
pub async fn save_pictures(
    State(web): State<Web>,
    Path(raw): Path<String>,
    mut p: crate::session::PostedFile,
) -> WebResult {
    let gid = id(&raw)?;
    let (avatar, header) = (p.take_picture("avatar"), p.take_picture("header"));
    let result = if avatar.is_none() && header.is_none() {
        Err(Error::validation("Choose an avatar or a header to upload."))
    } else {
        let update = GroupUpdate {
            avatar,
            header,
            ..GroupUpdate::default()
        };
        web.kring.update_group(&p.viewer.actor, gid, update).await
    };
    match result {
        Ok(v) => see(&group_path(v.group.id)),
        Err(e) => {
            let error = form_refusal(e)?;
            let view = web.kring.group(Some(&p.viewer.actor), gid).await?;
            let form = GroupForm {
                username: view.account.username.clone(),
                display_name: view.account.display_name.clone(),
                note: view.account.note.clone(),
                rules: view.group.rules.clone(),
                kind: view.group.kind.as_str().into(),
                members_only: view.group.members_only.then(|| "1".into()),
            };
            edit_page(&web, &p.viewer, &view, form, Some(error)).await
        }
    }
}
