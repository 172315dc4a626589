//! Checking who signed an incoming request: draft-cavage or RFC 9421. The signature's key id
//! is mapped to its signer through the key id stored with each remote account; an unknown key
//! is fetched, its owner fetched in turn, and the key counts only when the owner lists it. A
//! known key that fails is fetched once more (the actor may have rotated its key).
use kring_activitypub::as2::host_of;
use kring_activitypub::{HttpRequestParts, PublicKey, cavage, rfc9421};
use kring_core::model::Account;

use crate::{Error, Kring, Result};

/// An incoming HTTP request, as a door hands it over.
pub struct SignedRequest {
    pub method: String,
    /// `/path?query`
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

enum Sig {
    Cavage(cavage::SignatureHeader),
    Rfc9421(rfc9421::ParsedSignature),
}

impl Sig {
    fn key_id(&self) -> Option<&str> {
        match self {
            Sig::Cavage(c) => Some(&c.key_id),
            Sig::Rfc9421(r) => r.params.keyid(),
        }
    }
}

impl Kring {
    /// Whether a request's authority (its `Host`) names this server; hosts compare
    /// case-blind and without the scheme's default port (as RFC 9421's `@authority`).
    fn is_our_authority(&self, authority: Option<&str>) -> bool {
        let normalize = |a: &str| {
            let a = a.trim().to_ascii_lowercase();
            let default_port = if self.config.scheme == "https" {
                ":443"
            } else {
                ":80"
            };
            a.strip_suffix(default_port)
                .map(str::to_string)
                .unwrap_or(a)
        };
        authority.is_some_and(|a| normalize(a) == normalize(&self.config.domain))
    }

    /// Verify a signed request; returns the signing account (fetched if new; its post counters
    /// may be behind, see `Store::account_ignoring_counts`).
    pub async fn verify_signature(&self, req: &SignedRequest) -> Result<Account> {
        self.verify_signature_with(req, true).await
    }

    /// Verify a signed request with keys already known here, never fetching one: for requests
    /// that need no signer (reading public documents without authorized fetch), so an
    /// anonymous signed GET cannot make this server fetch from elsewhere.
    pub async fn verify_signature_with_known_keys(&self, req: &SignedRequest) -> Result<Account> {
        self.verify_signature_with(req, false).await
    }

    async fn verify_signature_with(
        &self,
        req: &SignedRequest,
        fetch_keys: bool,
    ) -> Result<Account> {
        let unauthorized = |m: String| Error::Forbidden(format!("signature: {m}"));
        let mut parts = HttpRequestParts::new(&req.method, &req.target)
            .map_err(|e| unauthorized(e.to_string()))?
            .with_scheme(&self.config.scheme);
        for (k, v) in &req.headers {
            parts = parts.header(k, v.clone());
        }
        // A request signed for another server (a delivery captured there and replayed here)
        // is not ours: the signature covers the host it was made for.
        if !self.is_our_authority(parts.authority()) {
            return Err(unauthorized(
                "the request is addressed to another host".into(),
            ));
        }
        if !req.body.is_empty() || req.method.eq_ignore_ascii_case("POST") {
            parts = parts.with_body(&req.body);
        }
        let sig = if parts.headers().contains("signature-input") {
            let mut sigs = rfc9421::parse_signatures(parts.headers())
                .map_err(|e| unauthorized(e.to_string()))?;
            if sigs.is_empty() {
                return Err(unauthorized("no signature".into()));
            }
            Sig::Rfc9421(sigs.swap_remove(0))
        } else {
            Sig::Cavage(
                cavage::SignatureHeader::from_request(&parts)
                    .map_err(|e| unauthorized(e.to_string()))?,
            )
        };
        let key_id = sig
            .key_id()
            .ok_or_else(|| unauthorized("no key id".into()))?
            .to_string();
        let key_host =
            host_of(&key_id).ok_or_else(|| unauthorized("key id is not a URL".into()))?;
        if !self.federates_with(&key_host).await? {
            return Err(Error::forbidden("domain is not federated with"));
        }

        let check = |key: &PublicKey| -> std::result::Result<(), kring_activitypub::Error> {
            match &sig {
                Sig::Cavage(c) => cavage::verify(&parts, c, key, &cavage::VerifyOptions::default()),
                Sig::Rfc9421(r) => {
                    rfc9421::verify(&parts, r, key, &rfc9421::VerifyOptions::default())
                }
            }
        };

        // 1. The account whose stored key has this id (mapped through the key's own id, so
        //    key ids without a fragment work on every delivery), and its key.
        let remembered = match self.federation.key_owner(&key_id) {
            // The account as the account cache has it (dropped on every change but one to its
            // post counters, which each post it delivers makes and which do not matter here),
            // if it still has the key it had when this key id was found on it.
            Some((id, pem)) => self
                .store
                .account_ignoring_counts(id)
                .await?
                .filter(|a| super::pem_hash(&a.public_key_pem) == pem),
            None => None,
        };
        let known = match remembered {
            Some(a) => Some(a),
            None => self.store.account_by_key_id(&key_id).await?,
        };
        if let Some(account) = known {
            let key = match self.federation.cached_public_key(&key_id) {
                Some(k) => Some(k),
                None => PublicKey::from_pem(&account.public_key_pem).ok(),
            };
            if let Some(key) = key {
                match check(&key) {
                    Ok(()) => {
                        self.federation.remember_signer(&key_id, key, &account);
                        return Ok(account);
                    }
                    Err(kring_activitypub::Error::BadSignature) => {
                        // Maybe the key was rotated: forget it and fetch it again, at most
                        // once in a while.
                        self.federation.forget_public_key(&key_id);
                        if !self.federation.may_refetch_key(&key_id) {
                            return Err(unauthorized("signature verification failed".into()));
                        }
                    }
                    Err(e) => return Err(unauthorized(e.to_string())),
                }
            }
        }
        // 2. Fetch the key's owner (the key is stored only if its owner lists it).
        if !fetch_keys {
            return Err(unauthorized("unknown key".into()));
        }
        // One fetch per key id at a time; whoever waited finds what the fetch before it
        // stored (or its failure, remembered: `fetch` does not try again for a while).
        let _turn = self.federation.key_fetch_turn(&key_id).await;
        if let Some(account) = self.store.account_by_key_id(&key_id).await?
            && let Ok(key) = PublicKey::from_pem(&account.public_key_pem)
            && check(&key).is_ok()
        {
            self.federation.remember_signer(&key_id, key, &account);
            return Ok(account);
        }
        let signer = self
            .resolve_signer(&key_id)
            .await
            .map_err(|e| unauthorized(format!("cannot fetch key: {e}")))?;
        let key =
            PublicKey::from_pem(&signer.public_key_pem).map_err(|e| unauthorized(e.to_string()))?;
        check(&key).map_err(|e| unauthorized(e.to_string()))?;
        self.federation.forget_public_key(&key_id);
        self.federation.remember_signer(&key_id, key, &signer);
        Ok(signer)
    }
}
