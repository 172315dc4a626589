//! Username rules (as Mastodon's).
