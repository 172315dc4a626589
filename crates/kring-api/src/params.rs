//! Request parameters the way Mastodon (Rails) reads them: query string and body merged, the
//! body as JSON, as a urlencoded form or as `multipart/form-data` (what masto.js, and so Elk
//! and Phanpy, send), forms with Rails' bracket syntax (`types[]=a&types[]=b`,
//! `fields_attributes[0][name]=x`). No crate parses that bracket syntax into one tree together
//! with JSON, so this small parser does; both form encodings become the same (key, value) pairs
//! before it, so they are validated identically. Typed structs then deserialise from the tree
//! with the lenient helpers below (forms carry "1"/"true" where JSON carries true).
use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{ApiError, bad_request, unprocessable};

/// Query + body parameters, deserialised into `T`.
pub struct Params<T>(pub T);

/// Query parameters only (for GET/DELETE), with the same bracket syntax.
pub struct Query<T>(pub T);

/// Query + body parameters like [`Params`], and the file parts of a multipart body whose
/// names are among `FILE_PARTS` (a profile's `avatar` and `header`, an import's `data`); other file parts are
/// still refused.
pub struct ParamsWithFiles<T>(pub T, pub Files);

/// File parts by name (their file names and claimed types are not kept: the bytes decide).
#[derive(Default)]
pub struct Files(Vec<(String, Bytes)>);

impl Files {
    pub fn take(&mut self, name: &str) -> Option<Vec<u8>> {
        let i = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.remove(i).1.to_vec())
    }
}

const FILE_PARTS: &[&str] = &["avatar", "header", "data"];

const MAX_DEPTH: usize = 8;

/// The most parameters (form fields or multipart parts) one request may carry. The largest
/// real requests (list members, poll options, profile fields) carry a few dozen; the body limit
/// alone would still allow tens of thousands of tiny fields.
pub const MAX_FIELDS: usize = 1000;

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let tree = read_tree(req, state, None).await?;
        from_tree(tree).map(Params)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ParamsWithFiles<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut files = Files::default();
        let tree = read_tree(req, state, Some(&mut files)).await?;
        from_tree(tree).map(|t| ParamsWithFiles(t, files))
    }
}

/// The parameter tree of a request: its query merged with its body. `files`: where file
/// parts named in `FILE_PARTS` go (None: every file part is refused).
async fn read_tree<S: Send + Sync>(
    req: Request,
    state: &S,
    files: Option<&mut Files>,
) -> Result<Value, ApiError> {
    {
        let mut tree = Value::Object(parse_form(req.uri().query().unwrap_or(""))?);
        let raw_content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let content_type = raw_content_type.to_ascii_lowercase();
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError(kring_core::Error::PayloadTooLarge)
            } else {
                bad_request(e.body_text())
            }
        })?;
        if !body.is_empty() {
            let parsed = if content_type.starts_with("application/json")
                || (content_type.is_empty() && body.first() == Some(&b'{'))
            {
                let v: Value = serde_json::from_slice(&body)
                    .map_err(|e| bad_request(format!("Invalid JSON: {e}")))?;
                if !v.is_object() {
                    return Err(unprocessable("The request body must be a JSON object"));
                }
                if depth(&v) > MAX_DEPTH * 2 {
                    return Err(unprocessable("The request body is nested too deeply"));
                }
                v
            } else if content_type.starts_with("application/x-www-form-urlencoded")
                || content_type.is_empty()
            {
                let text = std::str::from_utf8(&body)
                    .map_err(|_| bad_request("The form data is not valid UTF-8"))?;
                Value::Object(parse_form(text)?)
            } else if content_type.starts_with("multipart/form-data") {
                Value::Object(parse_multipart(&raw_content_type, body, files).await?)
            } else {
                return Err(ApiError(kring_core::Error::BadRequest(format!(
                    "Unsupported content type: {content_type}"
                ))));
            };
            merge(&mut tree, parsed);
        }
        Ok(tree)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let tree = Value::Object(parse_form(parts.uri.query().unwrap_or(""))?);
        from_tree(tree).map(Query)
    }
}

/// Read a `multipart/form-data` body (already in memory, so bounded by the body limit) into
/// the same tree a urlencoded body with the same fields gives. No endpoint here takes a file
/// yet, so a file part is refused rather than silently dropped; an empty file part (a form's
/// file input left blank, which browsers still send) is skipped, as Rails does.
async fn parse_multipart(
    content_type: &str,
    body: Bytes,
    mut files: Option<&mut Files>,
) -> Result<Map<String, Value>, ApiError> {
    // The body is in memory already, within the route's limit.
    let whole = body.len() as u64 + 1;
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| bad_request("The multipart body has no valid boundary"))?;
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(whole));
    let stream =
        futures_util::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut pairs: Vec<(String, String)> = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e)),
        };
        if pairs.len() >= MAX_FIELDS {
            return Err(too_many_fields());
        }
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let data = field.bytes().await.map_err(multipart_error)?;
        if let Some(file_name) = file_name {
            if file_name.is_empty() && data.is_empty() {
                continue;
            }
            if let Some(f) = files.as_deref_mut()
                && FILE_PARTS.contains(&name.as_str())
            {
                f.0.push((name, data));
                continue;
            }
            let shown: String = name.chars().take(64).collect();
            return Err(unprocessable(format!(
                "File uploads are not accepted here (part `{shown}`)"
            )));
        }
        let value = String::from_utf8(data.to_vec())
            .map_err(|_| bad_request("The form data is not valid UTF-8"))?;
        pairs.push((name, value));
    }
    parse_pairs(pairs)
}

