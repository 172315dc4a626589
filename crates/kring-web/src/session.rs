//! Sessions and form protection. The session cookie holds an access token of the built-in web
//! app (`Kring::web_sign_in`); the service resolves it with `authenticate` on every request.
//! Every form carries a CSRF token, an HMAC of the session token under a server secret, and
//! every POST is checked against it and against `Origin`/`Sec-Fetch-Site` when the browser sends
//! them.
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kring_service::{Actor, Id};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::Web;
use crate::error::WebError;

/// How long a browser keeps the session cookie.
const SESSION_DAYS: i64 = 90;

pub struct Keys {
    secret: Vec<u8>,
}

impl Web {
    pub(crate) async fn keys(&self) -> Result<&Keys, WebError> {
        self.keys
            .get_or_try_init(|| async {
                let secret = self.kring.web_secret().await?;
                Ok::<_, kring_service::Error>(Keys {
                    secret: secret.into_bytes(),
                })
            })
            .await
            .map_err(WebError::from)
    }

    fn secure(&self) -> bool {
        self.kring.config.scheme == "https"
    }

    fn cookie_name(&self) -> &'static str {
        kring_service::sessions::session_cookie_name(self.secure())
    }

    /// `Set-Cookie` for a new session.
    pub fn session_cookie(&self, token: &str) -> HeaderValue {
        let secure = if self.secure() { "; Secure" } else { "" };
        let v = format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            self.cookie_name(),
            SESSION_DAYS * 86400
        );
        HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn clear_cookie(&self) -> HeaderValue {
        let secure = if self.secure() { "; Secure" } else { "" };
        let v = format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
            self.cookie_name()
        );
        HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    fn session_token(&self, headers: &HeaderMap) -> Option<String> {
        kring_service::sessions::cookie_value(
            headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok()),
            self.cookie_name(),
        )
    }

    /// The form token for a signed-in session.
    pub async fn csrf_for(&self, token: &str) -> Result<String, WebError> {
        let keys = self.keys().await?;
        Ok(URL_SAFE_NO_PAD.encode(hmac_sha256(
            &keys.secret,
            format!("csrf:{token}").as_bytes(),
        )))
    }

    /// The form token for signed-out forms (sign-in, sign-up): valid for the day it was
    /// issued and the next. It proves the form came from this server; the Origin and
    /// Sec-Fetch-Site checks keep other sites from posting it.
    pub async fn anon_csrf(&self, day_offset: i64) -> Result<String, WebError> {
        let keys = self.keys().await?;
        let day = chrono::Utc::now().timestamp() / 86400 - day_offset;
        Ok(URL_SAFE_NO_PAD.encode(hmac_sha256(&keys.secret, format!("anon:{day}").as_bytes())))
    }
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .into()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A signed-in person: the actor, the session token and the form token of this session.
pub struct Viewer {
    pub actor: Actor,
    pub token_id: Id,
    pub token: String,
    pub csrf: String,
}

/// A visitor who may or may not be signed in.
pub struct MaybeViewer(pub Option<Viewer>);

impl MaybeViewer {
    pub fn actor(&self) -> Option<&Actor> {
        self.0.as_ref().map(|v| &v.actor)
    }
}

/// Where to send someone who must sign in first, coming back to `parts`' page afterwards.
fn to_sign_in(parts: &Parts, web: &Web, clear: bool) -> Response {
    let next = if parts.method == axum::http::Method::GET {
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into())
    } else {
        "/home".into()
    };
    let target = format!(
        "/auth/sign_in?next={}",
        percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC)
    );
    let mut res = Redirect::to(&target).into_response();
    if clear {
        res.headers_mut()
            .insert(header::SET_COOKIE, web.clear_cookie());
    }
    res
}

/// The session's viewer: None without a cookie; Err(()) when the cookie no longer works.
async fn resolve(parts: &Parts, web: &Web) -> Result<Option<Viewer>, ()> {
    viewer_for(&parts.headers, web).await
}

/// The viewer a request's headers (its session cookie) sign in, as [`resolve`].
pub async fn viewer_for(headers: &HeaderMap, web: &Web) -> Result<Option<Viewer>, ()> {
    let Some(token) = web.session_token(headers) else {
        return Ok(None);
    };
    let grant = match web.kring.authenticate(&token).await {
        Ok(g) => g,
        Err(_) => return Err(()),
    };
    let Some(actor) = grant.actor else {
        return Err(());
    };
    let csrf = web.csrf_for(&token).await.map_err(|_| ())?;
    Ok(Some(Viewer {
        actor,
        token_id: grant.token.id,
        token,
        csrf,
    }))
}

impl FromRequestParts<Web> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Self::Rejection> {
        match resolve(parts, web).await {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(to_sign_in(parts, web, false)),
            Err(()) => Err(to_sign_in(parts, web, true)),
        }
    }
}

