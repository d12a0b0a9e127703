//! "Why different" for two runs: everything that decides a result side by side — params, each container's
//! command, args, environment and resources, image / digest / commit, dataset inputs (`log-inputs` digests),
//! upstream values, stored artifacts (by digest) — and the cache key's inputs compared in words
//! (`spec::cache::explain`).

use std::collections::BTreeMap;

use api_types::{WhyDifferent, WhySection};
use sea_orm::DatabaseConnection;
use serde_json::Value;
use spec::cache::{explain, CacheSpec, KeyInputs, Subject};
use uuid::Uuid;

use super::{compared, facts_of, params_of, rows};
use crate::entities::run;
use crate::error::{Error, Result};
use crate::services::projects::ProjectAccess;
use crate::services::runs::cache::{info_of, source_of};

pub async fn why(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    left: Uuid,
    right: Uuid,
) -> Result<WhyDifferent> {
    let mut runs = Vec::with_capacity(2);
    for id in [left, right] {
        let r = crate::services::runs::find(db, a, id).await?;
        if r.deleted_at.is_some() {
            return Err(Error::NotFound("run"));
        }
        runs.push(r);
    }
    let sources: Vec<Uuid> = runs.iter().map(source_of).collect();
    let data = crate::services::tracking::data_of(db, &sources).await?;
    let mut params = Vec::with_capacity(2);
    let (mut commands, mut facts, mut inputs, mut upstream, mut keys, mut files) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (r, s) in runs.iter().zip(&sources) {
        params.push(params_of(r, &data.get(s).cloned().unwrap_or_default())?);
        commands.push(pods(&r.manifests()?, r.id));
        facts.push(facts_of(r).into_iter().filter(|(k, _)| k != "status").collect::<BTreeMap<_, _>>());
        inputs.push(datasets(r.inputs.as_ref()));
        let key = key_inputs(r)?;
        upstream.push(key.upstream.iter().map(|(k, v)| (k.clone(), text(v))).collect::<BTreeMap<_, _>>());
        keys.push(key);
        files.push(crate::services::artifact_diff::digests_of(db, *s).await?);
    }
    let sections = [
        ("Params", rows(&params)),
        ("Command and environment", rows(&commands)),
        ("Image and code", rows(&facts)),
        ("Datasets", rows(&inputs)),
        ("Upstream values", rows(&upstream)),
        // Each path opens the two files side by side (the compare page links it).
        ("Artifacts", rows(&files)),
    ]
    .into_iter()
    .map(|(title, rows)| WhySection { title: title.into(), rows })
    .collect();
    let same_key = keys[0].key() == keys[1].key();
    Ok(WhyDifferent {
        a: compared(&runs[0])?,
        b: compared(&runs[1])?,
        sections,
        cache: if same_key { vec![] } else { explain(Some(&keys[0]), &keys[1]) },
        same_key,
    })
}

