//! Interaction controls: who may reply to, boost, favourite and quote a post, decided in one
//! place ([`Kring::permission`]) for every door — the client API and the web interface through
//! the actions in `statuses`, the inbox for other servers' people — plus the approval queue and
//! the translation of policies to and from GoToSocial's `interactionPolicy`.
//!
//! An interaction that needs approval is kept, awaiting it: a reply or boost is stored with
//! `pending_approval_by` (the one audience rule then shows it to its author and the approver
//! only), a favourite is not counted; each has a row in `interaction_requests`. When the post is
//! here, its author answers (`approve_interaction` / `reject_interaction`) and a remote
//! interactor is told with an `Accept` (naming a `ReplyAuthorization`, `LikeAuthorization` or
//! `AnnounceAuthorization` this server serves) or a `Reject`. When the post is elsewhere, our
//! person's interaction goes to its author only and waits for that server's answer.
use kring_activitypub::as2::{self, WirePolicy, WireRule};
use kring_core::model::{Account, InteractionRequest, NotificationType, Page, Status};
use kring_core::time::now_micros;
use kring_core::{
    Approval, Decision, Interaction, InteractionPolicy, PolicyDefaults, Relation, Rule, Visibility,
    Who,
};
use kring_store::{Mark, RequestFilter};
use serde_json::{Value, json};
use std::collections::HashMap;

use crate::events::{EventKind, Stream};
use crate::federation::Recipients;
use crate::{Actor, Error, Id, Kring, Result};

/// One sub-policy as a client wrote it: GoToSocial's keywords (`public`, `followers`,
/// `following`, `mutuals`, `mentioned`, `author`, `me`) or actor URIs.
#[derive(Debug, Clone, Default)]
pub struct RuleInput {
    pub automatic: Vec<String>,
    pub manual: Vec<String>,
}

/// A policy as a client wrote it; a sub-policy left out keeps the default.
#[derive(Debug, Clone, Default)]
pub struct PolicyInput {
    pub can_reply: Option<RuleInput>,
    pub can_reblog: Option<RuleInput>,
    pub can_favourite: Option<RuleInput>,
    pub can_quote: Option<RuleInput>,
}

impl PolicyInput {
    fn rule(&self, i: Interaction) -> Option<&RuleInput> {
        match i {
            Interaction::Reply => self.can_reply.as_ref(),
            Interaction::Reblog => self.can_reblog.as_ref(),
            Interaction::Favourite => self.can_favourite.as_ref(),
            Interaction::Quote => self.can_quote.as_ref(),
        }
    }
}

/// The answer to "may they?", with what the answer rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    pub decision: Decision,
    /// Allowed at once only because of who follows whom (followers, following, friends),
    /// which other servers cannot check: the author's server proves it with an `Accept`
    /// naming an authorization (GoToSocial's "approval conditional on presence in a
    /// collection"). A person of ours interacting with such a post elsewhere waits for it.
    pub needs_proof: bool,
}

impl Permission {
    fn denied() -> Permission {
        Permission {
            decision: Decision::Denied,
            needs_proof: false,
        }
    }
}

/// Whether someone may do an interaction with a post, for a person's buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// At once.
    Yes,
    /// It waits for the author's approval (their policy asks for it, or only their server can
    /// prove the permission).
    AfterApproval,
    No,
}

/// What one person may do with one post ([`Kring::post_permissions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostPermissions {
    pub reply: Offer,
    pub reblog: Offer,
    pub favourite: Offer,
}

impl PostPermissions {
    const KINDS: [Interaction; 3] = [
        Interaction::Reply,
        Interaction::Reblog,
        Interaction::Favourite,
    ];

    /// Everything allowed at once: what a page assumes of a post it was not told about.
    pub fn all() -> PostPermissions {
        PostPermissions {
            reply: Offer::Yes,
            reblog: Offer::Yes,
            favourite: Offer::Yes,
        }
    }
}

/// What a remote interaction with one of our posts that is not refused comes to
/// ([`Kring::judge_inbound`]).
#[derive(Debug, Default)]
pub(crate) struct Inbound {
    /// It waits for this author's approval.
    pub awaits: Option<Id>,
    /// Allowed, with an approval to record and send (the post's author).
    pub preapprove: Option<Account>,
}

/// Refused whatever the policy says: nothing is done with a boost (only its original) or a
/// post that awaits approval itself (or a reply could be approved through its own thread),
/// and boosts of narrowed posts would widen them ([`crate::statuses::may_reblog`]).
fn closed(account: Id, status: &Status, what: Interaction) -> bool {
    status.reblog_of_id.is_some()
        || status.pending_approval_by.is_some()
        || (matches!(what, Interaction::Reblog | Interaction::Quote)
            && !crate::statuses::may_reblog(account, status))
}

/// The post's policy applied to someone related to it as `rel` says.
fn judge(status: &Status, what: Interaction, rel: &Relation) -> Permission {
    judge_by(&status.policy(), what, rel)
}

/// [`judge`] with the post's policy at hand (building it allocates its four rules).
fn judge_by(policy: &InteractionPolicy, what: Interaction, rel: &Relation) -> Permission {
    let decision = policy.decide(what, rel);
    let rule = policy.rule(what);
    // Verifiable by anyone: the post is open to all, or names them (or whom it mentions).
    let listed = rule.is_open()
        || rel.author
        || (what == Interaction::Reply && rel.mentioned)
        || rule.get(Who::Account(rel.account)) == Some(Approval::Automatic)
        || (rel.mentioned && rule.get(Who::Mentioned) == Some(Approval::Automatic));
    Permission {
        decision,
        needs_proof: decision == Decision::Automatic && !listed,
    }
}

/// One interaction with a post, as it is recorded and answered.
pub(crate) struct Interacting<'a> {
    pub kind: Interaction,
    /// The post interacted with.
    pub target: &'a Status,
    /// Who interacts.
    pub account: Id,
    /// The reply or boost (none for a favourite).
    pub status: Option<Id>,
    /// The ActivityPub id of the reply, boost or Like.
    pub uri: &'a str,
    /// A polite request's id, when it came as one.
    pub request: Option<&'a str>,
}

