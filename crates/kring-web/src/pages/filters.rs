//! Filters: the list of one's keyword filters, a form for a new one, and an edit page. The
//! keywords are a text box, one per line; saving turns the lines into the service's keyword
//! changes (add the new lines, keep the unchanged, remove the missing).
use askama::Template;
use axum::extract::{Path, Query, State};
use kring_core::Error;
use kring_core::model::{Filter, FilterAction};
use kring_core::time::now_micros;
use kring_service::filters::FilterRequest;
use serde::Deserialize;

use super::settings::SavedQuery;
use super::{NoFields, SelectOption, checked, form_status, id, render_status, see};
use crate::Web;
use crate::error::{WebResult, message};
use crate::session::{Posted, Viewer};
use crate::view::{Chrome, time_label};

/// The contexts a filter applies in, as the form names and labels them.
const CONTEXTS: [(&str, &str); 5] = [
    ("home", "Home feed and lists"),
    ("notifications", "Notifications"),
    ("public", "Public timelines"),
    ("thread", "Threads"),
    ("account", "Profiles"),
];

/// Expiry choices: seconds from now ("never" clears it; "keep" leaves it as it is).
const EXPIRIES: [(&str, &str); 8] = [
    ("keep", "Keep as it is"),
    ("never", "Never"),
    ("1800", "In 30 minutes"),
    ("3600", "In an hour"),
    ("21600", "In 6 hours"),
    ("43200", "In 12 hours"),
    ("86400", "In a day"),
    ("604800", "In a week"),
];

/// One checkbox of the contexts.
pub struct ContextBox {
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// The form's values (from a filter, or as posted back with an error).
pub struct FilterFields {
    pub title: String,
    pub keywords: String,
    pub whole_word: bool,
    pub contexts: Vec<ContextBox>,
    pub actions: Vec<SelectOption>,
    pub expiries: Vec<SelectOption>,
    /// When the filter stops applying, if it has an end.
    pub expires: Option<String>,
}

/// A filter as the list shows it.
pub struct FilterRow {
    pub id: String,
    pub title: String,
    pub keywords: String,
    pub contexts: String,
    pub action: &'static str,
    pub expires: Option<String>,
    pub expired: bool,
}

fn action_label(a: FilterAction) -> &'static str {
    match a {
        FilterAction::Warn => "Hide behind a warning",
        FilterAction::Hide => "Hide completely",
        FilterAction::Blur => "Blur media",
    }
}

fn action_value(a: FilterAction) -> &'static str {
    match a {
        FilterAction::Warn => "warn",
        FilterAction::Hide => "hide",
        FilterAction::Blur => "blur",
    }
}

fn parse_action(s: &str) -> Option<FilterAction> {
    match s {
        "warn" => Some(FilterAction::Warn),
        "hide" => Some(FilterAction::Hide),
        "blur" => Some(FilterAction::Blur),
        _ => None,
    }
}

impl FilterFields {
    fn new(
        title: String,
        keywords: String,
        whole_word: bool,
        contexts: &[String],
        action: FilterAction,
        expiry: &str,
        expires_at: Option<i64>,
    ) -> FilterFields {
        // "Blur" is only offered to a filter that has it (Mastodon's media-only action).
        let mut actions = vec![FilterAction::Warn, FilterAction::Hide];
        if action == FilterAction::Blur {
            actions.push(FilterAction::Blur);
        }
        FilterFields {
            title,
            keywords,
            whole_word,
            contexts: CONTEXTS
                .iter()
                .map(|(value, label)| ContextBox {
                    value,
                    label,
                    checked: contexts.iter().any(|c| c == value),
                })
                .collect(),
            actions: actions
                .into_iter()
                .map(|a| SelectOption {
                    value: action_value(a),
                    label: action_label(a),
                    selected: a == action,
                })
                .collect(),
            expiries: EXPIRIES
                .iter()
                .filter(|(v, _)| *v != "keep" || expires_at.is_some())
                .map(|(value, label)| SelectOption {
                    value,
                    label,
                    selected: *value == expiry,
                })
                .collect(),
            expires: expires_at.map(time_label),
        }
    }

    fn of(f: &Filter) -> FilterFields {
        let keywords: Vec<&str> = f.keywords.iter().map(|k| k.keyword.as_str()).collect();
        FilterFields::new(
            f.title.clone(),
            keywords.join("\n"),
            !f.keywords.is_empty() && f.keywords.iter().all(|k| k.whole_word),
            &f.context,
            f.action,
            if f.expires_at.is_some() {
                "keep"
            } else {
                "never"
            },
            f.expires_at,
        )
    }

    fn blank() -> FilterFields {
        FilterFields::new(
            String::new(),
            String::new(),
            true,
            &[
                "home".to_string(),
                "public".to_string(),
                "thread".to_string(),
            ],
            FilterAction::Warn,
            "never",
            None,
        )
    }
}

#[derive(Deserialize, Default)]
pub struct FilterForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    keywords: String,
    #[serde(default)]
    whole_word: Option<String>,
    #[serde(default)]
    context_home: Option<String>,
    #[serde(default)]
    context_notifications: Option<String>,
    #[serde(default)]
    context_public: Option<String>,
    #[serde(default)]
    context_thread: Option<String>,
    #[serde(default)]
    context_account: Option<String>,
    #[serde(default)]
    action: String,
    #[serde(default)]
    expires_in: String,
}

impl FilterForm {
    fn contexts(&self) -> Vec<String> {
        [
            ("home", &self.context_home),
            ("notifications", &self.context_notifications),
            ("public", &self.context_public),
            ("thread", &self.context_thread),
            ("account", &self.context_account),
        ]
        .into_iter()
        .filter(|(_, v)| checked(v))
        .map(|(c, _)| c.to_string())
        .collect()
    }

