//! OAuth applications and tokens, password checks. Secrets (client secrets, tokens, codes) are
//! random 32-byte strings; only their SHA-256 is stored (see `kring_core::secret`).
//!
//! As strict as Mastodon's Doorkeeper set-up: PKCE with S256 only; a code issued without a
//! PKCE challenge is redeemed only with the client's secret; the redirect URI at the exchange
//! must be the one authorised; codes and refresh tokens work once, even under concurrent use.
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kring_core::model::{App, Token};
use kring_core::scopes::Scopes;
use kring_core::time::now_micros;
use kring_store::{AuthCode, NewToken};
use sha2::{Digest, Sha256};

use crate::{Actor, Error, Id, Kring, Result};

pub fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash_secret(secret: &str) -> String {
    kring_core::secret::hash(secret)
}

/// Argon2id with the crate's defaults (OWASP's minimum: 19 MiB, 2 passes). Runs off the async
/// threads, one per core at a time (`cpu::run`): it takes tens of milliseconds on purpose.
pub async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_string();
    crate::cpu::run(move || {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let bytes: [u8; 16] = rand::random();
        let salt = SaltString::encode_b64(&bytes).map_err(Error::internal)?;
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(Error::internal)
    })
    .await?
}

/// Whether `password` matches `hash`; an error when no core could be had in time (503).
pub async fn verify_password(password: &str, hash: &str) -> Result<bool> {
    let (password, hash) = (password.to_string(), hash.to_string());
    crate::cpu::run(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        PasswordHash::new(&hash)
            .map(|h| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
}

/// What a token grants: the app, maybe an account, and scopes.
#[derive(Debug, Clone)]
pub struct Grant {
    pub token: Token,
    pub scopes: Scopes,
    pub actor: Option<Actor>,
}

/// A freshly issued token, with its secrets (shown once).
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: String,
    pub refresh_token: String,
    pub scopes: Scopes,
    pub created_at: i64,
    /// Seconds until the access token stops working; None: never.
    pub expires_in: Option<i64>,
}

/// A newly registered app with its client secret, which is shown this once: only its hash is
/// kept.
#[derive(Debug, Clone)]
pub struct RegisteredApp {
    pub app: App,
    pub client_secret: String,
}

/// How a client identified itself at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// With its client secret (a confidential client).
    Secret,
    /// With its client id only (a public client): only an authorization code bound to a PKCE
    /// challenge can be redeemed so, and revocation (RFC 7009 §2.1) needs no more.
    IdOnly,
}

/// A PKCE code challenge the server accepts: S256 only, as Mastodon configures Doorkeeper
/// (`pkce_code_challenge_methods ['S256']`). `plain` would put the verifier itself in the
/// authorization request, where whoever intercepts the code may see it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkceChallenge(String);

impl PkceChallenge {
    /// The method stored with the code.
    pub const METHOD: &'static str = "S256";

    /// From an authorization request's `code_challenge` and `code_challenge_method`: None
    /// when no challenge is given; an error (for `invalid_request`) for any method but S256
    /// (none given means plain, RFC 7636 §4.3) or a challenge that is not a base64url SHA-256.
    pub fn from_request(
        challenge: Option<&str>,
        method: Option<&str>,
    ) -> Result<Option<PkceChallenge>> {
        let challenge = challenge.filter(|c| !c.is_empty());
        let method = method.filter(|m| !m.is_empty());
        if let Some(m) = method
            && m != Self::METHOD
        {
            return Err(Error::bad_request(
                "Code challenge method is not supported: use S256.",
            ));
        }
        let Some(c) = challenge else {
            return Ok(None);
        };
        if method.is_none() {
            return Err(Error::bad_request(
                "Code challenge method is missing (plain is not supported): use S256.",
            ));
        }
        // BASE64URL(SHA-256(verifier)) without padding is 43 characters (RFC 7636 §4.2).
        let well_formed = URL_SAFE_NO_PAD
            .decode(c)
            .is_ok_and(|bytes| bytes.len() == 32);
        if !well_formed {
            return Err(Error::bad_request(
                "Code challenge is not a base64url-encoded SHA-256.",
            ));
        }
        Ok(Some(PkceChallenge(c.to_string())))
    }

    /// Whether `verifier` hashes to this challenge (compared in constant time).
    fn verifies(challenge: &str, verifier: &str) -> bool {
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        kring_core::secret::eq(computed.as_bytes(), challenge.as_bytes())
    }
}

pub struct NewApp {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub scopes: String,
    pub website: Option<String>,
}

pub const OOB_REDIRECT: &str = "urn:ietf:wg:oauth:2.0:oob";

