//! Groups: places where members talk together, moderated by their own people (docs/groups.md).
//! A group is an account (actor type `Group`, so Mastodon clients see `group: true` and joining
//! is following) with a group record beside it. Who may read a members-only group post is the
//! store's one audience rule, through `Grant::GroupMembers`, read when the post is read.
use serde::{Deserialize, Serialize};

use crate::Id;
use crate::time::Micros;

/// Who may join, and who reads the group's posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupKind {
    /// Anyone joins at once; posts are public.
    Public,
    /// Joining is by request, approved by a moderator; posts are public or members-only, as
    /// the group decides (`Group::members_only`).
    Closed,
    /// Joining by request or invitation; posts, the member list and the timeline are for
    /// members only, and the group federates only to its members' servers.
    Private,
}

impl GroupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Public => "public",
            GroupKind::Closed => "closed",
            GroupKind::Private => "private",
        }
    }

    pub fn parse(s: &str) -> Option<GroupKind> {
        Some(match s {
            "public" => GroupKind::Public,
            "closed" => GroupKind::Closed,
            "private" => GroupKind::Private,
            _ => return None,
        })
    }

    /// Whether joining waits for a moderator.
    pub fn needs_approval(self) -> bool {
        self != GroupKind::Public
    }
}

/// A member's role, lowest first (the order is the order of power).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupRole {
    Member,
    Moderator,
    Admin,
    Owner,
}

impl GroupRole {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupRole::Member => "member",
            GroupRole::Moderator => "moderator",
            GroupRole::Admin => "admin",
            GroupRole::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<GroupRole> {
        Some(match s {
            "member" | "user" => GroupRole::Member,
            "moderator" => GroupRole::Moderator,
            "admin" => GroupRole::Admin,
            "owner" => GroupRole::Owner,
            _ => return None,
        })
    }

    /// Approves requests, removes members and posts, bans.
    pub fn moderates(self) -> bool {
        self >= GroupRole::Moderator
    }

    /// Edits the group, promotes and demotes.
    pub fn administers(self) -> bool {
        self >= GroupRole::Admin
    }

    /// May this role act on (remove, ban, demote) someone holding `other`? Only on a lower
    /// role: moderators never remove each other, and nobody acts on the owner.
    pub fn outranks(self, other: GroupRole) -> bool {
        self > other
    }
}

/// Where one account stands with one group. One state at a time, so a banned member, an
/// invited member or a role without membership cannot be written down; the store keeps one
/// row per (group, account) for the same reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// Asked to join a closed or private group; a moderator decides.
    Requested {
        /// The remote `Follow` that asked, answered with `Accept`/`Reject` when decided.
        follow_uri: Option<String>,
        at: Micros,
    },
    /// Invited by a member with the right to; joining needs no further approval.
    Invited { by: Id, at: Micros },
    /// A member, with a role.
    Member { role: GroupRole, since: Micros },
    /// Banned: may not join, request or post until unbanned.
    Banned { by: Id, at: Micros },
}

impl Membership {
    /// The role, for members only.
    pub fn role(&self) -> Option<GroupRole> {
        match self {
            Membership::Member { role, .. } => Some(*role),
            _ => None,
        }
    }

    pub fn is_member(&self) -> bool {
        matches!(self, Membership::Member { .. })
    }

    /// The stored state name.
    pub fn state(&self) -> &'static str {
        match self {
            Membership::Requested { .. } => "requested",
            Membership::Invited { .. } => "invited",
            Membership::Member { .. } => "member",
            Membership::Banned { .. } => "banned",
        }
    }

    /// Read a stored row back; `None` for a row no version of Kring writes.
    pub fn from_row(
        state: &str,
        role: Option<&str>,
        by: Option<Id>,
        follow_uri: Option<String>,
        at: Micros,
    ) -> Option<Membership> {
        Some(match (state, role) {
            ("requested", None) => Membership::Requested { follow_uri, at },
            ("invited", None) => Membership::Invited { by: by?, at },
            ("member", Some(r)) => Membership::Member {
                role: GroupRole::parse(r)?,
                since: at,
            },
            ("banned", None) => Membership::Banned { by: by?, at },
            _ => return None,
        })
    }
}

