//! Everything server-side that is not Leptos: configuration, database, auth, services, the REST API and the
//! CLI client. The `myelin` binary (in `app`) wires it to the UI.

pub mod api;
pub mod artifacts;
pub mod auth;
pub mod cli;
pub mod compiling;
pub mod config;
pub mod db;
pub mod domain;
pub mod entities;
pub mod error;
pub mod executor;
pub mod markdown;
pub mod reach;
pub mod scheduler;
pub mod server;
pub mod services;
pub mod state;
pub mod store;

pub use error::{Error, Result};
pub use state::AppState;
