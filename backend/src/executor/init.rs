//! `init` steps the local executor can do on this machine: clone a git repository (recording its commit),
//! write files, and copy artifacts from the project's store. Others (dockerfile, tensorboard, custom
//! containers) need a cluster and are noted in the log.

use std::path::{Component, Path};

use serde_json::Value;

/// What the init steps did: log lines, the commit of the (last) git step, each repository cloned with its
/// commit, and each artifact copied (its path relative to the project's store, its sha256).
#[derive(Default)]
pub struct Done {
    pub lines: Vec<String>,
    pub git_commit: Option<String>,
    pub git: Vec<(String, String)>,
    pub copied: Vec<(String, String)>,
}

/// Where `artifacts` init steps read from: the store and the run's project (paths are relative to it).
pub struct Store<'a> {
    pub artifacts: &'a crate::artifacts::Artifacts,
    pub project: uuid::Uuid,
}

/// Runs the `myelin-init-*` steps of a compiled pod in `workdir`. An error stops the run.
pub async fn run(pod: &Value, workdir: &Path, store: &Store<'_>) -> Result<Done, String> {
    let mut done = Done::default();
    for c in pod["initContainers"].as_array().into_iter().flatten() {
        let name = c["name"].as_str().unwrap_or_default();
        let Some(kind) = name.strip_prefix("myelin-init-").and_then(|k| k.rsplit_once('-')).map(|(k, _)| k)
        else {
            done.lines.push(format!(
                "init container `{name}` skipped: the local executor runs only the main command"
            ));
            continue;
        };
        let step: Value =
            c["args"][2].as_str().and_then(|s| serde_json::from_str(s).ok()).unwrap_or(Value::Null);
        match kind {
            "git" => {
                let url = step["git"]["url"].as_str().ok_or("init git step without a url")?;
                // Polyaxon clones into `<path>/<repository name>` (`path`: the artifacts context by default).
                let dest = confined(&destination(workdir, &step)?, &repo_name(url))?;
                git(&["clone", "--quiet", url, &dest.display().to_string()], workdir).await?;
                if let Some(rev) = step["git"]["revision"].as_str() {
                    git(&["checkout", "--quiet", rev], &dest).await?;
                }
                let commit = git(&["rev-parse", "HEAD"], &dest).await?.trim().to_string();
                done.lines.push(format!("init git: cloned {url} at {commit} into {}", dest.display()));
                done.git.push((url.to_string(), commit.clone()));
                done.git_commit = Some(commit);
            }
            "file" => {
                let f = &step["file"];
                let filename = f["filename"].as_str().ok_or("init file step without a filename")?;
                let path = confined(&destination(workdir, &step)?, filename)?;
                if let Some(dir) = path.parent() {
                    tokio::fs::create_dir_all(dir).await.map_err(|e| e.to_string())?;
                }
                tokio::fs::write(&path, f["content"].as_str().unwrap_or_default())
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                if let Some(mode) =
                    f["chmod"].as_str().and_then(|m| u32::from_str_radix(m.trim_start_matches("0o"), 8).ok())
                {
                    use std::os::unix::fs::PermissionsExt;
                    tokio::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                        .await
                        .map_err(|e| e.to_string())?;
                }
                done.lines.push(format!("init file: wrote {}", path.display()));
            }
            "artifacts" => {
                let a = &step["artifacts"];
                let before = done.copied.len();
                for (list, is_dir) in [(&a["files"], false), (&a["dirs"], true)] {
                    for p in list.as_array().into_iter().flatten().filter_map(Value::as_str) {
                        let into = destination(workdir, &step)?;
                        done.copied.extend(copy_artifacts(store, p, is_dir, &into).await?);
                    }
                }
                done.lines.push(format!(
                    "init artifacts: copied {} file(s) from the project's artifact store",
                    done.copied.len() - before
                ));
            }
            other => done.lines.push(format!(
                "init {other} step skipped: it builds or serves containers, which needs a Kubernetes executor"
            )),
        }
    }
    Ok(done)
}

