//! Turning a post's plain text into safe HTML, and sanitising remote HTML.
//!
//! The output follows Mastodon 4.x (`TextFormatter`, `Sanitize::Config::MASTODON_STRICT`,
//! `PlainTextFormatter`) so that clients written for Mastodon render Kring's posts the same way.
//!
//! * [`parse`] finds mentions, hashtags and links in plain text.
//! * [`render`] turns a local post's plain text into HTML.
//! * [`sanitize_remote_html`] cleans HTML received from another server.
//! * [`html_to_text`] turns HTML back into plain text.
//! * [`normalize_tag`] gives the stored/looked-up form of a hashtag name.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use linkify::{LinkFinder, LinkKind};
use regex::Regex;

/// A mention found in plain text: `@alice` (domain None) or `@alice@example.org`.
///
/// Both parts are kept as written; usernames and domains compare case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MentionRef {
    pub username: String,
    pub domain: Option<String>,
}

/// What a mention resolved to, so it can be linked.
#[derive(Debug, Clone)]
pub struct MentionLink {
    /// The account's profile URL (the link target).
    pub url: String,
    /// The short name shown after `@`.
    pub username: String,
}

/// Entities found in plain text, in order of appearance, de-duplicated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// De-duplicated case-insensitively; the first spelling wins.
    pub mentions: Vec<MentionRef>,
    /// Without `#`, as written; de-duplicated by [`normalize_tag`]; the first spelling wins.
    pub tags: Vec<String>,
    /// http(s) URLs, exactly as found.
    pub links: Vec<String>,
}

/// Maximum length of a hashtag name, in characters.
pub const MAX_TAG_CHARS: usize = 100;

/// Number of characters of a link (after `https://` / `https://www.`) shown before it is cut.
const LINK_DISPLAY_CHARS: usize = 30;

/// `rel` of links made by [`render`].
const LOCAL_LINK_REL: &str = "nofollow noopener";

/// `rel` forced on every link kept by [`sanitize_remote_html`].
const REMOTE_LINK_REL: &str = "nofollow noopener noreferrer";

/// URL schemes a remote link may use (Mastodon's `LINK_PROTOCOLS`).
/// Only web links: every other scheme (`javascript:`, `data:`, but also Mastodon's `xmpp:`,
/// `magnet:`, `gemini:`…) is dropped, so no remote link makes a client run or open something
/// other than a web page.
const LINK_SCHEMES: [&str; 2] = ["http", "https"];

/// Elements dropped together with everything inside them (Sanitize's `remove_contents`).
const REMOVED_WITH_CONTENTS: [&str; 13] = [
    "script",
    "style",
    "iframe",
    "math",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
    "svg",
    "xmp",
    "template",
    "object",
    "frameset",
];

/// `@user` or `@user@domain[:port]`. The character before `@` and after the match are checked in code
/// (the regex crate has no look-around).
static MENTION_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"@([A-Za-z0-9_]+(?:[.-]+[A-Za-z0-9_]+)*)(?:@(\w+(?:[.-]+\w+)*(?::[0-9]{1,5})?))?")
        .expect("mention regex")
});

/// `#tag`; the character before `#` and the validity of the name are checked in code.
static HASHTAG_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"#(\w+)").expect("hashtag regex"));

static TAG_NAME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\A\w+\z").expect("tag name regex"));
static ALL_DIGITS_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\A\d+\z").expect("digits regex"));
static WORD_CHAR_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\A\w\z").expect("word regex"));

static LINK_FINDER: LazyLock<LinkFinder> = LazyLock::new(|| {
    let mut finder = LinkFinder::new();
    finder.kinds(&[LinkKind::Url]).url_must_have_scheme(true);
    finder
});

/// Whether `c` is a word character in the same (Unicode) sense as the regex `\w`.
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    let mut buf = [0u8; 4];
    WORD_CHAR_RE.is_match(c.encode_utf8(&mut buf))
}

