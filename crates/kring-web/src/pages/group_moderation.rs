//! A group's people: its members (with their roles, and for moderators and admins the buttons
//! to remove, ban, promote and demote them), the requests to join, the invitations sent (and
//! a form to invite someone, here or on another server) and the bans. Which buttons show
//! follows the rank rules (nobody acts on an equal or higher role); the service decides, and
//! a refusal comes back on the page with its reason.
use askama::Template;
use axum::extract::{OriginalUri, Path, Query, State};
use kring_core::{GroupRole, Membership};
use kring_service::groups::GroupView;
use kring_service::{Id, MemberFilter};
use serde::Deserialize;

use super::groups::{GroupHead, back_to, group_path, role_label};
use super::{form_refusal, form_status, id, named_account, path_of, render_status, see};
use crate::Web;
use crate::error::{WebError, WebResult};
use crate::session::{MaybeViewer, Posted, Viewer};
use crate::view::{AccountCard, Chrome, PageQuery, display_name, older_link};

/// Accounts on one page of each list.
const PEOPLE_PAGE: usize = 40;

/// Which list a page shows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum People {
    Members,
    Requests,
    Invitations,
    Bans,
}

impl People {
    fn suffix(self) -> &'static str {
        match self {
            People::Members => "/members",
            People::Requests => "/requests",
            People::Invitations => "/invitations",
            People::Bans => "/bans",
        }
    }

    fn title(self) -> &'static str {
        match self {
            People::Members => "Members",
            People::Requests => "Requests to join",
            People::Invitations => "Invitations",
            People::Bans => "Bans",
        }
    }

    fn empty(self) -> &'static str {
        match self {
            People::Members => "No members yet.",
            People::Requests => "No one is waiting to join.",
            People::Invitations => "No invitations are waiting for an answer.",
            People::Bans => "No one is banned.",
        }
    }
}

/// One button beside a person: a form posting to `/groups/ID/members/ACCOUNT/ACTION`.
pub struct PersonAction {
    pub action: &'static str,
    /// The role a promotion or demotion gives.
    pub role: &'static str,
    pub label: String,
    pub class: &'static str,
    pub confirm: String,
}

pub struct PersonRow {
    pub a: AccountCard,
    pub role: &'static str,
    pub actions: Vec<PersonAction>,
    /// The owner may hand the group to this member (a local one).
    pub transfer: bool,
}

#[derive(Template)]
#[template(path = "group_people.html")]
struct PeoplePage {
    c: Chrome,
    g: GroupHead,
    heading: &'static str,
    empty: &'static str,
    intro: &'static str,
    people: Vec<PersonRow>,
    older: Option<String>,
    error: Option<String>,
    /// The invitation form (the invitations page), with what was typed when refused.
    invite: Option<String>,
}

/// The buttons a moderator (`mine`) sees beside a member holding `theirs`: only on a lower
/// role; promoting and demoting for admins, never to one's own rank.
fn member_actions(name: &str, mine: Option<GroupRole>, theirs: GroupRole) -> Vec<PersonAction> {
    let Some(mine) = mine.filter(|m| m.moderates() && m.outranks(theirs)) else {
        return Vec::new();
    };
    let act =
        |action, role: Option<GroupRole>, label: String, class, confirm: String| PersonAction {
            action,
            role: role.map(GroupRole::as_str).unwrap_or(""),
            label,
            class,
            confirm,
        };
    let mut out = Vec::new();
    if mine.administers() {
        for r in [GroupRole::Moderator, GroupRole::Admin] {
            if r > theirs && mine.outranks(r) {
                out.push(act(
                    "promote",
                    Some(r),
                    format!("Make {}", role_label(r).to_lowercase()),
                    "secondary",
                    String::new(),
                ));
            }
        }
        for r in [GroupRole::Moderator, GroupRole::Member] {
            if r < theirs {
                out.push(act(
                    "demote",
                    Some(r),
                    format!("Demote to {}", role_label(r).to_lowercase()),
                    "secondary",
                    String::new(),
                ));
            }
        }
    }
    out.push(act(
        "kick",
        None,
        "Remove".into(),
        "secondary",
        format!("Remove {name} from the group? They may ask to join again."),
    ));
    out.push(act(
        "ban",
        None,
        "Ban".into(),
        "danger",
        format!("Ban {name}? They leave the group and may not join, ask or post until unbanned."),
    ));
    out
}

