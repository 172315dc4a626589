//! ActivityStreams 2.0 documents as Mastodon-compatible servers exchange them: building ours
//! from domain records, and reading theirs leniently (a field may be a string, an object with an
//! `id`, or an array of either).
use kring_core::Visibility;
use kring_core::model::{Account, Status};
use kring_core::time::rfc3339;
use serde_json::{Value, json};

pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
pub const CONTENT_TYPE: &str = "application/activity+json";

/// The JSON-LD context Mastodon sends (with the extensions Kring uses).
pub fn context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag",
            "toot": "http://joinmastodon.org/ns#",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "featured": { "@id": "toot:featured", "@type": "@id" },
            "alsoKnownAs": { "@id": "as:alsoKnownAs", "@type": "@id" },
            "movedTo": { "@id": "as:movedTo", "@type": "@id" },
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
            "conversation": "ostatus:conversation",
            "ostatus": "http://ostatus.org#",
            "kring": "https://kring.social/ns#",
            "kringVisibility": "kring:visibility",
            "kringChat": "kring:chat",
            "kringParticipants": { "@id": "kring:participants", "@type": "@id" },
            "kringManagers": "kring:managers",
            "kringVersion": "kring:version",
            "context": { "@id": "as:context", "@type": "@id" },
            // GoToSocial's interaction controls (https://gotosocial.org/ns), written out so
            // no reader has to fetch that document.
            "gts": "https://gotosocial.org/ns#",
            "interactionPolicy": { "@id": "gts:interactionPolicy", "@type": "@id" },
            "canLike": { "@id": "gts:canLike", "@type": "@id" },
            "canReply": { "@id": "gts:canReply", "@type": "@id" },
            "canAnnounce": { "@id": "gts:canAnnounce", "@type": "@id" },
            "automaticApproval": { "@id": "gts:automaticApproval", "@type": "@id" },
            "manualApproval": { "@id": "gts:manualApproval", "@type": "@id" },
            "always": { "@id": "gts:always", "@type": "@id" },
            "approvalRequired": { "@id": "gts:approvalRequired", "@type": "@id" },
            "approvedBy": { "@id": "gts:approvedBy", "@type": "@id" },
            "likeAuthorization": { "@id": "gts:likeAuthorization", "@type": "@id" },
            "replyAuthorization": { "@id": "gts:replyAuthorization", "@type": "@id" },
            "announceAuthorization": { "@id": "gts:announceAuthorization", "@type": "@id" },
            "interactingObject": { "@id": "gts:interactingObject", "@type": "@id" },
            "interactionTarget": { "@id": "gts:interactionTarget", "@type": "@id" },
            "LikeRequest": "gts:LikeRequest",
            "ReplyRequest": "gts:ReplyRequest",
            "AnnounceRequest": "gts:AnnounceRequest",
            "LikeAuthorization": "gts:LikeAuthorization",
            "ReplyAuthorization": "gts:ReplyAuthorization",
            "AnnounceAuthorization": "gts:AnnounceAuthorization",
            // Quote posts with consent (FEP-044f, as Mastodon 4.5 writes them), with the
            // older quote properties other software reads.
            "canQuote": { "@id": "gts:canQuote", "@type": "@id" },
            "quote": { "@id": "https://w3id.org/fep/044f#quote", "@type": "@id" },
            "quoteUri": "http://fedibird.com/ns#quoteUri",
            "_misskey_quote": "https://misskey-hub.net/ns#_misskey_quote",
            "quoteAuthorization": { "@id": "https://w3id.org/fep/044f#quoteAuthorization", "@type": "@id" },
            "QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest",
            "QuoteAuthorization": "https://w3id.org/fep/044f#QuoteAuthorization"
        }
    ])
}

/// One sub-policy of GoToSocial's `interactionPolicy` (`canReply`, …) as URIs: actors, the
/// author's followers or following collection, or as:Public.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WireRule {
    pub automatic: Vec<String>,
    pub manual: Vec<String>,
}

/// GoToSocial's `interactionPolicy`. A sub-policy that is absent (or `null`, or `{}`) means
/// anyone who may see the post, at once: what servers that know no policies assume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WirePolicy {
    pub can_like: Option<WireRule>,
    pub can_reply: Option<WireRule>,
    pub can_announce: Option<WireRule>,
    /// Mastodon's and GoToSocial's quote policy (FEP-044f).
    pub can_quote: Option<WireRule>,
}

