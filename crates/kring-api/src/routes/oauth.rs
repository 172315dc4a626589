//! OAuth 2 as Mastodon clients use it: app registration, the authorize page (log-in and
//! consent in one form, so no session is needed), the token endpoint with the
//! authorization_code (PKCE, S256 only), password, client_credentials and refresh_token grants,
//! and revoke. The rules (what a code, a verifier, a secret must be) are the service's; this
//! door reads parameters and writes Doorkeeper's answers. Its pages carry the web door's
//! security headers (the server's layer), the authorize page with `form-action` widened to
//! the app's redirect URI.
use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use kring_core::Error;
use kring_core::model::App;
use kring_service::Kring;
use kring_service::auth::{ClientAuth, IssuedToken, NewApp, OOB_REDIRECT, PkceChallenge};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Auth;
use crate::client::Client;
use crate::entities;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, Query, lenient};

pub fn routes() -> Router<Kring> {
    Router::new()
        .route("/api/v1/apps", post(create_app))
        .route("/api/v1/apps/verify_credentials", get(verify_app))
        .route("/oauth/authorize", get(authorize_page).post(authorize))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
}

#[derive(Deserialize)]
struct AppParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    client_name: Option<String>,
    #[serde(default)]
    redirect_uris: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    scopes: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    website: Option<String>,
}

