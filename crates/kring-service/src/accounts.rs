//! Accounts: sign-up, profiles, lookups and the admin actions on them.
use kring_core::model::{Account, ProfileField, Registrations, Role, User};
use kring_core::time::now_micros;
use kring_core::{FieldErrors, text, username};
use kring_store::{NewAccount, NewUser, PreferencesUpdate, ProfileUpdate};

use crate::auth::{IssuedToken, hash_password};
use crate::{Actor, Error, Id, Kring, Result};

pub const MAX_FIELDS: usize = 4;
pub const MAX_NOTE_CHARS: usize = 500;
pub const MAX_DISPLAY_NAME_CHARS: usize = 30;
pub const MIN_PASSWORD_CHARS: usize = 8;

/// A sign-up request from any door.
#[derive(Debug, Clone)]
pub struct Registration {
    pub username: String,
    pub email: String,
    pub password: String,
    pub agreement: bool,
    pub locale: String,
    pub reason: Option<String>,
}

/// How the account is created: by a person signing up (policy applies) or by an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    SignUp,
    Admin { role: Role },
}

/// Profile edits as a client sends them; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct CredentialsUpdate {
    pub display_name: Option<String>,
    pub note: Option<String>,
    pub fields: Option<Vec<(String, String)>>,
    pub bot: Option<bool>,
    pub locked: Option<bool>,
    pub discoverable: Option<bool>,
    pub indexable: Option<bool>,
    pub hide_collections: Option<bool>,
    pub privacy: Option<kring_core::Visibility>,
    pub sensitive: Option<bool>,
    pub language: Option<String>,
}

impl Kring {
    pub fn local_uri(&self, username: &str) -> String {
        format!("{}/users/{}", self.config.base_url(), username)
    }

    pub fn local_url(&self, username: &str) -> String {
        format!("{}/@{}", self.config.base_url(), username)
    }

    /// A local post's ActivityPub id and web address.
    pub(crate) fn local_status_addresses(&self, username: &str, id: Id) -> (String, String) {
        (
            format!("{}/statuses/{}", self.local_uri(username), id),
            format!("{}/{}", self.local_url(username), id),
        )
    }

    /// Create a local account. Sign-ups follow the server's registration mode; admins
    /// create approved, confirmed accounts and may use reserved names.
    pub async fn create_account(&self, reg: Registration, origin: Origin) -> Result<Actor> {
        let name = reg.username.trim().to_string();
        let valid = match origin {
            Origin::SignUp => username::validate_local(&name),
            Origin::Admin { .. } => username::validate_local_allow_reserved(&name),
        };
        // Every broken rule at once, each under its field, so a sign-up form can mark them all.
        let mut errors = FieldErrors::default();
        if let Err(e) = valid {
            errors.add("username", e.code(), e.to_string());
        }
        let email = reg.email.trim().to_string();
        if email.is_empty() {
            errors.add("email", "ERR_BLANK", "can't be blank");
        } else if !plausible_email(&email) {
            errors.add("email", "ERR_INVALID", "is invalid");
        }
        if reg.password.is_empty() {
            errors.add("password", "ERR_BLANK", "can't be blank");
        } else if reg.password.chars().count() < MIN_PASSWORD_CHARS {
            errors.add(
                "password",
                "ERR_TOO_SHORT",
                format!("is too short (minimum is {MIN_PASSWORD_CHARS} characters)"),
            );
        } else if reg.password.len() > 72 * 4 {
            errors.add("password", "ERR_TOO_LONG", "is too long");
        }
        if origin == Origin::SignUp && !reg.agreement {
            errors.add("agreement", "ERR_ACCEPTED", "must be accepted");
        }
        if errors.is_empty() {
            if self.store.account_by_handle(&name, None).await?.is_some() {
                errors.add("username", "ERR_TAKEN", "has already been taken");
            }
            if self.store.user_by_email(&email).await?.is_some() {
                errors.add("email", "ERR_TAKEN", "has already been taken");
            }
        }
        if !errors.is_empty() {
            return Err(Error::Fields(errors));
        }
        let (role, approved, confirmed) = match origin {
            Origin::Admin { role } => (role, true, true),
            Origin::SignUp => match self.config.registrations {
                Registrations::Closed => {
                    return Err(Error::forbidden("Registrations are closed on this server"));
                }
                Registrations::Open => (Role::User, true, !self.config.email_confirmation),
                Registrations::Approval => (Role::User, false, !self.config.email_confirmation),
            },
        };
        let password_hash = hash_password(&reg.password).await?;
        let id = Id::generate();
        let base = self.config.base_url();
        let keys = crate::keys::generate().await?;
        let new = NewAccount {
            id,
            username: name.clone(),
            domain: None,
            display_name: String::new(),
            note: String::new(),
            note_html: String::new(),
            fields: Vec::new(),
            bot: false,
            group: false,
            locked: self.config.approve_followers,
            discoverable: true,
            uri: self.local_uri(&name),
            url: self.local_url(&name),
            inbox_url: format!("{}/inbox", self.local_uri(&name)),
            shared_inbox_url: Some(format!("{base}/inbox")),
            followers_url: format!("{}/followers", self.local_uri(&name)),
            public_key_pem: keys.public_pem,
            private_key_pem: Some(keys.private_pem),
            created_at: now_micros(),
        };
        let user = NewUser {
            email,
            password_hash,
            role,
            approved,
            confirmed,
            reason: reg.reason.filter(|r| !r.trim().is_empty()),
            locale: if reg.locale.is_empty() {
                "en".into()
            } else {
                reg.locale
            },
        };
        let mut tx = self.store.begin().await?;
        tx.insert_account(&new).await.map_err(|e| match e {
            Error::Conflict(_) => taken("username"),
            e => e,
        })?;
        tx.insert_user(id, &user).await.map_err(|e| match e {
            Error::Conflict(_) => taken("email"),
            e => e,
        })?;
        tx.commit().await?;
        tracing::info!(account = %id, username = %name, approved, "account created");
        self.actor(id).await
    }

