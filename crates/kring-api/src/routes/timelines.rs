//! Timelines: home, public (all, local, remote), hashtag, list. Newest first, nothing else.
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use kring_service::Kring;
use kring_service::Locality;
use serde::Deserialize;

use crate::auth::{Auth, MaybeAuth};
use crate::error::ApiResult;
use crate::paging::PageParams;
use crate::params::{Query, lenient};
use crate::respond::{self, id};

pub fn routes() -> Router<Kring> {
    Router::new()
        .route("/api/v1/timelines/home", get(home))
        .route("/api/v1/timelines/public", get(public))
        .route("/api/v1/timelines/tag/{tag}", get(tag))
        .route("/api/v1/timelines/list/{id}", get(list))
}

async fn home(
    State(kring): State<Kring>,
    auth: Auth,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let actor = auth.user("read:statuses")?;
    let list = kring.home(actor, &q.page(20, 40)).await?;
    respond::statuses(
        &kring,
        Some(actor),
        list,
        Some("home"),
        "/api/v1/timelines/home",
        "",
    )
    .await
}

#[derive(Deserialize)]
struct PublicQuery {
    #[serde(flatten)]
    page: PageParams,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    local: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    remote: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    only_media: Option<bool>,
    #[serde(default, deserialize_with = "lenient::strings")]
    any: Vec<String>,
}

fn locality(q: &PublicQuery) -> (Locality, &'static str) {
    match (q.local.unwrap_or(false), q.remote.unwrap_or(false)) {
        (true, _) => (Locality::Local, "local=true"),
        (false, true) => (Locality::Remote, "remote=true"),
        _ => (Locality::All, ""),
    }
}

async fn public(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Query(q): Query<PublicQuery>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:statuses")?;
    let (loc, extra) = locality(&q);
    let list = if q.only_media == Some(true) {
        Vec::new()
    } else {
        kring.public(viewer, loc, &q.page.page(20, 40)).await?
    };
    respond::statuses(
        &kring,
        viewer,
        list,
        Some("public"),
        "/api/v1/timelines/public",
        extra,
    )
    .await
}

async fn tag(
    State(kring): State<Kring>,
    auth: MaybeAuth,
    Path(tag): Path<String>,
    Query(q): Query<PublicQuery>,
) -> ApiResult<Response> {
    let viewer = auth.viewer("read:statuses")?;
    let (loc, extra) = locality(&q);
    let mut tags = vec![tag.clone()];
    tags.extend(q.any.iter().cloned());
    let list = kring
        .tag_timeline(viewer, &tags, loc, &q.page.page(20, 40))
        .await?;
    let path = format!(
        "/api/v1/timelines/tag/{}",
        percent_encoding::utf8_percent_encode(&tag, percent_encoding::NON_ALPHANUMERIC)
    );
    respond::statuses(&kring, viewer, list, Some("public"), &path, extra).await
}

async fn list(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let actor = auth.user("read:lists")?;
    let lid = id(&raw)?;
    let list = kring.list_timeline(actor, lid, &q.page(20, 40)).await?;
    respond::statuses(
        &kring,
        Some(actor),
        list,
        Some("home"),
        &format!("/api/v1/timelines/list/{lid}"),
        "",
    )
    .await
}
