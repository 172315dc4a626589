//! Interaction controls on the web: who may reply to, boost and favourite a post — chosen per
//! post in the composer and as defaults in the settings — what a post's buttons say when its
//! author's choice stands in the way, and the approval queue where the author answers what
//! waits for them. The service decides and records all of it (`kring_service::interactions`);
//! this module only turns its rules into form choices and back. Quote controls are not offered
//! here yet: quote posts themselves come later.
use askama::Template;
use axum::extract::{OriginalUri, Path, Query, State};
use kring_core::model::Status;
use kring_core::{Approval, Error, Interaction, InteractionPolicy, Rule, Visibility, Who};
use kring_service::interactions::{
    Offer, PolicyInput, PostPermissions, RequestQuery, RequestView, RuleInput,
};
use kring_service::{Actor, Id};
use serde::Deserialize;

use super::{NoFields, SelectOption, id, path_of, render, see};
use crate::Web;
use crate::error::{WebError, WebResult};
use crate::session::{Posted, Viewer};
use crate::view::{Chrome, PageQuery, Person, excerpt, older_link, status_path};

/// Whom a choice names, in the form's words; the first four from widest to narrowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whom {
    Everyone,
    Followers,
    Friends,
    Mentioned,
    Nobody,
}

impl Whom {
    const ALL: [Whom; 5] = [
        Whom::Everyone,
        Whom::Followers,
        Whom::Friends,
        Whom::Mentioned,
        Whom::Nobody,
    ];

    fn value(self) -> &'static str {
        match self {
            Whom::Everyone => "public",
            Whom::Followers => "followers",
            Whom::Friends => "friends",
            Whom::Mentioned => "mentioned",
            Whom::Nobody => "nobody",
        }
    }

    fn parse(s: &str) -> Option<Whom> {
        Whom::ALL.into_iter().find(|w| w.value() == s)
    }

    fn who(self) -> Option<Who> {
        match self {
            Whom::Everyone => Some(Who::Public),
            Whom::Followers => Some(Who::Followers),
            Whom::Friends => Some(Who::Friends),
            Whom::Mentioned => Some(Who::Mentioned),
            Whom::Nobody => None,
        }
    }

    fn of(who: Who) -> Option<Whom> {
        Whom::ALL.into_iter().find(|w| w.who() == Some(who))
    }

    /// The service's word for it (GoToSocial's keywords, as the client API takes them).
    fn input(self) -> Vec<String> {
        match self {
            Whom::Everyone => vec!["public".into()],
            Whom::Followers => vec!["followers".into()],
            Whom::Friends => vec!["mutuals".into()],
            Whom::Mentioned => vec!["mentioned".into()],
            Whom::Nobody => Vec::new(),
        }
    }

    fn at_once_label(self) -> &'static str {
        match self {
            Whom::Everyone => "Everyone",
            Whom::Followers => "Followers",
            Whom::Friends => "Friends",
            Whom::Mentioned => "Only people mentioned",
            Whom::Nobody => "Nobody but you",
        }
    }

    fn approval_label(self) -> &'static str {
        match self {
            Whom::Everyone => "Everyone else",
            Whom::Followers => "Followers",
            Whom::Friends => "Friends",
            Whom::Mentioned => "People mentioned",
            Whom::Nobody => "No one else",
        }
    }
}

/// The interactions the web offers choices for: form field, heading.
const KINDS: [(Interaction, &str, &str); 3] = [
    (Interaction::Reply, "can_reply", "Who can reply"),
    (Interaction::Reblog, "can_reblog", "Who can boost"),
    (Interaction::Favourite, "can_favourite", "Who can favourite"),
];

/// The widest choice naming someone allowed with `approval` by the rule (Nobody: none).
fn widest(rule: &Rule, approval: Approval) -> Whom {
    Whom::ALL
        .into_iter()
        .find(|w| w.who().is_some_and(|who| rule.get(who) == Some(approval)))
        .unwrap_or(Whom::Nobody)
}

