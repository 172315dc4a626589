//! Kring's federation door: WebFinger, host-meta, NodeInfo, the ActivityPub actor and object
//! documents with their collections, and the inboxes. Handlers translate HTTP to service calls;
//! signature checks, audiences and paging live in the service.
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kring_core::{Error, Id};
use kring_service::Kring;
use kring_service::federation::SignedRequest;
use kring_service::federation::documents::{Collection, PostCounter};
use serde::Deserialize;
use serde_json::Value;

/// The largest activity accepted by an inbox.
pub const MAX_INBOX_BODY: usize = 512 * 1024;

pub fn router(kring: Kring) -> Router {
    Router::new()
        .route("/.well-known/webfinger", get(webfinger))
        .route("/.well-known/host-meta", get(host_meta))
        .route("/.well-known/nodeinfo", get(nodeinfo_links))
        .route("/nodeinfo/{version}", get(nodeinfo))
        .route("/actor", get(instance_actor))
        .route("/actor/inbox", post(inbox))
        .route("/inbox", post(inbox))
        .route("/users/{name}", get(actor))
        .route("/users/{name}/inbox", post(inbox))
        .route("/users/{name}/outbox", get(outbox))
        .route("/users/{name}/followers", get(followers))
        .route("/users/{name}/following", get(following))
        .route("/users/{name}/collections/featured", get(featured))
        .route("/users/{name}/moderators", get(group_moderators))
        .route("/users/{name}/chats/{id}", get(chat))
        .route("/users/{name}/statuses/{id}", get(note))
        .route("/users/{name}/statuses/{id}/activity", get(note_activity))
        .route("/users/{name}/statuses/{id}/replies", get(replies))
        .route("/users/{name}/statuses/{id}/likes", get(likes))
        .route("/users/{name}/statuses/{id}/shares", get(shares))
        .route("/users/{name}/authorizations/{id}", get(authorization))
        .route("/users/{name}/accepts/{id}", get(accept))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_INBOX_BODY))
        .with_state(kring)
}

struct FedError(Error);

impl From<Error> for FedError {
    fn from(e: Error) -> Self {
        FedError(e)
    }
}

impl IntoResponse for FedError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::Unauthorized | Error::TokenExpired | Error::Forbidden(_) => {
                StatusCode::UNAUTHORIZED
            }
            Error::BadRequest(_) | Error::Validation(_) | Error::Fields(_) | Error::Conflict(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        if matches!(self.0, Error::Forbidden(_) | Error::Unauthorized) {
            tracing::info!(reason = %self.0, "refused signed request");
        }
        let msg = match &self.0 {
            Error::Internal(_) => "Internal server error".to_string(),
            e => e.to_string(),
        };
        let mut res = (status, Json(serde_json::json!({ "error": msg }))).into_response();
        if let Error::RateLimited(limit) = &self.0 {
            for (name, value) in limit.headers() {
                if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
                    res.headers_mut()
                        .insert(axum::http::HeaderName::from_static(name), v);
                }
            }
        }
        res
    }
}

type FedResult = Result<Response, FedError>;

fn activity_json(v: Value) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/activity+json; charset=utf-8",
        )],
        Json(v),
    )
        .into_response()
}

/// Whether the client asked for ActivityStreams rather than a web page.
fn wants_as2(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.contains("application/activity+json")
                || a.contains("application/ld+json")
                || a.contains("application/json")
        })
}

fn signed_request(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> SignedRequest {
    SignedRequest {
        method: method.as_str().to_string(),
        target: uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| uri.path().to_string()),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    }
}

