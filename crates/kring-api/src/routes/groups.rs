//! Groups, in the Truth Social API that Soapbox-family clients speak (docs/api.md lists
//! where Kring differs). Mastodon apps need none of it: a group is an account with
//! `group: true`, following it is joining, and mentioning it posts to it.
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kring_core::model::Account;
use kring_core::{GroupKind, GroupRole, Id, Membership};
use kring_service::groups::{GroupInput, GroupRelationship, GroupUpdate, GroupView};
use kring_service::{Actor, Kring, MemberFilter};
use serde::Deserialize;

use crate::auth::{Auth, MaybeAuth};
use crate::entities::{self, Ctx};
use crate::error::{ApiResult, unprocessable};
use crate::paging::{PageParams, paged};
use crate::params::{Params, ParamsWithFiles, Query, lenient};
use crate::respond::{self, ctx, id};

pub fn routes() -> Router<Kring> {
    Router::new()
        .route("/api/v1/groups", get(index).post(create))
        .route("/api/v1/groups/relationships", get(relationships))
        .route(
            "/api/v1/groups/{id}",
            get(show)
                .patch(update)
                .put(update)
                .delete(delete)
                // Room for an avatar and a header, as a person's profile has.
                .layer(axum::extract::DefaultBodyLimit::max(
                    super::accounts::PROFILE_BODY,
                )),
        )
        .route("/api/v1/groups/{id}/join", post(join))
        .route("/api/v1/groups/{id}/leave", post(leave))
        .route("/api/v1/groups/{id}/memberships", get(memberships))
        .route(
            "/api/v1/groups/{id}/membership_requests",
            get(membership_requests),
        )
        .route(
            "/api/v1/groups/{id}/membership_requests/{account_id}/authorize",
            post(authorize),
        )
        .route(
            "/api/v1/groups/{id}/membership_requests/{account_id}/reject",
            post(reject),
        )
        .route("/api/v1/groups/{id}/kick", post(kick))
        .route(
            "/api/v1/groups/{id}/blocks",
            get(blocks).post(block).delete(unblock),
        )
        .route("/api/v1/groups/{id}/invite", post(invite))
        .route("/api/v1/groups/{id}/promote", post(promote))
        .route("/api/v1/groups/{id}/demote", post(demote))
        .route("/api/v1/groups/{id}/transfer", post(transfer))
        .route(
            "/api/v1/groups/{id}/statuses/{status_id}",
            axum::routing::delete(remove_status),
        )
        .route("/api/v1/groups/{id}/moderation_log", get(moderation_log))
        .route("/api/v1/groups/{id}/reports", get(reports))
        .route(
            "/api/v1/groups/{id}/reports/{report_id}/resolve",
            post(resolve_report),
        )
        .route("/api/v1/timelines/group/{id}", get(timeline))
}

/// The group's JSON, with its owner looked up.
async fn group_json(
    kring: &Kring,
    viewer: Option<&Actor>,
    v: &GroupView,
) -> ApiResult<serde_json::Value> {
    let owner = kring
        .group_members(
            viewer,
            v.group.id,
            Some(GroupRole::Owner),
            &kring_core::model::Page::newest(1),
        )
        .await
        .ok()
        .and_then(|m| m.first().map(|(a, _)| a.id));
    let base = ctx(kring);
    serde_json::to_value(entities::group(
        Ctx::new(&base, kring),
        &v.group,
        &v.account,
        owner,
    ))
    .map_err(|e| kring_core::Error::internal(e).into())
}

async fn groups_json(
    kring: &Kring,
    viewer: Option<&Actor>,
    list: &[GroupView],
) -> ApiResult<Vec<serde_json::Value>> {
    let mut out = Vec::with_capacity(list.len());
    for v in list {
        out.push(group_json(kring, viewer, v).await?);
    }
    Ok(out)
}

/// The groups the viewer is a member of (Truth Social); Kring's `?discover=true` lists this
/// server's public and closed groups instead, newest first.
#[derive(Deserialize)]
struct IndexParams {
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    discover: Option<bool>,
    #[serde(flatten)]
    page: PageParams,
}

async fn index(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<IndexParams>,
) -> ApiResult<Response> {
    let actor = auth.user("read:groups")?;
    let page = q.page.page(20, 40);
    let list = if q.discover == Some(true) {
        kring.discover_groups(Some(actor), &page).await?
    } else {
        kring.my_groups(actor, &page).await?
    };
    let keys: Vec<Id> = list.iter().map(|v| v.group.id).collect();
    let body = groups_json(&kring, Some(actor), &list).await?;
    let base = ctx(&kring);
    Ok(paged(&base, "/api/v1/groups", "", &keys, body))
}