/// The `interactionPolicy` of a post, written with both GoToSocial's current names
/// (`automaticApproval`, `manualApproval`) and the ones it used before v0.20 (`always`,
/// `approvalRequired`), which older servers read.
pub fn interaction_policy(p: &WirePolicy) -> Value {
    let rule = |r: &WireRule| {
        json!({
            "automaticApproval": r.automatic,
            "manualApproval": r.manual,
            "always": r.automatic,
            "approvalRequired": r.manual,
        })
    };
    let mut out = serde_json::Map::new();
    for (key, r) in [
        ("canLike", &p.can_like),
        ("canReply", &p.can_reply),
        ("canAnnounce", &p.can_announce),
        ("canQuote", &p.can_quote),
    ] {
        if let Some(r) = r {
            out.insert(key.into(), rule(r));
        }
    }
    Value::Object(out)
}

/// A received post's `interactionPolicy`; None when it has none (or it is `null` or `{}`):
/// the post's server knows no policies. The new names and the old ones are both read.
pub fn read_interaction_policy(note: &Value) -> Option<WirePolicy> {
    let p = note.get("interactionPolicy")?.as_object()?;
    if p.is_empty() {
        return None;
    }
    let rule = |key: &str| -> Option<WireRule> {
        let r = p.get(key)?.as_object()?;
        if r.is_empty() {
            return None;
        }
        let both = |new: &str, old: &str| {
            let mut v = ids(r.get(new));
            v.extend(ids(r.get(old)));
            v.sort();
            v.dedup();
            v
        };
        Some(WireRule {
            automatic: both("automaticApproval", "always"),
            manual: both("manualApproval", "approvalRequired"),
        })
    };
    Some(WirePolicy {
        can_like: rule("canLike"),
        can_reply: rule("canReply"),
        can_announce: rule("canAnnounce"),
        can_quote: rule("canQuote"),
    })
}

/// The post a received post quotes: FEP-044f's `quote`, or the older `quoteUrl` (Akkoma,
/// Pleroma), `quoteUri` (Fedibird) and `_misskey_quote` (Misskey). Only an http(s) id.
pub fn quote_of(note: &Value) -> Option<&str> {
    ["quote", "quoteUrl", "quoteUri", "_misskey_quote"]
        .into_iter()
        .filter_map(|k| note.get(k))
        .find_map(id_of)
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
}

/// Kring's term on a Note addressed to named accounts: `friends` (the author's friends among
/// them) or `circle`. Other software ignores it and sees a post for the named accounts.
pub const KRING_VISIBILITY: &str = "kringVisibility";

pub fn key_id(actor_uri: &str) -> String {
    format!("{actor_uri}#main-key")
}

/// A local account as a `Person` (or `Service` for bots, `Group` for groups).
pub fn person(base: &str, a: &Account, field_html: &dyn Fn(&str) -> String) -> Value {
    let uri = &a.uri;
    let mut doc = json!({
        "@context": context(),
        "id": uri,
        "type": if a.group { "Group" } else if a.bot { "Service" } else { "Person" },
        "preferredUsername": a.username,
        "name": a.display_name,
        "summary": a.note_html,
        "url": a.url,
        "inbox": format!("{uri}/inbox"),
        "outbox": format!("{uri}/outbox"),
        "followers": format!("{uri}/followers"),
        "following": format!("{uri}/following"),
        "featured": format!("{uri}/collections/featured"),
        "endpoints": { "sharedInbox": format!("{base}/inbox") },
        "manuallyApprovesFollowers": a.locked,
        "discoverable": a.discoverable,
        "indexable": a.indexable,
        "published": rfc3339(a.created_at),
        "alsoKnownAs": a.also_known_as,
        "publicKey": { "id": key_id(uri), "owner": uri, "publicKeyPem": a.public_key_pem },
        "attachment": a.fields.iter().map(|f| json!({
            "type": "PropertyValue", "name": f.name, "value": field_html(&f.value)
        })).collect::<Vec<_>>(),
        "tag": [],
    });
    if a.group {
        // FEP-1b12 / Lemmy: a group names its moderators in `attributedTo`, a collection.
        doc["attributedTo"] = json!(format!("{uri}/moderators"));
        doc["postingRestrictedToMods"] = json!(false);
    }
    if let Some(avatar) = &a.avatar_url {
        doc["icon"] = json!({ "type": "Image", "url": avatar });
    }
    if let Some(header) = &a.header_url {
        doc["image"] = json!({ "type": "Image", "url": header });
    }
    doc
}

