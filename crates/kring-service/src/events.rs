//! Live events for streaming clients. The service publishes after a change commits; each door
//! that streams (WebSocket API, later the web interface) subscribes and filters by what its
//! connection asked for, checking the audience again before showing anything.
//! Within one process this is a broadcast channel; several web processes on PostgreSQL will
//! relay it through LISTEN/NOTIFY.
use kring_core::Id;
use tokio::sync::broadcast;

/// Where an event belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

#[derive(Debug, Clone)]
pub enum EventKind {
    /// A status (or boost) appeared.
    Update(Id),
    /// A status was edited.
    StatusUpdate(Id),
    Delete(Id),
    Notification(Id),
    FiltersChanged,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventKind,
    pub streams: Vec<Stream>,
}

#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<std::sync::Arc<Event>>,
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
        Events { tx }
    }

    pub fn publish(&self, kind: EventKind, streams: Vec<Stream>) {
        if streams.is_empty() {
            return;
        }
        // No receivers is fine: nobody is streaming.
        let _ = self.tx.send(std::sync::Arc::new(Event { kind, streams }));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<std::sync::Arc<Event>> {
        self.tx.subscribe()
    }
}