#[derive(Deserialize)]
struct GroupParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    note: Option<String>,
    /// Kring: the group's handle; Truth Social derives it from the name (so does Kring when
    /// it is left out).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    username: Option<String>,
    /// Truth Social: `everyone` (public) or `members_only` (private).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    group_visibility: Option<String>,
    /// Kring: `public`, `closed` or `private` (wins over `group_visibility`).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    kind: Option<String>,
    /// Kring: a closed group's posts are for members only.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    members_only: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    rules: Option<String>,
}

fn kind_of(p: &GroupParams) -> ApiResult<Option<GroupKind>> {
    if let Some(k) = p.kind.as_deref().filter(|k| !k.is_empty()) {
        return GroupKind::parse(k)
            .map(Some)
            .ok_or_else(|| unprocessable("Kind is not included in the list"));
    }
    match p.group_visibility.as_deref().filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some("everyone") => Ok(Some(GroupKind::Public)),
        Some("members_only") => Ok(Some(GroupKind::Private)),
        Some(_) => Err(unprocessable(
            "Group visibility is not included in the list",
        )),
    }
}

/// A handle from a display name, as Truth Social makes its slugs: letters, digits and `_`.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches('_').to_string();
    let mut out = String::new();
    for c in s.chars() {
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    out.chars().take(30).collect()
}

async fn create(
    State(kring): State<Kring>,
    auth: Auth,
    Params(p): Params<GroupParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    let kind = kind_of(&p)?.unwrap_or(GroupKind::Public);
    let display_name = p.display_name.clone().unwrap_or_default();
    let username = match p.username.clone().filter(|u| !u.is_empty()) {
        Some(u) => u,
        None => {
            let s = slug(&display_name);
            if s.is_empty() {
                return Err(unprocessable("Display name can't be blank"));
            }
            s
        }
    };
    let v = kring
        .create_group(
            actor,
            GroupInput {
                username,
                display_name,
                note: p.note.clone().unwrap_or_default(),
                kind,
                members_only: p.members_only.unwrap_or(false),
                rules: p.rules.clone().unwrap_or_default(),
            },
        )
        .await?;
    Ok(Json(group_json(&kring, Some(actor), &v).await?).into_response())
}

async fn show(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:groups")?;
    let v = kring.group(viewer, id(&raw)?).await?;
    Ok(Json(group_json(&kring, viewer, &v).await?).into_response())
}

async fn update(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    ParamsWithFiles(p, mut files): ParamsWithFiles<GroupParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    let v = kring
        .update_group(
            actor,
            id(&raw)?,
            GroupUpdate {
                display_name: p.display_name.clone(),
                note: p.note.clone(),
                kind: kind_of(&p)?,
                members_only: p.members_only,
                rules: p.rules.clone(),
                avatar: files.take("avatar"),
                header: files.take("header"),
            },
        )
        .await?;
    Ok(Json(group_json(&kring, Some(actor), &v).await?).into_response())
}

async fn delete(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    kring.delete_group(actor, id(&raw)?).await?;
    Ok(Json(entities::Empty {}).into_response())
}

async fn relationship_json(
    kring: &Kring,
    actor: &Actor,
    r: &GroupRelationship,
) -> ApiResult<entities::GroupRelationshipJson> {
    let moderates = r
        .membership
        .as_ref()
        .and_then(Membership::role)
        .is_some_and(GroupRole::moderates);
    let pending = moderates
        && !kring
            .group_pending(
                actor,
                r.group,
                MemberFilter::Requested,
                &kring_core::model::Page::newest(1),
            )
            .await?
            .is_empty();
    Ok(entities::group_relationship(
        r.group,
        r.membership.as_ref(),
        pending,
    ))
}

async fn join(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    let r = kring.join_group(actor, id(&raw)?).await?;
    Ok(Json(relationship_json(&kring, actor, &r).await?).into_response())
}

async fn leave(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    let r = kring.leave_group(actor, id(&raw)?).await?;
    Ok(Json(relationship_json(&kring, actor, &r).await?).into_response())
}

#[derive(Deserialize)]
struct IdsParams {
    #[serde(default, deserialize_with = "lenient::ids")]
    id: Vec<Id>,
}

async fn relationships(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<IdsParams>,
) -> ApiResult<Response> {
    let actor = auth.user("read:groups")?;
    let list = kring.group_relationships(actor, &q.id).await?;
    let mut out = Vec::with_capacity(list.len());
    for r in &list {
        out.push(relationship_json(&kring, actor, r).await?);
    }
    Ok(Json(out).into_response())
}

#[derive(Deserialize)]
struct MembershipsParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    role: Option<String>,
    #[serde(flatten)]
    page: PageParams,
}

