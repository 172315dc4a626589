//! Accounts, relationships and the per-user lists (follow requests, blocks, mutes, favourites…).
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use kring_core::Id;
use kring_service::Kring;
use kring_service::accounts::{CredentialsUpdate, Registration};
use kring_service::{AccountStatusesFilter, Edge};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Auth, MaybeAuth};
use crate::client::Client;
use crate::entities::{self, Ctx};
use crate::error::{ApiError, ApiResult, unprocessable};
use crate::paging::PageParams;
use crate::params::{Params, ParamsWithFiles, Query, lenient};
use crate::respond::{self, ctx, id};

pub fn routes() -> Router<Kring> {
    Router::new()
        .route("/api/v1/accounts", post(register))
        .route(
            "/api/v1/accounts/verify_credentials",
            get(verify_credentials),
        )
        .route(
            "/api/v1/accounts/update_credentials",
            patch(update_credentials)
                .put(update_credentials)
                // Room for an avatar and a header (docs/media.md).
                .layer(axum::extract::DefaultBodyLimit::max(PROFILE_BODY)),
        )
        .route("/api/v1/profile/avatar", delete(remove_avatar))
        .route("/api/v1/profile/header", delete(remove_header))
        .route("/api/v1/accounts/relationships", get(relationships))
        .route(
            "/api/v1/accounts/familiar_followers",
            get(familiar_followers),
        )
        .route("/api/v1/accounts/search", get(search))
        .route("/api/v1/accounts/delete", post(delete_account))
        .route("/api/v1/accounts/alias", post(set_aliases))
        .route("/api/v1/accounts/move", post(move_account))
        .route(
            "/api/v1/import",
            post(import)
                // A Mastodon CSV of tens of thousands of rows.
                .layer(axum::extract::DefaultBodyLimit::max(IMPORT_BODY)),
        )
        .route("/api/v1/accounts/lookup", get(lookup))
        .route("/api/v1/accounts/{id}", get(show))
        .route("/api/v1/accounts/{id}/statuses", get(statuses))
        .route("/api/v1/accounts/{id}/followers", get(followers))
        .route("/api/v1/accounts/{id}/following", get(following))
        .route("/api/v1/accounts/{id}/lists", get(lists))
        .route("/api/v1/accounts/{id}/featured_tags", get(featured_tags))
        .route("/api/v1/accounts/{id}/endorsements", get(endorsements_of))
        .route("/api/v1/accounts/{id}/follow", post(follow))
        .route("/api/v1/accounts/{id}/unfollow", post(unfollow))
        .route(
            "/api/v1/accounts/{id}/remove_from_followers",
            post(remove_from_followers),
        )
        .route("/api/v1/accounts/{id}/block", post(block))
        .route("/api/v1/accounts/{id}/unblock", post(unblock))
        .route("/api/v1/accounts/{id}/mute", post(mute))
        .route("/api/v1/accounts/{id}/unmute", post(unmute))
        .route("/api/v1/accounts/{id}/pin", post(endorse))
        .route("/api/v1/accounts/{id}/unpin", post(unendorse))
        .route("/api/v1/accounts/{id}/endorse", post(endorse))
        .route("/api/v1/accounts/{id}/unendorse", post(unendorse))
        .route("/api/v1/accounts/{id}/note", post(note))
        .route("/api/v1/follow_requests", get(follow_requests))
        .route("/api/v1/friends", get(friends))
        .route("/api/v1/follow_requests/{id}/authorize", post(authorize))
        .route("/api/v1/follow_requests/{id}/reject", post(reject))
        .route("/api/v1/blocks", get(blocks))
        .route("/api/v1/mutes", get(mutes))
        .route("/api/v1/endorsements", get(endorsements))
        .route("/api/v1/bookmarks", get(bookmarks))
        .route("/api/v1/favourites", get(favourites))
}

#[derive(Deserialize)]
struct RegisterParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    username: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    email: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    password: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    agreement: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    locale: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    reason: Option<String>,
}

