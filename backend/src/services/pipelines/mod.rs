//! Pipelines (issue #7): a DAG or matrix run is a run of kind `dag` / `matrix` that no executor runs; each op
//! or matrix child is a run of its own (`pipeline_id`, `step`), created with the pipeline in status
//! `created`. The driver (`drive`) starts children as their triggers, conditions, the cache and `concurrency`
//! allow, stops early when a policy says so, and ends the pipeline from its children's statuses. A pipeline with
//! `isApproved: false` waits in `compiled` (`WaitingForApproval`), its children with it, until a project member
//! approves it (`runs::approve` sets it running).

use chrono::Utc;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use spec::lifecycle::{RunKind, Status};
use spec::pipeline::Step;
use uuid::Uuid;

use crate::entities::{run, run_event};
use crate::error::{Error, Result};
use crate::services::runs::Submission;

mod drive;
mod graph;

pub use drive::drive;
pub use graph::{graph, PipelineEdge, PipelineGraph, PipelineNode};

/// Matrix kinds Myelin executes; the others (hyperband, bayes, tpe, iterative) are validated only.
const EXECUTED_MATRICES: &[&str] = &["grid", "random", "mapping"];

/// What `create` needs besides the compiled file.
pub struct NewPipeline<'a> {
    /// The id it was compiled as; its ops and matrix children get the uuids the compiler derived from it.
    pub id: Uuid,
    pub now: chrono::DateTime<Utc>,
    pub project: Uuid,
    pub user: Uuid,
    pub sub: &'a Submission,
    pub name: String,
    pub executor: &'a str,
}

