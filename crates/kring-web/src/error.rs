//! Errors as pages: the service's error becomes a status code and a short message; "not signed
//! in" becomes a redirect to the sign-in page.
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use kring_core::Error;

use crate::assets;

#[derive(Debug)]
pub enum WebError {
    Service(Error),
    Status(StatusCode, String),
}

impl From<Error> for WebError {
    fn from(e: Error) -> Self {
        WebError::Service(e)
    }
}

impl WebError {
    pub fn status(code: StatusCode, msg: &str) -> WebError {
        WebError::Status(code, msg.to_string())
    }

    pub fn not_found() -> WebError {
        WebError::Service(Error::NotFound)
    }
}

/// The message the service gave, fit to show (internal details stay in the log).
pub fn message(e: &Error) -> String {
    match e {
        Error::NotFound => "The page you are looking for isn't here.".into(),
        Error::Internal(_) => "Something went wrong on our side.".into(),
        Error::RateLimited(_) => {
            "You have made too many requests. Wait a while and try again.".into()
        }
        Error::Forbidden(m) | Error::Validation(m) | Error::BadRequest(m) | Error::Conflict(m) => {
            m.clone()
        }
        Error::Fields(fields) => fields.to_string(),
        other => other.to_string(),
    }
}

pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::Unauthorized | Error::TokenExpired => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::Validation(_) | Error::Fields(_) | Error::Conflict(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Error::BadRequest(_) => StatusCode::BAD_REQUEST,
        Error::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    heading: &'a str,
    message: &'a str,
    css: &'static str,
    icon: &'static str,
}

pub fn error_page(code: StatusCode, message: &str) -> Response {
    let heading = match code {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "That didn't work",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        _ => "Something went wrong",
    };
    let page = ErrorPage {
        heading,
        message,
        css: assets::url("kring.css"),
        icon: assets::url("favicon.svg"),
    };
    match page.render() {
        Ok(html) => (code, Html(html)).into_response(),
        Err(_) => (code, message.to_string()).into_response(),
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::Service(Error::Unauthorized) => Redirect::to("/auth/sign_in").into_response(),
            WebError::Service(e) => {
                if let Error::Internal(detail) = &e {
                    tracing::error!(%detail, "internal error");
                }
                let mut res = error_page(status_of(&e), &message(&e));
                if let Error::RateLimited(limit) = &e {
                    add_rate_limit_headers(&mut res, limit);
                }
                res
            }
            WebError::Status(code, msg) => error_page(code, &msg),
        }
    }
}

pub type WebResult<T = Response> = Result<T, WebError>;

/// Mastodon's `X-RateLimit-*` headers (and `Retry-After`) on a 429 page.
pub fn add_rate_limit_headers(res: &mut Response, limit: &kring_core::RateLimit) {
    for (name, value) in limit.headers() {
        if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
            res.headers_mut()
                .insert(axum::http::HeaderName::from_static(name), v);
        }
    }
}
