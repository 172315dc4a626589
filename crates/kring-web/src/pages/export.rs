//! Settings → Export: ask for an archive of one's data, see how far it is (a plain page to
//! reload, no script), and download it while it is kept (docs/export-format.md).
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

use super::{NoFields, id, render, see};
use crate::Web;
use crate::error::WebResult;
use crate::session::{Posted, Viewer};
use crate::view::{Chrome, time_label};

pub struct ExportRow {
    pub id: String,
    pub state: String,
    pub progress: i64,
    pub created: String,
    pub created_iso: String,
    /// When the download stops working.
    pub until: String,
    pub until_iso: String,
    pub size: String,
}

#[derive(Template)]
#[template(path = "settings_export.html")]
struct ExportSettings {
    c: Chrome,
    section: &'static str,
    notice: Option<String>,
    error: Option<String>,
    export: Option<ExportRow>,
    /// No archive is being made: a new one may be asked for.
    can_request: bool,
}

fn size_label(bytes: i64) -> String {
    let mb = bytes as f64 / 1_048_576.0;
    if mb >= 1.0 {
        format!("{mb:.1} MB")
    } else {
        format!("{:.0} kB", (bytes as f64 / 1024.0).ceil())
    }
}

pub async fn page(State(web): State<Web>, v: Viewer) -> WebResult {
    let export = web.kring.current_export(&v.actor).await?;
    let c = web
        .chrome(Some(&v), "Export your data", "settings", "/settings/export")
        .await?;
    let export = export.map(|e| {
        let until =
            e.ready_at.unwrap_or(e.created_at) + kring_service::data::EXPORT_LIFETIME_MICROS;
        ExportRow {
            id: e.id.to_string(),
            state: e.state.clone(),
            progress: e.progress,
            created: time_label(e.created_at),
            created_iso: kring_core::time::rfc3339(e.created_at),
            until: time_label(until),
            until_iso: kring_core::time::rfc3339(until),
            size: size_label(e.size),
        }
    });
    let can_request = export.as_ref().is_none_or(|e| e.state != "running");
    render(&ExportSettings {
        can_request,
        c,
        section: "export",
        notice: None,
        error: None,
        export,
    })
}

pub async fn request(State(web): State<Web>, p: Posted<NoFields>) -> WebResult {
    web.kring.request_export(&p.viewer.actor).await?;
    see("/settings/export")
}

pub async fn download(State(web): State<Web>, v: Viewer, Path(raw): Path<String>) -> WebResult {
    let (name, size, file) = web.kring.export_download(&v.actor, id(&raw)?).await?;
    // Sent in chunks as read: an archive with many pictures may be large.
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        let mut buf = vec![0u8; 64 * 1024];
        match tokio::io::AsyncReadExt::read(&mut file, &mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let mut res = axum::body::Body::from_stream(chunks).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(d) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    Ok(res)
}