/// One interaction's two choices: who may do it at once, who may ask for approval.
pub struct PolicyRow {
    pub field: &'static str,
    pub legend: &'static str,
    pub at_once: Vec<SelectOption>,
    pub approval: Vec<SelectOption>,
}

/// The interaction choices of a form (`_policy.html`).
pub struct PolicyChoices {
    /// Prefix of the controls' ids (the composer and the settings may share a page).
    pub prefix: &'static str,
    pub legend: &'static str,
    pub rows: Vec<PolicyRow>,
    /// The policy says more than these choices can (accounts named one by one, people the
    /// author follows: set through an app): saving replaces that.
    pub custom: bool,
}

impl PolicyChoices {
    /// The choices showing `policy`.
    pub fn new(prefix: &'static str, legend: &'static str, policy: &InteractionPolicy) -> Self {
        let mut custom = false;
        let rows = KINDS
            .iter()
            .map(|&(i, field, legend)| {
                let rule = policy.rule(i);
                let at_once = widest(rule, Approval::Automatic);
                let mut manual = widest(rule, Approval::Manual);
                // Asking adds nothing for those already allowed at once.
                if (manual as u8) >= (at_once as u8) {
                    manual = Whom::Nobody;
                }
                custom |= rule.entries().any(|(w, _)| Whom::of(w).is_none());
                row(field, legend, at_once, manual)
            })
            .collect();
        PolicyChoices {
            prefix,
            legend,
            rows,
            custom,
        }
    }

    /// The choices as a refused form sent them (its defaults where it sent none).
    pub fn from_form(
        prefix: &'static str,
        legend: &'static str,
        form: &PolicyForm,
        default: &InteractionPolicy,
    ) -> Self {
        let mut c = PolicyChoices::new(prefix, legend, default);
        for (r, &(_, field, legend)) in c.rows.iter_mut().zip(KINDS.iter()) {
            if let Some((at_once, manual)) = form.choice(field) {
                *r = row(field, legend, at_once, manual);
            }
        }
        c
    }
}

fn row(field: &'static str, legend: &'static str, at_once: Whom, manual: Whom) -> PolicyRow {
    let options = |chosen: Whom, label: fn(Whom) -> &'static str| {
        Whom::ALL
            .into_iter()
            .map(|w| SelectOption {
                value: w.value(),
                label: label(w),
                selected: w == chosen,
            })
            .collect()
    };
    PolicyRow {
        field,
        legend,
        at_once: options(at_once, Whom::at_once_label),
        approval: options(manual, Whom::approval_label),
    }
}

/// The interaction choices as a form sends them: `can_reply` (who at once) and
/// `can_reply_approval` (who may ask), and the same for boosts and favourites.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    can_reply: Option<String>,
    #[serde(default)]
    can_reply_approval: Option<String>,
    #[serde(default)]
    can_reblog: Option<String>,
    #[serde(default)]
    can_reblog_approval: Option<String>,
    #[serde(default)]
    can_favourite: Option<String>,
    #[serde(default)]
    can_favourite_approval: Option<String>,
}

impl PolicyForm {
    pub fn from_fields(f: &super::Fields) -> PolicyForm {
        let get = |n: &str| f.get(n).map(str::to_string);
        PolicyForm {
            can_reply: get("can_reply"),
            can_reply_approval: get("can_reply_approval"),
            can_reblog: get("can_reblog"),
            can_reblog_approval: get("can_reblog_approval"),
            can_favourite: get("can_favourite"),
            can_favourite_approval: get("can_favourite_approval"),
        }
    }

    fn fields(&self, field: &str) -> (Option<&str>, Option<&str>) {
        let (a, m) = match field {
            "can_reply" => (&self.can_reply, &self.can_reply_approval),
            "can_reblog" => (&self.can_reblog, &self.can_reblog_approval),
            _ => (&self.can_favourite, &self.can_favourite_approval),
        };
        (a.as_deref(), m.as_deref())
    }

