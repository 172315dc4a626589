//! Getting remote things: actors by URI or by `user@domain` (WebFinger), and notes by URI,
//! stored as remote accounts and statuses. A fetched document must come from the host its id
//! names, so nobody can speak for another server.
use kring_activitypub::as2::{self, host_of, ids, kind, str_field};
use kring_activitypub::client::FetchError;
use kring_core::model::{Account, NotificationType, ProfileField, Quote, Status};
use kring_core::time::{now_micros, parse_rfc3339};
use kring_core::{Audience, Grant, Interaction, Visibility, text};
use kring_store::{NewStatus, PostCounts, RemoteAccount};
use serde_json::Value;

use crate::events::{EventKind, Stream};
use crate::interactions::{Inbound, Interacting, REFUSED};
use crate::{Error, Id, Kring, Result};

/// How deep a chain of unknown reply parents is fetched.
pub const MAX_REPLY_DEPTH: u32 = 8;
/// How many redirects (within one origin) a pasted link may take to its document.
const MAX_PASTED_REDIRECTS: usize = 3;
/// Refresh a remote actor at most this often (unless a signature fails).
pub(super) const REFRESH_MICROS: i64 = 24 * 3600 * 1_000_000;

impl Kring {
    pub(crate) fn remote_error(e: impl std::fmt::Display) -> Error {
        Error::Unavailable(format!("remote fetch failed: {e}"))
    }

    /// Fetch an ActivityStreams document, signed by the instance actor. It counts only as what
    /// its own origin says: the answer's `id` must be the URL asked for (redirects are never
    /// followed, and the Content-Type must be ActivityStreams); when it names another id, that
    /// id is fetched once and must answer with itself. So a file uploaded to a server, or a
    /// document copied to another path, cannot speak for the actor it names (the pattern of
    /// Mastodon's CVE-2024-23832).
    pub(crate) async fn fetch(&self, url: &str) -> Result<Value> {
        let doc = self.fetch_once(url).await?;
        self.confirmed(url, doc).await
    }

    /// [`fetch`](Self::fetch) for a link a person pasted (a profile or post page as a browser
    /// shows it): asked for ActivityStreams, such pages answer with the document or redirect
    /// to it (Kring's and GoToSocial's do). Redirects are followed only within the origin of
    /// the URL that redirected, at most [`MAX_PASTED_REDIRECTS`] times, so the answer is still
    /// that server speaking; then the same id rule applies to where they led.
    pub(crate) async fn fetch_pasted(&self, url: &str) -> Result<Value> {
        let mut at = url.to_string();
        for _ in 0..=MAX_PASTED_REDIRECTS {
            match self.fetch_answer(&at).await? {
                Answer::Document(doc) => return self.confirmed(&at, doc).await,
                Answer::Redirect(to) => {
                    if !same_origin(&at, &to) {
                        return Err(Error::forbidden(format!(
                            "{at} redirects to another server"
                        )));
                    }
                    at = to;
                }
            }
        }
        Err(Self::remote_error(format!("{url}: too many redirects")))
    }

    /// A fetched `doc` as the document at `url`: its id is `url`, or its id (fetched once)
    /// answers with itself.
    pub(super) async fn confirmed(&self, url: &str, doc: Value) -> Result<Value> {
        let id = str_field(&doc, "id").ok_or_else(|| Error::bad_request("object without id"))?;
        if id == url {
            return Ok(doc);
        }
        let id = id.to_string();
        let again = self.fetch_once(&id).await?;
        if str_field(&again, "id") == Some(id.as_str()) {
            return Ok(again);
        }
        let why = format!("{url} names {id}, which answers with another id");
        tracing::info!(url, "fetched document refused: {why}");
        self.federation.remember_failure(url, why.clone());
        Err(Error::forbidden(format!(
            "document id does not match its URL: {why}"
        )))
    }

    /// One signed GET of an ActivityStreams document; a redirect is a failure.
    pub(super) async fn fetch_once(&self, url: &str) -> Result<Value> {
        match self.fetch_answer(url).await? {
            Answer::Document(doc) => Ok(doc),
            Answer::Redirect(to) => {
                let e = FetchError::Redirect(to);
                tracing::info!(url, error = %e, "fetch failed");
                self.federation.remember_failure(url, e.to_string());
                Err(Self::remote_error(e))
            }
        }
    }

    /// One signed GET of an ActivityStreams document: the document, or where it redirects
    /// (not followed). Failures are remembered for a while (see
    /// [`super::FAILED_FETCH_TTL`]) and not tried again meanwhile.
    async fn fetch_answer(&self, url: &str) -> Result<Answer> {
        if let Some(why) = self.federation.recent_failure(url) {
            return Err(Error::Unavailable(format!(
                "remote fetch failed recently: {why}"
            )));
        }
        let key = self.instance_key().await?;
        let key_id = as2::key_id(&self.instance_actor_uri());
        match self
            .federation
            .client
            .get_activity(url, Some((&key_id, key)))
            .await
        {
            Ok(doc) => Ok(Answer::Document(doc)),
            Err(FetchError::Redirect(to)) => Ok(Answer::Redirect(to)),
            Err(e) => {
                tracing::info!(url, error = %e, "fetch failed");
                // Our own per-host limit is no fault of the URL.
                if !matches!(e, FetchError::Busy(_)) {
                    self.federation.remember_failure(url, e.to_string());
                }
                Err(Self::remote_error(e))
            }
        }
    }

