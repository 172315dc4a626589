//! Settings: profile, posting preferences, password, and sessions with authorised apps.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use kring_core::Error;
use kring_core::Visibility;
use kring_service::accounts::CredentialsUpdate;
use serde::Deserialize;

use super::policy::{PolicyChoices, PolicyForm, composer_default};
use super::{
    NoFields, SelectOption, checked, form_status, id, render, render_status, see,
    visibility_options,
};
use crate::Web;
use crate::error::{WebResult, message};
use crate::session::{Posted, Viewer};
use crate::view::{Chrome, time_label};

/// `?saved=WHAT` after a form post, for the notice saying it worked.
#[derive(Deserialize, Default)]
pub struct SavedQuery {
    #[serde(default)]
    pub saved: Option<String>,
}

fn notice(q: &SavedQuery) -> Option<String> {
    match q.saved.as_deref() {
        Some("profile") => Some("Your profile was saved.".into()),
        Some("preferences") => Some("Your preferences were saved.".into()),
        Some("password") => Some("Your password was changed.".into()),
        Some("pictures") => Some("Your pictures were saved.".into()),
        Some("aliases") => Some("Your old accounts were saved.".into()),
        Some("import") => Some(
            "Your file was read: it is being applied in the background, which can take a few minutes."
                .into(),
        ),
        Some("moved") => Some("Your account moved: your followers are being told.".into()),
        Some("revoked") => Some("The session was revoked.".into()),
        _ => None,
    }
}

#[derive(Template)]
#[template(path = "settings_profile.html")]
struct ProfileSettings {
    c: Chrome,
    section: &'static str,
    notice: Option<String>,
    error: Option<String>,
    display_name: String,
    note: String,
    fields: Vec<(String, String)>,
    locked: bool,
    bot: bool,
    discoverable: bool,
    hide_collections: bool,
    /// Whether a picture of one's own is set (then it can be removed).
    has_avatar: bool,
    has_header: bool,
}

const FIELDS: usize = kring_service::accounts::MAX_FIELDS;

async fn profile_form(
    web: &Web,
    v: &Viewer,
    form: Option<ProfileForm>,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult {
    let a = &v.actor.account;
    let (has_avatar, has_header) = (a.avatar_url.is_some(), a.header_url.is_some());
    let c = web
        .chrome(Some(v), "Profile settings", "settings", "/settings/profile")
        .await?;
    let page = match form {
        Some(f) => ProfileSettings {
            c,
            section: "profile",
            notice,
            error: error.clone(),
            fields: f.fields(),
            display_name: f.display_name,
            note: f.note,
            locked: checked(&f.locked),
            bot: checked(&f.bot),
            discoverable: checked(&f.discoverable),
            hide_collections: checked(&f.hide_collections),
            has_avatar,
            has_header,
        },
        None => {
            let mut fields: Vec<(String, String)> = a
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.value.clone()))
                .collect();
            fields.resize(FIELDS.max(fields.len()), (String::new(), String::new()));
            ProfileSettings {
                c,
                section: "profile",
                notice,
                error: error.clone(),
                display_name: a.display_name.clone(),
                note: a.note.clone(),
                fields,
                locked: a.locked,
                bot: a.bot,
                discoverable: a.discoverable,
                hide_collections: a.hide_collections,
                has_avatar,
                has_header,
            }
        }
    };
    render_status(form_status(&error), &page)
}

pub async fn profile_page(
    State(web): State<Web>,
    v: Viewer,
    Query(q): Query<SavedQuery>,
) -> WebResult {
    profile_form(&web, &v, None, notice(&q), None).await
}

#[derive(Deserialize, Default)]
pub struct ProfileForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    locked: Option<String>,
    #[serde(default)]
    bot: Option<String>,
    #[serde(default)]
    discoverable: Option<String>,
    #[serde(default)]
    hide_collections: Option<String>,
    #[serde(default)]
    field_name_0: String,
    #[serde(default)]
    field_value_0: String,
    #[serde(default)]
    field_name_1: String,
    #[serde(default)]
    field_value_1: String,
    #[serde(default)]
    field_name_2: String,
    #[serde(default)]
    field_value_2: String,
    #[serde(default)]
    field_name_3: String,
    #[serde(default)]
    field_value_3: String,
}

impl ProfileForm {
    fn fields(&self) -> Vec<(String, String)> {
        vec![
            (self.field_name_0.clone(), self.field_value_0.clone()),
            (self.field_name_1.clone(), self.field_value_1.clone()),
            (self.field_name_2.clone(), self.field_value_2.clone()),
            (self.field_name_3.clone(), self.field_value_3.clone()),
        ]
    }
}

