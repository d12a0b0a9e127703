//! Lineage: what each run consumed (upstream ops' outputs, MLflow datasets, artifacts by digest, git commits,
//! files from its spec), recorded as it happens (`sources`), and read both ways: a run's upstream and downstream,
//! and the runs that consumed a digest.

pub mod sources;

use api_types::{DeclaredOutput, LineageInput, LineageRun, RunLineage};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::artifacts::MAX_PAGE;
use crate::entities::{artifact, model_version, registered_model, run, run_input};
use crate::error::Result;
use crate::services::runs::access::RunRef;

/// One thing a run consumed.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub kind: &'static str,
    pub name: String,
    pub source_run: Option<Uuid>,
    pub path: Option<String>,
    pub digest: Option<String>,
    pub detail: serde_json::Value,
}

/// Records what `r` consumed; an input it already has (same kind, name, source and digest) is not repeated.
pub async fn record(db: &DatabaseConnection, r: RunRef, inputs: Vec<Input>) -> Result<()> {
    let have = run_input::Entity::find().filter(run_input::Column::RunId.eq(r.id)).all(db).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let fresh: Vec<run_input::ActiveModel> = inputs
        .into_iter()
        .filter(|i| {
            !have.iter().any(|h| {
                h.kind == i.kind
                    && h.name == i.name
                    && h.source_run_id == i.source_run
                    && h.digest == i.digest
            })
        })
        .take(MAX_PAGE as usize)
        .map(|i| run_input::ActiveModel {
            run_id: Set(r.id),
            project_id: Set(r.project_id),
            kind: Set(i.kind.to_string()),
            name: Set(i.name.chars().take(1000).collect()),
            source_run_id: Set(i.source_run),
            path: Set(i.path),
            digest: Set(i.digest.map(|d| d.chars().take(128).collect())),
            detail: Set(i.detail.to_string()),
            created_ms: Set(now),
            ..Default::default()
        })
        .collect();
    if !fresh.is_empty() {
        run_input::Entity::insert_many(fresh).exec(db).await?;
    }
    Ok(())
}

/// The producers (runs of the project) of artifacts with these digests: `digest -> (run, path)`.
async fn producers(
    db: &DatabaseConnection,
    project: Uuid,
    digests: Vec<String>,
) -> Result<std::collections::HashMap<String, (Uuid, String)>> {
    if digests.is_empty() {
        return Ok(Default::default());
    }
    let rows = artifact::Entity::find()
        .filter(artifact::Column::ProjectId.eq(project))
        .filter(artifact::Column::Sha256.is_in(digests))
        .order_by_asc(artifact::Column::CreatedMs)
        .limit(MAX_PAGE)
        .all(db)
        .await?;
    let mut out = std::collections::HashMap::new();
    for a in rows {
        out.entry(a.sha256).or_insert((a.run_id, a.path));
    }
    Ok(out)
}

