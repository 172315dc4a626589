//! The pages. Each handler parses the request, calls the service and renders a template; form
//! posts answer with a redirect (POST-redirect-GET), or with a small JSON body when the page's
//! script asked for one (in-place actions).
use askama::Template;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};

use crate::Web;
use crate::assets;
use crate::error::{WebError, WebResult};

mod admin;
mod auth;
mod chats;
mod circles;
mod edit;
mod export;
mod filters;
mod group_moderation;
mod group_review;
mod groups;
mod home;
mod interact;
mod media;
pub mod policy;
mod public;
mod report;
mod settings;
mod social;

pub fn routes() -> Router<Web> {
    Router::new()
        // Signed-out pages (public posts and profiles only).
        .route("/", get(public::landing))
        .route("/public", get(public::public_timeline))
        .route("/tags/{tag}", get(public::tag))
        .route("/@{acct}", get(public::profile))
        .route("/@{acct}/followers", get(public::followers))
        .route("/@{acct}/following", get(public::following))
        .route("/@{acct}/{id}", get(public::thread))
        .route("/@{acct}/{id}/history", get(edit::history))
        .route("/statuses/{id}", get(public::status_redirect))
        .route("/static/{name}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        // Interacting from another server (and arriving here from one).
        .route("/interact", post(interact::interact))
        .route(
            "/authorize_interaction",
            get(interact::authorize_interaction),
        )
        .route("/proxy/accounts/{id}/{which}", get(media::profile_image))
        // Sessions.
        .route("/auth/sign_up", get(auth::sign_up_page).post(auth::sign_up))
        .route("/auth/sign_in", get(auth::sign_in_page).post(auth::sign_in))
        .route("/auth/sign_out", post(auth::sign_out))
        // Signed-in pages.
        .route("/home", get(home::home))
        .route("/statuses", get(home::compose_page).post(home::create))
        .route(
            "/statuses/{id}/edit",
            get(edit::edit_page).post(edit::save_edit),
        )
        .route(
            "/statuses/{id}/{action}",
            get(home::status_action_address).post(home::status_action),
        )
        .route("/favourites", get(home::favourites))
        .route("/bookmarks", get(home::bookmarks))
        .route("/notifications", get(social::notifications))
        .route("/notifications/clear", post(social::clear_notifications))
        .route("/follow_requests", get(social::follow_requests))
        .route("/interaction_requests", get(policy::queue))
        .route("/interaction_requests/{id}/{action}", post(policy::answer))
        .route(
            "/follow_requests/{id}/{action}",
            post(social::answer_follow_request),
        )
        .route(
            "/accounts/{id}/report",
            get(report::report_page).post(report::file_report),
        )
        .route("/accounts/{id}/circles", post(circles::set_circles))
        .route("/accounts/{id}/{action}", post(social::account_action))
        .route("/search", get(social::search))
        .route("/lists", get(social::lists).post(social::create_list))
        .route("/lists/{id}", get(social::list).post(social::change_list))
        .route("/lists/{id}/rename", post(social::rename_list))
        .route("/lists/{id}/delete", post(social::delete_list))
        .route("/lists/{id}/members", post(social::add_member))
        .route(
            "/lists/{id}/members/{account}/remove",
            post(social::remove_member),
        )
        .route("/groups", get(groups::groups).post(groups::create))
        .route("/groups/{id}", get(groups::group))
        .route("/groups/{id}/members", get(group_moderation::members))
        .route("/groups/{id}/requests", get(group_moderation::requests))
        .route(
            "/groups/{id}/invitations",
            get(group_moderation::invitations).post(group_moderation::invite),
        )
        .route("/groups/{id}/bans", get(group_moderation::bans))
        .route("/groups/{id}/moderation", get(group_review::review))
        .route(
            "/groups/{id}/statuses/{status}/remove",
            post(group_review::remove_post),
        )
        .route(
            "/groups/{id}/reports/{report}/resolve",
            post(group_review::resolve_report),
        )
        .route(
            "/groups/{id}/members/{account}/{action}",
            post(group_moderation::person_action),
        )
        .route("/groups/{id}/edit", get(groups::edit).post(groups::save))
        .route("/groups/{id}/pictures", post(groups::save_pictures))
        .route(
            "/groups/{id}/transfer",
            get(groups::confirm_transfer).post(groups::transfer),
        )
        .route(
            "/groups/{id}/delete",
            get(groups::confirm_delete).post(groups::delete),
        )
        .route("/groups/{id}/{action}", post(groups::membership_action))
        .route("/chats", get(chats::chats).post(chats::start))
        .route("/chats/{id}", get(chats::chat).post(chats::change))
        .route("/chats/with/{account_id}", post(chats::with))
        .route("/chats/{id}/remove/{account_id}", post(chats::remove))
        .route("/chats/{id}/say", post(chats::say))
        .route("/chats/{id}/{action}", post(chats::action))
        .route("/friends", get(circles::friends))
        .route("/circles", get(circles::circles).post(circles::create))
        .route("/circles/{id}", get(circles::circle).post(circles::change))
        .route(
            "/circles/{id}/delete",
            get(circles::confirm_delete).post(circles::delete),
        )
        .route(
            "/circles/{id}/members/{account}/remove",
            post(circles::remove_member),
        )
        .route(
            "/settings/profile",
            get(settings::profile_page).post(settings::save_profile),
        )
        .route("/settings/profile/pictures", post(settings::save_pictures))
        .route(
            "/settings/preferences",
            get(settings::preferences_page).post(settings::save_preferences),
        )
        .route(
            "/settings/password",
            get(settings::password_page).post(settings::change_password),
        )
        .route(
            "/settings/import",
            get(settings::import_page).post(settings::import),
        )
        .route("/settings/migration", get(settings::migration_page))
        .route("/settings/migration/aliases", post(settings::save_aliases))
        .route("/settings/migration/move", post(settings::move_account))
        .route(
            "/settings/delete",
            get(settings::delete_page).post(settings::delete_account),
        )
        .route(
            "/settings/filters",
            get(filters::filters).post(filters::create),
        )
        .route(
            "/settings/filters/{id}",
            get(filters::filter).post(filters::save),
        )
        .route("/settings/filters/{id}/delete", post(filters::delete))
        .route("/settings/sessions", get(settings::sessions_page))
        .route("/settings/export", get(export::page).post(export::request))
        .route("/settings/export/{id}/download", get(export::download))
        .route(
            "/settings/sessions/{id}/revoke",
            post(settings::revoke_session),
        )
        .route("/admin", get(admin::page))
        .route("/admin/accounts/{id}/{action}", post(admin::account_action))
        .route("/admin/reports/{id}/resolve", post(admin::resolve_report))
        .route("/admin/domains", post(admin::set_domain))
        .route("/admin/domains/remove", post(admin::remove_domain))
        .route("/admin/rules", post(admin::add_rule))
        .route("/admin/rules/{id}/delete", post(admin::delete_rule))
        .route("/admin/server", post(admin::set_server_text))
}

/// The path and query a page was asked at, for forms and links that come back to it.
pub fn path_of(uri: &axum::extract::OriginalUri) -> String {
    uri.0
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into())
}

