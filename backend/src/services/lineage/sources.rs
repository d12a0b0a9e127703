//! What a run consumed, as inputs to record: MLflow datasets, its init steps (a git repository at a commit, a file
//! written from the spec, artifacts copied from the project's store), an upstream op's artifact outputs, and the
//! git commit MLflow's client tags a run with. Artifacts are named by the digests the index holds, so "which runs
//! consumed this file" finds them.

use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::Input;
use crate::entities::artifact;
use crate::error::Result;

/// Files one declared path may name (a folder's first ones, by path).
const FILES_PER_PATH: u64 = 100;

/// MLflow datasets (`log_inputs`) as inputs: name, digest, source.
pub fn datasets(datasets: &[Value]) -> Vec<Input> {
    datasets
        .iter()
        .filter_map(|d| {
            let ds = &d["dataset"];
            Some(Input {
                kind: "dataset",
                name: ds["name"].as_str()?.to_string(),
                digest: ds["digest"].as_str().map(str::to_string),
                detail: json!({"source_type": ds["source_type"], "source": ds["source"]}),
                ..Default::default()
            })
        })
        .collect()
}

/// The commit MLflow's client tags a run with (`mlflow.source.git.commit`, with `…repoURL` when it knows it).
pub fn git_tags(tags: &[(String, String)]) -> Option<Input> {
    let tag = |k: &str| tags.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let commit = tag("mlflow.source.git.commit")?;
    Some(Input {
        kind: "git",
        name: tag("mlflow.source.git.repoURL").unwrap_or_else(|| "source".into()),
        digest: Some(commit),
        detail: json!({"from": "mlflow.source.git.commit"}),
        ..Default::default()
    })
}

/// A path relative to the project's store root that starts with a run's uuid (either spelling, as Polyaxon
/// writes `{{ ops.x.outputs.y }}` and init artifact paths): the run and the rest of the path.
pub fn run_relative(rel: &str) -> Option<(Uuid, &str)> {
    let (first, rest) = rel.split_once('/').unwrap_or((rel, ""));
    Some((Uuid::try_parse(first).ok()?, rest))
}

/// The paths an artifact-typed value names: a string, or `{files, dirs}` (also as a JSON string).
pub fn paths_of(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(parsed @ Value::Object(_)) => paths_of(&parsed),
            _ => vec![s.clone()],
        },
        Value::Object(m) => ["files", "dirs"]
            .iter()
            .flat_map(|k| m.get(*k).and_then(Value::as_array).cloned().unwrap_or_default())
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect(),
        Value::Array(items) => items.iter().flat_map(paths_of).collect(),
        _ => Vec::new(),
    }
}

/// The recorded files of `run` that `path` names: the file itself or the files under it as a folder, at the run's
/// root or under `artifacts/` (where MLflow's `log_artifact` puts them). `""` names the whole run.
pub async fn files_named(db: &DatabaseConnection, run: Uuid, path: &str) -> Result<Vec<artifact::Model>> {
    let path = path.trim_matches('/').trim_start_matches("./");
    let mut q = artifact::Entity::find().filter(artifact::Column::RunId.eq(run));
    if !path.is_empty() {
        let mut any = Condition::any();
        for p in [path.to_string(), format!("artifacts/{path}")] {
            // Under `p/`: every path from `p/` up to (not including) `p0`, `0` being the character after `/`.
            any = any.add(artifact::Column::Path.eq(p.clone())).add(
                Condition::all()
                    .add(artifact::Column::Path.gte(format!("{p}/")))
                    .add(artifact::Column::Path.lt(format!("{p}0"))),
            );
        }
        q = q.filter(any);
    }
    Ok(q.order_by_asc(artifact::Column::Path).limit(FILES_PER_PATH).all(db).await?)
}

/// An upstream op's artifact output `output` (its value prefixed with the upstream run's uuid) as the files it
/// names, by digest; the output itself when none of its files is recorded.
pub async fn upstream_outputs(
    db: &DatabaseConnection,
    upstream: Uuid,
    op: &str,
    output: &str,
    value: &Value,
) -> Result<Vec<Input>> {
    let mut out = Vec::new();
    for p in paths_of(value) {
        let rest = run_relative(&p).filter(|(run, _)| *run == upstream).map_or(p.as_str(), |(_, rest)| rest);
        let files = files_named(db, upstream, rest).await?;
        if files.is_empty() {
            out.push(Input {
                kind: "artifact",
                name: format!("{op}.outputs.{output}"),
                source_run: Some(upstream),
                path: Some(rest.to_string()),
                detail: json!({"op": op, "output": output, "recorded": false}),
                ..Default::default()
            });
        }
        out.extend(files.into_iter().map(|a| indexed(a, json!({"op": op, "output": output}))));
    }
    Ok(out)
}