async fn register(
    State(kring): State<Kring>,
    Client(client): Client,
    auth: Auth,
    Params(p): Params<RegisterParams>,
) -> ApiResult<Response> {
    kring.limits.sign_up(client)?;
    let grant = auth.app_scope("write:accounts")?;
    let app_id = grant
        .token
        .app_id
        .ok_or(ApiError(kring_core::Error::Unauthorized))?;
    let app = kring
        .store
        .app(app_id)
        .await?
        .ok_or(ApiError(kring_core::Error::Unauthorized))?;
    let reg = Registration {
        username: p.username.unwrap_or_default(),
        email: p.email.unwrap_or_default(),
        password: p.password.unwrap_or_default(),
        agreement: p.agreement.unwrap_or(false),
        locale: p.locale.unwrap_or_default(),
        reason: p.reason,
    };
    let (_actor, token) = kring.register(&app, reg, Some(&app.scopes)).await?;
    Ok(Json(json!({
        "access_token": token.access_token,
        "token_type": "Bearer",
        "scope": token.scopes.to_string(),
        "created_at": token.created_at / 1_000_000,
        "refresh_token": token.refresh_token,
    }))
    .into_response())
}

async fn verify_credentials(State(kring): State<Kring>, auth: Auth) -> ApiResult<Response> {
    let actor = auth.user("read:accounts")?;
    let requests = kring.follow_request_count(actor).await?;
    let account = kring.account(actor.id()).await?;
    let user = kring
        .store
        .user(actor.id())
        .await?
        .ok_or(ApiError(kring_core::Error::Unauthorized))?;
    let base = ctx(&kring);
    Ok(Json(entities::credential_account(
        Ctx::new(&base, &kring),
        &account,
        &user,
        requests,
    ))
    .into_response())
}

#[derive(Deserialize)]
struct CredentialsParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    note: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    locked: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    bot: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    discoverable: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    indexable: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    hide_collections: Option<bool>,
    #[serde(default, deserialize_with = "lenient::objects")]
    fields_attributes: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
    #[serde(default)]
    source: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The largest `update_credentials` body: two pictures of Mastodon's 8 MB limit for avatars
/// and headers, and the form.
pub(crate) const PROFILE_BODY: usize = 17 * 1024 * 1024;

async fn update_credentials(
    State(kring): State<Kring>,
    auth: Auth,
    ParamsWithFiles(p, mut files): ParamsWithFiles<CredentialsParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:accounts")?;
    let source = p.source.unwrap_or_default();
    let privacy = match source.get("privacy").and_then(|v| v.as_str()) {
        None => None,
        Some(v) => Some(
            kring_core::Visibility::parse(v)
                .ok_or_else(|| unprocessable("Privacy is not a valid visibility"))?,
        ),
    };
    let fields = p.fields_attributes.map(|list| {
        list.into_iter()
            .map(|f| {
                let get = |k: &str| f.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                (get("name"), get("value"))
            })
            .collect()
    });
    let update = CredentialsUpdate {
        display_name: p.display_name,
        note: p.note,
        fields,
        bot: p.bot,
        locked: p.locked,
        discoverable: p.discoverable,
        indexable: p.indexable,
        hide_collections: p.hide_collections,
        privacy,
        sensitive: lenient::value_bool(source.get("sensitive")),
        language: source
            .get("language")
            .and_then(|v| v.as_str())
            .map(str::to_string),
    };
    // The pictures first (checked, cut and stored); the update then announces them too.
    let (avatar, header) = (files.take("avatar"), files.take("header"));
    if avatar.is_some() || header.is_some() {
        kring.set_profile_images(actor, avatar, header).await?;
    }
    kring.update_credentials(actor, update).await?;
    verify_credentials(State(kring), auth).await
}

/// Mastodon 4.2's `DELETE /api/v1/profile/avatar`: back to the default picture; answers the
/// CredentialAccount.
async fn remove_avatar(State(kring): State<Kring>, auth: Auth) -> ApiResult<Response> {
    let actor = auth.user("write:accounts")?;
    kring.remove_profile_image(actor, false).await?;
    verify_credentials(State(kring), auth).await
}

/// Mastodon 4.2's `DELETE /api/v1/profile/header`.
async fn remove_header(State(kring): State<Kring>, auth: Auth) -> ApiResult<Response> {
    let actor = auth.user("write:accounts")?;
    kring.remove_profile_image(actor, true).await?;
    verify_credentials(State(kring), auth).await
}

