//! What users do to runs: submit (compile with `spec`, store, queue), stop, restart. Everything a run needs
//! from its file is read from the one compiled answer (`spec::Compiled`): its name, kind, termination and
//! image.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use serde_json::Value;
use spec::lifecycle::{RunKind, Status};
use uuid::Uuid;

use super::{cache, find, get, new_run, RunDetail, Submission};
use crate::domain::Role;
use crate::entities::{run, user};
use crate::error::{Error, Result};
use crate::executor::Executor;
use crate::services::projects::ProjectAccess;
use crate::store::status::{event, transition};

/// The most retries a file may ask for.
const MAX_RETRIES: u32 = 100;

/// Compiles and queues a run. Invalid files are refused with spec's located diagnostics.
pub async fn submit(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    u: &user::Model,
    sub: &Submission,
    exec: &Executor,
    connections: &spec::catalog::Catalog,
    original: Option<Uuid>,
) -> Result<RunDetail> {
    a.require(Role::Member)?;
    exec.admits(u.is_admin).map_err(Error::Forbidden)?;
    let max = crate::compiling::limits().yaml_bytes;
    if sub.content.len() > max || sub.overlays.iter().any(|o| o.len() > max) {
        return Err(Error::LimitExceeded(format!(
            "a file is larger than {max} bytes; the limit is yaml_bytes"
        )));
    }
    // `hubRef: NAME[:VERSION]` names one of the project's components.
    let refs = crate::services::components::library(db, a.project.id).await?;
    // The project's own view of the catalog: connections not granted to it are named, never attached.
    let (owned, catalog) = (sub.clone(), connections.for_project(&a.path()));
    let policy = crate::compiling::policy_for(&a.project);
    // The run's id is chosen first: its `globals` (uuid, context paths) name it.
    let (id, now) = (Uuid::new_v4(), Utc::now());
    let context = (id, super::context(&a.owner, &a.project.name, &u.username, now));
    let out = crate::compiling::off_thread(move || super::compile(&owned, &catalog, &refs, policy, context))
        .await?;
    if !out.valid {
        return Err(Error::InvalidSpec(Box::new(out)));
    }
    let Some(kind) = out.run.kind else {
        return Err(Error::Internal("a valid file compiled to no run kind".into()));
    };
    let name = sub.name.clone().or_else(|| out.run.name.clone()).unwrap_or_else(|| "run".into());
    let name = crate::domain::bounded_text("name", &name, 128)?;
    if out.run.pipeline.is_some() {
        for k in out.run.children_kinds() {
            exec.supports(k).map_err(Error::Unsupported)?;
        }
    } else {
        exec.supports(kind).map_err(Error::Unsupported)?;
    }
    // Every pod the file makes, a pipeline's ops and matrix children included.
    let refused = exec.preflight(&out.run);
    match (&refused, sub.force) {
        (Some(f), false) => return Err(Error::Unplaceable { code: f.code, message: f.message.clone() }),
        // A policy override: queued although the pre-flight says no node could ever take it.
        (Some(f), true) if original.is_none() => {
            let detail = serde_json::json!({"run": name, "preflight": f.code, "message": f.message});
            crate::services::audit::record(db, &a.actor, "run.force", &a.path(), detail, None).await;
        }
        _ => {}
    }
    if out.run.pipeline.is_some() {
        let new = crate::services::pipelines::NewPipeline {
            id,
            now,
            project: a.project.id,
            user: u.id,
            sub,
            name,
            executor: exec.name(),
        };
        let id = crate::services::pipelines::create(db, &new, &out).await?;
        return get(db, a, id).await;
    }
    let ask = cache::Ask {
        project: a.project.id,
        name: &name,
        run: &out.run,
        in_pipeline: false,
        upstream: Default::default(),
        restart: original.is_some(),
    };
    let tags = crate::services::tracking::spec_tags(&out.run)?;
    let cached = cache::decide(db, &ask).await?;
    let reused = cached.as_ref().and_then(|d| d.original.as_ref()).map(|o| o.id);
    let txn = db.begin().await?;
    run::ActiveModel {
        original_id: Set(reused.or(original)),
        cache_key: Set(cached.as_ref().map(|d| d.info.key.clone())),
        cache: Set(cached.as_ref().map(|d| serde_json::to_value(&d.info).unwrap_or_default())),
        content: Set(sub.content.clone()),
        overlays: Set(serde_json::json!(sub.overlays)),
        params: Set(Value::Object(sub.params.clone())),
        ..with_compiled(new_run(id, a.project.id, u.id, name, kind, Status::Created, now), &out.run)?
    }
    .insert(&txn)
    .await?;
    let logged = crate::services::tracking::params_as_strings(&out.run.params);
    if !logged.is_empty() {
        crate::services::tracking::insert_params(&txn, id, &logged).await?;
    }
    crate::services::tracking::insert_tags(&txn, id, &tags).await?;
    for (status, reason) in [(Status::Created, "Submitted"), (Status::Compiled, "Compiled")] {
        event(&txn, id, status, Some(reason), None).await?;
    }
    let mut done = run::Entity::update_many().filter(run::Column::Id.eq(id));
    if out.run.conditions_met == Some(false) {
        // `conditions` that are false: skipped, as Polyaxon skips it (nothing to approve or run).
        let why = "conditions are false";
        event(&txn, id, Status::Skipped, Some("ConditionsCheckFailed"), Some(why)).await?;
        done = done
            .col_expr(run::Column::Status, Expr::value(Status::Skipped.as_str()))
            .col_expr(run::Column::StatusReason, Expr::value("ConditionsCheckFailed"))
            .col_expr(run::Column::StatusMessage, Expr::value(why))
            .col_expr(run::Column::FinishedAt, Expr::value(now));
    } else if out.run.needs_approval {
        // `isApproved: false`: compiled, and held until a project member approves it (`approve`).
        event(&txn, id, Status::Compiled, Some(WAITING_FOR_APPROVAL), Some(APPROVAL_MESSAGE)).await?;
        done = done
            .col_expr(run::Column::Status, Expr::value(Status::Compiled.as_str()))
            .col_expr(run::Column::StatusReason, Expr::value(WAITING_FOR_APPROVAL))
            .col_expr(run::Column::StatusMessage, Expr::value(APPROVAL_MESSAGE));
    } else if let Some(d) = cached.as_ref().filter(|d| d.info.hit) {
        // A hit is never queued: it is done, with its original's results.
        let why = d.info.explanation.join("; ");
        event(&txn, id, Status::Succeeded, Some("CacheHit"), Some(&why)).await?;
        done = done
            .col_expr(run::Column::Status, Expr::value(Status::Succeeded.as_str()))
            .col_expr(run::Column::StatusReason, Expr::value("CacheHit"))
            .col_expr(run::Column::StatusMessage, Expr::value(why))
            .col_expr(run::Column::StartedAt, Expr::value(now))
            .col_expr(run::Column::FinishedAt, Expr::value(now))
            .col_expr(run::Column::ExitCode, Expr::value(d.original.as_ref().and_then(|o| o.exit_code)));
    } else {
        event(&txn, id, Status::Queued, Some("Queued"), None).await?;
        done = done.col_expr(run::Column::Status, Expr::value(Status::Queued.as_str()));
    }
    done.exec(&txn).await?;
    txn.commit().await?;
    get(db, a, id).await
}