/// Copies `path` (a file, or every file under a directory) from `<project>/<path>` in the store to
/// `<workdir>/<path>`. A path that starts with a run's uuid (`{{ ops.x.outputs.y }}`, in either spelling) reads
/// that run's files, at its root or else under its `artifacts/` (where MLflow's `log_artifact` puts them).
/// Returns each file copied: its path relative to the project, and the sha256 of what was read.
async fn copy_artifacts(
    store: &Store<'_>,
    path: &str,
    is_dir: bool,
    workdir: &Path,
) -> Result<Vec<(String, String)>, String> {
    use sha2::Digest;
    let clean = crate::artifacts::normalise(path).map_err(|e| e.to_string())?;
    let candidates = match crate::services::lineage::sources::run_relative(&clean) {
        Some((run, "")) => vec![run.to_string()],
        Some((run, rest)) => vec![format!("{run}/{rest}"), format!("{run}/artifacts/{rest}")],
        None => vec![clean.clone()],
    };
    // Each file: where it is in the store (relative to the project), and where it goes under `clean`.
    let mut files: Vec<(String, String)> = Vec::new();
    for from in &candidates {
        if is_dir {
            let keys = store.artifacts.list_all(store.project, from).await.map_err(|e| e.to_string())?;
            files = keys
                .into_iter()
                .map(|k| {
                    let under =
                        k.strip_prefix(from.as_str()).unwrap_or(&k).trim_start_matches('/').to_string();
                    (k, format!("{clean}/{under}"))
                })
                .collect();
        } else {
            let key = object_store::path::Path::from(format!("{}/{from}", store.project));
            if store.artifacts.size_of(&key).await.map_err(|e| e.to_string())?.is_some() {
                files = vec![(from.clone(), clean.clone())];
            }
        }
        if !files.is_empty() {
            break;
        }
    }
    if files.is_empty() {
        let what = if is_dir { "no files under" } else { "no file" };
        return Err(format!("init artifacts: {what} {clean:?} in the project's artifact store"));
    }
    let mut copied = Vec::with_capacity(files.len());
    for (rel, to) in files {
        let key = object_store::path::Path::from(format!("{}/{rel}", store.project));
        let bytes = store.artifacts.read(&key).await.map_err(|e| {
            format!("init artifacts: cannot read {rel:?} from the project's artifact store: {e}")
        })?;
        let dest = confined(workdir, &to)?;
        if let Some(dir) = dest.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(|e| e.to_string())?;
        }
        tokio::fs::write(&dest, &bytes).await.map_err(|e| format!("{}: {e}", dest.display()))?;
        copied.push((rel, hex::encode(sha2::Sha256::digest(&bytes))));
    }
    Ok(copied)
}

fn repo_name(url: &str) -> String {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or("repo").trim_end_matches(".git").to_string()
}

/// Where a step writes: its `path`, or the run's work directory (Polyaxon's artifacts context,
/// `/plx-context/artifacts`, which the job also sees at `/job`). A `path` is relative to it or under one of
/// those two; anything else is refused, since the local executor gives a job no other writable place.
fn destination(workdir: &Path, step: &Value) -> Result<std::path::PathBuf, String> {
    let Some(p) = step["path"].as_str().filter(|p| !p.is_empty()) else { return Ok(workdir.to_path_buf()) };
    let roots = [super::context::ARTIFACTS_PATH, "/job"];
    let rel = match roots.iter().find_map(|r| Path::new(p).strip_prefix(r).ok()) {
        Some(rest) if rest.as_os_str().is_empty() => return Ok(workdir.to_path_buf()),
        Some(rest) => rest.to_string_lossy().into_owned(),
        None if p.starts_with('/') => {
            return Err(format!(
                "init path `{p}` is outside the run's directory: on the local executor init steps write under {} \
                 (the run's work directory, also /job)",
                super::context::ARTIFACTS_PATH
            ))
        }
        None => p.to_string(),
    };
    confined(workdir, &rel)
}

/// `rel` inside `dir`; absolute paths and `..` are refused.
fn confined(dir: &Path, rel: &str) -> Result<std::path::PathBuf, String> {
    let p = Path::new(rel);
    if rel.is_empty() || p.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(format!("init path `{rel}` must stay inside the run's directory"));
    }
    Ok(dir.join(p))
}

async fn git(args: &[&str], cwd: &Path) -> Result<String, String> {
    let out = tokio::process::Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .await
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_paths_stay_in_the_run_dir() {
        let d = Path::new("/runs/x");
        assert!(confined(d, "a/b.txt").is_ok());
        assert!(confined(d, "../../etc/passwd").is_err());
        assert!(confined(d, "/etc/passwd").is_err());
        assert_eq!(repo_name("file:///srv/git/model.git"), "model");
        let step = |p: &str| serde_json::json!({"path": p});
        assert_eq!(destination(d, &Value::Null).unwrap(), d);
        assert_eq!(destination(d, &step("/plx-context/artifacts/code")).unwrap(), d.join("code"));
        assert_eq!(destination(d, &step("/plx-context/artifacts")).unwrap(), d);
        assert_eq!(destination(d, &step("/job/src")).unwrap(), d.join("src"));
        assert_eq!(destination(d, &step("data")).unwrap(), d.join("data"));
        assert!(destination(d, &step("/code")).unwrap_err().contains("outside the run's directory"));
        assert!(destination(d, &step("/plx-context/artifacts/../../etc")).is_err());
    }
}
