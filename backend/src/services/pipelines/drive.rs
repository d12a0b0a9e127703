//! The pipeline driver, run by the scheduler on every tick (and at once when a child ends): for each going
//! pipeline, decide its `created` children (trigger, `skipOnUpstreamSkip`, conditions, cache, concurrency),
//! apply early stopping and stop requests, and end it from its children's statuses.

use std::collections::{BTreeMap, HashMap};

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{json, Map, Value};
use spec::lifecycle::{RunKind, Status};
use spec::pipeline::{conditions_hold, context, early_stop, outcome, readiness, room, Finished, Readiness};
use uuid::Uuid;

use super::{children, Child};

/// What compiling an op again needs of its project — its components and its pod policy — read once per pass
/// and only if an op has to be compiled again.
#[derive(Default)]
struct Library {
    components: tokio::sync::OnceCell<spec::library::Library>,
    policy: tokio::sync::OnceCell<spec::policy::Policy>,
    /// The pipeline's `globals` context, which its ops share.
    context: tokio::sync::OnceCell<spec::compile::RunContext>,
}
use crate::entities::run;
use crate::error::{Error, Result};
use crate::executor::Executor;
use crate::services::runs::cache::{self, Ask};
use crate::services::runs::{record, transition, transition_with};
use crate::services::tracking;
use api_types::Submission;

/// What the driver reads of a pipeline's (or an upstream op's) compiled spec (`spec::compile::Run`).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Settings {
    concurrency: Option<u64>,
    early_stopping: Value,
    params: serde_json::Map<String, Value>,
    artifact_outputs: Vec<String>,
}

/// One pass over the going pipelines. Returns how many children were queued.
pub async fn drive(
    db: &DatabaseConnection,
    exec: &Executor,
    connections: &spec::catalog::Catalog,
) -> Result<usize> {
    let mut queued = 0;
    for p in super::active(db).await? {
        match one(db, exec, connections, &p).await {
            Ok(n) => queued += n,
            Err(e) => tracing::warn!(pipeline = %p.id, error = ?e, "cannot advance the pipeline"),
        }
    }
    Ok(queued)
}

async fn one(
    db: &DatabaseConnection,
    exec: &Executor,
    connections: &spec::catalog::Catalog,
    p: &run::Model,
) -> Result<usize> {
    // Ops use what the pipeline's project was granted.
    let granted = connections.for_project(&crate::services::projects::path_of(db, p.project_id).await?);
    let connections = &granted;
    let kids = children(db, p.id).await?;
    let mut status = p.status()?;
    let mut stop_reason = p.status_message.clone();
    if status == Status::Running {
        if let Some(why) = should_stop_early(db, p, &kids).await? {
            transition(db, p.id, Status::Stopping, "EarlyStopping", Some(&why)).await?;
            status = Status::Stopping;
            stop_reason = Some(why);
        }
    }
    let mut queued = 0;
    // Whether a child may have moved in this pass (else the statuses read at the start still hold).
    let mut moved = false;
    if status == Status::Stopping {
        moved = stop_children(db, exec, &kids).await?;
    } else {
        let by_name: HashMap<&str, &Child> = kids.iter().map(|c| (c.name.as_str(), c)).collect();
        let in_flight = kids
            .iter()
            .filter(|c| matches!(c.status(), Status::Compiled | Status::Queued) || c.status().is_active())
            .count();
        let mut free = room(p.compiled_part::<Settings>()?.concurrency, in_flight);
        let library = Library::default();
        for c in kids.iter().filter(|c| c.status() == Status::Created) {
            if let Some(info) = c.cache_info().filter(|i| i.waiting) {
                settle_waiting(db, c, &info).await?;
                moved = true;
                continue;
            }
            let step = c.step();
            let ups: Vec<(String, Status)> = step
                .upstream
                .iter()
                .map(|u| (u.clone(), by_name.get(u.as_str()).map_or(Status::Created, |c| c.status())))
                .collect();
            let ready = readiness(&step, &ups);
            match ready {
                Readiness::Wait => continue,
                Readiness::Start if free == 0 => continue,
                _ => moved = true,
            }
            match ready {
                Readiness::Wait => {}
                Readiness::UpstreamFailed(why) => {
                    transition(db, c.id, Status::UpstreamFailed, "UpstreamFailed", Some(&why)).await?;
                }
                Readiness::Skip(why) => {
                    transition(db, c.id, Status::Skipped, "UpstreamSkipped", Some(&why)).await?;
                }
                Readiness::Start if free > 0 => {
                    if start(db, connections, &library, p, c, &by_name).await? {
                        free -= 1;
                        queued += 1;
                    }
                }
                Readiness::Start => {}
            }
        }
    }
    // The statuses read at the start still hold unless a child moved in this pass.
    let kids = if moved { children(db, p.id).await? } else { kids };
    let statuses: Vec<Status> = kids.iter().map(Child::status).collect();
    if let Some(end) = outcome(&statuses) {
        let (end, reason, message) = if status == Status::Stopping {
            (Status::Stopped, "Stopped", stop_reason.unwrap_or_else(|| "its runs were stopped".into()))
        } else {
            let counts = super::progress(&kids).by_status;
            let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
            (end, if end == Status::Succeeded { "Succeeded" } else { "Failed" }, summary.join(", "))
        };
        transition(db, p.id, end, reason, Some(&message)).await?;
    }
    Ok(queued)
}

