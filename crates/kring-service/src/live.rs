//! Live delivery to streaming viewers. One dispatcher per process reads the event bus and, for
//! each event, decides once which connected viewers may see it (one audience query for all of
//! them, the same rule as every other read path: `kring_store::Shown::Listed`), builds the
//! status view once, and hands each viewer a delivery. Viewers whose rendering is the same
//! (the same marks, no filter of their own matching) share one delivery, so a door renders the
//! event's JSON once per distinct rendering (`Rendered`), not once per connection.
//!
//! Doors keep only routing: which of a viewer's deliveries belong to which of its
//! subscriptions (`Event::streams`).
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use kring_core::Id;
use kring_store::Shown;
use tokio::sync::{Notify, broadcast};

use crate::events::{Event, EventKind, Stream};
use crate::views::{NotificationView, Originals, StatusView, personalise, rendering_key, view_ids};
use crate::{Actor, Kring, Result};

/// How far one viewer's connections may fall behind before they skip ahead (told they lagged).
const VIEWER_BACKLOG: usize = 1024;

/// A view with a slot for the door's rendering of it, made by the first connection that sends
/// it and reused by every other connection the same delivery reaches.
#[derive(Debug)]
pub struct Rendered<T> {
    pub view: T,
    rendered: OnceLock<Option<String>>,
    quoted: OnceLock<Option<String>>,
}

impl<T> Rendered<T> {
    fn new(view: T) -> Arc<Rendered<T>> {
        Arc::new(Rendered {
            view,
            rendered: OnceLock::new(),
            quoted: OnceLock::new(),
        })
    }

    /// The rendering, made once with `render` (None when it cannot be rendered).
    pub fn rendered(&self, render: impl FnOnce(&T) -> Option<String>) -> Option<&str> {
        self.rendered.get_or_init(|| render(&self.view)).as_deref()
    }

    /// The rendering as a JSON string (quoted and escaped), made once: what a message that
    /// carries the rendering as text embeds (Mastodon's streaming `payload`).
    pub fn quoted(&self, render: impl FnOnce(&T) -> Option<String>) -> Option<&str> {
        self.quoted
            .get_or_init(|| {
                self.rendered(render)
                    .and_then(|r| serde_json::to_string(r).ok())
            })
            .as_deref()
    }
}

/// What a viewer is shown of an event.
#[derive(Debug)]
pub enum Item {
    /// A status appeared, or (`edited`) was edited: as shown in home and list streams (the
    /// viewer's "home" filters) and in public and hashtag streams ("public" filters); None
    /// where one of the viewer's filters hides it.
    Status {
        edited: bool,
        home: Option<Arc<Rendered<StatusView>>>,
        public: Option<Arc<Rendered<StatusView>>>,
    },
    Notification(Arc<Rendered<NotificationView>>),
    /// A chat as the viewer now sees it (Mastodon's `conversation` event).
    Conversation(Arc<Rendered<crate::chats::ChatView>>),
    Delete(Id),
    FiltersChanged,
}

/// One event for one viewer: the event (whose streams say which subscriptions it belongs to)
/// and what the viewer is shown of it.
#[derive(Debug)]
pub struct Delivery {
    pub event: Arc<Event>,
    pub item: Item,
    /// The viewer's own streams (home feed, notifications: `Stream::User`) are among the
    /// event's, so a connection need not look for them in a list of thousands.
    pub named: bool,
}

struct Viewer {
    actor: Actor,
    tx: broadcast::Sender<Arc<Delivery>>,
    connections: usize,
    /// Connections that follow streams open to anyone (public, hashtags, lists). A viewer
    /// without any is asked about an event only when it names the viewer's own streams: a
    /// public post to 1,000 followers is decided for those it names, not for every viewer.
    open: usize,
}

#[derive(Default)]
struct Viewers {
    by_id: HashMap<Id, Viewer>,
    dispatching: bool,
}

#[derive(Default)]
struct Inner {
    viewers: Mutex<Viewers>,
    /// Woken when the last connection leaves, so the dispatcher stops.
    idle: Notify,
}

/// The process's live viewers. Cheap to clone.
#[derive(Clone, Default)]
pub struct Live {
    inner: Arc<Inner>,
}

/// A connection's feed of deliveries; dropping it ends the connection's registration.
pub struct LiveReceiver {
    rx: broadcast::Receiver<Arc<Delivery>>,
    viewer: Id,
    live: Live,
    /// Whether this connection follows open streams (counted in its viewer's `open`).
    open: bool,
}

