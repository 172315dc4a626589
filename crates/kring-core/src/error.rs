//! The one error type of the domain and service layer. Each door maps a variant to its own
//! format (the Mastodon API to a status code and `{"error": …}`).
use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Record not found")]
    NotFound,
    #[error("The access token is invalid")]
    Unauthorized,
    /// A token past its lifetime (only when the server gives tokens one); 401 like an invalid
    /// one, with Doorkeeper's words so clients know to refresh.
    #[error("The access token expired")]
    TokenExpired,
    #[error("{0}")]
    Forbidden(String),
    /// Input that is well-formed but breaks a rule (Mastodon answers 422).
    #[error("Validation failed: {0}")]
    Validation(String),
    /// Rules broken by named fields of a form (sign-up), so a client can mark each field:
    /// Mastodon's 422 with `details`.
    #[error("Validation failed: {0}")]
    Fields(FieldErrors),
    /// Input that cannot be read at all (400).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    /// Over a rate limit (Mastodon answers 429 with its `X-RateLimit-*` headers).
    #[error("Too many requests")]
    RateLimited(RateLimit),
    #[error("Payload too large")]
    PayloadTooLarge,
    #[error("{0}")]
    Unavailable(String),
    /// Something on our side; the message is logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// One broken rule of one field: Mastodon's `{"error": "ERR_TAKEN", "description": "has
/// already been taken"}` under the field's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The parameter's name (`username`, `email`, …).
    pub field: &'static str,
    /// Mastodon's code: `ERR_BLANK`, `ERR_TAKEN`, `ERR_INVALID`, `ERR_TOO_LONG`, …
    pub code: &'static str,
    /// The rule in words, without the field's name ("can't be blank").
    pub description: String,
}

/// The broken rules of a form, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, code: &'static str, description: impl Into<String>) {
        self.0.push(FieldError {
            field,
            code,
            description: description.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Rails' full messages: "Username has already been taken, Email is invalid".
impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            let mut name = e.field.replace('_', " ");
            if let Some(first) = name.get(..1) {
                name = first.to_ascii_uppercase() + &name[1..];
            }
            write!(f, "{name} {}", e.description)?;
        }
        Ok(())
    }
}

/// Which limit a request went over, and when the next one is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per period.
    pub limit: u32,
    /// When another request is allowed (microseconds since the epoch).
    pub reset_at: crate::time::Micros,
}

impl RateLimit {
    /// The headers Mastodon sends with a 429, for every door: `X-RateLimit-Reset` is an
    /// ISO 8601 time with microseconds (Ruby's `iso8601(6)`), plus `Retry-After` in seconds.
    pub fn headers(&self) -> [(&'static str, String); 4] {
        let wait_micros = (self.reset_at - crate::time::now_micros()).max(0);
        [
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", "0".to_string()),
            (
                "x-ratelimit-reset",
                crate::time::to_datetime(self.reset_at)
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ),
            (
                "retry-after",
                ((wait_micros + 999_999) / 1_000_000).to_string(),
            ),
        ]
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn internal(e: impl fmt::Display) -> Error {
        Error::Internal(e.to_string())
    }
    pub fn validation(msg: impl Into<String>) -> Error {
        Error::Validation(msg.into())
    }
    pub fn forbidden(msg: impl Into<String>) -> Error {
        Error::Forbidden(msg.into())
    }
    pub fn bad_request(msg: impl Into<String>) -> Error {
        Error::BadRequest(msg.into())
    }
}
