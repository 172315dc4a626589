//! Receiving activities. The door verifies the signature and stores the activity as a job
//! (answering 202 at once); the worker then maps it onto the same actions a local person
//! would take. Processing is idempotent: an activity id is handled once.
use std::collections::{HashMap, HashSet};

use kring_activitypub::as2::{self, host_of, ids, kind, str_field};
use kring_core::model::{Account, NotificationType};
use kring_core::time::now_micros;
use kring_core::{Audience, Grant, Interaction, Visibility};
use kring_store::{FollowOptions, Mark, NewStatus};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::resolve::{Arrival, Delivered, NoteReady, NoteToStore, StoredNote};
use super::{Recipients, SignedRequest};
use crate::events::{EventKind, Stream};
use crate::interactions::{Inbound, Interacting, REFUSED};
use crate::{Error, Id, Kring, Result};

pub const RECEIVE: &str = "ap.receive";
const MAX_ACTIVITY_BYTES: usize = 512 * 1024;
const MAX_DEPTH: usize = 32;

/// A received activity as the inbox remembers it: the signer's host and the activity's id
/// (ids are unique only within the server that minted them).
pub(crate) struct Seen {
    origin: String,
    id: String,
}

/// Received activities read and checked at once by one batch (they wait on fetches and reads).
const PREPARE_CONCURRENCY: usize = 8;
/// Received activities waiting for the inbox's group commit; more wait for room (each is a
/// request the door has read already, so this bounds nothing the connections do not).
const RECEIVED_WAITING: usize = 1024;
/// Received activities stored in one transaction at most.
const RECEIVED_PER_COMMIT: usize = 256;

/// A received activity the door stored, and where to tell it how that went.
pub(crate) type Queued = (String, tokio::sync::oneshot::Sender<Result<()>>);

/// The inbox's group commit: whatever arrived while the last write ran goes in the next one.
async fn commit_received(
    store: kring_store::Store,
    mut queue: tokio::sync::mpsc::Receiver<Queued>,
) {
    let mut batch = Vec::with_capacity(RECEIVED_PER_COMMIT);
    while queue.recv_many(&mut batch, RECEIVED_PER_COMMIT).await > 0 {
        let payloads: Vec<String> = batch.iter_mut().map(|(p, _)| std::mem::take(p)).collect();
        let stored = store.enqueue_many(RECEIVE, &payloads, now_micros()).await;
        for (_, done) in batch.drain(..) {
            let answer = match &stored {
                Ok(()) => Ok(()),
                Err(e) => Err(Error::Unavailable(format!(
                    "could not queue the activity: {e}"
                ))),
            };
            let _ = done.send(answer);
        }
    }
}

/// What applying one prepared note came to: what to announce (None: nothing, it was applied
/// already), or why it failed.
type Outcome = Result<Option<StoredNote>>;

/// What `claim_reads` read for a claim's Creates.
struct ClaimReads {
    signers: HashMap<Id, Account>,
    /// The URIs of embedded posts that were not stored.
    unstored: HashSet<String>,
}

/// What `prepare_received` found.
enum Ready {
    /// A post to store in the batch's transaction.
    Note(Box<NoteToStore>, Seen),
    /// Nothing to do: applied before, or nothing this server stores.
    Done,
    /// Not a Create: applied on its own by `receive`.
    Other,
}

#[derive(Serialize, Deserialize)]
struct Received {
    signer: Id,
    activity: Value,
}