/// The viewer a document is read for (the service decides what a signature is worth).
async fn fetcher(
    kring: &Kring,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Option<Id>, FedError> {
    let signed = headers.contains_key("signature") || headers.contains_key("signature-input");
    let req = signed.then(|| signed_request(method, uri, headers, &[]));
    Ok(kring.document_viewer(req.as_ref()).await?)
}

async fn group_moderators(
    State(kring): State<Kring>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> FedResult {
    fetcher(&kring, &method, &uri, &headers).await?;
    group_reader(&kring, &name, &method, &uri, &headers).await?;
    Ok(activity_json(kring.group_moderators_document(&name).await?))
}

/// A private group's documents answer only servers where it has members (the service
/// decides; this passes the signature on).
async fn group_reader(
    kring: &Kring,
    name: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), FedError> {
    let signed = headers.contains_key("signature") || headers.contains_key("signature-input");
    let req = signed.then(|| signed_request(method, uri, headers, &[]));
    Ok(kring
        .check_group_document_reader(name, req.as_ref())
        .await?)
}

/// A chat's document (its `context`), for servers with a participant (docs/chats.md).
async fn chat(
    State(kring): State<Kring>,
    Path((name, raw)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> FedResult {
    let id: Id = raw.parse().map_err(|_| Error::NotFound)?;
    let signed = headers.contains_key("signature") || headers.contains_key("signature-input");
    let req = signed.then(|| signed_request(&method, &uri, &headers, &[]));
    Ok(activity_json(
        kring.chat_document(&name, id, req.as_ref()).await?,
    ))
}

#[derive(Deserialize)]
struct WebfingerQuery {
    resource: Option<String>,
}

async fn webfinger(State(kring): State<Kring>, Query(q): Query<WebfingerQuery>) -> FedResult {
    let resource = q
        .resource
        .ok_or_else(|| Error::bad_request("resource is required"))?;
    let jrd = kring.webfinger(&resource).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/jrd+json; charset=utf-8"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        Json(jrd),
    )
        .into_response())
}

async fn host_meta(State(kring): State<Kring>) -> Response {
    let base = kring.config.base_url();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" template=\"{base}/.well-known/webfinger?resource={{uri}}\"/>\n</XRD>\n"
    );
    (
        [(header::CONTENT_TYPE, "application/xrd+xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

async fn nodeinfo_links(State(kring): State<Kring>) -> Response {
    let base = kring.config.base_url();
    Json(serde_json::json!({
        "links": [
            { "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": format!("{base}/nodeinfo/2.0") },
            { "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": format!("{base}/nodeinfo/2.1") },
        ]
    }))
    .into_response()
}

async fn nodeinfo(State(kring): State<Kring>, Path(version): Path<String>) -> FedResult {
    let version = version.trim_end_matches(".json");
    if version != "2.0" && version != "2.1" {
        return Err(FedError(Error::NotFound));
    }
    let doc = kring.nodeinfo(version).await?;
    let ct = format!(
        "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/{version}#\""
    );
    Ok(([(header::CONTENT_TYPE, ct)], Json(doc)).into_response())
}

async fn instance_actor(State(kring): State<Kring>) -> FedResult {
    Ok(activity_json(kring.instance_actor_document().await?))
}

async fn actor(
    State(kring): State<Kring>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> FedResult {
    if !wants_as2(&headers) {
        // People get the profile page; ActivityPub clients the actor document.
        return Ok(Redirect::to(&format!("/@{name}")).into_response());
    }
    group_reader(&kring, &name, &method, &uri, &headers).await?;
    // The actor document stays readable without a signature (keys must be fetchable), and
    // its content does not depend on who asks: a signature is not even checked.
    Ok(activity_json(kring.actor_document(&name).await?))
}

#[derive(Deserialize, Default)]
struct PageQuery {
    page: Option<String>,
    max_id: Option<String>,
}

async fn collection(
    kring: Kring,
    name: String,
    which: Collection,
    q: PageQuery,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> FedResult {
    fetcher(&kring, &method, &uri, &headers).await?;
    group_reader(&kring, &name, &method, &uri, &headers).await?;
    let page = q.page.is_some_and(|p| p == "true" || p == "1");
    let max_id = q.max_id.and_then(|m| m.parse().ok());
    Ok(activity_json(
        kring
            .collection_document(&name, which, page, max_id)
            .await?,
    ))
}

async fn outbox(
    State(kring): State<Kring>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> FedResult {
    collection(kring, name, Collection::Outbox, q, method, uri, headers).await
}

async fn followers(
    State(kring): State<Kring>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> FedResult {
    collection(kring, name, Collection::Followers, q, method, uri, headers).await
}

async fn following(
    State(kring): State<Kring>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> FedResult {
    collection(kring, name, Collection::Following, q, method, uri, headers).await
}

async fn featured(
    State(kring): State<Kring>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> FedResult {
    collection(
        kring,
        name,
        Collection::Featured,
        PageQuery::default(),
        method,
        uri,
        headers,
    )
    .await
}

fn parse_id(raw: &str) -> Result<Id, FedError> {
    raw.parse().map_err(|_| FedError(Error::NotFound))
}

async fn note(
    State(kring): State<Kring>,
    Path((name, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> FedResult {
    let id = parse_id(&id)?;
    if !wants_as2(&headers) {
        return Ok(Redirect::to(&format!("/@{name}/{id}")).into_response());
    }
    let viewer = fetcher(&kring, &method, &uri, &headers).await?;
    Ok(activity_json(kring.note_document(&name, id, viewer).await?))
}

/// An approval's authorization (GoToSocial's `ReplyAuthorization`, …), which servers fetch to
/// check an interaction's `replyAuthorization` (…).
async fn authorization(
    State(kring): State<Kring>,
    Path((name, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> FedResult {
    let id = parse_id(&id)?;
    let viewer = fetcher(&kring, &method, &uri, &headers).await?;
    Ok(activity_json(
        kring.authorization_document(&name, id, viewer).await?,
    ))
}

/// An approval's `Accept`, which servers fetch to check an interaction's `approvedBy`.
async fn accept(
    State(kring): State<Kring>,
    Path((name, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> FedResult {
    let id = parse_id(&id)?;
    let viewer = fetcher(&kring, &method, &uri, &headers).await?;
    Ok(activity_json(
        kring.accept_document(&name, id, viewer).await?,
    ))
}

async fn note_activity(
    State(kring): State<Kring>,
    Path((name, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> FedResult {
    let id = parse_id(&id)?;
    let viewer = fetcher(&kring, &method, &uri, &headers).await?;
    let mut doc = kring.status_activity_document(&name, id, viewer).await?;
    doc["@context"] = kring_service::federation::context();
    Ok(activity_json(doc))
}

async fn replies(
    State(kring): State<Kring>,
    Path((name, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> FedResult {
    fetcher(&kring, &method, &uri, &headers).await?;
    Ok(activity_json(
        kring.replies_document(&name, parse_id(&id)?).await?,
    ))
}

async fn likes(
    State(kring): State<Kring>,
    Path((name, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> FedResult {
    post_counter(kring, name, id, method, uri, headers, PostCounter::Likes).await
}

async fn shares(
    State(kring): State<Kring>,
    Path((name, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> FedResult {
    post_counter(kring, name, id, method, uri, headers, PostCounter::Shares).await
}

async fn post_counter(
    kring: Kring,
    name: String,
    id: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    which: PostCounter,
) -> FedResult {
    let id = parse_id(&id)?;
    let viewer = fetcher(&kring, &method, &uri, &headers).await?;
    Ok(activity_json(
        kring
            .post_counter_document(&name, id, viewer, which)
            .await?,
    ))
}

/// Personal and shared inboxes: verify, queue, answer 202 at once.
async fn inbox(
    State(kring): State<Kring>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> FedResult {
    if !headers.contains_key("signature")
        && !headers.contains_key("signature-input")
        && !headers.contains_key(header::AUTHORIZATION)
    {
        return Err(FedError(Error::forbidden("the request is not signed")));
    }
    kring
        .accept_inbox(signed_request(&method, &uri, &headers, &body))
        .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