/// Early stopping over the children done so far (their outputs: last metric values, then params).
async fn should_stop_early(
    db: &DatabaseConnection,
    p: &run::Model,
    kids: &[Child],
) -> Result<Option<String>> {
    let policies = p.compiled_part::<Settings>()?.early_stopping;
    if policies.is_null() {
        return Ok(None);
    }
    let done: Vec<&Child> = kids.iter().filter(|c| c.status().is_done()).collect();
    let ids: Vec<Uuid> = done.iter().map(|c| c.id).collect();
    let data = tracking::data_of(db, &ids).await?;
    let outputs: Vec<Map<String, Value>> = done
        .iter()
        .map(|c| {
            let d = data.get(&c.id).cloned().unwrap_or_default();
            let mut m: Map<String, Value> = d.params.into_iter().map(|(k, v)| (k, json!(v))).collect();
            for metric in d.metrics {
                m.insert(metric.key.clone(), json!(metric.last));
            }
            m
        })
        .collect();
    let finished: Vec<Finished> = done
        .iter()
        .zip(&outputs)
        .map(|(c, o)| Finished { name: &c.name, status: c.status(), outputs: o })
        .collect();
    Ok(early_stop(&policies, kids.len(), &finished))
}

/// Returns whether any child was not done yet.
async fn stop_children(db: &DatabaseConnection, exec: &Executor, kids: &[Child]) -> Result<bool> {
    let mut any = false;
    for c in kids.iter().filter(|c| !c.status().is_done()) {
        any = true;
        match c.status() {
            Status::Created | Status::Compiled | Status::Queued => {
                transition(db, c.id, Status::Stopped, "PipelineStopped", Some("its pipeline was stopped"))
                    .await?;
            }
            Status::Stopping => {}
            _ => {
                if transition(db, c.id, Status::Stopping, "PipelineStopped", Some("its pipeline was stopped"))
                    .await?
                {
                    exec.stop(c.id);
                }
            }
        }
    }
    Ok(any)
}

/// A child attached to an identical run in flight: once that one is done, take its results, or run.
async fn settle_waiting(db: &DatabaseConnection, c: &Child, info: &cache::CacheInfo) -> Result<()> {
    let original = match info.original {
        Some(o) => run::Entity::find_by_id(o).one(db).await?,
        None => None,
    };
    let ended = original.as_ref().map(|o| o.status()).transpose()?;
    match (original, ended) {
        (Some(_), Some(s)) if !s.is_done() => Ok(()),
        (Some(o), Some(Status::Succeeded)) => {
            let mut info = info.clone();
            info.waiting = false;
            info.explanation =
                vec![format!("reused results of run {} (key {}…)", &o.id.to_string()[..8], &info.key[..12])];
            let why = info.explanation.join("; ");
            let also = vec![
                (run::Column::Cache, Expr::value(serde_json::to_value(&info).unwrap_or_default())),
                (run::Column::OriginalId, Expr::value(Some(o.id))),
                (run::Column::ExitCode, Expr::value(o.exit_code)),
                (run::Column::StartedAt, Expr::value(Some(chrono::Utc::now()))),
            ];
            transition_with(db, c.id, Status::Succeeded, "CacheHit", Some(&why), also).await?;
            Ok(())
        }
        _ => {
            // The original failed, stopped or disappeared: this run computes its own results next tick.
            run::Entity::update_many()
                .col_expr(run::Column::Cache, Expr::value(Option::<Value>::None))
                .col_expr(run::Column::OriginalId, Expr::value(Option::<Uuid>::None))
                .filter(run::Column::Id.eq(c.id))
                .exec(db)
                .await?;
            record(
                db,
                c.id,
                Status::Created,
                "CacheMiss",
                Some("the run it waited for did not succeed: running it"),
            )
            .await
        }
    }
}

