//! Mastodon 4.x JSON entities, serialised straight from service views (borrowing, not copying).
//! Field names and shapes follow the Mastodon API; tests validate them against its OpenAPI schema.
use kring_core::model::{
    Account, App, Circle, Filter, FilterKeyword, FilterStatus, List, Marker, Relationship, Role,
    StatusEdit, Tag, User,
};
use kring_core::time::{date, rfc3339};
use kring_core::{Approval, Id, Interaction, InteractionPolicy, PolicyDefaults, Visibility, Who};
use kring_service::filters::FilterMatch;
use kring_service::interactions::RequestView;
use kring_service::media_proxy::{ProfileImage, profile_image_path};
use kring_service::views::{NotificationView, StatusView};
use serde::Serialize;

/// Where URLs point: the server's base URL.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub base: &'a str,
    /// Where local media files are given from when not this server (`[media.s3] public_url`).
    pub media: Option<&'a str>,
}

impl<'a> Ctx<'a> {
    pub fn new(base: &'a str, kring: &'a kring_service::Kring) -> Ctx<'a> {
        Ctx {
            base,
            media: kring.media_public_url(),
        }
    }

    /// Remote images are served through this server's media proxy, so apps never contact
    /// other servers on their own.
    fn image(&self, a: &Account, which: ProfileImage, missing: &str) -> String {
        match profile_image_path(a, which) {
            Some(p) if p.starts_with('/') => format!("{}{p}", self.base),
            Some(url) => url,
            None => format!("{}{missing}", self.base),
        }
    }
    pub fn avatar(&self, a: &Account) -> String {
        self.image(a, ProfileImage::Avatar, "/avatars/original/missing.png")
    }
    pub fn header(&self, a: &Account) -> String {
        self.image(a, ProfileImage::Header, "/headers/original/missing.png")
    }
}

#[derive(Serialize)]
pub struct Empty {}

#[derive(Serialize)]
pub struct FieldJson<'a> {
    pub name: &'a str,
    pub value: String,
    pub verified_at: Option<String>,
}

#[derive(Serialize)]
pub struct AccountJson<'a> {
    pub id: Id,
    pub username: &'a str,
    pub acct: String,
    pub display_name: &'a str,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub group: bool,
    pub created_at: String,
    pub note: &'a str,
    pub url: &'a str,
    pub uri: &'a str,
    pub avatar: String,
    pub avatar_static: String,
    pub header: String,
    pub header_static: String,
    pub followers_count: i64,
    pub following_count: i64,
    pub statuses_count: i64,
    pub last_status_at: Option<String>,
    pub hide_collections: bool,
    pub noindex: bool,
    pub emojis: [(); 0],
    pub roles: [(); 0],
    pub fields: Vec<FieldJson<'a>>,
    /// Where the account moved (Mastodon's `moved`), set where one account is shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved: Option<Box<AccountJson<'a>>>,
}

pub fn account<'a>(ctx: Ctx<'_>, a: &'a Account) -> AccountJson<'a> {
    AccountJson {
        id: a.id,
        username: &a.username,
        acct: a.acct(),
        display_name: &a.display_name,
        locked: a.locked,
        bot: a.bot,
        discoverable: a.discoverable,
        indexable: a.indexable,
        group: a.group,
        created_at: rfc3339(a.created_at),
        note: &a.note_html,
        url: a.web_url(),
        uri: &a.uri,
        avatar: ctx.avatar(a),
        avatar_static: ctx.avatar(a),
        header: ctx.header(a),
        header_static: ctx.header(a),
        followers_count: a.followers_count,
        following_count: a.following_count,
        statuses_count: a.statuses_count,
        last_status_at: a.last_status_at.map(date),
        hide_collections: a.hide_collections,
        noindex: !a.indexable,
        emojis: [],
        roles: [],
        fields: a
            .fields
            .iter()
            .map(|f| FieldJson {
                name: &f.name,
                value: a.field_html(f),
                verified_at: f.verified_at.map(rfc3339),
            })
            .collect(),
        moved: None,
    }
}

#[derive(Serialize)]
pub struct SourceJson<'a> {
    pub privacy: &'static str,
    pub sensitive: bool,
    pub language: Option<&'a str>,
    pub note: &'a str,
    pub fields: Vec<FieldJson<'a>>,
    pub follow_requests_count: i64,
    pub indexable: bool,
    pub hide_collections: bool,
    pub discoverable: bool,
}