/// Which interactions a listing of requests shows (GoToSocial's `favourites`, `replies`,
/// `reblogs` flags).
#[derive(Debug, Clone, Default)]
pub struct RequestQuery {
    pub status_id: Option<Id>,
    pub kinds: Vec<Interaction>,
}

/// A request as doors show it: who, about which post, with which reply.
#[derive(Debug, Clone)]
pub struct RequestView {
    pub request: InteractionRequest,
    pub account: Account,
    pub status: crate::views::StatusView,
    /// The reply, or the quoting post of a quote.
    pub reply: Option<crate::views::StatusView>,
}

impl Kring {
    /// Whether `account` may do `what` with `status` (an original, not a boost), and how:
    /// decided by one rule (`closed`, then `judge`), which [`post_permissions`]
    /// (Self::post_permissions) applies to a page of posts. Readability is not decided here: callers hold a status the
    /// account may read (the audience rule). Boosts of narrowed posts are refused whatever the
    /// policy says ([`crate::statuses::may_reblog`]); nothing may be done with a post that
    /// awaits approval itself (or a reply could be approved through its own thread).
    pub async fn permission(
        &self,
        account: Id,
        status: &Status,
        what: Interaction,
    ) -> Result<Permission> {
        if closed(account, status, what) {
            return Ok(Permission::denied());
        }
        let author = status.account_id;
        let rel = if account == author {
            Relation {
                account,
                author: true,
                follows_author: false,
                followed_by_author: false,
                mentioned: false,
            }
        } else {
            let mentioned = status.in_reply_to_account_id == Some(account)
                || self
                    .store
                    .mentions_of(&[status.id])
                    .await?
                    .iter()
                    .any(|(_, m)| *m == account);
            Relation {
                account,
                author: false,
                follows_author: self.store.follows(account, author).await?,
                followed_by_author: self.store.follows(author, account).await?,
                mentioned,
            }
        };
        Ok(judge(status, what, &rel))
    }

    /// What `actor` may do with each post of `views` (a boost's original in its place), keyed
    /// by post id: [`permission`](Self::permission)'s answer, for a page's buttons. Who
    /// follows whom is looked up only for authors of posts not open to everyone, in one read.
    pub async fn post_permissions(
        &self,
        actor: &Actor,
        views: &[crate::views::StatusView],
    ) -> Result<HashMap<Id, PostPermissions>> {
        let me = actor.id();
        // Each shown post with its policy and whether that is open to all, worked out once:
        // building a policy allocates its four rules, and a page asked for each post's
        // some six times (~7 % of the web home page's CPU, BENCHMARKS.md, session 26).
        let shown: Vec<(&crate::views::StatusView, InteractionPolicy, bool)> = views
            .iter()
            .map(|v| {
                let shown = v.reblog.as_deref().unwrap_or(v);
                let policy = shown.status.policy();
                let open = Self::open_to_all(&policy);
                (shown, policy, open)
            })
            .collect();
        // Who follows whom, for the authors of posts not open to everyone: one read.
        let closed_authors: Vec<Id> = {
            let mut ids: Vec<Id> = shown
                .iter()
                .filter(|(v, _, open)| v.status.account_id != me && !open)
                .map(|(v, _, _)| v.status.account_id)
                .collect();
            ids.sort();
            ids.dedup();
            ids
        };
        let pairs = self.store.follows_between(me, &closed_authors).await?;
        let mut out = HashMap::new();
        for (shown, policy, open) in &shown {
            let s = &shown.status;
            if out.contains_key(&s.id) {
                continue;
            }
            let (follows_author, followed_by_author) = if s.account_id == me || *open {
                (false, false)
            } else {
                (
                    pairs.contains(&(me, s.account_id)),
                    pairs.contains(&(s.account_id, me)),
                )
            };
            let rel = Relation {
                account: me,
                author: s.account_id == me,
                follows_author,
                followed_by_author,
                mentioned: s.in_reply_to_account_id == Some(me)
                    || shown.mentions.iter().any(|m| m.id == me),
            };
            let offer = |i: Interaction| {
                let p = if closed(me, s, i) {
                    Permission::denied()
                } else {
                    judge_by(policy, i, &rel)
                };
                match (p.decision, Self::awaits(p, s)) {
                    (Decision::Denied, _) => Offer::No,
                    (_, Some(_)) => Offer::AfterApproval,
                    _ => Offer::Yes,
                }
            };
            out.insert(
                s.id,
                PostPermissions {
                    reply: offer(Interaction::Reply),
                    reblog: offer(Interaction::Reblog),
                    favourite: offer(Interaction::Favourite),
                },
            );
        }
        Ok(out)
    }

    /// Whether anyone may reply to, boost and favourite a post of `policy` (then who follows
    /// whom does not matter for its buttons).
    fn open_to_all(policy: &InteractionPolicy) -> bool {
        PostPermissions::KINDS
            .iter()
            .all(|&i| policy.rule(i).is_open())
    }

    /// [`permission`](Self::permission) for one of our people acting: refused is an error.
    pub(crate) async fn allowed(
        &self,
        actor: &Actor,
        status: &Status,
        what: Interaction,
    ) -> Result<Permission> {
        let p = self.permission(actor.id(), status, what).await?;
        if p.decision == Decision::Denied {
            return Err(Error::forbidden(match what {
                Interaction::Reply => "You are not allowed to reply to this post",
                Interaction::Reblog => "This action is not allowed",
                Interaction::Favourite => "You are not allowed to favourite this post",
                Interaction::Quote => "You are not allowed to quote this post",
            }));
        }
        Ok(p)
    }