impl LiveReceiver {
    pub async fn recv(
        &mut self,
    ) -> std::result::Result<Arc<Delivery>, broadcast::error::RecvError> {
        self.rx.recv().await
    }

    /// Say whether this connection follows streams open to anyone (public, hashtag, list),
    /// or only the viewer's own (home, notifications). A new connection is taken to follow
    /// them all until it says otherwise.
    pub fn follow_open_streams(&mut self, open: bool) {
        if open == self.open {
            return;
        }
        self.open = open;
        let mut v = self
            .live
            .inner
            .viewers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = v.by_id.get_mut(&self.viewer) {
            if open {
                entry.open += 1;
            } else {
                entry.open = entry.open.saturating_sub(1);
            }
        }
    }
}

impl Drop for LiveReceiver {
    fn drop(&mut self) {
        let Ok(mut v) = self.live.inner.viewers.lock() else {
            return;
        };
        if let Some(entry) = v.by_id.get_mut(&self.viewer) {
            if self.open {
                entry.open = entry.open.saturating_sub(1);
            }
            entry.connections = entry.connections.saturating_sub(1);
            if entry.connections == 0 {
                v.by_id.remove(&self.viewer);
            }
        }
        if v.by_id.is_empty() {
            self.live.inner.idle.notify_one();
        }
    }
}

impl Kring {
    /// Register a streaming connection of `actor`: from now on it receives what the service
    /// decides this viewer may see of each live event.
    pub fn live(&self, actor: &Actor) -> LiveReceiver {
        let inner = &self.live.inner;
        // A poisoned lock only means another connection panicked mid-update; the map is
        // still consistent (each update is a single insert or remove).
        let mut v = inner.viewers.lock().unwrap_or_else(|p| p.into_inner());
        let entry = v.by_id.entry(actor.id()).or_insert_with(|| Viewer {
            actor: actor.clone(),
            tx: broadcast::channel(VIEWER_BACKLOG).0,
            connections: 0,
            open: 0,
        });
        entry.connections += 1;
        entry.open += 1;
        // The latest sign-in state (role, settings) is the one that counts.
        entry.actor = actor.clone();
        let rx = entry.tx.subscribe();
        if !v.dispatching {
            v.dispatching = true;
            // Subscribed here, under the lock, so no event published after this connection
            // registered can be missed.
            let events = self.events.subscribe();
            let kring = self.clone();
            tokio::spawn(async move { kring.dispatch(events).await });
        }
        LiveReceiver {
            rx,
            viewer: actor.id(),
            live: self.live.clone(),
            open: true,
        }
    }

