//! Who may answer a post: per post, and per account as defaults for new posts, the author says
//! who may reply to it, boost it, favourite it and quote it — and whether each of those happens
//! at once or waits for the author's approval. GoToSocial's interaction policies, which the doors
//! translate to and from (`interaction_policy` on the client API, `interactionPolicy` on the
//! wire). Reading a post is a different question, answered by the audience (`crate::audience`):
//! nobody interacts with a post they may not read.
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Id, Visibility};

/// What one account does to another's post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Interaction {
    Reply,
    Reblog,
    Favourite,
    /// Stored and shown now; quote posts themselves come later (issue 10, item 5).
    Quote,
}

impl Interaction {
    pub const ALL: [Interaction; 4] = [
        Interaction::Reply,
        Interaction::Reblog,
        Interaction::Favourite,
        Interaction::Quote,
    ];

    /// GoToSocial's interaction request `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Interaction::Reply => "reply",
            Interaction::Reblog => "reblog",
            Interaction::Favourite => "favourite",
            Interaction::Quote => "quote",
        }
    }

    pub fn parse(s: &str) -> Option<Interaction> {
        Interaction::ALL.into_iter().find(|i| i.as_str() == s)
    }
}

/// How an allowed interaction happens: at once, or once the author approves it. Ordered so
/// that the more permissive is the greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    Manual,
    Automatic,
}

/// Whom a rule speaks of, always relative to the post's author. The author is not among them:
/// the author may always do everything with their own post (GoToSocial's rule too), so a rule
/// naming nobody means "the author only".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Who {
    /// Anyone who may read the post.
    Public,
    /// Accounts following the author.
    Followers,
    /// Accounts the author follows.
    Following,
    /// Accounts that follow the author and are followed back (GoToSocial's "mutuals").
    Friends,
    /// Accounts the post mentions, or whose post it answers.
    Mentioned,
    /// One account.
    Account(Id),
}

impl Who {
    /// The stored name (`account:ID` for one account).
    pub fn key(self) -> String {
        match self {
            Who::Public => "public".into(),
            Who::Followers => "followers".into(),
            Who::Following => "following".into(),
            Who::Friends => "friends".into(),
            Who::Mentioned => "mentioned".into(),
            Who::Account(id) => format!("account:{id}"),
        }
    }

    pub fn from_key(s: &str) -> Option<Who> {
        Some(match s {
            "public" => Who::Public,
            "followers" => Who::Followers,
            "following" => Who::Following,
            "friends" => Who::Friends,
            "mentioned" => Who::Mentioned,
            _ => Who::Account(s.strip_prefix("account:")?.parse().ok()?),
        })
    }
}

/// Who may do one kind of interaction, and how. Each `Who` appears at most once, with one
/// approval: "automatic and manual for the same people" cannot be written down. Empty: only
/// the author.
///
/// Kept as what each group is allowed plus the accounts named one by one, not as a map: a
/// rule is cloned with every post read (its policy is part of each `Status`), and a map per
/// rule was four allocations per post, ~3 % of a hashtag timeline's samples (BENCHMARKS.md,
/// session 27); almost no rule names accounts, so this clones without allocating. Each form
/// has one representation (groups by place, accounts sorted by id, each once), so equal
/// rules compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    /// What the rule says of each group, in `GROUPS`' order.
    groups: [Option<Approval>; GROUPS.len()],
    /// Accounts named one by one, sorted by id, each once.
    accounts: Vec<(Id, Approval)>,
}

/// The groups a rule speaks of, in `Who`'s order.
const GROUPS: [Who; 5] = [
    Who::Public,
    Who::Followers,
    Who::Following,
    Who::Friends,
    Who::Mentioned,
];

/// `who`'s place in `GROUPS`; None for one account.
fn group_index(who: Who) -> Option<usize> {
    match who {
        Who::Public => Some(0),
        Who::Followers => Some(1),
        Who::Following => Some(2),
        Who::Friends => Some(3),
        Who::Mentioned => Some(4),
        Who::Account(_) => None,
    }
}

