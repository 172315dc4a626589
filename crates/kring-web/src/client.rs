//! The client's address, as the server's wiring found it (the TCP peer, or what a trusted proxy
//! forwarded for), for the abuse limits of `kring_service::limits`.
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kring_service::limits::ClientAddr;

pub struct Client(pub ClientAddr);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client(
            parts
                .extensions
                .get::<ClientAddr>()
                .copied()
                .unwrap_or(ClientAddr::UNKNOWN),
        ))
    }
}