/// Where `r`'s inputs came from and where its outputs went.
pub async fn of_run(db: &DatabaseConnection, r: &run::Model) -> Result<RunLineage> {
    let inputs = run_input::Entity::find()
        .filter(run_input::Column::RunId.eq(r.id))
        .order_by_asc(run_input::Column::Id)
        .limit(MAX_PAGE)
        .all(db)
        .await?;
    let made = producers(db, r.project_id, inputs.iter().filter_map(|i| i.digest.clone()).collect()).await?;
    // An input's source: the run it names, else the producer of an artifact with its digest (not itself).
    let sources: Vec<Option<(Uuid, String)>> = inputs
        .iter()
        .map(|i| match i.source_run_id {
            Some(s) => Some((s, i.name.clone())),
            None => i
                .digest
                .as_ref()
                .and_then(|d| made.get(d))
                .filter(|(run, _)| *run != r.id)
                .map(|(run, path)| (*run, path.clone())),
        })
        .collect();
    let upstream_runs = lineage_runs(db, sources.iter().flatten().cloned()).await?;
    let found = |id: Uuid| upstream_runs.iter().find(|u| u.uuid == id).cloned();
    let mut upstream: Vec<LineageRun> = Vec::new();
    for u in &upstream_runs {
        if !upstream.iter().any(|x| x.uuid == u.uuid) {
            upstream.push(u.clone());
        }
    }
    let inputs = inputs
        .into_iter()
        .zip(sources)
        .map(|(i, s)| LineageInput {
            kind: i.kind,
            name: i.name,
            path: i.path,
            digest: i.digest,
            source: s.and_then(|(id, _)| found(id)),
        })
        .collect();

    let output_count = artifact::Entity::find().filter(artifact::Column::RunId.eq(r.id)).count(db).await?;
    let outputs = artifact::Entity::find()
        .filter(artifact::Column::RunId.eq(r.id))
        .order_by_asc(artifact::Column::Path)
        .limit(100)
        .all(db)
        .await?;
    let digests: Vec<String> = artifact::Entity::find()
        .select_only()
        .column(artifact::Column::Sha256)
        .filter(artifact::Column::RunId.eq(r.id))
        .limit(MAX_PAGE)
        .into_tuple()
        .all(db)
        .await?;
    let mut consumers = run_input::Entity::find()
        .filter(run_input::Column::ProjectId.eq(r.project_id))
        .filter(run_input::Column::SourceRunId.eq(r.id))
        .limit(MAX_PAGE)
        .all(db)
        .await?;
    if !digests.is_empty() {
        consumers.extend(
            run_input::Entity::find()
                .filter(run_input::Column::ProjectId.eq(r.project_id))
                .filter(run_input::Column::Digest.is_in(digests))
                .filter(run_input::Column::RunId.ne(r.id))
                .limit(MAX_PAGE)
                .all(db)
                .await?,
        );
    }
    let mut seen = std::collections::HashSet::new();
    consumers.retain(|c| seen.insert(c.run_id));
    let downstream =
        lineage_runs(db, consumers.into_iter().map(|c| (c.run_id, c.path.unwrap_or(c.name)))).await?;
    let versions =
        model_version::Entity::find().filter(model_version::Column::RunId.eq(r.id)).all(db).await?;
    let mut models = Vec::new();
    for v in versions {
        if let Some(m) = registered_model::Entity::find_by_id(v.model_id).one(db).await? {
            models.push(format!("{} v{}", m.name, v.version));
        }
    }
    Ok(RunLineage {
        inputs,
        upstream,
        downstream,
        outputs: super::artifacts::infos(db, outputs).await?,
        output_count,
        models,
        declared: declared(db, r).await?,
    })
}

/// The outputs `r`'s spec declares, with their values and, for artifact outputs, the files they name (a cache
/// hit's come from the run whose results it reused).
async fn declared(db: &DatabaseConnection, r: &run::Model) -> Result<Vec<DeclaredOutput>> {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Part {
        outputs: Vec<String>,
        artifact_outputs: Vec<String>,
    }
    let part = r.compiled_part::<Part>().unwrap_or_default();
    if part.outputs.is_empty() {
        return Ok(Vec::new());
    }
    let source = super::runs::cache::source_of(r);
    let data = super::tracking::data_of(db, &[source]).await?.remove(&source).unwrap_or_default();
    let values = super::tracking::outputs(&part.outputs, &data);
    let mut out = Vec::new();
    for name in part.outputs {
        let value = values.get(&name).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
        let artifact = part.artifact_outputs.contains(&name);
        let mut files = Vec::new();
        if let (true, Some(v)) = (artifact, values.get(&name)) {
            for p in sources::paths_of(v) {
                files.extend(sources::files_named(db, source, &p).await?);
            }
        }
        out.push(DeclaredOutput { name, value, artifact, files: super::artifacts::infos(db, files).await? });
    }
    Ok(out)
}

/// Runs of the project that consumed `digest` (an artifact's sha256 or a dataset's digest).
pub async fn consumers(db: &DatabaseConnection, project: Uuid, digest: &str) -> Result<Vec<LineageRun>> {
    if digest.is_empty() {
        return Ok(Vec::new());
    }
    let inputs = run_input::Entity::find()
        .filter(run_input::Column::ProjectId.eq(project))
        .filter(run_input::Column::Digest.eq(digest))
        .limit(MAX_PAGE)
        .all(db)
        .await?;
    lineage_runs(db, inputs.into_iter().map(|i| (i.run_id, i.path.unwrap_or(i.name)))).await
}

/// `(run, what)` pairs as runs with their names and status, in the given order.
async fn lineage_runs(
    db: &DatabaseConnection,
    pairs: impl Iterator<Item = (Uuid, String)>,
) -> Result<Vec<LineageRun>> {
    let pairs: Vec<(Uuid, String)> = pairs.collect();
    let runs: std::collections::HashMap<Uuid, run::Model> = run::Entity::find()
        .filter(run::Column::Id.is_in(pairs.iter().map(|p| p.0).collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    Ok(pairs
        .into_iter()
        .filter_map(|(id, what)| {
            let r = runs.get(&id)?;
            Some(LineageRun { uuid: id, name: r.name.clone(), status: r.status.clone(), what })
        })
        .collect())
}