async fn memberships(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Path(raw): Path<String>,
    Query(q): Query<MembershipsParams>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:groups")?;
    let id = id(&raw)?;
    let role = match q.role.as_deref().filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => Some(
            GroupRole::parse(r).ok_or_else(|| unprocessable("Role is not included in the list"))?,
        ),
    };
    let page = q.page.page(40, 80);
    let members = kring.group_members(viewer, id, role, &page).await?;
    let keys: Vec<Id> = members.iter().map(|(a, _)| a.id).collect();
    let base = ctx(&kring);
    let c = Ctx::new(&base, &kring);
    let body: Vec<_> = members
        .iter()
        .map(|(a, m)| entities::GroupMemberJson {
            id: a.id,
            account: entities::account(c, a),
            role: m.role().map(entities::group_role).unwrap_or("user"),
        })
        .collect();
    Ok(paged(
        &base,
        &format!("/api/v1/groups/{id}/memberships"),
        "",
        &keys,
        body,
    ))
}

async fn pending_list(
    kring: &Kring,
    actor: &Actor,
    id: Id,
    filter: MemberFilter,
    q: &PageParams,
    path: &str,
) -> ApiResult<Response> {
    let page = q.page(40, 80);
    let accounts: Vec<Account> = kring.group_pending(actor, id, filter, &page).await?;
    let keyed: Vec<(Id, Account)> = accounts.into_iter().map(|a| (a.id, a)).collect();
    Ok(respond::keyed_accounts(kring, &keyed, path))
}

async fn membership_requests(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let actor = auth.user("read:groups")?;
    let id = id(&raw)?;
    pending_list(
        &kring,
        actor,
        id,
        MemberFilter::Requested,
        &q,
        &format!("/api/v1/groups/{id}/membership_requests"),
    )
    .await
}

async fn authorize(
    State(kring): State<Kring>,
    auth: Auth,
    Path((raw, account)): Path<(String, String)>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    let (gid, aid) = (id(&raw)?, id(&account)?);
    kring.authorize_group_request(actor, gid, aid).await?;
    Ok(Json(entities::Empty {}).into_response())
}

async fn reject(
    State(kring): State<Kring>,
    auth: Auth,
    Path((raw, account)): Path<(String, String)>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    let (gid, aid) = (id(&raw)?, id(&account)?);
    kring.reject_group_request(actor, gid, aid).await?;
    Ok(Json(entities::Empty {}).into_response())
}

#[derive(Deserialize)]
struct AccountIds {
    #[serde(default, deserialize_with = "lenient::ids")]
    account_ids: Vec<Id>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    role: Option<String>,
}

impl AccountIds {
    fn required(&self) -> ApiResult<&[Id]> {
        if self.account_ids.is_empty() {
            return Err(unprocessable("account_ids can't be blank"));
        }
        Ok(&self.account_ids)
    }
}

async fn kick(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<AccountIds>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    kring
        .kick_from_group(actor, id(&raw)?, p.required()?)
        .await?;
    Ok(Json(entities::Empty {}).into_response())
}

async fn blocks(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let actor = auth.user("read:groups")?;
    let id = id(&raw)?;
    pending_list(
        &kring,
        actor,
        id,
        MemberFilter::Banned,
        &q,
        &format!("/api/v1/groups/{id}/blocks"),
    )
    .await
}

async fn block(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<AccountIds>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    kring
        .ban_from_group(actor, id(&raw)?, p.required()?)
        .await?;
    Ok(Json(entities::Empty {}).into_response())
}

async fn unblock(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<AccountIds>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    kring
        .unban_from_group(actor, id(&raw)?, p.required()?)
        .await?;
    Ok(Json(entities::Empty {}).into_response())
}

async fn invite(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<AccountIds>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    let gid = id(&raw)?;
    for &a in p.required()? {
        kring.invite_to_group(actor, gid, a).await?;
    }
    Ok(Json(entities::Empty {}).into_response())
}

/// The members after a role change, in Truth Social's shape.
async fn members_json(kring: &Kring, actor: &Actor, gid: Id, ids: &[Id]) -> ApiResult<Response> {
    let members = kring
        .group_members(
            Some(actor),
            gid,
            None,
            &kring_core::model::Page::newest(1000),
        )
        .await?;
    let base = ctx(kring);
    let c = Ctx::new(&base, kring);
    let body: Vec<_> = members
        .iter()
        .filter(|(a, _)| ids.contains(&a.id))
        .map(|(a, m)| entities::GroupMemberJson {
            id: a.id,
            account: entities::account(c, a),
            role: m.role().map(entities::group_role).unwrap_or("user"),
        })
        .collect();
    Ok(Json(body).into_response())
}