/// A refused form, shown again on its list: why, and what was typed into "Invite".
#[derive(Default)]
struct Refused {
    error: Option<String>,
    invite: String,
}

async fn people_page(
    web: &Web,
    v: Option<&Viewer>,
    gid: Id,
    which: People,
    q: &PageQuery,
    path: String,
    refused: Refused,
) -> WebResult {
    let Refused { error, invite } = refused;
    let kring = &web.kring;
    let actor = v.map(|v| &v.actor);
    let view: GroupView = kring.group(actor, gid).await?;
    let mine = view.role();
    let page = q.page(PEOPLE_PAGE);
    let list: Vec<(kring_core::model::Account, Option<Membership>)> = match which {
        People::Members => kring
            .group_members(actor, gid, None, &page)
            .await?
            .into_iter()
            .map(|(a, m)| (a, Some(m)))
            .collect(),
        _ => {
            let Some(actor) = actor else {
                return Err(WebError::not_found());
            };
            let filter = match which {
                People::Requests => MemberFilter::Requested,
                People::Invitations => MemberFilter::Invited,
                _ => MemberFilter::Banned,
            };
            kring
                .group_pending(actor, gid, filter, &page)
                .await?
                .into_iter()
                .map(|a| (a, None))
                .collect()
        }
    };
    let keys: Vec<Id> = list.iter().map(|(a, _)| a.id).collect();
    let people = list
        .iter()
        .map(|(a, m)| {
            let card = AccountCard::new(kring, a);
            let name = card.name.clone();
            let role = m.as_ref().and_then(Membership::role);
            let actions = match which {
                People::Members => role
                    .map(|r| member_actions(&name, mine, r))
                    .unwrap_or_default(),
                People::Requests => vec![
                    PersonAction {
                        action: "approve",
                        role: "",
                        label: "Approve".into(),
                        class: "",
                        confirm: String::new(),
                    },
                    PersonAction {
                        action: "reject",
                        role: "",
                        label: "Reject".into(),
                        class: "secondary",
                        confirm: String::new(),
                    },
                ],
                People::Invitations => vec![PersonAction {
                    action: "kick",
                    role: "",
                    label: "Withdraw invitation".into(),
                    class: "secondary",
                    confirm: String::new(),
                }],
                People::Bans => vec![PersonAction {
                    action: "unban",
                    role: "",
                    label: "Unban".into(),
                    class: "secondary",
                    confirm: String::new(),
                }],
            };
            PersonRow {
                transfer: mine == Some(GroupRole::Owner)
                    && role.is_some_and(|r| r != GroupRole::Owner)
                    && a.is_local(),
                role: role.map(role_label).unwrap_or(""),
                a: card,
                actions,
            }
        })
        .collect();
    let base = format!("{}{}", group_path(gid), which.suffix());
    let c = web
        .chrome(
            v,
            format!("{} of {}", which.title(), display_name(&view.account)),
            "groups",
            path,
        )
        .await?;
    render_status(
        form_status(&error),
        &PeoplePage {
            c,
            g: GroupHead::new(web, &view, which.suffix()),
            heading: which.title(),
            empty: which.empty(),
            intro: match which {
                People::Members => "",
                People::Requests => {
                    "People who asked to join. Approving makes them members at once; rejecting tells them no."
                }
                People::Invitations => {
                    "Someone invited joins when they accept, without waiting for approval."
                }
                People::Bans => {
                    "Banned people may not join, ask to join or post here. Unbanning lets them ask again."
                }
            },
            people,
            older: older_link(&base, &keys, PEOPLE_PAGE),
            error,
            invite: (which == People::Invitations).then_some(invite),
        },
    )
}

async fn show(
    web: Web,
    v: MaybeViewer,
    uri: OriginalUri,
    raw: String,
    q: PageQuery,
    which: People,
) -> WebResult {
    people_page(
        &web,
        v.0.as_ref(),
        id(&raw)?,
        which,
        &q,
        path_of(&uri),
        Refused::default(),
    )
    .await
}

