//! The polyaxonfile library: parse, validate, resolve and compile. Pure: no I/O, no async; builds for wasm32.

pub mod diag;
pub mod names;
pub mod yaml;