fn role_param(p: &AccountIds, default: GroupRole) -> ApiResult<GroupRole> {
    match p.role.as_deref().filter(|r| !r.is_empty()) {
        None => Ok(default),
        Some(r) => {
            GroupRole::parse(r).ok_or_else(|| unprocessable("Role is not included in the list"))
        }
    }
}

async fn promote(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<AccountIds>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    let gid = id(&raw)?;
    let role = role_param(&p, GroupRole::Admin)?;
    kring
        .promote_in_group(actor, gid, p.required()?, role)
        .await?;
    members_json(&kring, actor, gid, &p.account_ids).await
}

async fn demote(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<AccountIds>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    let gid = id(&raw)?;
    let role = role_param(&p, GroupRole::Member)?;
    kring
        .demote_in_group(actor, gid, p.required()?, role)
        .await?;
    members_json(&kring, actor, gid, &p.account_ids).await
}

#[derive(Deserialize)]
struct TransferParams {
    #[serde(default, deserialize_with = "lenient::opt_id")]
    account_id: Option<Id>,
}

/// Kring: hand the group to another member.
async fn transfer(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<TransferParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    let to = p
        .account_id
        .ok_or_else(|| unprocessable("account_id can't be blank"))?;
    let v = kring.transfer_group(actor, id(&raw)?, to).await?;
    Ok(Json(group_json(&kring, Some(actor), &v).await?).into_response())
}

async fn timeline(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Path(raw): Path<String>,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:statuses")?;
    let gid = id(&raw)?;
    let page = q.page(20, 40);
    let list = kring.group_timeline(viewer, gid, &page).await?;
    respond::statuses(
        &kring,
        viewer,
        list,
        Some("public"),
        &format!("/api/v1/timelines/group/{gid}"),
        "",
    )
    .await
}

#[derive(Deserialize)]
struct RemoveParams {
    /// Kring: why, shown in the group's log and sent as the removal's `summary`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    reason: Option<String>,
}

/// Truth Social: a moderator removes a post from the group (the post stays its author's).
async fn remove_status(
    State(kring): State<Kring>,
    auth: Auth,
    Path((raw, status)): Path<(String, String)>,
    Params(p): Params<RemoveParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    let (gid, sid) = (id(&raw)?, id(&status)?);
    kring
        .remove_group_post(actor, gid, sid, p.reason.as_deref().unwrap_or(""))
        .await?;
    Ok(Json(entities::Empty {}).into_response())
}

/// Kring: the group's moderation log, newest first (its admins and owner).
async fn moderation_log(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let actor = auth.user("read:groups")?;
    let gid = id(&raw)?;
    let (entries, accounts) = kring
        .group_moderation_log(actor, gid, &q.page(40, 200))
        .await?;
    let base = ctx(&kring);
    let c = Ctx::new(&base, &kring);
    let find = |a: Option<Id>| {
        a.and_then(|a| accounts.iter().find(|x| x.id == a))
            .map(|a| entities::account(c, a))
    };
    let body: Vec<_> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id.to_string(),
                "action": e.action.as_str(),
                "created_at": kring_core::time::rfc3339(e.created_at),
                "account": find(e.actor_id),
                "target_account": find(e.target_account_id),
                "status_id": e.target_status_id.map(|s| s.to_string()),
                "reason": e.reason,
            })
        })
        .collect();
    let keys: Vec<Id> = entries.iter().map(|e| e.id).collect();
    Ok(paged(
        &base,
        &format!("/api/v1/groups/{gid}/moderation_log"),
        "",
        &keys,
        body,
    ))
}

#[derive(Deserialize)]
struct ReportsParams {
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    resolved: Option<bool>,
}

/// Kring: reports about posts in the group (its moderators), as Mastodon's Report entity.
async fn reports(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(q): Query<ReportsParams>,
) -> ApiResult<Response> {
    let actor = auth.user("read:groups")?;
    let list = kring
        .group_reports(actor, id(&raw)?, q.resolved.unwrap_or(false))
        .await?;
    let base = ctx(&kring);
    let c = Ctx::new(&base, &kring);
    let body: Vec<_> = list
        .iter()
        .map(|v| entities::report(c, &v.report, &v.target))
        .collect();
    Ok(Json(body).into_response())
}

async fn resolve_report(
    State(kring): State<Kring>,
    auth: Auth,
    Path((raw, report)): Path<(String, String)>,
) -> ApiResult<Response> {
    let actor = auth.user("write:groups")?;
    kring
        .resolve_group_report(actor, id(&raw)?, id(&report)?)
        .await?;
    Ok(Json(entities::Empty {}).into_response())
}