impl Kring {
    pub async fn create_app(&self, new: NewApp) -> Result<RegisteredApp> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(Error::validation("Name can't be blank"));
        }
        if new.redirect_uris.is_empty() {
            return Err(Error::validation("Redirect URI can't be blank"));
        }
        for uri in &new.redirect_uris {
            match url_scheme(uri) {
                _ if uri == OOB_REDIRECT => {}
                None => return Err(Error::validation("Redirect URI must be an absolute URI")),
                // Schemes a browser would run or render as a page instead of handing the code
                // to an app (Doorkeeper's `forbid_redirect_uri` in Mastodon refuses these).
                Some(scheme)
                    if FORBIDDEN_REDIRECT_SCHEMES
                        .contains(&scheme.to_ascii_lowercase().as_str()) =>
                {
                    return Err(Error::validation("Redirect URI is forbidden by the server"));
                }
                Some(_) => {}
            }
        }
        let website = new.website.filter(|w| !w.trim().is_empty());
        if let Some(w) = &website
            && kring_core::text::http_url(w).is_none()
        {
            return Err(Error::validation("Website is invalid"));
        }
        let scopes = Scopes::parse(&new.scopes).map_err(Error::validation)?;
        let client_secret = random_secret();
        let app = App {
            id: Id::generate(),
            name: name.to_string(),
            website,
            redirect_uris: new.redirect_uris,
            scopes: scopes.to_string(),
            client_id: random_secret(),
            client_secret_hash: Some(hash_secret(&client_secret)),
            created_at: now_micros(),
        };
        self.store.insert_app(&app).await?;
        Ok(RegisteredApp { app, client_secret })
    }

    /// The app with this client id (for the authorize page).
    pub async fn app_by_client_id(&self, client_id: &str) -> Result<Option<App>> {
        self.store.app_by_client_id(client_id).await
    }

    /// Identify the client at the token or revocation endpoint: by its id and, when given,
    /// its secret, which must then match. Unknown id or wrong secret: `Unauthorized`.
    pub async fn authenticate_client(
        &self,
        client_id: &str,
        client_secret: Option<&str>,
    ) -> Result<(App, ClientAuth)> {
        let app = self
            .store
            .app_by_client_id(client_id)
            .await?
            .ok_or(Error::Unauthorized)?;
        match client_secret {
            None => Ok((app, ClientAuth::IdOnly)),
            Some(secret)
                if app
                    .client_secret_hash
                    .as_deref()
                    .is_some_and(|h| kring_core::secret::matches(secret, h)) =>
            {
                Ok((app, ClientAuth::Secret))
            }
            Some(_) => Err(Error::Unauthorized),
        }
    }

    /// When a token issued now with the configured lifetime expires (microseconds), and in
    /// how many seconds.
    fn token_expiry(&self) -> (Option<i64>, Option<i64>) {
        expiry(self.config.access_token_lifetime)
    }

    /// Issue a token for an app and (optionally) an account, with the configured lifetime.
    /// The scopes must be within the app's.
    pub async fn issue_token(
        &self,
        app: &App,
        account: Option<Id>,
        requested: Option<&str>,
    ) -> Result<IssuedToken> {
        let lifetime = self.config.access_token_lifetime;
        self.issue(app, account, requested, lifetime).await
    }

    /// Issue a token that does not expire: a browser session of the web interface, which
    /// holds no refresh token to renew it and ends when the person signs out.
    pub(crate) async fn issue_session_token(&self, app: &App, account: Id) -> Result<IssuedToken> {
        self.issue(app, Some(account), None, None).await
    }

    async fn issue(
        &self,
        app: &App,
        account: Option<Id>,
        requested: Option<&str>,
        lifetime: Option<Duration>,
    ) -> Result<IssuedToken> {
        let app_scopes = Scopes::parse(&app.scopes).map_err(Error::validation)?;
        let scopes = match requested.filter(|s| !s.trim().is_empty()) {
            Some(r) => Scopes::parse(r).map_err(|_| Error::bad_request("invalid_scope"))?,
            None => app_scopes.clone(),
        };
        if !app_scopes.contains_all(&scopes) {
            return Err(Error::bad_request("invalid_scope"));
        }
        let access = random_secret();
        let refresh = random_secret();
        let (expires_at, expires_in) = expiry(lifetime);
        self.store
            .insert_token(&NewToken {
                id: Id::generate(),
                token_hash: hash_secret(&access),
                refresh_hash: Some(hash_secret(&refresh)),
                app_id: Some(app.id),
                account_id: account,
                scopes: scopes.to_string(),
                expires_at,
            })
            .await?;
        Ok(IssuedToken {
            access_token: access,
            refresh_token: refresh,
            scopes,
            created_at: now_micros(),
            expires_in,
        })
    }

    /// Resolve a bearer token. Tokens of suspended, unapproved or unconfirmed users do not work,
    /// nor do tokens past their lifetime (`TokenExpired`: the client may refresh).
    pub async fn authenticate(&self, bearer: &str) -> Result<Grant> {
        let hash = hash_secret(bearer);
        let caches = &self.events.caches;
        let token = match caches.token(&hash) {
            Some(t) => t,
            None => {
                let read_at = caches.tokens_generation();
                let t = Arc::new(
                    self.store
                        .token_by_hash(&hash)
                        .await?
                        .ok_or(Error::Unauthorized)?,
                );
                caches.keep_token(hash, t.clone(), read_at);
                t
            }
        };
        if token.expires_at.is_some_and(|at| at <= now_micros()) {
            return Err(Error::TokenExpired);
        }
        let scopes = Scopes::parse(&token.scopes).unwrap_or_default();
        let actor = match token.account_id {
            None => None,
            Some(id) => Some(self.actor(id).await?),
        };
        if let Some(a) = &actor {
            if a.account.suspended_at.is_some() {
                return Err(Error::forbidden("Your login is currently disabled"));
            }
            if !a.user.approved {
                return Err(Error::forbidden("Your login is currently pending approval"));
            }
            if !a.user.confirmed {
                return Err(Error::forbidden(
                    "Your login is missing a confirmed e-mail address",
                ));
            }
        }
        if caches.note_token_use(token.id) && caches.queue_token_use(token.id) {
            // In the background, a second later, with the uses of that second: a request
            // never waits on this write, and many uses make one write (`queue_token_use`).
            let store = self.store.clone();
            let caches = caches.clone();
            tokio::spawn(async move {
                tokio::time::sleep(crate::caches::TOKEN_USES_GATHERED).await;
                let tokens = caches.take_token_uses();
                if let Err(e) = store.note_token_uses(&tokens, now_micros()).await {
                    tracing::debug!(error = %e, "tokens' last uses were not written");
                }
            });
        }
        Ok(Grant {
            token: (*token).clone(),
            scopes,
            actor,
        })
    }

    pub async fn actor(&self, id: Id) -> Result<Actor> {
        let (account, user) = self
            .store
            .account_and_user(id)
            .await?
            .ok_or(Error::Unauthorized)?;
        Ok(Actor { account, user })
    }

    /// Check an email and password. The same error for unknown email and wrong password.
    pub async fn check_password(&self, email: &str, password: &str) -> Result<Actor> {
        let invalid = || Error::bad_request("Invalid email or password.");
        let user = match self.store.user_by_email(email.trim()).await? {
            Some(u) => u,
            None => {
                // Spend the same time as a real check, so timing does not reveal accounts.
                verify_password(password, DUMMY_HASH).await?;
                return Err(invalid());
            }
        };
        if !verify_password(password, &user.password_hash).await? {
            return Err(invalid());
        }
        let account = self
            .store
            .account(user.account_id)
            .await?
            .ok_or_else(invalid)?;
        Ok(Actor { account, user })
    }

    pub async fn password_grant(
        &self,
        app: &App,
        email: &str,
        password: &str,
        scope: Option<&str>,
    ) -> Result<IssuedToken> {
        let actor = self.check_password(email, password).await?;
        self.ensure_can_log_in(&actor)?;
        self.issue_token(app, Some(actor.id()), scope).await
    }

    pub fn ensure_can_log_in(&self, actor: &Actor) -> Result<()> {
        if actor.account.suspended_at.is_some() {
            return Err(Error::forbidden("Your login is currently disabled"));
        }
        if !actor.user.approved {
            return Err(Error::forbidden("Your login is currently pending approval"));
        }
        if !actor.user.confirmed {
            return Err(Error::forbidden(
                "Your login is missing a confirmed e-mail address",
            ));
        }
        Ok(())
    }

    /// Create an authorization code after the person consented on the authorize page.
    pub async fn create_auth_code(
        &self,
        app: &App,
        actor: &Actor,
        redirect_uri: &str,
        scope: Option<&str>,
        pkce: Option<PkceChallenge>,
    ) -> Result<String> {
        self.ensure_can_log_in(actor)?;
        if !app.redirect_uris.iter().any(|u| u == redirect_uri) {
            return Err(Error::bad_request(
                "The redirect uri included is not valid.",
            ));
        }
        let app_scopes = Scopes::parse(&app.scopes).map_err(Error::validation)?;
        let scopes = match scope.filter(|s| !s.trim().is_empty()) {
            Some(s) => Scopes::parse(s).map_err(|_| Error::bad_request("invalid_scope"))?,
            None => app_scopes.clone(),
        };
        if !app_scopes.contains_all(&scopes) {
            return Err(Error::bad_request("invalid_scope"));
        }
        let code = random_secret();
        self.store
            .insert_auth_code(
                &hash_secret(&code),
                &AuthCode {
                    app_id: app.id,
                    account_id: actor.id(),
                    redirect_uri: redirect_uri.to_string(),
                    scopes: scopes.to_string(),
                    challenge_method: pkce.as_ref().map(|_| PkceChallenge::METHOD.to_string()),
                    code_challenge: pkce.map(|p| p.0),
                    expires_at: now_micros() + 10 * 60 * 1_000_000,
                },
            )
            .await?;
        Ok(code)
    }

    /// Redeem an authorization code. It is taken first (so it works once, whatever follows),
    /// then: it must be this app's and not expired; `redirect_uri` must be the one it was
    /// issued for (RFC 6749 §4.1.3); a code bound to a PKCE challenge needs the matching
    /// verifier; a code without one needs the client's secret and no verifier.
    pub async fn exchange_code(
        &self,
        app: &App,
        client: ClientAuth,
        code: &str,
        redirect_uri: &str,
        verifier: Option<&str>,
    ) -> Result<IssuedToken> {
        let invalid = || Error::bad_request("invalid_grant");
        let c = self
            .store
            .take_auth_code(&hash_secret(code))
            .await?
            .ok_or_else(invalid)?;
        if c.app_id != app.id || c.expires_at < now_micros() {
            return Err(invalid());
        }
        if !kring_core::secret::eq(redirect_uri.as_bytes(), c.redirect_uri.as_bytes()) {
            return Err(invalid());
        }
        match (&c.code_challenge, verifier) {
            (Some(challenge), Some(verifier)) => {
                // Codes from before `plain` was refused expire within minutes; none pass.
                let s256 = c.challenge_method.as_deref() == Some(PkceChallenge::METHOD);
                if !s256 || !PkceChallenge::verifies(challenge, verifier) {
                    return Err(invalid());
                }
            }
            (Some(_), None) => return Err(invalid()),
            (None, _) if client != ClientAuth::Secret => return Err(Error::Unauthorized),
            (None, Some(_)) => return Err(invalid()),
            (None, None) => {}
        }
        let actor = self.actor(c.account_id).await?;
        self.ensure_can_log_in(&actor)?;
        self.issue_token(app, Some(actor.id()), Some(&c.scopes))
            .await
    }

    /// Trade a refresh token for a new token pair with the same account and scopes. The old
    /// access and refresh tokens stop working; the refresh token works once, even when two
    /// requests race with it (one conditional UPDATE decides, see the store).
    pub async fn refresh_grant(&self, app: &App, refresh: &str) -> Result<IssuedToken> {
        let access = random_secret();
        let next_refresh = random_secret();
        let (expires_at, expires_in) = self.token_expiry();
        let rotated = self
            .store
            .rotate_refresh_token(&hash_secret(refresh), app.id, |old| NewToken {
                id: Id::generate(),
                token_hash: hash_secret(&access),
                refresh_hash: Some(hash_secret(&next_refresh)),
                app_id: Some(app.id),
                account_id: old.account_id,
                scopes: old.scopes.clone(),
                expires_at,
            })
            .await?;
        let Some((old, new)) = rotated else {
            return Err(Error::bad_request("invalid_grant"));
        };
        self.sessions_changed([old.account_id]);
        Ok(IssuedToken {
            access_token: access,
            refresh_token: next_refresh,
            scopes: Scopes::parse(&new.scopes).unwrap_or_default(),
            created_at: now_micros(),
            expires_in,
        })
    }

    pub async fn revoke(&self, app: &App, token: &str) -> Result<()> {
        let revoked = self
            .store
            .revoke_token(&hash_secret(token), Some(app.id))
            .await?;
        self.sessions_changed(revoked);
        Ok(())
    }

    /// Tokens of these accounts were revoked: every process's token cache forgets them.
    pub(crate) fn sessions_changed(&self, accounts: impl IntoIterator<Item = Option<Id>>) {
        let mut accounts: Vec<Option<Id>> = accounts.into_iter().collect();
        accounts.sort();
        accounts.dedup();
        for a in accounts {
            self.events
                .publish(crate::events::EventKind::SessionsChanged(a), Vec::new());
        }
    }
}

/// When a token issued now with `lifetime` expires (microseconds) and in how many seconds.
fn expiry(lifetime: Option<Duration>) -> (Option<i64>, Option<i64>) {
    let Some(d) = lifetime else {
        return (None, None);
    };
    let micros = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    (
        Some(now_micros().saturating_add(micros)),
        Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
    )
}

/// A valid Argon2id hash of a random password, verified against when the email is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$V2lxQ0pbTFsmB0m1WvyyJW9Gm9AJzTNDdjgkdD6Y0f4";

/// Redirect URI schemes an app may not register.
const FORBIDDEN_REDIRECT_SCHEMES: &[&str] = &["javascript", "data", "vbscript", "file"];

fn url_scheme(uri: &str) -> Option<&str> {
    let (scheme, rest) = uri.split_once(':')?;
    (!scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty())
    .then_some(scheme)
}