#[derive(Serialize)]
pub struct RoleJson {
    pub id: String,
    pub name: &'static str,
    pub permissions: String,
    pub color: &'static str,
    pub highlighted: bool,
}

#[derive(Serialize)]
pub struct CredentialAccountJson<'a> {
    #[serde(flatten)]
    pub account: AccountJson<'a>,
    pub source: SourceJson<'a>,
    pub role: RoleJson,
}

pub fn credential_account<'a>(
    ctx: Ctx<'_>,
    a: &'a Account,
    u: &'a User,
    follow_requests: i64,
) -> CredentialAccountJson<'a> {
    let (id, name, permissions) = match u.role {
        Role::User => ("-99", "", "0"),
        Role::Moderator => ("2", "Moderator", "1308"),
        Role::Admin => ("3", "Admin", "1048575"),
    };
    CredentialAccountJson {
        account: account(ctx, a),
        source: SourceJson {
            privacy: u.default_visibility.mastodon_str(),
            sensitive: u.default_sensitive,
            language: u.default_language.as_deref(),
            note: &a.note,
            fields: a
                .fields
                .iter()
                .map(|f| FieldJson {
                    name: &f.name,
                    value: f.value.clone(),
                    verified_at: f.verified_at.map(rfc3339),
                })
                .collect(),
            follow_requests_count: follow_requests,
            indexable: a.indexable,
            hide_collections: a.hide_collections,
            discoverable: a.discoverable,
        },
        role: RoleJson {
            id: id.into(),
            name,
            permissions: permissions.into(),
            color: "",
            highlighted: u.role != Role::User,
        },
    }
}

#[derive(Serialize)]
pub struct MentionJson<'a> {
    pub id: Id,
    pub username: &'a str,
    pub url: &'a str,
    pub acct: String,
}

#[derive(Serialize)]
pub struct TagRefJson {
    pub name: String,
    pub url: String,
}

#[derive(Serialize)]
pub struct ApplicationRefJson<'a> {
    pub name: &'a str,
    pub website: Option<&'a str>,
}

#[derive(Serialize)]
pub struct FilterResultJson<'a> {
    pub filter: FilterJson<'a>,
    pub keyword_matches: Option<&'a [String]>,
    pub status_matches: Option<&'a [Id]>,
}

#[derive(Serialize)]
pub struct StatusJson<'a> {
    pub id: Id,
    pub uri: &'a str,
    pub url: Option<&'a str>,
    pub created_at: String,
    pub account: AccountJson<'a>,
    pub content: &'a str,
    pub visibility: &'static str,
    pub sensitive: bool,
    pub spoiler_text: &'a str,
    pub media_attachments: Vec<MediaAttachmentJson<'a>>,
    pub application: Option<ApplicationRefJson<'a>>,
    pub mentions: Vec<MentionJson<'a>>,
    pub tags: Vec<TagRefJson>,
    pub emojis: [(); 0],
    pub reblogs_count: i64,
    pub favourites_count: i64,
    pub replies_count: i64,
    pub in_reply_to_id: Option<Id>,
    pub in_reply_to_account_id: Option<Id>,
    pub reblog: Option<Box<StatusJson<'a>>>,
    pub poll: Option<()>,
    pub card: Option<()>,
    pub language: Option<&'a str>,
    pub text: Option<&'a str>,
    pub edited_at: Option<String>,
    /// glitch-soc's flag: kept on this server, never federated.
    pub local_only: bool,
    /// GoToSocial's: who may favourite, reply and boost (and Kring's `can_quote`).
    pub interaction_policy: InteractionPolicyJson,
    /// Mastodon 4.5: the post it quotes, and where the quote stands.
    pub quote: Option<QuoteJson<'a>>,
    /// Mastodon 4.5: who may quote it, and what that means for the viewer.
    pub quote_approval: QuoteApprovalJson,
    /// Mastodon 4.5: how many accepted quotes it has.
    pub quotes_count: i64,
    /// Kring's extensions (docs/api.md).
    pub kring: KringStatusJson,
    /// Truth Social's: the group the post is in. Before the viewer's marks: the kept
    /// renderings (`render.rs`) write those after the viewer-independent part.
    pub group: Option<GroupJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub favourited: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reblogged: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub muted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bookmarked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filtered: Option<Vec<FilterResultJson<'a>>>,
}

