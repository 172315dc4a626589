//! Errors as Mastodon clients expect them: a status code and `{"error": "…"}`.
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kring_core::Error;

#[derive(Debug)]
pub struct ApiError(pub Error);

pub type ApiResult<T> = Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match &self.0 {
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

    pub fn message(&self) -> String {
        match &self.0 {
            // Internal details go to the log, not to the client.
            Error::Internal(_) => "Internal server error".to_string(),
            e => e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Error::Internal(detail) = &self.0 {
            tracing::error!(%detail, "internal error");
        }
        let mut body = serde_json::json!({ "error": self.message() });
        if let Error::Fields(fields) = &self.0 {
            body["details"] = details(fields);
        }
        let mut res = (status, Json(body)).into_response();
        if let Error::RateLimited(limit) = &self.0 {
            add_rate_limit_headers(&mut res, limit);
        }
        res
    }
}

/// Mastodon's `details`: each field's broken rules, `{"username": [{"error": "ERR_TAKEN",
/// "description": "has already been taken"}]}`.
fn details(fields: &kring_core::FieldErrors) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for e in &fields.0 {
        let entry = out
            .entry(e.field)
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        if let serde_json::Value::Array(list) = entry {
            list.push(serde_json::json!({ "error": e.code, "description": e.description }));
        }
    }
    serde_json::Value::Object(out)
}

pub fn not_found() -> ApiError {
    ApiError(Error::NotFound)
}

pub fn bad_request(msg: impl Into<String>) -> ApiError {
    ApiError(Error::BadRequest(msg.into()))
}

pub fn unprocessable(msg: impl Into<String>) -> ApiError {
    ApiError(Error::Validation(msg.into()))
}

/// Mastodon's `X-RateLimit-*` headers (and `Retry-After`) on a 429.
pub fn add_rate_limit_headers(res: &mut Response, limit: &kring_core::RateLimit) {
    for (name, value) in limit.headers() {
        if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
            res.headers_mut()
                .insert(axum::http::HeaderName::from_static(name), v);
        }
    }
}
