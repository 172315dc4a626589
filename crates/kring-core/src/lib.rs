//! Kring's domain: the types and rules every door and backend share, with no I/O.
pub mod audience;
pub mod chat;
pub mod error;
pub mod group;
pub mod id;
pub mod interaction;
pub mod media;
pub mod model;
pub mod scopes;
pub mod secret;
pub mod text;
pub mod time;
pub mod username;

pub use audience::{Audience, Grant, Visibility};
pub use chat::{Chat, ChatManagers, InboxPlace, Participant, Participation};
pub use error::{Error, FieldError, FieldErrors, RateLimit, Result};
pub use group::{Group, GroupAction, GroupKind, GroupLogEntry, GroupRole, Membership, RemovedPost};
pub use id::Id;
pub use interaction::{
    Approval, Decision, Interaction, InteractionPolicy, PolicyDefaults, Relation, Rule, Who,
};