    /// Whose approval our person's interaction with `target` waits for, if anyone's: the
    /// author's when the policy asks for it, and a remote author's when only their server can
    /// prove the permission.
    pub(crate) fn awaits(p: Permission, target: &Status) -> Option<Id> {
        match p.decision {
            Decision::Manual => Some(target.account_id),
            Decision::Automatic if p.needs_proof && !target.local => Some(target.account_id),
            _ => None,
        }
    }

    /// An interaction from another server with one of our posts, judged by the post's policy.
    /// Refused: the interactor is sent a `Reject` (in a transaction of its own) and None is
    /// returned; otherwise what [`record_inbound`](Self::record_inbound) then records.
    pub(crate) async fn judge_inbound(
        &self,
        i: &Interacting<'_>,
        interacting: &Account,
        seen: Option<&crate::federation::inbox::Seen>,
    ) -> Result<Option<Inbound>> {
        let author = self.account(i.target.account_id).await?;
        let p = self.permission(interacting.id, i.target, i.kind).await?;
        Ok(Some(match p.decision {
            Decision::Denied => {
                if let Some(mut tx) = self.begin_applying(seen).await? {
                    self.send_refusal(&mut tx, i, &author, interacting).await?;
                    tx.commit().await?;
                }
                return Ok(None);
            }
            Decision::Manual => Inbound {
                awaits: Some(author.id),
                preapprove: None,
            },
            // Proven to the interactor's server, and a polite request is always answered.
            Decision::Automatic if p.needs_proof || i.request.is_some() => Inbound {
                awaits: None,
                preapprove: Some(author),
            },
            Decision::Automatic => Inbound::default(),
        }))
    }

    /// Record what [`judge_inbound`](Self::judge_inbound) decided, in the caller's
    /// transaction: an interaction awaiting approval gets its request and its approver a
    /// `pending.*` notification (about the reply itself, or the post boosted or favourited);
    /// one allowed with proof its approval, and the interactor the `Accept`.
    pub(crate) async fn record_inbound(
        &self,
        tx: &mut kring_store::Tx,
        i: &Interacting<'_>,
        inbound: &Inbound,
        interacting: &Account,
    ) -> Result<()> {
        if let Some(approver) = inbound.awaits {
            self.record_request(tx, i).await?;
            let about = match i.kind {
                Interaction::Reply => i.status,
                _ => Some(i.target.id),
            };
            self.notify_in(tx, approver, pending_notification(i.kind), i.account, about)
                .await?;
        } else if let Some(author) = &inbound.preapprove {
            self.record_preapproval(tx, i, author, interacting).await?;
        }
        Ok(())
    }

    // --- policies as people write them --------------------------------------------------------

    /// A person's defaults for new posts.
    pub async fn policy_defaults(&self, actor: &Actor) -> Result<PolicyDefaults> {
        self.store.policy_defaults(actor.id()).await
    }

    /// The accounts a person's defaults name one by one (id, ActivityPub id).
    pub async fn policy_accounts(&self, d: &PolicyDefaults) -> Result<Vec<(Id, String)>> {
        let mut ids: Vec<Id> = [
            &d.public,
            &d.unlisted,
            &d.private,
            &d.friends,
            &d.circle,
            &d.direct,
        ]
        .into_iter()
        .flatten()
        .flat_map(|p| p.accounts())
        .collect();
        ids.sort();
        ids.dedup();
        Ok(self
            .store
            .accounts_by_ids(&ids)
            .await?
            .into_iter()
            .map(|a| (a.id, a.uri))
            .collect())
    }

    /// Replace a person's defaults: each visibility given gets its policy, each left out goes
    /// back to the server's (GoToSocial's PATCH). Returns the defaults as they now apply.
    pub async fn set_policy_defaults(
        &self,
        actor: &Actor,
        input: Vec<(Visibility, PolicyInput)>,
    ) -> Result<PolicyDefaults> {
        let mut defaults = PolicyDefaults::default();
        for (v, p) in input {
            let policy = self
                .policy_from_input(&p, InteractionPolicy::server_default(v))
                .await?;
            *defaults.slot_mut(v) = Some(policy.clamped(v));
        }
        let mut tx = self.store.begin().await?;
        tx.set_policy_defaults(actor.id(), &defaults).await?;
        tx.commit().await?;
        Ok(defaults)
    }

    /// Change a person's defaults for every visibility at once: the sub-policies `input`
    /// gives replace those of each visibility's current default (each within what its
    /// visibility allows); those it leaves out stay as they were. What the web settings save.
    pub async fn update_policy_defaults(
        &self,
        actor: &Actor,
        input: &PolicyInput,
    ) -> Result<PolicyDefaults> {
        let mut defaults = self.store.policy_defaults(actor.id()).await?;
        for v in [
            Visibility::Public,
            Visibility::Unlisted,
            Visibility::Private,
            Visibility::Friends,
            Visibility::Circle,
            Visibility::Direct,
        ] {
            let base = defaults.for_visibility(v);
            let policy = self.policy_from_input(input, base).await?;
            *defaults.slot_mut(v) = Some(policy.clamped(v));
        }
        let mut tx = self.store.begin().await?;
        tx.set_policy_defaults(actor.id(), &defaults).await?;
        tx.commit().await?;
        Ok(defaults)
    }

    /// The policy of a new post of `visibility`: what the person asked for over their default
    /// for it, within what the visibility allows.
    pub(crate) async fn policy_for_new_post(
        &self,
        actor: &Actor,
        visibility: Visibility,
        input: Option<&PolicyInput>,
    ) -> Result<InteractionPolicy> {
        let base = self
            .store
            .policy_defaults(actor.id())
            .await?
            .for_visibility(visibility);
        let p = match input {
            Some(i) => self.policy_from_input(i, base).await?,
            None => base,
        };
        Ok(p.clamped(visibility))
    }