    /// What a pasted link (a profile or post URL copied from a browser: Kring's or Mastodon's
    /// `/@user` and `/@user/ID`, Mastodon's `/users/x/statuses/ID`, GoToSocial's
    /// `/@user/statuses/ID`, Lemmy's `/u/x`, `/post/N`, `/comment/N`, or any ActivityPub id)
    /// is: an account or a post, known here or fetched with [`fetch_pasted`](Self::fetch_pasted).
    /// Who may then see a post found is the caller's business (the audience rule).
    pub async fn resolve_pasted_url(&self, url: &str) -> Result<Pasted> {
        if self.is_local_uri(url) {
            return self.local_pasted(url).await;
        }
        if self.store.account_by_uri(url).await?.is_some() {
            return self
                .resolve_account_uri(url, false)
                .await
                .map(Pasted::Account);
        }
        if let Some(s) = self.store.status_by_uri(url).await? {
            return Ok(Pasted::Status(s));
        }
        let domain = host_of(url).ok_or_else(|| Error::bad_request("not a URL"))?;
        if !self.federates_with(&domain).await? {
            return Err(Error::forbidden("domain is not federated with"));
        }
        let doc = self.fetch_pasted(url).await?;
        if is_actor(&doc) {
            let remote = parse_actor(&doc, None)?;
            if !self.federates_with(&remote.domain).await? {
                return Err(Error::forbidden("domain is not federated with"));
            }
            return self.store_remote_account(remote).await.map(Pasted::Account);
        }
        if is_post(&doc) {
            let id = str_field(&doc, "id").unwrap_or_default();
            let domain = host_of(id).ok_or_else(|| Error::bad_request("bad object id"))?;
            if !self.federates_with(&domain).await? {
                return Err(Error::forbidden("domain is not federated with"));
            }
            return self
                .store_remote_note(&doc, MAX_REPLY_DEPTH)
                .await
                .map(Pasted::Status);
        }
        Err(Error::NotFound)
    }

    /// `/authorize_interaction?uri=…`: what someone of this server, arriving from elsewhere,
    /// wants to follow or answer — [`resolve_pasted_url`](Self::resolve_pasted_url) for them.
    pub async fn authorize_interaction(&self, actor: &crate::Actor, uri: &str) -> Result<Pasted> {
        if !Self::may_fetch_remote_for(Some(actor)) {
            return Err(Error::forbidden("Sign in first"));
        }
        if text::http_url(uri).is_none() {
            return Err(Error::validation("Not a profile or post address"));
        }
        self.resolve_pasted_url(uri).await
    }

    /// One of this server's own URLs: `/@user`, `/@user/ID`, `/users/user`,
    /// `/users/user/statuses/ID`.
    async fn local_pasted(&self, url: &str) -> Result<Pasted> {
        let path = url::Url::parse(url)
            .map(|u| u.path().to_string())
            .map_err(|_| Error::NotFound)?;
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let (name, status) = match parts.as_slice() {
            [at] if at.starts_with('@') => (&at[1..], None),
            [at, id] if at.starts_with('@') => (&at[1..], Some(*id)),
            ["users", name] => (*name, None),
            ["users", name, "statuses", id] => (*name, Some(*id)),
            _ => return Err(Error::NotFound),
        };
        let name = name
            .strip_suffix(&format!("@{}", self.config.domain))
            .unwrap_or(name);
        let account = self
            .store
            .account_by_handle(name, None)
            .await?
            .ok_or(Error::NotFound)?;
        let Some(raw) = status else {
            return Ok(Pasted::Account(account));
        };
        let id: Id = raw.parse().map_err(|_| Error::NotFound)?;
        match self.store.status(id).await? {
            Some(s) if s.account_id == account.id => Ok(Pasted::Status(s)),
            _ => Err(Error::NotFound),
        }
    }

    /// An account by its ActivityPub id, fetched when unknown or stale (`refresh` forces it).
    pub async fn resolve_account_uri(&self, uri: &str, refresh: bool) -> Result<Account> {
        if self.is_local_uri(uri) {
            return self.store.account_by_uri(uri).await?.ok_or(Error::NotFound);
        }
        let known = self.store.account_by_uri(uri).await?;
        if let Some(a) = &known
            && !refresh
            && now_micros() - a.updated_at < REFRESH_MICROS
        {
            return Ok(a.clone());
        }
        let domain = host_of(uri).ok_or_else(|| Error::bad_request("bad actor id"))?;
        if !self.federates_with(&domain).await? {
            return Err(Error::forbidden("domain is not federated with"));
        }
        let doc = match self.fetch(uri).await {
            Ok(d) => d,
            // A stale copy is better than none when the remote is down.
            Err(e) => return known.ok_or(e),
        };
        let remote = parse_actor(&doc, None)?;
        self.store_remote_account(remote).await
    }

    /// The account that owns the key `key_id`, fetched: the key id's URL (without fragment)
    /// may serve the actor itself (`…/users/a#main-key`), a cut-down stub naming the actor
    /// (GoToSocial's `…/users/a/main-key`, fetched again by its id), or a key document of its
    /// own with an `owner`. Either way the owner's own document must list the key; only then is
    /// the key stored (replacing the account's previous one).
    pub(crate) async fn resolve_signer(&self, key_id: &str) -> Result<Account> {
        let bad = |m: &str| Error::forbidden(format!("key {key_id}: {m}"));
        let url = key_id.split('#').next().unwrap_or(key_id);
        let doc = self.fetch(url).await?;
        let owner = if is_actor(&doc) {
            doc
        } else {
            if str_field(&doc, "id") != Some(key_id) {
                return Err(bad(
                    "the document at its URL is neither an actor nor the key",
                ));
            }
            let owner = str_field(&doc, "owner")
                .or_else(|| str_field(&doc, "controller"))
                .ok_or_else(|| bad("key without owner"))?;
            if host_of(owner).is_none() || host_of(owner) != host_of(key_id) {
                return Err(bad("owner is on another host"));
            }
            let owner = self.fetch(owner).await?;
            if !is_actor(&owner) {
                return Err(bad("owner is not an actor"));
            }
            owner
        };
        let remote = parse_actor(&owner, Some(key_id))?;
        if host_of(&remote.uri) != host_of(key_id) {
            return Err(bad("owner is on another host"));
        }
        if !self.federates_with(&remote.domain).await? {
            return Err(Error::forbidden("domain is not federated with"));
        }
        self.store_remote_account(remote).await
    }

