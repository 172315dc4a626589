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
    /// Input that cannot be read at all (400).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Too many requests")]
    RateLimited,
    #[error("Payload too large")]
    PayloadTooLarge,
    #[error("{0}")]
    Unavailable(String),
    /// Something on our side; the message is logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
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
