//! The pipeline page's picture: each child as a node (live status, cache hit, where to draw it) and each
//! upstream link as an edge labelled with the values it passed. A DAG is laid out in layers
//! (`spec::layout`); a matrix's children, which have no links, in rows.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{children, progress, Progress};
use crate::entities::run;
use crate::error::{Error, Result};
use crate::services::projects::ProjectAccess;

/// Distance between node centres in the drawing's units.
pub const SPACING: f64 = 80.0;
/// Matrix children per row.
const PER_ROW: usize = 10;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PipelineGraph {
    pub pipeline: Uuid,
    /// `dag` or `matrix`.
    pub kind: String,
    pub status: String,
    pub progress: Progress,
    pub nodes: Vec<PipelineNode>,
    pub edges: Vec<PipelineEdge>,
    pub width: f64,
    pub height: f64,
    /// For matrices: the search kind, and whether Myelin executes it.
    pub matrix_kind: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PipelineNode {
    pub name: String,
    pub run: Uuid,
    pub status: String,
    pub reason: Option<String>,
    /// A matrix child's suggested params (`lr=0.01, layers=3`).
    pub detail: String,
    /// Reused (or waiting for) another run's results.
    pub cache_hit: bool,
    /// Why it was reused, or what changed since the last run of the op.
    pub cache_why: Vec<String>,
    pub original: Option<Uuid>,
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PipelineEdge {
    pub from: String,
    pub to: String,
    /// `param = value` for each value passed along the edge (`param <- output` before it is known).
    pub labels: Vec<String>,
}

pub async fn graph(db: &DatabaseConnection, a: &ProjectAccess, id: Uuid) -> Result<PipelineGraph> {
    let p = crate::services::runs::find(db, a, id).await?;
    let kind = p.kind()?;
    if !kind.is_pipeline() {
        return Err(Error::NotFound("pipeline"));
    }
    let matrix = p.compiled_part::<Compiled>()?.matrix;
    let kids = children(db, id).await?;
    let index: HashMap<&str, usize> = kids.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect();
    let steps: Vec<spec::pipeline::Step> = kids.iter().map(|c| c.step()).collect();
    let mut links = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        for u in &s.upstream {
            if let Some(&j) = index.get(u.as_str()) {
                links.push((j, i));
            }
        }
    }
    let (positions, width, height) = if kind == spec::lifecycle::RunKind::Dag {
        let placed = spec::layout::layout(kids.len(), &links, SPACING);
        (placed.positions, placed.width, placed.height)
    } else {
        let pos: Vec<(f64, f64)> = (0..kids.len())
            .map(|i| ((i % PER_ROW) as f64 * SPACING * 1.5, (i / PER_ROW) as f64 * SPACING))
            .collect();
        let cols = kids.len().clamp(1, PER_ROW);
        (pos, (cols - 1) as f64 * SPACING * 1.5, (kids.len().saturating_sub(1) / PER_ROW) as f64 * SPACING)
    };
    // The values passed: the params each op was compiled with, for params its upstream fed.
    let params = compiled_params(db, &kids.iter().map(|c| c.id).collect::<Vec<_>>()).await?;
    let mut edges = Vec::new();
    for (j, i) in links {
        let (from, to) = (&kids[j].name, &kids[i].name);
        let labels = steps[i]
            .feeds
            .iter()
            .filter(|(_, up, _)| up == from)
            .map(|(param, _, key)| match params.get(&kids[i].id).and_then(|m| m.get(param)) {
                Some(v) => format!("{param} = {}", shown(v)),
                None => format!("{param} <- {key}"),
            })
            .collect();
        edges.push(PipelineEdge { from: from.clone(), to: to.clone(), labels });
    }
    let nodes = kids
        .iter()
        .zip(positions)
        .map(|(c, (x, y))| {
            let info = c.cache_info();
            PipelineNode {
                name: c.name.clone(),
                run: c.id,
                status: c.status.as_str().to_string(),
                reason: c.status_reason.clone(),
                detail: suggestion(matrix.as_ref(), c.step().index),
                cache_hit: info.as_ref().is_some_and(|i| i.hit),
                cache_why: info.as_ref().map(|i| i.explanation.clone()).unwrap_or_default(),
                original: info.and_then(|i| i.original),
                x,
                y,
            }
        })
        .collect();
    Ok(PipelineGraph {
        pipeline: id,
        kind: p.kind.clone(),
        status: p.status.clone(),
        progress: progress(&kids),
        nodes,
        edges,
        width,
        height,
        matrix_kind: matrix.map(|m| m.kind),
    })
}

/// What the DAG view reads of a matrix pipeline's compiled spec.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Compiled {
    matrix: Option<MatrixPart>,
    params: serde_json::Map<String, Value>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct MatrixPart {
    kind: String,
    suggestions: Vec<serde_json::Map<String, Value>>,
}

fn suggestion(matrix: Option<&MatrixPart>, index: usize) -> String {
    let Some(s) = matrix.and_then(|m| m.suggestions.get(index)) else {
        return String::new();
    };
    s.iter().map(|(k, v)| format!("{k}={}", shown(v))).collect::<Vec<_>>().join(", ")
}

fn shown(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(39).collect::<String>())
    } else {
        s
    }
}

async fn compiled_params(
    db: &DatabaseConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, serde_json::Map<String, Value>>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        // Only the compiled specs, not the runs' other columns.
        let rows: Vec<(Uuid, Value)> = run::Entity::find()
            .select_only()
            .columns([run::Column::Id, run::Column::Compiled])
            .filter(run::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        for (id, compiled) in rows {
            let part = <Compiled as serde::Deserialize>::deserialize(&compiled)
                .map_err(|e| Error::Internal(format!("run {id}: stored compiled spec: {e}")))?;
            out.insert(id, part.params);
        }
    }
    Ok(out)
}