    /// Create or refresh a remote account. A handle another actor of that server already has
    /// gets a suffix from the actor's id (handles are unique; ids are what identify).
    pub(super) async fn store_remote_account(&self, mut remote: RemoteAccount) -> Result<Account> {
        if let Some(other) = self
            .store
            .account_by_handle(&remote.username, Some(&remote.domain))
            .await?
            && other.uri != remote.uri
        {
            remote.username = disambiguated(&remote.username, &remote.uri);
        }
        let mut tx = self.store.begin().await?;
        let stored = match tx.upsert_remote_account(&remote).await {
            Ok(id) if remote.group => {
                // A group elsewhere (a Lemmy community, another Kring's group): known as a
                // group here too, so its posts gather in a group timeline.
                let kind = if remote.locked {
                    kring_core::GroupKind::Closed
                } else {
                    kring_core::GroupKind::Public
                };
                match tx.upsert_remote_group(id, kind).await {
                    Ok(()) => tx.commit().await.map(|_| id),
                    Err(e) => Err(e),
                }
            }
            Ok(id) => tx.commit().await.map(|_| id),
            Err(e) => Err(e),
        };
        match stored {
            Ok(id) => self.store.account(id).await?.ok_or(Error::NotFound),
            // Two requests from a new actor raced to store it: the other one won.
            Err(Error::Conflict(_)) => self
                .store
                .account_by_uri(&remote.uri)
                .await?
                .ok_or(Error::NotFound),
            Err(e) => Err(e),
        }
    }