/// A group, in Truth Social's shape (Soapbox reads it), with Kring's own terms in `kring`.
#[derive(Serialize)]
pub struct GroupJson<'a> {
    pub id: Id,
    pub display_name: &'a str,
    pub note: &'a str,
    pub avatar: String,
    pub avatar_static: String,
    pub header: String,
    pub header_static: String,
    pub created_at: String,
    pub deleted_at: Option<String>,
    pub domain: &'a str,
    pub slug: &'a str,
    pub uri: &'a str,
    pub url: &'a str,
    pub locked: bool,
    pub discoverable: bool,
    /// `everyone` (public groups) or `members_only` (closed and private groups).
    pub group_visibility: &'static str,
    /// `public`, or `members_only` when the group's posts are for members.
    pub statuses_visibility: &'static str,
    pub membership_required: bool,
    pub members_count: i64,
    pub owner: Option<IdJson>,
    pub emojis: [(); 0],
    pub tags: [(); 0],
    pub source: GroupSourceJson<'a>,
    pub kring: KringGroupJson<'a>,
}

#[derive(Serialize)]
pub struct IdJson {
    pub id: Id,
}

#[derive(Serialize)]
pub struct GroupSourceJson<'a> {
    pub note: &'a str,
}

#[derive(Serialize)]
pub struct KringGroupJson<'a> {
    /// `public`, `closed` or `private`.
    pub kind: &'static str,
    pub members_only: bool,
    pub rules: &'a str,
    /// The account that stands for the group (follow it to join, as any Mastodon app does).
    pub acct: String,
}

pub fn group<'a>(
    ctx: Ctx<'_>,
    g: &'a kring_core::Group,
    a: &'a Account,
    owner: Option<Id>,
) -> GroupJson<'a> {
    GroupJson {
        id: g.id,
        display_name: &a.display_name,
        note: &a.note_html,
        avatar: ctx.avatar(a),
        avatar_static: ctx.avatar(a),
        header: ctx.header(a),
        header_static: ctx.header(a),
        created_at: rfc3339(g.created_at),
        deleted_at: None,
        domain: a.domain.as_deref().unwrap_or(""),
        slug: &a.username,
        uri: &a.uri,
        url: a.web_url(),
        locked: g.kind.needs_approval(),
        discoverable: a.discoverable,
        group_visibility: if g.kind == kring_core::GroupKind::Public {
            "everyone"
        } else {
            "members_only"
        },
        statuses_visibility: if g.posts_members_only() {
            "members_only"
        } else {
            "public"
        },
        membership_required: g.kind.needs_approval(),
        members_count: g.members_count,
        owner: owner.map(|id| IdJson { id }),
        emojis: [],
        tags: [],
        source: GroupSourceJson { note: &a.note },
        kring: KringGroupJson {
            kind: g.kind.as_str(),
            members_only: g.posts_members_only(),
            rules: &g.rules,
            acct: a.acct(),
        },
    }
}

/// Where the viewer stands with a group (Truth Social's `GroupRelationship`).
#[derive(Serialize)]
pub struct GroupRelationshipJson {
    pub id: Id,
    pub member: bool,
    pub requested: bool,
    /// Kring: invited to join (joining then needs no approval).
    pub invited: bool,
    pub blocked_by: bool,
    /// `owner`, `admin`, `moderator` (Kring's) or `user`; null when not a member.
    pub role: Option<&'static str>,
    pub muting: bool,
    pub notifying: Option<bool>,
    pub pending_requests: bool,
}

pub fn group_relationship(
    id: Id,
    m: Option<&kring_core::Membership>,
    pending_requests: bool,
) -> GroupRelationshipJson {
    use kring_core::Membership;
    GroupRelationshipJson {
        id,
        member: matches!(m, Some(Membership::Member { .. })),
        requested: matches!(m, Some(Membership::Requested { .. })),
        invited: matches!(m, Some(Membership::Invited { .. })),
        blocked_by: matches!(m, Some(Membership::Banned { .. })),
        role: m.and_then(|m| m.role()).map(group_role),
        muting: false,
        notifying: None,
        pending_requests,
    }
}

/// Truth Social calls a plain member's role `user`.
pub fn group_role(r: kring_core::GroupRole) -> &'static str {
    match r {
        kring_core::GroupRole::Member => "user",
        r => r.as_str(),
    }
}

/// A member and their role (Truth Social's `GroupMember`).
#[derive(Serialize)]
pub struct GroupMemberJson<'a> {
    pub id: Id,
    pub account: AccountJson<'a>,
    pub role: &'static str,
}