async fn create_app(
    State(kring): State<Kring>,
    Params(p): Params<AppParams>,
) -> ApiResult<Response> {
    let redirect_uris: Vec<String> = match p.redirect_uris {
        Some(serde_json::Value::String(s)) => s
            .split(['\n', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Some(serde_json::Value::Array(a)) => a
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let registered = kring
        .create_app(NewApp {
            name: p.client_name.unwrap_or_default(),
            redirect_uris,
            scopes: p.scopes.unwrap_or_else(|| "read".into()),
            website: p.website,
        })
        .await?;
    // The only answer that holds the client secret: only its hash is kept.
    Ok(Json(entities::application(
        &registered.app,
        Some(&registered.client_secret),
    ))
    .into_response())
}

async fn verify_app(State(kring): State<Kring>, auth: Auth) -> ApiResult<Response> {
    let app_id = auth.0.token.app_id.ok_or(ApiError(Error::Unauthorized))?;
    let app = kring
        .app_by_id(app_id)
        .await?
        .ok_or(ApiError(Error::Unauthorized))?;
    // Without client_id and client_secret, as Mastodon's REST::ApplicationSerializer.
    Ok(Json(entities::application(&app, None)).into_response())
}

#[derive(Deserialize, Default)]
struct AuthorizeParams {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    response_type: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    code_challenge: Option<String>,
    #[serde(default)]
    code_challenge_method: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

#[derive(Template)]
#[template(path = "authorize.html")]
struct AuthorizePage<'a> {
    title: &'a str,
    app_name: &'a str,
    scopes: Vec<&'a str>,
    client_id: &'a str,
    redirect_uri: &'a str,
    scope: &'a str,
    state: &'a str,
    code_challenge: &'a str,
    code_challenge_method: &'a str,
    error: Option<&'a str>,
    code: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "oauth_error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    error: &'a str,
    description: &'a str,
}

/// Parameters an OAuth endpoint could not read (malformed JSON, a list where a string
/// belongs): Doorkeeper's `invalid_request`, as OAuth clients expect, rather than the REST
/// API's error shape. Other errors (an oversized body, a rate limit, a fault) keep their own
/// status.
fn unreadable(e: ApiError) -> Response {
    match &e.0 {
        Error::BadRequest(_) | Error::Validation(_) | Error::Fields(_) | Error::Conflict(_) => {
            oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &e.message())
        }
        _ => e.into_response(),
    }
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// Whether the request comes from a browser loading a page (it asks for HTML).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// An authorize request refused: Doorkeeper's JSON for API clients, a page for a browser.
struct Refusal {
    error: &'static str,
    description: String,
}

impl Refusal {
    fn new(error: &'static str, description: impl Into<String>) -> Refusal {
        Refusal {
            error,
            description: description.into(),
        }
    }

    fn respond(&self, kring: &Kring, headers: &HeaderMap) -> Response {
        if !wants_html(headers) {
            return oauth_error(StatusCode::BAD_REQUEST, self.error, &self.description);
        }
        let page = ErrorPage {
            title: &kring.config.title,
            error: self.error,
            description: &self.description,
        };
        match page.render() {
            Ok(html) => (StatusCode::BAD_REQUEST, Html(html)).into_response(),
            Err(e) => ApiError(Error::internal(e)).into_response(),
        }
    }
}

/// The app, redirect URI, response type and PKCE challenge of an authorize request, checked.
async fn authorize_app(
    kring: &Kring,
    p: &AuthorizeParams,
) -> Result<(App, Option<PkceChallenge>), Refusal> {
    let app = kring
        .app_by_client_id(&p.client_id)
        .await
        .ok()
        .flatten()
        .ok_or_else(|| {
            Refusal::new(
                "invalid_client",
                "Client authentication failed due to unknown client.",
            )
        })?;
    if !app.redirect_uris.iter().any(|u| u == &p.redirect_uri) {
        return Err(Refusal::new(
            "invalid_redirect_uri",
            "The redirect uri included is not valid.",
        ));
    }
    if p.response_type.as_deref().is_some_and(|r| r != "code") {
        return Err(Refusal::new(
            "unsupported_response_type",
            "The authorization server does not support this response type.",
        ));
    }
    let pkce = PkceChallenge::from_request(
        p.code_challenge.as_deref(),
        p.code_challenge_method.as_deref(),
    )
    .map_err(|e| Refusal::new("invalid_request", ApiError(e).message()))?;
    Ok((app, pkce))
}

/// The CSP source the authorize form's redirect goes to: the redirect URI's origin for http(s),
/// its scheme for an app's own scheme (`my.app:`), none out of band.
fn redirect_source(redirect_uri: &str) -> Option<String> {
    if redirect_uri == OOB_REDIRECT {
        return None;
    }
    let url = url::Url::parse(redirect_uri).ok()?;
    match url.scheme() {
        "http" | "https" => Some(url.origin().ascii_serialization()),
        scheme => Some(format!("{scheme}:")),
    }
}

fn render_page(
    kring: &Kring,
    app: &App,
    p: &AuthorizeParams,
    error: Option<&str>,
    code: Option<&str>,
) -> Response {
    let scope = p.scope.clone().unwrap_or_else(|| app.scopes.clone());
    let page = AuthorizePage {
        title: &kring.config.title,
        app_name: &app.name,
        scopes: scope.split([' ', '+']).filter(|s| !s.is_empty()).collect(),
        client_id: &p.client_id,
        redirect_uri: &p.redirect_uri,
        scope: &scope,
        state: p.state.as_deref().unwrap_or(""),
        code_challenge: p.code_challenge.as_deref().unwrap_or(""),
        code_challenge_method: p.code_challenge_method.as_deref().unwrap_or(""),
        error,
        code,
    };
    match page.render() {
        Ok(html) => {
            let status = if error.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            let mut res = (status, Html(html)).into_response();
            let targets: Vec<String> = redirect_source(&p.redirect_uri).into_iter().collect();
            let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
            let csp = kring_service::page_security::csp_with_form_targets(&targets);
            if let Ok(v) = HeaderValue::from_str(&csp) {
                res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            res
        }
        Err(e) => ApiError(Error::internal(e)).into_response(),
    }
}

/// The authorize page again, with the rate limit's message, status and headers.
fn too_many(kring: &Kring, app: &App, p: &AuthorizeParams, e: Error) -> Response {
    let limit = match &e {
        Error::RateLimited(l) => Some(*l),
        _ => None,
    };
    let mut res = render_page(kring, app, p, Some(&ApiError(e).message()), None);
    *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Some(limit) = &limit {
        crate::error::add_rate_limit_headers(&mut res, limit);
    }
    res
}

async fn authorize_page(
    State(kring): State<Kring>,
    headers: HeaderMap,
    Client(client): Client,
    p: Result<Query<AuthorizeParams>, ApiError>,
) -> Response {
    let p = match p {
        Ok(Query(p)) => p,
        Err(e) => return Refusal::new("invalid_request", e.message()).respond(&kring, &headers),
    };
    match authorize_app(&kring, &p).await {
        Ok((app, _)) => match kring.limits.authorize(client) {
            Ok(()) => render_page(&kring, &app, &p, None, None),
            Err(e) => too_many(&kring, &app, &p, e),
        },
        Err(r) => r.respond(&kring, &headers),
    }
}

async fn authorize(
    State(kring): State<Kring>,
    headers: HeaderMap,
    Client(client): Client,
    p: Result<Params<AuthorizeParams>, ApiError>,
) -> Response {
    let p = match p {
        Ok(Params(p)) => p,
        Err(e) => return Refusal::new("invalid_request", e.message()).respond(&kring, &headers),
    };
    let (app, pkce) = match authorize_app(&kring, &p).await {
        Ok(checked) => checked,
        Err(r) => return r.respond(&kring, &headers),
    };
    // The form signs in, so sign-in limits apply as well.
    if let Err(e) = kring.limits.authorize(client).and_then(|()| {
        kring
            .limits
            .sign_in(client, p.email.as_deref().unwrap_or(""))
    }) {
        return too_many(&kring, &app, &p, e);
    }
    let actor = match kring
        .check_password(
            p.email.as_deref().unwrap_or(""),
            p.password.as_deref().unwrap_or(""),
        )
        .await
    {
        Ok(a) => a,
        Err(_) => return render_page(&kring, &app, &p, Some("Invalid email or password."), None),
    };
    let code = match kring
        .create_auth_code(&app, &actor, &p.redirect_uri, p.scope.as_deref(), pkce)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            let msg = ApiError(e).message();
            return render_page(&kring, &app, &p, Some(&msg), None);
        }
    };
    if p.redirect_uri == OOB_REDIRECT {
        return render_page(&kring, &app, &p, None, Some(&code));
    }
    let mut target = p.redirect_uri.clone();
    target.push(if target.contains('?') { '&' } else { '?' });
    target.push_str("code=");
    target.push_str(&code);
    if let Some(state) = p.state.as_deref().filter(|s| !s.is_empty()) {
        target.push_str("&state=");
        target.push_str(
            &percent_encoding::utf8_percent_encode(state, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
    }
    Redirect::to(&target).into_response()
}

#[derive(Deserialize, Default)]
struct TokenParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    grant_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    client_secret: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    redirect_uri: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    code_verifier: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    scope: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    username: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    password: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    refresh_token: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    token: Option<String>,
}

/// Client credentials from the body or HTTP Basic auth.
fn client_credentials(
    parts: &axum::http::request::Parts,
    p: &TokenParams,
) -> Option<(String, Option<String>)> {
    if let Some(id) = &p.client_id {
        return Some((id.clone(), p.client_secret.clone()));
    }
    let h = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let encoded = h
        .strip_prefix("Basic ")
        .or_else(|| h.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), Some(secret.to_string())))
}

/// The request head, for HTTP Basic client authentication next to a body extractor.
struct Head(axum::http::request::Parts);

impl FromRequestParts<Kring> for Head {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &Kring,
    ) -> Result<Self, Self::Rejection> {
        Ok(Head(parts.clone()))
    }
}