    /// `user@domain` via WebFinger.
    pub async fn resolve_acct(&self, username: &str, domain: &str) -> Result<Account> {
        if let Some(a) = self.store.account_by_handle(username, Some(domain)).await?
            && now_micros() - a.updated_at < REFRESH_MICROS
        {
            return Ok(a);
        }
        if !self.federates_with(domain).await? {
            return Err(Error::NotFound);
        }
        let doc = self.webfinger_of(username, domain).await?;
        let self_link = doc
            .get("links")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|l| {
                str_field(l, "rel") == Some("self")
                    && str_field(l, "type")
                        .is_some_and(|t| t.contains("activity+json") || t.contains("ld+json"))
            })
            .and_then(|l| str_field(l, "href"))
            .ok_or(Error::NotFound)?
            .to_string();
        self.resolve_account_uri(&self_link, true).await
    }

    /// The WebFinger answer for `username@domain` on its server (unsigned, guarded like
    /// every fetch).
    async fn webfinger_of(&self, username: &str, domain: &str) -> Result<Value> {
        let scheme = if self.federation.client.allows_http(domain) {
            "http"
        } else {
            "https"
        };
        let url = format!(
            "{scheme}://{domain}/.well-known/webfinger?resource=acct:{}@{}",
            percent_encoding::utf8_percent_encode(username, percent_encoding::NON_ALPHANUMERIC),
            domain
        );
        self.federation
            .client
            .get_json(&url, None, "application/jrd+json, application/json")
            .await
            .map_err(Self::remote_error)
    }

    /// "Follow or reply from your server": where a visitor with the handle `handle`
    /// (`user@their.server`) interacts with `uri` (one of this server's profiles or posts):
    /// their server's `http://ostatus.org/schema/1.0/subscribe` template from WebFinger, as
    /// Mastodon finds it, with `{uri}` filled in. A handle of this server leads to its own
    /// `/authorize_interaction`. Only the WebFinger answer is read and nothing is stored, so a
    /// signed-out visitor may ask (the door limits how often).
    pub async fn remote_interaction_url(&self, handle: &str, uri: &str) -> Result<String> {
        if !self.is_local_uri(uri) {
            return Err(Error::validation("Only this server's profiles and posts"));
        }
        let handle = handle.trim().trim_start_matches('@');
        let (user, domain) = match handle.split_once('@') {
            Some((u, d)) if !u.is_empty() && !d.is_empty() && !d.contains(['/', '?', '#', '@']) => {
                (u, d)
            }
            _ => {
                return Err(Error::validation(
                    "Enter your full handle, like name@your.server",
                ));
            }
        };
        let encoded =
            percent_encoding::utf8_percent_encode(uri, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        if domain.eq_ignore_ascii_case(&self.config.domain) {
            return Ok(format!("/authorize_interaction?uri={encoded}"));
        }
        if !self.federates_with(domain).await? {
            return Err(Error::forbidden("That server is not federated with"));
        }
        let unknown =
            || Error::validation("Your server did not say how to follow or reply from it");
        let doc = self
            .webfinger_of(user, domain)
            .await
            .map_err(|_| unknown())?;
        let template = doc
            .get("links")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|l| str_field(l, "rel") == Some("http://ostatus.org/schema/1.0/subscribe"))
            .and_then(|l| str_field(l, "template"))
            .filter(|t| t.contains("{uri}"))
            .ok_or_else(unknown)?;
        let target = template.replace("{uri}", &encoded);
        // Only a web address: the remote server chose this string.
        text::http_url(&target)
            .map(str::to_string)
            .ok_or_else(unknown)
    }

    /// A status by its ActivityPub id; fetched (with its author and parents) when unknown.
    pub async fn resolve_status_uri(&self, uri: &str, depth: u32) -> Result<Status> {
        if let Some(s) = self.store.status_by_uri(uri).await? {
            return Ok(s);
        }
        if self.is_local_uri(uri) || depth == 0 {
            return Err(Error::NotFound);
        }
        let doc = self.fetch(uri).await?;
        let id = str_field(&doc, "id").ok_or_else(|| Error::bad_request("object without id"))?;
        if host_of(id) != host_of(uri) {
            return Err(Error::forbidden(
                "object id is on another host than its URL",
            ));
        }
        self.store_remote_note(&doc, depth).await
    }

    /// Store a remote Note (or Question/Article/Page, shown as a note) and deliver it locally.
    pub(crate) async fn store_remote_note(&self, note: &Value, depth: u32) -> Result<Status> {
        self.store_remote_note_seen(note, depth, None, None).await
    }

    /// Local accounts a remote post is for: those addressed (to/cc) or mentioned (a Mention
    /// tag), who may all read it; and of them those mentioned, the only ones notified of a
    /// mention (as Mastodon's silent mentions).
    pub(crate) async fn local_recipients(
        &self,
        note: &Value,
        author: Id,
    ) -> Result<(Vec<Id>, Vec<Id>)> {
        let to = ids(note.get("to"));
        let cc = ids(note.get("cc"));
        let mut tagged_uris: Vec<&str> = Vec::new();
        if let Some(tags) = note.get("tag").and_then(Value::as_array) {
            for t in tags {
                if kind(t) == "Mention"
                    && let Some(href) = str_field(t, "href")
                {
                    tagged_uris.push(href);
                }
            }
        }
        let mut uris: Vec<&str> = to.iter().chain(&cc).map(String::as_str).collect();
        uris.extend(&tagged_uris);
        uris.sort();
        uris.dedup();
        let mut mentioned: Vec<Id> = Vec::new();
        let mut tagged: Vec<Id> = Vec::new();
        for m in uris {
            if self.is_local_uri(m)
                && let Some(a) = self.store.account_by_uri(m).await?
                && a.id != author
            {
                mentioned.push(a.id);
                if tagged_uris.contains(&m) {
                    tagged.push(a.id);
                }
            }
        }
        Ok((mentioned, tagged))
    }

    /// [`store_remote_note`](Self::store_remote_note) applying a received activity, marked
    /// seen in the same transaction (`Conflict` when it was applied already). A reply to a
    /// post of ours is held to that post's interaction policy: refused (not stored, its author
    /// told with a `Reject`: `Forbidden(REFUSED)`), stored awaiting approval, or stored.
    /// `request`: the id of the polite `ReplyRequest` it came in, which is always answered.
    pub(crate) async fn store_remote_note_seen(
        &self,
        note: &Value,
        depth: u32,
        seen: Option<&super::inbox::Seen>,
        request: Option<&str>,
    ) -> Result<Status> {
        self.store_remote_note_as(note, depth, seen, Arrival::New, request)
            .await
    }

    /// Store a remote note that arrived as `arrival` says (`request`: as for
    /// [`store_remote_note_seen`](Self::store_remote_note_seen)). A note known already only has
    /// its counters raised to what it says now (see [`post_counts`]).
    pub(crate) async fn store_remote_note_as(
        &self,
        note: &Value,
        depth: u32,
        seen: Option<&super::inbox::Seen>,
        arrival: Arrival,
        request: Option<&str>,
    ) -> Result<Status> {
        let n = match self
            .prepare_remote_note(note, depth, seen, arrival, request, None)
            .await?
        {
            NoteReady::Known(s) => return Ok(*s),
            NoteReady::New(n) => n,
        };
        let Some(mut tx) = self.begin_applying(seen).await? else {
            return Err(Error::Conflict("already applied".into()));
        };
        let stored = match self.insert_remote_note(&mut tx, &n).await {
            Ok(stored) => stored,
            // Stored meanwhile by another path (a delivery, the author's outbox read after a
            // look-up, another look-up of the same link): that copy is the post. (With `seen`,
            // a received activity, the conflict goes to the inbox, which knows what it means.)
            Err(Error::Conflict(_)) if seen.is_none() => {
                drop(tx);
                let uri = str_field(note, "id").unwrap_or_default();
                return self.store.status_by_uri(uri).await?.ok_or(Error::NotFound);
            }
            Err(e) => return Err(e),
        };
        tx.commit().await?;
        self.announce_remote_note(&n, stored, None).await
    }

    /// Everything storing a remote note needs that is read or fetched before its transaction
    /// (its author, the post it answers, who it mentions, what it may do): so that applying it
    /// holds the write lock only for writes, and several notes can share one transaction (the
    /// inbox's batches, `receive_batch`). A note known already has its counters raised here.
    pub(crate) async fn prepare_remote_note(
        &self,
        note: &Value,
        depth: u32,
        seen: Option<&super::inbox::Seen>,
        arrival: Arrival,
        request: Option<&str>,
        delivered: Option<&Delivered>,
    ) -> Result<NoteReady> {
        let uri = str_field(note, "id").ok_or_else(|| Error::bad_request("object without id"))?;
        let counts = post_counts(note);
        let unstored = delivered.is_some_and(|d| d.unstored);
        if unstored {
            // Not stored when its claim began (a copy stored since conflicts on insert, and
            // the inbox takes that as applied).
        } else if let Some(s) = self.store.status_by_uri(uri).await? {
            if !counts.exceed(&s) {
                return Ok(NoteReady::Known(Box::new(s)));
            }
            let mut tx = self.store.begin().await?;
            tx.raise_post_counts(s.id, &counts).await?;
            tx.commit().await?;
            return Ok(NoteReady::Known(Box::new(
                self.store.status(s.id).await?.ok_or(Error::NotFound)?,
            )));
        }
        let author_uri = ids(note.get("attributedTo"))
            .into_iter()
            .next()
            .ok_or_else(|| Error::bad_request("object without attributedTo"))?;
        if host_of(&author_uri) != host_of(uri) {
            return Err(Error::forbidden("object is attributed to another host"));
        }
        // The signer of the activity that brought it, when it is the author and its copy here
        // is fresh enough (as `resolve_account_uri` would find): no need to read it again.
        let author = match delivered.map(|d| &d.signer) {
            Some(a) if a.uri == author_uri && now_micros() - a.updated_at < REFRESH_MICROS => {
                a.clone()
            }
            _ => self.resolve_account_uri(&author_uri, false).await?,
        };
        let parent = match str_field(note, "inReplyTo")
            .or_else(|| note.get("inReplyTo").and_then(as2::id_of))
        {
            Some(p) => Box::pin(self.resolve_status_uri(p, depth.saturating_sub(1)))
                .await
                .ok(),
            None => None,
        };
        // A chat's message (`chats::federation`): within a chat every participant may
        // answer every message.
        let chat = self.inbound_chat(note, &author, parent.as_ref()).await?;
        // A reply to one of our posts: may its author answer it, and how?
        let mut inbound = Inbound::default();
        if let Some(p) = parent.as_ref().filter(|p| p.local && chat.is_none()) {
            let asked = Interacting {
                kind: Interaction::Reply,
                target: p,
                account: author.id,
                status: None,
                uri,
                request,
            };
            match self.judge_inbound(&asked, &author, seen).await? {
                Some(i) => inbound = i,
                None => return Err(Error::forbidden(REFUSED)),
            }
        }
        let awaits = inbound.awaits;
        let interaction_policy = match as2::read_interaction_policy(note) {
            Some(w) => Some(self.policy_from_wire(&w, &author).await?),
            None => None,
        };
        let to = ids(note.get("to"));
        let cc = ids(note.get("cc"));
        let visibility = if to.iter().any(|a| as2::is_public_address(a)) {
            Visibility::Public
        } else if cc.iter().any(|a| as2::is_public_address(a)) {
            Visibility::Unlisted
        } else if to
            .iter()
            .chain(&cc)
            .any(|a| *a == author.followers_url && !a.is_empty())
        {
            Visibility::Private
        } else {
            Visibility::Direct
        };
        let (mut mentioned, mut tagged) = self.local_recipients(note, author.id).await?;
        if let Some(c) = chat {
            // In a chat, only participants it tags get it in their feed and are notified.
            let active = self.store.active_participants(c).await?;
            tagged.retain(|a| active.contains(a));
            mentioned = tagged.clone();
        }
        let tags = note_tags(note);
        let mut content = text::sanitize_remote_html(str_field(note, "content").unwrap_or(""));
        let object_kind = kind(note);
        if matches!(
            object_kind,
            "Question" | "Article" | "Page" | "Event" | "Video"
        ) {
            // Shown as a note with a link to the original, until these types are supported.
            let name = str_field(note, "name")
                .map(text::escape_html)
                .unwrap_or_default();
            // Only a web link: the remote server chose this string.
            let link = str_field(note, "url")
                .and_then(text::http_url)
                .or_else(|| text::http_url(uri))
                .map(|l| {
                    let l = text::escape_html(l);
                    format!("<p><a href=\"{l}\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">{l}</a></p>")
                })
                .unwrap_or_default();
            content = format!("<p>{name}</p>{content}{link}");
        }
        // Another Kring says what a post addressed to named accounts stands for: friends-only
        // posts are kept for the named accounts only while they are the author's friends (so
        // an ended friendship takes them away here too); all kinds keep replies inside.
        let narrowed = match (visibility, str_field(note, as2::KRING_VISIBILITY)) {
            (Visibility::Direct, Some("friends")) => Some(Visibility::Friends),
            (Visibility::Direct, Some("circle")) => Some(Visibility::Circle),
            // A group's members-only post: shown as the group's (replies stay inside);
            // who reads it here is still the accounts it names.
            (Visibility::Direct, Some("group")) => Some(Visibility::Group),
            _ => None,
        };
        // A limited post addressed to a group elsewhere (a Lemmy private community's post,
        // another Kring's members-only group post) is for the group's members: those here are
        // the accounts whose follow of it was accepted, read when the post is read, so one who
        // leaves loses it at once. Granting them is no wider than the author naming each.
        let mut addressed_groups: Vec<Id> = Vec::new();
        if chat.is_none() && matches!(visibility, Visibility::Direct | Visibility::Private) {
            for a in to.iter().chain(&cc) {
                if !self.is_local_uri(a)
                    && let Some(g) = self.store.account_by_uri(a).await?
                    && g.group
                    && g.id != author.id
                {
                    addressed_groups.push(g.id);
                }
            }
        }
        let narrowed = narrowed.or((!addressed_groups.is_empty()).then_some(Visibility::Group));
        let visibility = match chat {
            Some(_) => Visibility::Direct,
            None => narrowed.unwrap_or(visibility),
        };
        let mut audience = if let Some(c) = chat {
            Audience::for_chat(c)
        } else if visibility == Visibility::Friends {
            let grants = mentioned
                .iter()
                .map(|&m| {
                    if tagged.contains(&m) {
                        Grant::Account(m)
                    } else {
                        Grant::FriendAccount(m)
                    }
                })
                .collect();
            Audience::named(visibility, grants)
        } else {
            Audience::for_visibility(visibility, author.id, &mentioned)
        };
        audience
            .grants
            .extend(addressed_groups.into_iter().map(Grant::GroupMembers));
        // A silenced domain's posts reach its followers here but no public timeline.
        if self
            .domain_state(author.domain.as_deref().unwrap_or(""))
            .await?
            .policy
            .block
            .is_some()
        {
            audience.listed = false;
        }
        let mut created_at = str_field(note, "published")
            .and_then(parse_rfc3339)
            .unwrap_or_else(now_micros)
            .min(now_micros());
        // A reply is never older than what it answers: Mastodon's `published` has whole
        // seconds, so a quick answer would otherwise sort before its parent (a chat's newest
        // message, a thread's order).
        if let Some(p) = &parent {
            let after_parent = ((p.id.0 >> 16) + 1) * 1000;
            created_at = created_at.max(after_parent.min(now_micros()));
        }
        let id = Id::at_millis(created_at / 1000);
        let url = match note.get("url") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => ids(Some(v))
                .into_iter()
                .next()
                .unwrap_or_else(|| uri.to_string()),
            None => uri.to_string(),
        };
        let new = NewStatus {
            id,
            account_id: author.id,
            uri: uri.to_string(),
            url,
            local: false,
            in_reply_to_id: parent.as_ref().map(|p| p.id),
            in_reply_to_account_id: parent.as_ref().map(|p| p.account_id),
            reblog_of_id: None,
            conversation_id: parent.as_ref().map(|p| p.conversation_id).unwrap_or(id),
            text: String::new(),
            content,
            spoiler_text: note_summary(note),
            sensitive: note
                .get("sensitive")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            language: note_language(note),
            visibility,
            audience: audience.clone(),
            interaction_policy,
            pending_approval_by: awaits,
            application_id: None,
            mentions: tagged.clone(),
            tags: tags.clone(),
            created_at,
        };
        // What it quotes, decided (and fetched) before the transaction.
        let quote = self.inbound_quote(note, &author, depth).await?;
        let media = self.remote_attachments(note, author.id);
        Ok(NoteReady::New(Box::new(NoteToStore {
            media,
            new,
            counts,
            arrival,
            author,
            parent,
            inbound,
            quote,
            mentioned,
            request: request.map(str::to_string),
            addressed: addressed_uris(note),
            chat,
        })))
    }

    /// Write a prepared note in `tx` (which has marked its activity seen): the status, its
    /// feed entries, the interaction it asks for and its mention notifications (returned
    /// with the feeds it went into, to be published once `tx` commits).
    pub(crate) async fn insert_remote_note(
        &self,
        tx: &mut kring_store::Tx,
        n: &NoteToStore,
    ) -> Result<StoredNote> {
        let NoteToStore {
            new,
            counts,
            arrival,
            author,
            parent,
            inbound,
            quote,
            mentioned,
            request,
            addressed: _,
            chat,
            media,
        } = n;
        let (id, uri, awaits, request) =
            (new.id, new.uri.as_str(), inbound.awaits, request.as_deref());
        tx.insert_status(new).await.map_err(|e| match e {
            // Raced with another delivery of the same note.
            Error::Conflict(_) => Error::Conflict("already stored".into()),
            e => e,
        })?;
        if let Some(c) = chat {
            tx.add_chat_message(*c, id, author.id).await?;
        }
        if *counts != PostCounts::default() {
            tx.raise_post_counts(id, counts).await?;
        }
        if !media.is_empty() {
            tx.insert_status_media(id, media).await?;
        }
        let mut quote_notified = Vec::new();
        if let Some((q, target, local)) = quote {
            if *arrival == Arrival::New {
                quote_notified = self
                    .record_inbound_quote(
                        tx,
                        q.clone(),
                        &new.to_status(),
                        target.as_ref(),
                        local.as_ref(),
                    )
                    .await?;
            } else if local.is_none() {
                // Old news from an outbox: kept, but nobody is asked or told.
                let mut q = q.clone();
                q.status_id = id;
                tx.insert_quote(&q).await?;
            }
        }
        if *arrival == Arrival::Backfill {
            // Old news: on the profile and in timelines by its time, but nobody's feed gets
            // it, nobody is notified and nothing is streamed.
            return Ok(StoredNote::default());
        }
        let mut readers = Vec::new();
        if new.audience.includes_followers_of(author.id) {
            let reply_to_other = parent
                .as_ref()
                .map(|p| p.account_id)
                .filter(|&a| a != author.id);
            readers = tx
                .fan_out_to_followers(id, author.id, false, reply_to_other)
                .await?;
        }
        readers.extend(tx.fan_out_to(id, author.id, mentioned).await?);
        if let Some(p) = parent.as_ref().filter(|p| p.local) {
            let reply = Interacting {
                kind: Interaction::Reply,
                target: p,
                account: author.id,
                status: Some(id),
                uri,
                request,
            };
            self.record_inbound(tx, &reply, inbound, author).await?;
        }
        let mut notified = quote_notified;
        // A reply awaiting approval mentions nobody yet: they hear of it once approved.
        for &m in new.mentions.iter().filter(|_| awaits.is_none()) {
            if let Some(n) = self
                .notify_in(tx, m, NotificationType::Mention, author.id, Some(id))
                .await?
            {
                notified.push((m, n));
            }
        }
        Ok(StoredNote { notified, readers })
    }

    /// After a stored note's transaction committed: tell the streams (a backfilled note is
    /// old news and told to nobody). `lists`: the lists showing its author, when the caller
    /// read them (the inbox reads a claim's at once); None reads them. The status is what
    /// was written (`NewStatus::as_stored`): a live event names it, and each stream reads
    /// it through the audience rule.
    pub(crate) async fn announce_remote_note(
        &self,
        n: &NoteToStore,
        stored: StoredNote,
        lists: Option<Vec<Id>>,
    ) -> Result<Status> {
        let status = n.new.as_stored(&n.counts);
        if n.arrival == Arrival::Backfill {
            return Ok(status);
        }
        let lists = match lists {
            Some(l) => l,
            None => self.store.list_ids_containing(status.account_id).await?,
        };
        let reach = crate::statuses::Reach {
            readers: stored.readers,
            lists,
        };
        self.publish_status_to(&status, &n.new.tags, &n.new.audience, reach)
            .await?;
        if let Some(c) = n.chat {
            self.publish_chat(c).await?;
        }
        for (m, note) in stored.notified {
            self.events
                .publish(EventKind::Notification(note), vec![Stream::User(m)]);
        }
        Ok(status)
    }
}

