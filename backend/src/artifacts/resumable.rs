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
                    let f = std::fs::OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .map_err(|e| local_err(&path, e))?;
                    write_chunks_at(&f, &data, u64::from(n) * part_size).map_err(|e| local_err(&path, e))?;
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

/// Writes `chunks` one after another from `at`, many to a system call: a part arrives in thousands of small
/// chunks, and a call each held a part's write to a sixth of the disk's speed (gathering them first costs a copy).
fn write_chunks_at(f: &std::fs::File, chunks: &PutPayload, mut at: u64) -> std::io::Result<()> {
    use std::io::IoSlice;
    let mut left: Vec<&[u8]> = chunks.iter().map(|c| c.as_ref()).filter(|c| !c.is_empty()).collect();
    let mut first = 0;
    while first < left.len() {
        let batch: Vec<IoSlice<'_>> = left[first..].iter().take(1024).map(|c| IoSlice::new(c)).collect();
        let mut wrote = rustix::io::pwritev(f, &batch, at).map_err(std::io::Error::from)?;
        if wrote == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        at += wrote as u64;
        while wrote > 0 {
            let len = left[first].len();
            if wrote >= len {
                (wrote, first) = (wrote - len, first + 1);
            } else {
                left[first] = &left[first][wrote..];
                wrote = 0;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunks_are_written_in_order_from_their_offset() {
        use std::os::unix::fs::FileExt;
        let dir = std::env::temp_dir().join(format!("myelin-chunks-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        // More chunks than one call takes (1,024), of uneven sizes, some empty.
        let chunks: Vec<bytes::Bytes> =
            (0..3000u32).map(|i| bytes::Bytes::from(vec![(i % 251) as u8; (i % 7) as usize])).collect();
        let want: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        super::write_chunks_at(&f, &chunks.into_iter().collect(), 10).unwrap();
        let mut got = vec![0u8; want.len() + 10];
        f.read_exact_at(&mut got, 0).unwrap();
        assert_eq!(&got[..10], &[0u8; 10]);
        assert!(got[10..] == want[..], "the file differs from the chunks");
        std::fs::remove_dir_all(&dir).ok();
    }
}