/// Stores a pipeline run and all its children (in `created`); the driver takes it from there.
pub async fn create(db: &DatabaseConnection, p: &NewPipeline<'_>, out: &spec::Compiled) -> Result<Uuid> {
    let what = out.run.pipeline.as_deref().unwrap_or_default();
    let children: Vec<(Step, &spec::compile::Run)> = match what {
        "dag" => out
            .run
            .ops
            .iter()
            .enumerate()
            .map(|(index, op)| {
                let step = Step {
                    name: op.name.clone(),
                    upstream: op.upstream.clone(),
                    trigger: op.trigger.clone(),
                    conditions: op.conditions.clone(),
                    skip_on_upstream_skip: op.skip_on_upstream_skip,
                    feeds: op.feeds.clone(),
                    index,
                };
                (step, &op.run)
            })
            .collect(),
        "matrix" => {
            let m = out.run.matrix.as_ref().ok_or_else(|| Error::Internal("matrix without children".into()))?;
            if !EXECUTED_MATRICES.contains(&m.kind.as_str()) {
                return Err(Error::Unsupported(format!(
                    "a {} matrix is valid, but Myelin does not execute {} searches yet: use grid, random or mapping",
                    m.kind, m.kind
                )));
            }
            m.children
                .iter()
                .enumerate()
                .map(|(index, c)| (Step { name: format!("{}-{index}", p.name), index, ..Default::default() }, c))
                .collect()
        }
        other => {
            return Err(Error::Unsupported(format!(
                "a {other} run needs a scheduler Myelin does not have yet; submit its operation without `schedule`"
            )))
        }
    };
    if children.is_empty() {
        return Err(Error::Unsupported("the pipeline has no runs to start".into()));
    }
    let (id, now) = (p.id, p.now);
    let sub = p.sub;
    let base = |id: Uuid, name: String, kind: RunKind, status: Status| run::ActiveModel {
        executor: Set(p.executor.to_string()),
        ..crate::services::runs::new_run(id, p.project, p.user, name, kind, status, now)
    };
    // The file is stored once, with the pipeline; its runs show it from there.
    // `conditions` that are false skip the whole pipeline, as Polyaxon skips it before expanding it; its ops
    // are stored skipped too, so its page still shows what would have run.
    let skipped = out.run.conditions_met == Some(false);
    let held = out.run.needs_approval && !skipped;
    let (status, reason, message) = if skipped {
        (Status::Skipped, "ConditionsCheckFailed", Some("conditions are false".to_string()))
    } else if held {
        use crate::services::runs::{APPROVAL_MESSAGE, WAITING_FOR_APPROVAL};
        (Status::Compiled, WAITING_FOR_APPROVAL, Some(APPROVAL_MESSAGE.to_string()))
    } else {
        (Status::Running, "Started", None)
    };
    let parent = run::ActiveModel {
        content: Set(sub.content.clone()),
        overlays: Set(json!(sub.overlays)),
        params: Set(Value::Object(sub.params.clone())),
        compiled: Set(serde_json::to_value(&out.run).map_err(|e| Error::Internal(e.to_string()))?),
        started_at: Set((status == Status::Running).then_some(now)),
        finished_at: Set(skipped.then_some(now)),
        status_reason: Set(Some(reason.into())),
        status_message: Set(message.clone()),
        executor: Set("pipeline".into()),
        ..base(id, p.name.clone(), if what == "dag" { RunKind::Dag } else { RunKind::Matrix }, status)
    };
    let mut tags = vec![(id, crate::services::tracking::spec_tags(&out.run)?)];
    let mut rows = Vec::with_capacity(children.len());
    let mut events = Vec::with_capacity(children.len() + 3);
    for (status, reason) in [(Status::Created, "Submitted"), (Status::Compiled, "Compiled")] {
        events.push(event(id, status, reason, None, now));
    }
    events.push(event(id, status, reason, message.as_deref(), now));
    for (index, (step, child)) in children.into_iter().enumerate() {
        // The uuid its `globals` name (context paths, `globals.uuid`) is the one it is stored under.
        let cid = Uuid::parse_str(&child.uuid)
            .map_err(|e| Error::Internal(format!("op {}: compiled uuid {:?}: {e}", step.name, child.uuid)))?;
        let kind = child.kind.or(out.run.kind).filter(|k| *k != RunKind::Dag).unwrap_or(RunKind::Job);
        let kind = if what == "matrix" { out.run.kind.unwrap_or(kind) } else { kind };
        let mut row = base(cid, step.name.clone(), kind, Status::Created);
        if skipped {
            row.status = Set(Status::Skipped.as_str().into());
            row.status_reason = Set(Some("ConditionsCheckFailed".into()));
            row.status_message = Set(Some("the pipeline's conditions are false".into()));
            row.finished_at = Set(Some(now));
        }
        tags.push((cid, crate::services::tracking::spec_tags(child)?));
        rows.push(run::ActiveModel {
            pipeline_id: Set(Some(id)),
            step: Set(Some(serde_json::to_value(&step).unwrap_or_default())),
            // Created in pipeline order, so lists sorted by creation show ops in order.
            created_at: Set(now + chrono::Duration::microseconds(index as i64 + 1)),
            updated_at: Set(now + chrono::Duration::microseconds(index as i64 + 1)),
            ..crate::services::runs::with_compiled(row, child)?
        });
        events.push(event(
            cid,
            Status::Created,
            "Submitted",
            Some(&format!("op of pipeline {}", &id.to_string()[..8])),
            now,
        ));
        if skipped {
            events.push(event(cid, Status::Skipped, "ConditionsCheckFailed", None, now));
        }
    }
    let txn = db.begin().await?;
    run::Entity::insert(parent).exec(&txn).await?;
    // SQLite binds at most 32766 values per statement: insert in chunks.
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<run::ActiveModel> = rows.by_ref().take(200).collect();
        run::Entity::insert_many(chunk).exec_without_returning(&txn).await?;
    }
    let mut events = events.into_iter().peekable();
    while events.peek().is_some() {
        let chunk: Vec<run_event::ActiveModel> = events.by_ref().take(1000).collect();
        run_event::Entity::insert_many(chunk).exec_without_returning(&txn).await?;
    }
    for (run, tags) in &tags {
        crate::services::tracking::insert_tags(&txn, *run, tags).await?;
    }
    txn.commit().await?;
    crate::store::nudge();
    Ok(id)
}