/// The character just before byte offset `at`.
fn char_before(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

fn is_http_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

// ---------------------------------------------------------------------------------------------
// Entity extraction
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
enum EntityKind {
    Url,
    Tag(String),
    Mention(MentionRef),
}

#[derive(Debug)]
struct Entity {
    start: usize,
    end: usize,
    kind: EntityKind,
}

fn overlaps(ranges: &[(usize, usize)], start: usize, end: usize) -> bool {
    ranges.iter().any(|&(s, e)| start < e && s < end)
}

/// All entities of `text`, sorted by position, never overlapping. URLs win over anything inside them.
fn extract(text: &str) -> Vec<Entity> {
    let mut entities = Vec::new();

    // Every URL linkify sees (whatever its scheme) shields its characters from mention/tag parsing;
    // only http(s) ones become links.
    let mut url_ranges = Vec::new();
    for link in LINK_FINDER.links(text) {
        url_ranges.push((link.start(), link.end()));
        if is_http_url(link.as_str()) {
            entities.push(Entity {
                start: link.start(),
                end: link.end(),
                kind: EntityKind::Url,
            });
        }
    }

    for caps in MENTION_RE.captures_iter(text) {
        let whole = caps.get(0).expect("group 0");
        let (start, end) = (whole.start(), whole.end());
        // Not inside a word (e.g. an e-mail address), nor after `=` or `/` (URL query strings and paths).
        if char_before(text, start).is_some_and(|c| is_word_char(c) || c == '=' || c == '/') {
            continue;
        }
        // Not cut short: `@josé`, `@alice@` or `@alice@example.org@x`, `@scheme://`.
        let rest = &text[end..];
        if rest.starts_with('@')
            || rest.starts_with("://")
            || rest.chars().next().is_some_and(is_word_char)
        {
            continue;
        }
        if overlaps(&url_ranges, start, end) {
            continue;
        }
        entities.push(Entity {
            start,
            end,
            kind: EntityKind::Mention(MentionRef {
                username: caps[1].to_owned(),
                domain: caps.get(2).map(|m| m.as_str().to_owned()),
            }),
        });
    }

    for caps in HASHTAG_RE.captures_iter(text) {
        let whole = caps.get(0).expect("group 0");
        let (start, end) = (whole.start(), whole.end());
        // Not `foo#bar`, nor a URL fragment or `=#x` / `)#x`.
        if char_before(text, start).is_some_and(|c| is_word_char(c) || matches!(c, '=' | '/' | ')'))
        {
            continue;
        }
        if overlaps(&url_ranges, start, end) {
            continue;
        }
        let name = &caps[1];
        if normalize_tag(name).is_none() {
            continue;
        }
        entities.push(Entity {
            start,
            end,
            kind: EntityKind::Tag(name.to_owned()),
        });
    }

    entities.sort_by_key(|e| e.start);
    // Mentions and tags cannot overlap each other or a URL by construction, but stay defensive.
    let mut last_end = 0;
    entities.retain(|e| {
        if e.start < last_end {
            false
        } else {
            last_end = e.end;
            true
        }
    });
    entities
}

/// Find the mentions, hashtags and http(s) links of a post's plain text.
pub fn parse(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut seen_mentions = HashSet::new();
    let mut seen_tags = HashSet::new();
    let mut seen_links = HashSet::new();
    for entity in extract(text) {
        match entity.kind {
            EntityKind::Url => {
                let url = &text[entity.start..entity.end];
                if seen_links.insert(url) {
                    parsed.links.push(url.to_owned());
                }
            }
            EntityKind::Tag(name) => {
                let key = normalize_tag(&name).unwrap_or_else(|| name.clone());
                if seen_tags.insert(key) {
                    parsed.tags.push(name);
                }
            }
            EntityKind::Mention(mention) => {
                let key = (
                    mention.username.to_lowercase(),
                    mention.domain.as_ref().map(|d| d.to_lowercase()),
                );
                if seen_mentions.insert(key) {
                    parsed.mentions.push(mention);
                }
            }
        }
    }
    parsed
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/// Escape text for HTML (text and double-quoted attribute values), as Rails' `h()`.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    push_escaped(&mut out, text);
    out
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// A link the way Mastodon shows it: the scheme (and `www.`) hidden, at most 30 characters visible,
/// the rest hidden behind an ellipsis.
pub fn link_html(url: &str) -> String {
    let prefix_len = if url.starts_with("https://www.") {
        12
    } else if url.starts_with("http://www.") {
        11
    } else if url.starts_with("https://") {
        8
    } else if url.starts_with("http://") {
        7
    } else if url.starts_with("xmpp:") {
        5
    } else {
        0
    };
    let (prefix, rest) = url.split_at(prefix_len);
    let cut = rest
        .char_indices()
        .nth(LINK_DISPLAY_CHARS)
        .map_or(rest.len(), |(i, _)| i);
    let (display, suffix) = rest.split_at(cut);
    let display_class = if suffix.is_empty() { "" } else { "ellipsis" };

    let mut out = String::with_capacity(url.len() * 2 + 160);
    out.push_str("<a href=\"");
    push_escaped(&mut out, url);
    out.push_str("\" target=\"_blank\" rel=\"");
    out.push_str(LOCAL_LINK_REL);
    out.push_str("\" translate=\"no\"><span class=\"invisible\">");
    push_escaped(&mut out, prefix);
    out.push_str("</span><span class=\"");
    out.push_str(display_class);
    out.push_str("\">");
    push_escaped(&mut out, display);
    out.push_str("</span><span class=\"invisible\">");
    push_escaped(&mut out, suffix);
    out.push_str("</span></a>");
    out
}

/// Render plain text to Mastodon-style HTML: paragraphs split on blank lines -> `<p>…</p>`, single
/// newlines -> `<br />`, every other character HTML-escaped; http(s) URLs, hashtags and resolved
/// mentions linked. Unresolved mentions stay as (escaped) text.
///
/// Like Mastodon (which strips a local status' text before saving it), leading and trailing
/// whitespace is dropped, and blank text gives an empty string. `\r\n` counts as a newline; a line
/// holding only spaces is not a paragraph break (as Rails' `simple_format`).
///
/// `tag_url` gets the hashtag as written and must return a URL (percent-encode as needed);
/// `resolve` is called once per mention occurrence.
pub fn render(
    text: &str,
    resolve: &dyn Fn(&MentionRef) -> Option<MentionLink>,
    tag_url: &dyn Fn(&str) -> String,
) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }

    let mut body = String::with_capacity(text.len() * 2);
    let mut pos = 0;
    for entity in extract(text) {
        push_escaped(&mut body, &text[pos..entity.start]);
        let raw = &text[entity.start..entity.end];
        match &entity.kind {
            EntityKind::Url => body.push_str(&link_html(raw)),
            EntityKind::Tag(name) => {
                body.push_str("<a href=\"");
                push_escaped(&mut body, &tag_url(name));
                body.push_str("\" class=\"mention hashtag\" rel=\"tag\">#<span>");
                push_escaped(&mut body, name);
                body.push_str("</span></a>");
            }
            EntityKind::Mention(mention) => match resolve(mention) {
                Some(link) => {
                    body.push_str("<span class=\"h-card\" translate=\"no\"><a href=\"");
                    push_escaped(&mut body, &link.url);
                    body.push_str("\" class=\"u-url mention\">@<span>");
                    push_escaped(&mut body, &link.username);
                    body.push_str("</span></a></span>");
                }
                None => push_escaped(&mut body, raw),
            },
        }
        pos = entity.end;
    }
    push_escaped(&mut body, &text[pos..]);

    // Rails' simple_format: paragraphs on runs of 2+ newlines, `<br />` for single ones.
    // No markup made above holds a newline, so splitting the HTML is safe.
    let mut html = String::with_capacity(body.len() + 32);
    for paragraph in body.split("\n\n") {
        let paragraph = paragraph.trim_matches('\n');
        if paragraph.is_empty() {
            continue;
        }
        html.push_str("<p>");
        html.push_str(&paragraph.replace('\n', "<br />"));
        html.push_str("</p>");
    }
    html
}

