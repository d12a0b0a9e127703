//! Request and response types of Myelin's REST API, shared by the server (`backend`, which documents them with
//! the `utoipa` feature), the CLI (which reads typed bodies) and the UI. Wasm-safe: serde only.

mod accounts;
mod artifacts;
mod cluster;
mod compare;
mod graph;
mod overview;
mod registry;
mod runs;

pub use accounts::*;
pub use artifacts::*;
pub use cluster::*;
pub use compare::*;
pub use graph::*;
pub use overview::*;
pub use registry::*;
pub use runs::*;
