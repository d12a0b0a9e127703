//! What the API, the UI's server functions and the CLI call: rules and storage, no HTTP.

pub mod accounts;
pub mod artifact_diff;
pub mod artifact_index;
pub mod artifacts;
pub mod audit;
pub mod cluster;
pub mod compare;
pub mod components;
pub mod experiments;
pub mod invitations;
pub mod lineage;
pub mod members;
pub mod overview;
pub mod pipelines;
pub mod project_limits;
pub mod project_tags;
pub mod projects;
pub mod registry;
pub mod runs;
pub mod settings;
pub mod tokens;
pub mod tracking;
pub mod uploads;
