//! Media: uploads (`POST /api/v1/media`, `/api/v2/media`), their alt text and focus, and the
//! files themselves (`/media/…` for local files, `/proxy/media/ID/TOKEN` for remote ones).
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kring_core::{Error, Id};
use kring_service::Kring;
use kring_service::media::upload::Upload;
use serde::Deserialize;

use crate::auth::Auth;
use crate::entities::{self, Ctx};
use crate::error::{ApiError, ApiResult, bad_request, unprocessable};
use crate::params::{Params, lenient};
use crate::respond::{ctx, id};

/// Room in an upload's body for its other fields and the multipart framing.
const FORM_OVERHEAD: usize = 64 * 1024;

/// These routes read their bodies themselves (streamed, up to the upload limit), so they are
/// merged outside the API's 1 MiB body limit.
pub fn routes() -> Router<Kring> {
    Router::new()
        .route("/api/v1/media", post(upload_v1))
        .route("/api/v2/media", post(upload_v2))
        .route("/api/v1/media/{id}", get(show).put(update).delete(remove))
        .route("/media/{dir}/{file}", get(file))
        .route("/proxy/media/{id}/{token}", get(proxied))
}

/// `media_ids[]` of a status: ids, or Mastodon's 422.
pub fn media_ids(raw: &[String]) -> ApiResult<Vec<Id>> {
    raw.iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map(Id)
                .map_err(|_| unprocessable("Media attachment not found or already used"))
        })
        .collect()
}

async fn upload_v1(State(kring): State<Kring>, auth: Auth, req: Request) -> ApiResult<Response> {
    upload(kring, auth, req).await
}

/// Mastodon answers 202 while a file is processed after the answer; Kring processes pictures
/// before answering, so the attachment is complete (200) and `url` is set.
async fn upload_v2(State(kring): State<Kring>, auth: Auth, req: Request) -> ApiResult<Response> {
    upload(kring, auth, req).await
}

async fn upload(kring: Kring, auth: Auth, req: Request) -> ApiResult<Response> {
    let actor = auth.user("write:media")?;
    let limit = kring.config.media.max_upload() + FORM_OVERHEAD;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err(unprocessable(
            "The file must be sent as multipart/form-data",
        ));
    }
    // A declared length over the limit is refused before anything is read.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError(Error::PayloadTooLarge));
    }
    // Room first: uploads waiting for it hold no bytes yet.
    let slot = kring.upload_slot(declared).await?;
    let upload = read_upload(&content_type, req.into_body(), limit).await?;
    let m = kring.upload_media(actor, &slot, upload).await?;
    let base = ctx(&kring);
    Ok(Json(entities::media_attachment(Ctx::new(&base, &kring), &m)).into_response())
}

/// The `file`, `description` and `focus` parts of an upload, streamed with a cap on the whole.
async fn read_upload(content_type: &str, body: Body, limit: usize) -> ApiResult<Upload> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| bad_request("The multipart body has no valid boundary"))?;
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit as u64));
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let mut upload = Upload::default();
    let mut fields = 0usize;
    let too_large = |e: multer::Error| match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            ApiError(Error::PayloadTooLarge)
        }
        e => bad_request(format!("Invalid multipart body: {e}")),
    };
    while let Some(field) = multipart.next_field().await.map_err(too_large)? {
        fields += 1;
        if fields > 16 {
            return Err(ApiError(Error::PayloadTooLarge));
        }
        let name = field.name().unwrap_or("").to_string();
        let data = field.bytes().await.map_err(too_large)?;
        let text = || {
            String::from_utf8(data.to_vec())
                .map_err(|_| bad_request("The form data is not valid UTF-8"))
        };
        match name.as_str() {
            "file" => upload.bytes = data.to_vec(),
            "description" => upload.description = Some(text()?),
            "focus" => upload.focus = Some(text()?),
            // A custom thumbnail (Mastodon's, for video and audio) is not taken.
            _ => {}
        }
    }
    if upload.bytes.is_empty() {
        return Err(unprocessable("Validation failed: File can't be blank"));
    }
    if upload
        .description
        .as_deref()
        .is_some_and(|d| d.contains('\0'))
    {
        return Err(bad_request("Parameters must not contain NUL characters"));
    }
    Ok(upload)
}