impl Rule {
    /// Only the author.
    pub fn nobody() -> Rule {
        Rule::default()
    }

    /// Anyone who may read the post, at once.
    pub fn everyone() -> Rule {
        Rule::nobody().with(Who::Public, Approval::Automatic)
    }

    /// This rule with `who` allowed as `approval` (replacing what it said of `who`).
    pub fn with(mut self, who: Who, approval: Approval) -> Rule {
        self.set(who, approval);
        self
    }

    fn set(&mut self, who: Who, approval: Approval) {
        if let Who::Account(id) = who {
            match self.accounts.binary_search_by_key(&id, |e| e.0) {
                Ok(at) => self.accounts[at].1 = approval,
                Err(at) => self.accounts.insert(at, (id, approval)),
            }
        } else if let Some(i) = group_index(who) {
            self.groups[i] = Some(approval);
        }
    }

    /// A rule from two lists as GoToSocial writes them. Someone in both is allowed
    /// automatically: the higher permission wins (GoToSocial's rule for duplicates).
    pub fn from_lists(
        automatic: impl IntoIterator<Item = Who>,
        manual: impl IntoIterator<Item = Who>,
    ) -> Rule {
        let mut r = Rule::nobody();
        for w in manual {
            r.set(w, Approval::Manual);
        }
        for w in automatic {
            r.set(w, Approval::Automatic);
        }
        r
    }

    pub fn get(&self, who: Who) -> Option<Approval> {
        if let Who::Account(id) = who {
            let at = self.accounts.binary_search_by_key(&id, |e| e.0).ok()?;
            Some(self.accounts[at].1)
        } else {
            self.groups[group_index(who)?]
        }
    }

    /// Everyone the rule names with their approval: the groups in `Who`'s order, then the
    /// accounts by id (`Who`'s order too).
    pub fn entries(&self) -> impl Iterator<Item = (Who, Approval)> + '_ {
        GROUPS
            .iter()
            .zip(&self.groups)
            .filter_map(|(w, a)| Some((*w, (*a)?)))
            .chain(self.accounts.iter().map(|(id, a)| (Who::Account(*id), *a)))
    }

    /// Those allowed with `approval`, in a stable order.
    pub fn with_approval(&self, approval: Approval) -> impl Iterator<Item = Who> + '_ {
        self.entries()
            .filter(move |(_, a)| *a == approval)
            .map(|(w, _)| w)
    }

    /// Anyone who may read the post may do it at once: nothing to prove to other servers.
    pub fn is_open(&self) -> bool {
        self.get(Who::Public) == Some(Approval::Automatic)
    }

    pub fn is_nobody(&self) -> bool {
        self.groups.iter().all(Option::is_none) && self.accounts.is_empty()
    }

    /// The accounts named one by one.
    pub fn accounts(&self) -> impl Iterator<Item = Id> + '_ {
        self.accounts.iter().map(|(id, _)| *id)
    }

    /// What this rule says of someone (the author aside, see [`InteractionPolicy::decide`]).
    /// An account named one by one is judged by that entry alone, so "everyone, but this one
    /// with approval" can be said (GoToSocial: the more specific entry wins); otherwise the
    /// most permissive entry that covers them.
    pub fn decide(&self, r: &Relation) -> Decision {
        if let Some(a) = self.get(Who::Account(r.account)) {
            return a.into();
        }
        self.entries()
            .filter(|(w, _)| match w {
                Who::Public => true,
                Who::Followers => r.follows_author,
                Who::Following => r.followed_by_author,
                Who::Friends => r.follows_author && r.followed_by_author,
                Who::Mentioned => r.mentioned,
                Who::Account(_) => false,
            })
            .map(|(_, a)| a)
            .max()
            .map_or(Decision::Denied, Decision::from)
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m: BTreeMap<String, Approval> = self.entries().map(|(w, a)| (w.key(), a)).collect();
        m.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Rule, D::Error> {
        let m: BTreeMap<String, Approval> = BTreeMap::deserialize(d)?;
        // Unknown names (written by a later version) are left out: narrower, never wider.
        let mut r = Rule::nobody();
        for (w, a) in m
            .into_iter()
            .filter_map(|(k, a)| Some((Who::from_key(&k)?, a)))
        {
            r.set(w, a);
        }
        Ok(r)
    }
}

