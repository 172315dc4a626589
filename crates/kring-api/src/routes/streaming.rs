//! Streaming as Mastodon clients expect it: the WebSocket at `/api/v1/streaming` (with
//! subscribe/unsubscribe messages) and server-sent events at `/api/v1/streaming/{stream}`.
//! Both share one matcher: the service decides once per event which viewers may see it and
//! hands each viewer's connections a delivery (`Kring::live`); a connection only routes each
//! delivery to the subscriptions it matches and sends the delivery's shared rendering.
use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use kring_service::events::{EventKind, Stream};
use kring_service::live::{Delivery, Item};
use kring_service::{Actor, Kring};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Auth;
use crate::entities::{self, Ctx};
use crate::error::{ApiError, ApiResult, bad_request};
use crate::params::Query;
use crate::respond::ctx;

/// A WebSocket connection's read buffer (it grows for a larger message).
const READ_BUFFER: usize = 4 * 1024;

pub fn routes() -> Router<Kring> {
    Router::new()
        .route("/api/v1/streaming", get(websocket))
        .route("/api/v1/streaming/", get(websocket))
        .route("/api/v1/streaming/health", get(health))
        .route("/api/v1/streaming/{*stream}", get(sse))
}

async fn health() -> &'static str {
    "OK"
}

/// One subscription of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sub {
    User,
    UserNotification,
    /// Chats: Mastodon's `conversation` events.
    Direct,
    Public {
        local: bool,
        remote: bool,
    },
    Hashtag {
        tag: String,
        local: bool,
    },
    List(kring_core::Id),
    /// Kring's: a group's timeline (`stream=group&group=ID`).
    Group(kring_core::Id),
}

impl Sub {
    fn parse(
        stream: &str,
        tag: Option<&str>,
        list: Option<&str>,
        group: Option<&str>,
    ) -> Option<Sub> {
        Some(match stream {
            "user" => Sub::User,
            "user:notification" => Sub::UserNotification,
            "direct" => Sub::Direct,
            "public" => Sub::Public {
                local: false,
                remote: false,
            },
            "public:local" => Sub::Public {
                local: true,
                remote: false,
            },
            "public:remote" => Sub::Public {
                local: false,
                remote: true,
            },
            "hashtag" => Sub::Hashtag {
                tag: tag?.trim_start_matches('#').to_lowercase(),
                local: false,
            },
            "hashtag:local" => Sub::Hashtag {
                tag: tag?.trim_start_matches('#').to_lowercase(),
                local: true,
            },
            "list" => Sub::List(list?.parse().ok()?),
            "group" => Sub::Group(group?.parse().ok()?),
            _ => return None,
        })
    }

    /// The `stream` array clients see with each event.
    fn names(&self) -> serde_json::Value {
        match self {
            Sub::User => json!(["user"]),
            Sub::UserNotification => json!(["user:notification"]),
            Sub::Direct => json!(["direct"]),
            Sub::Public { local: true, .. } => json!(["public:local"]),
            Sub::Public { remote: true, .. } => json!(["public:remote"]),
            Sub::Public { .. } => json!(["public"]),
            Sub::Hashtag { tag, local: true } => json!(["hashtag:local", tag]),
            Sub::Hashtag { tag, .. } => json!(["hashtag", tag]),
            Sub::List(id) => json!(["list", id.to_string()]),
            Sub::Group(id) => json!(["group", id.to_string()]),
        }
    }

    /// A stream open to anyone (not the viewer's own home or notifications).
    fn is_open(&self) -> bool {
        !matches!(self, Sub::User | Sub::UserNotification | Sub::Direct)
    }

    fn scope(&self) -> &'static str {
        match self {
            Sub::User | Sub::UserNotification | Sub::Direct => "read:statuses",
            Sub::List(_) => "read:lists",
            _ => "read:statuses",
        }
    }

    fn matches(&self, d: &Delivery) -> bool {
        let event = &d.event;
        let notification = matches!(event.kind, EventKind::Notification(_));
        // The viewer's own streams: the service says whether the event names them (a post
        // to many followers names thousands).
        // A chat's event belongs to the `direct` stream only, as on Mastodon.
        let conversation = matches!(event.kind, EventKind::Conversation(_));
        match self {
            Sub::Direct => return conversation && d.named,
            _ if conversation => return false,
            Sub::User => return d.named,
            Sub::UserNotification => return notification && d.named,
            _ => {}
        }
        event.streams.iter().any(|s| match (self, s) {
            (
                Sub::Public { local, remote },
                Stream::Public {
                    local: l,
                    remote: r,
                },
            ) => !notification && (!local || *l) && (!remote || *r),
            (Sub::Hashtag { tag, local }, Stream::Hashtag { tag: t, local: l }) => {
                tag == t && (!local || *l)
            }
            (Sub::List(id), Stream::List(l)) => id == l,
            (Sub::Group(id), Stream::Group(g)) => !notification && id == g,
            _ => false,
        })
    }
}

