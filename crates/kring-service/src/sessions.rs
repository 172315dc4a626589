//! Browser sessions for the web interface. A session is an ordinary access token issued to one
//! built-in app ("Kring web"), so signing in, signing out and listing sessions use the same
//! tokens as every Mastodon app, and `authenticate` resolves the person on each request.
use kring_core::model::{App, Token};
use kring_core::time::Micros;

use crate::accounts::{Origin, Registration};
use crate::auth::{IssuedToken, NewApp, OOB_REDIRECT, hash_secret, random_secret};
use crate::{Actor, Error, Id, Kring, Result};

/// The name of the built-in app whose tokens are browser sessions.
pub const WEB_APP_NAME: &str = "Kring web";
const WEB_APP_SETTING: &str = "web_app_client_id";
const WEB_SECRET_SETTING: &str = "web_secret";
const WEB_SCOPES: &str = "read write follow push";

/// The session cookie's name. On https it gets the `__Host-` prefix (Secure, Path=/, no
/// Domain, as browsers enforce). The web door sets it; the streaming API also reads it, so
/// the web interface's live updates need no token in JavaScript's reach.
pub fn session_cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-kring_session"
    } else {
        "kring_session"
    }
}

/// Whether a browser's `Origin` header names this server: its configured base URL, or the
/// host the request was sent to (`Host`), as a proxy may present another scheme.
pub fn is_own_origin(base_url: &str, origin: &str, host: &str) -> bool {
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
    origin == base_url || (!host.is_empty() && origin_host.eq_ignore_ascii_case(host))
}

/// The value of cookie `name` in `Cookie` header values; empty values count as absent.
pub fn cookie_value<'a>(headers: impl IntoIterator<Item = &'a str>, name: &str) -> Option<String> {
    headers
        .into_iter()
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// One live token of an account, as the sessions page lists it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: Id,
    /// The app's name; tokens without an app show as "Unknown app".
    pub app_name: String,
    pub app_website: Option<String>,
    /// A browser session of the web interface (rather than an authorised app).
    pub web: bool,
    /// The session making this request.
    pub current: bool,
    pub scopes: String,
    pub created_at: Micros,
    /// When it was last used, to the hour (no address, no location: docs/privacy.md).
    pub last_used_at: Option<Micros>,
}

/// The outcome of a sign-up from the web: signed in at once, or waiting for approval or
/// confirmation (no session then).
#[derive(Debug)]
pub enum SignUp {
    SignedIn(Actor, IssuedToken),
    Pending(Actor, String),
}

impl Kring {
    /// The built-in web app, created on first use. Its client id is kept in the settings.
    pub async fn web_app(&self) -> Result<App> {
        if let Some(id) = self.store.setting(WEB_APP_SETTING).await?
            && let Some(app) = self.store.app_by_client_id(&id).await?
        {
            return Ok(app);
        }
        // Its secret is never used (sessions are issued here, not at the token endpoint).
        let app = self
            .create_app(NewApp {
                name: WEB_APP_NAME.into(),
                redirect_uris: vec![OOB_REDIRECT.into()],
                scopes: WEB_SCOPES.into(),
                website: None,
            })
            .await?
            .app;
        self.store
            .set_setting(WEB_APP_SETTING, &app.client_id)
            .await?;
        // Two first requests at once may both create one; the stored one wins.
        let stored = self
            .store
            .setting(WEB_APP_SETTING)
            .await?
            .unwrap_or_default();
        Ok(self.store.app_by_client_id(&stored).await?.unwrap_or(app))
    }

    /// The server's secret for the web door's form tokens (CSRF), created on first use.
    pub async fn web_secret(&self) -> Result<String> {
        if let Some(s) = self.store.setting(WEB_SECRET_SETTING).await?
            && !s.is_empty()
        {
            return Ok(s);
        }
        self.store
            .set_setting(WEB_SECRET_SETTING, &random_secret())
            .await?;
        self.store
            .setting(WEB_SECRET_SETTING)
            .await?
            .ok_or_else(|| Error::internal("web secret not stored"))
    }

    /// Check the password and open a browser session.
    pub async fn web_sign_in(&self, email: &str, password: &str) -> Result<(Actor, IssuedToken)> {
        let actor = self.check_password(email, password).await?;
        self.ensure_can_log_in(&actor)?;
        let app = self.web_app().await?;
        let token = self.issue_session_token(&app, actor.id()).await?;
        tracing::info!(account = %actor.id(), "web session opened");
        Ok((actor, token))
    }

    /// Sign up (the server's registration mode applies) and, when the account may log in at
    /// once, open a session.
    pub async fn web_sign_up(&self, reg: Registration) -> Result<SignUp> {
        let actor = self.create_account(reg, Origin::SignUp).await?;
        match self.ensure_can_log_in(&actor) {
            Ok(()) => {
                let app = self.web_app().await?;
                let token = self.issue_session_token(&app, actor.id()).await?;
                Ok(SignUp::SignedIn(actor, token))
            }
            Err(e) => {
                let why = match e {
                    Error::Forbidden(m) => m,
                    other => other.to_string(),
                };
                Ok(SignUp::Pending(actor, why))
            }
        }
    }

    /// End a browser session: its token stops working.
    pub async fn web_sign_out(&self, token: &str) -> Result<()> {
        let revoked = self.store.revoke_token(&hash_secret(token), None).await?;
        self.sessions_changed(revoked);
        Ok(())
    }

    /// The account's live tokens: browser sessions and authorised apps, newest first.
    pub async fn sessions(&self, actor: &Actor, current: Option<Id>) -> Result<Vec<SessionInfo>> {
        let web = self.web_app().await?;
        let tokens: Vec<Token> = self.store.tokens_of(actor.id()).await?;
        let mut out = Vec::with_capacity(tokens.len());
        for t in tokens {
            let app = match t.app_id {
                Some(a) => self.app_by_id(a).await?,
                None => None,
            };
            out.push(SessionInfo {
                id: t.id,
                app_name: app
                    .as_ref()
                    .map(|a| a.name.clone())
                    .unwrap_or_else(|| "Unknown app".into()),
                app_website: app.as_ref().and_then(|a| a.website.clone()),
                web: t.app_id == Some(web.id),
                current: Some(t.id) == current,
                scopes: t.scopes,
                created_at: t.created_at,
                last_used_at: t.last_used_at,
            });
        }
        Ok(out)
    }

    /// Revoke one of the account's own tokens (a session or an app's access).
    pub async fn revoke_session(&self, actor: &Actor, id: Id) -> Result<()> {
        if self.store.revoke_token_id(id, actor.id()).await? {
            self.sessions_changed([Some(actor.id())]);
            tracing::info!(account = %actor.id(), token = %id, "session revoked");
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }
}