/// Mastodon 4.5's Quote (or, one level down, its ShallowQuote: the quoted post's id only).
#[derive(Serialize)]
pub struct QuoteJson<'a> {
    pub state: &'static str,
    /// The quoted post, when the viewer is shown it (null otherwise); absent in a shallow quote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quoted_status: Option<Option<Box<StatusJson<'a>>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quoted_status_id: Option<Id>,
}

/// Mastodon 4.5's QuoteApproval: `public`, `followers`, `following`, or
/// `unsupported_policy` for what Mastodon cannot say (friends, mentioned, named accounts).
#[derive(Serialize)]
pub struct QuoteApprovalJson {
    pub automatic: Vec<&'static str>,
    pub manual: Vec<&'static str>,
    pub current_user: &'static str,
}

fn quote_approval(p: &InteractionPolicy, current_user: &'static str) -> QuoteApprovalJson {
    let names = |a: Approval| {
        let mut v: Vec<&'static str> = p
            .can_quote
            .with_approval(a)
            .map(|w| match w {
                Who::Public => "public",
                Who::Followers => "followers",
                Who::Following => "following",
                _ => "unsupported_policy",
            })
            .collect();
        v.dedup();
        v
    };
    QuoteApprovalJson {
        automatic: names(Approval::Automatic),
        manual: names(Approval::Manual),
        current_user,
    }
}

fn quote<'a>(ctx: Ctx<'_>, v: &'a StatusView, shallow: bool) -> Option<QuoteJson<'a>> {
    let q = v.quote.as_ref()?;
    Some(if shallow {
        QuoteJson {
            state: q.state,
            quoted_status: None,
            quoted_status_id: q
                .quoted
                .as_ref()
                .map(|s| s.status.id)
                .or(q.quote.quoted_status_id)
                .filter(|_| q.state == "accepted"),
        }
    } else {
        QuoteJson {
            state: q.state,
            quoted_status: Some(
                q.quoted
                    .as_ref()
                    .map(|s| Box::new(status_inner(ctx, s, false, true))),
            ),
            quoted_status_id: None,
        }
    })
}

/// What Kring adds to a Status: the real audience behind the Mastodon label (`friends` and
/// `circle` posts are `private` to clients that do not know them).
#[derive(Serialize)]
pub struct KringStatusJson {
    pub visibility: &'static str,
    /// A reply or boost awaiting the approval of the author it answers (read by its author
    /// and that author only until then).
    pub pending_approval: bool,
}

/// GoToSocial's rules for one interaction: keywords (`author`, `public`, `followers`,
/// `following`, `mutuals`, `mentioned`) and actor URIs.
#[derive(Serialize)]
pub struct PolicyRulesJson {
    pub automatic_approval: Vec<String>,
    pub manual_approval: Vec<String>,
}

/// GoToSocial's `interaction_policy`, with Kring's `can_quote`.
#[derive(Serialize)]
pub struct InteractionPolicyJson {
    pub can_favourite: PolicyRulesJson,
    pub can_reply: PolicyRulesJson,
    pub can_reblog: PolicyRulesJson,
    pub can_quote: PolicyRulesJson,
}

/// A policy as clients read it; `accounts` gives the ActivityPub ids of accounts it names.
pub fn interaction_policy(
    p: &InteractionPolicy,
    accounts: &[(Id, String)],
) -> InteractionPolicyJson {
    let name = |w: Who| -> Option<String> {
        Some(match w {
            Who::Public => "public".into(),
            Who::Followers => "followers".into(),
            Who::Following => "following".into(),
            Who::Friends => "mutuals".into(),
            Who::Mentioned => "mentioned".into(),
            Who::Account(id) => accounts.iter().find(|(a, _)| *a == id)?.1.clone(),
        })
    };
    let rules = |i: Interaction| {
        let r = p.rule(i);
        let mut automatic = vec!["author".to_string()];
        automatic.extend(r.with_approval(Approval::Automatic).filter_map(name));
        // Whoever a post mentions may always reply to it.
        if i == Interaction::Reply
            && !r.is_open()
            && r.get(Who::Mentioned) != Some(Approval::Automatic)
        {
            automatic.push("mentioned".into());
        }
        PolicyRulesJson {
            automatic_approval: automatic,
            manual_approval: r.with_approval(Approval::Manual).filter_map(name).collect(),
        }
    };
    InteractionPolicyJson {
        can_favourite: rules(Interaction::Favourite),
        can_reply: rules(Interaction::Reply),
        can_reblog: rules(Interaction::Reblog),
        can_quote: rules(Interaction::Quote),
    }
}

