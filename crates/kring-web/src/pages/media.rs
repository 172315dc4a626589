//! Remote images served from this origin (the service's media proxy). A picture that cannot
//! be had shows the default avatar or header rather than a broken image.
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use kring_core::Error;
use kring_service::media_proxy::ProfileImage;

use crate::Web;
use crate::assets;

pub async fn profile_image(
    State(web): State<Web>,
    Path((raw, which)): Path<(String, String)>,
) -> Response {
    let (Ok(account), Some(which)) = (raw.parse(), ProfileImage::parse(&which)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match web.kring.proxied_profile_image(account, which).await {
        Ok(image) => (
            [
                (header::CONTENT_TYPE, image.mime),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            image.bytes,
        )
            .into_response(),
        Err(e) => {
            if let Error::Internal(detail) = &e {
                tracing::error!(%detail, "media proxy");
            }
            let fallback = match which {
                ProfileImage::Avatar => "avatar.svg",
                ProfileImage::Header => "header.svg",
            };
            Redirect::to(assets::url(fallback)).into_response()
        }
    }
}
