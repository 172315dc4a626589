//! Each local account's RSA-2048 key pair, which signs its ActivityPub requests.
use crate::{Error, Result};

pub struct Keys {
    pub public_pem: String,
    pub private_pem: String,
}

/// Generate a key pair off the async threads, one per core at a time (about 50 ms of CPU).
pub async fn generate() -> Result<Keys> {
    crate::cpu::run(|| {
        let pair = kring_activitypub::keys::KeyPair::generate().map_err(Error::internal)?;
        Ok(Keys {
            public_pem: pair.public_key_pem(),
            private_pem: pair.to_pkcs8_pem().map_err(Error::internal)?,
        })
    })
    .await?
}
