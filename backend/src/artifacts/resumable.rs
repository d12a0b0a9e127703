//! Multipart uploads that outlive the server process: started, added to part by part and completed by an id the
//! database keeps (`services::uploads`), so an upload a restart interrupted resumes, and one nobody finishes is
//! aborted later. S3 keeps the parts in its own multipart upload (object_store's `MultipartStore`); a local store
//! writes them into a staging file under `<root>/.uploads/`, renamed into place when complete. Either way the
//! object appears only when complete.

use std::path::PathBuf;
use std::sync::Arc;

use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::PutPayload;

type Result<T> = std::result::Result<T, object_store::Error>;

#[derive(Clone)]
pub(crate) enum Resumable {
    Local { fs: Arc<object_store::local::LocalFileSystem>, staging: PathBuf },
    S3 { s3: Arc<object_store::aws::AmazonS3>, prefix: Option<Path> },
}

fn local_err(path: &std::path::Path, e: std::io::Error) -> object_store::Error {
    object_store::Error::Generic { store: "local", source: format!("{}: {e}", path.display()).into() }
}

impl Resumable {
    /// Whether the store is a local directory (uploads are staged in a file of its own).
    pub(crate) fn is_local(&self) -> bool {
        matches!(self, Self::Local { .. })
    }

    /// The bucket's key of the store's `key` (the store may sit under a prefix).
    fn full(&self, key: &Path) -> Path {
        match self {
            Self::S3 { prefix: Some(p), .. } => p.parts().chain(key.parts()).collect(),
            _ => key.clone(),
        }
    }

    fn staged(staging: &std::path::Path, id: &str) -> Result<PathBuf> {
        // Ids are ours (a uuid), but they come back from the database: nothing but a plain name is used.
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(object_store::Error::Generic {
                store: "local",
                source: format!("bad upload id {id:?}").into(),
            });
        }
        Ok(staging.join(id))
    }

    /// Starts an upload to `key`; its id.
    pub(crate) async fn start(&self, key: &Path) -> Result<String> {
        match self {
            Self::S3 { s3, .. } => s3.create_multipart(&self.full(key)).await,
            Self::Local { staging, .. } => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                let path = Self::staged(staging, &id)?;
                tokio::fs::create_dir_all(staging).await.map_err(|e| local_err(staging, e))?;
                tokio::fs::File::create(&path).await.map_err(|e| local_err(&path, e))?;
                Ok(id)
            }
        }
    }

    /// Stores part `n` (at `n * part_size`); the id `complete` needs for it.
    pub(crate) async fn put(
        &self,
        key: &Path,
        id: &str,
        n: u32,
        part_size: u64,
        data: PutPayload,
    ) -> Result<String> {
        match self {
            Self::S3 { s3, .. } => {
                let part = s3.put_part(&self.full(key), &id.to_string(), n as usize, data).await?;
                Ok(part.content_id)
            }
            Self::Local { staging, .. } => {
                let path = Self::staged(staging, id)?;
                tokio::task::spawn_blocking(move || {
                    let f = super::aligned::write_at(&path, data.as_ref(), u64::from(n) * part_size)
                        .map_err(|e| local_err(&path, e))?;
                    // On disk before it counts as landed (what the database records and a resumed upload
                    // trusts): a machine's crash never leaves a recorded part unwritten, and the disk writes while
                    // the next part arrives instead of all of them after the last.
                    f.sync_data().map_err(|e| local_err(&path, e))?;
                    Ok(String::new())
                })
                .await
                .map_err(|e| object_store::Error::Generic { store: "local", source: e.into() })?
            }
        }
    }

    /// Removes a local store's staging files nobody wrote to for `idle`: those of uploads a crash of the server
    /// interrupted (an upload's file changes with each part, and a session idle for a day is aborted anyway).
    /// Returns how many went.
    pub(crate) fn sweep(&self, idle: std::time::Duration) -> usize {
        let Self::Local { staging, .. } = self else { return 0 };
        let now = std::time::SystemTime::now();
        let stale = |e: &std::fs::DirEntry| {
            let modified = e.metadata().and_then(|m| m.modified());
            modified.is_ok_and(|m| now.duration_since(m).is_ok_and(|age| age > idle))
        };
        let entries = std::fs::read_dir(staging).into_iter().flatten().flatten();
        entries.filter(|e| stale(e) && std::fs::remove_file(e.path()).is_ok()).count()
    }

    /// Puts the parts together at `key`: the object appears whole.
    pub(crate) async fn complete(&self, key: &Path, id: &str, parts: Vec<String>) -> Result<()> {
        match self {
            Self::S3 { s3, .. } => {
                let parts = parts.into_iter().map(|content_id| PartId { content_id }).collect();
                s3.complete_multipart(&self.full(key), &id.to_string(), parts).await.map(|_| ())
            }
            Self::Local { fs, staging } => {
                let from = Self::staged(staging, id)?;
                let to = fs.path_to_filesystem(key)?;
                if let Some(dir) = to.parent() {
                    tokio::fs::create_dir_all(dir).await.map_err(|e| local_err(dir, e))?;
                }
                tokio::fs::rename(&from, &to).await.map_err(|e| local_err(&from, e))
            }
        }
    }

    /// Drops the upload and its parts (one already gone is not an error).
    pub(crate) async fn abort(&self, key: &Path, id: &str) -> Result<()> {
        match self {
            Self::S3 { s3, .. } => s3.abort_multipart(&self.full(key), &id.to_string()).await,
            Self::Local { staging, .. } => {
                let path = Self::staged(staging, id)?;
                match tokio::fs::remove_file(&path).await {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(local_err(&path, e)),
                    _ => Ok(()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_sweep_removes_staging_files_left_alone_and_keeps_those_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::artifacts::Artifacts::open(None, dir.path()).unwrap();
        let key = object_store::path::Path::from("p/r/artifacts/f.bin");
        let (left, used) = (store.start_parts(&key).await.unwrap(), store.start_parts(&key).await.unwrap());
        let staging = dir.path().join("artifacts/.uploads");
        let three_days = std::time::Duration::from_secs(3 * 24 * 3600);
        let old = std::time::SystemTime::now() - three_days;
        std::fs::File::options().write(true).open(staging.join(&left)).unwrap().set_modified(old).unwrap();

        let two_days = std::time::Duration::from_secs(2 * 24 * 3600);
        assert_eq!(store.sweep_staging(two_days).await, 1);
        assert!(!staging.join(&left).exists(), "the abandoned staging file is still there");
        assert!(staging.join(&used).exists(), "the staging file in use went");
        // The upload in use completes as before.
        let part = object_store::PutPayload::from_static(b"whole");
        let id = store.put_part(&key, &used, 0, 16, part).await.unwrap();
        store.complete_parts(&key, &used, vec![id]).await.unwrap();
        assert_eq!(&store.read(&key).await.unwrap()[..], b"whole");
    }
}