    /// `input` over `base`. Accounts are named by their ActivityPub id and must be known here.
    async fn policy_from_input(
        &self,
        input: &PolicyInput,
        mut base: InteractionPolicy,
    ) -> Result<InteractionPolicy> {
        for i in Interaction::ALL {
            let Some(r) = input.rule(i) else { continue };
            let mut auto = Vec::new();
            let mut manual = Vec::new();
            for (list, out) in [(&r.automatic, &mut auto), (&r.manual, &mut manual)] {
                for v in list {
                    if let Some(w) = self.who_from_input(v).await? {
                        out.push(w);
                    }
                }
            }
            *base.rule_mut(i) = Rule::from_lists(auto, manual);
        }
        Ok(base)
    }

    async fn who_from_input(&self, v: &str) -> Result<Option<Who>> {
        Ok(Some(match v.trim() {
            "public" | "urn:mastodon:public" => Who::Public,
            "followers" | "urn:mastodon:followers" => Who::Followers,
            "following" | "urn:mastodon:following" => Who::Following,
            "mutuals" | "friends" | "urn:mastodon:mutuals" => Who::Friends,
            "mentioned" | "urn:mastodon:mentioned" => Who::Mentioned,
            // The author may always; `me` is the author writing their own policy.
            "author" | "me" | "urn:mastodon:author" | "urn:mastodon:me" => return Ok(None),
            uri if as2::is_public_address(uri) => Who::Public,
            uri => match self.store.account_by_uri(uri).await? {
                Some(a) => Who::Account(a.id),
                None => {
                    return Err(Error::validation(format!(
                        "Unknown value in interaction_policy: {uri}"
                    )));
                }
            },
        }))
    }

    // --- policies on the wire -----------------------------------------------------------------

    /// A local post's policy as GoToSocial's `interactionPolicy` (`canLike`, `canReply`,
    /// `canAnnounce`: the sub-policies this server enforces and answers requests for). The
    /// author is always listed, and for replies everyone the post mentions (GoToSocial does
    /// the same). Friends are sent as the followers collection, the nearest collection: a
    /// follower who is no friend may then ask, and is refused.
    pub(crate) async fn wire_policy(
        &self,
        policy: &InteractionPolicy,
        author: &Account,
        mentions: &[Account],
    ) -> Result<WirePolicy> {
        let named = self.store.accounts_by_ids(&policy.accounts()).await?;
        let uri_of = |w: Who| -> Vec<String> {
            match w {
                Who::Public => vec![as2::PUBLIC.to_string()],
                Who::Followers | Who::Friends => vec![author.followers_url.clone()],
                Who::Following => vec![format!("{}/following", author.uri)],
                Who::Mentioned => mentions.iter().map(|m| m.uri.clone()).collect(),
                Who::Account(id) => named
                    .iter()
                    .filter(|a| a.id == id)
                    .map(|a| a.uri.clone())
                    .collect(),
            }
        };
        let wire = |i: Interaction| {
            let r = policy.rule(i);
            let mut automatic = vec![author.uri.clone()];
            if i == Interaction::Reply {
                automatic.extend(mentions.iter().map(|m| m.uri.clone()));
            }
            automatic.extend(r.with_approval(Approval::Automatic).flat_map(uri_of));
            let mut manual: Vec<String> =
                r.with_approval(Approval::Manual).flat_map(uri_of).collect();
            dedup(&mut automatic);
            manual.retain(|m| !automatic.contains(m));
            dedup(&mut manual);
            WireRule { automatic, manual }
        };
        Ok(WirePolicy {
            can_like: Some(wire(Interaction::Favourite)),
            can_reply: Some(wire(Interaction::Reply)),
            can_announce: Some(wire(Interaction::Reblog)),
            can_quote: Some(wire(Interaction::Quote)),
        })
    }

    /// A received post's `interactionPolicy` as Kring's. Actors are kept when known here (our
    /// own people always are: they are who the policy is enforced for); the author is
    /// implicit; collections other than the author's followers and following are dropped.
    pub(crate) async fn policy_from_wire(
        &self,
        wire: &WirePolicy,
        author: &Account,
    ) -> Result<InteractionPolicy> {
        let following = self.store.following_url(author.id).await?;
        Ok(InteractionPolicy {
            can_reply: self
                .rule_from_wire(&wire.can_reply, author, &following)
                .await?,
            can_reblog: self
                .rule_from_wire(&wire.can_announce, author, &following)
                .await?,
            can_favourite: self
                .rule_from_wire(&wire.can_like, author, &following)
                .await?,
            can_quote: self
                .rule_from_wire(&wire.can_quote, author, &following)
                .await?,
        })
    }

    async fn rule_from_wire(
        &self,
        r: &Option<WireRule>,
        author: &Account,
        following: &str,
    ) -> Result<Rule> {
        let Some(r) = r else {
            return Ok(Rule::everyone());
        };
        let mut lists: [Vec<Who>; 2] = [Vec::new(), Vec::new()];
        for (i, uris) in [&r.automatic, &r.manual].into_iter().enumerate() {
            for uri in uris {
                let who = if as2::is_public_address(uri) {
                    Some(Who::Public)
                } else if !author.followers_url.is_empty() && *uri == author.followers_url {
                    Some(Who::Followers)
                } else if !following.is_empty() && uri == following {
                    Some(Who::Following)
                } else if *uri == author.uri {
                    None
                } else {
                    self.store
                        .account_by_uri(uri)
                        .await?
                        .map(|a| Who::Account(a.id))
                };
                lists[i].extend(who);
            }
        }
        let [auto, manual] = lists;
        Ok(Rule::from_lists(auto, manual))
    }