/// The inputs of a run's cache key: the ones stored when caching was on, else made from its compiled spec as
/// caching would (with the image digest the run resolved).
fn key_inputs(r: &run::Model) -> Result<KeyInputs> {
    if let Some(info) = info_of(r).filter(|i| i.enabled) {
        return Ok(info.inputs);
    }
    let compiled = r.compiled()?;
    let digests: BTreeMap<String, String> = r.image.clone().zip(r.image_id.clone()).into_iter().collect();
    Ok(KeyInputs::of(
        &Subject {
            uuid: &compiled.uuid,
            kind: compiled.kind.map(|k| k.as_str()).unwrap_or_default(),
            params: &compiled.params,
            pods: spec::placement::pod_specs(&compiled.manifests),
            connections: compiled.connections.clone(),
            upstream: BTreeMap::new(),
            digests: &digests,
        },
        &CacheSpec::from_value(&compiled.cache),
    ))
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// Each container's image, command, args, working directory, environment (a variable per row) and resources,
/// keyed `container.field` (`pod N/` first when the run has several pods). The run's own uuid reads
/// `<run uuid>`: it differs between any two runs and decides nothing.
pub fn pods(manifests: &[Value], own: Uuid) -> BTreeMap<String, String> {
    let specs = spec::placement::pod_specs(manifests);
    let (hyphenated, simple) = (own.to_string(), own.simple().to_string());
    let clean = |s: String| s.replace(&hyphenated, "<run uuid>").replace(&simple, "<run uuid>");
    let mut out = BTreeMap::new();
    for (i, pod) in specs.iter().enumerate() {
        let pod_prefix = if specs.len() > 1 { format!("pod {i}/") } else { String::new() };
        let containers = ["initContainers", "containers"]
            .into_iter()
            .flat_map(|k| pod[k].as_array().into_iter().flatten());
        for c in containers {
            let name = format!("{pod_prefix}{}", c["name"].as_str().unwrap_or("container"));
            for field in ["image", "command", "args", "workingDir", "resources"] {
                let v = &c[field];
                if !v.is_null() {
                    out.insert(format!("{name}.{field}"), clean(text(v)));
                }
            }
            for e in c["env"].as_array().into_iter().flatten() {
                let Some(var) = e["name"].as_str() else { continue };
                let value = if e["value"].is_null() { e["valueFrom"].to_string() } else { text(&e["value"]) };
                out.insert(format!("{name}.env.{var}"), clean(value));
            }
        }
    }
    out
}

/// MLflow dataset inputs: a row per dataset (`name (context)`), its digest and source type.
pub fn datasets(inputs: Option<&Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for input in inputs.and_then(Value::as_array).into_iter().flatten() {
        let d = &input["dataset"];
        let Some(name) = d["name"].as_str() else { continue };
        let context = input["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["key"] == "mlflow.data.context")
            .and_then(|t| t["value"].as_str());
        let key = match context {
            Some(c) => format!("{name} ({c})"),
            None => name.to_string(),
        };
        let digest = d["digest"].as_str().unwrap_or("no digest");
        let source = d["source_type"].as_str().map(|s| format!(" from {s}")).unwrap_or_default();
        out.insert(key, format!("{digest}{source}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_are_read_field_by_field_with_the_runs_own_uuid_neutral() {
        let own = Uuid::new_v4();
        let job = json!({"kind": "Job", "spec": {"template": {"spec": {
            "initContainers": [{"name": "init", "image": "alpine", "command": ["git", "clone"]}],
            "containers": [{"name": "main", "image": "python:3.12", "command": ["python", "train.py"],
                "args": ["--lr=0.1"], "resources": {"limits": {"nvidia.com/gpu": 1}},
                "env": [{"name": "RUN", "value": format!("/runs/{}", own.simple())},
                        {"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]}}}});
        let rows = pods(&[job], own);
        assert_eq!(rows["main.command"], r#"["python","train.py"]"#);
        assert_eq!(rows["main.args"], r#"["--lr=0.1"]"#);
        assert_eq!(rows["main.env.RUN"], "/runs/<run uuid>");
        assert!(rows["main.env.SECRET"].contains("secretKeyRef"));
        assert!(rows["main.resources"].contains("nvidia.com/gpu"));
        assert_eq!(rows["init.image"], "alpine");
    }

    #[test]
    fn datasets_by_name_and_context_with_their_digest() {
        let inputs = json!([
            {"dataset": {"name": "iris", "digest": "abc123", "source_type": "local"},
             "tags": [{"key": "mlflow.data.context", "value": "train"}]},
            {"dataset": {"name": "extra"}, "tags": []},
            {"dataset": {"digest": "nameless"}}
        ]);
        let rows = datasets(Some(&inputs));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows["iris (train)"], "abc123 from local");
        assert_eq!(rows["extra"], "no digest");
        assert!(datasets(None).is_empty());
    }
}