/// Why a compiled run waits: `isApproved: false` (Polyaxon's `pending=approval`).
pub const WAITING_FOR_APPROVAL: &str = "WaitingForApproval";
pub const APPROVAL_MESSAGE: &str =
    "isApproved: false — waits until a project member approves it (the run page, `myelin ops approve`, or the API)";

/// Approves a run held by `isApproved: false` (a project member's call): it is queued, and its history
/// records who approved it.
pub async fn approve(db: &DatabaseConnection, a: &ProjectAccess, id: Uuid) -> Result<RunDetail> {
    a.require(Role::Member)?;
    let r = find(db, a, id).await?;
    let waiting = r.status()? == Status::Compiled && r.status_reason.as_deref() == Some(WAITING_FOR_APPROVAL);
    if !waiting {
        return Err(Error::Conflict(format!("the run is {} and waits for no approval", r.status)));
    }
    let by = format!("approved by {}", a.actor.name);
    // A pipeline starts (its driver takes it from there); any other run is queued for its executor.
    let pipeline = r.kind()?.is_pipeline();
    let to = if pipeline { Status::Running } else { Status::Queued };
    let txn = db.begin().await?;
    // Compare-and-set: of two approvals at once, one moves the run.
    let mut moved = run::Entity::update_many()
        .col_expr(run::Column::Status, Expr::value(to.as_str()))
        .col_expr(run::Column::StatusReason, Expr::value("Approved"))
        .col_expr(run::Column::StatusMessage, Expr::value(by.clone()));
    if pipeline {
        moved = moved.col_expr(run::Column::StartedAt, Expr::value(Utc::now()));
    }
    let moved = moved
        .filter(run::Column::Id.eq(id))
        .filter(run::Column::Status.eq(Status::Compiled.as_str()))
        .filter(run::Column::StatusReason.eq(WAITING_FOR_APPROVAL))
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(Error::Conflict("the run was approved or stopped meanwhile".into()));
    }
    event(&txn, id, to, Some("Approved"), Some(&by)).await?;
    txn.commit().await?;
    // The answer is the run as approved, read before the scheduler is woken to take it further.
    let approved = get(db, a, id).await?;
    crate::store::nudge();
    let detail = serde_json::json!({"run": id.to_string(), "name": r.name});
    crate::services::audit::record(db, &a.actor, "run.approve", &a.path(), detail, None).await;
    Ok(approved)
}

