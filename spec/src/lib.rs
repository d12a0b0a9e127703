//! The polyaxonfile library: parse, validate, resolve and compile. Pure: no I/O, no async; builds for wasm32.
//!
//! Only the shared name rules live here so far; the compiler is the subject of the spec issue.

pub mod names;