/// Addressing for a visibility (Mastodon's): returns (to, cc).
pub fn addressing(
    visibility: Visibility,
    followers: &str,
    mentions: &[String],
) -> (Vec<String>, Vec<String>) {
    let m = mentions.to_vec();
    match visibility {
        Visibility::Public => (
            vec![PUBLIC.into()],
            [vec![followers.to_string()], m].concat(),
        ),
        Visibility::Unlisted => (
            vec![followers.to_string()],
            [vec![PUBLIC.to_string()], m].concat(),
        ),
        Visibility::Private => (vec![followers.to_string()], m),
        // Narrowed posts name their recipients; delivery rewrites `to` per server so each
        // sees only its own (`Recipients::Narrow`).
        Visibility::Friends | Visibility::Circle | Visibility::Group | Visibility::Direct => {
            (m, Vec::new())
        }
    }
}

/// What a Note needs besides the status itself.
pub struct NoteParts<'a> {
    pub author: &'a Account,
    pub mentions: &'a [Account],
    pub tags: &'a [String],
    pub in_reply_to: Option<String>,
    pub conversation: Option<String>,
    pub tag_url: &'a dyn Fn(&str) -> String,
}

pub fn note(s: &Status, p: &NoteParts<'_>) -> Value {
    let mention_uris: Vec<String> = p.mentions.iter().map(|a| a.uri.clone()).collect();
    let (to, cc) = addressing(s.visibility, &p.author.followers_url, &mention_uris);
    let mut tags: Vec<Value> = p
        .mentions
        .iter()
        .map(|a| json!({ "type": "Mention", "href": a.uri, "name": format!("@{}", a.acct_for_federation()) }))
        .collect();
    tags.extend(
        p.tags
            .iter()
            .map(|t| json!({ "type": "Hashtag", "href": (p.tag_url)(t), "name": format!("#{t}") })),
    );
    let mut note = json!({
        "id": s.uri,
        "type": "Note",
        "summary": if s.spoiler_text.is_empty() { Value::Null } else { json!(s.spoiler_text) },
        "inReplyTo": p.in_reply_to,
        "published": rfc3339(s.created_at),
        "url": s.url,
        "attributedTo": p.author.uri,
        "to": to,
        "cc": cc,
        "sensitive": s.sensitive,
        "content": s.content,
        "tag": tags,
        "attachment": [],
        // With their sizes, which other servers show as the post's counters (Mastodon reads
        // `totalItems` of all three).
        "replies": {
            "id": format!("{}/replies", s.uri),
            "type": "Collection",
            "totalItems": s.replies_count,
            "first": { "type": "CollectionPage", "next": format!("{}/replies?page=true", s.uri), "partOf": format!("{}/replies", s.uri), "items": [] }
        },
        "likes": { "id": format!("{}/likes", s.uri), "type": "Collection", "totalItems": s.favourites_count },
        "shares": { "id": format!("{}/shares", s.uri), "type": "Collection", "totalItems": s.reblogs_count },
    });
    if let Some(c) = &p.conversation {
        note["conversation"] = json!(c);
    }
    if let Some(lang) = &s.language {
        note["contentMap"] = json!({ lang: s.content });
    }
    if let Some(e) = s.edited_at {
        note["updated"] = json!(rfc3339(e));
    }
    if s.visibility.is_narrowed() {
        // Tells another Kring what the explicit addressing stands for, so it keeps a friends
        // post only while the friendship lasts and keeps replies inside (`KRING_VISIBILITY`).
        note[KRING_VISIBILITY] = json!(s.visibility.as_str());
    }
    note
}

/// Wrap an object in an activity with its own id, copying the object's addressing.
pub fn activity(kind: &str, id: &str, actor: &str, object: Value) -> Value {
    let to = object.get("to").cloned().unwrap_or(json!([]));
    let cc = object.get("cc").cloned().unwrap_or(json!([]));
    json!({ "@context": context(), "id": id, "type": kind, "actor": actor, "to": to, "cc": cc, "object": object })
}

/// An activity aimed at one actor (Follow, Accept, Block…).
pub fn direct_activity(kind: &str, id: &str, actor: &str, object: Value, to: &str) -> Value {
    json!({ "@context": context(), "id": id, "type": kind, "actor": actor, "to": [to], "object": object })
}