fn event(
    run_id: Uuid,
    status: Status,
    reason: &str,
    message: Option<&str>,
    at: chrono::DateTime<Utc>,
) -> run_event::ActiveModel {
    run_event::ActiveModel {
        id: Set(Uuid::new_v4()),
        run_id: Set(run_id),
        status: Set(status.as_str().into()),
        at: Set(at),
        reason: Set(Some(reason.into())),
        message: Set(message.map(str::to_string)),
    }
}

/// A child as the driver and the DAG view read it (no spec texts).
#[derive(Debug, Clone)]
pub struct Child {
    pub id: Uuid,
    pub name: String,
    pub status: Status,
    pub status_reason: Option<String>,
    pub step: Option<Value>,
    pub cache: Option<Value>,
    pub original_id: Option<Uuid>,
}

#[derive(sea_orm::FromQueryResult, sea_orm::DerivePartialModel)]
#[sea_orm(entity = "run::Entity")]
struct ChildRow {
    id: Uuid,
    name: String,
    status: String,
    status_reason: Option<String>,
    step: Option<Value>,
    cache: Option<Value>,
    original_id: Option<Uuid>,
}

impl Child {
    pub fn status(&self) -> Status {
        self.status
    }

    pub fn step(&self) -> Step {
        self.step.clone().and_then(|s| serde_json::from_value(s).ok()).unwrap_or_default()
    }

    pub fn cache_info(&self) -> Option<crate::services::runs::cache::CacheInfo> {
        self.cache.clone().and_then(|c| serde_json::from_value(c).ok())
    }
}

pub async fn children(db: &DatabaseConnection, pipeline: Uuid) -> Result<Vec<Child>> {
    let rows: Vec<ChildRow> = run::Entity::find()
        .filter(run::Column::PipelineId.eq(pipeline))
        .order_by_asc(run::Column::CreatedAt)
        .into_partial_model::<ChildRow>()
        .all(db)
        .await?;
    let mut out = rows
        .into_iter()
        .map(|r| {
            Ok(Child {
                status: crate::store::status_of(r.id, &r.status)?,
                id: r.id,
                name: r.name,
                status_reason: r.status_reason,
                step: r.step,
                cache: r.cache,
                original_id: r.original_id,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    out.sort_by_key(|c| c.step().index);
    Ok(out)
}

/// Stopping a pipeline: it goes `stopping`; the driver stops its children and then ends it.
pub async fn stop(db: &DatabaseConnection, id: Uuid) -> Result<()> {
    crate::services::runs::transition(
        db,
        id,
        Status::Stopping,
        "StoppedByUser",
        Some("stop requested: stopping its runs"),
    )
    .await?;
    crate::store::nudge();
    Ok(())
}

/// Counts of a pipeline's children by status, for lists and the pipeline page.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Progress {
    pub total: usize,
    pub done: usize,
    #[schema(value_type = Object)]
    pub by_status: std::collections::BTreeMap<String, usize>,
}

pub fn progress(children: &[Child]) -> Progress {
    let mut by_status = std::collections::BTreeMap::new();
    for c in children {
        *by_status.entry(c.status.as_str().to_string()).or_insert(0) += 1;
    }
    Progress {
        total: children.len(),
        done: children.iter().filter(|c| c.status().is_done()).count(),
        by_status,
    }
}

/// Selects only what the driver needs from the pipelines that are going on.
pub(crate) async fn active(db: &DatabaseConnection) -> Result<Vec<run::Model>> {
    Ok(run::Entity::find()
        .filter(run::Column::Kind.is_in(["dag", "matrix"]))
        .filter(run::Column::Status.is_in([Status::Running.as_str(), Status::Stopping.as_str()]))
        .limit(100)
        .all(db)
        .await?)
}