/// What the inbox read for a received post before preparing it, with the rest of its claim.
pub(crate) struct Delivered {
    /// The activity's signer.
    pub(crate) signer: Account,
    /// No status had its URI when the claim began.
    pub(crate) unstored: bool,
}

/// What storing a remote note wrote that its announcement tells (`insert_remote_note`).
#[derive(Default)]
pub(crate) struct StoredNote {
    /// Its mention notifications: (account, notification).
    notified: Vec<(Id, Id)>,
    /// The home feeds it went into.
    readers: Vec<Id>,
}

/// A remote note ready to be stored (see `prepare_remote_note`).
pub(crate) struct NoteToStore {
    new: NewStatus,
    counts: PostCounts,
    arrival: Arrival,
    author: Account,
    parent: Option<Status>,
    /// What its reply to one of our posts comes to (awaiting approval, approved in advance).
    inbound: Inbound,
    /// What it quotes (see `inbound_quote`).
    quote: Option<(Quote, Option<Status>, Option<crate::quotes::LocalQuote>)>,
    /// Local accounts it is addressed to (feeds); `new.mentions` are the ones it tags.
    mentioned: Vec<Id>,
    request: Option<String>,
    /// Everyone it is addressed to or mentions (a local group among them takes it).
    addressed: Vec<String>,
    /// The chat it is a message of.
    chat: Option<Id>,
    /// Its attachments, by URL.
    media: Vec<kring_core::media::MediaAttachment>,
}

