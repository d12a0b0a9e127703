//! The editor's compiler side: what the editor shows of a text (diagnostics, manifests, params, the DAG), its
//! completions and its graph edits. One code for both places it runs: natively on the server (the editor page's
//! first render) and, with the `wasm` feature, as the editor's own wasm module, which only the editor page
//! downloads. The other pages' bundle carries no compiler, layout or editing code.

mod check;
mod session;
#[cfg(feature = "wasm")]
mod wasm;

pub use check::{check, inputs_of, Checked, Context, Field, Problem};
pub use session::{Completion, Edit, Session};

/// The example a new editor starts from.
pub const EXAMPLE: &str = "kind: component\nname: train\ninputs:\n- {name: lr, type: float, value: 0.01, isOptional: true}\nrun:\n  kind: job\n  container:\n    image: python:3.12-slim\n    command: [python, -c]\n    args: [\"print('training with lr={{ lr }}')\"]\n";