    /// The distinct non-empty lines of the keywords box.
    fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for l in self
            .keywords
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(l)) {
                out.push(l.to_string());
            }
        }
        out
    }

    /// The service's request; `current` is the filter being edited.
    fn request(&self, current: Option<&Filter>) -> FilterRequest {
        let whole_word = checked(&self.whole_word);
        let lines = self.lines();
        let mut keywords = Vec::new();
        if let Some(f) = current {
            for k in &f.keywords {
                let keep = lines.contains(&k.keyword);
                keywords.push((Some(k.id), k.keyword.clone(), whole_word, !keep));
            }
        }
        for l in lines {
            if !current.is_some_and(|f| f.keywords.iter().any(|k| k.keyword == l)) {
                keywords.push((None, l, whole_word, false));
            }
        }
        FilterRequest {
            title: Some(self.title.clone()),
            context: Some(self.contexts()),
            action: parse_action(&self.action),
            expires_in: match self.expires_in.as_str() {
                "keep" | "" => None,
                "never" => Some(None),
                s => Some(s.parse::<i64>().ok().filter(|s| *s > 0)),
            },
            keywords,
        }
    }

    fn fields(&self, current: Option<&Filter>) -> FilterFields {
        FilterFields::new(
            self.title.clone(),
            self.keywords.clone(),
            checked(&self.whole_word),
            &self.contexts(),
            parse_action(&self.action).unwrap_or(FilterAction::Warn),
            &self.expires_in,
            current.and_then(|f| f.expires_at),
        )
    }
}

#[derive(Template)]
#[template(path = "settings_filters.html")]
struct FiltersPage {
    c: Chrome,
    section: &'static str,
    notice: Option<String>,
    error: Option<String>,
    filters: Vec<FilterRow>,
    form: FilterFields,
}

#[derive(Template)]
#[template(path = "settings_filter.html")]
struct FilterPage {
    c: Chrome,
    section: &'static str,
    notice: Option<String>,
    error: Option<String>,
    id: String,
    form: FilterFields,
}

fn notice(q: &SavedQuery) -> Option<String> {
    match q.saved.as_deref() {
        Some("created") => Some("The filter was added.".into()),
        Some("saved") => Some("The filter was saved.".into()),
        Some("deleted") => Some("The filter was deleted.".into()),
        _ => None,
    }
}

fn row(f: &Filter) -> FilterRow {
    let contexts: Vec<&str> = CONTEXTS
        .iter()
        .filter(|(v, _)| f.context.iter().any(|c| c == v))
        .map(|(_, l)| *l)
        .collect();
    let keywords: Vec<&str> = f.keywords.iter().map(|k| k.keyword.as_str()).collect();
    FilterRow {
        id: f.id.to_string(),
        title: f.title.clone(),
        keywords: keywords.join(", "),
        contexts: contexts.join(", "),
        action: action_label(f.action),
        expires: f.expires_at.map(time_label),
        expired: f.expires_at.is_some_and(|t| t <= now_micros()),
    }
}

async fn list_page(
    web: &Web,
    v: &Viewer,
    form: FilterFields,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult {
    let filters = web.kring.filters(&v.actor).await?;
    let c = web
        .chrome(Some(v), "Filters", "settings", "/settings/filters")
        .await?;
    render_status(
        form_status(&error),
        &FiltersPage {
            c,
            section: "filters",
            notice,
            error,
            filters: filters.iter().map(row).collect(),
            form,
        },
    )
}

pub async fn filters(State(web): State<Web>, v: Viewer, Query(q): Query<SavedQuery>) -> WebResult {
    list_page(&web, &v, FilterFields::blank(), notice(&q), None).await
}

pub async fn create(State(web): State<Web>, p: Posted<FilterForm>) -> WebResult {
    let actor = &p.viewer.actor;
    match web
        .kring
        .save_filter(actor, None, p.form.request(None))
        .await
    {
        Ok(_) => see("/settings/filters?saved=created"),
        Err(e @ Error::Validation(_)) => {
            list_page(
                &web,
                &p.viewer,
                p.form.fields(None),
                None,
                Some(message(&e)),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn edit_page(
    web: &Web,
    v: &Viewer,
    f: &Filter,
    form: FilterFields,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult {
    let path = format!("/settings/filters/{}", f.id);
    let c = web
        .chrome(Some(v), format!("Filter: {}", f.title), "settings", path)
        .await?;
    render_status(
        form_status(&error),
        &FilterPage {
            c,
            section: "filters",
            notice,
            error,
            id: f.id.to_string(),
            form,
        },
    )
}

pub async fn filter(
    State(web): State<Web>,
    v: Viewer,
    Path(raw): Path<String>,
    Query(q): Query<SavedQuery>,
) -> WebResult {
    let f = web.kring.filter(&v.actor, id(&raw)?).await?;
    edit_page(&web, &v, &f, FilterFields::of(&f), notice(&q), None).await
}

pub async fn save(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<FilterForm>,
) -> WebResult {
    let actor = &p.viewer.actor;
    let f = web.kring.filter(actor, id(&raw)?).await?;
    match web
        .kring
        .save_filter(actor, Some(f.id), p.form.request(Some(&f)))
        .await
    {
        Ok(saved) => see(&format!("/settings/filters/{}?saved=saved", saved.id)),
        Err(e @ Error::Validation(_)) => {
            let form = p.form.fields(Some(&f));
            edit_page(&web, &p.viewer, &f, form, None, Some(message(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(
    State(web): State<Web>,
    Path(raw): Path<String>,
    p: Posted<NoFields>,
) -> WebResult {
    web.kring.delete_filter(&p.viewer.actor, id(&raw)?).await?;
    see("/settings/filters?saved=deleted")
}