// ---------------------------------------------------------------------------------------------
// Hashtags
// ---------------------------------------------------------------------------------------------

/// Normalise a hashtag name for storage/lookup: lowercased. A leading `#` is ignored.
///
/// `None` unless the name is 1 to 100 word characters (Unicode letters, marks, digits, underscore)
/// and not all digits.
pub fn normalize_tag(tag: &str) -> Option<String> {
    let name = tag.strip_prefix('#').unwrap_or(tag);
    if name.chars().count() > MAX_TAG_CHARS
        || !TAG_NAME_RE.is_match(name)
        || ALL_DIGITS_RE.is_match(name)
    {
        return None;
    }
    Some(name.to_lowercase())
}

// ---------------------------------------------------------------------------------------------
// Remote HTML
// ---------------------------------------------------------------------------------------------

fn is_allowed_class(class: &str) -> bool {
    const NAMES: [&str; 4] = ["mention", "hashtag", "ellipsis", "invisible"];
    const PREFIXES: [&str; 5] = ["h-", "p-", "u-", "dt-", "e-"];
    if NAMES.contains(&class) {
        return true;
    }
    // Mastodon only checks the prefix; Kring also insists on plain characters after it.
    PREFIXES.iter().any(|prefix| {
        class.strip_prefix(prefix).is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
    })
}

fn filter_remote_attribute<'v>(
    element: &str,
    attribute: &str,
    value: &'v str,
) -> Option<Cow<'v, str>> {
    match attribute {
        "class" => {
            let kept: Vec<&str> = value
                .split_ascii_whitespace()
                .filter(|c| is_allowed_class(c))
                .collect();
            if kept.is_empty() {
                None
            } else {
                Some(Cow::Owned(kept.join(" ")))
            }
        }
        "translate" => (value == "no").then_some(Cow::Borrowed(value)),
        "start" | "value" => value
            .trim()
            .parse::<i64>()
            .ok()
            .map(|n| Cow::Owned(n.to_string())),
        "reversed" if element == "ol" => Some(Cow::Borrowed("")),
        _ => Some(Cow::Borrowed(value)),
    }
}

static REMOTE_SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let tags: HashSet<&'static str> = [
        "p",
        "br",
        "span",
        "a",
        "del",
        "s",
        "pre",
        "code",
        "em",
        "strong",
        "b",
        "i",
        "u",
        "ul",
        "ol",
        "li",
        "blockquote",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ruby",
        "rt",
        "rp",
    ]
    .into_iter()
    .collect();
    let tag_attributes: HashMap<&'static str, HashSet<&'static str>> = [
        ("a", ["href", "class", "translate"].into_iter().collect()),
        ("span", ["class", "translate"].into_iter().collect()),
        ("p", ["class"].into_iter().collect()),
        ("ol", ["start", "reversed"].into_iter().collect()),
        ("li", ["value"].into_iter().collect()),
    ]
    .into_iter()
    .collect();
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(tags)
        .clean_content_tags(REMOVED_WITH_CONTENTS.into_iter().collect())
        .tag_attributes(tag_attributes)
        .generic_attributes(HashSet::new())
        .url_schemes(LINK_SCHEMES.into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some(REMOTE_LINK_REL))
        .set_tag_attribute_value("a", "target", "_blank")
        .strip_comments(true)
        .attribute_filter(filter_remote_attribute);
    builder
});

/// Sanitise HTML from a remote server to Mastodon's allowed set: `p br span a del s pre code em
/// strong b i u ul ol li blockquote h1-h6 ruby rt rp`; `a[href]` restricted to Mastodon's link
/// schemes (a link whose target is refused, or relative, keeps only its content, as in Mastodon);
/// classes limited to microformats (`h-*`, `p-*`, `u-*`, `dt-*`, `e-*`) and `mention hashtag ellipsis
/// invisible`; `translate="no"` kept; every link gets `rel="nofollow noopener noreferrer"
/// target="_blank"`. Scripts, styles, iframes, SVG and the like are removed with their content;
/// other elements (images, forms, tables, divs…) are removed, keeping their text.
pub fn sanitize_remote_html(html: &str) -> String {
    let cleaned = REMOTE_SANITIZER.clean(html).to_string();
    unwrap_links_without_href(&cleaned)
}

/// One piece of serialised HTML as written by html5ever's serialiser (ammonia's output).
#[derive(Debug, PartialEq)]
enum Token<'a> {
    Text(&'a str),
    Tag {
        /// The whole tag as written.
        raw: &'a str,
        name: &'a str,
        /// The raw attribute list (` a="b" c="d"`).
        attrs: &'a str,
        closing: bool,
    },
}

