//! Kring's domain: the types and rules every door and backend share, with no I/O.
pub mod text;
pub mod username;
