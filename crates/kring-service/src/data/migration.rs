//! Moving an account, as Mastodon and GoToSocial do: the new account names the old one among
//! its aliases (`alsoKnownAs`), then the old account moves (`Move` to its followers, `movedTo`
//! on its actor). Followers here follow the new account by themselves, whether the move was
//! made here or announced by another server — after checking that the new account claims the
//! old one, or anyone could take someone's followers.
use kring_activitypub::as2;
use kring_core::Error;
use kring_core::model::Account;

use crate::federation::outbox::Recipients;
use crate::{Actor, Kring, Result};

/// Aliases one account may name (GoToSocial's limit).
const MAX_ALIASES: usize = 5;

impl Kring {
    /// Set the accounts the actor says are also it (`alsoKnownAs`), each given as an actor URI
    /// or a handle (`user@server`); an empty list removes them all. Other servers hear of it
    /// with an `Update` of the actor.
    pub async fn set_aliases(&self, actor: &Actor, aliases: &[String]) -> Result<Account> {
        let wanted: Vec<&str> = aliases
            .iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
            .collect();
        if wanted.len() > MAX_ALIASES {
            return Err(Error::validation(format!(
                "At most {MAX_ALIASES} aliases may be set"
            )));
        }
        let mut uris: Vec<String> = Vec::new();
        for a in wanted {
            let account = self.account_named(a).await?;
            if account.id == actor.id() {
                return Err(Error::validation("An account cannot be its own alias"));
            }
            if !uris.contains(&account.uri) {
                uris.push(account.uri);
            }
        }
        let mut tx = self.store.begin().await?;
        tx.set_also_known_as(actor.id(), &uris).await?;
        tx.commit().await?;
        self.announce_profile(actor.id()).await
    }

    /// Move the actor's account to `target` (URI or handle), their password confirming it.
    /// The target must name this account among its aliases (read again from its server now).
    pub async fn move_account(&self, actor: &Actor, password: &str, target: &str) -> Result<()> {
        if !crate::auth::verify_password(password, &actor.user.password_hash).await? {
            return Err(Error::validation("The password is not correct"));
        }
        let to = self.account_named(target.trim()).await?;
        let to = if to.is_local() {
            to
        } else {
            self.resolve_account_uri(&to.uri, true).await?
        };
        if to.id == actor.id() {
            return Err(Error::validation("An account cannot move to itself"));
        }
        if !to.also_known_as.iter().any(|a| a == &actor.account.uri) {
            return Err(Error::validation(
                "The new account must first name this one as an alias (alsoKnownAs)",
            ));
        }
        let me = &actor.account;
        let activity = serde_json::json!({
            "@context": as2::context(),
            "id": self.activity_id(me, "moves"),
            "type": "Move",
            "actor": me.uri,
            "object": me.uri,
            "target": to.uri,
        });
        let mut tx = self.store.begin().await?;
        tx.set_moved_to(me.id, to.id).await?;
        self.emit(
            &mut tx,
            me,
            activity,
            Recipients::Followers {
                of: me.id,
                also: Vec::new(),
            },
        )
        .await?;
        tx.commit().await?;
        self.announce_profile(me.id).await?;
        // Followers here do not wait for a Move to come back to them.
        self.follow_move(me, &to).await;
        tracing::info!(account = %me.id, "account moved");
        Ok(())
    }

    /// `old` moved to `new`: each of this server's followers of `old` follows `new` (a request
    /// where `new` approves followers) and stops following `old`. One that cannot (a block)
    /// is left as it was; the others still move.
    pub(crate) async fn follow_move(&self, old: &Account, new: &Account) {
        let followers = match self.store.local_follower_ids(old.id).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "the followers of a moved account were not read");
                return;
            }
        };
        for f in followers {
            if f == new.id {
                continue;
            }
            let moved = async {
                let who = self.actor(f).await?;
                self.follow(&who, new.id, None, None).await?;
                Box::pin(self.unfollow(&who, old.id)).await?;
                Ok::<(), Error>(())
            }
            .await;
            if let Err(e) = moved {
                tracing::info!(follower = %f, error = %e, "a follower did not follow the move");
            }
        }
    }

    /// An account by actor URI or handle (`user`, `user@server`, `@user@server`), fetched
    /// from its server when unknown here (aliases, moves, and the rows of an import).
    pub(crate) async fn account_named(&self, name: &str) -> Result<Account> {
        let unknown = || Error::validation(format!("No account named {name}"));
        if name.starts_with("https://") || name.starts_with("http://") {
            return self
                .resolve_account_uri(name, false)
                .await
                .map_err(|_| unknown());
        }
        let handle = name.trim_start_matches('@');
        let (user, domain) = match handle.split_once('@') {
            Some((u, d)) if !d.eq_ignore_ascii_case(&self.config.domain) => (u, Some(d)),
            Some((u, _)) => (u, None),
            None => (handle, None),
        };
        if user.is_empty() {
            return Err(unknown());
        }
        match domain {
            Some(d) => self.resolve_acct(user, d).await.map_err(|_| unknown()),
            None => self
                .store
                .account_by_handle(user, None)
                .await?
                .ok_or_else(unknown),
        }
    }
}