/// Prepares one ready child: resolves its upstream values (recompiling the op with them), checks its
/// conditions, asks the cache, and queues it (or ends it at once). Returns whether it was queued.
async fn start(
    db: &DatabaseConnection,
    connections: &spec::catalog::Catalog,
    library: &Library,
    p: &run::Model,
    c: &Child,
    by_name: &HashMap<&str, &Child>,
) -> Result<bool> {
    let step = c.step();
    let row = run::Entity::find_by_id(c.id).one(db).await?.ok_or(Error::NotFound("run"))?;
    let mut ops = Map::new();
    let mut upstream_values = BTreeMap::new();
    let mut consumed = Vec::new();
    for u in &step.upstream {
        let Some(uc) = by_name.get(u.as_str()) else { continue };
        let Some(full) = run::Entity::find_by_id(uc.id).one(db).await? else { continue };
        let source = cache::source_of(&full);
        let data = tracking::data_of(db, &[source]).await?.remove(&source).unwrap_or_default();
        let mut outputs = tracking::outputs(&full.declared_outputs()?, &data);
        let uuid = source.simple().to_string();
        let upstream = full.compiled_part::<Settings>()?;
        for name in &upstream.artifact_outputs {
            if let Some(v) = outputs.get_mut(name) {
                *v = spec::pipeline::artifact_value(v, &uuid);
            }
        }
        // Only the values this op reads count for its key (a bare dependency passes none).
        for (_, _, key) in step.feeds.iter().filter(|(_, up, _)| up == u) {
            upstream_values.insert(format!("{u}.{key}"), outputs.get(key).cloned().unwrap_or(Value::Null));
        }
        let reads: Vec<&String> =
            step.feeds.iter().filter(|(_, up, _)| up == u).map(|(_, _, key)| key).collect();
        consumed.push(crate::services::lineage::Input {
            kind: "run",
            name: u.clone(),
            source_run: Some(uc.id),
            detail: json!({"reads": reads, "results_of": source}),
            ..Default::default()
        });
        // The files behind the artifact outputs it reads, by digest.
        for key in reads.iter().filter(|k| upstream.artifact_outputs.contains(k)) {
            if let Some(v) = outputs.get(key.as_str()) {
                consumed.extend(
                    crate::services::lineage::sources::upstream_outputs(db, source, u, key, v).await?,
                );
            }
        }
        ops.insert(
            u.clone(),
            json!({"outputs": outputs, "inputs": upstream.params, "status": full.status, "uuid": uuid}),
        );
    }
    crate::services::lineage::record(db, (&row).into(), consumed).await?;
    let compiled = if step.upstream.is_empty() || p.kind()? != RunKind::Dag {
        row.compiled()?
    } else {
        let refs = library
            .components
            .get_or_try_init(|| crate::services::components::library(db, p.project_id))
            .await?;
        let policy = library
            .policy
            .get_or_try_init(|| async {
                let project = crate::entities::project::Entity::find_by_id(p.project_id).one(db).await?;
                Ok::<_, Error>(
                    project
                        .as_ref()
                        .map(crate::compiling::policy_for)
                        .unwrap_or_else(crate::compiling::policy),
                )
            })
            .await?;
        let context =
            library.context.get_or_try_init(|| crate::services::runs::context_of(db, p)).await?.clone();
        let how = (connections, refs as &dyn spec::Refs, policy.clone());
        match recompile(p, &step.name, ops.clone(), how, context) {
            Ok(r) => r,
            Err(why) => {
                transition(db, c.id, Status::Failed, "CompileError", Some(&why)).await?;
                return Ok(false);
            }
        }
    };
    // Decided when the op was compiled (with its upstream results, when it reads them; a matrix child with its
    // suggested params); a DAG op whose matrix hides them is read here, with its params, the upstream ops and
    // the pipeline's inputs.
    let held = match (compiled.conditions_met, &step.conditions) {
        (Some(holds), _) => Some(Ok(holds)),
        (None, Some(expr)) => {
            let dag_inputs = p.compiled_part::<Settings>()?.params;
            Some(conditions_hold(expr, &context(&compiled.params, &ops, &dag_inputs)))
        }
        (None, None) => None,
    };
    if let Some(held) = held {
        match held {
            Ok(true) => {}
            Ok(false) => {
                let why = match &step.conditions {
                    Some(expr) => format!("conditions `{}` are false", expr.trim()),
                    None => "conditions are false".to_string(),
                };
                transition(db, c.id, Status::Skipped, "ConditionsCheckFailed", Some(&why)).await?;
                return Ok(false);
            }
            Err(e) => {
                transition(db, c.id, Status::Failed, "ConditionsError", Some(&e)).await?;
                return Ok(false);
            }
        }
    }
    let ask = Ask {
        project: p.project_id,
        name: &c.name,
        run: &compiled,
        in_pipeline: true,
        upstream: upstream_values,
        restart: false,
    };
    let decision = cache::decide(db, &ask).await?;
    let main =
        spec::placement::pod_specs(&compiled.manifests).first().map(|p| p["containers"][0]["image"].clone());
    let mut also = vec![
        (run::Column::Compiled, Expr::value(serde_json::to_value(&compiled).unwrap_or_default())),
        (run::Column::Image, Expr::value(main.and_then(|i| i.as_str().map(str::to_string)))),
    ];
    if let Some(d) = &decision {
        let key = Some(d.info.key.clone()).filter(|k| !k.is_empty());
        also.push((run::Column::CacheKey, Expr::value(key)));
        also.push((run::Column::Cache, Expr::value(Some(serde_json::to_value(&d.info).unwrap_or_default()))));
        also.push((run::Column::OriginalId, Expr::value(d.original.as_ref().map(|o| o.id))));
    }
    let logged = tracking::params_as_strings(&compiled.params);
    if !logged.is_empty() {
        tracking::insert_params(db, c.id, &logged).await?;
    }
    if compiled.needs_approval {
        // `isApproved: false` on the op: compiled, held until a project member approves it (then queued).
        let (reason, message) =
            (crate::services::runs::WAITING_FOR_APPROVAL, crate::services::runs::APPROVAL_MESSAGE);
        transition_with(db, c.id, Status::Compiled, reason, Some(message), also).await?;
        return Ok(false);
    }
    match decision.as_ref().filter(|d| d.info.hit) {
        Some(d) if d.info.waiting => {
            let mut u = run::Entity::update_many().filter(run::Column::Id.eq(c.id));
            for (col, v) in also {
                u = u.col_expr(col, v);
            }
            u.exec(db).await?;
            record(db, c.id, Status::Created, "WaitingForCache", Some(&d.info.explanation.join("; ")))
                .await?;
            Ok(false)
        }
        Some(d) => {
            also.push((run::Column::ExitCode, Expr::value(d.original.as_ref().and_then(|o| o.exit_code))));
            also.push((run::Column::StartedAt, Expr::value(Some(chrono::Utc::now()))));
            transition_with(
                db,
                c.id,
                Status::Succeeded,
                "CacheHit",
                Some(&d.info.explanation.join("; ")),
                also,
            )
            .await?;
            Ok(false)
        }
        None => {
            let why = decision.map(|d| d.info.explanation.join("; "));
            transition_with(db, c.id, Status::Queued, "Queued", why.as_deref(), also).await
        }
    }
}