/// An indexed file of another run as an input, by its digest.
fn indexed(a: artifact::Model, detail: Value) -> Input {
    Input {
        kind: "artifact",
        name: a.path.clone(),
        source_run: Some(a.run_id),
        path: Some(a.path),
        digest: Some(a.sha256).filter(|d| !d.is_empty()),
        detail,
    }
}

/// What a run's init steps bring in. `done` is what the local executor did (the commit it checked out, the
/// files it copied with their digests); without it (a cluster's initializer does the work) the git revision asked
/// for and the index's digests of the named artifacts stand in.
pub async fn init_inputs(
    db: &DatabaseConnection,
    pod: &Value,
    done: Option<&crate::executor::init::Done>,
) -> Result<Vec<Input>> {
    use sha2::Digest;
    let mut out = Vec::new();
    for c in pod["initContainers"].as_array().into_iter().flatten() {
        let Some(step) = c["name"]
            .as_str()
            .filter(|n| n.starts_with("myelin-init-"))
            .and_then(|_| c["args"][2].as_str())
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
        else {
            continue;
        };
        if let Some(url) = step["git"]["url"].as_str() {
            let revision = step["git"]["revision"].as_str();
            let cloned = done.and_then(|d| d.git.iter().find(|(u, _)| u == url)).map(|(_, c)| c.clone());
            out.push(Input {
                kind: "git",
                name: url.to_string(),
                path: step["path"].as_str().map(str::to_string),
                digest: cloned.clone().or_else(|| revision.map(str::to_string)),
                detail: json!({"revision": revision, "checked_out": cloned.is_some()}),
                ..Default::default()
            });
        } else if let Some(name) = step["file"]["filename"].as_str() {
            let content = step["file"]["content"].as_str().unwrap_or_default();
            out.push(Input {
                kind: "file",
                name: name.to_string(),
                path: Some(name.to_string()),
                digest: Some(hex::encode(sha2::Sha256::digest(content.as_bytes()))),
                detail: json!({"from": "init.file"}),
                ..Default::default()
            });
        } else if step.get("artifacts").is_some() && done.is_none() {
            for p in paths_of(&step["artifacts"]) {
                let Some((run, rest)) = run_relative(&p) else {
                    out.push(Input {
                        kind: "artifact",
                        name: p.clone(),
                        path: Some(p),
                        ..Default::default()
                    });
                    continue;
                };
                let files = files_named(db, run, rest).await?;
                out.extend(files.into_iter().map(|a| indexed(a, json!({"from": "init.artifacts"}))));
            }
        }
    }
    // What the local executor copied, each file by the digest of the bytes it read.
    for (rel, digest) in done.map(|d| d.copied.as_slice()).unwrap_or_default() {
        let (source_run, path) = match run_relative(rel) {
            Some((run, rest)) => (Some(run), rest.to_string()),
            None => (None, rel.clone()),
        };
        out.push(Input {
            kind: "artifact",
            name: path.clone(),
            source_run,
            path: Some(path),
            digest: Some(digest.clone()),
            detail: json!({"from": "init.artifacts"}),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_relative_paths_name_a_run_in_either_spelling() {
        let id = Uuid::new_v4();
        assert_eq!(run_relative(&format!("{}/model/best.pt", id.simple())), Some((id, "model/best.pt")));
        assert_eq!(run_relative(&format!("{id}/a")), Some((id, "a")));
        assert_eq!(run_relative(&id.simple().to_string()), Some((id, "")));
        assert_eq!(run_relative("earlier/artifacts/data.csv"), None);
    }

    #[test]
    fn artifact_values_name_their_paths() {
        assert_eq!(paths_of(&json!("a/b")), vec!["a/b"]);
        assert_eq!(paths_of(&json!({"files": ["f"], "dirs": ["d"]})), vec!["f", "d"]);
        assert_eq!(paths_of(&json!(r#"{"dirs": ["d"]}"#)), vec!["d"]);
        assert!(paths_of(&json!(3)).is_empty());
    }

    #[test]
    fn mlflow_git_tags_are_a_git_input() {
        let tags = vec![
            ("mlflow.source.git.commit".to_string(), "abc123".to_string()),
            ("mlflow.source.git.repoURL".to_string(), "https://example.com/r.git".to_string()),
        ];
        let i = git_tags(&tags).unwrap();
        assert_eq!(
            (i.kind, i.name.as_str(), i.digest.as_deref()),
            ("git", "https://example.com/r.git", Some("abc123"))
        );
        assert!(git_tags(&[("other".into(), "x".into())]).is_none());
    }
}
