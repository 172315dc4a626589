//! A person's own data as a whole: the export archive (`export`, docs/export-format.md) and
//! its Mastodon-compatible CSV files (`csv`).
pub mod csv;
pub mod export;

pub use export::{EXPORT_BUILD, EXPORT_LIFETIME_MICROS, EXPORT_SWEEP};