pub async fn members(
    State(web): State<Web>,
    v: MaybeViewer,
    uri: OriginalUri,
    Path(raw): Path<String>,
    Query(q): Query<PageQuery>,
) -> WebResult {
    show(web, v, uri, raw, q, People::Members).await
}

pub async fn requests(
    State(web): State<Web>,
    v: Viewer,
    uri: OriginalUri,
    Path(raw): Path<String>,
    Query(q): Query<PageQuery>,
) -> WebResult {
    show(web, MaybeViewer(Some(v)), uri, raw, q, People::Requests).await
}

pub async fn invitations(
    State(web): State<Web>,
    v: Viewer,
    uri: OriginalUri,
    Path(raw): Path<String>,
    Query(q): Query<PageQuery>,
) -> WebResult {
    show(web, MaybeViewer(Some(v)), uri, raw, q, People::Invitations).await
}

pub async fn bans(
    State(web): State<Web>,
    v: Viewer,
    uri: OriginalUri,
    Path(raw): Path<String>,
    Query(q): Query<PageQuery>,
) -> WebResult {
    show(web, MaybeViewer(Some(v)), uri, raw, q, People::Bans).await
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    acct: String,
}

/// Invite someone by handle (`user`, or `user@server` for someone elsewhere, looked up as the
/// search page does).
pub async fn invite(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<InviteForm>,
) -> WebResult {
    let gid = id(&raw)?;
    let actor = &p.viewer.actor;
    let result = match named_account(&web, actor, &p.form.acct).await {
        Ok(a) => web.kring.invite_to_group(actor, gid, a).await,
        Err(e) => Err(e),
    };
    let path = format!("{}/invitations", group_path(gid));
    match result {
        Ok(()) => see(&path),
        Err(e) => {
            let error = form_refusal(e)?;
            let q = PageQuery::default();
            let refused = Refused {
                error: Some(error),
                invite: p.form.acct.trim().to_string(),
            };
            people_page(
                &web,
                Some(&p.viewer),
                gid,
                People::Invitations,
                &q,
                path,
                refused,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct PersonForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    back: Option<String>,
}

/// A moderator's action on one person: approve, reject, kick (also withdrawing an
/// invitation), ban, unban, promote, demote.
pub async fn person_action(
    State(web): State<Web>,
    Path((raw, account, action)): Path<(String, String, String)>,
    p: Posted<PersonForm>,
) -> WebResult {
    let kring = &web.kring;
    let actor = &p.viewer.actor;
    let gid = id(&raw)?;
    let who = id(&account)?;
    let role = || {
        GroupRole::parse(&p.form.role).ok_or_else(|| kring_core::Error::validation("Choose a role"))
    };
    let (result, which) = match action.as_str() {
        "approve" => (
            kring.authorize_group_request(actor, gid, who).await,
            People::Requests,
        ),
        "reject" => (
            kring.reject_group_request(actor, gid, who).await,
            People::Requests,
        ),
        "kick" => (
            kring.kick_from_group(actor, gid, &[who]).await,
            People::Members,
        ),
        "ban" => (
            kring.ban_from_group(actor, gid, &[who]).await,
            People::Members,
        ),
        "unban" => (
            kring.unban_from_group(actor, gid, &[who]).await,
            People::Bans,
        ),
        "promote" => match role() {
            Ok(r) => (
                kring.promote_in_group(actor, gid, &[who], r).await,
                People::Members,
            ),
            Err(e) => (Err(e), People::Members),
        },
        "demote" => match role() {
            Ok(r) => (
                kring.demote_in_group(actor, gid, &[who], r).await,
                People::Members,
            ),
            Err(e) => (Err(e), People::Members),
        },
        _ => return Err(WebError::not_found()),
    };
    let back = back_to(p.form.back.as_deref(), gid);
    match result {
        Ok(()) => see(&back),
        Err(e) => {
            let error = form_refusal(e)?;
            // Shown on the list the button was on (withdrawing an invitation is a kick).
            let which = if which == People::Members && back.ends_with("/invitations") {
                People::Invitations
            } else {
                which
            };
            let path = format!("{}{}", group_path(gid), which.suffix());
            let q = PageQuery::default();
            let refused = Refused {
                error: Some(error),
                invite: String::new(),
            };
            people_page(&web, Some(&p.viewer), gid, which, &q, path, refused).await
        }
    }
}
