//! Reusing results (issue #7): a run whose caching is on (by default inside pipelines only) gets a key
//! (`spec::cache`); the newest succeeded run of the project with the same key — within `ttl` — is reused: the
//! new run is `succeeded` at once, links that original, and shows its outputs. Inside a pipeline, a run with
//! the same key still in flight is waited for instead of started twice. A miss says what changed against the
//! newest earlier run of the same name. Restarts never hit.

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use spec::cache::{expired, explain, CacheSpec, KeyInputs, Subject};
use spec::lifecycle::Status;
use uuid::Uuid;

use crate::entities::run;
use crate::error::Result;
pub use crate::store::cache::{info_of, CacheInfo};

/// The decision for a new run: its cache record, and the run it reuses on a hit.
pub struct Decision {
    pub info: CacheInfo,
    pub original: Option<run::Model>,
}

/// A run about to be queued, as caching sees it.
pub struct Ask<'a> {
    pub project: Uuid,
    /// Runs of the same name are compared on a miss.
    pub name: &'a str,
    pub run: &'a spec::compile::Run,
    /// A DAG op or matrix child: caching is on unless the file turns it off.
    pub in_pipeline: bool,
    /// `op.output` -> the value it was given.
    pub upstream: BTreeMap<String, Value>,
    pub restart: bool,
}

pub async fn decide(db: &DatabaseConnection, ask: &Ask<'_>) -> Result<Option<Decision>> {
    let spec = CacheSpec::from_value(&ask.run.cache);
    if spec.disable == Some(true) && ask.in_pipeline {
        // Inside a pipeline caching is the default: say why this op is computed anyway.
        let info = CacheInfo {
            enabled: false,
            key: String::new(),
            hit: false,
            original: None,
            waiting: false,
            explanation: vec!["caching disabled in the file (cache.disable: true)".into()],
            inputs: KeyInputs::default(),
        };
        return Ok(Some(Decision { info, original: None }));
    }
    if !spec.enabled(ask.in_pipeline) {
        return Ok(None);
    }
    let (project, name, restart) = (ask.project, ask.name, ask.restart);
    let pods = spec::placement::pod_specs(&ask.run.manifests);
    let digests = known_digests(db, project, &pods).await?;
    let inputs = KeyInputs::of(
        &Subject {
            uuid: &ask.run.uuid,
            kind: ask.run.kind.map(|k| k.as_str()).unwrap_or_default(),
            params: &ask.run.params,
            pods,
            connections: ask.run.connections.clone(),
            upstream: ask.upstream.clone(),
            digests: &digests,
        },
        &spec,
    );
    let key = inputs.key();
    let same_key = run::Entity::find()
        .filter(run::Column::ProjectId.eq(project))
        .filter(run::Column::CacheKey.eq(key.clone()))
        .filter(run::Column::Status.eq(Status::Succeeded.as_str()))
        .filter(run::Column::DeletedAt.is_null())
        .order_by_desc(run::Column::FinishedAt)
        .one(db)
        .await?;
    let mut explanation = Vec::new();
    // A reused run's results are its original's; if that one was deleted since, there is nothing to reuse.
    let same_key = match same_key {
        Some(found) => match (found.original_id, info_of(&found).is_some_and(|i| i.hit)) {
            (Some(o), true) => match run::Entity::find_by_id(o).one(db).await? {
                Some(original) => Some(original),
                None => {
                    explanation.push(format!(
                        "run {} had the same key, but the run whose results it reused was deleted: computing again",
                        short(found.id)
                    ));
                    None
                }
            },
            _ => Some(found),
        },
        None => None,
    };
    if let Some(found) = same_key {
        let now = Utc::now().timestamp();
        let finished = found.finished_at.map_or(now, |f| f.timestamp());
        if restart {
            explanation.push("a restart runs again: it never reuses results".to_string());
        } else if let Some(why) = expired(spec.ttl, finished, now) {
            explanation.push(format!("run {} has the same key but its {why}", short(found.id)));
        } else {
            let why = format!("reused results of run {} (key {}…)", short(found.id), &key[..12]);
            let info = CacheInfo {
                enabled: true,
                key,
                hit: true,
                original: Some(found.id),
                waiting: false,
                explanation: vec![why],
                inputs,
            };
            return Ok(Some(Decision { info, original: Some(found) }));
        }
    } else if let Some(running) = in_flight(db, ask, &key).await? {
        let why = format!(
            "run {} with the same key (key {}…) is still in flight: its results will be reused",
            short(running.id),
            &key[..12]
        );
        let info = CacheInfo {
            enabled: true,
            key,
            hit: true,
            original: Some(running.id),
            waiting: true,
            explanation: vec![why],
            inputs,
        };
        return Ok(Some(Decision { info, original: Some(running) }));
    } else {
        let previous = run::Entity::find()
            .filter(run::Column::ProjectId.eq(project))
            .filter(run::Column::Name.eq(name))
            .filter(run::Column::Cache.is_not_null())
            .order_by_desc(run::Column::CreatedAt)
            .one(db)
            .await?;
        let before = previous.as_ref().and_then(info_of).map(|i| i.inputs);
        explanation.extend(explain(before.as_ref(), &inputs));
        if explanation.is_empty() {
            let status = previous.map(|p| p.status).unwrap_or_default();
            explanation
                .push(format!("the last run with this key ended {status}: only succeeded runs are reused"));
        }
    }
    Ok(Some(Decision {
        info: CacheInfo {
            enabled: true,
            key,
            hit: false,
            original: None,
            waiting: false,
            explanation,
            inputs,
        },
        original: None,
    }))
}

/// Inside a pipeline: a run with the same key that is queued or running (not itself waiting on another).
async fn in_flight(db: &DatabaseConnection, ask: &Ask<'_>, key: &str) -> Result<Option<run::Model>> {
    if !ask.in_pipeline || ask.restart {
        return Ok(None);
    }
    let flying: Vec<&str> = spec::lifecycle::ALL
        .iter()
        .filter(|s| s.is_active() || **s == Status::Queued)
        .map(|s| s.as_str())
        .collect();
    Ok(run::Entity::find()
        .filter(run::Column::ProjectId.eq(ask.project))
        .filter(run::Column::CacheKey.eq(key))
        .filter(run::Column::Status.is_in(flying))
        .order_by_desc(run::Column::CreatedAt)
        .one(db)
        .await?)
}

/// The digest each image last resolved to in the project (recorded by the Kubernetes executor): a tag that
/// moved to another digest is a miss.
async fn known_digests(
    db: &DatabaseConnection,
    project: Uuid,
    pods: &[&Value],
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for image in pods
        .iter()
        .flat_map(|p| p["containers"].as_array().into_iter().flatten())
        .filter_map(|c| c["image"].as_str())
    {
        if out.contains_key(image) {
            continue;
        }
        let seen = run::Entity::find()
            .filter(run::Column::ProjectId.eq(project))
            .filter(run::Column::Image.eq(image))
            .filter(run::Column::ImageId.is_not_null())
            .order_by_desc(run::Column::UpdatedAt)
            .one(db)
            .await?;
        if let Some(id) = seen.and_then(|r| r.image_id) {
            out.insert(image.to_string(), id);
        }
    }
    Ok(out)
}

/// The run whose log and results a run shows: its original when it reused one, else itself.
pub fn source_of(r: &run::Model) -> Uuid {
    info_of(r).filter(|c| c.hit).and_then(|c| c.original).unwrap_or(r.id)
}

fn short(id: Uuid) -> String {
    id.to_string()[..8].to_string()
}