    /// Add a local post's `interactionPolicy` to its Note, and (when its author's approval
    /// was needed and given) the proof: `approvedBy` (the Accept, as GoToSocial before v0.21
    /// checks) and `replyAuthorization` (the authorization, as GoToSocial v0.21 checks).
    pub(crate) async fn decorate_note(
        &self,
        note: &mut Value,
        s: &Status,
        author: &Account,
        mentions: &[Account],
        approval: Option<&InteractionRequest>,
        quote: Option<&kring_core::model::Quote>,
    ) -> Result<()> {
        let wire = self.wire_policy(&s.policy(), author, mentions).await?;
        note["interactionPolicy"] = as2::interaction_policy(&wire);
        if s.visibility == kring_core::Visibility::Direct {
            self.decorate_chat_note(note, s).await?;
        }
        if let Some(q) = quote {
            Self::quote_fields(note, q);
        }
        if let Some(r) = approval.filter(|r| r.accepted_at.is_some()) {
            if let Some(accept) = &r.response_uri {
                note["approvedBy"] = json!(accept);
            }
            if let Some(auth) = &r.authorization_uri {
                note["replyAuthorization"] = json!(auth);
            }
        }
        Ok(())
    }

    // --- the queue ----------------------------------------------------------------------------

    /// Record an interaction that waits for (or got without asking) its target author's
    /// approval, in the caller's transaction.
    pub(crate) async fn record_request(
        &self,
        tx: &mut kring_store::Tx,
        i: &Interacting<'_>,
    ) -> Result<InteractionRequest> {
        let r = InteractionRequest {
            id: Id::generate(),
            kind: i.kind,
            status_id: i.target.id,
            target_account_id: i.target.account_id,
            account_id: i.account,
            interaction_status_id: i.status,
            interaction_uri: i.uri.to_string(),
            request_uri: i.request.map(str::to_string),
            created_at: now_micros(),
            accepted_at: None,
            rejected_at: None,
            response_uri: None,
            authorization_uri: None,
        };
        tx.insert_interaction_request(&r).await?;
        Ok(r)
    }

    /// The Accept and authorization ids of an approval by a local author.
    pub(crate) fn approval_uris(author: &Account, r: &InteractionRequest) -> (String, String) {
        (
            format!("{}/accepts/{}", author.uri, r.id),
            format!("{}/authorizations/{}", author.uri, r.id),
        )
    }

    /// Record an interaction a local author's policy allowed at once but which others cannot
    /// check (see [`Permission::needs_proof`]), approved: its authorization is then served, and
    /// a remote interactor is sent the Accept. In the caller's transaction.
    pub(crate) async fn record_preapproval(
        &self,
        tx: &mut kring_store::Tx,
        i: &Interacting<'_>,
        author: &Account,
        interacting: &Account,
    ) -> Result<InteractionRequest> {
        let mut r = self.record_request(tx, i).await?;
        let (accept, auth) = Self::approval_uris(author, &r);
        tx.decide_interaction_request(r.id, true, Some(&accept), Some(&auth))
            .await?;
        r.accepted_at = Some(now_micros());
        r.response_uri = Some(accept);
        r.authorization_uri = Some(auth);
        if !interacting.is_local() {
            self.send_answer(tx, true, &r, author, interacting, i.target)
                .await?;
        }
        Ok(r)
    }

    /// The pending requests the actor decides on, newest first.
    pub async fn interaction_requests(
        &self,
        actor: &Actor,
        q: &RequestQuery,
        page: &Page,
    ) -> Result<Vec<RequestView>> {
        let list = self
            .store
            .pending_interaction_requests(
                actor.id(),
                &RequestFilter {
                    status_id: q.status_id,
                    kinds: q.kinds.clone(),
                },
                page,
            )
            .await?;
        self.request_views(actor, list).await
    }

    /// One request the actor decides (or decided) on.
    pub async fn interaction_request(&self, actor: &Actor, id: Id) -> Result<RequestView> {
        let r = self.own_request(actor, id).await?;
        self.request_views(actor, vec![r])
            .await?
            .pop()
            .ok_or(Error::NotFound)
    }

    async fn own_request(&self, actor: &Actor, id: Id) -> Result<InteractionRequest> {
        match self.store.interaction_request(id).await? {
            Some(r) if r.target_account_id == actor.id() => Ok(r),
            _ => Err(Error::NotFound),
        }
    }

    async fn request_views(
        &self,
        actor: &Actor,
        list: Vec<InteractionRequest>,
    ) -> Result<Vec<RequestView>> {
        let mut ids: Vec<Id> = list.iter().map(|r| r.status_id).collect();
        ids.extend(list.iter().filter_map(|r| r.interaction_status_id));
        let statuses = self.store.statuses_by_ids(&ids).await?;
        let views = self.status_views(Some(actor), statuses, None).await?;
        let accounts = self
            .store
            .accounts_by_ids(&list.iter().map(|r| r.account_id).collect::<Vec<_>>())
            .await?;
        Ok(list
            .into_iter()
            .filter_map(|r| {
                let status = views.iter().find(|v| v.status.id == r.status_id)?.clone();
                let account = accounts.iter().find(|a| a.id == r.account_id)?.clone();
                let reply = match (r.kind, r.interaction_status_id) {
                    (Interaction::Reply | Interaction::Quote, Some(s)) => {
                        Some(views.iter().find(|v| v.status.id == s)?.clone())
                    }
                    _ => None,
                };
                Some(RequestView {
                    request: r,
                    account,
                    status,
                    reply,
                })
            })
            .collect())
    }