/// A group: its account holds the name (`display_name`), handle, description (`note`),
/// avatar and header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The group's account id.
    pub id: Id,
    pub kind: GroupKind,
    /// Closed groups: posts are read by members only. Always true for private groups, never
    /// for public ones.
    pub members_only: bool,
    /// The rules shown when joining (plain text).
    pub rules: String,
    pub members_count: i64,
    pub created_at: Micros,
}

impl Group {
    /// Whether the group's posts are for members only (then they carry only the
    /// `GroupMembers` grant, are never public and never federate beyond members' servers).
    pub fn posts_members_only(&self) -> bool {
        match self.kind {
            GroupKind::Public => false,
            GroupKind::Closed => self.members_only,
            GroupKind::Private => true,
        }
    }

    /// Whether people who are not members may see the member list, the timeline and the
    /// group's actor document.
    pub fn is_hidden(&self) -> bool {
        self.kind == GroupKind::Private
    }
}

/// What a group's moderator or admin did, as the group's moderation log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupAction {
    ApproveRequest,
    RejectRequest,
    Invite,
    Remove,
    Ban,
    Unban,
    Promote,
    Demote,
    TransferOwnership,
    UpdateGroup,
    RemovePost,
}

impl GroupAction {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupAction::ApproveRequest => "approve_request",
            GroupAction::RejectRequest => "reject_request",
            GroupAction::Invite => "invite",
            GroupAction::Remove => "remove",
            GroupAction::Ban => "ban",
            GroupAction::Unban => "unban",
            GroupAction::Promote => "promote",
            GroupAction::Demote => "demote",
            GroupAction::TransferOwnership => "transfer_ownership",
            GroupAction::UpdateGroup => "update_group",
            GroupAction::RemovePost => "remove_post",
        }
    }

    pub fn parse(s: &str) -> Option<GroupAction> {
        Some(match s {
            "approve_request" => GroupAction::ApproveRequest,
            "reject_request" => GroupAction::RejectRequest,
            "invite" => GroupAction::Invite,
            "remove" => GroupAction::Remove,
            "ban" => GroupAction::Ban,
            "unban" => GroupAction::Unban,
            "promote" => GroupAction::Promote,
            "demote" => GroupAction::Demote,
            "transfer_ownership" => GroupAction::TransferOwnership,
            "update_group" => GroupAction::UpdateGroup,
            "remove_post" => GroupAction::RemovePost,
            _ => return None,
        })
    }
}

/// One entry of a group's moderation log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLogEntry {
    pub id: Id,
    pub group_id: Id,
    /// Who acted; None once their account is gone.
    pub actor_id: Option<Id>,
    pub action: GroupAction,
    pub target_account_id: Option<Id>,
    pub target_status_id: Option<Id>,
    /// The reason given (removals), or the role given or taken (promote, demote).
    pub reason: String,
    pub created_at: Micros,
}

/// A post a moderator removed from a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedPost {
    pub status_id: Id,
    pub removed_by: Option<Id>,
    pub reason: String,
    pub removed_at: Micros,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_rows_round_trip_and_wrong_states_are_refused() {
        let m = Membership::Member {
            role: GroupRole::Moderator,
            since: 5,
        };
        let back = Membership::from_row("member", m.role().map(GroupRole::as_str), None, None, 5);
        assert_eq!(back, Some(m));
        // A role without membership, or a ban without who banned, is no state at all.
        assert_eq!(
            Membership::from_row("banned", Some("admin"), Some(Id(1)), None, 1),
            None
        );
        assert_eq!(Membership::from_row("banned", None, None, None, 1), None);
        assert_eq!(Membership::from_row("member", None, None, None, 1), None);
    }

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(GroupRole::Owner.outranks(GroupRole::Admin));
        assert!(!GroupRole::Moderator.outranks(GroupRole::Moderator));
        assert!(GroupRole::Moderator.moderates() && !GroupRole::Moderator.administers());
        assert!(!GroupRole::Member.moderates());
    }

    #[test]
    fn private_groups_are_always_members_only() {
        let mut g = Group {
            id: Id(1),
            kind: GroupKind::Private,
            members_only: false,
            rules: String::new(),
            members_count: 0,
            created_at: 0,
        };
        assert!(g.posts_members_only() && g.is_hidden());
        g.kind = GroupKind::Closed;
        assert!(!g.posts_members_only());
        g.members_only = true;
        assert!(g.posts_members_only() && !g.is_hidden());
        g.kind = GroupKind::Public;
        assert!(!g.posts_members_only());
    }
}
