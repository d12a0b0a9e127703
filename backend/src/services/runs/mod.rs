//! Runs: submit (compile with `spec`, store, queue), read, the status timeline, stop, restart, delete.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Set, TransactionTrait,
};
use serde_json::Value;
use spec::lifecycle::Status;
use uuid::Uuid;

pub mod cache;
mod external;
mod list;
mod status;
mod views;

pub use external::{create_external, set_deleted};
pub use list::{list, RunQuery};
use status::event;
pub use status::{record, transition, transition_with};

pub use views::*;

use crate::domain::Role;
use crate::entities::{run, run_event, user};
use crate::error::{Error, Result};
use crate::executor::Executor;
use crate::services::projects::ProjectAccess;

fn compile(sub: &Submission, connections: &spec::catalog::Catalog, refs: &dyn spec::Refs) -> spec::Compiled {
    // The server executes what it compiles: every matrix child, not only the first few.
    let execution = spec::Execution { all_children: true, ..Default::default() };
    compile_with(&sub.content, &sub.overlays, sub.params.clone(), connections, refs, execution)
}

/// Compiles a file with its overlays and params (`execution`: for a pipeline's op, its upstream results).
pub(crate) fn compile_with(
    content: &str,
    overlays: &[String],
    params: serde_json::Map<String, Value>,
    connections: &spec::catalog::Catalog,
    refs: &dyn spec::Refs,
    execution: spec::Execution,
) -> spec::Compiled {
    let mut files = vec![spec::Source { name: "polyaxonfile.yaml".into(), text: content.to_string() }];
    files.extend(
        overlays
            .iter()
            .enumerate()
            .map(|(i, t)| spec::Source { name: format!("overlay-{}.yaml", i + 1), text: t.clone() }),
    );
    spec::compile(&spec::Options {
        files,
        params: params.into_iter().collect(),
        catalog: connections.clone(),
        refs,
        run_uuid: None,
        execution,
    })
}

/// The kind of runs started by MLflow clients outside Myelin (no spec, no executor).
pub const EXTERNAL: &str = "external";

