//! A person's data (issue 14, docs/privacy.md): deleting an account for good, and forgetting
//! what is kept only for a while.
pub mod delete;
pub mod housekeeping;
pub mod import;
pub mod migration;
