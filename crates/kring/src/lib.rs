//! The `kring` binary's library half: configuration, the HTTP server wiring, and the CLI
//! commands. Tests start servers through [`server::start`].
pub mod bench;
pub mod cli;
pub mod config;
pub mod server;