/// A tag in html5ever's serialised output: attribute values are double-quoted and never hold a
/// quote (escaped as `&quot;`), text never holds `<` (escaped as `&lt;`), comments are stripped.
/// So reading from the start, every `<` begins a tag and every tag ends at the first `>` outside quotes.
static SERIALIZED_TAG_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\A<(/?)([A-Za-z][A-Za-z0-9]*)((?:\s+[^\s"'>/=]+(?:="[^"]*")?)*)\s*/?>"#)
        .expect("tag regex")
});

/// Split serialised HTML into text and tags; anything unexpected is passed on as text.
fn tokenize(html: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < html.len() {
        let rest = &html[pos..];
        if rest.starts_with('<') {
            if let Some(caps) = SERIALIZED_TAG_RE.captures(rest) {
                let raw = caps.get(0).expect("group 0").as_str();
                tokens.push(Token::Tag {
                    raw,
                    closing: !caps[1].is_empty(),
                    name: caps.get(2).expect("name").as_str(),
                    attrs: caps.get(3).expect("attrs").as_str(),
                });
                pos += raw.len();
            } else {
                tokens.push(Token::Text("<"));
                pos += 1;
            }
            continue;
        }
        let next = rest.find('<').unwrap_or(rest.len());
        tokens.push(Token::Text(&rest[..next]));
        pos += next;
    }
    tokens
}

/// Mastodon replaces a link whose target it refuses by its text; ammonia only drops the `href`,
/// so unwrap every `<a>` left without one.
fn unwrap_links_without_href(html: &str) -> String {
    if !html.contains("<a ") {
        return html.to_owned();
    }
    let mut out = String::with_capacity(html.len());
    // For each open <a>: was it kept?
    let mut open_links: Vec<bool> = Vec::new();
    for token in tokenize(html) {
        match token {
            Token::Text(text) => out.push_str(text),
            Token::Tag {
                raw,
                name,
                attrs,
                closing,
            } => {
                let keep = if !name.eq_ignore_ascii_case("a") {
                    true
                } else if closing {
                    open_links.pop().unwrap_or(true)
                } else {
                    let keep = attrs.contains(" href=\"");
                    open_links.push(keep);
                    keep
                };
                if keep {
                    out.push_str(raw);
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// HTML to text
// ---------------------------------------------------------------------------------------------

/// Elements that end a paragraph (a blank line in text).
const PARAGRAPH_TAGS: [&str; 10] = [
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "ul",
];
/// Elements that end a line.
const LINE_TAGS: [&str; 4] = ["li", "div", "tr", "ol"];

static TEXT_EXTRACTOR: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(
            PARAGRAPH_TAGS
                .into_iter()
                .chain(LINE_TAGS)
                .chain(["br"])
                .collect(),
        )
        .clean_content_tags(REMOVED_WITH_CONTENTS.into_iter().collect())
        .tag_attributes(HashMap::new())
        .generic_attributes(HashSet::new())
        .link_rel(None)
        .strip_comments(true);
    builder
});

static ENTITY_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"&(amp|lt|gt|quot|nbsp|#39);").expect("entity regex"));

fn decode_entities(text: &str) -> Cow<'_, str> {
    ENTITY_RE.replace_all(text, |caps: &regex::Captures<'_>| match &caps[1] {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "#39" => "'",
        _ => "\u{a0}",
    })
}

/// Strip HTML to plain text (for search indexing, notifications, `source`).
///
/// `<br>` becomes a newline, paragraphs (and headings, quotes, lists) are separated by a blank line
/// and list items / divs by a newline, so that `html_to_text(&render(text, …)) == text` for plain
/// text with links, tags and local mentions. Entities are decoded; scripts, styles and the like are
/// dropped with their content; leading and trailing newlines are trimmed.
pub fn html_to_text(html: &str) -> String {
    let cleaned = TEXT_EXTRACTOR.clean(html).to_string();
    let mut out = String::with_capacity(cleaned.len());
    // Newlines owed before the next text.
    let mut pending = 0usize;
    let flush = |out: &mut String, pending: &mut usize| {
        if !out.is_empty() {
            let have = out.len() - out.trim_end_matches('\n').len();
            for _ in have..*pending {
                out.push('\n');
            }
        }
        *pending = 0;
    };
    for token in tokenize(&cleaned) {
        match token {
            Token::Text(text) => {
                let text = decode_entities(text);
                if text.trim().is_empty() && (out.is_empty() || pending > 0) {
                    // Formatting whitespace between blocks.
                    continue;
                }
                flush(&mut out, &mut pending);
                out.push_str(&text);
            }
            Token::Tag { name, .. } => {
                let name = name.to_ascii_lowercase();
                if name == "br" {
                    flush(&mut out, &mut pending);
                    out.push('\n');
                } else if PARAGRAPH_TAGS.contains(&name.as_str()) {
                    pending = pending.max(2);
                } else if LINE_TAGS.contains(&name.as_str()) {
                    pending = pending.max(1);
                }
            }
        }
    }
    out.trim_matches('\n').to_owned()
}

/// `url` when it is an absolute http(s) URL that is safe to put in an `href` or an API `url`
/// field; `None` for any other scheme (`javascript:`, `data:`…), relative or malformed URLs.
/// Remote servers choose these strings, so every remote URL passes through here before a
/// client sees it.
pub fn http_url(url: &str) -> Option<&str> {
    if url.is_empty()
        || url.len() > 4096
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    let parsed = url::Url::parse(url).ok()?;
    (matches!(parsed.scheme(), "http" | "https")
        && parsed.host_str().is_some_and(|h| !h.is_empty()))
    .then_some(url)
}