/// Render a page with a status code.
pub fn render_status<T: Template>(code: StatusCode, page: &T) -> WebResult {
    let html = page
        .render()
        .map_err(|e| WebError::Service(kring_core::Error::internal(e)))?;
    Ok((
        code,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Html(html),
    )
        .into_response())
}

pub fn render<T: Template>(page: &T) -> WebResult {
    render_status(StatusCode::OK, page)
}

/// A form post without fields of its own (only the CSRF token).
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// A form page's status: 422 when it shows what was wrong with a post, 200 otherwise.
pub fn form_status(error: &Option<String>) -> StatusCode {
    if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

/// After a successful form post: see the result with a GET (303).
pub fn see(path: &str) -> WebResult {
    Ok(Redirect::to(path).into_response())
}

/// Parse an id from the path; anything else is a missing page.
pub fn id(raw: &str) -> Result<kring_service::Id, WebError> {
    raw.parse().map_err(|_| WebError::not_found())
}

/// An optional id from a form or query field: empty or absent means none.
pub fn opt_id(raw: Option<&str>) -> Result<Option<kring_service::Id>, WebError> {
    raw.filter(|s| !s.is_empty()).map(id).transpose()
}

/// A checkbox value: present means on.
pub fn checked(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|v| !v.is_empty() && v != "0")
}