/// A run row with what its compiled answer decides: the stored spec, its image, retries and timeout.
pub(crate) fn with_compiled(row: run::ActiveModel, c: &spec::compile::Run) -> Result<run::ActiveModel> {
    let t = c.termination;
    Ok(run::ActiveModel {
        compiled: Set(serde_json::to_value(c).map_err(|e| Error::Internal(e.to_string()))?),
        image: Set(c.main_image().map(str::to_string)),
        max_retries: Set(t.max_retries.unwrap_or(0).min(MAX_RETRIES) as i32),
        timeout_seconds: Set(t.timeout.filter(|s| *s > 0).map(|s| s.min(i64::MAX as u64) as i64)),
        ..row
    })
}

/// Asks a run to stop: runs that have not started stop at once; started ones go `stopping` and the executor
/// ends them.
pub async fn stop(db: &DatabaseConnection, exec: &Executor, a: &ProjectAccess, id: Uuid) -> Result<()> {
    a.require(Role::Member)?;
    let r = find(db, a, id).await?;
    let status = r.status()?;
    if status.is_done() {
        return Err(Error::Conflict(format!("the run is already {status}")));
    }
    let kind = r.kind()?;
    if kind.is_pipeline() {
        return crate::services::pipelines::stop(db, id).await;
    }
    // The run moves on while we decide (queued → scheduled → starting → running): each try reads its status
    // again, so a stop that races with the executor still lands.
    let mut status = status;
    for _ in 0..10 {
        if status.is_done() || status == Status::Stopping {
            return Ok(());
        }
        let before_start = matches!(status, Status::Created | Status::Compiled | Status::Queued);
        if before_start || kind == RunKind::External {
            if transition(db, id, Status::Stopped, "StoppedByUser", Some("stopped before it started")).await?
            {
                return Ok(());
            }
        } else if transition(db, id, Status::Stopping, "StoppedByUser", Some("stop requested")).await? {
            exec.stop(id);
            return Ok(());
        }
        status = find(db, a, id).await?.status()?;
    }
    Err(Error::Conflict(format!("the run is {status}; it kept changing and could not be stopped")))
}

/// A new run with the same spec and params.
pub async fn restart(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    u: &user::Model,
    exec: &Executor,
    connections: &spec::catalog::Catalog,
    id: Uuid,
) -> Result<RunDetail> {
    let r = find(db, a, id).await?;
    if let Some(p) = r.pipeline_id {
        return Err(Error::Conflict(format!(
            "run {} is an op of pipeline {p}: restart the pipeline (its unchanged ops reuse their results)",
            r.name
        )));
    }
    let sub = Submission {
        content: r.content.clone(),
        overlays: serde_json::from_value(r.overlays.clone())
            .map_err(|e| Error::Internal(format!("run {id}: stored overlays: {e}")))?,
        params: r.params.as_object().cloned().unwrap_or_default(),
        name: Some(r.name.clone()),
        // the original was accepted (maybe forced) already; a restart asks for the same again
        force: true,
    };
    submit(db, a, u, &sub, exec, connections, Some(id)).await
}