pub async fn save_profile(State(web): State<Web>, p: Posted<ProfileForm>) -> WebResult {
    let f = p.form;
    let update = CredentialsUpdate {
        display_name: Some(f.display_name.clone()),
        note: Some(f.note.clone()),
        fields: Some(f.fields()),
        bot: Some(checked(&f.bot)),
        locked: Some(checked(&f.locked)),
        discoverable: Some(checked(&f.discoverable)),
        hide_collections: Some(checked(&f.hide_collections)),
        ..Default::default()
    };
    match web.kring.update_credentials(&p.viewer.actor, update).await {
        Ok(_) => see("/settings/profile?saved=profile"),
        Err(e @ Error::Validation(_)) => {
            profile_form(&web, &p.viewer, Some(f), None, Some(message(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "settings_preferences.html")]
struct PreferencesSettings {
    c: Chrome,
    section: &'static str,
    notice: Option<String>,
    error: Option<String>,
    options: Vec<SelectOption>,
    sensitive: bool,
    language: String,
    /// Who may interact with new posts, unless a post says otherwise.
    policy: PolicyChoices,
}

async fn preferences_form(
    web: &Web,
    v: &Viewer,
    form: Option<PreferencesForm>,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult {
    let u = &v.actor.user;
    let c = web
        .chrome(Some(v), "Preferences", "settings", "/settings/preferences")
        .await?;
    // The defaults as for public posts: the widest (narrower audiences are never boosted,
    // whatever is chosen), and what saving here sets for every audience.
    let defaults = web.kring.policy_defaults(&v.actor).await?;
    let current = composer_default(&defaults, Visibility::Public);
    const PREFIX: &str = "default";
    const LEGEND: &str = "Who can interact with my posts by default";
    let (visibility, sensitive, language, policy) = match form {
        Some(f) => (
            Visibility::parse(&f.privacy).unwrap_or(u.default_visibility),
            checked(&f.sensitive),
            f.language,
            PolicyChoices::from_form(PREFIX, LEGEND, &f.policy, &current),
        ),
        None => (
            u.default_visibility,
            u.default_sensitive,
            u.default_language.clone().unwrap_or_default(),
            PolicyChoices::new(PREFIX, LEGEND, &current),
        ),
    };
    render_status(
        form_status(&error),
        &PreferencesSettings {
            c,
            section: "preferences",
            notice,
            error,
            options: visibility_options(visibility),
            sensitive,
            language,
            policy,
        },
    )
}

pub async fn preferences_page(
    State(web): State<Web>,
    v: Viewer,
    Query(q): Query<SavedQuery>,
) -> WebResult {
    preferences_form(&web, &v, None, notice(&q), None).await
}

#[derive(Deserialize, Default)]
pub struct PreferencesForm {
    #[serde(default)]
    privacy: String,
    #[serde(default)]
    sensitive: Option<String>,
    #[serde(default)]
    language: String,
    #[serde(flatten)]
    policy: PolicyForm,
}

pub async fn save_preferences(State(web): State<Web>, p: Posted<PreferencesForm>) -> WebResult {
    let f = p.form;
    let update = CredentialsUpdate {
        privacy: Visibility::parse(&f.privacy),
        sensitive: Some(checked(&f.sensitive)),
        language: Some(f.language.trim().to_string()),
        ..Default::default()
    };
    let actor = &p.viewer.actor;
    let saved = async {
        // Checked first, so that a refused choice changes nothing.
        let policy = f.policy.input()?;
        web.kring.update_credentials(actor, update).await?;
        if let Some(policy) = policy {
            web.kring.update_policy_defaults(actor, &policy).await?;
        }
        Ok::<(), Error>(())
    };
    match saved.await {
        Ok(()) => see("/settings/preferences?saved=preferences"),
        Err(e @ Error::Validation(_)) => {
            preferences_form(&web, &p.viewer, Some(f), None, Some(message(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "settings_password.html")]
struct PasswordSettings {
    c: Chrome,
    section: &'static str,
    notice: Option<String>,
    error: Option<String>,
}

async fn password_form(
    web: &Web,
    v: &Viewer,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult {
    let c = web
        .chrome(Some(v), "Password", "settings", "/settings/password")
        .await?;
    render_status(
        form_status(&error),
        &PasswordSettings {
            c,
            section: "password",
            notice,
            error,
        },
    )
}

pub async fn password_page(
    State(web): State<Web>,
    v: Viewer,
    Query(q): Query<SavedQuery>,
) -> WebResult {
    password_form(&web, &v, notice(&q), None).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

pub async fn change_password(State(web): State<Web>, p: Posted<PasswordForm>) -> WebResult {
    let f = &p.form;
    if f.new != f.confirm {
        return password_form(
            &web,
            &p.viewer,
            None,
            Some("The two new passwords are not the same.".into()),
        )
        .await;
    }
    match web
        .kring
        .change_password(&p.viewer.actor, &f.current, &f.new)
        .await
    {
        Ok(()) => see("/settings/password?saved=password"),
        Err(e @ Error::Validation(_)) => {
            password_form(&web, &p.viewer, None, Some(message(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

pub struct SessionRow {
    pub id: String,
    pub app_name: String,
    pub web: bool,
    pub current: bool,
    pub scopes: String,
    pub created: String,
    pub created_iso: String,
    /// When last used (label, ISO time); None: not since it was made.
    pub used: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "settings_sessions.html")]
struct SessionsSettings {
    c: Chrome,
    section: &'static str,
    notice: Option<String>,
    error: Option<String>,
    sessions: Vec<SessionRow>,
}

pub async fn sessions_page(
    State(web): State<Web>,
    v: Viewer,
    Query(q): Query<SavedQuery>,
) -> WebResult {
    let list = web.kring.sessions(&v.actor, Some(v.token_id)).await?;
    let c = web
        .chrome(
            Some(&v),
            "Sessions and apps",
            "settings",
            "/settings/sessions",
        )
        .await?;
    render(&SessionsSettings {
        c,
        section: "sessions",
        notice: notice(&q),
        error: None,
        sessions: list
            .into_iter()
            .map(|s| SessionRow {
                id: s.id.to_string(),
                app_name: s.app_name,
                web: s.web,
                current: s.current,
                scopes: s.scopes,
                created: time_label(s.created_at),
                created_iso: kring_core::time::rfc3339(s.created_at),
                used: s
                    .last_used_at
                    .map(|t| (time_label(t), kring_core::time::rfc3339(t))),
            })
            .collect(),
    })
}

pub async fn revoke_session(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<NoFields>,
) -> WebResult {
    let target = id(&raw)?;
    web.kring.revoke_session(&p.viewer.actor, target).await?;
    if target == p.viewer.token_id {
        // This browser's own session: it is signed out now.
        let mut res = Redirect::to("/auth/sign_in").into_response();
        res.headers_mut()
            .insert(header::SET_COOKIE, web.clear_cookie());
        return Ok(res);
    }
    see("/settings/sessions?saved=revoked")
}

#[derive(Template)]
#[template(path = "settings_delete.html")]
struct DeleteSettings {
    c: Chrome,
    section: &'static str,
    notice: Option<String>,
    error: Option<String>,
    handle: String,
}

async fn delete_form(web: &Web, v: &Viewer, error: Option<String>) -> WebResult {
    let c = web
        .chrome(Some(v), "Delete account", "settings", "/settings/delete")
        .await?;
    render_status(
        form_status(&error),
        &DeleteSettings {
            c,
            section: "delete",
            notice: None,
            error,
            handle: format!("@{}", v.actor.account.username),
        },
    )
}

pub async fn delete_page(State(web): State<Web>, v: Viewer) -> WebResult {
    delete_form(&web, &v, None).await
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// Delete the account for good (docs/privacy.md); the session ends with it.
pub async fn delete_account(State(web): State<Web>, p: Posted<DeleteForm>) -> WebResult {
    let f = &p.form;
    if f.confirm != "yes" {
        return delete_form(
            &web,
            &p.viewer,
            Some("Tick the box to confirm that you want your account deleted.".into()),
        )
        .await;
    }
    match web
        .kring
        .delete_own_account(&p.viewer.actor, &f.password)
        .await
    {
        Ok(()) => {
            let mut res = Redirect::to("/?deleted=1").into_response();
            res.headers_mut()
                .insert(header::SET_COOKIE, web.clear_cookie());
            Ok(res)
        }
        Err(e @ Error::Validation(_)) => delete_form(&web, &p.viewer, Some(message(&e))).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "settings_migration.html")]
struct MigrationSettings {
    c: Chrome,
    section: &'static str,
    notice: Option<String>,
    error: Option<String>,
    handle: String,
    aliases: String,
    moved_to: Option<String>,
}

async fn migration_form(
    web: &Web,
    v: &Viewer,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult {
    let kring = &web.kring;
    let me = kring.account(v.actor.id()).await?;
    let moved_to = match me.moved_to_id {
        Some(to) => Some(crate::view::AccountCard::new(kring, &kring.account(to).await?).handle),
        None => None,
    };
    let c = web
        .chrome(Some(v), "Moving", "settings", "/settings/migration")
        .await?;
    render_status(
        form_status(&error),
        &MigrationSettings {
            c,
            section: "migration",
            notice,
            error,
            handle: crate::view::AccountCard::new(kring, &me).handle,
            aliases: me.also_known_as.join("\n"),
            moved_to: moved_to.map(|h| format!("@{h}")),
        },
    )
}

pub async fn migration_page(
    State(web): State<Web>,
    v: Viewer,
    Query(q): Query<SavedQuery>,
) -> WebResult {
    migration_form(&web, &v, notice(&q), None).await
}

#[derive(Deserialize)]
pub struct AliasesForm {
    #[serde(default)]
    aliases: String,
}

pub async fn save_aliases(State(web): State<Web>, p: Posted<AliasesForm>) -> WebResult {
    let list: Vec<String> = p.form.aliases.lines().map(str::to_string).collect();
    match web.kring.set_aliases(&p.viewer.actor, &list).await {
        Ok(_) => see("/settings/migration?saved=aliases"),
        Err(e @ Error::Validation(_)) => {
            migration_form(&web, &p.viewer, None, Some(message(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    target: String,
    #[serde(default)]
    password: String,
}

pub async fn move_account(State(web): State<Web>, p: Posted<MoveForm>) -> WebResult {
    match web
        .kring
        .move_account(&p.viewer.actor, &p.form.password, &p.form.target)
        .await
    {
        Ok(()) => see("/settings/migration?saved=moved"),
        Err(e @ Error::Validation(_)) => {
            migration_form(&web, &p.viewer, None, Some(message(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "settings_import.html")]
struct ImportSettings {
    c: Chrome,
    section: &'static str,
    notice: Option<String>,
    error: Option<String>,
}

async fn import_form(
    web: &Web,
    v: &Viewer,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult {
    let c = web
        .chrome(Some(v), "Import", "settings", "/settings/import")
        .await?;
    render_status(
        form_status(&error),
        &ImportSettings {
            c,
            section: "import",
            notice,
            error,
        },
    )
}

pub async fn import_page(
    State(web): State<Web>,
    v: Viewer,
    Query(q): Query<SavedQuery>,
) -> WebResult {
    import_form(&web, &v, notice(&q), None).await
}

/// A Mastodon CSV or a Kring archive, read now and applied in the background.
pub async fn import(State(web): State<Web>, p: crate::session::PostedFile) -> WebResult {
    use kring_service::data::import::{ImportFile, ImportMode};
    let refuse = |m: &str| Some(m.to_string());
    let mode = ImportMode::parse(p.field("mode")).unwrap_or(ImportMode::Merge);
    let data = p.files.iter().find(|f| !f.is_empty());
    let error = match (ImportFile::parse(p.field("type")), data) {
        (None, _) => refuse("Choose what the file holds."),
        (_, None) => refuse("Choose a file to import."),
        (Some(file), Some(data)) => {
            match web.kring.import(&p.viewer.actor, file, mode, data).await {
                Ok(_) => return see("/settings/import?saved=import"),
                Err(e @ Error::Validation(_)) => Some(message(&e)),
                Err(e) => return Err(e.into()),
            }
        }
    };
    import_form(&web, &p.viewer, None, error).await
}

/// New avatar and/or header, or back to the default ones (a multipart form; works without
/// JavaScript).
pub async fn save_pictures(State(web): State<Web>, mut p: crate::session::PostedFile) -> WebResult {
    let (avatar, header) = (p.take_picture("avatar"), p.take_picture("header"));
    // A removal ticked beside a new file of the same kind: the new file wins.
    let remove_avatar = p.field("remove_avatar") == "1" && avatar.is_none();
    let remove_header = p.field("remove_header") == "1" && header.is_none();
    if avatar.is_none() && header.is_none() && !remove_avatar && !remove_header {
        return profile_form(
            &web,
            &p.viewer,
            None,
            None,
            Some("Choose an avatar or a header to upload.".into()),
        )
        .await;
    }
    let kring = &web.kring;
    for (remove, is_header) in [(remove_avatar, false), (remove_header, true)] {
        if remove {
            kring
                .remove_profile_image(&p.viewer.actor, is_header)
                .await?;
        }
    }
    if avatar.is_none() && header.is_none() {
        return see("/settings/profile?saved=pictures");
    }
    match kring
        .set_profile_images(&p.viewer.actor, avatar, header)
        .await
    {
        Ok(()) => {
            // Followers' servers hear of the new pictures.
            kring
                .update_credentials(&p.viewer.actor, CredentialsUpdate::default())
                .await?;
            see("/settings/profile?saved=pictures")
        }
        Err(e @ Error::Validation(_)) => {
            profile_form(&web, &p.viewer, None, None, Some(message(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}
