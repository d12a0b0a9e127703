//! Runs for the browser: list, one run, submit, stop, restart, logs.

use leptos::prelude::*;

use super::AppError;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ctx::{err, require_user, state};
pub use super::listing::Listing;
#[cfg(feature = "ssr")]
use super::projects::access;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// Values of the chosen columns (metrics, params, tags), in order.
    pub cells: Vec<String>,
    pub uuid: String,
    pub name: String,
    pub status: String,
    pub user: String,
    pub created: String,
    pub duration: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunList {
    pub items: Vec<RunRow>,
    pub total: u64,
    /// The chosen columns, as understood (`metrics.loss`, `metrics.loss:max`, `params.lr`, `tags.team`).
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub status: String,
    pub at: String,
    pub reason: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub row: RunRow,
    pub done: bool,
    pub message: String,
    pub exit_code: Option<i32>,
    pub retries: i32,
    pub queue: Option<String>,
    pub params: Vec<(String, String)>,
    pub timeline: Vec<Step>,
    pub image: String,
    pub content: String,
    pub manifest: String,
    pub original: Option<String>,
    pub can_act: bool,
    /// Held by `isApproved: false` until a member approves it.
    pub waiting_for_approval: bool,
    pub metrics: Vec<MetricRow>,
    pub logged_params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub outputs: Vec<(String, String)>,
    pub executor: String,
    /// The node the pod runs on and the image digest it pulled (Kubernetes).
    pub node: Option<String>,
    pub image_id: Option<String>,
    pub diagnosis: Option<api_types::Diagnosis>,
    /// When caching is on for the run: reused or not, the key, and why.
    pub cache: Option<api_types::CacheInfo>,
    /// `job`, `dag`, `matrix`, ...
    pub kind: String,
    /// For an op of a pipeline: the pipeline and the op's name there.
    pub pipeline: Option<PipelineOp>,
}

/// A metric's summary row, values formatted for the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub key: String,
    pub last: String,
    pub min: String,
    pub max: String,
    /// The step of the last point.
    pub step: i64,
    pub points: i64,
}

/// Where an op's run sits: its pipeline run and its op name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineOp {
    pub pipeline: String,
    pub op: String,
}

pub const RUNS_PER_PAGE: u64 = 50;

#[cfg(feature = "ssr")]
pub(crate) fn row(r: &backend::services::runs::RunSummary) -> RunRow {
    RunRow {
        cells: Vec::new(),
        uuid: r.uuid.to_string(),
        name: r.name.clone(),
        status: r.status.to_string(),
        user: r.user.clone(),
        created: r.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        duration: r
            .duration
            .map(|d| {
                if d < 60.0 {
                    format!("{d:.1} s")
                } else {
                    format!("{:.0} min {:.0} s", (d / 60.0).floor(), d % 60.0)
                }
            })
            .unwrap_or_default(),
    }
}

#[cfg(feature = "ssr")]
fn parse_uuid(s: &str) -> Result<uuid::Uuid, AppError> {
    s.parse().map_err(|_| err(backend::Error::NotFound("run")))
}

#[server]
pub async fn list_runs(owner: String, name: String, listing: Listing) -> Result<RunList, AppError> {
    let st = state()?;
    let a = access(&owner, &name).await?;
    let Listing { page, sort, asc, q: query, cols, children } = listing;
    let columns = parse_columns(&cols).map_err(err)?;
    let q = backend::services::runs::RunQuery {
        sort: Some(sort).filter(|s| !s.is_empty()),
        asc,
        query: Some(query).filter(|q| !q.trim().is_empty()),
        children: Some(children),
        limit: Some(RUNS_PER_PAGE),
        offset: Some(page * RUNS_PER_PAGE),
        ..Default::default()
    };
    let p = backend::services::runs::list(&st.db, &a, &q).await.map_err(err)?;
    let ids: Vec<uuid::Uuid> = p.items.iter().map(|r| r.uuid).collect();
    let mut data = if columns.is_empty() {
        Default::default()
    } else {
        backend::services::tracking::data_of(&st.db, &ids).await.map_err(err)?
    };
    let items = p
        .items
        .iter()
        .map(|r| {
            let d = data.remove(&r.uuid).unwrap_or_default();
            RunRow { cells: columns.iter().map(|c| cell(c, &d)).collect(), ..row(r) }
        })
        .collect();
    Ok(RunList { items, total: p.total, columns })
}

