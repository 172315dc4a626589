//! Request parameters the way Mastodon (Rails) reads them: query string and body merged, the
//! body as JSON or as a form with Rails' bracket syntax (`types[]=a&types[]=b`,
//! `fields_attributes[0][name]=x`). No crate parses that bracket syntax into one tree together
//! with JSON, so this small parser does; typed structs then deserialise from the tree with the
//! lenient helpers below (forms carry "1"/"true" where JSON carries true).
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

const MAX_DEPTH: usize = 8;

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut tree = Value::Object(parse_form(req.uri().query().unwrap_or(""))?);
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
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
            } else {
                return Err(ApiError(kring_core::Error::BadRequest(format!(
                    "Unsupported content type: {content_type}"
                ))));
            };
            merge(&mut tree, parsed);
        }
        from_tree(tree).map(Params)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let tree = Value::Object(parse_form(parts.uri.query().unwrap_or(""))?);
        from_tree(tree).map(Query)
    }
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
    let mut root = Value::Object(Map::new());
    for (key, value) in form_urlencoded::parse(input.as_bytes()) {
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
        insert(&mut root, &path, Value::String(value.into_owned()));
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
}
