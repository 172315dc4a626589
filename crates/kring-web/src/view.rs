//! What templates show: the page chrome (title, navigation, form token) and posts and accounts
//! flattened into plain strings and flags. These only reshape the service's views for HTML;
//! every value comes from the service.
use kring_core::Visibility;
use kring_core::model::{Account, Page};
use kring_core::time::{rfc3339, to_datetime};
use kring_service::media_proxy::{ProfileImage, profile_image_path};
use std::collections::HashMap;

use kring_service::interactions::PostPermissions;
use kring_service::views::StatusView;
use kring_service::{Actor, Id, Kring};
use serde::Deserialize;

use crate::Web;
use crate::assets;
use crate::error::WebError;
use crate::pages::policy::Gate;
use crate::session::Viewer;

/// The signed-in person, as the navigation shows them.
pub struct Me {
    pub id: String,
    pub acct: String,
    pub name: String,
    pub path: String,
    pub staff: bool,
    /// Notifications since the reader last looked ("99+" past 99), empty when none.
    pub unread: String,
    /// Staff: reports waiting for a moderator ("99+" past 99), empty when none.
    pub open_reports: String,
    /// Interactions waiting for their approval ("99+" past 99), empty when none.
    pub approvals: String,
    /// Unread chat messages and chat requests ("99+" past 99), empty when none.
    pub chats: String,
}

/// The layout's data, the same on every page.
pub struct Chrome {
    pub site: String,
    pub title: String,
    pub me: Option<Me>,
    /// The form token of this session (or of signed-out forms).
    pub csrf: String,
    /// Which navigation entry is the current page.
    pub nav: &'static str,
    /// This page's path and query, for forms that come back here.
    pub path: String,
    pub css: &'static str,
    pub js: &'static str,
    pub icon: &'static str,
    /// Link-preview (OpenGraph) tags, on public profile and post pages only.
    pub preview: Option<Preview>,
}

/// What a link preview shows: absolute URLs on this server's own origin only.
pub struct Preview {
    pub kind: &'static str,
    pub title: String,
    pub description: String,
    pub url: String,
    pub image: String,
}

impl Preview {
    /// `path` and `image` are this server's paths; the description is plain text, cut short.
    pub fn new(
        web: &Web,
        kind: &'static str,
        title: String,
        description_html: &str,
        path: &str,
        image: &str,
    ) -> Preview {
        let base = web.kring.config.base_url();
        let description = excerpt(description_html, 200);
        // Only our own paths: a preview never sends a reader's app to another server.
        let own = |p: &str| {
            if p.starts_with('/') && !p.starts_with("//") {
                format!("{base}{p}")
            } else {
                format!("{base}/")
            }
        };
        Preview {
            kind,
            title,
            description,
            url: own(path),
            image: own(image),
        }
    }
}

/// A post's text on one line, cut to `max` characters (with "…").
pub fn excerpt(html: &str, max: usize) -> String {
    let text = kring_core::text::html_to_text(html);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > max {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    } else {
        text
    }
}

impl Chrome {
    pub fn is(&self, nav: &str) -> bool {
        self.nav == nav
    }
}

impl Web {
    pub async fn chrome(
        &self,
        viewer: Option<&Viewer>,
        title: impl Into<String>,
        nav: &'static str,
        path: impl Into<String>,
    ) -> Result<Chrome, WebError> {
        let csrf = match viewer {
            Some(v) => v.csrf.clone(),
            None => self.anon_csrf(0).await?,
        };
        let count = |n: i64| match n {
            0 => String::new(),
            n if n > 99 => "99+".into(),
            n => n.to_string(),
        };
        let frame = self.kring.page_frame(viewer.map(|v| &v.actor), 100).await?;
        let badges = frame.badges.unwrap_or_default();
        Ok(Chrome {
            site: frame.title,
            title: title.into(),
            me: viewer.map(|v| Me {
                id: v.actor.id().to_string(),
                acct: v.actor.account.username.clone(),
                name: display_name(&v.actor.account),
                path: account_path(&v.actor.account),
                staff: v.actor.is_staff(),
                unread: count(badges.unread_notifications),
                open_reports: count(badges.open_reports.unwrap_or(0)),
                approvals: count(badges.pending_requests),
                chats: count(badges.chat_unread + badges.chat_requests),
            }),
            csrf,
            nav,
            path: path.into(),
            css: assets::url("kring.css"),
            js: assets::url("kring.js"),
            icon: assets::url("favicon.svg"),
            preview: None,
        })
    }
}

