//! A person's data (issue 14, docs/privacy.md): deleting an account for good.
pub mod delete;
