//! The declarative `init` steps: clone a git repository (recording its commit), write files, and copy artifacts
//! from the project's store. The local executor runs them on this machine, reading the store directly
//! ([`Store`]); in a pod on Kubernetes, `myelin init` runs each step as an init container and reads artifacts
//! through the server with the run's own token (`cli::init`), so pods hold no store credentials. Others
//! (dockerfile, tensorboard, custom containers) need a cluster and are noted in the log.

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

/// Where `artifacts` init steps read from, by paths relative to the run's project.
#[allow(async_fn_in_trait)] // used with concrete types only (this one and `cli::init`'s server)
pub trait Source {
    /// The files `path` names (one file, or every file under a folder): each file's path in the project and
    /// where it goes, relative to the step's destination (`plan`).
    async fn files(&self, path: &str, is_dir: bool) -> Result<Vec<(String, String)>, String>;
    /// A file's bytes, by its path in the project.
    async fn read(&self, rel: &str) -> Result<bytes::Bytes, String>;
}

/// The project's store itself (the local executor; the server answering a pod's `myelin init`).
pub struct Store<'a> {
    pub artifacts: &'a crate::artifacts::Artifacts,
    pub project: uuid::Uuid,
}

impl Source for Store<'_> {
    async fn files(&self, path: &str, is_dir: bool) -> Result<Vec<(String, String)>, String> {
        plan(self, path, is_dir).await
    }

    async fn read(&self, rel: &str) -> Result<bytes::Bytes, String> {
        let rel = crate::artifacts::normalise(rel).map_err(|e| e.to_string())?;
        let key = object_store::path::Path::from(format!("{}/{rel}", self.project));
        self.artifacts
            .read(&key)
            .await
            .map_err(|e| format!("cannot read {rel:?} from the project's artifact store: {e}"))
    }
}

/// Where steps write: the run's directory (Polyaxon's artifacts context), and whether a step's absolute `path`
/// outside it is allowed (in a pod, where the compiled pod mounts a volume there; not on this machine).
pub struct Place<'a> {
    pub workdir: &'a Path,
    pub in_pod: bool,
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
        self::step(kind, &step, &Place { workdir, in_pod: false }, store, &mut done).await?;
    }
    Ok(done)
}

/// Runs one step of `kind` (`git`, `file`, `artifacts`; others are noted and skipped), adding what it did to
/// `done`.
pub async fn step(
    kind: &str,
    step: &Value,
    place: &Place<'_>,
    source: &impl Source,
    done: &mut Done,
) -> Result<(), String> {
    match kind {
        "git" => {
            let url = step["git"]["url"].as_str().ok_or("init git step without a url")?;
            // Polyaxon clones into `<path>/<repository name>` (`path`: the artifacts context by default).
            let dest = confined(&destination(place, step)?, &repo_name(url))?;
            git(&["clone", "--quiet", url, &dest.display().to_string()], place.workdir).await?;
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
            let path = confined(&destination(place, step)?, filename)?;
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
            let into = destination(place, step)?;
            for (list, is_dir) in [(&a["files"], false), (&a["dirs"], true)] {
                for p in list.as_array().into_iter().flatten().filter_map(Value::as_str) {
                    done.copied.extend(copy_artifacts(source, p, is_dir, &into).await?);
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
    Ok(())
}

/// The files `path` names in the project's store (a file, or every file under a directory), each as (its path
/// relative to the project, where it goes relative to the step's destination). A path that starts with a run's
/// uuid (`{{ ops.x.outputs.y }}`, in either spelling) reads that run's files, at its root or else under its
/// `artifacts/` (where MLflow's `log_artifact` puts them). Nothing there is an error that names the path.
pub async fn plan(store: &Store<'_>, path: &str, is_dir: bool) -> Result<Vec<(String, String)>, String> {
    let clean = crate::artifacts::normalise(path).map_err(|e| e.to_string())?;
    let candidates = match crate::services::lineage::sources::run_relative(&clean) {
        Some((run, "")) => vec![run.to_string()],
        Some((run, rest)) => vec![format!("{run}/{rest}"), format!("{run}/artifacts/{rest}")],
        None => vec![clean.clone()],
    };
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
    Ok(files)
}

/// Copies what `path` names (`plan`) from `source` to under `into`; each file copied as its path relative to
/// the project and the sha256 of what was read.
async fn copy_artifacts(
    source: &impl Source,
    path: &str,
    is_dir: bool,
    into: &Path,
) -> Result<Vec<(String, String)>, String> {
    use sha2::Digest;
    let files = source.files(path, is_dir).await?;
    let mut copied = Vec::with_capacity(files.len());
    for (rel, to) in files {
        let bytes = source.read(&rel).await.map_err(|e| format!("init artifacts: {e}"))?;
        let dest = confined(into, &to)?;
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
/// `/plx-context/artifacts`, which a local job also sees at `/job`). A `path` is relative to it or under one of
/// those two; any other absolute path is refused on this machine, which gives a job no other writable place,
/// and taken as it is in a pod (the compiled pod mounts a volume there).
fn destination(place: &Place<'_>, step: &Value) -> Result<std::path::PathBuf, String> {
    let workdir = place.workdir;
    let Some(p) = step["path"].as_str().filter(|p| !p.is_empty()) else { return Ok(workdir.to_path_buf()) };
    let roots = [super::context::ARTIFACTS_PATH, "/job"];
    let rel = match roots.iter().find_map(|r| Path::new(p).strip_prefix(r).ok()) {
        Some(rest) if rest.as_os_str().is_empty() => return Ok(workdir.to_path_buf()),
        Some(rest) => rest.to_string_lossy().into_owned(),
        None if p.starts_with('/') && place.in_pod => {
            return match confined(Path::new("/"), p.trim_start_matches('/')) {
                Ok(path) => Ok(path),
                Err(_) => Err(format!("init path `{p}` must not contain `..`")),
            };
        }
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
        let here = Place { workdir: d, in_pod: false };
        assert_eq!(destination(&here, &Value::Null).unwrap(), d);
        assert_eq!(destination(&here, &step("/plx-context/artifacts/code")).unwrap(), d.join("code"));
        assert_eq!(destination(&here, &step("/plx-context/artifacts")).unwrap(), d);
        assert_eq!(destination(&here, &step("/job/src")).unwrap(), d.join("src"));
        assert_eq!(destination(&here, &step("data")).unwrap(), d.join("data"));
        assert!(destination(&here, &step("/code")).unwrap_err().contains("outside the run's directory"));
        assert!(destination(&here, &step("/plx-context/artifacts/../../etc")).is_err());
        // In a pod, an absolute path is where the compiled pod mounts the step's volume.
        let pod = Place { workdir: Path::new("/plx-context/artifacts"), in_pod: true };
        assert_eq!(destination(&pod, &step("/code")).unwrap(), Path::new("/code"));
        assert_eq!(destination(&pod, &step("/plx-context/artifacts/x")).unwrap(), pod.workdir.join("x"));
        assert!(destination(&pod, &step("/code/../etc")).is_err());
    }
}