    /// The actor approves an interaction with their post: a reply or boost is shown to its
    /// audience from now on (and, if it is ours, sent out), a favourite counts; a remote
    /// interactor is sent an `Accept` naming the authorization this server now serves.
    pub async fn approve_interaction(&self, actor: &Actor, id: Id) -> Result<RequestView> {
        let r = self.own_request(actor, id).await?;
        if !r.is_pending() {
            return self.interaction_request(actor, id).await;
        }
        let target = self
            .store
            .status(r.status_id)
            .await?
            .ok_or(Error::NotFound)?;
        let interacting = self.account(r.account_id).await?;
        let (accept, auth) = Self::approval_uris(&actor.account, &r);
        let mut tx = self.store.begin().await?;
        if !tx
            .decide_interaction_request(r.id, true, Some(&accept), Some(&auth))
            .await?
        {
            return self.interaction_request(actor, id).await;
        }
        let mut decided = r.clone();
        decided.accepted_at = Some(now_micros());
        decided.response_uri = Some(accept);
        decided.authorization_uri = Some(auth.clone());
        let mut approved = None;
        let mut notified = Vec::new();
        let mut quote_changed = None;
        match (r.kind, r.interaction_status_id) {
            (Interaction::Quote, Some(sid)) => {
                if self.quote_decided(&mut tx, sid, true, Some(&auth)).await?
                    && interacting.is_local()
                    && let Some(s) = self.store.status(sid).await?
                {
                    // Our own person's quote: it goes out again, now carrying its proof.
                    self.send_quote_update(&mut tx, &s, &interacting, Some(&auth))
                        .await?;
                }
                quote_changed = Some(sid);
            }
            (Interaction::Reply | Interaction::Reblog, Some(sid)) => {
                if let Some(s) = self.store.status(sid).await? {
                    tx.approve_status(&s).await?;
                    notified = self
                        .approved_status_effects(&mut tx, &s, &interacting, &decided)
                        .await?;
                    approved = Some(s);
                }
            }
            (Interaction::Favourite, _) => {
                tx.insert_mark(Mark::Favourite, interacting.id, target.id)
                    .await?;
            }
            _ => {}
        }
        if !interacting.is_local() {
            self.send_answer(
                &mut tx,
                true,
                &decided,
                &actor.account,
                &interacting,
                &target,
            )
            .await?;
        }
        tx.commit().await?;
        self.after_approval(approved.as_ref(), notified).await?;
        if let Some(q) = quote_changed {
            self.publish_quote_change(q).await?;
        }
        self.interaction_request(actor, id).await
    }

    /// What approving a reply or boost does besides showing it, in the approval's
    /// transaction: the mentions it makes are notified now (not while it waited; the approver
    /// too, whose Mastodon app shows no `pending.*` notification); if it is our
    /// own person's, it goes out now, with the proof of approval. Returns notifications to
    /// publish after commit.
    async fn approved_status_effects(
        &self,
        tx: &mut kring_store::Tx,
        s: &Status,
        interacting: &Account,
        approval: &InteractionRequest,
    ) -> Result<Vec<(Id, Id)>> {
        let mut notified = Vec::new();
        if s.reblog_of_id.is_none() {
            for (_, m) in self.store.mentions_of(&[s.id]).await? {
                if self.store.user(m).await?.is_some()
                    && let Some(n) = self
                        .notify_in(tx, m, NotificationType::Mention, interacting.id, Some(s.id))
                        .await?
                {
                    notified.push((m, n));
                }
            }
        }
        if interacting.is_local() {
            self.send_approved(tx, s, interacting, approval).await?;
        }
        Ok(notified)
    }

    /// Send our person's reply or boost, now approved, to everyone it is for.
    async fn send_approved(
        &self,
        tx: &mut kring_store::Tx,
        s: &Status,
        author: &Account,
        approval: &InteractionRequest,
    ) -> Result<()> {
        let mentioned: Vec<Id> = self
            .store
            .mentions_of(&[s.id])
            .await?
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        let activity = match s.reblog_of_id {
            Some(orig) => {
                let orig = self.store.status(orig).await?.ok_or(Error::NotFound)?;
                let orig_author = self.account(orig.account_id).await?;
                let mut a = self.announce_of(s, author, &orig, &orig_author);
                if let Some(accept) = &approval.response_uri {
                    a["approvedBy"] = json!(accept);
                }
                if let Some(auth) = &approval.authorization_uri {
                    a["announceAuthorization"] = json!(auth);
                }
                a
            }
            None => {
                let mut note = self.load_note(s, author).await?;
                // load_note reads the approval from the store; this transaction's is newer.
                if let Some(accept) = &approval.response_uri {
                    note["approvedBy"] = json!(accept);
                }
                if let Some(auth) = &approval.authorization_uri {
                    note["replyAuthorization"] = json!(auth);
                }
                // An id of its own: the approver's server saw the first Create (which asked)
                // and may take a second with the same id for a duplicate.
                as2::activity(
                    "Create",
                    &format!("{}/activity#approved", s.uri),
                    &author.uri,
                    note,
                )
            }
        };
        let mut also = mentioned.clone();
        if let Some(orig) = s.reblog_of_id
            && let Some(o) = self.store.status(orig).await?
        {
            also.push(o.account_id);
        }
        let to = self.recipients(s, None, &also).await?;
        self.emit(tx, author, activity, to).await
    }

    /// After an approval commits: the post now reaches its audience's streams, and those it
    /// mentions hear of it.
    async fn after_approval(
        &self,
        approved: Option<&Status>,
        notified: Vec<(Id, Id)>,
    ) -> Result<()> {
        if let Some(s) = approved
            && let Some(s) = self.store.status(s.id).await?
        {
            let tags: Vec<String> = self
                .store
                .tags_of(&[s.id])
                .await?
                .into_iter()
                .map(|(_, t)| t)
                .collect();
            let audience = self.store.audience_of(s.id).await?.unwrap_or_default();
            self.publish_status(&s, &tags, &audience).await?;
        }
        for (m, n) in notified {
            self.events
                .publish(EventKind::Notification(n), vec![Stream::User(m)]);
        }
        Ok(())
    }