pub fn display_name(a: &Account) -> String {
    if a.display_name.trim().is_empty() {
        a.username.clone()
    } else {
        a.display_name.clone()
    }
}

/// The profile page of an account on this server's web interface.
pub fn account_path(a: &Account) -> String {
    format!("/@{}", a.acct())
}

pub fn status_path(acct: &str, id: Id) -> String {
    format!("/@{acct}/{id}")
}

pub fn time_label(micros: i64) -> String {
    use chrono::{Datelike, Timelike};
    let t = to_datetime(micros);
    // Written field by field: `format` parses its pattern on every call, and every post card
    // has a time (~4 % of the web home page's CPU, BENCHMARKS.md, session 26). Years of more
    // or fewer than four digits take the pattern's way (a sign before them).
    if !(0..=9999).contains(&t.year()) {
        return t.format("%Y-%m-%d %H:%M UTC").to_string();
    }
    // The digits pushed one by one, not through `format!`'s padding machinery (still ~1.6 %
    // of the web home page's samples with five padded numbers a card, session 27).
    let mut out = String::with_capacity(20);
    // A year within 0..=9999 (above) is never negative.
    push_padded(&mut out, t.year().unsigned_abs(), 4);
    for (sep, n) in [
        ('-', t.month()),
        ('-', t.day()),
        (' ', t.hour()),
        (':', t.minute()),
    ] {
        out.push(sep);
        push_padded(&mut out, n, 2);
    }
    out.push_str(" UTC");
    out
}

/// `n` in decimal, zero-padded to at least `width` digits (as `{:0width$}` writes it). By
/// hand: a few lines, and the digit crates (`itoa`) do not pad.
fn push_padded(out: &mut String, n: u32, width: usize) {
    let mut digits = [b'0'; 10];
    let (mut at, mut rest) = (digits.len(), n);
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let from = at.min(digits.len().saturating_sub(width));
    out.extend(digits[from..].iter().map(|d| char::from(*d)));
}

/// A report's category in words: the same on the report form and in the moderators' view,
/// so what the reporter chose is what the moderator reads.
pub fn category_label(c: kring_core::model::ReportCategory) -> &'static str {
    use kring_core::model::ReportCategory;
    match c {
        ReportCategory::Spam => "Spam",
        ReportCategory::Legal => "Illegal content",
        ReportCategory::Violation => "Breaks this server's rules",
        ReportCategory::Other => "Something else",
    }
}

pub fn visibility_label(v: Visibility) -> &'static str {
    match v {
        Visibility::Public => "Public",
        Visibility::Unlisted => "Unlisted",
        Visibility::Private => "Followers only",
        Visibility::Friends => "Friends only",
        Visibility::Circle => "Circles",
        Visibility::Group => "Group members",
        Visibility::Direct => "Mentioned people only",
    }
}

/// An account as lists and cards show it.
pub struct AccountCard {
    pub id: String,
    pub name: String,
    /// `user@domain`, with this server's domain for local accounts.
    pub handle: String,
    pub path: String,
    /// The profile's address on its own server (for remote accounts).
    pub url: String,
    pub note_html: String,
    pub locked: bool,
    pub bot: bool,
    pub local: bool,
    pub avatar: String,
    /// The profile's header image, if it has one.
    pub header: Option<String>,
}

impl AccountCard {
    pub fn new(kring: &Kring, a: &Account) -> AccountCard {
        AccountCard {
            id: a.id.to_string(),
            name: display_name(a),
            handle: handle(kring, a),
            path: account_path(a),
            url: a.web_url().to_string(),
            note_html: a.note_html.clone(),
            locked: a.locked,
            bot: a.bot,
            local: a.is_local(),
            avatar: avatar(a),
            header: profile_image_path(a, ProfileImage::Header),
        }
    }
}

pub fn handle(kring: &Kring, a: &Account) -> String {
    match &a.domain {
        Some(d) => format!("{}@{d}", a.username),
        None => format!("{}@{}", a.username, kring.config.domain),
    }
}

/// A profile field: the name as text, the value as safe HTML (local values are text, linked
/// when they are a URL; remote values arrive sanitised).
pub struct FieldView {
    pub name: String,
    pub value_html: String,
}

pub fn fields(a: &Account) -> Vec<FieldView> {
    a.fields
        .iter()
        .map(|f| FieldView {
            name: f.name.clone(),
            value_html: a.field_html(f),
        })
        .collect()
}

pub struct Person {
    pub name: String,
    pub handle: String,
    pub path: String,
    pub avatar: String,
}

impl Person {
    pub fn new(kring: &Kring, a: &Account) -> Person {
        Person {
            name: display_name(a),
            handle: handle(kring, a),
            path: account_path(a),
            avatar: avatar(a),
        }
    }
}

