// SPDX-License-Identifier: AGPL-3.0-or-later
//! Validation of API responses against Mastodon's OpenAPI document
//! (`tests/fixtures/mastodon-openapi.json`, in the repository).
//!
//! The trick: copy the document's `components`, add a top-level `"$ref":
//! "#/components/schemas/<Name>"`, and compile that as a JSON Schema draft 2020-12 (OpenAPI 3.1
//! schemas are 2020-12; OpenAPI-only keywords such as `example` are ignored). Formats
//! (`date-time`, `uri`, `email`, …) are checked too; unknown ones (`iso-639-1`, `html`) are not.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Draft, Validator};
use serde_json::{Value, json};

const SPEC_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/mastodon-openapi.json"
);

/// Places where the published schema is stricter than Mastodon itself. Each entry removes one
/// keyword at one JSON pointer (inside `components/schemas`), with the reason.
const RELAXED: &[(&str, &str, &str)] = &[
    // Mastodon answers `""` when no contact address is set (its default for
    // `site_contact_email`), which is not an `email`.
    (
        "/schemas/Instance/properties/contact/properties/email",
        "format",
        "Mastodon sends an empty string when no contact email is configured",
    ),
    (
        "/schemas/V1Instance/properties/email",
        "format",
        "Mastodon sends an empty string when no contact email is configured",
    ),
    // Quote and ShallowQuote both allow any other property and share `state`, so a quote
    // with `state` and `quoted_status` matches both and fails `oneOf` (Mastodon's own answers
    // too): it must match at least one.
    (
        "/schemas/Status/properties/quote",
        "oneOf=anyOf",
        "Quote and ShallowQuote overlap, so oneOf rejects every quote",
    ),
];

fn components() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(SPEC_PATH)
            .unwrap_or_else(|e| panic!("cannot read the OpenAPI document at {SPEC_PATH}: {e}"));
        let doc: Value = serde_json::from_str(&text).expect("the OpenAPI document is JSON");
        let mut components = doc["components"].clone();
        for (pointer, keyword, _why) in RELAXED {
            let node = components
                .pointer_mut(pointer)
                .unwrap_or_else(|| panic!("relaxed pointer {pointer} not in the document"));
            relax(node, keyword);
        }
        components
    })
}

/// Remove `keyword` from a schema node; `required:<name>` removes one required property;
/// `oneOf=anyOf` asks for one match or more instead of exactly one.
fn relax(node: &mut Value, keyword: &str) {
    if keyword == "oneOf=anyOf" {
        if let Some(obj) = node.as_object_mut()
            && let Some(v) = obj.remove("oneOf")
        {
            obj.insert("anyOf".into(), v);
        }
    } else if let Some(prop) = keyword.strip_prefix("required:") {
        if let Some(req) = node.get_mut("required").and_then(Value::as_array_mut) {
            req.retain(|r| r != prop);
        }
    } else if let Some(obj) = node.as_object_mut() {
        obj.remove(keyword);
    }
}

fn validator(name: &str) -> Arc<Validator> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(v) = cache.lock().unwrap().get(name) {
        return v.clone();
    }
    assert!(
        components()["schemas"].get(name).is_some(),
        "no schema named {name} in the OpenAPI document"
    );
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": components(),
    });
    let v = Arc::new(
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .should_ignore_unknown_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}")),
    );
    cache.lock().unwrap().insert(name.to_string(), v.clone());
    v
}

/// Errors of `value` against schema `name` (empty when valid).
pub fn errors(name: &str, value: &Value) -> Vec<String> {
    validator(name)
        .iter_errors(value)
        .map(|e| {
            format!(
                "at {}: {} (schema {})",
                e.instance_path(),
                e,
                e.schema_path()
            )
        })
        .collect()
}

/// Panic unless `value` is a valid `name`.
#[track_caller]
pub fn assert_valid(name: &str, value: &Value) {
    let errs = errors(name, value);
    assert!(
        errs.is_empty(),
        "response is not a valid {name}:\n  {}\nvalue: {}",
        errs.join("\n  "),
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Panic unless `value` is an array of valid `name`s.
#[track_caller]
pub fn assert_valid_each(name: &str, value: &Value) {
    let items = value
        .as_array()
        .unwrap_or_else(|| panic!("expected an array of {name}, got {value}"));
    for item in items {
        assert_valid(name, item);
    }
}