// --- reading ------------------------------------------------------------------------------

/// The id of a value that may be a string or an object with `id`.
pub fn id_of(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// Ids of a value that may be one id, one object, or an array of either.
pub fn ids(v: Option<&Value>) -> Vec<String> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().filter_map(id_of).map(str::to_string).collect(),
        Some(other) => id_of(other)
            .map(|s| vec![s.to_string()])
            .unwrap_or_default(),
    }
}

/// The `type` of a document (the first, when it is an array).
pub fn kind(v: &Value) -> &str {
    match v.get("type") {
        Some(Value::String(s)) => s,
        Some(Value::Array(a)) => a.first().and_then(Value::as_str).unwrap_or(""),
        _ => "",
    }
}

pub fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Whether an address means "public" (servers write it three ways).
pub fn is_public_address(s: &str) -> bool {
    s == PUBLIC || s == "as:Public" || s == "Public"
}

/// The host (with port) of a URL, lowercased.
pub fn host_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?.to_ascii_lowercase();
    Some(match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    })
}

trait AcctFed {
    fn acct_for_federation(&self) -> String;
}

impl AcctFed for Account {
    /// `user@domain` for everyone (local accounts included), as mention names on the wire.
    fn acct_for_federation(&self) -> String {
        match &self.domain {
            Some(d) => format!("{}@{}", self.username, d),
            None => host_of(&self.uri)
                .map(|h| format!("{}@{}", self.username, h))
                .unwrap_or_else(|| self.username.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addressing_by_visibility() {
        let (to, cc) = addressing(Visibility::Public, "F", &["M".into()]);
        assert_eq!(to, vec![PUBLIC]);
        assert_eq!(cc, vec!["F", "M"]);
        let (to, cc) = addressing(Visibility::Unlisted, "F", &[]);
        assert_eq!((to, cc), (vec!["F".to_string()], vec![PUBLIC.to_string()]));
        let (to, cc) = addressing(Visibility::Private, "F", &["M".into()]);
        assert_eq!((to, cc), (vec!["F".to_string()], vec!["M".to_string()]));
        let (to, cc) = addressing(Visibility::Direct, "F", &["M".into()]);
        assert_eq!((to, cc), (vec!["M".to_string()], vec![]));
    }

    #[test]
    fn interaction_policies_read_both_vocabularies() {
        let note = json!({"interactionPolicy": {
            "canReply": {"automaticApproval": ["A"], "manualApproval": PUBLIC},
            "canLike": {"always": PUBLIC, "approvalRequired": []},
            "canAnnounce": {},
        }});
        let p = read_interaction_policy(&note).unwrap();
        assert_eq!(
            p.can_reply,
            Some(WireRule {
                automatic: vec!["A".into()],
                manual: vec![PUBLIC.into()]
            })
        );
        assert_eq!(p.can_like.unwrap().automatic, vec![PUBLIC.to_string()]);
        assert_eq!(p.can_announce, None);
        assert_eq!(
            read_interaction_policy(&json!({"interactionPolicy": {}})),
            None
        );
        assert_eq!(read_interaction_policy(&json!({})), None);
        // Written with both vocabularies; what is written reads back the same.
        let out = interaction_policy(&WirePolicy {
            can_reply: Some(WireRule {
                automatic: vec!["A".into()],
                manual: vec![PUBLIC.into()],
            }),
            ..Default::default()
        });
        assert_eq!(out["canReply"]["always"], json!(["A"]));
        assert_eq!(out["canReply"]["manualApproval"], json!([PUBLIC]));
        assert!(out.get("canLike").is_none());
        let back = read_interaction_policy(&json!({ "interactionPolicy": out })).unwrap();
        assert_eq!(back.can_reply.unwrap().manual, vec![PUBLIC.to_string()]);
    }

    #[test]
    fn lenient_reading() {
        let v = json!({"to": ["a", {"id": "b"}], "cc": "c", "type": ["Note", "x"]});
        assert_eq!(ids(v.get("to")), vec!["a", "b"]);
        assert_eq!(ids(v.get("cc")), vec!["c"]);
        assert_eq!(kind(&v), "Note");
        assert_eq!(
            host_of("http://127.0.0.1:8080/users/a").as_deref(),
            Some("127.0.0.1:8080")
        );
    }
}