impl FromRequestParts<Web> for MaybeViewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Self::Rejection> {
        match resolve(parts, web).await {
            Ok(v) => Ok(MaybeViewer(v)),
            // A dead session: carry on signed out, and drop the cookie.
            Err(()) => {
                let mut res = Redirect::to(
                    parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str())
                        .unwrap_or("/"),
                )
                .into_response();
                res.headers_mut()
                    .insert(header::SET_COOKIE, web.clear_cookie());
                Err(res)
            }
        }
    }
}

/// Refuse cross-site posts: browsers send `Sec-Fetch-Site` and `Origin` with form posts.
fn check_origin(parts: &Parts, web: &Web) -> Result<(), WebError> {
    if let Some(site) = parts
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        && site != "same-origin"
        && site != "none"
    {
        return Err(forbidden("This form was sent from another site."));
    }
    if let Some(origin) = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !kring_service::sessions::is_own_origin(&web.kring.config.base_url(), origin, host) {
            return Err(forbidden("This form was sent from another site."));
        }
    }
    Ok(())
}

fn forbidden(msg: &str) -> WebError {
    WebError::status(StatusCode::FORBIDDEN, msg)
}

fn expired() -> Response {
    WebError::status(
        StatusCode::FORBIDDEN,
        "This form has expired. Go back, reload the page and try again.",
    )
    .into_response()
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

async fn body_bytes(req: Request) -> Result<axum::body::Bytes, Response> {
    axum::body::to_bytes(req.into_body(), crate::MAX_FORM)
        .await
        .map_err(|_| {
            WebError::status(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.")
                .into_response()
        })
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WebError> {
    serde_urlencoded::from_bytes(bytes).map_err(|e| {
        WebError::status(
            StatusCode::BAD_REQUEST,
            &format!("The form is invalid: {e}"),
        )
    })
}

/// Did the script ask for a JSON answer (in-place actions) rather than a redirect?
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("application/json"))
}

/// A form posted by a signed-in person, with its CSRF token checked.
pub struct Posted<T> {
    pub viewer: Viewer,
    pub form: T,
    pub json: bool,
}

/// Who posts a signed-in form: from this site (origin checked), signed in, and within their
/// allowance of writes (every signed-in form writes). Shared by the plain and the multipart forms.
async fn signed_in_writer(parts: &mut Parts, web: &Web) -> Result<Viewer, Response> {
    check_origin(parts, web).map_err(IntoResponse::into_response)?;
    let viewer = Viewer::from_request_parts(parts, web).await?;
    web.kring
        .limits
        .write(viewer.actor.id())
        .map_err(|e| WebError::from(e).into_response())?;
    Ok(viewer)
}

impl<T: DeserializeOwned + Send> FromRequest<Web> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, web: &Web) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let viewer = signed_in_writer(&mut parts, web).await?;
        let json = wants_json(&parts.headers);
        let bytes = body_bytes(Request::from_parts(parts, body)).await?;
        let field: CsrfField = parse(&bytes).map_err(IntoResponse::into_response)?;
        if !constant_time_eq(field.csrf.as_bytes(), viewer.csrf.as_bytes()) {
            return Err(expired());
        }
        let form = parse(&bytes).map_err(IntoResponse::into_response)?;
        Ok(Posted { viewer, form, json })
    }
}

/// A form with files (`enctype="multipart/form-data"`) posted by a signed-in person, with its
/// CSRF token checked: its text fields and the files chosen in its `file` inputs. A place
/// among the uploads in flight is taken before the body is read (as the API's uploads do), and
/// the body may be as large as the largest upload (all its files together).
pub struct PostedFile {
    pub viewer: Viewer,
    pub fields: Vec<(String, String)>,
    /// Every `file` part in the form's order, an input left empty as an empty file (so the
    /// n-th file goes with the n-th description of a form that pairs them).
    pub files: Vec<Vec<u8>>,
    /// The pictures of a profile form (`avatar`, `header`), by name.
    pub pictures: Vec<(String, Vec<u8>)>,
    /// A place among the uploads in flight (none for a form sent without files, as a plain
    /// `application/x-www-form-urlencoded` form: a script's, or an older page's).
    pub slot: Option<kring_service::media::upload::UploadSlot>,
}

/// File parts other than `file` a form may send: a profile's pictures.
const PICTURE_PARTS: [&str; 2] = ["avatar", "header"];

impl PostedFile {
    /// A picture part's bytes (None when the input was left empty).
    pub fn take_picture(&mut self, name: &str) -> Option<Vec<u8>> {
        let i = self.pictures.iter().position(|(n, _)| n == name)?;
        Some(self.pictures.remove(i).1)
    }