/// An account's avatar on this server: remote ones through the media proxy, the default
/// picture when there is none.
pub fn avatar(a: &Account) -> String {
    profile_image_path(a, ProfileImage::Avatar).unwrap_or_else(|| assets::url("avatar.svg").into())
}

/// Posts whose HTML is longer than this are folded in timelines ("Show more"): about 15 lines
/// of text, so a long post does not push everything else off the screen.
const LONG_POST_BYTES: usize = 1200;

/// A post as the timeline shows it (a boost shows its original, with who boosted it).
pub struct PostCard {
    pub id: String,
    pub author_id: String,
    pub path: String,
    pub author: Person,
    pub boosted_by: Option<Person>,
    pub content: String,
    pub spoiler: String,
    pub visibility: &'static str,
    /// Kept on this server (never sent to others).
    pub local_only: bool,
    pub created_iso: String,
    pub created: String,
    pub edited: bool,
    pub reply_to: Option<String>,
    /// Whom the post answers ("@bob", "@bob@example.org"), when known.
    pub reply_to_handle: Option<String>,
    /// Long enough to be folded behind "Show more" in lists (never on its own page).
    pub long: bool,
    pub replies: i64,
    pub reblogs: i64,
    pub favourites: i64,
    pub favourited: bool,
    pub reblogged: bool,
    pub bookmarked: bool,
    pub own: bool,
    pub signed_in: bool,
    /// What the viewer may do with it (the service's rules, [`PostCard::gate`]): only what
    /// they may is offered as a working control, and the rest says why.
    pub reply: Gate,
    pub boost: Gate,
    pub favourite: Gate,
    /// Titles of the viewer's "warn" filters that match.
    pub filtered: Vec<String>,
    /// The post a thread page is about.
    pub focus: bool,
    /// The post it quotes, shown inside it (or why it is not).
    pub quote: Option<QuotedCard>,
    /// Whether the viewer may quote it (or ask to), so Quote is offered only then.
    pub may_quote: bool,
    /// Its attachments; `sensitive` ones are shown behind a button.
    pub media: Vec<crate::media_view::MediaCard>,
    pub sensitive: bool,
}

/// A quoted post inside a post: shown when the quote is accepted and the viewer may read
/// the quoted post; otherwise a note saying why not.
pub struct QuotedCard {
    pub shown: Option<QuotedPost>,
    pub note: &'static str,
}

pub struct QuotedPost {
    pub path: String,
    pub author: Person,
    pub content: String,
    pub spoiler: String,
}

impl QuotedCard {
    fn new(kring: &Kring, q: &kring_service::quotes::QuoteView) -> QuotedCard {
        let shown = q.quoted.as_deref().map(|i| QuotedPost {
            path: status_path(&i.account.acct(), i.status.id),
            author: Person::new(kring, &i.account),
            content: i.status.content.clone(),
            spoiler: i.status.spoiler_text.clone(),
        });
        let note = match q.state {
            "accepted" if shown.is_some() => "",
            "pending" => "Quoted post awaiting its author's approval",
            "rejected" => "Its author did not allow this quote",
            "revoked" => "Its author withdrew their approval of this quote",
            "deleted" => "The quoted post is no longer available",
            _ => "The quoted post is not available to you",
        };
        QuotedCard { shown, note }
    }
}

impl PostCard {
    pub fn new(kring: &Kring, viewer: Option<Id>, v: &StatusView) -> PostCard {
        let (shown, boosted_by) = match &v.reblog {
            Some(inner) => (inner.as_ref(), Some(Person::new(kring, &v.account))),
            None => (v, None),
        };
        let s = &shown.status;
        PostCard {
            id: s.id.to_string(),
            author_id: shown.account.id.to_string(),
            path: status_path(&shown.account.acct(), s.id),
            author: Person::new(kring, &shown.account),
            boosted_by,
            content: s.content.clone(),
            spoiler: s.spoiler_text.clone(),
            visibility: visibility_label(s.visibility),
            local_only: s.local_only,
            created_iso: rfc3339(s.created_at),
            created: time_label(s.created_at),
            edited: s.edited_at.is_some(),
            reply_to: s.in_reply_to_id.map(|id| format!("/statuses/{id}")),
            reply_to_handle: s.in_reply_to_account_id.and_then(|to| {
                if to == shown.account.id {
                    Some(handle(kring, &shown.account))
                } else {
                    shown
                        .mentions
                        .iter()
                        .find(|m| m.id == to)
                        .map(|m| handle(kring, m))
                }
            }),
            long: s.content.len() > LONG_POST_BYTES,
            replies: s.replies_count,
            reblogs: s.reblogs_count,
            favourites: s.favourites_count,
            favourited: shown.favourited.unwrap_or(false),
            reblogged: shown.reblogged.unwrap_or(false),
            bookmarked: shown.bookmarked.unwrap_or(false),
            own: viewer == Some(s.account_id),
            signed_in: viewer.is_some(),
            reply: Gate::open(),
            boost: Gate::open(),
            favourite: Gate::open(),
            filtered: v.filtered.iter().map(|m| m.filter.title.clone()).collect(),
            focus: false,
            quote: shown.quote.as_ref().map(|q| QuotedCard::new(kring, q)),
            may_quote: matches!(shown.quote_current_user, "automatic" | "manual"),
            media: crate::media_view::cards(&shown.media),
            sensitive: s.sensitive,
        }
    }