/// `metrics.loss, metrics.loss:min, params.lr, tags.team` -> the columns; anything else is refused.
#[cfg(feature = "ssr")]
fn parse_columns(text: &str) -> Result<Vec<String>, backend::Error> {
    let mut out = Vec::new();
    for c in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        if backend::services::tracking::search::column_expr(c).is_none() || out.len() >= 12 {
            return Err(backend::Error::invalid(
                "columns",
                format!("column {c:?}: use up to 12 of metrics.<key>[:min|:max], params.<key>, tags.<key>"),
            ));
        }
        out.push(c.to_string());
    }
    Ok(out)
}

#[cfg(feature = "ssr")]
fn cell(column: &str, d: &backend::services::tracking::RunData) -> String {
    let (kind, key) = column.split_once('.').unwrap_or(("", column));
    let num = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "NaN".into());
    match kind {
        "metrics" => {
            let (key, agg) = key
                .rsplit_once(':')
                .filter(|(_, a)| ["min", "max", "last"].contains(a))
                .unwrap_or((key, "last"));
            d.metrics
                .iter()
                .find(|m| m.key == key)
                .map(|m| {
                    num(match agg {
                        "min" => m.min,
                        "max" => m.max,
                        _ => m.last,
                    })
                })
                .unwrap_or_default()
        }
        "params" => d.params.get(key).cloned().unwrap_or_default(),
        _ => d.tags.get(key).cloned().unwrap_or_default(),
    }
}

#[server]
pub async fn get_run(owner: String, name: String, uuid: String) -> Result<RunView, AppError> {
    let st = state()?;
    let a = access(&owner, &name).await?;
    let r = backend::services::runs::get(&st.db, &a, parse_uuid(&uuid)?).await.map_err(err)?;
    let done = r.summary.status.is_done();
    let compiled = <spec::compile::Run as serde::Deserialize>::deserialize(&r.reproducibility.compiled)
        .map_err(|e| err(backend::Error::Internal(format!("run {uuid}: stored compiled spec: {e}"))))?;
    let manifest = compiled.manifests.iter().map(spec::yaml::to_string).collect::<Vec<_>>().join("---\n");
    let waiting_for_approval = r.summary.status == spec::lifecycle::Status::Compiled
        && r.status_reason.as_deref() == Some(backend::services::runs::WAITING_FOR_APPROVAL);
    Ok(RunView {
        waiting_for_approval,
        row: row(&r.summary),
        done,
        message: r.status_message.clone().unwrap_or_default(),
        exit_code: r.exit_code,
        retries: r.retries,
        queue: r.queue.as_ref().map(|q| {
            format!("#{} in the queue; {} running of a limit of {}", q.position, q.running, q.limit)
        }),
        params: r.params.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        timeline: r
            .timeline
            .iter()
            .map(|e| Step {
                status: e.status.to_string(),
                at: e.at.format("%H:%M:%S%.3f").to_string(),
                reason: e.reason.clone().unwrap_or_default(),
                message: e.message.clone().unwrap_or_default(),
            })
            .collect(),
        image: r.reproducibility.image.clone().unwrap_or_default(),
        content: r.reproducibility.content.clone(),
        manifest,
        original: r.original.map(|o| o.to_string()),
        can_act: a.role >= backend::domain::Role::Member,
        metrics: r
            .metric_stats
            .iter()
            .map(|m| {
                let f = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_else(|| "NaN".into());
                MetricRow {
                    key: m.key.clone(),
                    last: f(m.last),
                    min: f(m.min),
                    max: f(m.max),
                    step: m.step,
                    points: m.count,
                }
            })
            .collect(),
        logged_params: r.logged_params.into_iter().collect(),
        tags: r.tags.into_iter().collect(),
        outputs: r.outputs.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        cache: r.cache.clone(),
        executor: r.reproducibility.executor.clone(),
        kind: r.summary.kind.to_string(),
        pipeline: r.pipeline.map(|p| PipelineOp {
            pipeline: p.to_string(),
            op: r
                .step
                .as_ref()
                .and_then(|s| s.get("name"))
                .and_then(|n| n.as_str())
                .unwrap_or_default()
                .to_string(),
        }),
        node: r.node.clone(),
        image_id: r.reproducibility.image_id.clone(),
        diagnosis: r.diagnosis.clone(),
    })
}

/// A run of `owner/name` the caller may see.
#[cfg(feature = "ssr")]
pub(crate) async fn run_of(
    owner: &str,
    name: &str,
    uuid: &str,
) -> Result<backend::entities::run::Model, AppError> {
    let st = state()?;
    let a = access(owner, name).await?;
    backend::services::runs::find(&st.db, &a, parse_uuid(uuid)?).await.map_err(err)
}

