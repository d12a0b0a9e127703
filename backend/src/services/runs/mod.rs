//! Runs: submit (compile with `spec`, store, queue), read, the status timeline, stop, restart, delete.

use chrono::Utc;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use spec::lifecycle::{RunKind, Status};
use uuid::Uuid;

pub mod access;
mod actions;
pub mod cache;
mod external;
mod list;
mod views;

pub use crate::store::status::{record, transition, transition_with};
pub(crate) use actions::with_compiled;
pub use actions::{approve, restart, stop, submit, APPROVAL_MESSAGE, WAITING_FOR_APPROVAL};
pub use external::{create_external, set_deleted};
pub use list::{list, RunQuery};

pub use views::*;

use crate::domain::Role;
use crate::entities::{run, run_event, user};
use crate::error::{Error, Result};
use crate::services::projects::ProjectAccess;

/// Compiles a submission as the run `id`: its `globals` name the run, its submitter and project (`context`).
fn compile(
    sub: &Submission,
    connections: &spec::catalog::Catalog,
    refs: &dyn spec::Refs,
    policy: spec::policy::Policy,
    (id, context): (Uuid, spec::compile::RunContext),
) -> spec::Compiled {
    // The server executes what it compiles: every matrix child, not only the first few.
    let execution = spec::Execution {
        all_children: true,
        retries: spec::compile::Retries::Myelin,
        context: Some(context),
        ..Default::default()
    };
    compile_with(sub, connections, refs, policy, execution, Some(id))
}

/// Compiles a file with its overlays and params (`execution`: for a pipeline's op, its upstream results), as
/// the run `id` when it is one (its uuid is then the one `globals` name).
pub(crate) fn compile_with(
    sub: &Submission,
    connections: &spec::catalog::Catalog,
    refs: &dyn spec::Refs,
    policy: spec::policy::Policy,
    execution: spec::Execution,
    id: Option<Uuid>,
) -> spec::Compiled {
    let mut files = vec![spec::Source { name: "polyaxonfile.yaml".into(), text: sub.content.clone() }];
    files.extend(
        sub.overlays
            .iter()
            .enumerate()
            .map(|(i, t)| spec::Source { name: format!("overlay-{}.yaml", i + 1), text: t.clone() }),
    );
    spec::compile(&spec::Options {
        limits: crate::compiling::limits(),
        policy: Some(policy),
        files,
        params: sub.params.clone().into_iter().collect(),
        catalog: connections.clone(),
        refs,
        run_uuid: id.map(|id| id.simple().to_string()),
        execution,
    })
}

/// What `globals` say of a run submitted by `username` in the project `owner/project` at `at`.
pub(crate) fn context(
    owner: &str,
    project: &str,
    username: &str,
    at: chrono::DateTime<Utc>,
) -> spec::compile::RunContext {
    spec::compile::RunContext {
        owner: owner.into(),
        project: project.into(),
        username: username.into(),
        created_at: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
    }
}

/// A run's `context` read back from the database (a pipeline's, to compile its ops as it runs).
pub(crate) async fn context_of(db: &DatabaseConnection, r: &run::Model) -> Result<spec::compile::RunContext> {
    let project = crate::entities::project::Entity::find_by_id(r.project_id).one(db).await?;
    let owner = match &project {
        Some(p) => user::Entity::find_by_id(p.owner_id).one(db).await?.map(|u| u.username),
        None => None,
    };
    let by = user::Entity::find_by_id(r.created_by).one(db).await?.map(|u| u.username);
    Ok(context(
        owner.as_deref().unwrap_or("owner"),
        project.as_ref().map_or("project", |p| p.name.as_str()),
        by.as_deref().unwrap_or("user"),
        r.created_at,
    ))
}

/// A run row with nothing submitted, compiled or executed yet; callers set what they know.
pub(crate) fn new_run(
    id: Uuid,
    project: Uuid,
    user: Uuid,
    name: String,
    kind: RunKind,
    status: Status,
    now: chrono::DateTime<Utc>,
) -> run::ActiveModel {
    run::ActiveModel {
        id: Set(id),
        project_id: Set(project),
        name: Set(name),
        kind: Set(kind.as_str().into()),
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

pub(crate) fn summary(r: &run::Model, user: String) -> Result<RunSummary> {
    let end = r.finished_at.unwrap_or_else(Utc::now);
    Ok(RunSummary {
        uuid: r.id,
        name: r.name.clone(),
        kind: r.kind()?,
        status: r.status()?,
        user,
        created_at: r.created_at,
        started_at: r.started_at,
        finished_at: r.finished_at,
        duration: r.started_at.map(|s| (end - s).num_milliseconds() as f64 / 1000.0),
    })
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
        .map(|e| {
            let status = crate::store::status_of(id, &e.status)?;
            Ok(TimelineEntry { status, at: e.at, reason: e.reason, message: e.message })
        })
        .collect::<Result<_>>()?;
    let queue = if r.status == Status::Queued.as_str() {
        Some(queue_position(db, &r, a.project.concurrency).await?)
    } else {
        None
    };
    let params = r.compiled_params()?;
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
        outputs: super::tracking::outputs(&r.declared_outputs()?, &data),
        metrics: data.metrics.iter().map(|m| (m.key.clone(), m.last)).collect(),
        metric_stats: data.metrics,
        logged_params: data.params,
        tags: data.tags,
        summary: summary(&r, names.get(&r.created_by).cloned().unwrap_or_default())?,
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
        .filter(run::Column::Kind.is_not_in(crate::store::runs::undispatched()))
        .count(db)
        .await?;
    Ok(QueuePosition { position: ahead + 1, running, limit })
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
    if !r.status()?.is_done() {
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
    crate::auth::cache::revoke();
    let detail = serde_json::json!({"run": r.name, "ops": children.len()});
    crate::services::audit::record(db, &a.actor, "run.delete", &format!("{}/{id}", a.path()), detail, None)
        .await;
    let mut freed = store.delete_run(a.project.id, id).await?;
    for c in children {
        let child = store.delete_run(a.project.id, c).await?;
        freed.bytes += child.bytes;
        freed.files += child.files;
    }
    crate::services::project_limits::refund(db, a.project.id, freed).await
}