    /// The actor refuses an interaction with their post: a reply or boost is removed (it was
    /// never shown to anyone else), a favourite is not counted; a remote interactor is sent a
    /// `Reject`.
    pub async fn reject_interaction(&self, actor: &Actor, id: Id) -> Result<RequestView> {
        let r = self.own_request(actor, id).await?;
        if !r.is_pending() {
            return self.interaction_request(actor, id).await;
        }
        let target = self
            .store
            .status(r.status_id)
            .await?
            .ok_or(Error::NotFound)?;
        let interacting = self.account(r.account_id).await?;
        // The view is taken first: rejecting a reply removes it, and its request with it.
        let mut view = self.interaction_request(actor, id).await?;
        let reject_uri = format!("{}/rejects/{}", actor.account.uri, r.id);
        let mut tx = self.store.begin().await?;
        if !tx
            .decide_interaction_request(r.id, false, Some(&reject_uri), None)
            .await?
        {
            return Ok(view);
        }
        let mut decided = r.clone();
        decided.rejected_at = Some(now_micros());
        decided.response_uri = Some(reject_uri);
        if !interacting.is_local() {
            self.send_answer(
                &mut tx,
                false,
                &decided,
                &actor.account,
                &interacting,
                &target,
            )
            .await?;
        }
        let mut removed = None;
        let mut quote_changed = None;
        if r.kind == Interaction::Quote {
            // A refused quote stays its author's post; only the quoted post is not shown.
            if let Some(sid) = r.interaction_status_id {
                self.quote_decided(&mut tx, sid, false, None).await?;
                quote_changed = Some(sid);
            }
        } else if let Some(sid) = r.interaction_status_id
            && let Some(s) = self.store.status(sid).await?
        {
            tx.delete_status(&s).await?;
            removed = Some(s.id);
        }
        tx.delete_notifications(
            actor.id(),
            pending_notification(r.kind),
            interacting.id,
            Some(match r.kind {
                Interaction::Reply | Interaction::Quote => {
                    r.interaction_status_id.unwrap_or(r.status_id)
                }
                _ => r.status_id,
            }),
        )
        .await?;
        tx.commit().await?;
        if let Some(s) = removed {
            self.events
                .publish(EventKind::Delete(s), vec![Stream::User(actor.id())]);
        }
        if let Some(q) = quote_changed {
            self.publish_quote_change(q).await?;
        }
        view.request = decided;
        Ok(view)
    }

    /// The `Accept` or `Reject` a local author sends about an interaction with their post, in
    /// the caller's transaction. An answer to a polite request names the request; one to an
    /// interaction that just arrived names the interaction and the post (GoToSocial's two
    /// forms). An Accept of a reply or boost of a public post is copied to the author's
    /// followers, so that their servers may show it too.
    pub(crate) async fn send_answer(
        &self,
        tx: &mut kring_store::Tx,
        accept: bool,
        r: &InteractionRequest,
        author: &Account,
        interacting: &Account,
        target: &Status,
    ) -> Result<()> {
        let kind = if accept { "Accept" } else { "Reject" };
        let id = r.response_uri.clone().unwrap_or_else(|| {
            format!(
                "{}/{}/{}",
                author.uri,
                if accept { "accepts" } else { "rejects" },
                r.id
            )
        });
        let object = match &r.request_uri {
            Some(req) => json!({
                "id": req,
                "type": request_type(r.kind),
                "actor": interacting.uri,
                "object": target.uri,
                "instrument": r.interaction_uri,
            }),
            None => json!(r.interaction_uri),
        };
        let shared = accept
            && r.kind != Interaction::Favourite
            && matches!(target.visibility, Visibility::Public | Visibility::Unlisted)
            && !target.local_only;
        let mut activity = json!({
            "@context": as2::context(),
            "id": id,
            "type": kind,
            "actor": author.uri,
            "to": [interacting.uri],
            "object": object,
            "target": target.uri,
        });
        if shared {
            activity["cc"] = json!([as2::PUBLIC, author.followers_url]);
        }
        if accept && let Some(auth) = &r.authorization_uri {
            activity["result"] = json!(auth);
        }
        let to = if shared {
            Recipients::Followers {
                of: author.id,
                also: vec![interacting.id],
            }
        } else {
            Recipients::Accounts {
                ids: vec![interacting.id],
            }
        };
        self.emit(tx, author, activity, to).await
    }

    /// A `Reject` of an interaction refused outright (nothing stored, no request kept).
    pub(crate) async fn send_refusal(
        &self,
        tx: &mut kring_store::Tx,
        i: &Interacting<'_>,
        author: &Account,
        interacting: &Account,
    ) -> Result<()> {
        let r = InteractionRequest {
            id: Id::generate(),
            kind: i.kind,
            status_id: i.target.id,
            target_account_id: author.id,
            account_id: interacting.id,
            interaction_status_id: None,
            interaction_uri: i.uri.to_string(),
            request_uri: i.request.map(str::to_string),
            created_at: now_micros(),
            accepted_at: None,
            rejected_at: Some(now_micros()),
            response_uri: Some(self.activity_id(author, "rejects")),
            authorization_uri: None,
        };
        self.send_answer(tx, false, &r, author, interacting, i.target)
            .await
    }