/// GoToSocial's default policies, one per visibility (Kring's `friends` and `circle` too).
#[derive(Serialize)]
pub struct DefaultPoliciesJson {
    pub public: InteractionPolicyJson,
    pub unlisted: InteractionPolicyJson,
    pub private: InteractionPolicyJson,
    pub direct: InteractionPolicyJson,
    pub friends: InteractionPolicyJson,
    pub circle: InteractionPolicyJson,
}

pub fn default_policies(d: &PolicyDefaults, accounts: &[(Id, String)]) -> DefaultPoliciesJson {
    let of = |v: Visibility| interaction_policy(&d.for_visibility(v), accounts);
    DefaultPoliciesJson {
        public: of(Visibility::Public),
        unlisted: of(Visibility::Unlisted),
        private: of(Visibility::Private),
        direct: of(Visibility::Direct),
        friends: of(Visibility::Friends),
        circle: of(Visibility::Circle),
    }
}

/// GoToSocial's InteractionRequest.
#[derive(Serialize)]
pub struct InteractionRequestJson<'a> {
    pub id: Id,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub created_at: String,
    pub account: AccountJson<'a>,
    pub status: StatusJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<StatusJson<'a>>,
    /// Kring: the quoting post of a `quote` request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote: Option<StatusJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<&'a str>,
}

pub fn interaction_request<'a>(ctx: Ctx<'_>, r: &'a RequestView) -> InteractionRequestJson<'a> {
    let q = &r.request;
    InteractionRequestJson {
        id: q.id,
        kind: q.kind.as_str(),
        created_at: rfc3339(q.created_at),
        account: account(ctx, &r.account),
        status: status(ctx, &r.status),
        reply: r
            .reply
            .as_ref()
            .filter(|_| q.kind == Interaction::Reply)
            .map(|v| status(ctx, v)),
        quote: r
            .reply
            .as_ref()
            .filter(|_| q.kind == Interaction::Quote)
            .map(|v| status(ctx, v)),
        accepted_at: q.accepted_at.map(rfc3339),
        rejected_at: q.rejected_at.map(rfc3339),
        uri: q.response_uri.as_deref(),
    }
}

pub fn tag_url(base: &str, name: &str) -> String {
    format!(
        "{base}/tags/{}",
        percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
    )
}

pub fn status<'a>(ctx: Ctx<'_>, v: &'a StatusView) -> StatusJson<'a> {
    status_with_text(ctx, v, false)
}

/// With `with_text`, the source text is included (as Mastodon does for a deleted status, so
/// clients can redraft it).
pub fn status_with_text<'a>(ctx: Ctx<'_>, v: &'a StatusView, with_text: bool) -> StatusJson<'a> {
    status_inner(ctx, v, with_text, false)
}

/// `shallow`: a quoted post inside a quote, whose own quote shows its state only.
fn status_inner<'a>(
    ctx: Ctx<'_>,
    v: &'a StatusView,
    with_text: bool,
    shallow: bool,
) -> StatusJson<'a> {
    let s = &v.status;
    let own = v.pinned.is_some() && v.account.is_local();
    StatusJson {
        id: s.id,
        uri: &s.uri,
        url: s.reblog_of_id.is_none().then(|| s.web_url()).flatten(),
        created_at: rfc3339(s.created_at),
        account: account(ctx, &v.account),
        content: &s.content,
        visibility: s.visibility.mastodon_str(),
        sensitive: s.sensitive,
        spoiler_text: &s.spoiler_text,
        media_attachments: v.media.iter().map(|m| media_attachment(ctx, m)).collect(),
        application: v.application.as_deref().map(|a: &App| ApplicationRefJson {
            name: &a.name,
            website: a.website.as_deref(),
        }),
        mentions: v
            .mentions
            .iter()
            .map(|m| MentionJson {
                id: m.id,
                username: &m.username,
                url: m.web_url(),
                acct: m.acct(),
            })
            .collect(),
        tags: v
            .tags
            .iter()
            .map(|t| TagRefJson {
                name: t.to_lowercase(),
                url: tag_url(ctx.base, t),
            })
            .collect(),
        emojis: [],
        reblogs_count: s.reblogs_count,
        favourites_count: s.favourites_count,
        replies_count: s.replies_count,
        in_reply_to_id: s.in_reply_to_id,
        in_reply_to_account_id: s.in_reply_to_account_id,
        reblog: v.reblog.as_ref().map(|r| Box::new(status(ctx, r))),
        poll: None,
        card: None,
        language: s.language.as_deref(),
        text: with_text.then_some(s.text.as_str()),
        edited_at: s.edited_at.map(rfc3339),
        local_only: s.local_only,
        interaction_policy: interaction_policy(&s.policy(), &v.policy_accounts),
        quote: quote(ctx, v, shallow),
        quote_approval: quote_approval(&s.policy(), v.quote_current_user),
        quotes_count: v.quotes_count,
        kring: KringStatusJson {
            visibility: s.visibility.as_str(),
            pending_approval: s.pending_approval_by.is_some(),
        },
        group: v.group.as_ref().map(|(g, a)| group(ctx, g, a, None)),
        favourited: v.favourited,
        reblogged: v.reblogged,
        muted: v.muted,
        bookmarked: v.bookmarked,
        // Only one's own statuses carry `pinned`.
        pinned: if own && s.visibility != Visibility::Direct {
            v.pinned
        } else {
            None
        },
        filtered: v
            .favourited
            .map(|_| v.filtered.iter().map(filter_result).collect()),
    }
}