    /// A text field's value ("" when absent).
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of a text field, in the form's order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The text fields read as the same form sent without files would be.
    pub fn form<T: DeserializeOwned>(&self) -> Result<T, WebError> {
        let encoded = serde_urlencoded::to_string(&self.fields)
            .map_err(|_| WebError::status(StatusCode::BAD_REQUEST, "The form is invalid."))?;
        parse(encoded.as_bytes())
    }

    /// The first file chosen, if any (a form with one file input).
    pub fn take_file(&mut self) -> Option<Vec<u8>> {
        let at = self.files.iter().position(|f| !f.is_empty())?;
        Some(self.files.swap_remove(at))
    }
}

/// Text fields one multipart form may have, at most.
const MAX_FILE_FORM_FIELDS: usize = 64;
/// File inputs one multipart form may have, at most (as many as a post's attachments may be).
const MAX_FILE_FORM_FILES: usize = 20;

impl FromRequest<Web> for PostedFile {
    type Rejection = Response;

    async fn from_request(req: Request, web: &Web) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let viewer = signed_in_writer(&mut parts, web).await?;
        let bad = |msg: &str| WebError::status(StatusCode::BAD_REQUEST, msg).into_response();
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let bytes = body_bytes(Request::from_parts(parts, body)).await?;
            let fields: Vec<(String, String)> =
                parse(&bytes).map_err(IntoResponse::into_response)?;
            let csrf = fields
                .iter()
                .find(|(n, _)| n == "_csrf")
                .map_or("", |(_, v)| v.as_str());
            if !constant_time_eq(csrf.as_bytes(), viewer.csrf.as_bytes()) {
                return Err(expired());
            }
            return Ok(PostedFile {
                viewer,
                fields,
                files: Vec::new(),
                pictures: Vec::new(),
                slot: None,
            });
        }
        let boundary = multer::parse_boundary(&content_type)
            .map_err(|_| bad("The form is not a multipart form."))?;
        // Room for the form's bytes before they are read (the whole form: its files are
        // stored one after another under it).
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let slot = Some(
            web.kring
                .upload_slot(declared)
                .await
                .map_err(|e| WebError::from(e).into_response())?,
        );
        let limit = web.kring.config.media.max_upload() + crate::MAX_FORM;
        let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
            WebError::status(StatusCode::PAYLOAD_TOO_LARGE, "The file is too large.")
                .into_response()
        })?;
        let stream = futures_util::stream::once(async move {
            Ok::<axum::body::Bytes, std::convert::Infallible>(bytes)
        });
        let mut multipart = multer::Multipart::new(stream, boundary);
        let mut fields = Vec::new();
        let mut files = Vec::new();
        let mut pictures = Vec::new();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(_) => return Err(bad("The form is invalid.")),
            };
            let name = field.name().unwrap_or("").to_string();
            let is_file = field.file_name().is_some();
            let data = field
                .bytes()
                .await
                .map_err(|_| bad("The form is invalid."))?;
            if is_file {
                // A file input left empty still sends its (empty) part: kept in its place.
                if name == "file" {
                    if files.len() >= MAX_FILE_FORM_FILES {
                        return Err(bad("The form has too many files."));
                    }
                    files.push(data.to_vec());
                } else if PICTURE_PARTS.contains(&name.as_str())
                    && !data.is_empty()
                    && !pictures.iter().any(|(n, _)| n == &name)
                {
                    pictures.push((name, data.to_vec()));
                }
                continue;
            }
            if fields.len() >= MAX_FILE_FORM_FIELDS || data.len() > crate::MAX_FORM {
                return Err(WebError::status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The form is too large.",
                )
                .into_response());
            }
            let value = String::from_utf8(data.to_vec())
                .map_err(|_| bad("The form is invalid."))?
                .replace('\0', "");
            fields.push((name, value));
        }
        let csrf = fields
            .iter()
            .find(|(n, _)| n == "_csrf")
            .map_or("", |(_, v)| v.as_str());
        if !constant_time_eq(csrf.as_bytes(), viewer.csrf.as_bytes()) {
            return Err(expired());
        }
        Ok(PostedFile {
            viewer,
            fields,
            files,
            pictures,
            slot,
        })
    }
}

/// A form posted while signed out (sign-in, sign-up).
pub struct AnonPosted<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<Web> for AnonPosted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, web: &Web) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        check_origin(&parts, web).map_err(IntoResponse::into_response)?;
        let bytes = body_bytes(Request::from_parts(parts, body)).await?;
        let field: CsrfField = parse(&bytes).map_err(IntoResponse::into_response)?;
        let mut ok = false;
        for offset in [0, 1] {
            let expected = web.anon_csrf(offset).await.map_err(|e| e.into_response())?;
            ok |= constant_time_eq(field.csrf.as_bytes(), expected.as_bytes());
        }
        if !ok {
            return Err(expired());
        }
        Ok(AnonPosted(
            parse(&bytes).map_err(IntoResponse::into_response)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc4231() {
        // Test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6 (a key longer than the block).
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