    /// A remote author answered one of our people's interactions that waited for them.
    /// Accepted: it counts, and a reply or boost is sent out with the proof (the Accept's id,
    /// and the authorization it names when on the author's server). Rejected: it is removed.
    /// False when the answer is about nothing of ours that waits.
    pub(crate) async fn on_interaction_answer(
        &self,
        actor: &Account,
        activity: &Value,
        object: &Value,
        accepted: bool,
        seen: Option<&crate::federation::inbox::Seen>,
    ) -> Result<bool> {
        let mut candidates: Vec<&str> = Vec::new();
        candidates.extend(as2::id_of(object));
        candidates.extend(object.get("instrument").and_then(as2::id_of));
        let mut found = None;
        for uri in candidates {
            if let Some(r) = self.store.interaction_request_by_uri(uri).await? {
                found = Some(r);
                break;
            }
        }
        let Some(r) = found else { return Ok(false) };
        let mine = self.store.user(r.account_id).await?.is_some();
        if r.target_account_id != actor.id || !mine || !r.is_pending() {
            return Ok(false);
        }
        let interacting = self.account(r.account_id).await?;
        let same_host =
            |u: &&str| as2::host_of(u).is_some() && as2::host_of(u) == as2::host_of(&actor.uri);
        let answer_id = as2::str_field(activity, "id").filter(same_host);
        let authorization = activity
            .get("result")
            .and_then(as2::id_of)
            .filter(same_host);
        let Some(mut tx) = self.begin_applying(seen).await? else {
            return Ok(true);
        };
        if !tx
            .decide_interaction_request(r.id, accepted, answer_id, authorization)
            .await?
        {
            tx.commit().await?;
            return Ok(true);
        }
        let mut decided = r.clone();
        decided.response_uri = answer_id.map(str::to_string);
        decided.authorization_uri = authorization.map(str::to_string);
        let mut approved = None;
        let mut removed = None;
        let mut quote_changed = None;
        match (r.kind, r.interaction_status_id, accepted) {
            (Interaction::Quote, Some(sid), _) => {
                if self
                    .quote_decided(&mut tx, sid, accepted, authorization)
                    .await?
                    && accepted
                    && let Some(s) = self.store.status(sid).await?
                {
                    self.send_quote_update(&mut tx, &s, &interacting, authorization)
                        .await?;
                }
                quote_changed = Some(sid);
            }
            (Interaction::Favourite, _, true) => {
                tx.insert_mark(Mark::Favourite, r.account_id, r.status_id)
                    .await?;
            }
            (_, Some(sid), true) => {
                if let Some(s) = self.store.status(sid).await? {
                    tx.approve_status(&s).await?;
                    decided.accepted_at = Some(now_micros());
                    self.send_approved(&mut tx, &s, &interacting, &decided)
                        .await?;
                    approved = Some(s);
                }
            }
            (_, Some(sid), false) => {
                if let Some(s) = self.store.status(sid).await? {
                    tx.delete_status(&s).await?;
                    removed = Some(s.id);
                }
            }
            _ => {}
        }
        tx.commit().await?;
        self.after_approval(approved.as_ref(), Vec::new()).await?;
        if let Some(s) = removed {
            self.events
                .publish(EventKind::Delete(s), vec![Stream::User(r.account_id)]);
        }
        if let Some(q) = quote_changed {
            self.publish_quote_change(q).await?;
        }
        Ok(true)
    }

    // --- documents ------------------------------------------------------------------------------

    /// The authorization behind an approval by `username` (GoToSocial's `ReplyAuthorization`,
    /// `LikeAuthorization`, `AnnounceAuthorization`), which other servers fetch to check an
    /// interaction. Served while the interaction stands, to whoever may read the post.
    pub async fn authorization_document(
        &self,
        username: &str,
        id: Id,
        viewer: Option<Id>,
    ) -> Result<Value> {
        let (author, r, target) = self.approval_of(username, id, viewer).await?;
        let (_, auth) = Self::approval_uris(&author, &r);
        Ok(json!({
            "@context": as2::context(),
            "id": auth,
            "type": authorization_type(r.kind),
            "attributedTo": author.uri,
            "interactingObject": r.interaction_uri,
            "interactionTarget": target.uri,
        }))
    }

    /// The `Accept` of an approval by `username`, for servers that check `approvedBy` (GoToSocial
    /// before v0.21).
    pub async fn accept_document(
        &self,
        username: &str,
        id: Id,
        viewer: Option<Id>,
    ) -> Result<Value> {
        let (author, r, target) = self.approval_of(username, id, viewer).await?;
        let interacting = self.account(r.account_id).await?;
        let (accept, auth) = Self::approval_uris(&author, &r);
        let object = match &r.request_uri {
            Some(req) => json!({
                "id": req, "type": request_type(r.kind), "actor": interacting.uri,
                "object": target.uri, "instrument": r.interaction_uri,
            }),
            None => json!(r.interaction_uri),
        };
        Ok(json!({
            "@context": as2::context(),
            "id": accept,
            "type": "Accept",
            "actor": author.uri,
            "to": [interacting.uri],
            "object": object,
            "target": target.uri,
            "result": auth,
        }))
    }

    async fn approval_of(
        &self,
        username: &str,
        id: Id,
        viewer: Option<Id>,
    ) -> Result<(Account, InteractionRequest, Status)> {
        let author = self
            .store
            .account_by_handle(username, None)
            .await?
            .filter(|a| a.suspended_at.is_none())
            .ok_or(Error::NotFound)?;
        let r = self
            .store
            .interaction_request(id)
            .await?
            .filter(|r| {
                // A withdrawn approval (a revoked quote) is no longer served.
                r.target_account_id == author.id
                    && r.accepted_at.is_some()
                    && r.rejected_at.is_none()
            })
            .ok_or(Error::NotFound)?;
        let target = self
            .store
            .visible_status(viewer, r.status_id)
            .await?
            .filter(|s| !s.local_only)
            .ok_or(Error::NotFound)?;
        Ok((author, r, target))
    }
}

/// Why a remote interaction with a post of ours was not stored: its policy refuses it (the
/// interactor was sent a `Reject`). The inbox takes it as handled.
pub(crate) const REFUSED: &str = "refused by the post's interaction policy";

/// The notification a pending interaction gives its approver (GoToSocial's names).
pub(crate) fn pending_notification(kind: Interaction) -> NotificationType {
    match kind {
        Interaction::Reply | Interaction::Quote => NotificationType::PendingReply,
        Interaction::Reblog => NotificationType::PendingReblog,
        Interaction::Favourite => NotificationType::PendingFavourite,
    }
}

fn request_type(kind: Interaction) -> &'static str {
    match kind {
        Interaction::Reply => "ReplyRequest",
        Interaction::Quote => "QuoteRequest",
        Interaction::Reblog => "AnnounceRequest",
        Interaction::Favourite => "LikeRequest",
    }
}

fn authorization_type(kind: Interaction) -> &'static str {
    match kind {
        Interaction::Reply => "ReplyAuthorization",
        Interaction::Quote => "QuoteAuthorization",
        Interaction::Reblog => "AnnounceAuthorization",
        Interaction::Favourite => "LikeAuthorization",
    }
}

fn dedup(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| !x.is_empty() && seen.insert(x.clone()));
}