    /// Set what the viewer may do with the post, from the service's answer for the page.
    pub fn gate(&mut self, v: &StatusView, viewer: Id, p: &HashMap<Id, PostPermissions>) {
        let shown = v.reblog.as_deref().unwrap_or(v);
        let p = p
            .get(&shown.status.id)
            .copied()
            .unwrap_or_else(PostPermissions::all);
        [self.reply, self.boost, self.favourite] =
            crate::pages::policy::gates(&p, &shown.status, viewer);
    }
}

impl Web {
    /// The cards of a page of posts, each saying what the viewer may do with it.
    pub async fn cards(
        &self,
        viewer: Option<&Actor>,
        views: &[StatusView],
    ) -> Result<Vec<PostCard>, WebError> {
        let kring = &self.kring;
        let mut cards: Vec<PostCard> = views
            .iter()
            .map(|v| PostCard::new(kring, viewer.map(|a| a.id()), v))
            .collect();
        if let Some(a) = viewer {
            let p = kring.post_permissions(a, views).await?;
            for (card, v) in cards.iter_mut().zip(views) {
                card.gate(v, a.id(), &p);
            }
        }
        Ok(cards)
    }

    /// One post's card ([`cards`](Self::cards)).
    pub async fn card(
        &self,
        viewer: Option<&Actor>,
        view: &StatusView,
    ) -> Result<PostCard, WebError> {
        let mut cards = self.cards(viewer, std::slice::from_ref(view)).await?;
        cards.pop().ok_or_else(WebError::not_found)
    }
}

/// `?max_id=` paging, as the Mastodon API pages.
#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    pub max_id: Option<String>,
}

impl PageQuery {
    pub fn page(&self, limit: usize) -> Page {
        Page {
            max_id: self.max_id.as_deref().and_then(|m| m.parse::<Id>().ok()),
            limit,
            ..Page::default()
        }
    }
}

/// The "older" link of a page: `path?max_id=LAST` when the page was full.
pub fn older_link(path: &str, keys: &[Id], limit: usize) -> Option<String> {
    if keys.len() < limit {
        return None;
    }
    let last = keys.last()?;
    let sep = if path.contains('?') { '&' } else { '?' };
    Some(format!("{path}{sep}max_id={last}"))
}

/// A local path to come back to after a form, never another site.
pub fn safe_back(back: Option<&str>, fallback: &str) -> String {
    match back {
        Some(b)
            if b.starts_with('/')
                && !b.starts_with("//")
                && !b.starts_with("/\\")
                && !b.contains(['\r', '\n']) =>
        {
            b.to_string()
        }
        _ => fallback.to_string(),
    }
}

pub fn url_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_labels_are_what_the_pattern_writes() {
        let pattern = |m: i64| to_datetime(m).format("%Y-%m-%d %H:%M UTC").to_string();
        for m in [
            0,
            -1,
            1_764_000_000_123_456,
            1_709_164_740_000_000,   // 2024-02-28 23:59
            253_402_300_799_000_000, // 9999-12-31 23:59:59
            253_402_300_800_000_000, // 10000-01-01
            -62_198_755_200_000_000, // before year 0
        ] {
            assert_eq!(time_label(m), pattern(m), "{m}");
        }
        assert_eq!(time_label(1_709_164_740_000_000), "2024-02-28 23:59 UTC");
        for (n, width) in [
            (0, 4),
            (7, 2),
            (42, 2),
            (123, 2),
            (2024, 4),
            (u32::MAX, 4),
            (5, 0),
        ] {
            let mut out = String::new();
            push_padded(&mut out, n, width);
            assert_eq!(out, format!("{n:0width$}"), "{n} {width}");
        }
    }
}