    /// One interaction's choices, when the form sent them and they are ones it offers.
    fn choice(&self, field: &str) -> Option<(Whom, Whom)> {
        let (a, m) = self.fields(field);
        Some((Whom::parse(a?)?, m.map_or(Some(Whom::Nobody), Whom::parse)?))
    }

    /// What the form asks for, for the service; None when it sent no choices at all (a
    /// form without them: the defaults apply).
    pub fn input(&self) -> Result<Option<PolicyInput>, Error> {
        let mut input = PolicyInput::default();
        let mut any = false;
        for &(i, field, _) in &KINDS {
            let (a, m) = self.fields(field);
            if a.is_none() && m.is_none() {
                continue;
            }
            let (at_once, manual) = self
                .choice(field)
                .ok_or_else(|| Error::validation("Choose who can interact from the list."))?;
            let rule = RuleInput {
                automatic: at_once.input(),
                manual: manual.input(),
            };
            any = true;
            match i {
                Interaction::Reply => input.can_reply = Some(rule),
                Interaction::Reblog => input.can_reblog = Some(rule),
                _ => input.can_favourite = Some(rule),
            }
        }
        Ok(any.then_some(input))
    }
}

/// The policy a person's composer starts from: their default for `visibility`, with boosts
/// as for their public posts (the service keeps narrower posts from being boosted whatever
/// is chosen, so a narrower default audience never hides the boost choice they made).
pub fn composer_default(
    defaults: &kring_core::PolicyDefaults,
    visibility: Visibility,
) -> InteractionPolicy {
    let mut p = defaults
        .slot(visibility)
        .clone()
        .unwrap_or_else(InteractionPolicy::everyone);
    p.can_reblog = defaults.for_visibility(Visibility::Public).can_reblog;
    p
}

// --- a post's buttons ---------------------------------------------------------------------------

/// What a post's button for one interaction says to the viewer.
pub struct Gate {
    /// Offered as a working control.
    pub offered: bool,
    /// It waits for the author's approval.
    pub approval: bool,
    /// Why it is not offered, in words.
    pub why: String,
}

impl Gate {
    pub fn open() -> Gate {
        Gate {
            offered: true,
            approval: false,
            why: String::new(),
        }
    }
}

/// The viewer's three gates on `s`.
pub fn gates(p: &PostPermissions, s: &Status, viewer: Id) -> [Gate; 3] {
    let gate = |offer: Offer, i: Interaction| match offer {
        Offer::Yes => Gate::open(),
        Offer::AfterApproval => Gate {
            approval: true,
            ..Gate::open()
        },
        Offer::No => Gate {
            offered: false,
            approval: false,
            why: why_not(s, i, viewer),
        },
    };
    [
        gate(p.reply, Interaction::Reply),
        gate(p.reblog, Interaction::Reblog),
        gate(p.favourite, Interaction::Favourite),
    ]
}

/// Why the viewer may not do `i` with `s`: the post's own state first, then whom its author
/// allows.
fn why_not(s: &Status, i: Interaction, viewer: Id) -> String {
    let verb = match i {
        Interaction::Reply => "reply",
        Interaction::Reblog => "boost",
        Interaction::Favourite => "favourite",
        Interaction::Quote => "quote",
    };
    if s.pending_approval_by.is_some() {
        return "Waiting for approval".into();
    }
    if i == Interaction::Reblog && !kring_service::statuses::may_reblog(viewer, s) {
        return "Only public and unlisted posts can be boosted".into();
    }
    let rule = s.policy().rule(i).clone();
    let mut groups: Vec<&str> = Vec::new();
    for (w, _) in rule.entries() {
        let g = match w {
            Who::Public => continue,
            Who::Followers => "followers",
            Who::Following => "people the author follows",
            Who::Friends => "friends",
            Who::Mentioned => "people mentioned",
            Who::Account(_) => "people the author chose",
        };
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    if groups.is_empty() {
        format!("The author turned off {}", plural(i))
    } else {
        format!("Only {} can {verb}", groups.join(" and "))
    }
}

fn plural(i: Interaction) -> &'static str {
    match i {
        Interaction::Reply => "replies",
        Interaction::Reblog => "boosts",
        Interaction::Favourite => "favourites",
        Interaction::Quote => "quotes",
    }
}