pub fn filter_result(m: &FilterMatch) -> FilterResultJson<'_> {
    FilterResultJson {
        filter: filter(&m.filter),
        keyword_matches: (!m.keywords.is_empty()).then_some(m.keywords.as_slice()),
        status_matches: (!m.status_ids.is_empty()).then_some(m.status_ids.as_slice()),
    }
}

#[derive(Serialize)]
pub struct RelationshipJson<'a> {
    pub id: Id,
    pub following: bool,
    pub showing_reblogs: bool,
    pub notifying: bool,
    pub languages: Option<()>,
    pub followed_by: bool,
    pub blocking: bool,
    pub blocked_by: bool,
    pub muting: bool,
    pub muting_notifications: bool,
    pub requested: bool,
    pub requested_by: bool,
    pub domain_blocking: bool,
    pub endorsed: bool,
    pub note: &'a str,
    /// Kring: a mutual follow (docs/api.md).
    pub friend: bool,
}

pub fn relationship(r: &Relationship) -> RelationshipJson<'_> {
    RelationshipJson {
        id: r.id,
        following: r.following,
        showing_reblogs: r.showing_reblogs,
        notifying: r.notifying,
        languages: None,
        followed_by: r.followed_by,
        blocking: r.blocking,
        blocked_by: r.blocked_by,
        muting: r.muting,
        muting_notifications: r.muting_notifications,
        requested: r.requested,
        requested_by: r.requested_by,
        domain_blocking: r.domain_blocking,
        endorsed: r.endorsed,
        note: &r.note,
        friend: r.is_friend(),
    }
}

#[derive(Serialize)]
pub struct NotificationJson<'a> {
    pub id: Id,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub group_key: String,
    pub created_at: String,
    pub account: AccountJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusJson<'a>>,
    /// Mastodon's `report` (of `admin.report`; Kring's `group.report` too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportJson<'a>>,
    /// Kring's: the group a `group.*` notification is about, as an account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<AccountJson<'a>>,
}

pub fn notification<'a>(ctx: Ctx<'_>, n: &'a NotificationView) -> NotificationJson<'a> {
    NotificationJson {
        id: n.notification.id,
        kind: n.notification.kind.as_str(),
        group_key: format!("ungrouped-{}", n.notification.id),
        created_at: rfc3339(n.notification.created_at),
        account: account(ctx, &n.account),
        status: n.status.as_ref().map(|s| status(ctx, s)),
        report: n.report.as_ref().map(|(r, t)| report(ctx, r, t)),
        group: n.group.as_ref().map(|g| account(ctx, g)),
    }
}

#[derive(Serialize)]
pub struct ListJson<'a> {
    pub id: Id,
    pub title: &'a str,
    pub replies_policy: &'a str,
    pub exclusive: bool,
}

#[derive(Serialize)]
pub struct CircleJson<'a> {
    pub id: Id,
    pub title: &'a str,
}

pub fn circle(c: &Circle) -> CircleJson<'_> {
    CircleJson {
        id: c.id,
        title: &c.title,
    }
}

pub fn list(l: &List) -> ListJson<'_> {
    ListJson {
        id: l.id,
        title: &l.title,
        replies_policy: &l.replies_policy,
        exclusive: l.exclusive,
    }
}

