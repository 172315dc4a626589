//! Who may see a post. A post's audience is a set of grants plus two flags, not a visibility enum:
//! Mastodon's four visibilities are just four ways to build one, and friends-only, circles,
//! groups and chats add grants without touching any read path. The store turns an audience into
//! rows and answers "may X see this?" with one predicate used by every read path.
use serde::{Deserialize, Serialize};

use crate::Id;

/// Mastodon's visibility label: how a client asks for an audience and how it is shown back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Public,
    Unlisted,
    Private,
    Direct,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Unlisted => "unlisted",
            Visibility::Private => "private",
            Visibility::Direct => "direct",
        }
    }

    pub fn parse(s: &str) -> Option<Visibility> {
        Some(match s {
            "public" => Visibility::Public,
            "unlisted" => Visibility::Unlisted,
            "private" => Visibility::Private,
            "direct" => Visibility::Direct,
            _ => return None,
        })
    }
}

/// One reason a viewer may see a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grant {
    /// Everyone who follows this account.
    FollowersOf(Id),
    /// This one account (mentions, direct messages, later circle members expanded).
    Account(Id),
}

impl Grant {
    /// The stored form: a kind and a target id.
    pub fn to_row(self) -> (&'static str, Id) {
        match self {
            Grant::FollowersOf(id) => ("followers", id),
            Grant::Account(id) => ("account", id),
        }
    }

    pub fn from_row(kind: &str, target: Id) -> Option<Grant> {
        match kind {
            "followers" => Some(Grant::FollowersOf(target)),
            "account" => Some(Grant::Account(target)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience {
    /// Anyone may read it, signed out too.
    pub public: bool,
    /// It appears in public and hashtag timelines.
    pub listed: bool,
    pub grants: Vec<Grant>,
}

impl Audience {
    /// The audience a Mastodon visibility stands for. The author always sees their own posts
    /// (the store checks authorship directly), and mentioned accounts are always addressed.
    pub fn for_visibility(visibility: Visibility, author: Id, mentioned: &[Id]) -> Audience {
        let mut grants: Vec<Grant> = mentioned.iter().map(|&id| Grant::Account(id)).collect();
        if matches!(
            visibility,
            Visibility::Public | Visibility::Unlisted | Visibility::Private
        ) {
            grants.push(Grant::FollowersOf(author));
        }
        grants.sort();
        grants.dedup();
        Audience {
            public: matches!(visibility, Visibility::Public | Visibility::Unlisted),
            listed: visibility == Visibility::Public,
            grants,
        }
    }

    /// Accounts named directly (for notifications and delivery).
    pub fn accounts(&self) -> impl Iterator<Item = Id> + '_ {
        self.grants.iter().filter_map(|g| match g {
            Grant::Account(id) => Some(*id),
            _ => None,
        })
    }

    /// Whether followers of `author` are in the audience.
    pub fn includes_followers_of(&self, author: Id) -> bool {
        self.grants.contains(&Grant::FollowersOf(author))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibilities_map_to_audiences() {
        let a = Id(1);
        let m = [Id(2)];
        let public = Audience::for_visibility(Visibility::Public, a, &m);
        assert!(public.public && public.listed && public.includes_followers_of(a));
        let unlisted = Audience::for_visibility(Visibility::Unlisted, a, &m);
        assert!(unlisted.public && !unlisted.listed);
        let private = Audience::for_visibility(Visibility::Private, a, &m);
        assert!(!private.public && private.includes_followers_of(a));
        assert_eq!(private.accounts().collect::<Vec<_>>(), vec![Id(2)]);
        let direct = Audience::for_visibility(Visibility::Direct, a, &m);
        assert!(!direct.public && !direct.includes_followers_of(a));
        assert_eq!(direct.grants, vec![Grant::Account(Id(2))]);
    }
}
