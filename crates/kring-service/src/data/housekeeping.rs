//! The hourly `data.forget` job: what docs/privacy.md promises to keep only for a while is
//! removed once that while is over.
use crate::{Kring, Result};

pub const FORGET: &str = "data.forget";

impl Kring {
    /// Forget expired idempotency keys, old ids of received activities, expired
    /// authorisation codes and long-revoked tokens.
    pub async fn forget_expired(&self) -> Result<kring_store::Forgotten> {
        let gone = self
            .store
            .forget_expired(kring_core::time::now_micros())
            .await?;
        tracing::debug!(?gone, "expired records forgotten");
        Ok(gone)
    }
}
