//! Polyaxon's run context for local jobs. A polyaxonfile reads and writes where `globals` say: init steps put
//! what they bring in under `{{ globals.artifacts_path }}` (`/plx-context/artifacts`), and a job writes its
//! results under `{{ globals.run_outputs_path }}` (`/plx-context/artifacts/<uuid>/outputs`). A local job's work
//! directory is that artifacts context: the sandbox shows it both at `/job` (the current directory, where init
//! steps write) and at `/plx-context/artifacts`; an unisolated job's command and env name the work directory
//! instead. When the process ends, every file under `<uuid>/` is kept as the run's artifact of the same
//! relative path (`outputs/model.pkl`), indexed with its sha256 and within the project's quota, before the
//! run's status moves on, so a downstream op reads it.
//!
//! The job wrote the tree: symbolic links are never followed (a link to the server's files stays a link, and
//! is reported), and only regular files are read.

use std::path::{Path, PathBuf};

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::sandbox::Sandbox;
use crate::artifacts::Artifacts;
use crate::entities::run;

/// Where the job sees the artifacts context (Polyaxon's `CONTEXT_MOUNT_ARTIFACTS`).
pub const ARTIFACTS_PATH: &str = "/plx-context/artifacts";

/// The most files one run may leave in its context (each is one stored object and one index row).
const MAX_FILES: usize = 100_000;

/// One run's artifacts context on the host: its work directory.
pub struct RunContext {
    host: PathBuf,
    uuid: String,
}

/// What `collect` kept, and what it left and why.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Collected {
    pub files: u64,
    pub bytes: u64,
    pub skipped: Vec<String>,
}

impl RunContext {
    /// The context of run `run`, whose work directory is `workdir`.
    pub fn new(workdir: &Path, run: Uuid) -> RunContext {
        RunContext { host: workdir.to_path_buf(), uuid: run.simple().to_string() }
    }

    /// The run's artifacts directory on the host (`globals.run_artifacts_path`).
    fn run_artifacts(&self) -> PathBuf {
        self.host.join(&self.uuid)
    }

    /// Makes `<uuid>/outputs`, so a job writes its outputs without making the directory first (Polyaxon's
    /// init does the same).
    pub async fn prepare(&self) -> std::io::Result<()> {
        tokio::fs::create_dir_all(self.run_artifacts().join("outputs")).await
    }

    /// A text of the job's command or env with the artifacts context replaced by the work directory, for a
    /// job that runs unisolated (no mount namespace to put it at `/plx-context/artifacts`).
    pub fn on_host(&self, text: &str) -> String {
        text.replace(ARTIFACTS_PATH, &self.host.display().to_string())
    }

    /// Where a job with `workingDir: wanted` starts, on the host: inside its work directory (seen at `/job` or at
    /// `/plx-context/artifacts`), made if missing; `None` for any other directory (it exists only in the image).
    pub async fn working_dir(&self, wanted: &str) -> Option<PathBuf> {
        let rest = [super::sandbox::JOB_DIR, ARTIFACTS_PATH]
            .into_iter()
            .find_map(|root| Path::new(wanted).strip_prefix(root).ok())?;
        if !rest
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir))
        {
            return None;
        }
        let host = self.host.join(rest);
        tokio::fs::create_dir_all(&host).await.ok()?;
        Some(host)
    }

    /// Where the job starts (a path it sees): its `workingDir` when that lies in its work directory, else the
    /// work directory; and a note for a `workingDir` that only the image has.
    pub async fn start_dir(&self, sandbox: &Sandbox, wanted: Option<&str>) -> (PathBuf, Option<String>) {
        let Some(w) = wanted.filter(|w| !w.is_empty()) else { return (sandbox.job_dir(&self.host), None) };
        match self.working_dir(w).await {
            Some(_) if sandbox.isolated() => (PathBuf::from(w), None),
            Some(host) => (host, None),
            None => (
                sandbox.job_dir(&self.host),
                Some(format!(
                    "workingDir {w} is not used by the local executor (only the run's work directory, /job or \
                     {ARTIFACTS_PATH}, is here): the job starts in its work directory"
                )),
            ),
        }
    }

    /// Stores what the run left under `<uuid>/` as its artifacts (`collect`); the lines its log gets: what was
    /// kept, and what was not and why (over the quota, a link).
    pub async fn keep(
        &self,
        db: &DatabaseConnection,
        store: &Artifacts,
        r: &run::Model,
    ) -> crate::Result<Vec<String>> {
        let mut lines = Vec::new();
        match self.collect(db, store, r).await {
            Ok(c) => {
                if c.files > 0 {
                    lines.push(format!(
                        "kept {} file(s), {} bytes, written under {ARTIFACTS_PATH}/{} as the run's artifacts",
                        c.files, c.bytes, self.uuid
                    ));
                }
                lines.extend(c.skipped.iter().take(20).map(|s| format!("not kept: {s}")));
            }
            Err(crate::Error::Db(e)) => return Err(e.into()),
            Err(e) => {
                let why = match e {
                    crate::Error::Internal(why) => why,
                    e => e.to_string(),
                };
                lines.push(format!("could not keep all the files written under {ARTIFACTS_PATH}: {why}"));
            }
        }
        Ok(lines)
    }

    /// Stores every regular file under `artifacts/<uuid>/` as the run's artifact of the same relative path.
    pub async fn collect(
        &self,
        db: &DatabaseConnection,
        store: &Artifacts,
        r: &run::Model,
    ) -> crate::Result<Collected> {
        let root = self.run_artifacts();
        let (files, mut skipped) = walk(&root).await;
        let mut done = Collected::default();
        for (rel, path) in files {
            let file = match open_no_follow(&path).await {
                Ok(f) => f,
                Err(e) => {
                    skipped.push(format!("{rel}: {e}"));
                    continue;
                }
            };
            let body = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
            let stored = crate::services::artifacts::upload(db, store, r, &rel, body).await?;
            done.files += 1;
            done.bytes += stored.size;
        }
        done.skipped = skipped;
        Ok(done)
    }
}