/// What deciding needs to know of the one who interacts, relative to the post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relation {
    pub account: Id,
    /// They wrote the post.
    pub author: bool,
    /// They follow the author.
    pub follows_author: bool,
    /// The author follows them.
    pub followed_by_author: bool,
    /// The post mentions them or answers one of their posts.
    pub mentioned: bool,
}

/// The answer to "may they do it?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Yes, at once.
    Automatic,
    /// Once the author approves.
    Manual,
    /// No.
    Denied,
}

impl From<Approval> for Decision {
    fn from(a: Approval) -> Decision {
        match a {
            Approval::Automatic => Decision::Automatic,
            Approval::Manual => Decision::Manual,
        }
    }
}

/// The rules of one post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionPolicy {
    #[serde(default = "Rule::everyone")]
    pub can_reply: Rule,
    #[serde(default = "Rule::everyone")]
    pub can_reblog: Rule,
    #[serde(default = "Rule::everyone")]
    pub can_favourite: Rule,
    #[serde(default = "Rule::everyone")]
    pub can_quote: Rule,
}

impl Default for InteractionPolicy {
    fn default() -> Self {
        InteractionPolicy::everyone()
    }
}

impl InteractionPolicy {
    /// Anyone who may read the post may do anything with it: what servers that know nothing
    /// of interaction policies assume.
    pub fn everyone() -> InteractionPolicy {
        InteractionPolicy {
            can_reply: Rule::everyone(),
            can_reblog: Rule::everyone(),
            can_favourite: Rule::everyone(),
            can_quote: Rule::everyone(),
        }
    }

    /// The server's default for a new post of `visibility`: everyone, within what the
    /// visibility allows (see [`clamped`](Self::clamped)).
    pub fn server_default(visibility: Visibility) -> InteractionPolicy {
        InteractionPolicy::everyone().clamped(visibility)
    }

    /// This policy as a post of `visibility` may have it: a followers-only post is boosted and
    /// quoted by its author only (as Mastodon), a friends-only, circle or direct post by
    /// nobody at all (`statuses::may_reblog` refuses even the author) — either would widen it.
    pub fn clamped(mut self, visibility: Visibility) -> InteractionPolicy {
        if !matches!(visibility, Visibility::Public | Visibility::Unlisted) {
            self.can_reblog = Rule::nobody();
            self.can_quote = Rule::nobody();
        }
        self
    }

    pub fn rule(&self, i: Interaction) -> &Rule {
        match i {
            Interaction::Reply => &self.can_reply,
            Interaction::Reblog => &self.can_reblog,
            Interaction::Favourite => &self.can_favourite,
            Interaction::Quote => &self.can_quote,
        }
    }

    pub fn rule_mut(&mut self, i: Interaction) -> &mut Rule {
        match i {
            Interaction::Reply => &mut self.can_reply,
            Interaction::Reblog => &mut self.can_reblog,
            Interaction::Favourite => &mut self.can_favourite,
            Interaction::Quote => &mut self.can_quote,
        }
    }

    /// May someone do `i` with the post, and how? Two things always hold, whatever the rules
    /// say (GoToSocial's implicit assumptions): the author may do anything with their own
    /// post, and whoever the post mentions or answers may reply to it — nobody can be
    /// addressed and left without a way to answer.
    pub fn decide(&self, i: Interaction, r: &Relation) -> Decision {
        if r.author || (i == Interaction::Reply && r.mentioned) {
            return Decision::Automatic;
        }
        self.rule(i).decide(r)
    }

