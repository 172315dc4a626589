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
    /// Mutual follows of the author only (Kring's extension; GoToSocial calls it `mutuals_only`).
    Friends,
    /// Members of one or more of the author's circles (Kring's extension). The circles are in
    /// the audience's grants, never in the label.
    Circle,
    /// The members of a group, for a members-only group post (Kring's extension). The group
    /// is in the audience's grants, never in the label.
    Group,
    Direct,
}

impl Visibility {
    /// Kring's own name, stored and shown by Kring-aware doors.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Unlisted => "unlisted",
            Visibility::Private => "private",
            Visibility::Friends => "friends",
            Visibility::Circle => "circle",
            Visibility::Group => "group",
            Visibility::Direct => "direct",
        }
    }

    /// The label a Mastodon client understands. Friends, circle and group posts show as `private`:
    /// clients then offer no boost and keep a reply non-public, and the server narrows any
    /// reply to the parent's own audience whatever the client asks (`Kring::post`).
    pub fn mastodon_str(self) -> &'static str {
        match self {
            Visibility::Friends | Visibility::Circle | Visibility::Group => "private",
            v => v.as_str(),
        }
    }

    /// Parse a visibility as clients send it: Mastodon's four, Kring's `friends` and
    /// `circle`, and GoToSocial's `mutuals_only` for friends.
    pub fn parse(s: &str) -> Option<Visibility> {
        Some(match s {
            "public" => Visibility::Public,
            "unlisted" => Visibility::Unlisted,
            "private" => Visibility::Private,
            "friends" | "mutuals_only" => Visibility::Friends,
            "circle" => Visibility::Circle,
            "group" => Visibility::Group,
            "direct" => Visibility::Direct,
            _ => return None,
        })
    }

    /// Narrowed to an audience the author picked (friends, circles, a group's members):
    /// replies stay inside it and nobody but the author may boost it.
    pub fn is_narrowed(self) -> bool {
        matches!(
            self,
            Visibility::Friends | Visibility::Circle | Visibility::Group
        )
    }
}

/// One reason a viewer may see a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grant {
    /// Everyone who follows this account.
    FollowersOf(Id),
    /// This one account (mentions, direct messages, the recipients of a remote limited post).
    Account(Id),
    /// Everyone who follows this account and is followed back by it, decided when read: a
    /// friendship that ends takes the post away at once.
    FriendsOf(Id),
    /// The members of this circle, decided when read: removing a member takes away earlier
    /// posts too.
    Circle(Id),
    /// This one account, only while it and the post's author are friends: how another
    /// Kring's friends-only post is kept here, so an ended friendship takes it away here too.
    FriendAccount(Id),
    /// The members of this group (the group's account id), decided when read: a member who
    /// leaves, is removed or is banned loses the group's members-only posts at once.
    GroupMembers(Id),
    /// The active participants of this chat, decided when read: a participant who leaves or
    /// is removed loses every message of the chat at once (`kring_core::chat`).
    ChatParticipants(Id),
}

impl Grant {
    /// The stored form: a kind and a target id.
    pub fn to_row(self) -> (&'static str, Id) {
        match self {
            Grant::FollowersOf(id) => ("followers", id),
            Grant::Account(id) => ("account", id),
            Grant::FriendsOf(id) => ("friends", id),
            Grant::Circle(id) => ("circle", id),
            Grant::FriendAccount(id) => ("friend", id),
            Grant::GroupMembers(id) => ("group", id),
            Grant::ChatParticipants(id) => ("chat", id),
        }
    }

    pub fn from_row(kind: &str, target: Id) -> Option<Grant> {
        match kind {
            "followers" => Some(Grant::FollowersOf(target)),
            "account" => Some(Grant::Account(target)),
            "friends" => Some(Grant::FriendsOf(target)),
            "circle" => Some(Grant::Circle(target)),
            "friend" => Some(Grant::FriendAccount(target)),
            "group" => Some(Grant::GroupMembers(target)),
            "chat" => Some(Grant::ChatParticipants(target)),
            _ => None,
        }
    }
}

/// The default is nobody but the author.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audience {
    /// Anyone may read it, signed out too.
    pub public: bool,
    /// It appears in public and hashtag timelines.
    pub listed: bool,
    /// Only accounts of this server may read it, and it is never sent to another server.
    pub local_only: bool,
    pub grants: Vec<Grant>,
}