/// Kinds no executor runs (they take no slot): external runs, and pipelines, whose children are the runs.
pub const UNDISPATCHED: [&str; 3] = [EXTERNAL, "dag", "matrix"];

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
    if sub.content.len() > 1024 * 1024 {
        return Err(Error::PayloadTooLarge);
    }
    // `hubRef: NAME[:VERSION]` names one of the project's components.
    let refs = crate::services::components::library(db, a.project.id).await?;
    let out = compile(sub, connections, &refs);
    if !out.valid {
        return Err(Error::InvalidSpec(Box::new(out)));
    }
    let kind = out.run.kind.clone().unwrap_or_default();
    // The compiled Job carries the name's fallback source and the termination settings already.
    let doc = spec::yaml::parse("f", &sub.content).map(|d| d.value).unwrap_or(Value::Null);
    let name =
        sub.name.clone().or_else(|| doc["name"].as_str().map(str::to_string)).unwrap_or_else(|| "run".into());
    let name = crate::domain::bounded_text("name", &name, 128)?;
    if out.run.pipeline.is_some() {
        for k in children_kinds(&out.run) {
            exec.supports(&k).map_err(Error::Unsupported)?;
        }
        let new = crate::services::pipelines::NewPipeline {
            project: a.project.id,
            user: u.id,
            sub,
            name,
            executor: exec.name(),
        };
        let id = crate::services::pipelines::create(db, &new, &out).await?;
        return get(db, a, id).await;
    }
    exec.supports(&kind).map_err(Error::Unsupported)?;
    let pods = spec::placement::pod_specs(&out.run.manifests);
    let main = pods.first().map_or(&Value::Null, |p| &p["containers"][0]);
    let compiled = serde_json::to_value(&out.run).map_err(|e| Error::Internal(e.to_string()))?;
    if !sub.force {
        if let Some(f) = exec.preflight(&compiled) {
            return Err(Error::Unplaceable { code: f.code, message: f.message });
        }
    }
    let termination = &doc["termination"];
    let ask = cache::Ask {
        project: a.project.id,
        name: &name,
        run: &out.run,
        in_pipeline: false,
        upstream: Default::default(),
        restart: original.is_some(),
    };
    let cached = cache::decide(db, &ask).await?;
    let reused = cached.as_ref().and_then(|d| d.original.as_ref()).map(|o| o.id);
    let now = Utc::now();
    let id = Uuid::new_v4();
    let txn = db.begin().await?;
    run::ActiveModel {
        original_id: Set(reused.or(original)),
        cache_key: Set(cached.as_ref().map(|d| d.info.key.clone())),
        cache: Set(cached.as_ref().map(|d| serde_json::to_value(&d.info).unwrap_or_default())),
        content: Set(sub.content.clone()),
        overlays: Set(serde_json::json!(sub.overlays)),
        params: Set(Value::Object(sub.params.clone())),
        compiled: Set(compiled),
        image: Set(main["image"].as_str().map(str::to_string)),
        max_retries: Set(termination["maxRetries"].as_i64().unwrap_or(0).clamp(0, 100) as i32),
        timeout_seconds: Set(termination["timeout"].as_i64().filter(|t| *t > 0)),
        ..new_run(id, a.project.id, u.id, name, kind, Status::Created, now)
    }
    .insert(&txn)
    .await?;
    let logged = super::tracking::params_as_strings(&out.run.params);
    if !logged.is_empty() {
        super::tracking::insert_params(&txn, id, &logged).await?;
    }
    for (status, reason) in [(Status::Created, "Submitted"), (Status::Compiled, "Compiled")] {
        event(&txn, id, status, Some(reason), None).await?;
    }
    let mut done = run::Entity::update_many().filter(run::Column::Id.eq(id));
    if let Some(d) = cached.as_ref().filter(|d| d.info.hit) {
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

/// The kinds of the runs a pipeline will start.
fn children_kinds(run: &spec::compile::Run) -> std::collections::BTreeSet<String> {
    let mut kinds: std::collections::BTreeSet<String> =
        run.ops.iter().filter_map(|o| o.run.kind.clone()).filter(|k| k != "dag").collect();
    if run.matrix.is_some() {
        kinds.extend(run.kind.clone());
    }
    kinds
}

/// A run row with nothing submitted, compiled or executed yet; callers set what they know.
pub(crate) fn new_run(
    id: Uuid,
    project: Uuid,
    user: Uuid,
    name: String,
    kind: String,
    status: Status,
    now: chrono::DateTime<Utc>,
) -> run::ActiveModel {
    run::ActiveModel {
        id: Set(id),
        project_id: Set(project),
        name: Set(name),
        kind: Set(kind),
        status: Set(status.as_str().into()),
        status_reason: Set(None),
        status_message: Set(None),
        original_id: Set(None),
        content: Set(String::new()),
        overlays: Set(serde_json::json!([])),
        params: Set(serde_json::json!({})),
        compiled: Set(serde_json::json!({})),
        image: Set(None),
        max_retries: Set(0),
        retries: Set(0),
        timeout_seconds: Set(None),
        exit_code: Set(None),
        pid: Set(None),
        git_commit: Set(None),
        created_by: Set(user),
        created_at: Set(now),
        updated_at: Set(now),
        started_at: Set(None),
        finished_at: Set(None),
        myelin_version: Set(env!("CARGO_PKG_VERSION").into()),
        deleted_at: Set(None),
        inputs: Set(None),
        executor: Set("local".into()),
        node: Set(None),
        image_id: Set(None),
        diagnosis: Set(None),
        cache_key: Set(None),
        cache: Set(None),
        pipeline_id: Set(None),
        step: Set(None),
    }
}

pub async fn find(db: &DatabaseConnection, a: &ProjectAccess, id: Uuid) -> Result<run::Model> {
    run::Entity::find_by_id(id)
        .filter(run::Column::ProjectId.eq(a.project.id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("run"))
}

pub(crate) async fn usernames(
    db: &DatabaseConnection,
    ids: impl Iterator<Item = Uuid>,
) -> Result<std::collections::HashMap<Uuid, String>> {
    let ids: Vec<Uuid> = ids.collect();
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect())
}

fn summary(r: &run::Model, user: String) -> RunSummary {
    let end = r.finished_at.unwrap_or_else(Utc::now);
    RunSummary {
        uuid: r.id,
        name: r.name.clone(),
        kind: r.kind.clone(),
        status: r.status.clone(),
        user,
        created_at: r.created_at,
        started_at: r.started_at,
        finished_at: r.finished_at,
        duration: r.started_at.map(|s| (end - s).num_milliseconds() as f64 / 1000.0),
    }
}

pub async fn get(db: &DatabaseConnection, a: &ProjectAccess, id: Uuid) -> Result<RunDetail> {
    let r = find(db, a, id).await?;
    let names = usernames(db, std::iter::once(r.created_by)).await?;
    let timeline = run_event::Entity::find()
        .filter(run_event::Column::RunId.eq(id))
        .order_by_asc(run_event::Column::At)
        .all(db)
        .await?
        .into_iter()
        .map(|e| TimelineEntry { status: e.status, at: e.at, reason: e.reason, message: e.message })
        .collect();
    let queue = if r.status == Status::Queued.as_str() {
        Some(queue_position(db, &r, a.project.concurrency).await?)
    } else {
        None
    };
    let params = r.compiled["params"].as_object().cloned().unwrap_or_default();
    // A pipeline's runs show the pipeline's file.
    let (content, overlays) = match r.pipeline_id {
        Some(p) => {
            run::Entity::find_by_id(p).one(db).await?.map(|p| (p.content, p.overlays)).unwrap_or_default()
        }
        None => (r.content.clone(), r.overlays.clone()),
    };
    let cache = cache::info_of(&r);
    // A reused run's results are its original's.
    let source = cache::source_of(&r);
    let data = super::tracking::data_of(db, &[source]).await?.remove(&source).unwrap_or_default();
    Ok(RunDetail {
        outputs: super::tracking::outputs(&super::tracking::declared_outputs(&r.compiled, &r.content), &data),
        metrics: data.metrics.iter().map(|m| (m.key.clone(), m.last)).collect(),
        metric_stats: data.metrics,
        logged_params: data.params,
        tags: data.tags,
        summary: summary(&r, names.get(&r.created_by).cloned().unwrap_or_default()),
        project: format!("{}/{}", a.owner, a.project.name),
        params,
        timeline,
        status_reason: r.status_reason.clone(),
        status_message: r.status_message.clone(),
        exit_code: r.exit_code,
        retries: r.retries,
        diagnosis: r.diagnosis.clone().and_then(|d| serde_json::from_value(d).ok()),
        cache,
        node: r.node.clone(),
        queue,
        original: r.original_id,
        pipeline: r.pipeline_id,
        step: r.step.clone(),
        reproducibility: Reproducibility {
            content,
            overlays: serde_json::from_value(overlays).unwrap_or_default(),
            submitted_params: r.params.clone(),
            compiled: r.compiled.clone(),
            image: r.image.clone(),
            image_id: r.image_id.clone(),
            git_commit: r.git_commit.clone(),
            executor: r.executor.clone(),
            myelin_version: r.myelin_version.clone(),
        },
    })
}

async fn queue_position(db: &DatabaseConnection, r: &run::Model, limit: i32) -> Result<QueuePosition> {
    let ahead = run::Entity::find()
        .filter(run::Column::ProjectId.eq(r.project_id))
        .filter(run::Column::Status.eq(Status::Queued.as_str()))
        .filter(run::Column::CreatedAt.lt(r.created_at))
        .count(db)
        .await?;
    let active: Vec<&str> =
        spec::lifecycle::ALL.iter().filter(|s| s.is_active()).map(|s| s.as_str()).collect();
    let running = run::Entity::find()
        .filter(run::Column::ProjectId.eq(r.project_id))
        .filter(run::Column::Status.is_in(active))
        .filter(run::Column::Kind.is_not_in(UNDISPATCHED))
        .count(db)
        .await?;
    Ok(QueuePosition { position: ahead + 1, running, limit })
}

/// Asks a run to stop: runs that have not started stop at once; started ones go `stopping` and the executor
/// ends them.
pub async fn stop(db: &DatabaseConnection, exec: &Executor, a: &ProjectAccess, id: Uuid) -> Result<()> {
    a.require(Role::Member)?;
    let r = find(db, a, id).await?;
    let status = Status::parse(&r.status).unwrap_or(Status::Created);
    if status.is_done() {
        return Err(Error::Conflict(format!("the run is already {}", r.status)));
    }
    if crate::services::pipelines::is_pipeline(&r.kind) {
        return crate::services::pipelines::stop(db, id).await;
    }
    if matches!(status, Status::Created | Status::Compiled | Status::Queued) || r.kind == EXTERNAL {
        transition(db, id, Status::Stopped, "StoppedByUser", Some("stopped before it started")).await?;
        return Ok(());
    }
    transition(db, id, Status::Stopping, "StoppedByUser", Some("stop requested")).await?;
    exec.stop(id);
    Ok(())
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
        overlays: serde_json::from_value(r.overlays.clone()).unwrap_or_default(),
        params: r.params.as_object().cloned().unwrap_or_default(),
        name: Some(r.name.clone()),
        // the original was accepted (maybe forced) already; a restart asks for the same again
        force: true,
    };
    submit(db, a, u, &sub, exec, connections, Some(id)).await
}

/// Deletes a finished run (stop it first), with its logs and artifacts.
pub async fn delete(
    db: &DatabaseConnection,
    store: &crate::artifacts::Artifacts,
    a: &ProjectAccess,
    id: Uuid,
) -> Result<()> {
    a.require(Role::Member)?;
    let r = find(db, a, id).await?;
    if !Status::parse(&r.status).is_some_and(Status::is_done) {
        return Err(Error::Conflict(format!("the run is {}; stop it before deleting it", r.status)));
    }
    let children: Vec<Uuid> = run::Entity::find()
        .filter(run::Column::PipelineId.eq(id))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    if !children.is_empty() {
        run::Entity::delete_many().filter(run::Column::PipelineId.eq(id)).exec(db).await?;
    }
    run::Entity::delete_by_id(id).exec(db).await?;
    for c in children {
        store.delete_run(a.project.id, c).await?;
    }
    store.delete_run(a.project.id, id).await
}