/// The regular files under `root` (relative path with `/`, host path), depth first, sorted; and what was left
/// out: links, special files, names that are not UTF-8, files past `MAX_FILES`.
async fn walk(root: &Path) -> (Vec<(String, PathBuf)>, Vec<String>) {
    let (mut files, mut skipped) = (Vec::new(), Vec::new());
    let mut dirs = vec![(String::new(), root.to_path_buf())];
    while let Some((prefix, dir)) = dirs.pop() {
        let Ok(mut entries) = tokio::fs::read_dir(&dir).await else { continue };
        let mut here = Vec::new();
        while let Ok(Some(e)) = entries.next_entry().await {
            here.push(e);
        }
        here.sort_by_key(|e| e.file_name());
        for e in here {
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                skipped.push(format!("{prefix}{}: the name is not UTF-8", e.file_name().to_string_lossy()));
                continue;
            };
            let rel = format!("{prefix}{name}");
            // `file_type` does not follow links.
            match e.file_type().await {
                Ok(t) if t.is_dir() => dirs.push((format!("{rel}/"), e.path())),
                Ok(t) if t.is_file() && files.len() < MAX_FILES => files.push((rel, e.path())),
                Ok(t) if t.is_file() => skipped.push(format!("{rel}: more than {MAX_FILES} files")),
                Ok(t) if t.is_symlink() => skipped.push(format!("{rel}: a symbolic link (not followed)")),
                _ => skipped.push(format!("{rel}: not a regular file")),
            }
        }
    }
    (files, skipped)
}

/// Opens a file for reading, refusing a symbolic link in its last component (it may have been swapped in).
async fn open_no_follow(path: &Path) -> std::io::Result<tokio::fs::File> {
    let mut o = tokio::fs::OpenOptions::new();
    o.read(true).custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits());
    o.open(path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary directory.
    fn scratch() -> PathBuf {
        let d = std::env::temp_dir().join(format!("myelin-context-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[tokio::test]
    async fn walk_keeps_regular_files_and_names_what_it_leaves() {
        let tmp = scratch();
        let root = tmp.as_path();
        std::fs::create_dir_all(root.join("outputs/deep")).unwrap();
        std::fs::write(root.join("outputs/model.pkl"), b"m").unwrap();
        std::fs::write(root.join("outputs/deep/x.txt"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("outputs/leak")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etc")).unwrap();
        let (files, skipped) = walk(root).await;
        let rels: Vec<&str> = files.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(rels, ["outputs/model.pkl", "outputs/deep/x.txt"]);
        assert_eq!(
            skipped,
            ["etc: a symbolic link (not followed)", "outputs/leak: a symbolic link (not followed)"]
        );
        assert!(open_no_follow(&root.join("outputs/leak")).await.is_err());
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[tokio::test]
    async fn an_unisolated_job_is_given_the_host_directory_and_starts_inside_it() {
        let c = RunContext::new(Path::new("/data/runs/r"), Uuid::nil());
        assert_eq!(c.on_host("--out=/plx-context/artifacts/x/outputs"), "--out=/data/runs/r/x/outputs");
        let tmp = scratch();
        let c = RunContext::new(&tmp, Uuid::nil());
        assert_eq!(c.working_dir("/plx-context/artifacts/repo").await, Some(tmp.as_path().join("repo")));
        assert!(tmp.as_path().join("repo").is_dir());
        assert_eq!(c.working_dir("/job/src").await, Some(tmp.as_path().join("src")));
        assert_eq!(c.working_dir("/job").await, Some(tmp.as_path().to_path_buf()));
        assert_eq!(c.working_dir("/job/../../etc").await, None);
        assert_eq!(c.working_dir("/app").await, None);
        assert_eq!(c.working_dir("/plx-contextual").await, None);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