#[derive(Deserialize)]
struct IdsQuery {
    #[serde(default, deserialize_with = "lenient::ids")]
    id: Vec<Id>,
}

async fn relationships(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<IdsQuery>,
) -> ApiResult<Response> {
    let actor = auth.user("read:follows")?;
    let rels = kring.relationships(actor, &q.id).await?;
    Ok(Json(rels.iter().map(entities::relationship).collect::<Vec<_>>()).into_response())
}

async fn familiar_followers(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<IdsQuery>,
) -> ApiResult<Response> {
    let actor = auth.user("read:follows")?;
    let found = kring.familiar_followers(actor, &q.id).await?;
    let base = ctx(&kring);
    let c = Ctx::new(&base, &kring);
    Ok(Json(
        found
            .iter()
            .map(|(id, accounts)| json!({ "id": id, "accounts": accounts.iter().map(|a| entities::account(c, a)).collect::<Vec<_>>() }))
            .collect::<Vec<_>>(),
    )
    .into_response())
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default, deserialize_with = "lenient::count")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "lenient::count")]
    offset: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    following: Option<bool>,
}

async fn search(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Response> {
    let actor = auth.user("read:accounts")?;
    let found = kring
        .search_accounts(
            Some(actor),
            &q.q,
            q.following.unwrap_or(false),
            q.limit.unwrap_or(40).clamp(1, 80),
            q.offset.unwrap_or(0).max(0),
        )
        .await?;
    Ok(respond::accounts(&kring, &found))
}

#[derive(Deserialize)]
struct LookupQuery {
    #[serde(default)]
    acct: String,
}

async fn lookup(
    State(kring): State<Kring>,
    Client(client): Client,
    auth: MaybeAuth,
    Query(q): Query<LookupQuery>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:accounts")?;
    // A handle with a domain may be fetched from that server.
    if q.acct.trim().trim_start_matches('@').contains('@') {
        kring.limits.lookup(client, viewer.map(|v| v.id()))?;
    }
    let a = kring.lookup(viewer, &q.acct).await?;
    Ok(respond::account(&kring, &a))
}

async fn show(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:accounts")?;
    let a = kring.view_account(viewer, id(&raw)?).await?;
    // A moved account names its new home (Mastodon's `moved`), as apps show on its profile.
    let moved = match a.moved_to_id {
        Some(to) => kring.view_account(viewer, to).await.ok(),
        None => None,
    };
    let base = respond::ctx(&kring);
    let c = Ctx::new(&base, &kring);
    let mut json = entities::account(c, &a);
    json.moved = moved.as_ref().map(|m| Box::new(entities::account(c, m)));
    Ok(Json(json).into_response())
}

#[derive(Deserialize)]
struct StatusesQuery {
    #[serde(flatten)]
    page: PageParams,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    only_media: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    exclude_replies: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    exclude_reblogs: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pinned: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    tagged: Option<String>,
}

async fn statuses(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Path(raw): Path<String>,
    Query(q): Query<StatusesQuery>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:statuses")?;
    let account = id(&raw)?;
    if q.only_media == Some(true) {
        // No media yet: nothing has attachments.
        return respond::statuses(&kring, viewer, Vec::new(), None, "", "").await;
    }
    let filter = AccountStatusesFilter {
        exclude_replies: q.exclude_replies.unwrap_or(false),
        exclude_reblogs: q.exclude_reblogs.unwrap_or(false),
        pinned: q.pinned.unwrap_or(false),
    };
    let list = kring
        .account_statuses(
            viewer,
            account,
            filter,
            q.tagged.as_deref(),
            &q.page.page(20, 40),
        )
        .await?;
    let path = format!("/api/v1/accounts/{account}/statuses");
    respond::statuses(&kring, viewer, list, Some("account"), &path, "").await
}

async fn followers(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Path(raw): Path<String>,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:accounts")?;
    let account = id(&raw)?;
    let list = kring
        .connections(viewer, account, true, &q.page(40, 80))
        .await?;
    Ok(respond::keyed_accounts(
        &kring,
        &list,
        &format!("/api/v1/accounts/{account}/followers"),
    ))
}

async fn following(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Path(raw): Path<String>,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:accounts")?;
    let account = id(&raw)?;
    let list = kring
        .connections(viewer, account, false, &q.page(40, 80))
        .await?;
    Ok(respond::keyed_accounts(
        &kring,
        &list,
        &format!("/api/v1/accounts/{account}/following"),
    ))
}

async fn lists(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("read:lists")?;
    let account = id(&raw)?;
    kring.account(account).await?;
    let lists = kring.lists_with(actor, account).await?;
    Ok(Json(lists.iter().map(entities::list).collect::<Vec<_>>()).into_response())
}

async fn featured_tags(State(kring): State<Kring>, Path(raw): Path<String>) -> ApiResult<Response> {
    kring.account(id(&raw)?).await?;
    Ok(Json(json!([])).into_response())
}

async fn endorsements_of(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Path(raw): Path<String>,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    auth.viewer("read:accounts")?;
    let account = id(&raw)?;
    let list = kring.endorsements_of(account, &q.page(40, 80)).await?;
    Ok(respond::keyed_accounts(
        &kring,
        &list,
        &format!("/api/v1/accounts/{account}/endorsements"),
    ))
}

#[derive(Deserialize)]
struct FollowParams {
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    reblogs: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    notify: Option<bool>,
}

fn rel(r: &kring_core::model::Relationship) -> Response {
    Json(entities::relationship(r)).into_response()
}

async fn follow(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<FollowParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:follows")?;
    let target = id(&raw)?;
    Ok(rel(&kring
        .follow(actor, target, p.reblogs, p.notify)
        .await?))
}

async fn unfollow(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:follows")?;
    Ok(rel(&kring.unfollow(actor, id(&raw)?).await?))
}

async fn remove_from_followers(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:follows")?;
    Ok(rel(&kring.remove_from_followers(actor, id(&raw)?).await?))
}

async fn block(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:blocks")?;
    Ok(rel(&kring.block(actor, id(&raw)?).await?))
}

async fn unblock(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:blocks")?;
    Ok(rel(&kring.unblock(actor, id(&raw)?).await?))
}

#[derive(Deserialize)]
struct MuteParams {
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    notifications: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    duration: Option<i64>,
}

async fn mute(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<MuteParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:mutes")?;
    Ok(rel(&kring
        .mute(
            actor,
            id(&raw)?,
            p.notifications.unwrap_or(true),
            p.duration,
        )
        .await?))
}

async fn unmute(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:mutes")?;
    Ok(rel(&kring.unmute(actor, id(&raw)?).await?))
}

async fn endorse(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:accounts")?;
    Ok(rel(&kring.endorse(actor, id(&raw)?, true).await?))
}

async fn unendorse(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:accounts")?;
    Ok(rel(&kring.endorse(actor, id(&raw)?, false).await?))
}

#[derive(Deserialize)]
struct NoteParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    comment: Option<String>,
}