    /// Sign up through an app and get a token at once (it works when no approval or
    /// confirmation is pending).
    pub async fn register(
        &self,
        app: &kring_core::model::App,
        reg: Registration,
        scope: Option<&str>,
    ) -> Result<(Actor, IssuedToken)> {
        let actor = self.create_account(reg, Origin::SignUp).await?;
        let token = self.issue_token(app, Some(actor.id()), scope).await?;
        Ok((actor, token))
    }

    pub async fn account(&self, id: Id) -> Result<Account> {
        match self.store.account(id).await? {
            Some(a) if a.suspended_at.is_none() => Ok(a),
            _ => Err(Error::NotFound),
        }
    }

    /// An account whose profile `viewer` opens (the API's `GET /api/v1/accounts/:id`): as
    /// [`account`](Self::account), and for a signed-in viewer of a remote account whose counts
    /// and posts were last read a day ago, a refresh is queued (the answer does not wait).
    pub async fn view_account(&self, viewer: Option<&Actor>, id: Id) -> Result<Account> {
        let a = self.account(id).await?;
        self.viewed(viewer, &a).await;
        Ok(a)
    }

    /// Find by `user` or `user@domain` (our own domain counts as local). An unknown remote
    /// handle is looked up on its server only for a signed-in viewer: signed-out requests
    /// never make this server fetch from elsewhere ([`Kring::may_fetch_remote_for`]). The API's
    /// `accounts/lookup`, the web's profile pages and the CLI all come here; a signed-in
    /// viewer's look-up of a remote profile last read a day ago queues its refresh (see
    /// `federation::profiles`).
    pub async fn lookup(&self, viewer: Option<&Actor>, acct: &str) -> Result<Account> {
        let acct = acct.trim().trim_start_matches('@');
        let (user, domain) = match acct.split_once('@') {
            Some((u, d)) if d.eq_ignore_ascii_case(&self.config.domain) => (u, None),
            Some((u, d)) => (u, Some(d)),
            None => (acct, None),
        };
        let found = match self.store.account_by_handle(user, domain).await? {
            Some(a) => Some(a),
            None => match domain {
                Some(d) if Self::may_fetch_remote_for(viewer) => self
                    .resolve_acct(user, d)
                    .await
                    .map_err(|e| crate::search::remote_lookup_failed("account", d, &e))
                    .ok(),
                _ => None,
            },
        };
        match found {
            Some(a) if a.suspended_at.is_none() => {
                self.viewed(viewer, &a).await;
                Ok(a)
            }
            _ => Err(Error::NotFound),
        }
    }