impl NoteToStore {
    pub(crate) fn author_id(&self) -> Id {
        self.author.id
    }

    pub(crate) fn addressed(&self) -> &[String] {
        &self.addressed
    }
}

/// Everyone a note is addressed to (`to`, `cc`) or mentions (as Lemmy and Mastodon address a
/// post to a group), and the community its `audience` names (FEP-1b12: Lemmy may name the
/// community there alone). Only where a post goes is read from this: who may read it is
/// still its `to` and `cc`.
pub(crate) fn addressed_uris(note: &Value) -> Vec<String> {
    let mut addressed = ids(note.get("to"));
    addressed.extend(ids(note.get("cc")));
    addressed.extend(ids(note.get("audience")));
    if let Some(tags) = note.get("tag").and_then(Value::as_array) {
        addressed.extend(
            tags.iter()
                .filter(|t| kind(t) == "Mention")
                .filter_map(|t| str_field(t, "href").map(str::to_string)),
        );
    }
    addressed
}

pub(crate) enum NoteReady {
    /// Stored already (its counters raised to what this copy says).
    Known(Box<Status>),
    New(Box<NoteToStore>),
}

/// How a remote post reached this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// Delivered, or looked up by someone: news for feeds, notifications and streams.
    New,
    /// Read from its author's outbox to fill the profile (see `profiles`).
    Backfill,
}

