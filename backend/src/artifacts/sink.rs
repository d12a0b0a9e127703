//! Where a streamed upload's bytes go (`Artifacts::put_stream_within`). An S3-compatible store takes them as a
//! multipart upload of its own. A local store writes them into a staging file (`resumable`), a part at a time,
//! each part on disk before the next is waited for, and renames it into place when the upload is complete: the
//! object appears whole, and on disk. Through the store's own multipart writer every byte reached the disk only
//! after the upload, when the kernel got round to it; written back as they come, the disk works while the body
//! is still arriving. A part is gathered into an aligned buffer (`aligned`), which the disk takes without a copy
//! into the page cache.

use bytes::Bytes;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use object_store::path::Path;
use object_store::{PutPayload, WriteMultipart};

use super::aligned::{Filling, Pool};
use super::resumable::Resumable;
use super::store_err;
use crate::error::Result;

/// Bytes of a local upload's part.
const PART: usize = 8 * 1024 * 1024;
/// Parts written at once.
const FLYING: usize = 4;
/// Part buffers kept between uploads: as many as one upload uses at once (8 MiB each).
pub(super) const BUFFERS_KEPT: usize = FLYING + 1;

/// A part being written, on a task of its own (it goes on while the body is read).
type Writing = tokio::task::JoinHandle<object_store::Result<String>>;

pub(super) enum Sink {
    Store(WriteMultipart),
    Local(Local),
}

pub(super) struct Local {
    staging: Resumable,
    key: Path,
    id: String,
    /// The next part's number, and its bytes so far.
    n: u32,
    part: Filling,
    buffers: std::sync::Arc<Pool>,
    flying: FuturesUnordered<Writing>,
}

impl Sink {
    /// A staging file when the store is a local directory (its parts' buffers from `buffers`); the store's own
    /// multipart upload otherwise.
    pub(super) async fn open(
        store: &dyn object_store::ObjectStore,
        staging: &Resumable,
        buffers: &std::sync::Arc<Pool>,
        key: &Path,
    ) -> Result<Self> {
        if !staging.is_local() {
            let upload = store.put_multipart(key).await.map_err(store_err)?;
            return Ok(Self::Store(WriteMultipart::new_with_chunk_size(upload, PART)));
        }
        let id = staging.start(key).await.map_err(store_err)?;
        Ok(Self::Local(Local {
            staging: staging.clone(),
            key: key.clone(),
            id,
            n: 0,
            part: buffers.take(PART),
            buffers: buffers.clone(),
            flying: FuturesUnordered::new(),
        }))
    }