fn token_response(t: &IssuedToken) -> Response {
    let mut body = json!({
        "access_token": t.access_token,
        "token_type": "Bearer",
        "scope": t.scopes.to_string(),
        "created_at": t.created_at / 1_000_000,
        "refresh_token": t.refresh_token,
    });
    if let Some(seconds) = t.expires_in {
        body["expires_in"] = json!(seconds);
    }
    // RFC 6749 §5.1: token responses are not to be cached.
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(body),
    )
        .into_response()
}

fn grant_error(e: Error) -> Response {
    match e {
        Error::Forbidden(msg) => oauth_error(StatusCode::FORBIDDEN, "access_denied", &msg),
        Error::BadRequest(msg) if msg == "invalid_scope" => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The requested scope is invalid, unknown, or malformed.",
        ),
        Error::BadRequest(msg) if msg.starts_with("Invalid email") => {
            oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &msg)
        }
        Error::BadRequest(_) | Error::NotFound => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
        ),
        Error::Unauthorized => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
        ),
        other => unreadable(ApiError(other)),
    }
}

async fn token(
    State(kring): State<Kring>,
    Client(addr): Client,
    Head(parts): Head,
    p: Result<Params<TokenParams>, ApiError>,
) -> Response {
    let p = match p {
        Ok(Params(p)) => p,
        Err(e) => return unreadable(e),
    };
    let Some((client_id, secret)) = client_credentials(&parts, &p) else {
        return grant_error(Error::Unauthorized);
    };
    let grant_type = p.grant_type.clone().unwrap_or_default();
    // Public clients may omit the secret for the code grant (the service then wants PKCE);
    // every other grant needs it.
    let (app, client) = match kring
        .authenticate_client(&client_id, secret.as_deref())
        .await
    {
        Ok((app, client)) if client == ClientAuth::Secret || grant_type == "authorization_code" => {
            (app, client)
        }
        Ok(_) | Err(_) => return grant_error(Error::Unauthorized),
    };
    let result = match grant_type.as_str() {
        "authorization_code" => {
            let Some(code) = p.code.as_deref() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing required parameter: code.",
                );
            };
            // Required, as the authorize request always names one (RFC 6749 §4.1.3).
            let Some(redirect_uri) = p.redirect_uri.as_deref() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing required parameter: redirect_uri.",
                );
            };
            kring
                .exchange_code(
                    &app,
                    client,
                    code,
                    redirect_uri,
                    p.code_verifier.as_deref().filter(|v| !v.is_empty()),
                )
                .await
        }
        "password" => {
            let (Some(user), Some(pass)) = (p.username.as_deref(), p.password.as_deref()) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing required parameter: username or password.",
                );
            };
            if let Err(e) = kring.limits.sign_in(addr, user) {
                return ApiError(e).into_response();
            }
            kring
                .password_grant(&app, user, pass, p.scope.as_deref())
                .await
        }
        "client_credentials" => kring.issue_token(&app, None, p.scope.as_deref()).await,
        "refresh_token" => {
            let Some(r) = p.refresh_token.as_deref() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing required parameter: refresh_token.",
                );
            };
            kring.refresh_grant(&app, r).await
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            );
        }
    };
    match result {
        Ok(t) => token_response(&t),
        Err(e) => grant_error(e),
    }
}

async fn revoke(
    State(kring): State<Kring>,
    Head(parts): Head,
    p: Result<Params<TokenParams>, ApiError>,
) -> Response {
    let p = match p {
        Ok(Params(p)) => p,
        Err(e) => return unreadable(e),
    };
    let Some((client_id, secret)) = client_credentials(&parts, &p) else {
        return grant_error(Error::Unauthorized);
    };
    let app = match kring
        .authenticate_client(&client_id, secret.as_deref())
        .await
    {
        Ok((app, _)) => app,
        Err(_) => {
            return oauth_error(
                StatusCode::FORBIDDEN,
                "unauthorized_client",
                "You are not authorized to revoke this token",
            );
        }
    };
    if let Some(t) = p.token.as_deref()
        && let Err(e) = kring.revoke(&app, t).await
    {
        return unreadable(ApiError(e));
    }
    // RFC 7009: unknown tokens also get 200.
    Json(json!({})).into_response()
}