    /// Accounts named one by one in any rule.
    pub fn accounts(&self) -> Vec<Id> {
        let mut ids: Vec<Id> = Interaction::ALL
            .iter()
            .flat_map(|&i| self.rule(i).accounts().collect::<Vec<_>>())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The stored form (compact JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The stored form read back; None when it cannot be read.
    pub fn from_json(s: &str) -> Option<InteractionPolicy> {
        serde_json::from_str(s).ok()
    }
}

/// A person's defaults for new posts, one per visibility; a visibility not set uses the
/// server's default. Each is clamped to what its visibility allows when used.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PolicyDefaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<InteractionPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlisted: Option<InteractionPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<InteractionPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friends: Option<InteractionPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circle: Option<InteractionPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct: Option<InteractionPolicy>,
}

impl PolicyDefaults {
    pub fn slot(&self, v: Visibility) -> &Option<InteractionPolicy> {
        match v {
            Visibility::Public => &self.public,
            Visibility::Unlisted => &self.unlisted,
            Visibility::Private => &self.private,
            Visibility::Friends => &self.friends,
            // Group posts take the narrowed defaults circles have (no boosts, replies open to
            // the audience); who may post at all is the group's rule.
            Visibility::Circle | Visibility::Group => &self.circle,
            Visibility::Direct => &self.direct,
        }
    }

    pub fn slot_mut(&mut self, v: Visibility) -> &mut Option<InteractionPolicy> {
        match v {
            Visibility::Public => &mut self.public,
            Visibility::Unlisted => &mut self.unlisted,
            Visibility::Private => &mut self.private,
            Visibility::Friends => &mut self.friends,
            Visibility::Circle | Visibility::Group => &mut self.circle,
            Visibility::Direct => &mut self.direct,
        }
    }