/// One `<option>` of a select.
pub struct SelectOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// The audiences a default may be (settings): a circle post names its circles each time, so
/// "Circles" is not among them.
pub fn visibility_options(selected: kring_core::Visibility) -> Vec<SelectOption> {
    use kring_core::Visibility::*;
    options([Public, Unlisted, Private, Friends, Direct], selected)
}

/// The composer's audiences: the defaults' and, for someone who has circles, "Circles" (also
/// when it was chosen, so a form shown again never falls back to the first, widest option).
pub fn compose_options(selected: kring_core::Visibility, circles: bool) -> Vec<SelectOption> {
    use kring_core::Visibility::*;
    let list = [Public, Unlisted, Private, Friends, Circle, Direct];
    let offered = move |v: &kring_core::Visibility| circles || *v != Circle || selected == Circle;
    options(list.into_iter().filter(offered), selected)
}

fn options(
    list: impl IntoIterator<Item = kring_core::Visibility>,
    selected: kring_core::Visibility,
) -> Vec<SelectOption> {
    list.into_iter()
        .map(|v| SelectOption {
            value: v.as_str(),
            label: crate::view::visibility_label(v),
            selected: v == selected,
        })
        .collect()
}

/// A form's fields in order, for forms that repeat a name (a checkbox per circle, all named
/// `circle_ids`), which a struct cannot hold.
pub struct Fields(Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<(String, String)>::deserialize(d).map(Fields)
    }
}

impl Fields {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A checkbox: present (and not "0") means on.
    pub fn on(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| !v.is_empty() && v != "0")
    }

    /// The first value of `name`, or empty.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }

    /// Every value of `name` as an id; one that is not an id makes the form invalid.
    pub fn ids(&self, name: &str) -> Result<Vec<kring_service::Id>, WebError> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| {
                v.parse()
                    .map_err(|_| WebError::status(StatusCode::BAD_REQUEST, "The form is invalid."))
            })
            .collect()
    }
}

/// A tab of a page's secondary navigation.
pub struct Tab {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// The change forms of a group of people kept by name (a list, a circle): rename it, or add
/// someone. They post to the group's own address (`op` says which), so that a refusal is
/// shown at its URL with what was typed kept.
#[derive(serde::Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    pub op: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub acct: String,
}

/// What a [`ChangeForm`] asks for.
pub enum Change<'a> {
    Rename(&'a str),
    Add(&'a str),
}

impl ChangeForm {
    pub fn change(&self) -> Result<Change<'_>, WebError> {
        match self.op.as_str() {
            "rename" => Ok(Change::Rename(&self.title)),
            "add" => Ok(Change::Add(&self.acct)),
            _ => Err(WebError::not_found()),
        }
    }
}

/// The account an "add someone" field names (`user` or `user@domain`), or why there is none.
pub async fn named_account(
    web: &Web,
    actor: &kring_service::Actor,
    acct: &str,
) -> Result<kring_service::Id, kring_core::Error> {
    match web.kring.lookup(Some(actor), acct).await {
        Ok(a) => Ok(a.id),
        Err(kring_core::Error::NotFound) => Err(kring_core::Error::validation(format!(
            "No account {} was found",
            acct.trim()
        ))),
        Err(e) => Err(e),
    }
}

/// A refused form post: the reason to show on the form's page again, for refusals of what
/// was typed; anything else is an error page.
pub fn form_refusal(e: kring_core::Error) -> Result<String, WebError> {
    use kring_core::Error;
    match e {
        Error::Validation(_)
        | Error::Fields(_)
        | Error::Forbidden(_)
        | Error::BadRequest(_)
        | Error::Conflict(_) => Ok(crate::error::message(&e)),
        e => Err(e.into()),
    }
}