    async fn dispatch(self, mut events: broadcast::Receiver<Arc<Event>>) {
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(event) => {
                        if let Err(e) = self.deliver_live(event).await {
                            tracing::warn!(error = %e, "a live event could not be delivered");
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(skipped = n, "live delivery fell behind the event bus");
                    }
                    Err(broadcast::error::RecvError::Closed) => {}
                },
                _ = self.live.inner.idle.notified() => {}
            }
            let mut v = self
                .live
                .inner
                .viewers
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if v.by_id.is_empty() {
                v.dispatching = false;
                return;
            }
        }
    }

    /// Decide who sees `event` and hand it to them.
    async fn deliver_live(&self, event: Arc<Event>) -> Result<()> {
        // Events for one account's streams go to that account; public, hashtag and list
        // events may concern any viewer following such streams (each connection routes by
        // its own subscriptions).
        let named: HashSet<Id> = event
            .streams
            .iter()
            .filter_map(|s| match s {
                Stream::User(id) => Some(*id),
                _ => None,
            })
            .collect();
        let open = event.streams.iter().any(|s| !matches!(s, Stream::User(_)));
        let viewers: Vec<(Actor, broadcast::Sender<Arc<Delivery>>)> = {
            let v = self
                .live
                .inner
                .viewers
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            v.by_id
                .iter()
                .filter(|(id, x)| (open && x.open > 0) || named.contains(id))
                .map(|(_, x)| (x.actor.clone(), x.tx.clone()))
                .collect()
        };
        let candidates: Vec<&(Actor, broadcast::Sender<Arc<Delivery>>)> = viewers.iter().collect();
        if candidates.is_empty() {
            return Ok(());
        }
        let send = |tx: &broadcast::Sender<Arc<Delivery>>, d: Arc<Delivery>| {
            // No receiver left: the viewer's connections just closed.
            let _ = tx.send(d);
        };
        match &event.kind {
            EventKind::Update(id) | EventKind::StatusUpdate(id) => {
                let edited = matches!(event.kind, EventKind::StatusUpdate(_));
                let actors: Vec<&Actor> = candidates.iter().map(|(a, _)| a).collect();
                let senders: HashMap<Id, &broadcast::Sender<Arc<Delivery>>> =
                    candidates.iter().map(|(a, tx)| (a.id(), tx)).collect();
                for (actor, item) in self.live_status(*id, edited, &actors).await? {
                    if let Some(tx) = senders.get(&actor) {
                        send(
                            tx,
                            Arc::new(Delivery {
                                event: event.clone(),
                                item,
                                named: named.contains(&actor),
                            }),
                        );
                    }
                }
            }
            EventKind::Notification(id) => {
                for (actor, tx) in candidates.iter().filter(|(a, _)| named.contains(&a.id())) {
                    // The notification rule decides (sender hidden, status no longer readable).
                    let Ok(n) = self.notification(actor, *id).await else {
                        continue;
                    };
                    let Some(view) = self.notification_views(actor, vec![n]).await?.pop() else {
                        continue;
                    };
                    send(
                        tx,
                        Arc::new(Delivery {
                            event: event.clone(),
                            item: Item::Notification(Rendered::new(view)),
                            named: true,
                        }),
                    );
                }
            }
            EventKind::Conversation(chat) => {
                for (actor, tx) in candidates.iter().filter(|(a, _)| named.contains(&a.id())) {
                    // Only an active participant is told (one removed meanwhile is not).
                    let Ok(view) = self.chat_view(actor, *chat).await else {
                        continue;
                    };
                    send(
                        tx,
                        Arc::new(Delivery {
                            event: event.clone(),
                            item: Item::Conversation(Rendered::new(view)),
                            named: true,
                        }),
                    );
                }
            }
            EventKind::Delete(id) => {
                // The post is gone, so there is no audience left to ask: the streams were
                // chosen when it was deleted (its audience's feeds, public streams if public).
                let delivery = |named| {
                    Arc::new(Delivery {
                        event: event.clone(),
                        item: Item::Delete(*id),
                        named,
                    })
                };
                let (to_named, to_others) = (delivery(true), delivery(false));
                for (a, tx) in &candidates {
                    let d = if named.contains(&a.id()) {
                        &to_named
                    } else {
                        &to_others
                    };
                    send(tx, d.clone());
                }
            }
            // For caches only (`caches`).
            EventKind::SessionsChanged(_) | EventKind::AccountsChanged(_) => {}
            EventKind::FiltersChanged => {
                let d = Arc::new(Delivery {
                    event: event.clone(),
                    item: Item::FiltersChanged,
                    named: true,
                });
                for (_, tx) in candidates.iter().filter(|(a, _)| named.contains(&a.id())) {
                    send(tx, d.clone());
                }
            }
        }
        Ok(())
    }

    /// A live view's quote for one viewer (see [`Kring::resolve_quotes`], the same decision
    /// made for a page).
    fn live_quote(
        &self,
        view: &mut StatusView,
        viewer: Id,
        quoted_id: Option<Id>,
        quoted: Option<&(StatusView, HashSet<Id>)>,
        flags: &kring_store::StatusFlags,
    ) {
        let one = |x: &mut StatusView| {
            x.quote_current_user = crate::views::quote_current_user(Some(viewer), &x.status);
            let Some(q) = x.quote.as_mut() else { return };
            if q.quote.state != kring_core::model::QuoteState::Accepted {
                return;
            }
            match quoted {
                Some((qv, readers)) if q.quote.quoted_status_id == quoted_id => {
                    if readers.contains(&viewer) {
                        q.state = "accepted";
                        q.quoted = personalise(qv.clone(), Some(flags), &[], None).map(|mut i| {
                            i.quote_current_user =
                                crate::views::quote_current_user(Some(viewer), &i.status);
                            Box::new(i)
                        });
                    } else {
                        q.state = "unauthorized";
                    }
                }
                _ => q.state = "deleted",
            }
        };
        one(view);
        if let Some(r) = view.reblog.as_deref_mut() {
            one(r);
        }
    }

    /// The status `id` for each of `viewers` it is shown to: one audience decision for all,
    /// one shared view, then each viewer's marks and filters; viewers with the same rendering
    /// share one item.
    async fn live_status(
        &self,
        id: Id,
        edited: bool,
        viewers: &[&Actor],
    ) -> Result<Vec<(Id, Item)>> {
        let ids: Vec<Id> = viewers.iter().map(|a| a.id()).collect();
        let shown = self.store.viewers_shown(id, &ids, Shown::Listed).await?;
        if shown.is_empty() {
            return Ok(Vec::new());
        }
        let Some(status) = self.store.status(id).await? else {
            return Ok(Vec::new());
        };
        // The rule above checked a boost's original for every viewer shown.
        let Some(shared) = self
            .shared_status_views(Originals::Checked, vec![status])
            .await?
            .pop()
        else {
            return Ok(Vec::new());
        };
        let shown: Vec<Id> = ids.into_iter().filter(|i| shown.contains(i)).collect();
        let mut status_ids = view_ids(std::slice::from_ref(&shared));
        // An accepted quote: the quoted post is shown to the viewers the one audience rule
        // lets read it (one decision for all of them), built once like the status itself.
        let quoted_id = std::iter::once(&shared)
            .chain(shared.reblog.as_deref())
            .filter_map(|v| v.quote.as_ref())
            .find(|q| q.quote.state == kring_core::model::QuoteState::Accepted)
            .and_then(|q| q.quote.quoted_status_id);
        let mut quoted: Option<(StatusView, HashSet<Id>)> = None;
        if let Some(qid) = quoted_id
            && let Some(qs) = self.store.status(qid).await?
            && let Some(qv) = self
                .shared_status_views(Originals::ReadableBy(None), vec![qs])
                .await?
                .pop()
        {
            let readers = self.store.viewers_shown(qid, &shown, Shown::Direct).await?;
            status_ids.push(qid);
            quoted = Some((qv, readers.into_iter().collect()));
        }
        let mut flags = self.store.status_flags_of(&shown, &status_ids).await?;
        let mut filters = self.store.filters_of(&shown).await?;
        type Key = (Vec<Option<bool>>, Vec<Id>);
        let mut home: HashMap<Key, Arc<Rendered<StatusView>>> = HashMap::new();
        let mut public: HashMap<Key, Arc<Rendered<StatusView>>> = HashMap::new();
        // Viewers without filters are told the same in every context, and only their marks
        // tell them apart: one view per distinct set of marks (for a new post, usually one
        // for everyone), not a copy per viewer.
        let mut unfiltered: HashMap<Vec<bool>, Option<Arc<Rendered<StatusView>>>> = HashMap::new();
        let mut out = Vec::with_capacity(shown.len());
        for viewer in shown {
            let f = flags.remove(&viewer).unwrap_or_default();
            let fl = filters.remove(&viewer).unwrap_or_default();
            if fl.is_empty() {
                let mut marks: Vec<bool> = status_ids
                    .iter()
                    .flat_map(|i| {
                        [
                            f.favourited.contains(i),
                            f.reblogged.contains(i),
                            f.bookmarked.contains(i),
                            f.pinned.contains(i),
                        ]
                    })
                    .collect();
                // Whether the viewer may read the quoted post tells views apart too.
                marks.push(quoted.as_ref().is_some_and(|(_, r)| r.contains(&viewer)));
                let view = unfiltered
                    .entry(marks)
                    .or_insert_with(|| {
                        personalise(shared.clone(), Some(&f), &[], None).map(|mut v| {
                            self.live_quote(&mut v, viewer, quoted_id, quoted.as_ref(), &f);
                            Rendered::new(v)
                        })
                    })
                    .clone();
                out.push((
                    viewer,
                    Item::Status {
                        edited,
                        home: view.clone(),
                        public: view,
                    },
                ));
                continue;
            }
            let one = |context: &str, seen: &mut HashMap<Key, Arc<Rendered<StatusView>>>| {
                let mut view = personalise(shared.clone(), Some(&f), &fl, Some(context))?;
                self.live_quote(&mut view, viewer, quoted_id, quoted.as_ref(), &f);
                Some(
                    seen.entry(rendering_key(&view))
                        .or_insert_with(|| Rendered::new(view))
                        .clone(),
                )
            };
            let item = Item::Status {
                edited,
                home: one("home", &mut home),
                public: one("public", &mut public),
            };
            out.push((viewer, item));
        }
        Ok(out)
    }
}
