//! Errors as pages: the service's error becomes a status code and a short message; "not signed
//! in" becomes a redirect to the sign-in page. The page a handler answers with is a plain one;
//! [`in_layout`] then shows it in the normal layout, with the viewer's navigation, so an error
//! is never a dead end (or, for the page's script, as JSON it can show in place).
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use kring_core::Error;

use crate::view::Chrome;
use crate::{Web, assets};

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

/// What went wrong, kept on the error page's response for [`in_layout`].
#[derive(Clone, Debug)]
pub struct Failure {
    heading: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "failure.html")]
struct FailurePage<'a> {
    c: Chrome,
    message: &'a str,
}

/// Show an error page in the layout of every other page: the viewer's navigation, the
/// heading and the reason, and a way on. A request from the page's script (it asks for JSON)
/// gets `{"error": reason}` with the same status instead, to show next to the button it
/// pressed. Headers the handler set (a rate limit's) are kept.
pub async fn in_layout(State(web): State<Web>, req: Request, next: Next) -> Response {
    let json = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("application/json"));
    let mut cookies = HeaderMap::new();
    for v in req.headers().get_all(header::COOKIE) {
        cookies.append(header::COOKIE, v.clone());
    }
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let res = next.run(req).await;
    let Some(failure) = res.extensions().get::<Failure>().cloned() else {
        return res;
    };
    let (mut parts, _) = res.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    let body = if json {
        axum::Json(serde_json::json!({ "error": failure.message })).into_response()
    } else {
        let viewer = crate::session::viewer_for(&cookies, &web)
            .await
            .ok()
            .flatten();
        let page = match web.chrome(viewer.as_ref(), failure.heading, "", path).await {
            Ok(c) => FailurePage {
                c,
                message: &failure.message,
            }
            .render()
            .ok(),
            Err(_) => None,
        };
        match page {
            Some(html) => Html(html).into_response(),
            None => {
                return error_page(parts.status, &failure.message);
            }
        }
    };
    let (body_parts, body) = body.into_parts();
    parts.headers.extend(body_parts.headers);
    Response::from_parts(parts, body)
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
    let mut res = match page.render() {
        Ok(html) => (code, Html(html)).into_response(),
        Err(_) => (code, message.to_string()).into_response(),
    };
    res.extensions_mut().insert(Failure {
        heading,
        message: message.to_string(),
    });
    res
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