/// The op compiled again, now that its upstream ops have results.
fn recompile(
    p: &run::Model,
    op: &str,
    upstream: Map<String, Value>,
    (connections, refs, policy): (&spec::catalog::Catalog, &dyn spec::Refs, spec::policy::Policy),
    context: spec::compile::RunContext,
) -> std::result::Result<spec::compile::Run, String> {
    let sub = Submission {
        content: p.content.clone(),
        overlays: serde_json::from_value(p.overlays.clone()).unwrap_or_default(),
        params: p.params.as_object().cloned().unwrap_or_default(),
        ..Default::default()
    };
    let execution = spec::Execution {
        op: Some(op.to_string()),
        upstream,
        all_children: true,
        retries: spec::compile::Retries::Myelin,
        context: Some(context),
    };
    // As the pipeline: the op's uuid is derived from it, as when the pipeline was created.
    let out = crate::services::runs::compile_with(&sub, connections, refs, policy, execution, Some(p.id));
    if !out.valid {
        let first: Vec<String> =
            out.errors.iter().take(3).map(|e| format!("{} ({})", e.message, e.path)).collect();
        return Err(format!("the op does not compile with its upstream results: {}", first.join("; ")));
    }
    out.run
        .ops
        .into_iter()
        .find(|o| o.name == op)
        .map(|o| o.run)
        .ok_or_else(|| format!("op {op} is gone from the pipeline"))
}
