//! The polyaxonfile library: parse, validate, resolve and compile. Pure: no I/O, no async; builds for wasm32.
//! The same code runs in the server, the CLI and the browser editor.

pub mod cache;
pub mod catalog;
pub mod compile;
pub mod complete;
mod container_text;
mod dag;
pub mod diag;
pub mod edit;
pub mod io;
mod kube_schema;
pub mod layout;
pub mod library;
pub mod lifecycle;
pub mod limits;
mod lint;
pub mod manifests;
pub mod matrix;
pub mod names;
mod operation;
mod params;
pub mod patch;
pub mod pipeline;
pub mod placement;
pub mod pod;
pub mod policy;
mod pyliteral;
pub mod render;
mod scalars;
mod schema;
mod sections;
mod shortcuts;
pub mod termination;
mod typed;
mod unheeded;
pub mod yaml;

pub use compile::{compile, Compiled, Execution, NoRefs, Options, Refs, Source};