/// A profile field value a person here wrote, as HTML: a lone URL becomes a link, anything
/// else is escaped text.
pub fn field_value_html(value: &str) -> String {
    let v = value.trim();
    if (v.starts_with("https://") || v.starts_with("http://")) && !v.contains(char::is_whitespace) {
        link_html(v)
    } else {
        escape_html(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(m: &MentionRef) -> Option<MentionLink> {
        let known = ["alice", "bob"];
        let remote_ok = matches!(
            m.domain.as_deref(),
            None | Some("127.0.0.1:8080") | Some("remote.example")
        );
        if remote_ok && known.contains(&m.username.to_lowercase().as_str()) {
            let url = match &m.domain {
                None => format!("https://kring.example/@{}", m.username.to_lowercase()),
                Some(d) => format!("http://{d}/@{}", m.username.to_lowercase()),
            };
            Some(MentionLink {
                url,
                username: m.username.to_lowercase(),
            })
        } else {
            None
        }
    }

    fn tag_url(tag: &str) -> String {
        format!("https://kring.example/tags/{}", tag.to_lowercase())
    }

    fn r(text: &str) -> String {
        render(text, &local, &tag_url)
    }

    fn mention(username: &str, domain: Option<&str>) -> MentionRef {
        MentionRef {
            username: username.to_owned(),
            domain: domain.map(str::to_owned),
        }
    }

    fn link(url: &str, prefix: &str, display: &str, suffix: &str, class: &str) -> String {
        format!(
            "<a href=\"{url}\" target=\"_blank\" rel=\"nofollow noopener\" translate=\"no\"><span class=\"invisible\">{prefix}</span><span class=\"{class}\">{display}</span><span class=\"invisible\">{suffix}</span></a>"
        )
    }

    // ----- render: escaping and layout -------------------------------------------------------

    #[test]
    fn escapes_script_ampersand_and_quotes() {
        assert_eq!(
            r(r#"<script>alert("x")</script> & 'y'"#),
            "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;</p>"
        );
        assert_eq!(r("a &amp; b"), "<p>a &amp;amp; b</p>");
        assert_eq!(
            r("<img src=x onerror=alert(1)>"),
            "<p>&lt;img src=x onerror=alert(1)&gt;</p>"
        );
    }

    #[test]
    fn blank_text_renders_empty() {
        assert_eq!(r(""), "");
        assert_eq!(r("  \n\n \t"), "");
    }

    #[test]
    fn paragraphs_and_line_breaks() {
        assert_eq!(r("hello"), "<p>hello</p>");
        assert_eq!(r("one\ntwo"), "<p>one<br />two</p>");
        assert_eq!(r("one\n\ntwo"), "<p>one</p><p>two</p>");
        assert_eq!(
            r("one\n\n\n\ntwo\nthree"),
            "<p>one</p><p>two<br />three</p>"
        );
        assert_eq!(
            r("one\r\ntwo\r\n\r\nthree"),
            "<p>one<br />two</p><p>three</p>"
        );
        assert_eq!(r("\n\n  one  \n\n"), "<p>one</p>");
        // A line of spaces is not a paragraph break (Rails' simple_format).
        assert_eq!(r("a\n \nb"), "<p>a<br /> <br />b</p>");
        assert!(!r("a\nb\n\nc").contains('\n'));
    }

    // ----- render: links ---------------------------------------------------------------------

    #[test]
    fn links_simple() {
        assert_eq!(
            r("see https://example.org/path"),
            format!(
                "<p>see {}</p>",
                link(
                    "https://example.org/path",
                    "https://",
                    "example.org/path",
                    "",
                    ""
                )
            )
        );
        assert_eq!(
            r("http://www.example.org"),
            format!(
                "<p>{}</p>",
                link(
                    "http://www.example.org",
                    "http://www.",
                    "example.org",
                    "",
                    ""
                )
            )
        );
    }

    #[test]
    fn links_with_query_string_and_trailing_period() {
        let html = r("Look: https://example.org/a?b=1&c=2. Done");
        assert_eq!(
            html,
            format!(
                "<p>Look: {}. Done</p>",
                link(
                    "https://example.org/a?b=1&amp;c=2",
                    "https://",
                    "example.org/a?b=1&amp;c=2",
                    "",
                    ""
                )
            )
        );
        assert_eq!(
            parse("(https://example.org/x), https://example.org/y!").links,
            vec!["https://example.org/x", "https://example.org/y"]
        );
    }

    #[test]
    fn long_links_are_shortened() {
        let url = "https://example.org/a/very/long/path/that/goes/on/and/on";
        let html = r(url);
        assert_eq!(
            html,
            format!(
                "<p>{}</p>",
                link(
                    url,
                    "https://",
                    "example.org/a/very/long/path/t",
                    "hat/goes/on/and/on",
                    "ellipsis"
                )
            )
        );
        // Exactly 30 visible characters is not cut.
        let url30 = format!("https://{}", "a".repeat(30));
        assert!(r(&url30).contains(&format!(
            "<span class=\"\">{}</span><span class=\"invisible\"></span>",
            "a".repeat(30)
        )));
        // Shortening counts characters, not bytes.
        let unicode = format!("https://example.org/{}", "é".repeat(40));
        let html = r(&unicode);
        assert!(html.contains(&format!(
            "<span class=\"ellipsis\">example.org/{}</span>",
            "é".repeat(18)
        )));
    }

    #[test]
    fn only_http_links() {
        assert_eq!(r("ftp://example.org/file"), "<p>ftp://example.org/file</p>");
        assert_eq!(r("javascript:alert(1)"), "<p>javascript:alert(1)</p>");
        assert_eq!(r("example.org"), "<p>example.org</p>");
        assert!(parse("ftp://example.org/#tag @x").links.is_empty());
    }

    #[test]
    fn link_with_quote_cannot_break_attribute() {
        let html = r(r#"https://example.org/"onmouseover="x"#);
        assert!(!html.contains(r#""onmouseover"#), "{html}");
    }

    #[test]
    fn link_with_port_and_fragment() {
        let p = parse("go to http://127.0.0.1:8080/@alice#top now");
        assert_eq!(p.links, vec!["http://127.0.0.1:8080/@alice#top"]);
        assert!(p.mentions.is_empty());
        assert!(p.tags.is_empty());
    }

    // ----- mentions --------------------------------------------------------------------------

    #[test]
    fn mentions_local_and_remote() {
        let p = parse("hi @alice and @bob@remote.example and @carol@127.0.0.1:8080.");
        assert_eq!(
            p.mentions,
            vec![
                mention("alice", None),
                mention("bob", Some("remote.example")),
                mention("carol", Some("127.0.0.1:8080")),
            ]
        );
    }

    #[test]
    fn mention_rendering() {
        assert_eq!(
            r("hi @alice!"),
            "<p>hi <span class=\"h-card\" translate=\"no\"><a href=\"https://kring.example/@alice\" class=\"u-url mention\">@<span>alice</span></a></span>!</p>"
        );
        assert_eq!(
            r("@bob@127.0.0.1:8080: yo"),
            "<p><span class=\"h-card\" translate=\"no\"><a href=\"http://127.0.0.1:8080/@bob\" class=\"u-url mention\">@<span>bob</span></a></span>: yo</p>"
        );
        // Unresolved mentions stay text, escaped.
        assert_eq!(r("@nobody@x.example <3"), "<p>@nobody@x.example &lt;3</p>");
    }

    #[test]
    fn emails_are_not_mentions() {
        let p = parse("mail me: alice@example.org or a@b.c");
        assert!(p.mentions.is_empty());
        assert!(p.links.is_empty());
        assert_eq!(r("alice@example.org"), "<p>alice@example.org</p>");
    }

    #[test]
    fn mention_edges() {
        // Dots and dashes inside, not at the end.
        assert_eq!(parse("@a.b-c.").mentions, vec![mention("a.b-c", None)]);
        assert_eq!(parse("(@alice)").mentions, vec![mention("alice", None)]);
        assert_eq!(
            parse("@alice@example.org.").mentions,
            vec![mention("alice", Some("example.org"))]
        );
        // Cut short: not a mention.
        assert!(parse("@josé").mentions.is_empty());
        assert!(parse("@alice@ hi").mentions.is_empty());
        assert!(parse("x=@alice /@alice").mentions.is_empty());
        assert!(parse("@ alone").mentions.is_empty());
        // Inside a URL.
        assert!(
            parse("https://example.org/@alice https://example.org/a?u=@bob")
                .mentions
                .is_empty()
        );
        assert!(parse("https://example.org/x-@alice").mentions.is_empty());
    }

    #[test]
    fn mentions_deduplicated_case_insensitively() {
        let p = parse("@Alice @alice @ALICE@Example.org @alice@example.org @bob");
        assert_eq!(
            p.mentions,
            vec![
                mention("Alice", None),
                mention("ALICE", Some("Example.org")),
                mention("bob", None)
            ]
        );
    }

    // ----- hashtags --------------------------------------------------------------------------

    #[test]
    fn hashtags_basic_and_unicode() {
        let p = parse("#hello #café #日本 #tag_2 and #Hello again.");
        assert_eq!(p.tags, vec!["hello", "café", "日本", "tag_2"]);
        assert_eq!(
            r("#café"),
            "<p><a href=\"https://kring.example/tags/café\" class=\"mention hashtag\" rel=\"tag\">#<span>café</span></a></p>"
        );
        // Decomposed é (e + combining accent) stays one tag.
        assert_eq!(parse("#cafe\u{301}!").tags, vec!["cafe\u{301}"]);
    }

    #[test]
    fn hashtag_edges() {
        assert!(parse("foo#bar").tags.is_empty());
        assert!(parse("#123 #2024").tags.is_empty());
        assert_eq!(parse("#123abc #1_2").tags, vec!["123abc", "1_2"]);
        assert!(parse("https://example.org/page#section").tags.is_empty());
        assert!(parse("https://example.org/#/route").tags.is_empty());
        assert_eq!(parse("(#tag), #end.").tags, vec!["tag", "end"]);
        assert!(parse("# nothing").tags.is_empty());
        assert!(parse(&format!("#{}", "a".repeat(101))).tags.is_empty());
        assert_eq!(parse(&format!("#{}", "a".repeat(100))).tags.len(), 1);
        assert_eq!(r("#123"), "<p>#123</p>");
    }

    #[test]
    fn hashtag_href_is_escaped() {
        let html = render("#tag", &local, &|_| {
            "https://x.example/?a=1&b=\"2\"".to_owned()
        });
        assert!(
            html.contains("href=\"https://x.example/?a=1&amp;b=&quot;2&quot;\""),
            "{html}"
        );
    }

    #[test]
    fn mixed_entities_in_order() {
        let text = "@alice look #rust https://example.org/ @bob@remote.example #Rust";
        let p = parse(text);
        assert_eq!(
            p.mentions,
            vec![
                mention("alice", None),
                mention("bob", Some("remote.example"))
            ]
        );
        assert_eq!(p.tags, vec!["rust"]);
        assert_eq!(p.links, vec!["https://example.org/"]);
        assert_eq!(parse(""), Parsed::default());
    }

    #[test]
    fn normalize_tag_rules() {
        assert_eq!(normalize_tag("Café").as_deref(), Some("café"));
        assert_eq!(normalize_tag("#Rust").as_deref(), Some("rust"));
        assert_eq!(normalize_tag("日本").as_deref(), Some("日本"));
        assert_eq!(normalize_tag("a_1").as_deref(), Some("a_1"));
        assert_eq!(normalize_tag("123"), None);
        assert_eq!(normalize_tag(""), None);
        assert_eq!(normalize_tag("#"), None);
        assert_eq!(normalize_tag("with space"), None);
        assert_eq!(normalize_tag("dash-ed"), None);
        assert_eq!(normalize_tag(&"x".repeat(101)), None);
        assert!(normalize_tag(&"x".repeat(100)).is_some());
    }

    // ----- sanitiser -------------------------------------------------------------------------

    #[test]
    fn sanitizer_removes_scripts_handlers_and_javascript_urls() {
        let out = sanitize_remote_html(
            r#"<p onclick="x()">Hi<script>alert(1)</script><style>p{}</style><img src=x onerror="alert(2)"></p><a href="javascript:alert(3)">click</a><iframe src="https://evil.example">inner</iframe><form action="/x"><input name=q>text</form>"#,
        );
        assert_eq!(out, "<p>Hi</p>clicktext");
    }

    #[test]
    fn sanitizer_keeps_mastodon_markup() {
        let html = r##"<p><span class="h-card" translate="no"><a href="https://remote.example/@alice" class="u-url mention">@<span>alice</span></a></span> see <a href="https://remote.example/tags/rust" class="mention hashtag" rel="tag">#<span>rust</span></a> <a href="https://example.org/long" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">https://</span><span class="ellipsis">example.org</span><span class="invisible">/long</span></a></p>"##;
        let out = sanitize_remote_html(html);
        assert_eq!(
            out,
            r##"<p><span class="h-card" translate="no"><a href="https://remote.example/@alice" class="u-url mention" target="_blank" rel="nofollow noopener noreferrer">@<span>alice</span></a></span> see <a href="https://remote.example/tags/rust" class="mention hashtag" target="_blank" rel="nofollow noopener noreferrer">#<span>rust</span></a> <a href="https://example.org/long" translate="no" target="_blank" rel="nofollow noopener noreferrer"><span class="invisible">https://</span><span class="ellipsis">example.org</span><span class="invisible">/long</span></a></p>"##
        );
    }

    #[test]
    fn sanitizer_filters_classes() {
        assert_eq!(
            sanitize_remote_html(r#"<span class="evil h-card big mention p-name">x</span>"#),
            r#"<span class="h-card mention p-name">x</span>"#
        );
        assert_eq!(
            sanitize_remote_html(r#"<span class="evil">x</span>"#),
            "<span>x</span>"
        );
        assert_eq!(
            sanitize_remote_html(r#"<span class="h-">x</span>"#),
            "<span>x</span>"
        );
        assert_eq!(
            sanitize_remote_html(r#"<span translate="yes">x</span>"#),
            "<span>x</span>"
        );
        assert_eq!(
            sanitize_remote_html(r#"<em class="mention">x</em>"#),
            "<em>x</em>"
        );
        assert_eq!(
            sanitize_remote_html(r#"<span style="color:red" id="a" title="t" lang="en">x</span>"#),
            "<span>x</span>"
        );
    }

    #[test]
    fn sanitizer_link_schemes() {
        for ok in ["https://a.example/", "http://a.example/"] {
            let out = sanitize_remote_html(&format!(r#"<a href="{ok}">x</a>"#));
            assert!(out.starts_with("<a href=\""), "{ok}: {out}");
            assert!(
                out.contains(r#"target="_blank" rel="nofollow noopener noreferrer""#),
                "{ok}: {out}"
            );
        }
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,x",
            "vbscript:x",
            "/relative",
            "//evil.example/",
            "file:///etc/passwd",
            "gemini://a.example/",
            "magnet:?xt=urn:x",
            "xmpp:a@b.example",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "data:image/svg+xml;base64,PHN2Zz4=",
        ] {
            let out = sanitize_remote_html(&format!(r#"<a href="{bad}"><b>x</b></a>"#));
            assert_eq!(out, "<b>x</b>", "{bad}");
        }
        // rel and target are forced, whatever the input said.
        assert_eq!(
            sanitize_remote_html(
                r#"<a href="https://a.example/" rel="opener" target="_self">x</a>"#
            ),
            r#"<a href="https://a.example/" target="_blank" rel="nofollow noopener noreferrer">x</a>"#
        );
    }

    #[test]
    fn only_http_urls_pass() {
        for ok in [
            "https://a.example/@x",
            "http://127.0.0.1:8080/users/x",
            "HTTPS://A.example/",
        ] {
            assert_eq!(http_url(ok), Some(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:x",
            "xmpp:a@b.example",
            "/relative",
            "//evil.example/",
            "https://",
            " https://a.example/",
            "https://a.example/\njavascript:x",
            "",
        ] {
            assert_eq!(http_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn sanitizer_keeps_allowed_elements() {
        let html = "<h1>T</h1><blockquote><p>q</p></blockquote><ul><li>a</li></ul><ol start=\"3\" reversed><li value=\"4\">b</li></ol><pre><code>x &lt; y</code></pre><p><del>d</del><s>s</s><em>e</em><strong>s</strong><b>b</b><i>i</i><u>u</u><br></p>";
        assert_eq!(
            sanitize_remote_html(html),
            "<h1>T</h1><blockquote><p>q</p></blockquote><ul><li>a</li></ul><ol start=\"3\" reversed=\"\"><li value=\"4\">b</li></ol><pre><code>x &lt; y</code></pre><p><del>d</del><s>s</s><em>e</em><strong>s</strong><b>b</b><i>i</i><u>u</u><br></p>"
        );
        assert_eq!(
            sanitize_remote_html(r#"<ol start="x"><li>a</li></ol>"#),
            "<ol><li>a</li></ol>"
        );
    }

    #[test]
    fn sanitizer_drops_other_elements_keeping_text() {
        assert_eq!(
            sanitize_remote_html(
                "<div><table><tr><td>cell</td></tr></table><img src=\"https://a.example/i.png\" alt=\"alt\"></div>"
            ),
            "cell"
        );
        assert_eq!(
            sanitize_remote_html("<svg><script>x</script><text>t</text></svg>ok"),
            "ok"
        );
        assert_eq!(sanitize_remote_html("<!-- comment -->ok"), "ok");
        assert_eq!(
            sanitize_remote_html("<p>unclosed <b>bold"),
            "<p>unclosed <b>bold</b></p>"
        );
    }

    #[test]
    fn sanitizer_href_with_markup_characters_stays_escaped() {
        let out = sanitize_remote_html(
            r#"<a href="https://a.example/<a x=" class="h-y">t</a><a href="/r">u</a>"#,
        );
        assert!(
            out.starts_with(r#"<a href="https://a.example/&lt;a x=" class="h-y" target="_blank""#),
            "{out}"
        );
        assert!(out.ends_with(">t</a>u"), "{out}");
        let tokens = tokenize(&out);
        assert_eq!(tokens.len(), 4, "{tokens:?}");
    }

    #[test]
    fn sanitizer_nested_links_stay_balanced() {
        let out = sanitize_remote_html(
            r#"<a href="/x"><table><tr><td><a href="https://a.example/">in</a></td></tr></table>after</a>"#,
        );
        assert_eq!(
            out.matches("<a ").count(),
            out.matches("</a>").count(),
            "{out}"
        );
        assert!(out.contains(r#"<a href="https://a.example/""#), "{out}");
    }

    // ----- html_to_text ----------------------------------------------------------------------

    #[test]
    fn html_to_text_basics() {
        assert_eq!(html_to_text("<p>a<br>b<br />c</p><p>d</p>"), "a\nb\nc\n\nd");
        assert_eq!(
            html_to_text("<p>x &amp; y &lt;z&gt; &quot;q&quot; &#39;s&#39; &eacute;</p>"),
            "x & y <z> \"q\" 's' é"
        );
        assert_eq!(html_to_text("<p>a</p>\n<p>b</p>\n"), "a\n\nb");
        assert_eq!(
            html_to_text("<script>alert(1)</script><style>x</style>hi"),
            "hi"
        );
        assert_eq!(
            html_to_text("<ul><li>one</li><li>two</li></ul><p>after</p>"),
            "one\ntwo\n\nafter"
        );
        assert_eq!(html_to_text("plain"), "plain");
        assert_eq!(html_to_text(""), "");
        assert_eq!(html_to_text("<p>a<br></p><p>b</p>"), "a\n\nb");
        assert_eq!(html_to_text("<p><span>a</span> <span>b</span></p>"), "a b");
        assert_eq!(html_to_text("a&nbsp;b"), "a\u{a0}b");
    }

    #[test]
    fn html_to_text_of_mastodon_markup() {
        let html = r#"<p><span class="h-card"><a href="https://r.example/@alice" class="u-url mention">@<span>alice</span></a></span> <a href="https://example.org/a/very/long/path/that/goes/on" target="_blank"><span class="invisible">https://</span><span class="ellipsis">example.org/a/very/long/path/t</span><span class="invisible">hat/goes/on</span></a></p>"#;
        assert_eq!(
            html_to_text(html),
            "@alice https://example.org/a/very/long/path/that/goes/on"
        );
    }

    #[test]
    fn html_to_text_round_trip() {
        for text in [
            "hello",
            "one\ntwo\n\nthree",
            "<b>not bold</b> & \"quotes\" 'single'",
            "@alice said #café is at https://example.org/a?b=1&c=2. Really!",
            "https://example.org/a/very/long/path/that/goes/on/and/on and #日本",
            "@nobody@x.example and mail@example.org",
            "para one\n\npara two\nline\n\n#123",
        ] {
            assert_eq!(html_to_text(&r(text)), text, "round trip of {text:?}");
            assert_eq!(
                html_to_text(&sanitize_remote_html(&r(text))),
                text,
                "sanitised round trip of {text:?}"
            );
        }
    }

    #[test]
    fn rendered_html_survives_sanitizer() {
        let html = r("@alice #rust https://example.org/a/very/long/path/that/goes/on");
        let clean = sanitize_remote_html(&html);
        // Only rel/target differ.
        assert_eq!(
            clean.replace(r#" target="_blank" rel="nofollow noopener noreferrer""#, ""),
            html.replace(r#" target="_blank" rel="nofollow noopener""#, "")
                .replace(r#" rel="tag""#, "")
        );
    }
}