/// What the in-place answer says after an interaction that now waits for approval.
pub const SENT_FOR_APPROVAL: &str = "Sent: it counts once the author approves it.";

/// The clear refusal of a boost the author's choice does not allow (the service's words are
/// the Mastodon API's).
pub fn boost_refused(e: Error) -> Error {
    match e {
        Error::Forbidden(_) => Error::forbidden(
            "Boosting this post is not allowed: its author doesn't allow it, or its audience is too narrow.",
        ),
        e => e,
    }
}

// --- the approval queue -------------------------------------------------------------------------

/// One interaction waiting for the viewer's answer.
pub struct RequestItem {
    pub id: String,
    pub who: Person,
    pub text: &'static str,
    pub created: String,
    pub created_iso: String,
    /// The post interacted with.
    pub target_path: String,
    pub target_excerpt: String,
    /// The reply, for a reply.
    pub reply_html: Option<String>,
    pub reply_spoiler: String,
}

fn request_text(kind: Interaction) -> &'static str {
    match kind {
        Interaction::Reply => "wants to reply to your post",
        Interaction::Reblog => "wants to boost your post",
        Interaction::Favourite => "wants to favourite your post",
        Interaction::Quote => "wants to quote your post",
    }
}

impl RequestItem {
    fn new(web: &Web, r: &RequestView) -> RequestItem {
        let target = &r.status;
        RequestItem {
            id: r.request.id.to_string(),
            who: Person::new(&web.kring, &r.account),
            text: request_text(r.request.kind),
            created: crate::view::time_label(r.request.created_at),
            created_iso: kring_core::time::rfc3339(r.request.created_at),
            target_path: status_path(&target.account.acct(), target.status.id),
            target_excerpt: match excerpt(&target.status.content, 140) {
                t if t.is_empty() => "(a post without text)".into(),
                t => t,
            },
            reply_html: r.reply.as_ref().map(|v| v.status.content.clone()),
            reply_spoiler: r
                .reply
                .as_ref()
                .map(|v| v.status.spoiler_text.clone())
                .unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "interaction_requests.html")]
struct Requests {
    c: Chrome,
    items: Vec<RequestItem>,
    older: Option<String>,
}

const QUEUE_PAGE: usize = 20;

/// `GET /interaction_requests`: what waits for the viewer's approval, newest first.
pub async fn queue(
    State(web): State<Web>,
    v: Viewer,
    uri: OriginalUri,
    Query(q): Query<PageQuery>,
) -> WebResult {
    let list = web
        .kring
        .interaction_requests(&v.actor, &RequestQuery::default(), &q.page(QUEUE_PAGE))
        .await?;
    let keys: Vec<Id> = list.iter().map(|r| r.request.id).collect();
    let c = web
        .chrome(
            Some(&v),
            "Awaiting your approval",
            "notifications",
            path_of(&uri),
        )
        .await?;
    render(&Requests {
        c,
        items: list.iter().map(|r| RequestItem::new(&web, r)).collect(),
        older: older_link("/interaction_requests", &keys, QUEUE_PAGE),
    })
}

/// `POST /interaction_requests/{id}/accept` or `…/reject`.
pub async fn answer(
    State(web): State<Web>,
    Path((raw, action)): Path<(String, String)>,
    p: Posted<NoFields>,
) -> WebResult {
    let rid = id(&raw)?;
    let actor: &Actor = &p.viewer.actor;
    match action.as_str() {
        "accept" => web.kring.approve_interaction(actor, rid).await?,
        "reject" => web.kring.reject_interaction(actor, rid).await?,
        _ => return Err(WebError::not_found()),
    };
    see("/interaction_requests")
}