impl Audience {
    /// The audience a visibility stands for. The author always sees their own posts (the store
    /// checks authorship directly), and mentioned accounts are always addressed. A circle post's
    /// circles are not in its label: build it with `for_circles`; here `Circle` addresses only
    /// the mentioned accounts, the narrowest reading.
    pub fn for_visibility(visibility: Visibility, author: Id, mentioned: &[Id]) -> Audience {
        let mut grants: Vec<Grant> = mentioned.iter().map(|&id| Grant::Account(id)).collect();
        match visibility {
            Visibility::Public | Visibility::Unlisted | Visibility::Private => {
                grants.push(Grant::FollowersOf(author))
            }
            Visibility::Friends => grants.push(Grant::FriendsOf(author)),
            Visibility::Circle | Visibility::Group | Visibility::Direct => {}
        }
        Audience::named(visibility, grants)
    }

    /// A members-only post to `group` (and the accounts it mentions).
    pub fn for_group_members(group: Id, mentioned: &[Id]) -> Audience {
        let grants = std::iter::once(Grant::GroupMembers(group))
            .chain(mentioned.iter().map(|&id| Grant::Account(id)))
            .collect();
        Audience::named(Visibility::Group, grants)
    }

    /// A message in `chat`: its active participants, and nobody else (not even the accounts
    /// it mentions, so a removed participant who was mentioned loses it too).
    pub fn for_chat(chat: Id) -> Audience {
        Audience::named(Visibility::Direct, vec![Grant::ChatParticipants(chat)])
    }

    /// The chat a message's audience is, if it is one.
    pub fn chat(&self) -> Option<Id> {
        self.grants.iter().find_map(|g| match g {
            Grant::ChatParticipants(id) => Some(*id),
            _ => None,
        })
    }

    /// A post to the members of `circles` (and the accounts it mentions).
    pub fn for_circles(circles: &[Id], mentioned: &[Id]) -> Audience {
        let grants = circles
            .iter()
            .map(|&c| Grant::Circle(c))
            .chain(mentioned.iter().map(|&id| Grant::Account(id)))
            .collect();
        Audience::named(Visibility::Circle, grants)
    }

    /// A reply to a narrowed post keeps the parent's audience, so it is never shown to
    /// anyone the parent was not; the parent's author is addressed too.
    pub fn inherited(parent: &Audience, parent_author: Id) -> Audience {
        let mut grants = parent.grants.clone();
        grants.push(Grant::Account(parent_author));
        let mut a = Audience::named(Visibility::Direct, grants);
        a.local_only = parent.local_only;
        a
    }

    /// An audience of exactly these grants, public and listed as `visibility` says.
    pub fn named(visibility: Visibility, mut grants: Vec<Grant>) -> Audience {
        grants.sort();
        grants.dedup();
        Audience {
            public: matches!(visibility, Visibility::Public | Visibility::Unlisted),
            listed: visibility == Visibility::Public,
            local_only: false,
            grants,
        }
    }

    /// The same audience, kept on this server.
    pub fn local_only(mut self, local_only: bool) -> Audience {
        self.local_only |= local_only;
        self
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
        let friends = Audience::for_visibility(Visibility::Friends, a, &m);
        assert!(!friends.public && !friends.includes_followers_of(a));
        assert!(friends.grants.contains(&Grant::FriendsOf(a)));
        let circles = Audience::for_circles(&[Id(7)], &[]);
        assert_eq!(circles.grants, vec![Grant::Circle(Id(7))]);
        let reply = Audience::inherited(&circles.clone().local_only(true), a);
        assert!(!reply.public && reply.local_only);
        assert_eq!(reply.grants, vec![Grant::Account(a), Grant::Circle(Id(7))]);
    }

    #[test]
    fn grants_round_trip_through_rows() {
        for g in [
            Grant::FollowersOf(Id(1)),
            Grant::Account(Id(2)),
            Grant::FriendsOf(Id(3)),
            Grant::Circle(Id(4)),
            Grant::FriendAccount(Id(5)),
            Grant::GroupMembers(Id(6)),
            Grant::ChatParticipants(Id(7)),
        ] {
            let (kind, target) = g.to_row();
            assert_eq!(Grant::from_row(kind, target), Some(g));
        }
        assert!(Visibility::parse("mutuals_only") == Some(Visibility::Friends));
        assert_eq!(Visibility::Circle.mastodon_str(), "private");
        assert_eq!(Visibility::Group.mastodon_str(), "private");
        assert!(Visibility::Group.is_narrowed());
        let g = Audience::for_group_members(Id(9), &[Id(2)]);
        assert!(!g.public && !g.listed);
        assert_eq!(
            g.grants,
            vec![Grant::Account(Id(2)), Grant::GroupMembers(Id(9))]
        );
    }
}
