//! A pipeline's picture for the browser: its runs placed in layers (DAG) or rows (matrix), live status,
//! cache hits, and the values passed along each edge.

use leptos::prelude::*;

use super::AppError;

#[cfg(feature = "ssr")]
use super::ctx::{err, state};
#[cfg(feature = "ssr")]
use super::projects::access;

pub use api_types::{GraphEdge, GraphNode, GraphView};

#[server]
pub async fn get_graph(owner: String, name: String, uuid: String) -> Result<GraphView, AppError> {
    let st = state()?;
    let a = access(&owner, &name).await?;
    let id = uuid.parse().map_err(|_| err(backend::Error::NotFound("run")))?;
    let g = backend::services::pipelines::graph(&st.db, &a, id).await.map_err(err)?;
    let at = |n: &str| g.nodes.iter().find(|x| x.name == n).map(|x| (x.x, x.y)).unwrap_or_default();
    let counts: Vec<String> =
        g.progress.by_status.iter().map(|(s, n)| format!("{n} {}", s.replace('_', " "))).collect();
    Ok(GraphView {
        kind: g.kind.clone(),
        done: spec::lifecycle::Status::parse(&g.status).is_some_and(|s| s.is_done()),
        status: g.status.clone(),
        progress: format!("{} of {} done: {}", g.progress.done, g.progress.total, counts.join(", ")),
        edges: g
            .edges
            .iter()
            .map(|e| GraphEdge { from: at(&e.from), to: at(&e.to), label: e.labels.join(", ") })
            .collect(),
        nodes: g
            .nodes
            .into_iter()
            .map(|n| GraphNode {
                name: n.name,
                run: n.run.to_string(),
                status: n.status,
                cache_hit: n.cache_hit,
                cache_why: n.cache_why.join("; "),
                detail: n.detail,
                x: n.x,
                y: n.y,
            })
            .collect(),
        width: g.width,
        height: g.height,
    })
}