async fn note(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<NoteParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:accounts")?;
    Ok(rel(&kring
        .set_note(actor, id(&raw)?, p.comment.as_deref().unwrap_or(""))
        .await?))
}

async fn own_edge(
    kring: &Kring,
    auth: &Auth,
    scope: &str,
    edge: Edge,
    q: &PageParams,
    path: &str,
) -> ApiResult<Response> {
    let actor = auth.user(scope)?;
    let list = kring.own_edges(actor, edge, &q.page(40, 80)).await?;
    Ok(respond::keyed_accounts(kring, &list, path))
}

async fn follow_requests(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    own_edge(
        &kring,
        &auth,
        "read:follows",
        Edge::FollowRequests,
        &q,
        "/api/v1/follow_requests",
    )
    .await
}

/// Kring: the accounts the viewer follows that follow back (docs/api.md).
async fn friends(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    own_edge(
        &kring,
        &auth,
        "read:follows",
        Edge::Friends,
        &q,
        "/api/v1/friends",
    )
    .await
}

async fn blocks(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    own_edge(
        &kring,
        &auth,
        "read:blocks",
        Edge::Blocks,
        &q,
        "/api/v1/blocks",
    )
    .await
}

async fn mutes(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    own_edge(
        &kring,
        &auth,
        "read:mutes",
        Edge::Mutes,
        &q,
        "/api/v1/mutes",
    )
    .await
}

async fn endorsements(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    own_edge(
        &kring,
        &auth,
        "read:accounts",
        Edge::Endorsements,
        &q,
        "/api/v1/endorsements",
    )
    .await
}

