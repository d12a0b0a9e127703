//! A project's artifacts for the browser (`backend::services::artifacts`): search, a run's folder or file (with
//! its preview), in the API's own types.

use api_types::{ArtifactDir, ArtifactPage, ArtifactView};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ctx::{err, state};
#[cfg(feature = "ssr")]
use super::runs::run_of;
use super::AppError;

/// What a path of a run is: a file with its preview (and, once a run consumed it, the picture of its producer
/// above the runs that consumed it), or a folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PathView {
    File(Box<ArtifactView>, Option<Box<api_types::GraphView>>),
    Folder(Box<ArtifactDir>),
}

/// A page of the project's artifacts, newest first; `kind` and `q` narrow it, `after` is the previous `next`.
#[server]
pub async fn search_artifacts(
    owner: String,
    name: String,
    q: String,
    kind: String,
    after: Option<String>,
) -> Result<ArtifactPage, AppError> {
    let st = state()?;
    let a = super::projects::access(&owner, &name).await?;
    let search = backend::services::artifacts::Search {
        q: Some(q),
        kind: Some(kind),
        after,
        limit: Some(50),
        ..Default::default()
    };
    backend::services::artifacts::search(&st.db, &a, &search).await.map_err(err)
}

/// The file or folder `path` of the run (`""`: its root); a folder's files from `after` on.
#[server]
pub async fn artifact_at(
    owner: String,
    name: String,
    uuid: String,
    path: String,
    after: Option<String>,
) -> Result<PathView, AppError> {
    use backend::services::artifacts;
    let st = state()?;
    let r = run_of(&owner, &name, &uuid).await?;
    let path = path.trim_matches('/').to_string();
    let file = if path.is_empty() {
        None
    } else {
        match artifacts::view(&st.db, &st.artifacts, &format!("{owner}/{name}"), &r, &path).await {
            Ok(v) => {
                let graph = (!v.consumers.is_empty()).then(|| {
                    let made = api_types::LineageRun {
                        uuid: r.id,
                        name: r.name.clone(),
                        status: r.status.clone(),
                        what: format!("made {}", v.info.name),
                    };
                    Box::new(graph_of(&made, &[], &v.consumers, &r.status))
                });
                return Ok(PathView::File(Box::new(v), graph));
            }
            Err(e @ backend::Error::Invalid { .. }) => return Err(err(e)),
            Err(e) => Some(e),
        }
    };
    let dir =
        artifacts::dir(&st.db, &st.artifacts, &r, &path, after.as_deref(), Some(200)).await.map_err(err)?;
    if dir.dirs.is_empty() && dir.files.is_empty() && after.is_none() {
        if let Some(e) = file {
            return Err(err(e));
        }
    }
    Ok(PathView::Folder(Box::new(dir)))
}

/// What the run page shows of a run's lineage (`api_types::RunLineage` holds more): its picture (upstream runs
/// above it, the runs that consumed its outputs below), its inputs, and the model versions made from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineageView {
    pub inputs: Vec<api_types::LineageInput>,
    pub models: Vec<String>,
    pub graph: api_types::GraphView,
}

#[server]
pub async fn run_lineage(owner: String, name: String, uuid: String) -> Result<LineageView, AppError> {
    let st = state()?;
    let r = run_of(&owner, &name, &uuid).await?;
    let lineage = backend::services::lineage::of_run(&st.db, &r).await.map_err(err)?;
    let this = api_types::LineageRun {
        uuid: r.id,
        name: r.name.clone(),
        status: r.status.clone(),
        what: "this run".into(),
    };
    let graph = graph_of(&this, &lineage.upstream, &lineage.downstream, &r.status);
    Ok(LineageView { inputs: lineage.inputs, models: lineage.models, graph })
}

/// Upstream runs, `center`, downstream runs, laid out as a DAG.
#[cfg(feature = "ssr")]
fn graph_of(
    center: &api_types::LineageRun,
    upstream: &[api_types::LineageRun],
    downstream: &[api_types::LineageRun],
    status: &str,
) -> api_types::GraphView {
    use api_types::{GraphEdge, GraphNode};
    let c = center;
    let mut nodes: Vec<(String, String, String, String)> =
        vec![(c.name.clone(), c.uuid.to_string(), c.status.clone(), c.what.clone())];
    let mut links = Vec::new();
    for u in upstream {
        nodes.push((u.name.clone(), u.uuid.to_string(), u.status.clone(), u.what.clone()));
        links.push((nodes.len() - 1, 0));
    }
    for d in downstream {
        nodes.push((d.name.clone(), d.uuid.to_string(), d.status.clone(), d.what.clone()));
        links.push((0, nodes.len() - 1));
    }
    let placed = spec::layout::layout(nodes.len(), &links, 150.0);
    let at = |i: usize| placed.positions[i];
    let edges =
        links.iter().map(|(a, b)| GraphEdge { from: at(*a), to: at(*b), label: String::new() }).collect();
    let nodes = nodes
        .into_iter()
        .enumerate()
        .map(|(i, (name, run, status, detail))| GraphNode {
            name,
            run,
            status,
            cache_hit: false,
            cache_why: String::new(),
            detail,
            x: at(i).0,
            y: at(i).1,
        })
        .collect();
    api_types::GraphView {
        kind: "lineage".into(),
        status: status.to_string(),
        done: true,
        progress: String::new(),
        nodes,
        edges,
        width: placed.width,
        height: placed.height,
    }
}
