//! A pipeline's picture: its ops (DAG) or children (matrix) placed in layers or rows, with status, cache hits
//! and the values passed along each edge. The run page draws it from the server; the editor from its own
//! compile of the text.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphView {
    pub kind: String,
    pub status: String,
    pub done: bool,
    /// "3 of 4 done: 2 succeeded, 1 running".
    pub progress: String,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    pub width: f64,
    pub height: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphNode {
    pub name: String,
    pub run: String,
    pub status: String,
    pub cache_hit: bool,
    pub cache_why: String,
    /// A matrix child's params.
    pub detail: String,
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphEdge {
    pub from: (f64, f64),
    pub to: (f64, f64),
    pub label: String,
}