/// What a connection sends of a delivery for one of its subscriptions: (event name, payload);
/// with `quoted`, the payload as a JSON string, as the WebSocket's messages embed it.
/// Who may see the event was decided by the service (`Kring::live`); each view's JSON (and
/// its quoted form) is rendered once and shared by every connection the same delivery reaches.
fn render<'a>(
    kring: &Kring,
    sub: &Sub,
    d: &'a Delivery,
    quoted: bool,
) -> Option<(&'static str, Cow<'a, str>)> {
    let base = ctx(kring);
    let c = Ctx::new(&base, kring);
    let plain = |text: String| {
        Some(Cow::Owned(if quoted {
            serde_json::to_string(&text).ok()?
        } else {
            text
        }))
    };
    match &d.item {
        Item::Status {
            edited,
            home,
            public,
        } => {
            let view = if matches!(sub, Sub::User | Sub::List(_) | Sub::Group(_)) {
                home
            } else {
                public
            };
            let render = |v: &_| serde_json::to_string(&entities::status(c, v)).ok();
            let view = view.as_ref()?;
            let payload = if quoted {
                view.quoted(render)?
            } else {
                view.rendered(render)?
            };
            let name = if *edited { "status.update" } else { "update" };
            Some((name, Cow::Borrowed(payload)))
        }
        Item::Notification(n) => {
            let render = |v: &_| serde_json::to_string(&entities::notification(c, v)).ok();
            let payload = if quoted {
                n.quoted(render)?
            } else {
                n.rendered(render)?
            };
            Some(("notification", Cow::Borrowed(payload)))
        }
        Item::Conversation(v) => {
            let render =
                |v: &_| serde_json::to_string(&super::conversations::conversation(c, v)).ok();
            let payload = if quoted {
                v.quoted(render)?
            } else {
                v.rendered(render)?
            };
            Some(("conversation", Cow::Borrowed(payload)))
        }
        Item::Delete(id) => Some(("delete", plain(id.to_string())?)),
        Item::FiltersChanged => Some(("filters_changed", plain(String::new())?)),
    }
}

/// A WebSocket message: the subscription's stream names, the event, and the payload already
/// quoted (so a large status is escaped once per delivery, not once per connection).
fn message(sub: &Sub, name: &str, quoted_payload: &str) -> String {
    format!(
        "{{\"stream\":{},\"event\":\"{name}\",\"payload\":{quoted_payload}}}",
        sub.names()
    )
}

#[derive(Deserialize, Default)]
struct StreamQuery {
    #[serde(default)]
    stream: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    list: Option<String>,
    #[serde(default)]
    group: Option<String>,
}

/// Browsers cannot set headers on a WebSocket, so the token may also come as the
/// Sec-WebSocket-Protocol value (as Mastodon accepts), or as the web interface's session.
async fn websocket_auth(
    kring: &Kring,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
) -> ApiResult<(Auth, Option<String>)> {
    let mut parts = axum::http::Request::builder()
        .uri(uri.clone())
        .body(())
        .map_err(|_| bad_request("bad request"))?
        .into_parts()
        .0;
    parts.headers = headers.clone();
    let protocol = headers
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if crate::auth::bearer(&parts).is_none()
        && let Some(p) = &protocol
    {
        let grant = kring.authenticate(p.trim()).await?;
        return Ok((Auth(grant), protocol));
    }
    if let Some(token) = crate::auth::bearer(&parts) {
        return Ok((Auth(kring.authenticate(&token).await?), None));
    }
    let token = web_session(kring, headers).ok_or(ApiError(kring_core::Error::Unauthorized))?;
    Ok((Auth(kring.authenticate(&token).await?), None))
}

/// The web interface's session cookie, for its page script's live updates (so no token is
/// ever in JavaScript's reach). Browsers send cookies with WebSocket handshakes from any site
/// and CORS does not apply to them, so the cookie only counts when the handshake's `Origin`
/// is this server.
fn web_session(kring: &Kring, headers: &HeaderMap) -> Option<String> {
    let origin = headers.get(axum::http::header::ORIGIN)?.to_str().ok()?;
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !kring_service::sessions::is_own_origin(&kring.config.base_url(), origin, host) {
        return None;
    }
    kring_service::sessions::cookie_value(
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
        kring_service::sessions::session_cookie_name(kring.config.scheme == "https"),
    )
}