    /// The policy a new post of `visibility` gets when it names none.
    pub fn for_visibility(&self, v: Visibility) -> InteractionPolicy {
        self.slot(v)
            .clone()
            .unwrap_or_else(InteractionPolicy::everyone)
            .clamped(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(account: i64) -> Relation {
        Relation {
            account: Id(account),
            author: false,
            follows_author: false,
            followed_by_author: false,
            mentioned: false,
        }
    }

    #[test]
    fn rules_decide_by_relation() {
        let stranger = who(1);
        let follower = Relation {
            follows_author: true,
            ..who(2)
        };
        let friend = Relation {
            follows_author: true,
            followed_by_author: true,
            ..who(3)
        };
        let followed = Relation {
            followed_by_author: true,
            ..who(4)
        };
        let mentioned = Relation {
            mentioned: true,
            ..who(5)
        };
        let author = Relation {
            author: true,
            ..who(6)
        };
        let friends_only = Rule::nobody().with(Who::Friends, Approval::Automatic);
        assert_eq!(friends_only.decide(&friend), Decision::Automatic);
        for r in [stranger, follower, followed, mentioned] {
            assert_eq!(friends_only.decide(&r), Decision::Denied, "{r:?}");
        }
        let followers = Rule::nobody()
            .with(Who::Followers, Approval::Automatic)
            .with(Who::Public, Approval::Manual);
        assert_eq!(followers.decide(&follower), Decision::Automatic);
        assert_eq!(followers.decide(&friend), Decision::Automatic);
        assert_eq!(followers.decide(&stranger), Decision::Manual);
        assert_eq!(
            Rule::nobody()
                .with(Who::Following, Approval::Automatic)
                .decide(&followed),
            Decision::Automatic
        );
        // The more specific entry wins: everyone, but account 1 only with approval.
        let but_one = Rule::everyone().with(Who::Account(Id(1)), Approval::Manual);
        assert_eq!(but_one.decide(&stranger), Decision::Manual);
        assert_eq!(but_one.decide(&follower), Decision::Automatic);
        // Nobody: only the author, and for replies whoever is mentioned.
        let policy = InteractionPolicy {
            can_reply: Rule::nobody(),
            can_favourite: Rule::nobody(),
            ..InteractionPolicy::everyone()
        };
        assert_eq!(
            policy.decide(Interaction::Reply, &stranger),
            Decision::Denied
        );
        assert_eq!(
            policy.decide(Interaction::Reply, &mentioned),
            Decision::Automatic
        );
        assert_eq!(
            policy.decide(Interaction::Favourite, &mentioned),
            Decision::Denied
        );
        for i in Interaction::ALL {
            assert_eq!(policy.decide(i, &author), Decision::Automatic);
        }
    }

    #[test]
    fn duplicates_take_the_higher_permission() {
        let r = Rule::from_lists([Who::Public], [Who::Public, Who::Followers]);
        assert_eq!(r.get(Who::Public), Some(Approval::Automatic));
        assert_eq!(r.get(Who::Followers), Some(Approval::Manual));
        assert!(r.is_open());
    }

    #[test]
    fn narrowed_posts_are_never_boosted() {
        for v in [
            Visibility::Private,
            Visibility::Friends,
            Visibility::Circle,
            Visibility::Direct,
        ] {
            let p = InteractionPolicy::server_default(v);
            assert!(p.can_reblog.is_nobody() && p.can_quote.is_nobody(), "{v:?}");
            assert!(p.can_reply.is_open() && p.can_favourite.is_open());
        }
        assert_eq!(
            InteractionPolicy::server_default(Visibility::Public),
            InteractionPolicy::everyone()
        );
        let mut d = PolicyDefaults::default();
        *d.slot_mut(Visibility::Friends) = Some(InteractionPolicy::everyone());
        assert!(d.for_visibility(Visibility::Friends).can_reblog.is_nobody());
    }

    #[test]
    fn a_rule_is_the_same_whatever_order_it_was_written_in() {
        use std::collections::BTreeMap;
        let all = [
            (Who::Account(Id(9)), Approval::Manual),
            (Who::Mentioned, Approval::Automatic),
            (Who::Account(Id(-3)), Approval::Automatic),
            (Who::Public, Approval::Manual),
            (Who::Friends, Approval::Manual),
            (Who::Account(Id(4)), Approval::Manual),
            (Who::Followers, Approval::Automatic),
            (Who::Following, Approval::Manual),
            // Said again: the last word holds, as for a map.
            (Who::Account(Id(9)), Approval::Automatic),
            (Who::Public, Approval::Automatic),
        ];
        let forward = all.iter().fold(Rule::nobody(), |r, (w, a)| r.with(*w, *a));
        let map: BTreeMap<Who, Approval> = all.iter().copied().collect();
        // Entries in `Who`'s order, as a map of them lists them.
        assert_eq!(
            forward.entries().collect::<Vec<_>>(),
            map.clone().into_iter().collect::<Vec<_>>()
        );
        for (w, a) in &map {
            assert_eq!(forward.get(*w), Some(*a), "{w:?}");
        }
        assert_eq!(forward.get(Who::Account(Id(5))), None);
        assert_eq!(
            forward.accounts().collect::<Vec<_>>(),
            vec![Id(-3), Id(4), Id(9)]
        );
        // The same entries written in another order: an equal rule.
        let backward = map
            .iter()
            .rev()
            .fold(Rule::nobody(), |r, (w, a)| r.with(*w, *a));
        assert_eq!(backward, forward);
        assert_ne!(
            backward.with(Who::Account(Id(4)), Approval::Automatic),
            forward
        );
        assert!(Rule::nobody().is_nobody() && !forward.is_nobody());
        assert!(
            !Rule::nobody()
                .with(Who::Account(Id(1)), Approval::Manual)
                .is_nobody()
        );
    }

    #[test]
    fn stored_form_round_trips() {
        let p = InteractionPolicy {
            can_reply: Rule::from_lists([Who::Friends], [Who::Public, Who::Account(Id(42))]),
            ..InteractionPolicy::server_default(Visibility::Private)
        };
        let s = p.to_json();
        assert_eq!(InteractionPolicy::from_json(&s), Some(p.clone()));
        // A name this version does not know is dropped, never read as wider.
        let later = r#"{"can_reply":{"later":"automatic","author":"automatic"},"can_reblog":{},"can_favourite":{"public":"manual"},"can_quote":{}}"#;
        let read = InteractionPolicy::from_json(later).unwrap();
        assert!(read.can_reply.is_nobody());
        assert_eq!(read.can_favourite.get(Who::Public), Some(Approval::Manual));
        let d = PolicyDefaults {
            public: Some(p.clone()),
            ..Default::default()
        };
        let back: PolicyDefaults =
            serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
    }
}