async fn show(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:media")?;
    let m = kring.own_media(actor, id(&raw)?).await?;
    let base = ctx(&kring);
    Ok(Json(entities::media_attachment(Ctx::new(&base, &kring), &m)).into_response())
}

#[derive(Deserialize)]
struct UpdateParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    description: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    focus: Option<String>,
}

async fn update(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<UpdateParams>,
) -> ApiResult<Response> {
    let actor = auth.user("write:media")?;
    let m = kring
        .update_media(actor, id(&raw)?, p.description, p.focus)
        .await?;
    let base = ctx(&kring);
    Ok(Json(entities::media_attachment(Ctx::new(&base, &kring), &m)).into_response())
}

async fn remove(
    State(kring): State<Kring>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let actor = auth.user("write:media")?;
    kring.delete_media(actor, id(&raw)?).await?;
    Ok(Json(serde_json::json!({})).into_response())
}

/// What every served file carries: its sniffed type, never to be guessed again by the
/// browser, and a policy under which nothing in it can run even if opened as a page.
fn file_response(mime: &'static str, bytes: Vec<u8>, cache: &'static str) -> Response {
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A file opened on its own (the web's picture viewer is a plain link) is shown in the
    // browser's own page for it, which Chromium lays out with inline styles: allowed, as
    // styles only (the sandbox still runs nothing).
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; media-src 'self'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-site"),
    );
    res
}

/// One `bytes=FIRST-LAST` range of a file of `len` bytes (browsers ask for ranges to seek in
/// video and audio); None for anything else, which gets the whole file.
fn byte_range(header: Option<&str>, len: usize) -> Option<(usize, usize)> {
    let spec = header?.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let n: usize = suffix.parse().ok()?;
            (len.saturating_sub(n), len - 1)
        }
        (f, "") => (f.parse().ok()?, len - 1),
        (f, l) => (f.parse().ok()?, l.parse::<usize>().ok()?.min(len - 1)),
    };
    (first <= last && first < len).then_some((first, last))
}

/// A file, or the one byte range asked for (`206`), with `Accept-Ranges`.
fn ranged(
    mime: &'static str,
    bytes: Vec<u8>,
    headers: &axum::http::HeaderMap,
    cache: &'static str,
) -> Response {
    let len = bytes.len();
    let range = byte_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        len,
    );
    let mut res = match range {
        Some((first, last)) => {
            let mut res = file_response(mime, bytes[first..=last].to_vec(), cache);
            *res.status_mut() = StatusCode::PARTIAL_CONTENT;
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {first}-{last}/{len}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            res
        }
        None => file_response(mime, bytes, cache),
    };
    res.headers_mut()
        .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    res
}

async fn file(
    State(kring): State<Kring>,
    Path((dir, name)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> Response {
    match kring.media_file(&format!("{dir}/{name}")).await {
        // Keys are random and a file never changes under its key.
        Ok(f) => ranged(
            f.mime,
            f.bytes,
            &headers,
            "public, max-age=31536000, immutable",
        ),
        Err(e) => {
            if let Error::Internal(detail) = &e {
                tracing::error!(%detail, "media file");
            }
            crate::not_found()
        }
    }
}

async fn proxied(
    State(kring): State<Kring>,
    Path((raw, token)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> Response {
    let Ok(m) = raw.parse::<i64>() else {
        return crate::not_found();
    };
    match kring.proxied_media(Id(m), &token).await {
        Ok(f) => ranged(f.mime, f.bytes, &headers, "public, max-age=86400"),
        Err(Error::Unavailable(_)) => StatusCode::BAD_GATEWAY.into_response(),
        Err(e) => {
            if let Error::Internal(detail) = &e {
                tracing::error!(%detail, "media proxy");
            }
            crate::not_found()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_as_browsers_ask() {
        assert_eq!(byte_range(Some("bytes=0-3"), 10), Some((0, 3)));
        assert_eq!(byte_range(Some("bytes=4-"), 10), Some((4, 9)));
        assert_eq!(byte_range(Some("bytes=-3"), 10), Some((7, 9)));
        assert_eq!(byte_range(Some("bytes=5-100"), 10), Some((5, 9)));
        assert_eq!(byte_range(Some("bytes=10-12"), 10), None);
        assert_eq!(byte_range(Some("bytes=0-1,4-5"), 10), None);
        assert_eq!(byte_range(Some("items=0-1"), 10), None);
        assert_eq!(byte_range(None, 10), None);
    }
}
