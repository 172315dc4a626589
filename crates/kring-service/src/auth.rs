//! OAuth applications and tokens, password checks. Secrets are random 32-byte strings; only
//! their SHA-256 is stored.
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
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
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
}

pub struct NewApp {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub scopes: String,
    pub website: Option<String>,
}

pub const OOB_REDIRECT: &str = "urn:ietf:wg:oauth:2.0:oob";

impl Kring {
    pub async fn create_app(&self, new: NewApp) -> Result<App> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(Error::validation("Name can't be blank"));
        }
        if new.redirect_uris.is_empty() {
            return Err(Error::validation("Redirect URI can't be blank"));
        }
        for uri in &new.redirect_uris {
            if uri != OOB_REDIRECT && url_scheme(uri).is_none() {
                return Err(Error::validation("Redirect URI must be an absolute URI"));
            }
        }
        let scopes = Scopes::parse(&new.scopes).map_err(Error::validation)?;
        let app = App {
            id: Id::generate(),
            name: name.to_string(),
            website: new.website.filter(|w| !w.is_empty()),
            redirect_uris: new.redirect_uris,
            scopes: scopes.to_string(),
            client_id: random_secret(),
            client_secret: random_secret(),
            created_at: now_micros(),
        };
        self.store.insert_app(&app).await?;
        Ok(app)
    }

    pub async fn app_by_credentials(
        &self,
        client_id: &str,
        client_secret: Option<&str>,
    ) -> Result<App> {
        let app = self
            .store
            .app_by_client_id(client_id)
            .await?
            .ok_or(Error::Unauthorized)?;
        if let Some(secret) = client_secret
            && !constant_time_eq(secret.as_bytes(), app.client_secret.as_bytes())
        {
            return Err(Error::Unauthorized);
        }
        Ok(app)
    }

    /// Issue a token for an app and (optionally) an account. The scopes must be within the app's.
    pub async fn issue_token(
        &self,
        app: &App,
        account: Option<Id>,
        requested: Option<&str>,
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
        self.store
            .insert_token(&NewToken {
                id: Id::generate(),
                token_hash: hash_secret(&access),
                refresh_hash: Some(hash_secret(&refresh)),
                app_id: Some(app.id),
                account_id: account,
                scopes: scopes.to_string(),
            })
            .await?;
        Ok(IssuedToken {
            access_token: access,
            refresh_token: refresh,
            scopes,
            created_at: now_micros(),
        })
    }

    /// Resolve a bearer token. Tokens of suspended, unapproved or unconfirmed users do not work.
    pub async fn authenticate(&self, bearer: &str) -> Result<Grant> {
        let token = self
            .store
            .token_by_hash(&hash_secret(bearer))
            .await?
            .ok_or(Error::Unauthorized)?;
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
        Ok(Grant {
            token,
            scopes,
            actor,
        })
    }

    pub async fn actor(&self, id: Id) -> Result<Actor> {
        let account = self.store.account(id).await?.ok_or(Error::Unauthorized)?;
        let user = self.store.user(id).await?.ok_or(Error::Unauthorized)?;
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
        code_challenge: Option<String>,
        challenge_method: Option<String>,
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
        if let Some(m) = &challenge_method
            && m != "S256"
            && m != "plain"
        {
            return Err(Error::bad_request(
                "invalid_request: unsupported code_challenge_method",
            ));
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
                    challenge_method: code_challenge
                        .as_ref()
                        .map(|_| challenge_method.unwrap_or_else(|| "plain".into())),
                    code_challenge,
                    expires_at: now_micros() + 10 * 60 * 1_000_000,
                },
            )
            .await?;
        Ok(code)
    }

    pub async fn exchange_code(
        &self,
        app: &App,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<IssuedToken> {
        let invalid = || Error::bad_request("invalid_grant");
        let mut tx = self.store.begin().await?;
        let c = tx
            .take_auth_code(&hash_secret(code))
            .await?
            .ok_or_else(invalid)?;
        tx.commit().await?;
        if c.app_id != app.id || c.expires_at < now_micros() {
            return Err(invalid());
        }
        if let Some(r) = redirect_uri
            && r != c.redirect_uri
        {
            return Err(invalid());
        }
        if let Some(challenge) = &c.code_challenge {
            let verifier = verifier.ok_or_else(invalid)?;
            let computed = match c.challenge_method.as_deref() {
                Some("S256") => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
                _ => verifier.to_string(),
            };
            if !constant_time_eq(computed.as_bytes(), challenge.as_bytes()) {
                return Err(invalid());
            }
        }
        let actor = self.actor(c.account_id).await?;
        self.ensure_can_log_in(&actor)?;
        self.issue_token(app, Some(actor.id()), Some(&c.scopes))
            .await
    }

    pub async fn refresh_grant(&self, app: &App, refresh: &str) -> Result<IssuedToken> {
        let hash = hash_secret(refresh);
        let token = self
            .store
            .token_by_refresh_hash(&hash)
            .await?
            .ok_or_else(|| Error::bad_request("invalid_grant"))?;
        if token.app_id != Some(app.id) {
            return Err(Error::bad_request("invalid_grant"));
        }
        self.store.revoke_token(&hash, Some(app.id)).await?;
        self.issue_token(app, token.account_id, Some(&token.scopes))
            .await
    }

    pub async fn revoke(&self, app: &App, token: &str) -> Result<()> {
        self.store
            .revoke_token(&hash_secret(token), Some(app.id))
            .await
    }
}

/// A valid Argon2id hash of a random password, verified against when the email is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$V2lxQ0pbTFsmB0m1WvyyJW9Gm9AJzTNDdjgkdD6Y0f4";

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn url_scheme(uri: &str) -> Option<&str> {
    let (scheme, rest) = uri.split_once(':')?;
    (!scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty())
    .then_some(scheme)
}