#[derive(Serialize)]
pub struct FilterKeywordJson<'a> {
    pub id: Id,
    pub keyword: &'a str,
    pub whole_word: bool,
}

pub fn filter_keyword(k: &FilterKeyword) -> FilterKeywordJson<'_> {
    FilterKeywordJson {
        id: k.id,
        keyword: &k.keyword,
        whole_word: k.whole_word,
    }
}

#[derive(Serialize)]
pub struct FilterStatusJson {
    pub id: Id,
    pub status_id: Id,
}

pub fn filter_status(s: &FilterStatus) -> FilterStatusJson {
    FilterStatusJson {
        id: s.id,
        status_id: s.status_id,
    }
}

#[derive(Serialize)]
pub struct FilterJson<'a> {
    pub id: Id,
    pub title: &'a str,
    pub context: &'a [String],
    pub expires_at: Option<String>,
    pub filter_action: &'static str,
    pub keywords: Vec<FilterKeywordJson<'a>>,
    pub statuses: Vec<FilterStatusJson>,
}

pub fn filter(f: &Filter) -> FilterJson<'_> {
    FilterJson {
        id: f.id,
        title: &f.title,
        context: &f.context,
        expires_at: f.expires_at.map(rfc3339),
        filter_action: match f.action {
            kring_core::model::FilterAction::Warn => "warn",
            kring_core::model::FilterAction::Hide => "hide",
            kring_core::model::FilterAction::Blur => "blur",
        },
        keywords: f.keywords.iter().map(filter_keyword).collect(),
        statuses: f.statuses.iter().map(filter_status).collect(),
    }
}

#[derive(Serialize)]
pub struct MarkerJson {
    pub last_read_id: Id,
    pub version: i64,
    pub updated_at: String,
}

pub fn marker(m: &Marker) -> MarkerJson {
    MarkerJson {
        last_read_id: m.last_read_id,
        version: m.version,
        updated_at: rfc3339(m.updated_at),
    }
}

#[derive(Serialize)]
pub struct TagJson {
    pub id: Id,
    pub name: String,
    pub url: String,
    pub history: [(); 0],
    pub following: bool,
}

pub fn tag(ctx: Ctx<'_>, t: &Tag) -> TagJson {
    TagJson {
        id: t.id,
        name: t.name.to_lowercase(),
        url: tag_url(ctx.base, &t.name),
        history: [],
        following: false,
    }
}

#[derive(Serialize)]
pub struct StatusEditJson<'a> {
    pub content: &'a str,
    pub spoiler_text: &'a str,
    pub sensitive: bool,
    pub created_at: String,
    pub account: AccountJson<'a>,
    pub poll: Option<()>,
    pub media_attachments: [(); 0],
    pub emojis: [(); 0],
}

pub fn status_edit<'a>(ctx: Ctx<'_>, e: &'a StatusEdit, author: &'a Account) -> StatusEditJson<'a> {
    StatusEditJson {
        content: &e.content,
        spoiler_text: &e.spoiler_text,
        sensitive: e.sensitive,
        created_at: rfc3339(e.created_at),
        account: account(ctx, author),
        poll: None,
        media_attachments: [],
        emojis: [],
    }
}

#[derive(Serialize)]
pub struct ApplicationJson<'a> {
    pub id: Id,
    pub name: &'a str,
    pub website: Option<&'a str>,
    pub scopes: Vec<&'a str>,
    pub redirect_uri: String,
    pub redirect_uris: &'a [String],
    pub vapid_key: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
}

/// An app as Mastodon shows it; with `client_secret` (only when just registered: the secret is
/// not kept) also its credentials, as a CredentialApplication.
pub fn application<'a>(app: &'a App, client_secret: Option<&'a str>) -> ApplicationJson<'a> {
    let with_secret = client_secret.is_some();
    ApplicationJson {
        id: app.id,
        name: &app.name,
        website: app.website.as_deref(),
        scopes: app.scopes.split(' ').collect(),
        redirect_uri: app.redirect_uris.join("\n"),
        redirect_uris: &app.redirect_uris,
        // Web push is not offered; clients read an empty key as "no push".
        vapid_key: "",
        client_id: with_secret.then_some(app.client_id.as_str()),
        client_secret,
        client_secret_expires_at: with_secret.then_some(0),
    }
}

#[derive(Serialize)]
pub struct ReportJson<'a> {
    id: Id,
    action_taken: bool,
    action_taken_at: Option<String>,
    category: &'static str,
    comment: &'a str,
    forwarded: bool,
    created_at: String,
    status_ids: &'a [Id],
    rule_ids: Vec<String>,
    target_account: AccountJson<'a>,
}