/// The counters a remote post's server gives: the `totalItems` of its embedded `replies`,
/// `shares` and `likes` collections (a collection given only by its id is not fetched).
pub(crate) fn post_counts(note: &Value) -> PostCounts {
    let count = |key: &str| {
        note.get(key)
            .filter(|c| c.is_object())
            .and_then(total_items)
    };
    PostCounts {
        replies: count("replies"),
        reblogs: count("shares"),
        favourites: count("likes"),
    }
}

/// A collection's `totalItems` as a count: a JSON number, made a non-negative `i64` (negative
/// numbers are 0, fractions are cut, numbers too large for `i64` are its largest value);
/// anything else is no count.
pub(crate) fn total_items(collection: &Value) -> Option<i64> {
    let Value::Number(n) = collection.get("totalItems")? else {
        return None;
    };
    if let Some(i) = n.as_i64() {
        return Some(i.max(0));
    }
    if n.as_u64().is_some() {
        return Some(i64::MAX);
    }
    // Float to integer casts saturate in Rust.
    n.as_f64().map(|f| f.max(0.0) as i64)
}

/// What one signed GET got.
enum Answer {
    Document(Value),
    Redirect(String),
}

/// What a pasted link turned out to be.
#[derive(Debug)]
pub enum Pasted {
    Account(Account),
    Status(Status),
}

/// Whether two absolute URLs share scheme, host and port.
fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// Objects stored and shown as posts (see [`Kring::store_remote_note`]).
pub(super) fn is_post(doc: &Value) -> bool {
    matches!(
        kind(doc),
        "Note" | "Question" | "Article" | "Page" | "Event" | "Video"
    )
}

fn is_actor(doc: &Value) -> bool {
    matches!(
        kind(doc),
        "Person" | "Service" | "Application" | "Group" | "Organization"
    )
}

/// Longest handle derived from an actor's id.
const DERIVED_HANDLE_MAX: usize = 30;

