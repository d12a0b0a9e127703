//! Bounds on the work one compile may cause, so one request cannot exhaust a server: every refusal names the
//! limit it hit (`yaml_bytes`, `yaml_nodes`, `yaml_depth`, `template_fuel`, `matrix_runs`). The server takes
//! each from its configuration (`myelin serve --max-…`); the editor and the CLI use the defaults.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// The largest file (bytes).
    pub yaml_bytes: usize,
    /// The most values a file may hold once its aliases are expanded (a "billion laughs" file is refused
    /// here, before it is built).
    pub yaml_nodes: usize,
    /// The deepest nesting of mappings and sequences.
    pub yaml_depth: usize,
    /// The most steps one template may take (loops, filters, calls).
    pub template_fuel: u64,
    /// The most runs a matrix may ask for, whatever its algorithm.
    pub matrix_runs: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            yaml_bytes: 1024 * 1024,
            yaml_nodes: 200_000,
            yaml_depth: 64,
            template_fuel: 100_000,
            matrix_runs: 10_000,
        }
    }
}