/// What a signer may speak for: ids it mints are on its own host. The activity's id, and the id
/// of an object it creates or updates (embedded, so not fetched from its origin), must be on the
/// signer's host, or one server could squat another's activity and status URIs (a boost stored
/// under someone else's post URI, an activity id that hides the genuine one as a duplicate).
fn check_origins(activity: &Value, signer_uri: &str) -> Result<()> {
    let signer_host = host_of(signer_uri);
    let on_signer_host = |id: &str| signer_host.is_some() && host_of(id) == signer_host;
    if let Some(id) = activity.get("id") {
        match id.as_str() {
            Some(id) if on_signer_host(id) => {}
            _ => {
                return Err(Error::forbidden("activity id is not on the signer's host"));
            }
        }
    }
    if matches!(kind(activity), "Create" | "Update")
        && let Some(object @ Value::Object(_)) = activity.get("object")
        && !as2::id_of(object).is_some_and(on_signer_host)
    {
        return Err(Error::forbidden("object id is not on the signer's host"));
    }
    Ok(())
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

impl Kring {
    /// The inbox door's one call: verify, check the actor is the signer, queue for processing.
    pub async fn accept_inbox(&self, req: SignedRequest) -> Result<()> {
        if req.body.len() > MAX_ACTIVITY_BYTES {
            return Err(Error::PayloadTooLarge);
        }
        let activity: Value = serde_json::from_slice(&req.body)
            .map_err(|e| Error::bad_request(format!("invalid JSON: {e}")))?;
        if !activity.is_object() || depth(&activity) > MAX_DEPTH {
            return Err(Error::bad_request(
                "activity must be a JSON object of bounded depth",
            ));
        }
        if self.inbox_backlog().await? > self.federation.config.inbox_backlog_limit {
            // Overloaded: the sender retries later, and memory stays bounded.
            return Err(Error::Unavailable(
                "inbox backlog is full, retry later".into(),
            ));
        }
        let signer = self.verify_signature(&req).await?;
        let actor = ids(activity.get("actor"))
            .into_iter()
            .next()
            .ok_or_else(|| Error::bad_request("activity without actor"))?;
        if actor != signer.uri {
            // Relayed or forwarded activities signed by someone else are not trusted.
            return Err(Error::forbidden("activity actor is not the signer"));
        }
        check_origins(&activity, &signer.uri)?;
        let host = host_of(&signer.uri).unwrap_or_default();
        self.limits.inbox(&host)?;
        self.note_delivery(&host, true).await?;
        let payload = serde_json::to_string(&Received {
            signer: signer.id,
            activity,
        })
        .map_err(Error::internal)?;
        self.queue_received(payload).await
    }

    /// Store a received activity as a job before the door answers 202. Activities arriving
    /// together share one transaction (a group commit: the first waits for no one, the next
    /// ones gather while it writes), so the door's write costs one commit per batch.
    async fn queue_received(&self, payload: String) -> Result<()> {
        let sender = self.federation.received.get_or_init(|| {
            let (sender, queue) = tokio::sync::mpsc::channel(RECEIVED_WAITING);
            tokio::spawn(commit_received(self.store.clone(), queue));
            sender
        });
        let (done, answer) = tokio::sync::oneshot::channel();
        match sender.send((payload, done)).await {
            Ok(()) => answer
                .await
                .unwrap_or_else(|_| Err(Error::Unavailable("the inbox is shutting down".into()))),
            // The committing task is gone (its runtime ended): write this one alone.
            Err(tokio::sync::mpsc::error::SendError((payload, _))) => {
                self.store.enqueue(RECEIVE, &payload, now_micros()).await?;
                Ok(())
            }
        }
    }

    /// How many received activities wait (counted at most four times a second).
    async fn inbox_backlog(&self) -> Result<i64> {
        let cached =
            self.federation.backlog.lock().ok().and_then(|b| {
                (b.0.elapsed() < std::time::Duration::from_millis(250)).then_some(b.1)
            });
        if let Some(n) = cached {
            return Ok(n);
        }
        let n = self.store.pending_jobs_in(RECEIVE).await?;
        if let Ok(mut b) = self.federation.backlog.lock() {
            *b = (std::time::Instant::now(), n);
        }
        Ok(n)
    }

    /// Apply a claim's received activities. Creates of posts (most of what arrives) are read
    /// and checked first, outside any transaction, then applied together in one transaction
    /// that also marks each seen and finishes its job: one commit for the batch. Each is applied
    /// under a savepoint, so one that fails is rolled back and retried alone while the others
    /// commit. Other activities are applied one by one as `receive` does.
    pub(crate) async fn receive_batch(&self, jobs: Vec<kring_store::Job>) {
        use futures_util::StreamExt;
        let reads = self.claim_reads(&jobs).await;
        let reads = &reads;
        let prepared: Vec<(kring_store::Job, Result<Ready>)> = futures_util::stream::iter(jobs)
            .map(|job| async move {
                let r = self.prepare_received(&job.payload, reads).await;
                (job, r)
            })
            .buffer_unordered(PREPARE_CONCURRENCY)
            .collect()
            .await;
        let mut notes = Vec::new();
        let mut finished = Vec::new();
        let mut others = Vec::new();
        for (job, ready) in prepared {
            match ready {
                Ok(Ready::Note(note, seen)) => notes.push((job, note, seen)),
                Ok(Ready::Done) => finished.push(job.id),
                Ok(Ready::Other) => others.push(job),
                Err(e) => self.run_claimed(&job, async { Err(e) }).await,
            }
        }
        futures_util::stream::iter(others)
            .for_each_concurrent(PREPARE_CONCURRENCY, |job| async move {
                let work = async {
                    self.receive(&job.payload)
                        .await
                        .map(|_| crate::jobs::Outcome::Done)
                };
                self.run_claimed(&job, work).await;
            })
            .await;
        // The same order in every batch: on PostgreSQL, batches of several workers then lock
        // authors' rows in one order and cannot deadlock on them.
        notes.sort_by_key(|(_, note, _)| note.author_id());
        match self.apply_notes(&notes, &finished).await {
            Ok(outcomes) => {
                let lists = self.lists_of_authors(&notes, &outcomes).await;
                for ((job, note, _), outcome) in notes.iter().zip(outcomes) {
                    match outcome {
                        Ok(Some(stored)) => {
                            let author_lists = lists
                                .as_ref()
                                .map(|l| l.get(&note.author_id()).cloned().unwrap_or_default());
                            let taken =
                                match self.announce_remote_note(note, stored, author_lists).await {
                                    // As `on_create`: one of our groups may take it.
                                    Ok(status) => {
                                        self.take_remote_group_post(&status, note.addressed()).await
                                    }
                                    Err(e) => Err(e),
                                };
                            if let Err(e) = taken {
                                tracing::warn!(error = %e, "could not announce a received post");
                            }
                        }
                        Ok(None) => {}
                        Err(e) => self.run_claimed(job, async { Err(e) }).await,
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "applying a batch of received activities failed");
                if let Err(e) = self.store.complete_jobs(&finished).await {
                    tracing::warn!(error = %e, "could not record job results");
                }
                for (job, _, _) in &notes {
                    let e = Error::Internal(e.to_string());
                    self.run_claimed(job, async { Err(e) }).await;
                }
            }
        }
    }

    /// One transaction: each prepared note marked seen and stored, then the finished jobs
    /// (these and `finished`) deleted. Per note: its `Outcome`.
    ///
    /// Nearly every batch applies whole, so it is tried without savepoints first (two
    /// statements fewer per note, each a hop to SQLite's thread and back); when a note fails,
    /// that transaction is dropped and the batch applied again with each note under its own
    /// savepoint, so the failing one is rolled back while the others commit.
    async fn apply_notes(
        &self,
        notes: &[(kring_store::Job, Box<NoteToStore>, Seen)],
        finished: &[i64],
    ) -> Result<Vec<Outcome>> {
        if let Some(outcomes) = self.apply_notes_whole(notes, finished).await? {
            return Ok(outcomes);
        }
        self.apply_notes_each(notes, finished).await
    }

    /// `apply_notes` without savepoints: None (and nothing written) when a note failed.
    async fn apply_notes_whole(
        &self,
        notes: &[(kring_store::Job, Box<NoteToStore>, Seen)],
        finished: &[i64],
    ) -> Result<Option<Vec<Outcome>>> {
        let mut finished = finished.to_vec();
        let mut outcomes = Vec::with_capacity(notes.len());
        let mut tx = self.store.begin().await?;
        // The claim's seen marks in one statement; a note is new when its mark is (a second
        // delivery of the same activity in the claim finds the mark taken).
        let marks: Vec<(&str, &str)> = notes
            .iter()
            .map(|(_, _, seen)| (seen.origin.as_str(), seen.id.as_str()))
            .collect();
        let mut fresh: HashSet<(String, String)> =
            tx.mark_all_seen(&marks).await?.into_iter().collect();
        for (job, note, seen) in notes {
            if fresh.remove(&(seen.origin.to_ascii_lowercase(), seen.id.clone())) {
                match self.insert_remote_note(&mut tx, note).await {
                    Ok(stored) => outcomes.push(Ok(Some(stored))),
                    // Dropping `tx` rolls back everything it wrote.
                    Err(_) => return Ok(None),
                }
            } else {
                outcomes.push(Ok(None));
            }
            finished.push(job.id);
        }
        tx.complete_jobs(&finished).await?;
        tx.commit().await?;
        Ok(Some(outcomes))
    }

    /// `apply_notes` with each note under its own savepoint.
    async fn apply_notes_each(
        &self,
        notes: &[(kring_store::Job, Box<NoteToStore>, Seen)],
        finished: &[i64],
    ) -> Result<Vec<Outcome>> {
        let mut finished = finished.to_vec();
        let mut outcomes = Vec::with_capacity(notes.len());
        let mut tx = self.store.begin().await?;
        for (job, note, seen) in notes {
            tx.savepoint().await?;
            let applied = if tx.mark_seen(&seen.origin, &seen.id).await? {
                self.insert_remote_note(&mut tx, note).await.map(Some)
            } else {
                Ok(None)
            };
            match applied {
                Ok(stored) => {
                    tx.release_savepoint().await?;
                    finished.push(job.id);
                    outcomes.push(Ok(stored));
                }
                // Stored meanwhile by another delivery of the same post.
                Err(Error::Conflict(_)) => {
                    tx.rollback_to_savepoint().await?;
                    finished.push(job.id);
                    outcomes.push(Ok(None));
                }
                Err(e) => {
                    tx.rollback_to_savepoint().await?;
                    outcomes.push(Err(e));
                }
            }
        }
        tx.complete_jobs(&finished).await?;
        tx.commit().await?;
        Ok(outcomes)
    }

    /// What a claim's Creates need read, in two statements for the whole claim: their
    /// signers (their post counters do not matter here) and which of their embedded posts
    /// are stored already. When a read fails, each activity reads for itself (and fails
    /// alone).
    async fn claim_reads(&self, jobs: &[kring_store::Job]) -> ClaimReads {
        #[derive(Deserialize)]
        struct Object {
            id: Option<String>,
        }
        #[derive(Deserialize)]
        struct Activity {
            #[serde(rename = "type")]
            kind: Option<Value>,
            object: Option<Value>,
        }
        #[derive(Deserialize)]
        struct Peek {
            signer: Id,
            activity: Activity,
        }
        let mut signers = Vec::new();
        let mut uris = Vec::new();
        for job in jobs {
            let Ok(p) = serde_json::from_str::<Peek>(&job.payload) else {
                continue;
            };
            if p.activity.kind.as_ref().and_then(Value::as_str) != Some("Create") {
                continue;
            }
            signers.push(p.signer);
            if let Some(Ok(Object { id: Some(id) })) = p
                .activity
                .object
                .filter(Value::is_object)
                .map(serde_json::from_value::<Object>)
            {
                uris.push(id);
            }
        }
        let signers = match self.store.accounts_ignoring_counts(&signers).await {
            Ok(accounts) => accounts.into_iter().map(|a| (a.id, a)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "could not read a claim's signers");
                HashMap::new()
            }
        };
        let unstored = match self.store.stored_uris(&uris).await {
            Ok(stored) => uris.into_iter().filter(|u| !stored.contains(u)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "could not read which of a claim's posts are stored");
                HashSet::new()
            }
        };
        ClaimReads { signers, unstored }
    }

    /// The lists showing the authors of a claim's stored posts, in one read, for their live
    /// events (None when the read fails: each is then read alone).
    async fn lists_of_authors(
        &self,
        notes: &[(kring_store::Job, Box<NoteToStore>, Seen)],
        outcomes: &[Outcome],
    ) -> Option<HashMap<Id, Vec<Id>>> {
        let authors: Vec<Id> = notes
            .iter()
            .zip(outcomes)
            .filter(|(_, o)| matches!(o, Ok(Some(_))))
            .map(|((_, note, _), _)| note.author_id())
            .collect();
        match self.store.list_ids_containing_any(&authors).await {
            Ok(pairs) => {
                let mut lists: HashMap<Id, Vec<Id>> = HashMap::new();
                for (author, list) in pairs {
                    lists.entry(author).or_default().push(list);
                }
                Some(lists)
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the lists of a claim's authors");
                None
            }
        }
    }

    /// Read and check a received activity for `receive_batch`: a Create of a post comes back
    /// ready to store; an activity applied before, or one that stores nothing, is done.
    /// `reads`: what was read for the whole claim (`claim_reads`).
    async fn prepare_received(&self, payload: &str, reads: &ClaimReads) -> Result<Ready> {
        let r: Received = serde_json::from_str(payload).map_err(Error::internal)?;
        let a = &r.activity;
        if kind(a) != "Create" {
            return Ok(Ready::Other);
        }
        let actor = match reads.signers.get(&r.signer) {
            Some(a) => a.clone(),
            None => self.store.account(r.signer).await?.ok_or(Error::NotFound)?,
        };
        let (Some(origin), Some(id)) = (host_of(&actor.uri), str_field(a, "id")) else {
            return Ok(Ready::Other);
        };
        let seen = Seen {
            origin,
            id: id.to_string(),
        };
        let object = a.get("object").cloned().unwrap_or(Value::Null);
        // A post given by id is fetched: ask first whether the activity was applied already.
        // An embedded one needs no such read: a repeat finds its post stored, or its seen-mark
        // in the batch's transaction.
        if !object.is_object() && self.store.was_seen(&seen.origin, &seen.id).await? {
            return Ok(Ready::Done);
        }
        let embedded = object.is_object();
        let Some(object) = self.created_post(&actor, &object).await? else {
            return Ok(Ready::Done);
        };
        let delivered = Delivered {
            unstored: embedded
                && str_field(&object, "id").is_some_and(|u| reads.unstored.contains(u)),
            signer: actor,
        };
        match self
            .prepare_remote_note(
                &object,
                super::resolve::MAX_REPLY_DEPTH,
                Some(&seen),
                Arrival::New,
                None,
                Some(&delivered),
            )
            .await
        {
            Ok(NoteReady::New(note)) => Ok(Ready::Note(note, seen)),
            Ok(NoteReady::Known(_)) | Err(Error::Conflict(_)) => Ok(Ready::Done),
            Err(Error::Forbidden(m)) if m == REFUSED => Ok(Ready::Done),
            Err(e) => Err(e),
        }
    }

    /// The post a Create by `actor` makes (fetched when given by id): None when it is no kind
    /// of post stored here; refused when it is not the actor's own.
    async fn created_post(&self, actor: &Account, object: &Value) -> Result<Option<Value>> {
        let object = self.embedded_or_fetched(object).await?;
        if !matches!(
            kind(&object),
            "Note" | "Question" | "Article" | "Page" | "Event" | "Video"
        ) {
            return Ok(None);
        }
        let author = ids(object.get("attributedTo"))
            .into_iter()
            .next()
            .unwrap_or_default();
        if author != actor.uri {
            return Err(Error::forbidden("object not attributed to the actor"));
        }
        Ok(Some(object))
    }

    /// Process one received activity (a job). It is marked seen, by its origin and id, in the
    /// transaction that applies it: a failure while applying leaves it unseen, so the job's
    /// retry applies it; a duplicate finds it seen and changes nothing.
    pub(crate) async fn receive(&self, payload: &str) -> Result<()> {
        let r: Received = serde_json::from_str(payload).map_err(Error::internal)?;
        let actor = self.store.account(r.signer).await?.ok_or(Error::NotFound)?;
        let a = &r.activity;
        let seen = match (host_of(&actor.uri), str_field(a, "id")) {
            (Some(origin), Some(id)) => Some(Seen {
                origin,
                id: id.to_string(),
            }),
            _ => None,
        };
        if let Some(s) = &seen
            && self.store.was_seen(&s.origin, &s.id).await?
        {
            // Applied before: skip the fetches applying would make.
            return Ok(());
        }
        let seen = seen.as_ref();
        let object = a.get("object").cloned().unwrap_or(Value::Null);
        match kind(a) {
            "Follow" => self.on_follow(&actor, a, &object, seen).await,
            "Accept" | "Reject" => {
                let accepted = kind(a) == "Accept";
                if self
                    .on_interaction_answer(&actor, a, &object, accepted, seen)
                    .await?
                {
                    return Ok(());
                }
                self.on_accept(&actor, &object, accepted, seen).await
            }
            "QuoteRequest" => self.on_quote_request(&actor, a, &object, seen).await,
            "ReplyRequest" | "LikeRequest" | "AnnounceRequest" => {
                self.on_interaction_request(&actor, a, &object, seen).await
            }
            "Undo" => self.on_undo(&actor, a, &object, seen).await,
            "Create" => self.on_create(&actor, &object, seen).await,
            "Update" => {
                self.on_update(&actor, &object, seen).await?;
                self.forward_received(&actor, a, &object).await
            }
            "Delete" => {
                // Passed on first: the post's group is found while the post is still here.
                self.forward_received(&actor, a, &object).await?;
                self.on_delete(&actor, &object, seen).await
            }
            "Announce" => self.on_announce(&actor, a, &object, seen, None).await,
            "Like" => self.on_like(&actor, a, &object, seen, None).await,
            "Block" => self.on_block(&actor, &object, seen).await,
            "Flag" => self.on_flag(&actor, a, &object, seen).await,
            "Move" => self.on_move(&actor, a, seen).await,
            "Leave" => self.on_chat_leave(&actor, &object, seen).await,
            "Add" | "Remove" | "Offer" => self.on_chat_membership(&actor, a, seen).await,
            other => {
                tracing::debug!(kind = other, "ignoring activity");
                Ok(())
            }
        }
    }

    /// A remote member edited or deleted their post in one of our groups: the group passes
    /// it on to its members' servers (FEP-1b12).
    async fn forward_received(
        &self,
        actor: &Account,
        activity: &Value,
        object: &Value,
    ) -> Result<()> {
        let Some(uri) = as2::id_of(object) else {
            return Ok(());
        };
        let Some(s) = self.store.status_by_uri(uri).await? else {
            return Ok(());
        };
        if s.local || s.account_id != actor.id {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        self.forward_in_group(&mut tx, s.id, activity).await?;
        tx.commit().await
    }

    /// Open the transaction that applies a received activity and mark the activity seen in
    /// it; `None` when it was applied already (by a duplicate delivery processed meanwhile).
    pub(crate) async fn begin_applying(
        &self,
        seen: Option<&Seen>,
    ) -> Result<Option<kring_store::Tx>> {
        let mut tx = self.store.begin().await?;
        if let Some(s) = seen
            && !tx.mark_seen(&s.origin, &s.id).await?
        {
            return Ok(None);
        }
        Ok(Some(tx))
    }

    async fn local_target(&self, object: &Value) -> Result<Option<Account>> {
        let Some(uri) = as2::id_of(object) else {
            return Ok(None);
        };
        if !self.is_local_uri(uri) {
            return Ok(None);
        }
        Ok(self
            .store
            .account_by_uri(uri)
            .await?
            .filter(|a| a.suspended_at.is_none()))
    }

    async fn on_follow(
        &self,
        actor: &Account,
        activity: &Value,
        object: &Value,
        seen: Option<&Seen>,
    ) -> Result<()> {
        let Some(target) = self.local_target(object).await? else {
            return Ok(());
        };
        let follow_id = str_field(activity, "id").unwrap_or("").to_string();
        if target.group {
            return self.on_group_follow(actor, &target, &follow_id, seen).await;
        }
        if self.store.blocks(target.id, actor.id).await? {
            let Some(mut tx) = self.begin_applying(seen).await? else {
                return Ok(());
            };
            self.send_follow_answer(&mut tx, &target, actor, &follow_id, false)
                .await?;
            return tx.commit().await;
        }
        let opts = FollowOptions {
            show_reblogs: true,
            notify: false,
        };
        let Some(mut tx) = self.begin_applying(seen).await? else {
            return Ok(());
        };
        let notified = if self.store.follows(actor.id, target.id).await? {
            // Already following (a repeated Follow): accept again.
            self.send_follow_answer(&mut tx, &target, actor, &follow_id, true)
                .await?;
            None
        } else if target.locked {
            if tx
                .insert_follow_request(actor.id, target.id, opts, Some(&follow_id))
                .await?
            {
                self.notify_in(
                    &mut tx,
                    target.id,
                    NotificationType::FollowRequest,
                    actor.id,
                    None,
                )
                .await?
            } else {
                None
            }
        } else {
            if tx
                .insert_follow(actor.id, target.id, opts, Some(&follow_id))
                .await?
            {
                tx.bump_counts(actor.id, 0, 1, 0).await?;
                tx.bump_counts(target.id, 1, 0, 0).await?;
            }
            self.send_follow_answer(&mut tx, &target, actor, &follow_id, true)
                .await?;
            self.notify_in(&mut tx, target.id, NotificationType::Follow, actor.id, None)
                .await?
        };
        tx.commit().await?;
        if let Some(n) = notified {
            self.events
                .publish(EventKind::Notification(n), vec![Stream::User(target.id)]);
        }
        Ok(())
    }

    /// A remote account's Follow of a local group: joining, through the same service path
    /// local people take (accepted at once for a public group, a request otherwise; refused
    /// with a `Reject` when banned).
    async fn on_group_follow(
        &self,
        actor: &Account,
        target: &Account,
        follow_id: &str,
        seen: Option<&Seen>,
    ) -> Result<()> {
        let Some(group) = self.store.group(target.id).await? else {
            return Ok(());
        };
        let Some(tx) = self.begin_applying(seen).await? else {
            return Ok(());
        };
        tx.commit().await?;
        match self.join_as(&group, actor, Some(follow_id)).await {
            // Banned: the Reject is sent; nothing more to do.
            Err(Error::Forbidden(_)) => Ok(()),
            r => r,
        }
    }

    /// Accept or Reject a remote account's Follow of a local one.
    pub(crate) async fn send_follow_answer(
        &self,
        tx: &mut kring_store::Tx,
        local: &Account,
        remote: &Account,
        follow_id: &str,
        accept: bool,
    ) -> Result<()> {
        let follow =
            json!({ "id": follow_id, "type": "Follow", "actor": remote.uri, "object": local.uri });
        let what = if accept { "accepts" } else { "rejects" };
        let activity = as2::direct_activity(
            if accept { "Accept" } else { "Reject" },
            &self.activity_id(local, what),
            &local.uri,
            follow,
            &remote.uri,
        );
        self.emit(
            tx,
            local,
            activity,
            Recipients::Accounts {
                ids: vec![remote.id],
            },
        )
        .await
    }

    /// Our follow of `actor` was accepted or rejected.
    async fn on_accept(
        &self,
        actor: &Account,
        object: &Value,
        accepted: bool,
        seen: Option<&Seen>,
    ) -> Result<()> {
        let Some(mut tx) = self.begin_applying(seen).await? else {
            return Ok(());
        };
        // Find our follow by its id, or (for servers that send a bare object) by the pair.
        let pair = match as2::id_of(object) {
            Some(uri) => tx.follow_by_uri(uri).await?,
            None => None,
        };
        let follower = match pair {
            Some((follower, target, _)) if target == actor.id => Some(follower),
            Some(_) => None,
            None => match object.get("actor").and_then(as2::id_of) {
                Some(a) if self.is_local_uri(a) => {
                    self.store.account_by_uri(a).await?.map(|a| a.id)
                }
                _ => None,
            },
        };
        let Some(follower) = follower else {
            return Ok(());
        };
        if accepted {
            // The follow keeps its activity id, so a later Undo can name it.
            if let Some((opts, uri)) = tx.take_follow_request(follower, actor.id).await?
                && tx
                    .insert_follow(follower, actor.id, opts, uri.as_deref())
                    .await?
            {
                tx.bump_counts(follower, 0, 1, 0).await?;
                tx.bump_counts(actor.id, 1, 0, 0).await?;
            }
        } else {
            tx.take_follow_request(follower, actor.id).await?;
            if tx.delete_follow(follower, actor.id).await? {
                tx.bump_counts(follower, 0, -1, 0).await?;
                tx.bump_counts(actor.id, -1, 0, 0).await?;
                tx.remove_author_from_feed(follower, actor.id).await?;
            }
        }
        tx.commit().await
    }

    async fn on_undo(
        &self,
        actor: &Account,
        activity: &Value,
        object: &Value,
        seen: Option<&Seen>,
    ) -> Result<()> {
        let inner_id = as2::id_of(object).unwrap_or("");
        let inner_kind = kind(object);
        let Some(mut tx) = self.begin_applying(seen).await? else {
            return Ok(());
        };
        match inner_kind {
            "Follow" | "" => {
                let target = match object.get("object").and_then(as2::id_of) {
                    Some(uri) if self.is_local_uri(uri) => self.store.account_by_uri(uri).await?,
                    _ => match tx.follow_by_uri(inner_id).await? {
                        Some((f, t, _)) if f == actor.id => self.store.account(t).await?,
                        _ => None,
                    },
                };
                if let Some(t) = target {
                    if t.group {
                        // Leaving a group: its own path (membership and follow go together).
                        tx.commit().await?;
                        if let Some(group) = self.store.group(t.id).await? {
                            self.leave_as(&group, actor.id).await?;
                        }
                        return Ok(());
                    }
                    if tx.delete_follow(actor.id, t.id).await? {
                        tx.bump_counts(actor.id, 0, -1, 0).await?;
                        tx.bump_counts(t.id, -1, 0, 0).await?;
                    }
                    tx.take_follow_request(actor.id, t.id).await?;
                    tx.delete_notifications(t.id, NotificationType::FollowRequest, actor.id, None)
                        .await?;
                }
            }
            "Like" => {
                if let Some(uri) = object.get("object").and_then(as2::id_of)
                    && let Some(s) = self.store.status_by_uri(uri).await?
                {
                    tx.delete_favourite_requests(actor.id, s.id).await?;
                }
                if let Some(uri) = object.get("object").and_then(as2::id_of)
                    && let Some(s) = self.store.status_by_uri(uri).await?
                    && tx.delete_mark(Mark::Favourite, actor.id, s.id).await?
                {
                    tx.delete_notifications(
                        s.account_id,
                        NotificationType::Favourite,
                        actor.id,
                        Some(s.id),
                    )
                    .await?;
                    // A group carrying the post passes the withdrawn like on (FEP-1b12).
                    self.forward_in_group(&mut tx, s.id, activity).await?;
                }
            }
            "Announce" => {
                if let Some(boost) = self.store.status_by_uri(inner_id).await?
                    && boost.account_id == actor.id
                {
                    tx.delete_status(&boost).await?;
                    if let Some(orig) = boost.reblog_of_id {
                        tx.delete_notifications(
                            self.store
                                .status(orig)
                                .await?
                                .map(|o| o.account_id)
                                .unwrap_or_default(),
                            NotificationType::Reblog,
                            actor.id,
                            Some(orig),
                        )
                        .await?;
                    }
                }
            }
            "Block" => {
                if let Some(t) = self
                    .local_target(object.get("object").unwrap_or(&Value::Null))
                    .await?
                {
                    tx.delete_block(actor.id, t.id).await?;
                }
            }
            _ => {}
        }
        tx.commit().await
    }

    async fn on_create(&self, actor: &Account, object: &Value, seen: Option<&Seen>) -> Result<()> {
        let Some(object) = self.created_post(actor, object).await? else {
            return Ok(());
        };
        match self
            .store_remote_note_seen(&object, super::resolve::MAX_REPLY_DEPTH, seen, None)
            .await
        {
            Ok(status) => {
                // Addressed to one of our groups (`to`, `cc` or a mention, as Lemmy and
                // Mastodon send it)? The group takes it if its author is a member.
                let addressed = super::resolve::addressed_uris(&object);
                self.take_remote_group_post(&status, &addressed).await
            }
            Err(Error::Conflict(_)) => Ok(()),
            Err(Error::Forbidden(m)) if m == REFUSED => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// GoToSocial's polite requests (`ReplyRequest`, `LikeRequest`, `AnnounceRequest`): the
    /// interaction comes as the `instrument`, for the post named as `object`, and is handled
    /// as if it had come by itself — except that it is always answered, naming the request.
    async fn on_interaction_request(
        &self,
        actor: &Account,
        activity: &Value,
        object: &Value,
        seen: Option<&Seen>,
    ) -> Result<()> {
        let Some(request_id) = str_field(activity, "id") else {
            return Ok(());
        };
        let Some(target) = as2::id_of(object) else {
            return Ok(());
        };
        let instrument = match activity.get("instrument") {
            Some(i @ Value::Object(_)) => i.clone(),
            Some(Value::String(uri)) if host_of(uri) == host_of(&actor.uri) => {
                self.fetch(uri).await?
            }
            _ => return Ok(()),
        };
        // The interaction is the requester's own, minted on its server, about this post.
        let own = as2::id_of(&instrument)
            .is_some_and(|id| host_of(id).is_some() && host_of(id) == host_of(&actor.uri));
        if !own {
            return Err(Error::forbidden(
                "instrument id is not on the signer's host",
            ));
        }
        match kind(activity) {
            "ReplyRequest" => {
                let author = ids(instrument.get("attributedTo")).into_iter().next();
                let parent = str_field(&instrument, "inReplyTo")
                    .or_else(|| instrument.get("inReplyTo").and_then(as2::id_of));
                if author.as_deref() != Some(actor.uri.as_str()) || parent != Some(target) {
                    return Err(Error::forbidden(
                        "instrument is not the actor's reply to the object",
                    ));
                }
                match self
                    .store_remote_note_seen(
                        &instrument,
                        super::resolve::MAX_REPLY_DEPTH,
                        seen,
                        Some(request_id),
                    )
                    .await
                {
                    Ok(_) | Err(Error::Conflict(_)) => Ok(()),
                    Err(Error::Forbidden(m)) if m == REFUSED => Ok(()),
                    Err(e) => Err(e),
                }
            }
            "LikeRequest" | "AnnounceRequest" => {
                let by = instrument.get("actor").and_then(as2::id_of);
                let about = instrument.get("object").and_then(as2::id_of);
                if by != Some(actor.uri.as_str()) || about != Some(target) {
                    return Err(Error::forbidden(
                        "instrument is not the actor's, about the object",
                    ));
                }
                let inner = instrument.get("object").cloned().unwrap_or(Value::Null);
                if kind(activity) == "LikeRequest" {
                    self.on_like(actor, &instrument, &inner, seen, Some(request_id))
                        .await
                } else {
                    self.on_announce(actor, &instrument, &inner, seen, Some(request_id))
                        .await
                }
            }
            _ => Ok(()),
        }
    }

    /// A `QuoteRequest` (FEP-044f): the quote comes as the `instrument` (embedded, or its id on
    /// the requester's host), quoting the post named as `object`, one of ours. The quote is
    /// stored like any post that arrives (decided by the quoted post's policy then), and the
    /// request answered.
    async fn on_quote_request(
        &self,
        actor: &Account,
        activity: &Value,
        object: &Value,
        seen: Option<&Seen>,
    ) -> Result<()> {
        let Some(request_id) = str_field(activity, "id") else {
            return Ok(());
        };
        if host_of(request_id) != host_of(&actor.uri) {
            return Err(Error::forbidden("request id is not on the signer's host"));
        }
        let Some(target) = as2::id_of(object) else {
            return Ok(());
        };
        if !self.is_local_uri(target) {
            return Ok(());
        }
        let instrument = match activity.get("instrument") {
            Some(i @ Value::Object(_)) => i.clone(),
            Some(Value::String(uri)) if host_of(uri) == host_of(&actor.uri) => {
                self.fetch(uri).await?
            }
            _ => return Ok(()),
        };
        let own = as2::id_of(&instrument)
            .is_some_and(|id| host_of(id).is_some() && host_of(id) == host_of(&actor.uri));
        let author = ids(instrument.get("attributedTo")).into_iter().next();
        if !own || author.as_deref() != Some(actor.uri.as_str()) {
            return Err(Error::forbidden("instrument is not the actor's own post"));
        }
        if as2::quote_of(&instrument) != Some(target) {
            return Err(Error::forbidden("instrument does not quote the object"));
        }
        let quoting = match self
            .store_remote_note_as(
                &instrument,
                super::resolve::MAX_REPLY_DEPTH,
                None,
                super::resolve::Arrival::New,
                None,
            )
            .await
        {
            Ok(s) => s,
            // A reply its parent's policy refuses: not stored, its author told already.
            Err(Error::Forbidden(m)) if m == REFUSED => return Ok(()),
            Err(e) => return Err(e),
        };
        self.answer_quote_request(actor, request_id, &quoting, seen)
            .await
    }

    /// Objects may come embedded or as a bare id; bare ids are fetched.
    async fn embedded_or_fetched(&self, object: &Value) -> Result<Value> {
        match object {
            Value::String(uri) => self.fetch(uri).await,
            Value::Object(_) => Ok(object.clone()),
            _ => Err(Error::bad_request("activity without object")),
        }
    }

    pub(super) async fn on_update(
        &self,
        actor: &Account,
        object: &Value,
        seen: Option<&Seen>,
    ) -> Result<()> {
        match kind(object) {
            "Person" | "Service" | "Application" | "Group" | "Organization" => {
                if as2::id_of(object) == Some(actor.uri.as_str()) {
                    // Applying is fetching the actor again (idempotent, in its own
                    // transaction); only a success marks the Update seen.
                    self.resolve_account_uri(&actor.uri, true).await?;
                    if let Some(tx) = self.begin_applying(seen).await? {
                        tx.commit().await?;
                    }
                }
                Ok(())
            }
            "Note" | "Question" | "Article" | "Page" => {
                let Some(uri) = as2::id_of(object) else {
                    return Ok(());
                };
                let Some(before) = self.store.status_by_uri(uri).await? else {
                    return Ok(());
                };
                if before.account_id != actor.id {
                    return Err(Error::forbidden("not the author"));
                }
                let content = kring_core::text::sanitize_remote_html(
                    str_field(object, "content").unwrap_or(""),
                );
                let spoiler = str_field(object, "summary")
                    .map(kring_core::text::html_to_text)
                    .unwrap_or_default();
                let sensitive = object
                    .get("sensitive")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                // A post for named accounts names them again in each Update; those no longer
                // named lose it (a Kring peer's circle member was removed). Never widened.
                let named = match before.visibility {
                    Visibility::Public | Visibility::Unlisted | Visibility::Private => None,
                    _ => Some(self.local_recipients(object, actor.id).await?.0),
                };
                let media = self.remote_attachments(object, actor.id);
                let media_changed = {
                    let old = self.store.media_of_statuses(&[before.id]).await?;
                    let key = |m: &kring_core::media::MediaAttachment| {
                        (m.remote_url.clone(), m.description.clone(), m.focus)
                    };
                    old.iter().map(key).ne(media.iter().map(key))
                };
                let Some(mut tx) = self.begin_applying(seen).await? else {
                    return Ok(());
                };
                if media_changed {
                    tx.set_status_media(before.id, &[]).await?;
                    tx.insert_status_media(before.id, &media).await?;
                }
                // Only a change of what it says is an edit (not a change of who it is for).
                let changed = content != before.content
                    || spoiler != before.spoiler_text
                    || sensitive != before.sensitive;
                if changed {
                    tx.edit_status(
                        &before,
                        "",
                        &content,
                        &spoiler,
                        sensitive,
                        before.language.as_deref(),
                    )
                    .await?;
                }
                if let Some(keep) = &named {
                    tx.narrow_audience(before.id, keep).await?;
                }
                let counts = super::resolve::post_counts(object);
                if counts.exceed(&before) {
                    tx.raise_post_counts(before.id, &counts).await?;
                }
                // A policy the author changed applies from now on (an Update without one
                // leaves it as it was: its server may simply not repeat it).
                if let Some(w) = as2::read_interaction_policy(object) {
                    let policy = self.policy_from_wire(&w, actor).await?;
                    tx.set_interaction_policy(before.id, Some(&policy)).await?;
                }
                tx.commit().await?;
                // A quote its quoted author's server has approved since.
                self.on_quote_updated(object, &before).await?;
                let streams: Vec<Stream> = self
                    .store
                    .feed_recipients(before.id)
                    .await?
                    .into_iter()
                    .map(Stream::User)
                    .collect();
                self.events
                    .publish(EventKind::StatusUpdate(before.id), streams);
                Ok(())
            }
            _ if crate::chats::is_chat_document(object) => {
                self.on_chat_update(actor, object, seen).await
            }
            _ => Ok(()),
        }
    }

    pub(super) async fn on_delete(
        &self,
        actor: &Account,
        object: &Value,
        seen: Option<&Seen>,
    ) -> Result<()> {
        let Some(uri) = as2::id_of(object) else {
            return Ok(());
        };
        if self.on_authorization_deleted(actor, uri, seen).await? {
            return Ok(());
        }
        if uri == actor.uri {
            // The account is gone: so is everything this server kept of it, its posts too;
            // a tombstone keeps its address from being taken up again.
            let Some(mut tx) = self.begin_applying(seen).await? else {
                return Ok(());
            };
            tx.set_suspended(actor.id, true).await?;
            tx.commit().await?;
            return self.purge_remote_account(actor.id).await;
        }
        let Some(s) = self.store.status_by_uri(uri).await? else {
            return Ok(());
        };
        if s.account_id != actor.id {
            return Err(Error::forbidden("not the author"));
        }
        let recipients = self.store.feed_recipients(s.id).await?;
        let chat = self.store.chat_of_status(s.id).await?;
        let Some(mut tx) = self.begin_applying(seen).await? else {
            return Ok(());
        };
        tx.delete_status(&s).await?;
        tx.commit().await?;
        let mut streams: Vec<Stream> = recipients.into_iter().map(Stream::User).collect();
        streams.push(Stream::Public {
            local: false,
            remote: true,
        });
        self.events.publish(EventKind::Delete(s.id), streams);
        if let Some(c) = chat {
            self.publish_chat(c).await?;
        }
        Ok(())
    }

    /// A boost. Of one of our posts, it is held to the post's policy: refused (its booster
    /// told with a `Reject`), stored awaiting approval, or stored (with an `Accept` when the
    /// booster's server needs proof, or asked politely: `request`).
    pub(super) async fn on_announce(
        &self,
        actor: &Account,
        activity: &Value,
        object: &Value,
        seen: Option<&Seen>,
        request: Option<&str>,
    ) -> Result<()> {
        if actor.group && super::group_announces::is_wrapped_activity(object) {
            return Box::pin(self.on_group_announce(actor, activity, object, seen)).await;
        }
        let Some(activity_id) = str_field(activity, "id") else {
            return Ok(());
        };
        if self.store.status_by_uri(activity_id).await?.is_some() {
            return Ok(());
        }
        // Embedded objects are not trusted: a post unknown here is fetched from its origin.
        let orig = self
            .resolve_status_uri(
                as2::id_of(object).unwrap_or(""),
                super::resolve::MAX_REPLY_DEPTH,
            )
            .await?;
        let public = matches!(orig.visibility, Visibility::Public | Visibility::Unlisted);
        // A group elsewhere may pass on a limited post meant for its members (a Lemmy private
        // community's): only one that was addressed to that very group when stored.
        let for_members = !public
            && actor.group
            && self
                .store
                .audience_of(orig.id)
                .await?
                .is_some_and(|a| a.grants.contains(&Grant::GroupMembers(actor.id)));
        if !public && !for_members {
            return Ok(());
        }
        let asked = Interacting {
            kind: Interaction::Reblog,
            target: &orig,
            account: actor.id,
            status: None,
            uri: activity_id,
            request,
        };
        let inbound = if orig.local {
            match self.judge_inbound(&asked, actor, seen).await? {
                Some(i) => i,
                None => return Ok(()),
            }
        } else {
            Inbound::default()
        };
        let awaits = inbound.awaits;
        let to = ids(activity.get("to"));
        let (visibility, audience) = if for_members {
            (
                Visibility::Group,
                Audience::for_group_members(actor.id, &[]),
            )
        } else {
            let visibility = if to.iter().any(|a| as2::is_public_address(a)) {
                Visibility::Public
            } else {
                Visibility::Unlisted
            };
            (
                visibility,
                Audience::for_visibility(visibility, actor.id, &[]),
            )
        };
        let created_at = str_field(activity, "published")
            .and_then(kring_core::time::parse_rfc3339)
            .unwrap_or_else(now_micros)
            .min(now_micros());
        let id = Id::at_millis(created_at / 1000);
        let mut new = NewStatus::boost(
            id,
            actor.id,
            activity_id.to_string(),
            activity_id.to_string(),
            false,
            &orig,
            visibility,
            audience.clone(),
            created_at,
        );
        new.pending_approval_by = awaits;
        let Some(mut tx) = self.begin_applying(seen).await? else {
            return Ok(());
        };
        tx.insert_status(&new).await?;
        tx.fan_out_to_followers(id, actor.id, true, None).await?;
        if actor.group {
            // A group elsewhere carries the post: it joins that group's timeline here.
            tx.insert_group_status(orig.id, actor.id, Some(id), now_micros())
                .await?;
        }
        let boost = Interacting {
            status: Some(id),
            ..asked
        };
        self.record_inbound(&mut tx, &boost, &inbound, actor)
            .await?;
        let notified = if orig.local && awaits.is_none() {
            self.notify_in(
                &mut tx,
                orig.account_id,
                NotificationType::Reblog,
                actor.id,
                Some(orig.id),
            )
            .await?
        } else {
            None
        };
        tx.commit().await?;
        let status = self.store.status(id).await?.ok_or(Error::NotFound)?;
        self.publish_status(&status, &[], &audience).await?;
        if let Some(n) = notified {
            self.events.publish(
                EventKind::Notification(n),
                vec![Stream::User(orig.account_id)],
            );
        }
        Ok(())
    }

    /// A favourite. Of one of our posts, it is held to the post's policy as a boost is.
    async fn on_like(
        &self,
        actor: &Account,
        activity: &Value,
        object: &Value,
        seen: Option<&Seen>,
        request: Option<&str>,
    ) -> Result<()> {
        let Some(uri) = as2::id_of(object) else {
            return Ok(());
        };
        let Some(s) = self.store.status_by_uri(uri).await? else {
            return Ok(());
        };
        if self
            .store
            .visible_status(Some(actor.id), s.id)
            .await?
            .is_none()
        {
            return Ok(());
        }
        let like_uri = str_field(activity, "id")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}#likes/{}", actor.uri, s.id));
        let like = Interacting {
            kind: Interaction::Favourite,
            target: &s,
            account: actor.id,
            status: None,
            uri: &like_uri,
            request,
        };
        let inbound = if s.local && s.reblog_of_id.is_none() {
            match self.judge_inbound(&like, actor, seen).await? {
                Some(i) => i,
                None => return Ok(()),
            }
        } else {
            Inbound::default()
        };
        let Some(mut tx) = self.begin_applying(seen).await? else {
            return Ok(());
        };
        if inbound.awaits.is_some() {
            // Not counted until approved; asked once however often it comes.
            if self
                .store
                .pending_favourite(actor.id, s.id)
                .await?
                .is_none()
            {
                self.record_inbound(&mut tx, &like, &inbound, actor).await?;
            }
            return tx.commit().await;
        }
        let created = tx.insert_mark(Mark::Favourite, actor.id, s.id).await?;
        if created {
            self.record_inbound(&mut tx, &like, &inbound, actor).await?;
            // A group carrying the post passes the like on to its members (FEP-1b12).
            self.forward_in_group(&mut tx, s.id, activity).await?;
        }
        let notified = if created && s.local {
            self.notify_in(
                &mut tx,
                s.account_id,
                NotificationType::Favourite,
                actor.id,
                Some(s.id),
            )
            .await?
        } else {
            None
        };
        tx.commit().await?;
        if let Some(n) = notified {
            self.events
                .publish(EventKind::Notification(n), vec![Stream::User(s.account_id)]);
        }
        Ok(())
    }

    async fn on_block(&self, actor: &Account, object: &Value, seen: Option<&Seen>) -> Result<()> {
        let Some(target) = self.local_target(object).await? else {
            return Ok(());
        };
        let Some(mut tx) = self.begin_applying(seen).await? else {
            return Ok(());
        };
        tx.insert_block(actor.id, target.id).await?;
        for (a, b) in [(actor.id, target.id), (target.id, actor.id)] {
            if tx.delete_follow(a, b).await? {
                tx.bump_counts(a, 0, -1, 0).await?;
                tx.bump_counts(b, -1, 0, 0).await?;
            }
            tx.take_follow_request(a, b).await?;
        }
        tx.remove_author_from_feed(target.id, actor.id).await?;
        tx.commit().await
    }

    async fn on_flag(
        &self,
        actor: &Account,
        activity: &Value,
        object: &Value,
        seen: Option<&Seen>,
    ) -> Result<()> {
        let mut target = None;
        let mut statuses = Vec::new();
        for uri in ids(Some(object)) {
            if let Some(a) = self
                .store
                .account_by_uri(&uri)
                .await?
                .filter(|a| a.is_local())
            {
                target = Some(a.id);
            } else if let Some(s) = self.store.status_by_uri(&uri).await? {
                target.get_or_insert(s.account_id);
                statuses.push(s.id);
            }
        }
        let Some(target) = target else { return Ok(()) };
        let Some(mut tx) = self.begin_applying(seen).await? else {
            return Ok(());
        };
        let report = tx
            .insert_report(&kring_store::NewReport {
                reporter: actor.id,
                target,
                status_ids: &statuses,
                comment: str_field(activity, "content").unwrap_or(""),
                category: kring_core::model::ReportCategory::Other,
                forwarded: false,
                uri: str_field(activity, "id"),
            })
            .await?;
        let made = self
            .notify_of_report_in(&mut tx, actor.id, report, &statuses)
            .await?;
        tx.commit().await?;
        self.publish_notifications(&made);
        Ok(())
    }

    async fn on_move(&self, actor: &Account, activity: &Value, seen: Option<&Seen>) -> Result<()> {
        let Some(target_uri) = activity.get("target").and_then(as2::id_of) else {
            return Ok(());
        };
        // Only an account moves itself.
        if activity.get("object").and_then(as2::id_of) != Some(actor.uri.as_str()) {
            return Err(Error::forbidden("Move of another account"));
        }
        let target = self.resolve_account_uri(target_uri, true).await?;
        // The new account must claim the old one, or anyone could redirect followers.
        if !target.also_known_as.iter().any(|a| a == &actor.uri) {
            return Err(Error::forbidden(
                "Move target does not list the actor in alsoKnownAs",
            ));
        }
        let Some(mut tx) = self.begin_applying(seen).await? else {
            return Ok(());
        };
        tx.set_moved_to(actor.id, target.id).await?;
        tx.commit().await?;
        // Followers here follow the new account (docs/privacy.md, "Moving").
        self.follow_move(actor, &target).await;
        Ok(())
    }
}

#[cfg(test)]
#[path = "inbox_tests.rs"]
mod tests;
