//! Paging parameters and `Link` headers, as Mastodon: `max_id`/`since_id`/`min_id`/`limit`,
//! `Link: <…?max_id=…>; rel="next", <…?min_id=…>; rel="prev"`.
use axum::http::HeaderValue;
use axum::http::header::LINK;
use axum::response::{IntoResponse, Response};
use kring_core::Id;
use kring_core::model::Page;
use serde::Deserialize;

use crate::params::lenient;

#[derive(Debug, Deserialize, Default)]
pub struct PageParams {
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub max_id: Option<Id>,
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub since_id: Option<Id>,
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub min_id: Option<Id>,
    #[serde(default, deserialize_with = "lenient::count")]
    pub limit: Option<i64>,
}

impl PageParams {
    pub fn page(&self, default: usize, max: usize) -> Page {
        Page {
            max_id: self.max_id,
            since_id: self.since_id,
            min_id: self.min_id,
            limit: self
                .limit
                .map(|l| l.clamp(1, max as i64) as usize)
                .unwrap_or(default),
        }
    }
}

/// A JSON body with a Link header built from the page's first and last keys.
pub fn paged<T: serde::Serialize>(
    base: &str,
    path: &str,
    extra_query: &str,
    keys: &[Id],
    body: T,
) -> Response {
    with_link(
        axum::Json(body).into_response(),
        base,
        path,
        extra_query,
        keys,
    )
}

/// `res` with the Link header of a page whose first and last keys are `keys`'.
pub fn with_link(
    mut res: Response,
    base: &str,
    path: &str,
    extra_query: &str,
    keys: &[Id],
) -> Response {
    if let (Some(first), Some(last)) = (keys.first(), keys.last()) {
        let extra = if extra_query.is_empty() {
            String::new()
        } else {
            format!("&{extra_query}")
        };
        let link = format!(
            "<{base}{path}?max_id={last}{extra}>; rel=\"next\", <{base}{path}?min_id={first}{extra}>; rel=\"prev\""
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            res.headers_mut().insert(LINK, v);
        }
    }
    res
}