    /// Takes a chunk: as it is into a store's multipart upload, copied into the part's buffer for a local one.
    pub(super) async fn put(&mut self, chunk: Bytes) -> Result<()> {
        match self {
            Self::Store(w) => {
                w.wait_for_capacity(FLYING).await.map_err(store_err)?;
                w.put(chunk);
            }
            Self::Local(l) => {
                let mut rest = &chunk[..];
                while !rest.is_empty() {
                    let (now, later) = rest.split_at((PART - l.part.len()).min(rest.len()));
                    l.part.extend(now);
                    rest = later;
                    if l.part.len() == PART {
                        l.write_part().await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Completes the upload: the object appears.
    pub(super) async fn finish(self) -> Result<()> {
        match self {
            Self::Store(w) => {
                w.finish().await.map_err(store_err)?;
            }
            Self::Local(mut l) => {
                let written = async {
                    if !l.part.is_empty() {
                        l.write_part().await?;
                    }
                    while let Some(done) = l.flying.next().await {
                        joined(done)?;
                    }
                    l.staging.complete(&l.key, &l.id, Vec::new()).await.map_err(store_err)
                }
                .await;
                if written.is_err() {
                    Self::Local(l).abort().await;
                }
                written?;
            }
        }
        Ok(())
    }

    /// Drops what was written; nothing appears.
    pub(super) async fn abort(self) {
        match self {
            Self::Store(w) => {
                w.abort().await.ok();
            }
            Self::Local(l) => {
                let Local { staging, key, id, mut flying, .. } = l;
                while flying.next().await.is_some() {}
                staging.abort(&key, &id).await.ok();
            }
        }
    }
}

impl Local {
    /// Starts writing the chunks gathered as part `n`, once fewer than `FLYING` parts are being written.
    async fn write_part(&mut self) -> Result<()> {
        while self.flying.len() >= FLYING {
            if let Some(done) = self.flying.next().await {
                joined(done)?;
            }
        }
        let data =
            PutPayload::from_bytes(std::mem::replace(&mut self.part, self.buffers.take(PART)).freeze());
        let (staging, key, id, n) = (self.staging.clone(), self.key.clone(), self.id.clone(), self.n);
        self.flying.push(tokio::spawn(async move { staging.put(&key, &id, n, PART as u64, data).await }));
        self.n += 1;
        Ok(())
    }
}

fn joined(done: std::result::Result<object_store::Result<String>, tokio::task::JoinError>) -> Result<()> {
    done.map_err(|e| crate::error::Error::Internal(format!("writing an upload's part: {e}")))?
        .map_err(store_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use sha2::Digest;

    use crate::artifacts::Artifacts;
    use crate::error::Error;

    type Chunk = std::result::Result<Bytes, std::io::Error>;

    /// Uneven chunks, 2.5 parts in all (a chunk straddles each part's end).
    fn body(seed: u8) -> Vec<Bytes> {
        (0..((super::PART * 5 / 2) / 300_007 + 1))
            .map(|i| Bytes::from(vec![seed.wrapping_add(i as u8); 300_007]))
            .collect()
    }

    fn staged(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir.join("artifacts/.uploads"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_local_upload_appears_whole_with_its_digest_and_leaves_no_staging_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Artifacts::open(None, dir.path()).unwrap();
        let (project, run) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let key = Artifacts::run_key(project, run, "artifacts/big.bin").unwrap();
        let chunks = body(3);
        let want: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        let stream = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
        let stored = store.put_stream(&key, stream).await.unwrap();
        assert_eq!(stored.size, want.len() as u64);
        assert_eq!(stored.sha256, hex::encode(sha2::Sha256::digest(&want)));
        assert!(store.read(&key).await.unwrap() == want, "the object differs from the body");
        assert!(staged(dir.path()).is_empty(), "{:?}", staged(dir.path()));

        // An empty body is an empty object.
        let empty = Artifacts::run_key(project, run, "artifacts/empty").unwrap();
        let none = futures_util::stream::iter(Vec::<Chunk>::new());
        assert_eq!(store.put_stream(&empty, none).await.unwrap().size, 0);
        assert!(store.read(&empty).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_local_upload_over_its_limit_or_cut_short_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Artifacts::open(None, dir.path()).unwrap();
        let (project, run) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let key = Artifacts::run_key(project, run, "artifacts/big.bin").unwrap();
        let chunks: Vec<Chunk> = body(5).into_iter().map(Ok).collect();
        let over = store.put_stream_within(&key, futures_util::stream::iter(chunks), super::PART as u64 + 1);
        assert!(matches!(over.await, Err(Error::PayloadTooLarge)));
        assert!(matches!(store.read(&key).await, Err(Error::NotFound(_))));
        assert!(staged(dir.path()).is_empty(), "{:?}", staged(dir.path()));

        let mut cut: Vec<Chunk> = body(7).into_iter().map(Ok).collect();
        cut.insert(40, Err(std::io::Error::other("connection reset")));
        let got = store.put_stream(&key, futures_util::stream::iter(cut)).await;
        assert!(matches!(got, Err(Error::BadRequest(ref m)) if m.contains("connection reset")), "{got:?}");
        assert!(matches!(store.read(&key).await, Err(Error::NotFound(_))));
        assert!(staged(dir.path()).is_empty(), "{:?}", staged(dir.path()));
    }
}