/// A handle for an actor that gives no usable `preferredUsername`: the last segment of its
/// id's path, with anything but letters, digits, `_`, `-` and `.` made `_`.
pub(crate) fn handle_from_id(uri: &str) -> String {
    let path = url::Url::parse(uri)
        .map(|u| u.path().to_string())
        .unwrap_or_default();
    let segment = path.split('/').rfind(|s| !s.is_empty()).unwrap_or("");
    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
    let cleaned: String = decoded
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(DERIVED_HANDLE_MAX)
        .collect();
    let cleaned = cleaned.trim_matches('.');
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '_') {
        "actor".to_string()
    } else {
        cleaned.to_string()
    }
}

/// `name` with a short, stable suffix from `uri`, for a handle already taken on that server.
fn disambiguated(name: &str, uri: &str) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(uri.as_bytes());
    let suffix: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let base: String = name.chars().take(DERIVED_HANDLE_MAX).collect();
    format!("{base}_{suffix}")
}

/// Read an actor document into a remote account. With `key_id`, the key stored is the listed
/// key with that id (which must be there); otherwise the first one. The document must already
/// have passed [`Kring::fetch`]'s checks (it is what its id's origin serves).
pub(crate) fn parse_actor(doc: &Value, key_id: Option<&str>) -> Result<RemoteAccount> {
    let bad = |m: &str| Error::bad_request(format!("invalid actor: {m}"));
    let uri = str_field(doc, "id").ok_or_else(|| bad("no id"))?;
    let domain = host_of(uri).ok_or_else(|| bad("id is not a URL"))?;
    if !is_actor(doc) {
        return Err(bad("not an actor"));
    }
    let username = match str_field(doc, "preferredUsername") {
        Some(u)
            if !u.is_empty()
                && u.len() <= 100
                && !u.contains(['@', '/', ' ', ':'])
                && !u.chars().any(char::is_control) =>
        {
            u.to_string()
        }
        // Only id, type, inbox and a key are needed to take part; derive a handle.
        _ => handle_from_id(uri),
    };
    let inbox = str_field(doc, "inbox").ok_or_else(|| bad("no inbox"))?;
    let keys: Vec<&Value> = match doc.get("publicKey") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(k @ Value::Object(_)) => vec![k],
        _ => Vec::new(),
    };
    let key = match key_id {
        Some(want) => keys
            .into_iter()
            .find(|k| str_field(k, "id") == Some(want))
            .ok_or_else(|| bad("the actor does not list that key"))?,
        None => keys.into_iter().next().ok_or_else(|| bad("no publicKey"))?,
    };
    if let Some(owner) = str_field(key, "owner")
        && owner != uri
    {
        return Err(bad("key owned by someone else"));
    }
    let pem = str_field(key, "publicKeyPem").ok_or_else(|| bad("no publicKeyPem"))?;
    let public_key_id = str_field(key, "id").unwrap_or(uri).to_string();
    let image = |k: &str| match doc.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(v @ Value::Object(_)) => str_field(v, "url").map(str::to_string),
        _ => None,
    };
    let fields = doc
        .get("attachment")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|a| kind(a) == "PropertyValue")
        .take(16)
        .filter_map(|a| {
            Some(ProfileField {
                name: text::html_to_text(str_field(a, "name")?),
                value: text::sanitize_remote_html(str_field(a, "value")?),
                verified_at: None,
            })
        })
        .collect();
    let url = match doc.get("url") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => ids(Some(v))
            .into_iter()
            .next()
            .unwrap_or_else(|| uri.to_string()),
        None => uri.to_string(),
    };
    Ok(RemoteAccount {
        uri: uri.to_string(),
        username,
        domain,
        display_name: str_field(doc, "name")
            .map(|n| text::html_to_text(n).chars().take(100).collect())
            .unwrap_or_default(),
        note_html: text::sanitize_remote_html(str_field(doc, "summary").unwrap_or("")),
        fields,
        bot: matches!(kind(doc), "Service" | "Application"),
        group: kind(doc) == "Group",
        locked: doc
            .get("manuallyApprovesFollowers")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        discoverable: doc
            .get("discoverable")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        indexable: doc
            .get("indexable")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        url,
        inbox_url: inbox.to_string(),
        shared_inbox_url: doc
            .get("endpoints")
            .and_then(|e| str_field(e, "sharedInbox"))
            .map(str::to_string),
        followers_url: str_field(doc, "followers").unwrap_or("").to_string(),
        following_url: str_field(doc, "following").unwrap_or("").to_string(),
        outbox_url: str_field(doc, "outbox").unwrap_or("").to_string(),
        public_key_pem: pem.to_string(),
        public_key_id,
        avatar_url: image("icon"),
        header_url: image("image"),
        also_known_as: ids(doc.get("alsoKnownAs")),
        created_at: str_field(doc, "published")
            .and_then(parse_rfc3339)
            .unwrap_or_else(now_micros),
    })
}

/// A note's hashtags, as Kring names them.
pub(crate) fn note_tags(note: &Value) -> Vec<String> {
    note.get("tag")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| kind(t) == "Hashtag")
        .filter_map(|t| str_field(t, "name"))
        .filter_map(|n| text::normalize_tag(n.trim_start_matches('#')))
        .collect()
}

/// A note's content warning (`summary`), as plain text.
pub(crate) fn note_summary(note: &Value) -> String {
    str_field(note, "summary")
        .map(|s| text::html_to_text(&text::sanitize_remote_html(s)))
        .unwrap_or_default()
}

/// A note's language: the first of its `contentMap`.
pub(crate) fn note_language(note: &Value) -> Option<String> {
    note.get("contentMap")
        .and_then(Value::as_object)
        .and_then(|m| m.keys().next().cloned())
        .filter(|l| l.len() <= 8)
}