    /// Whether a request may make this server fetch from other servers (resolving handles
    /// and URLs): only signed-in people's, so anonymous visitors cannot use it to send
    /// requests elsewhere or to fill the database. Every door's look-up and search asks here.
    pub fn may_fetch_remote_for(viewer: Option<&Actor>) -> bool {
        viewer.is_some()
    }

    pub async fn update_credentials(&self, actor: &Actor, u: CredentialsUpdate) -> Result<Account> {
        let mut p = ProfileUpdate::default();
        if let Some(name) = u.display_name {
            if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
                return Err(Error::validation(format!(
                    "Display name is too long (maximum is {MAX_DISPLAY_NAME_CHARS} characters)"
                )));
            }
            p.display_name = Some(name);
        }
        if let Some(note) = u.note {
            if note.chars().count() > MAX_NOTE_CHARS {
                return Err(Error::validation(format!(
                    "Note is too long (maximum is {MAX_NOTE_CHARS} characters)"
                )));
            }
            let html = self.render_text(&note).await?.html;
            p.note = Some((note, html));
        }
        if let Some(fields) = u.fields {
            let fields: Vec<ProfileField> = fields
                .into_iter()
                .filter(|(n, v)| !(n.trim().is_empty() && v.trim().is_empty()))
                .map(|(name, value)| ProfileField {
                    name,
                    value,
                    verified_at: None,
                })
                .collect();
            if fields.len() > MAX_FIELDS {
                return Err(Error::validation(format!(
                    "Fields is too long (maximum is {MAX_FIELDS})"
                )));
            }
            if fields
                .iter()
                .any(|f| f.name.chars().count() > 255 || f.value.chars().count() > 255)
            {
                return Err(Error::validation(
                    "Field is too long (maximum is 255 characters)",
                ));
            }
            p.fields = Some(fields);
        }
        if u.privacy == Some(kring_core::Visibility::Circle) {
            // A circle post needs circles chosen each time; a default cannot name them.
            return Err(Error::validation("Privacy cannot be circle"));
        }
        if u.privacy == Some(kring_core::Visibility::Group) {
            return Err(Error::validation("Privacy cannot be group"));
        }
        p.bot = u.bot;
        p.locked = u.locked;
        p.discoverable = u.discoverable;
        p.indexable = u.indexable;
        p.hide_collections = u.hide_collections;
        let prefs = PreferencesUpdate {
            default_visibility: u.privacy,
            default_sensitive: u.sensitive,
            default_language: u.language.map(|l| Some(l).filter(|l| !l.is_empty())),
        };
        let mut tx = self.store.begin().await?;
        tx.update_profile(actor.id(), &p).await?;
        tx.update_preferences(actor.id(), &prefs).await?;
        tx.commit().await?;
        self.announce_profile(actor.id()).await
    }

    /// Followers' servers learn of an account's profile as it is now (an `Update` of the
    /// actor); answers the account.
    pub(crate) async fn announce_profile(&self, id: Id) -> Result<Account> {
        let account = self.account(id).await?;
        let person = self.person_json(&account).await?;
        let update = kring_activitypub::as2::activity(
            "Update",
            &format!("{}#updates/{}", account.uri, Id::generate()),
            &account.uri,
            person,
        );
        let mut tx = self.store.begin().await?;
        self.emit(
            &mut tx,
            &account,
            update,
            crate::federation::Recipients::Followers {
                of: account.id,
                also: Vec::new(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(account)
    }

    pub async fn change_password(&self, actor: &Actor, current: &str, new: &str) -> Result<()> {
        if !crate::auth::verify_password(current, &actor.user.password_hash).await? {
            return Err(Error::validation("Current password is invalid"));
        }
        if new.chars().count() < MIN_PASSWORD_CHARS {
            return Err(Error::validation(format!(
                "Password is too short (minimum is {MIN_PASSWORD_CHARS} characters)"
            )));
        }
        let hash = hash_password(new).await?;
        let mut tx = self.store.begin().await?;
        tx.set_password_hash(actor.id(), &hash).await?;
        tx.commit().await
    }

    // --- admin actions -------------------------------------------------------------------

    pub(crate) fn require_staff(actor: Option<&Actor>) -> Result<()> {
        match actor {
            // The CLI acts with no actor: it runs with the server's own authority.
            None => Ok(()),
            Some(a) if a.is_staff() => Ok(()),
            Some(_) => Err(Error::forbidden("This action is not allowed")),
        }
    }

    /// Whether someone runs this server yet: until an admin exists, the web interface tells
    /// the first person how to become one (from the command line, where the server runs).
    pub async fn has_admin(&self) -> Result<bool> {
        self.store.has_admin().await
    }

    pub async fn admin_users(
        &self,
        actor: Option<&Actor>,
        pending: bool,
    ) -> Result<Vec<(Account, User)>> {
        Self::require_staff(actor)?;
        self.store.users(pending, 1000).await
    }

    pub async fn admin_approve(&self, actor: Option<&Actor>, id: Id) -> Result<()> {
        Self::require_staff(actor)?;
        let mut tx = self.store.begin().await?;
        let ok = tx.set_approved(id).await?;
        tx.commit().await?;
        if ok { Ok(()) } else { Err(Error::NotFound) }
    }

    pub async fn admin_suspend(
        &self,
        actor: Option<&Actor>,
        id: Id,
        suspended: bool,
    ) -> Result<()> {
        Self::require_staff(actor)?;
        if let Some(a) = actor
            && a.id() == id
        {
            return Err(Error::forbidden("You cannot suspend yourself"));
        }
        if !suspended && self.store.account_deleted(id).await? {
            return Err(Error::validation("This account was deleted"));
        }
        let mut tx = self.store.begin().await?;
        let ok = tx.set_suspended(id, suspended).await?;
        tx.commit().await?;
        if suspended {
            // Suspension revokes the account's tokens.
            self.sessions_changed([Some(id)]);
        }
        if ok { Ok(()) } else { Err(Error::NotFound) }
    }

    pub async fn admin_set_role(&self, actor: Option<&Actor>, id: Id, role: Role) -> Result<()> {
        if let Some(a) = actor
            && !a.is_admin()
        {
            return Err(Error::forbidden("This action is not allowed"));
        }
        let mut tx = self.store.begin().await?;
        let ok = tx.set_role(id, role).await?;
        tx.commit().await?;
        if ok { Ok(()) } else { Err(Error::NotFound) }
    }

    /// Render a local text (post or bio): mentions of known accounts become links, hashtags
    /// link to the tag page.
    pub async fn render_text(&self, input: &str) -> Result<RenderedText> {
        let parsed = text::parse(input);
        let mut resolved: Vec<(text::MentionRef, Account)> = Vec::new();
        for m in &parsed.mentions {
            let domain = m
                .domain
                .as_deref()
                .filter(|d| !d.eq_ignore_ascii_case(&self.config.domain));
            let found = match self.store.account_by_handle(&m.username, domain).await? {
                Some(a) => Some(a),
                // An unknown remote handle is looked up with WebFinger; failing that, it
                // stays plain text.
                None => match domain {
                    Some(d) => self
                        .resolve_acct(&m.username, d)
                        .await
                        .map_err(|e| crate::search::remote_lookup_failed("mention", d, &e))
                        .ok(),
                    None => None,
                },
            };
            if let Some(a) = found
                && a.suspended_at.is_none()
            {
                resolved.push((m.clone(), a));
            }
        }
        let base = self.config.base_url();
        let html = text::render(
            input,
            &|m| {
                resolved
                    .iter()
                    .find(|(r, _)| r == m)
                    .map(|(_, a)| text::MentionLink {
                        url: a.web_url().to_string(),
                        username: a.username.clone(),
                    })
            },
            &|tag| format!("{base}/tags/{}", url_encode(tag)),
        );
        let mut tags: Vec<String> = parsed
            .tags
            .iter()
            .filter_map(|t| text::normalize_tag(t))
            .collect();
        tags.dedup();
        Ok(RenderedText {
            html,
            mentions: resolved.into_iter().map(|(_, a)| a).collect(),
            tags,
        })
    }
}

pub struct RenderedText {
    pub html: String,
    pub mentions: Vec<Account>,
    pub tags: Vec<String>,
}

/// A name or address another sign-up took between the check and the insert.
fn taken(field: &'static str) -> Error {
    let mut errors = FieldErrors::default();
    errors.add(field, "ERR_TAKEN", "has already been taken");
    Error::Fields(errors)
}

fn plausible_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.chars().any(char::is_whitespace)
                && e.len() <= 254
        }
        None => false,
    }
}

fn url_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