fn multipart_error(e: multer::Error) -> ApiError {
    match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            ApiError(kring_core::Error::PayloadTooLarge)
        }
        e => bad_request(format!("Invalid multipart body: {e}")),
    }
}

fn too_many_fields() -> ApiError {
    ApiError(kring_core::Error::PayloadTooLarge)
}

fn from_tree<T: DeserializeOwned>(tree: Value) -> Result<T, ApiError> {
    // PostgreSQL text cannot hold NUL, and no parameter has a use for it.
    if has_nul(&tree) {
        return Err(bad_request("Parameters must not contain NUL characters"));
    }
    serde_json::from_value(tree).map_err(|e| unprocessable(format!("Invalid parameters: {e}")))
}

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, from) {
        for (k, v) in b {
            a.insert(k, v);
        }
    }
}

/// Parse `a=1&b[]=2&c[x][y]=3` into a JSON tree of strings.
pub fn parse_form(input: &str) -> Result<Map<String, Value>, ApiError> {
    parse_pairs(form_urlencoded::parse(input.as_bytes()))
}

/// Build the tree from (key, value) pairs with Rails' bracket keys, in order.
fn parse_pairs<'a>(
    pairs: impl IntoIterator<Item = (impl Into<Cow<'a, str>>, impl Into<String>)>,
) -> Result<Map<String, Value>, ApiError> {
    let mut root = Value::Object(Map::new());
    for (count, (key, value)) in pairs.into_iter().enumerate() {
        if count >= MAX_FIELDS {
            return Err(too_many_fields());
        }
        let key: Cow<'a, str> = key.into();
        let mut path: Vec<&str> = Vec::new();
        let (head, mut rest) = match key.find('[') {
            Some(i) => (&key[..i], &key[i..]),
            None => (&key[..], ""),
        };
        if head.is_empty() {
            continue;
        }
        path.push(head);
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            path.push(&stripped[..end]);
            rest = &stripped[end + 1..];
        }
        if path.len() > MAX_DEPTH {
            return Err(unprocessable("Parameters are nested too deeply"));
        }
        insert(&mut root, &path, Value::String(value.into()));
    }
    match root {
        Value::Object(m) => Ok(m),
        _ => Ok(Map::new()),
    }
}

fn insert(node: &mut Value, path: &[&str], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return;
    };
    if first.is_empty() {
        // `key[]`: append to an array.
        if !node.is_array() {
            *node = Value::Array(Vec::new());
        }
        if let Value::Array(a) = node {
            if rest.is_empty() {
                a.push(value);
            } else {
                let mut child = Value::Object(Map::new());
                insert(&mut child, rest, value);
                a.push(child);
            }
        }
        return;
    }
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    if let Value::Object(m) = node {
        let child = m.entry(first.to_string()).or_insert(Value::Null);
        if rest.is_empty() {
            *child = value;
        } else {
            insert(child, rest, value);
        }
    }
}

