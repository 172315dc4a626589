//! Group chats (docs/chats.md): a few people talking privately, with an inbox. A chat is a
//! record with its participants; its messages are ordinary statuses whose audience is the one
//! grant `Grant::ChatParticipants`, read when the message is read, so a participant who leaves
//! or is removed loses every message at once on every read path.
use serde::{Deserialize, Serialize};

use crate::Id;
use crate::time::Micros;

/// Who may rename the chat and add or remove participants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatManagers {
    /// Only the person who started it.
    #[default]
    Creator,
    /// Every participant.
    Everyone,
}

impl ChatManagers {
    pub fn as_str(self) -> &'static str {
        match self {
            ChatManagers::Creator => "creator",
            ChatManagers::Everyone => "everyone",
        }
    }

    pub fn parse(s: &str) -> Option<ChatManagers> {
        Some(match s {
            "creator" => ChatManagers::Creator,
            "everyone" => ChatManagers::Everyone,
            _ => return None,
        })
    }
}

/// A chat as this server knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    pub id: Id,
    /// The chat's `context` on the wire: a URI owned by its home server, the same on every
    /// server that has a participant.
    pub uri: String,
    /// Whether this server is the chat's home (the authority on its name and participants).
    pub local: bool,
    pub name: Option<String>,
    pub creator_id: Id,
    pub managers: ChatManagers,
    /// The home server's count of changes to name, managers and participants (see
    /// docs/chats.md): a state told by the home is applied only if newer.
    pub version: i64,
    pub created_at: Micros,
}

impl Chat {
    /// May `actor` (an active participant) rename it and add or remove others?
    pub fn may_manage(&self, actor: Id) -> bool {
        match self.managers {
            ChatManagers::Creator => actor == self.creator_id,
            ChatManagers::Everyone => true,
        }
    }
}

/// Where an active participant's chat shows in their inbox (local participants only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InboxPlace {
    /// The inbox proper.
    Inbox,
    /// Held apart: started by someone the participant does not follow, until accepted.
    Requests,
    /// Deleted from the inbox; back in it with the next message.
    Hidden,
}

impl InboxPlace {
    pub fn as_str(self) -> &'static str {
        match self {
            InboxPlace::Inbox => "inbox",
            InboxPlace::Requests => "requests",
            InboxPlace::Hidden => "hidden",
        }
    }

    pub fn parse(s: &str) -> Option<InboxPlace> {
        Some(match s {
            "inbox" => InboxPlace::Inbox,
            "requests" => InboxPlace::Requests,
            "hidden" => InboxPlace::Hidden,
            _ => return None,
        })
    }
}

/// One account's standing in a chat. Only an active participant reads its messages; the
/// inbox state (place, unread count, last read, muted) exists only while active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Participation {
    Active {
        place: InboxPlace,
        muted: bool,
        /// Messages by others since the last read.
        unread: i64,
        last_read_id: Option<Id>,
    },
    Left {
        at: Micros,
    },
    Removed {
        by: Option<Id>,
        at: Micros,
    },
}

impl Participation {
    /// A new participant: in the inbox, or among requests.
    pub fn joined(place: InboxPlace) -> Participation {
        Participation::Active {
            place,
            muted: false,
            unread: 0,
            last_read_id: None,
        }
    }

    pub fn is_active(&self) -> bool {
        matches!(self, Participation::Active { .. })
    }

    /// The stored state name.
    pub fn state(&self) -> &'static str {
        match self {
            Participation::Active { .. } => "active",
            Participation::Left { .. } => "left",
            Participation::Removed { .. } => "removed",
        }
    }

    /// From the stored columns; None for a row no valid state matches.
    pub fn from_row(
        state: &str,
        place: Option<&str>,
        muted: bool,
        unread: i64,
        last_read_id: Option<Id>,
        by: Option<Id>,
        at: Micros,
    ) -> Option<Participation> {
        Some(match state {
            "active" => Participation::Active {
                place: InboxPlace::parse(place?)?,
                muted,
                unread: unread.max(0),
                last_read_id,
            },
            "left" => Participation::Left { at },
            "removed" => Participation::Removed { by, at },
            _ => return None,
        })
    }
}

/// A participant of a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub chat_id: Id,
    pub account_id: Id,
    pub participation: Participation,
}

/// The longest chat name.
pub const MAX_CHAT_NAME_CHARS: usize = 100;
/// The most participants a chat may have (the creator included).
pub const MAX_CHAT_PARTICIPANTS: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        let a = Participation::joined(InboxPlace::Requests);
        assert!(a.is_active());
        assert_eq!(
            Participation::from_row("active", Some("requests"), false, 0, None, None, 1),
            Some(a)
        );
        // An active row must say where it shows; a row of no known state is refused.
        assert_eq!(
            Participation::from_row("active", None, false, 0, None, None, 1),
            None
        );
        assert_eq!(
            Participation::from_row("gone", Some("inbox"), false, 0, None, None, 1),
            None
        );
        assert!(
            !Participation::from_row("left", None, false, 0, None, None, 5)
                .unwrap()
                .is_active()
        );
        let c = Chat {
            id: Id(1),
            uri: "https://a/chats/1".into(),
            local: true,
            name: None,
            creator_id: Id(2),
            managers: ChatManagers::Creator,
            version: 0,
            created_at: 0,
        };
        assert!(c.may_manage(Id(2)) && !c.may_manage(Id(3)));
        assert_eq!(
            ChatManagers::parse("everyone"),
            Some(ChatManagers::Everyone)
        );
    }
}