/// `params`: one `name=value` per line.
#[server]
pub async fn submit_run(
    owner: String,
    name: String,
    content: String,
    params: String,
    #[server(default)] force: Option<String>,
) -> Result<(), AppError> {
    let st = state()?;
    // The project first: strangers, signed in or not, learn only that it does not exist.
    let a = access(&owner, &name).await?;
    let me = require_user().await?;
    let mut map = serde_json::Map::new();
    for line in params.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once('=').ok_or_else(|| {
            err(backend::Error::invalid("params", format!("params: `{line}` is not name=value")))
        })?;
        map.insert(k.trim().to_string(), serde_json::Value::String(v.trim().to_string()));
    }
    let force = force.is_some_and(|f| f == "true" || f == "on");
    let sub = backend::services::runs::Submission { content, params: map, force, ..Default::default() };
    let r = st.submit(&a, &me, &sub).await.map_err(err)?;
    st.wake.notify_one();
    leptos_axum::redirect(&format!("/{owner}/{name}/runs/{}", r.summary.uuid));
    Ok(())
}

#[server]
pub async fn stop_run(owner: String, name: String, uuid: String) -> Result<(), AppError> {
    let st = state()?;
    let a = access(&owner, &name).await?;
    let id = parse_uuid(&uuid)?;
    backend::services::runs::stop(&st.db, &st.executor, &a, id).await.map_err(err)
}

/// Approves a run held by `isApproved: false`.
#[server]
pub async fn approve_run(owner: String, name: String, uuid: String) -> Result<(), AppError> {
    let st = state()?;
    let a = access(&owner, &name).await?;
    let id = parse_uuid(&uuid)?;
    backend::services::runs::approve(&st.db, &a, id).await.map_err(err)?;
    Ok(())
}

#[server]
pub async fn restart_run(owner: String, name: String, uuid: String) -> Result<(), AppError> {
    let st = state()?;
    // The project first: strangers, signed in or not, learn only that it does not exist.
    let a = access(&owner, &name).await?;
    let me = require_user().await?;
    let r = st.restart(&a, &me, parse_uuid(&uuid)?).await.map_err(err)?;
    st.wake.notify_one();
    leptos_axum::redirect(&format!("/{owner}/{name}/runs/{}", r.summary.uuid));
    Ok(())
}

/// Stops or deletes several runs (`action`: `stop` | `delete`; `uuids`: comma-separated). Returns a summary.
#[server]
pub async fn bulk_runs(
    owner: String,
    name: String,
    action: String,
    uuids: String,
) -> Result<String, AppError> {
    let st = state()?;
    let a = access(&owner, &name).await?;
    let (mut ok, mut skipped) = (0, Vec::new());
    for u in uuids.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        let id = parse_uuid(u)?;
        let result = match action.as_str() {
            "stop" => backend::services::runs::stop(&st.db, &st.executor, &a, id).await,
            "delete" => backend::services::runs::delete(&st.db, &st.artifacts, &a, id).await,
            _ => return Err(err(backend::Error::invalid("action", "action: stop or delete"))),
        };
        match result {
            Ok(()) => ok += 1,
            Err(backend::Error::Forbidden(m)) => return Err(err(backend::Error::Forbidden(m))),
            Err(e) => skipped.push(format!("{}: {e}", &u[..8.min(u.len())])),
        }
    }
    let verb = if action == "stop" { "stopped" } else { "deleted" };
    Ok(if skipped.is_empty() {
        format!("{ok} run(s) {verb}")
    } else {
        format!("{ok} run(s) {verb}; skipped {}", skipped.join("; "))
    })
}

/// One input of a polyaxonfile, for the params form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputField {
    pub name: String,
    pub kind: String,
    pub default: String,
    pub required: bool,
    pub description: String,
}

/// The inputs a polyaxonfile declares (for a generated params form), or its first error.
#[server]
pub async fn describe_inputs(content: String) -> Result<Vec<InputField>, AppError> {
    // Parsing is work: only for signed-in users, off the async workers, within the server's limits.
    require_user().await?;
    let parsed = backend::compiling::off_thread(move || {
        spec::yaml::parse_within("polyaxonfile.yaml", &content, &backend::compiling::limits())
    })
    .await
    .map_err(err)?;
    let doc = parsed.map_err(|e| AppError {
        code: "invalid_spec".into(),
        message: format!("{}:{}: {}", e.line, e.column, e.message),
    })?;
    let component =
        if doc.value["kind"] == "operation" { doc.value["component"].clone() } else { doc.value.clone() };
    let mut out = Vec::new();
    for v in component["inputs"].as_array().into_iter().flatten() {
        let Ok(io) = spec::io::Io::from_value(v) else { continue };
        out.push(InputField {
            default: io
                .value
                .as_ref()
                .map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string()))
                .unwrap_or_default(),
            required: !io.optional,
            description: v["description"].as_str().unwrap_or_default().to_string(),
            name: io.name,
            kind: io.kind,
        });
    }
    Ok(out)
}