/// Deserialisers that accept both JSON values and their form-encoded strings.
pub mod lenient {
    use kring_core::Id;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    fn to_bool(v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => Some(n.as_i64() != Some(0)),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "1" | "true" | "on" | "yes" | "t" => Some(true),
                "0" | "false" | "off" | "no" | "f" | "" => Some(false),
                _ => None,
            },
            Value::Null => None,
            _ => None,
        }
    }

    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        let v = Option::<Value>::deserialize(d)?;
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(v) => to_bool(&v)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("expected a boolean")),
        }
    }

    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("expected an integer")),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| serde::de::Error::custom("expected an integer")),
            Some(_) => Err(serde::de::Error::custom("expected an integer")),
        }
    }

    /// A count such as `limit` or `offset`, read as Rails' `to_i` would rather than refused:
    /// what is not a number (`abc`, `limit[]=1`) counts as absent, so the endpoint's default
    /// applies; a number too large for 64 bits saturates, and the endpoint then clamps it.
    pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .or(Some(i64::MAX)),
            Some(Value::String(s)) => {
                let s = s.trim();
                let (negative, digits) = match s.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, s.strip_prefix('+').unwrap_or(s)),
                };
                let digits: &str = &digits[..digits
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(digits.len())];
                if digits.is_empty() {
                    None
                } else {
                    let n = digits.parse::<i64>().unwrap_or(i64::MAX);
                    Some(if negative { -n } else { n })
                }
            }
            _ => None,
        })
    }

    pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Id>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(|i| Some(Id(i)))
                .ok_or_else(|| serde::de::Error::custom("expected an id")),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| serde::de::Error::custom("expected an id")),
            Some(_) => Err(serde::de::Error::custom("expected an id")),
        }
    }

    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(serde::de::Error::custom("expected a string")),
        }
    }

    /// A list given as an array, an object with numeric keys (`a[0]=x`), or one value.
    pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let v = Option::<Value>::deserialize(d)?;
        let items: Vec<Value> = match v {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a,
            Some(Value::Object(o)) => o.into_iter().map(|(_, v)| v).collect(),
            Some(other) => vec![other],
        };
        items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(serde::de::Error::custom("expected a list of strings")),
            })
            .collect()
    }

    pub fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Id>, D::Error> {
        strings(d)?
            .into_iter()
            .map(|s| {
                s.trim()
                    .parse::<Id>()
                    .map_err(|_| serde::de::Error::custom("expected a list of ids"))
            })
            .collect()
    }

    /// A list of objects given as an array or as an object keyed by index (Rails forms).
    pub fn objects<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<serde_json::Map<String, Value>>>, D::Error> {
        let v = Option::<Value>::deserialize(d)?;
        let items: Vec<Value> = match v {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Array(a)) => a,
            Some(Value::Object(o)) => {
                let mut entries: Vec<(String, Value)> = o.into_iter().collect();
                entries.sort_by_key(|(k, _)| k.parse::<i64>().unwrap_or(i64::MAX));
                entries.into_iter().map(|(_, v)| v).collect()
            }
            Some(_) => return Err(serde::de::Error::custom("expected a list")),
        };
        items
            .into_iter()
            .map(|v| match v {
                Value::Object(o) => Ok(o),
                _ => Err(serde::de::Error::custom("expected a list of objects")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    pub fn value_bool(v: Option<&Value>) -> Option<bool> {
        v.and_then(to_bool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rails_brackets() {
        let m = parse_form("a=1&t[]=x&t[]=y&f[0][name]=n&f[0][value]=v&f[1][name]=m").unwrap();
        assert_eq!(m["a"], "1");
        assert_eq!(m["t"], serde_json::json!(["x", "y"]));
        assert_eq!(m["f"]["0"]["name"], "n");
        assert_eq!(m["f"]["1"]["name"], "m");
    }

    #[test]
    fn too_deep_is_an_error() {
        assert!(parse_form("a[b][c][d][e][f][g][h][i][j]=1").is_err());
    }

    #[test]
    fn too_many_fields_is_an_error() {
        let at_limit = vec!["a[]=1"; MAX_FIELDS].join("&");
        assert_eq!(
            parse_form(&at_limit).unwrap()["a"].as_array().map(Vec::len),
            Some(MAX_FIELDS)
        );
        assert!(parse_form(&format!("{at_limit}&b=2")).is_err());
    }

    fn multipart_body(fields: &[(&str, &str)]) -> Bytes {
        let mut body = String::new();
        for (k, v) in fields {
            body.push_str(&format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
            ));
        }
        body.push_str("--XyZ--\r\n");
        Bytes::from(body)
    }

    #[test]
    fn counts_read_like_rails_to_i() {
        #[derive(serde::Deserialize)]
        struct Q {
            #[serde(default, deserialize_with = "lenient::count")]
            limit: Option<i64>,
        }
        let read = |q: &str| from_tree::<Q>(Value::Object(parse_form(q).unwrap())).map(|q| q.limit);
        assert_eq!(read("limit=abc").unwrap(), None);
        assert_eq!(read("limit=").unwrap(), None);
        assert_eq!(read("limit[]=1").unwrap(), None);
        assert_eq!(read("limit[x]=1").unwrap(), None);
        assert_eq!(read("limit=12abc").unwrap(), Some(12));
        assert_eq!(read("limit=-3").unwrap(), Some(-3));
        assert_eq!(
            read("limit=99999999999999999999999").unwrap(),
            Some(i64::MAX)
        );
        assert_eq!(read("").unwrap(), None);
    }

    #[tokio::test]
    async fn multipart_gives_the_urlencoded_tree() {
        let fields = [
            ("a", "1"),
            ("t[]", "x"),
            ("t[]", "y"),
            ("f[0][name]", "n"),
            ("f[0][value]", "v w"),
            ("f[1][name]", "m&=?"),
            ("source[privacy]", "private"),
        ];
        let form: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let from_multipart = parse_multipart(
            "multipart/form-data; boundary=XyZ",
            multipart_body(&fields),
            None,
        )
        .await
        .unwrap();
        assert_eq!(from_multipart, parse_form(&form).unwrap());
        assert_eq!(from_multipart["source"]["privacy"], "private");
    }
}
