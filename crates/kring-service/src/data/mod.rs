//! A person's data (issue 14, docs/privacy.md): the export archive (`export`,
//! docs/export-format.md) and its Mastodon-compatible CSV files (`csv`), importing them
//! (`import`, and an archive's posts: `import_posts`), moving an account (`migration`), deleting it for good (`delete`), and
//! forgetting what is kept only for a while (`housekeeping`).
pub mod csv;
pub mod delete;
pub mod export;
pub mod housekeeping;
pub mod import;
pub mod import_posts;
pub mod migration;

pub use export::{EXPORT_BUILD, EXPORT_LIFETIME_MICROS, EXPORT_SWEEP};