pub fn report<'a>(
    ctx: Ctx<'_>,
    r: &'a kring_core::model::Report,
    target: &'a Account,
) -> ReportJson<'a> {
    ReportJson {
        id: r.id,
        action_taken: r.action_taken_at.is_some(),
        action_taken_at: r.action_taken_at.map(rfc3339),
        category: r.category.as_str(),
        comment: &r.comment,
        forwarded: r.forwarded,
        created_at: rfc3339(r.created_at),
        status_ids: &r.status_ids,
        rule_ids: Vec::new(),
        target_account: account(ctx, target),
    }
}

/// Mastodon's MediaAttachment. Every URL is on this server (remote files come through its
/// proxy); `remote_url` names where a remote file came from.
#[derive(Serialize)]
pub struct MediaAttachmentJson<'a> {
    pub id: Id,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: String,
    pub preview_url: Option<String>,
    pub remote_url: Option<&'a str>,
    pub preview_remote_url: Option<()>,
    pub text_url: Option<()>,
    pub meta: serde_json::Value,
    pub description: Option<&'a str>,
    pub blurhash: Option<&'a str>,
}

/// Mastodon's `length`: `H:MM:SS.ss`.
fn length(seconds: f64) -> String {
    let centis = (seconds.max(0.0) * 100.0).round() as u64;
    let (h, rest) = (centis / 360_000, centis % 360_000);
    let (m, rest) = (rest / 6000, rest % 6000);
    format!("{h}:{m:02}:{:02}.{:02}", rest / 100, rest % 100)
}

pub fn media_attachment<'a>(
    ctx: Ctx<'_>,
    m: &'a kring_core::media::MediaAttachment,
) -> MediaAttachmentJson<'a> {
    let urls = kring_service::media::urls_with(ctx.base, ctx.media, m);
    let details = |d: kring_core::media::Dimensions| {
        serde_json::json!({
            "width": d.width,
            "height": d.height,
            "size": format!("{}x{}", d.width, d.height),
            "aspect": d.aspect(),
        })
    };
    let mut meta = serde_json::Map::new();
    let timed = matches!(
        m.kind,
        kring_core::media::MediaKind::Video
            | kring_core::media::MediaKind::Gifv
            | kring_core::media::MediaKind::Audio
    );
    if timed {
        // As Mastodon: the length and rate at the top, the video's size beside them, and
        // `original` with `frame_rate`, `duration` and `bitrate`.
        if let Some(s) = m.meta.duration {
            meta.insert("length".into(), length(s).into());
            meta.insert("duration".into(), serde_json::json!(s));
        }
        if let Some(fps) = m.meta.fps() {
            meta.insert("fps".into(), fps.into());
        }
        if let (Some(d), kring_core::media::MediaKind::Video | kring_core::media::MediaKind::Gifv) =
            (m.meta.original, m.kind)
        {
            for (k, v) in details(d).as_object().into_iter().flatten() {
                meta.insert(k.clone(), v.clone());
            }
        }
        let mut original = serde_json::Map::new();
        if let Some(d) = m.meta.original {
            original.insert("width".into(), d.width.into());
            original.insert("height".into(), d.height.into());
        }
        if let Some(r) = &m.meta.frame_rate {
            original.insert("frame_rate".into(), r.as_str().into());
        }
        if let Some(s) = m.meta.duration {
            original.insert("duration".into(), serde_json::json!(s));
        }
        if let Some(b) = m.meta.bitrate {
            original.insert("bitrate".into(), b.into());
        }
        if !original.is_empty() {
            meta.insert("original".into(), original.into());
        }
    } else if let Some(d) = m.meta.original {
        meta.insert("original".into(), details(d));
    }
    if let Some(d) = m.meta.small {
        meta.insert("small".into(), details(d));
    }
    if let Some(f) = m.focus {
        meta.insert("focus".into(), serde_json::json!({ "x": f.x, "y": f.y }));
    }
    MediaAttachmentJson {
        id: m.id,
        kind: m.kind.as_str(),
        url: urls.url,
        preview_url: urls.preview_url,
        remote_url: m.remote_url.as_deref(),
        preview_remote_url: None,
        text_url: None,
        meta: serde_json::Value::Object(meta),
        description: (!m.description.is_empty()).then_some(m.description.as_str()),
        blurhash: m.blurhash.as_deref(),
    }
}
