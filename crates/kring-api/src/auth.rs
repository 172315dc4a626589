//! Bearer tokens and scopes. `Auth` requires a valid token; `MaybeAuth` accepts signed-out
//! requests (but still rejects a bad token). Handlers ask for the scope they need.
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kring_core::Error;
use kring_service::auth::Grant;
use kring_service::{Actor, Kring};

use crate::error::ApiError;

pub struct Auth(pub Grant);
pub struct MaybeAuth(pub Option<Grant>);

/// The token from `Authorization: Bearer …` or the `access_token` query parameter.
pub fn bearer(parts: &Parts) -> Option<String> {
    if let Some(h) = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let h = h.trim();
        if h.len() > 7 && h[..7].eq_ignore_ascii_case("bearer ") {
            return Some(h[7..].trim().to_string());
        }
    }
    parts.uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.into_owned())
    })
}

impl FromRequestParts<Kring> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, kring: &Kring) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError(Error::Unauthorized))?;
        let grant = kring.authenticate(&token).await?;
        limit_writes(parts, kring, &grant)?;
        Ok(Auth(grant))
    }
}

impl FromRequestParts<Kring> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, kring: &Kring) -> Result<Self, Self::Rejection> {
        match bearer(parts) {
            None => Ok(MaybeAuth(None)),
            Some(token) => {
                let grant = kring.authenticate(&token).await?;
                limit_writes(parts, kring, &grant)?;
                Ok(MaybeAuth(Some(grant)))
            }
        }
    }
}

/// Writes count against the account's allowance of writes.
fn limit_writes(parts: &Parts, kring: &Kring, grant: &Grant) -> Result<(), ApiError> {
    if let Some(actor) = &grant.actor
        && kring_service::limits::is_write(parts.method.as_str())
    {
        kring.limits.write(actor.id())?;
    }
    Ok(())
}

fn check_scope(grant: &Grant, scope: &str) -> Result<(), ApiError> {
    if grant.scopes.allows(scope) {
        Ok(())
    } else {
        Err(ApiError(Error::forbidden(
            "This action is outside the authorized scopes",
        )))
    }
}

impl Auth {
    /// The acting user, if the token has `scope` and belongs to a user.
    pub fn user(&self, scope: &str) -> Result<&Actor, ApiError> {
        check_scope(&self.0, scope)?;
        self.0.actor.as_ref().ok_or_else(|| {
            ApiError(Error::Validation(
                "This method requires an authenticated user".into(),
            ))
        })
    }

    pub fn app_scope(&self, scope: &str) -> Result<&Grant, ApiError> {
        check_scope(&self.0, scope)?;
        Ok(&self.0)
    }
}

impl MaybeAuth {
    /// The viewer, if any; a token without `scope` is refused.
    pub fn viewer(&self, scope: &str) -> Result<Option<&Actor>, ApiError> {
        match &self.0 {
            None => Ok(None),
            Some(g) => {
                check_scope(g, scope)?;
                Ok(g.actor.as_ref())
            }
        }
    }
}