async fn websocket(
    State(kring): State<Kring>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(q): Query<StreamQuery>,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    let (auth, protocol) = websocket_auth(&kring, &headers, &uri).await?;
    let actor = auth.user("read")?.clone();
    let mut subs = Vec::new();
    if let Some(stream) = q.stream.as_deref() {
        let sub = Sub::parse(
            stream,
            q.tag.as_deref(),
            q.list.as_deref(),
            q.group.as_deref(),
        )
        .ok_or_else(|| bad_request("Unknown stream type"))?;
        check_sub(&kring, &auth, &actor, &sub).await?;
        subs.push(sub);
    }
    // Clients only ever send small subscribe messages: a 128 KiB read buffer per connection
    // (the default) would make 1,000 idle connections cost 128 MB.
    let ws = ws.read_buffer_size(READ_BUFFER);
    let ws = match protocol {
        Some(p) => ws.protocols([p]),
        None => ws,
    };
    Ok(ws
        .on_upgrade(move |socket| serve_socket(kring, auth, actor, subs, socket))
        .into_response())
}

async fn check_sub(kring: &Kring, auth: &Auth, actor: &Actor, sub: &Sub) -> ApiResult<()> {
    auth.user(sub.scope())?;
    if let Sub::List(id) = sub {
        kring.list(actor, *id).await?;
    }
    if let Sub::Group(id) = sub {
        kring.may_read_group_timeline(Some(actor), *id).await?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct ClientMessage {
    #[serde(rename = "type")]
    kind: String,
    stream: String,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    list: Option<String>,
    #[serde(default)]
    group: Option<String>,
}

async fn serve_socket(
    kring: Kring,
    auth: Auth,
    actor: Actor,
    mut subs: Vec<Sub>,
    socket: WebSocket,
) {
    let mut rx = kring.live(&actor);
    rx.follow_open_streams(subs.iter().any(Sub::is_open));
    let (mut sink, mut incoming) = socket.split();
    let mut ping = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            msg = incoming.next() => {
                let Some(Ok(msg)) = msg else { return };
                match msg {
                    Message::Text(text) => {
                        let Ok(m) = serde_json::from_str::<ClientMessage>(&text) else {
                            let err = json!({"error": "Bad request"}).to_string();
                            if sink.send(Message::Text(err.into())).await.is_err() { return }
                            continue;
                        };
                        let Some(sub) = Sub::parse(&m.stream, m.tag.as_deref(), m.list.as_deref(), m.group.as_deref()) else {
                            let err = json!({"error": "Unknown stream type", "status": 400}).to_string();
                            if sink.send(Message::Text(err.into())).await.is_err() { return }
                            continue;
                        };
                        match m.kind.as_str() {
                            "subscribe" => {
                                if let Err(e) = check_sub(&kring, &auth, &actor, &sub).await {
                                    let err = json!({"error": e.message(), "status": e.status().as_u16()}).to_string();
                                    if sink.send(Message::Text(err.into())).await.is_err() { return }
                                } else if !subs.contains(&sub) {
                                    subs.push(sub);
                                }
                            }
                            "unsubscribe" => subs.retain(|s| s != &sub),
                            _ => {}
                        }
                        rx.follow_open_streams(subs.iter().any(Sub::is_open));
                    }
                    Message::Close(_) => return,
                    _ => {}
                }
            }
            delivery = rx.recv() => {
                let delivery: Arc<Delivery> = match delivery {
                    Ok(d) => d,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                };
                for sub in &subs {
                    if !sub.matches(&delivery) { continue }
                    if let Some((name, payload)) = render(&kring, sub, &delivery, true) {
                        let msg = message(sub, name, &payload);
                        if sink.send(Message::Text(msg.into())).await.is_err() { return }
                    }
                }
            }
            _ = ping.tick() => {
                if sink.send(Message::Ping(Vec::new().into())).await.is_err() { return }
            }
        }
    }
}

/// Server-sent events: `/api/v1/streaming/user`, `/public/local`, `/hashtag?tag=x`, `/list?list=1`…
async fn sse(
    State(kring): State<Kring>,
    auth: Auth,
    Path(stream): Path<String>,
    Query(q): Query<StreamQuery>,
) -> ApiResult<Response> {
    let actor = auth.user("read")?.clone();
    let name = stream.trim_end_matches('/').replace('/', ":");
    let sub = Sub::parse(
        &name,
        q.tag.as_deref(),
        q.list.as_deref(),
        q.group.as_deref(),
    )
    .ok_or_else(|| bad_request("Unknown stream type"))?;
    check_sub(&kring, &auth, &actor, &sub).await?;
    let mut rx = kring.live(&actor);
    rx.follow_open_streams(sub.is_open());
    let events = futures_util::stream::unfold(
        (rx, kring, actor, sub),
        |(mut rx, kring, actor, sub)| async move {
            loop {
                let delivery = match rx.recv().await {
                    Ok(d) => d,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                };
                if !sub.matches(&delivery) {
                    continue;
                }
                if let Some((name, payload)) = render(&kring, &sub, &delivery, false) {
                    let e = SseEvent::default().event(name).data(payload);
                    return Some((Ok::<_, Infallible>(e), (rx, kring, actor, sub)));
                }
            }
        },
    );
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}