async fn authorize(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:follows")?;
    Ok(rel(&kring
        .authorize_follow_request(actor, id(&raw)?)
        .await?))
}

async fn reject(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:follows")?;
    Ok(rel(&kring.reject_follow_request(actor, id(&raw)?).await?))
}

async fn bookmarks(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let actor = auth.user("read:bookmarks")?;
    let list = kring.marked(actor, true, &q.page(20, 40)).await?;
    respond::keyed_statuses(&kring, actor, list, "/api/v1/bookmarks").await
}

async fn favourites(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let actor = auth.user("read:favourites")?;
    let list = kring.marked(actor, false, &q.page(20, 40)).await?;
    respond::keyed_statuses(&kring, actor, list, "/api/v1/favourites").await
}

#[derive(Deserialize)]
struct DeleteParams {
    #[serde(default)]
    password: String,
}

/// GoToSocial's `POST /api/v1/accounts/delete`: the person deletes their own account, their
/// password confirming it; 202 once it is done (docs/privacy.md says what remains).
async fn delete_account(
    State(kring): State<Kring>,
    auth: Auth,
    Params(p): Params<DeleteParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:accounts")?;
    if p.password.is_empty() {
        return Err(unprocessable("Password can't be blank"));
    }
    kring.delete_own_account(actor, &p.password).await?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(json!({}))).into_response())
}

#[derive(Deserialize)]
struct AliasParams {
    #[serde(default, deserialize_with = "lenient::strings")]
    also_known_as_uris: Vec<String>,
}

/// GoToSocial's `POST /api/v1/accounts/alias`: the accounts this one is also (the old
/// accounts that may move here), by URI or handle; none clears them. Answers the account.
async fn set_aliases(
    State(kring): State<Kring>,
    auth: Auth,
    Params(p): Params<AliasParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:accounts")?;
    kring.set_aliases(actor, &p.also_known_as_uris).await?;
    verify_credentials(State(kring), auth).await
}

#[derive(Deserialize)]
struct MoveParams {
    #[serde(default)]
    password: String,
    #[serde(default)]
    moved_to_uri: String,
}

/// GoToSocial's `POST /api/v1/accounts/move`: move to `moved_to_uri` (which must name this
/// account as an alias first), the password confirming it; 202 once the `Move` is sent.
async fn move_account(
    State(kring): State<Kring>,
    auth: Auth,
    Params(p): Params<MoveParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:accounts")?;
    if p.password.is_empty() {
        return Err(unprocessable("Password can't be blank"));
    }
    if p.moved_to_uri.trim().is_empty() {
        return Err(unprocessable("Moved to uri can't be blank"));
    }
    kring
        .move_account(actor, &p.password, &p.moved_to_uri)
        .await?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(json!({}))).into_response())
}

/// The largest import file: an archive with its media files (a CSV is held to 4 MiB by the
/// service; larger archives are imported with `kring import`).
const IMPORT_BODY: usize = 128 * 1024 * 1024;

#[derive(Deserialize)]
struct ImportParams {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    mode: Option<String>,
}

/// GoToSocial's `POST /api/v1/import`: a Mastodon CSV (`data`, multipart) of `type`
/// `following`, `blocks`, `mutes`, `domain_blocks`, `bookmarks` or `lists`, in `mode`
/// `merge` (the default) or `overwrite`; read at once (422 for a file Kring cannot read),
/// applied in the background: 202.
async fn import(
    State(kring): State<Kring>,
    auth: Auth,
    ParamsWithFiles(p, mut files): ParamsWithFiles<ImportParams>,
) -> ApiResult<Response> {
    use kring_service::data::import::{ImportFile, ImportMode};
    let actor = auth.user("write:accounts")?;
    let mode = ImportMode::parse(p.mode.as_deref().unwrap_or(""))
        .ok_or_else(|| unprocessable("Mode must be merge or overwrite"))?;
    let data = files
        .take("data")
        .ok_or_else(|| unprocessable("Data can't be blank"))?;
    let file = ImportFile::parse(&p.kind).ok_or_else(|| unprocessable("Type is not supported"))?;
    kring.import(actor, file, mode, &data).await?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(json!({}))).into_response())
}
