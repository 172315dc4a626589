//! Live events for streaming clients. The service publishes after a change commits; the live
//! dispatcher (`live`) reads them, decides once per event which connected viewers may see it,
//! and hands each viewer's connections their delivery; doors only route deliveries to the
//! subscriptions they match.
//! Within one process this is a broadcast channel. Several processes on one PostgreSQL
//! database relay their events to each other through LISTEN/NOTIFY (`Kring::relay_events`),
//! so a post made through one process (or received by another's job worker) reaches the
//! streaming clients of all of them.
use std::sync::{Arc, OnceLock};

use kring_core::Id;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

/// Where an event belongs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stream {
    /// An account's home feed and notifications.
    User(Id),
    Public {
        local: bool,
        remote: bool,
    },
    Hashtag {
        tag: String,
        local: bool,
    },
    List(Id),
    /// A group's timeline: the posts it carries (not its boosts of them).
    Group(Id),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum EventKind {
    /// A status (or boost) appeared.
    Update(Id),
    /// A status was edited.
    StatusUpdate(Id),
    Delete(Id),
    Notification(Id),
    /// A chat changed (a message, a new name, someone came or went): Mastodon's
    /// `conversation` event, for the participants named.
    Conversation(Id),
    FiltersChanged,
    /// Tokens of an account (None: app-only tokens) were revoked: the caches of this and
    /// other processes drop them. For caches only: streaming clients are not told.
    SessionsChanged(Option<Id>),
    /// Accounts or users changed in another process: drop them from the store's memory
    /// (`kring_store::Store::forget_accounts`). For caches only, like `SessionsChanged`.
    AccountsChanged(kring_store::Changed),
}

