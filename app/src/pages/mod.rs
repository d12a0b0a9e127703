//! One module per page.

pub mod account;
pub mod artifacts;
pub mod auth;
pub mod cluster;
pub mod compare;
pub mod editor;
pub mod lazy;
pub mod lineage;
pub mod models;
pub mod not_found;
pub mod overview;
pub mod pipeline;
pub mod project;
pub mod projects;
pub mod registry_settings;
pub mod reviews;
pub mod run;
pub mod runs;
pub mod settings;