impl EventKind {
    /// Events that only tell caches something; they name no stream.
    fn for_caches(&self) -> bool {
        matches!(
            self,
            EventKind::SessionsChanged(_) | EventKind::AccountsChanged(_)
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub streams: Vec<Stream>,
}

/// An event as it travels between processes: who sent it, so the sender skips its own.
#[derive(Serialize, Deserialize)]
pub(crate) struct Relayed {
    pub origin: u64,
    /// The payload's number in its sender: several payloads go in one statement, and
    /// PostgreSQL folds identical ones sent in one transaction into one.
    #[serde(default)]
    pub seq: u64,
    pub event: Event,
}

/// Events relayed in one statement at most (one round trip for what a claim published).
const RELAY_BATCH: usize = 256;

#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<Arc<Event>>,
    /// This process, among those sharing a database.
    pub(crate) origin: u64,
    /// Where published events go to be relayed to other processes, once relaying runs.
    relay: Arc<OnceLock<mpsc::Sender<Arc<Event>>>>,
    /// What events invalidate; applied before anyone else sees the event.
    pub(crate) caches: Arc<crate::caches::Caches>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    pub fn new() -> Events {
        // A slow client that falls this far behind is told it lagged and skips ahead.
        let (tx, _) = broadcast::channel(4096);
        Events {
            tx,
            origin: rand::random(),
            relay: Arc::new(OnceLock::new()),
            caches: Arc::default(),
        }
    }

    pub fn publish(&self, kind: EventKind, streams: Vec<Stream>) {
        if streams.is_empty() && !kind.for_caches() {
            return;
        }
        let event = Arc::new(Event { kind, streams });
        self.caches.apply(&event);
        if let Some(relay) = self.relay.get() {
            // Live events are best effort: when the relay falls behind, drop rather than wait.
            let _ = relay.try_send(event.clone());
        }
        // No receivers is fine: nobody is streaming.
        let _ = self.tx.send(event);
    }

    /// An event another process published: to this process's clients only.
    pub(crate) fn publish_here(&self, event: Event) {
        self.caches.apply(&event);
        let _ = self.tx.send(Arc::new(event));
    }

    /// Start relaying published events; the receiver gets each one. Only once per process.
    pub(crate) fn relay_to(&self, tx: mpsc::Sender<Arc<Event>>) -> bool {
        self.relay.set(tx).is_ok()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }
}

/// An event as NOTIFY payloads of at most `max` bytes: a post to many followers names a
/// stream per follower, so its streams are split over as many payloads as needed.
fn payloads(origin: u64, seq: &mut u64, event: &Event, max: usize) -> Vec<String> {
    let mut encode = |streams: Vec<Stream>| {
        *seq = seq.wrapping_add(1);
        serde_json::to_string(&Relayed {
            origin,
            seq: *seq,
            event: Event {
                kind: event.kind.clone(),
                streams,
            },
        })
        .ok()
    };
    if event.streams.is_empty() {
        // A cache event: it concerns no stream.
        return encode(Vec::new()).into_iter().collect();
    }
    let overhead = encode(Vec::new()).map_or(max, |s| s.len());
    let mut out = Vec::new();
    let mut chunk: Vec<Stream> = Vec::new();
    let mut size = overhead;
    for stream in &event.streams {
        let len = serde_json::to_string(stream).map_or(max, |s| s.len()) + 1;
        if !chunk.is_empty() && size + len > max {
            out.extend(encode(std::mem::take(&mut chunk)));
            size = overhead;
        }
        if overhead + len > max {
            tracing::warn!("a live event's stream is too large to relay");
            continue;
        }
        chunk.push(stream.clone());
        size += len;
    }
    if !chunk.is_empty() {
        out.extend(encode(chunk));
    }
    out
}

/// The NOTIFY channel events travel on.
const CHANNEL: &str = "kring_events";

impl crate::Kring {
    /// On PostgreSQL, relay live events between the processes sharing the database until
    /// `shutdown` turns true: what this process publishes is sent with NOTIFY, what others
    /// send is published here. Returns None on SQLite (one process) or when already relaying.
    pub fn relay_events(
        &self,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        if self.store.backend() != kring_store::Backend::Postgres {
            return None;
        }
        let (tx, mut outgoing) = mpsc::channel::<Arc<Event>>(1024);
        if !self.events.relay_to(tx) {
            return None;
        }
        // Tell the other processes which accounts changed here, so their store forgets them.
        let events = self.events.clone();
        self.store.on_accounts_changed(move |c| {
            events.publish(EventKind::AccountsChanged(c.clone()), Vec::new());
        });
        let kring = self.clone();
        Some(tokio::spawn(async move {
            let origin = kring.events.origin;
            let mut seq = 0u64;
            let mut listener = None;
            loop {
                if listener.is_none() {
                    match kring.store.listen(CHANNEL).await {
                        Ok(l) => listener = l,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot listen for other processes' events; retrying");
                            tokio::select! {
                                _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => continue,
                                _ = shutdown.changed() => return,
                            }
                        }
                    }
                }
                let Some(l) = listener.as_mut() else { return };
                tokio::select! {
                    changed = shutdown.changed() => {
                        if changed.is_err() || *shutdown.borrow() {
                            return;
                        }
                    }
                    event = outgoing.recv() => {
                        let Some(event) = event else { return };
                        // What else waits goes along: a claim of received posts publishes an
                        // event per post, and each statement is a round trip.
                        let mut events = vec![event];
                        while events.len() < RELAY_BATCH
                            && let Ok(more) = outgoing.try_recv()
                        {
                            events.push(more);
                        }
                        let all: Vec<String> = events
                            .iter()
                            .flat_map(|e| payloads(origin, &mut seq, e, kring_store::MAX_NOTIFY_PAYLOAD))
                            .collect();
                        if let Err(e) = kring.store.notify_all(CHANNEL, &all).await {
                            tracing::warn!(error = %e, "could not relay live events to other processes");
                        }
                    }
                    got = l.recv() => match got {
                        Ok(n) => match serde_json::from_str::<Relayed>(n.payload()) {
                            Ok(r) if r.origin != origin => {
                                if let EventKind::AccountsChanged(c) = &r.event.kind {
                                    kring.store.forget_accounts(c);
                                }
                                kring.events.publish_here(r.event)
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "unreadable relayed event"),
                        },
                        Err(e) => {
                            tracing::warn!(error = %e, "listening for other processes' events failed; reconnecting");
                            listener = None;
                        }
                    },
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_to_many_followers_is_relayed_in_several_payloads() {
        let streams: Vec<Stream> = (0..2000)
            .map(|i| Stream::User(Id(1_000_000_000_000_000 + i)))
            .chain([Stream::Public {
                local: true,
                remote: false,
            }])
            .collect();
        let event = Event {
            kind: EventKind::Update(Id(42)),
            streams: streams.clone(),
        };
        let mut seq = 0;
        let out = payloads(7, &mut seq, &event, 7_900);
        assert!(out.len() > 1, "one payload of {} streams", streams.len());
        let mut seen = Vec::new();
        for p in &out {
            assert!(p.len() <= 7_900, "a payload of {} bytes", p.len());
            let r: Relayed = serde_json::from_str(p).unwrap();
            assert_eq!(r.origin, 7);
            assert!(matches!(r.event.kind, EventKind::Update(Id(42))));
            seen.extend(r.event.streams);
        }
        assert_eq!(seen, streams);
        // A small event is one payload.
        let one = Event {
            kind: EventKind::FiltersChanged,
            streams: vec![Stream::User(Id(1))],
        };
        assert_eq!(payloads(7, &mut seq, &one, 7_900).len(), 1);
        // Every payload differs from the others, even for the same event twice: PostgreSQL
        // would deliver identical ones sent in one statement once.
        let twice = payloads(7, &mut seq, &one, 7_900);
        assert_ne!(twice, payloads(7, &mut seq, &one, 7_900));
    }
}
