//! The artifact store (`object_store`): a local directory by default, S3-compatible when `--artifacts-url` says
//! `s3://bucket[/prefix]` (credentials and endpoint from the usual `AWS_*` variables). Keys are
//! `<project>/<run>/<path>`; every path that comes from a user is normalised and confined to its run's prefix.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};
use uuid::Uuid;

use crate::error::{Error, Result};

pub mod aligned;
pub mod diff;
mod open;
pub mod parquet;
mod paths;
pub mod pdf_view;
pub mod preview;
mod reach;
mod resumable;
mod sink;
pub mod zip;

pub use paths::normalise;
pub(crate) use reach::store_err;

/// Bytes of an upload handed to its digest's thread at a time (`Artifacts::put_stream_within`).
const HASH_BATCH: usize = 4 * 1024 * 1024;

/// What an upload stored: its size and sha256 (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub size: u64,
    pub sha256: String,
}

/// A stored object's metadata, for conditional and range requests.
#[derive(Debug, Clone)]
pub struct Meta {
    pub size: u64,
    pub e_tag: Option<String>,
    pub last_modified: chrono::DateTime<chrono::Utc>,
}

/// Files larger than this are refused (`413`) unless configured otherwise.
pub const DEFAULT_MAX_UPLOAD: u64 = 5 * 1024 * 1024 * 1024;

/// What one project's runs may keep in the store (their uploaded artifacts; logs are the server's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub bytes: u64,
    pub files: u64,
}

/// `--artifact-quota-bytes` and `--artifact-quota-files` unless set.
pub const DEFAULT_QUOTA: Quota = Quota { bytes: 100 * 1024 * 1024 * 1024, files: 1_000_000 };

/// Bytes and files of stored artifacts (a quota's usage, or what a delete freed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub bytes: u64,
    pub files: u64,
}

pub struct Artifacts {
    store: Arc<dyn ObjectStore>,
    /// The same store's uploads in parts that outlive the process (`start_parts`).
    resumable: resumable::Resumable,
    /// Buffers of streamed uploads' parts to a local store (`sink`).
    buffers: Arc<aligned::Pool>,
    /// Where the store is, for the UI and logs (never carries credentials).
    pub location: String,
    pub max_upload: u64,
    /// Each project's quota (`quota()`; the server sets it at start).
    quota: [std::sync::atomic::AtomicU64; 2],
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Entry {
    /// Relative to the listed directory's run root (`artifacts/model.pt`).
    pub path: String,
    pub is_dir: bool,
    pub size: Option<u64>,
}

fn quota_cells(q: Quota) -> [std::sync::atomic::AtomicU64; 2] {
    [q.bytes.into(), q.files.into()]
}

impl Artifacts {
    /// What each project's runs may keep here.
    pub fn quota(&self) -> Quota {
        use std::sync::atomic::Ordering::Relaxed;
        Quota { bytes: self.quota[0].load(Relaxed), files: self.quota[1].load(Relaxed) }
    }

    /// Sets each project's quota (the server at start; tests).
    pub fn set_quota(&self, q: Quota) {
        use std::sync::atomic::Ordering::Relaxed;
        self.quota[0].store(q.bytes, Relaxed);
        self.quota[1].store(q.files, Relaxed);
    }

    /// The key of `path` inside a run's prefix; `..`, absolute paths and odd characters are refused.
    pub fn run_key(project: Uuid, run: Uuid, path: &str) -> Result<Path> {
        let clean = normalise(path)?;
        Ok(Path::from(format!("{project}/{run}/{clean}")))
    }

    pub async fn put(&self, key: &Path, bytes: Bytes) -> Result<()> {
        self.store.put(key, PutPayload::from(bytes)).await.map_err(store_err)?;
        Ok(())
    }

    /// Streams a body into the store; over `max_upload` bytes the upload is aborted and nothing is kept.
    pub async fn put_stream<S, E>(&self, key: &Path, body: S) -> Result<Stored>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        self.put_stream_within(key, body, self.max_upload).await
    }

    /// As `put_stream`, aborted (`PayloadTooLarge`, nothing kept) past `max` bytes. The object appears whole or
    /// not at all (a multipart upload completes last), and its digest is taken on the way.
    pub async fn put_stream_within<S, E>(&self, key: &Path, mut body: S, max: u64) -> Result<Stored>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        use sha2::Digest;
        let mut w = sink::Sink::open(self.store.as_ref(), &self.resumable, &self.buffers, key).await?;
        // The digest is taken on a thread of its own while the body arrives and goes to the store (on the
        // request's task it held a local upload to about half the disk's speed); it ends with the request. The
        // body's chunks go to it a few MiB at a time: one hand-over (and wake-up) per chunk of a few KiB cost as
        // much CPU as the copy itself.
        let (hash, mut to_hash) = tokio::sync::mpsc::channel::<Vec<Bytes>>(4);
        let digest = tokio::task::spawn_blocking(move || {
            let mut digest = sha2::Sha256::new();
            while let Some(chunks) = to_hash.blocking_recv() {
                chunks.iter().for_each(|c| digest.update(c));
            }
            digest
        });
        let mut total = 0u64;
        // Any way out before the end drops what was written.
        let received = async {
            let mut batch: (Vec<Bytes>, usize) = (Vec::new(), 0);
            loop {
                let chunk = body.next().await;
                let due = batch.1 >= HASH_BATCH || (chunk.is_none() && batch.1 > 0);
                if due && hash.send(std::mem::take(&mut batch).0).await.is_err() {
                    return Err(Error::Internal("hashing the upload stopped".into()));
                }
                let Some(chunk) = chunk else { return Ok(()) };
                let chunk = chunk.map_err(|e| Error::BadRequest(format!("upload interrupted: {e}")))?;
                total += chunk.len() as u64;
                if total > max {
                    return Err(Error::PayloadTooLarge);
                }
                batch.1 += chunk.len();
                batch.0.push(chunk.clone());
                w.put(chunk).await?;
            }
        }
        .await;
        if let Err(e) = received {
            w.abort().await;
            return Err(e);
        }
        drop(hash);
        let (digest, finished) = tokio::join!(digest, w.finish());
        finished?;
        let digest = digest.map_err(|e| Error::Internal(format!("hashing the upload: {e}")))?;
        Ok(Stored { size: total, sha256: hex::encode(digest.finalize()) })
    }

    /// Starts an upload to `key` in parts, which outlives this process; its id. The object appears when it
    /// completes.
    pub async fn start_parts(&self, key: &Path) -> Result<String> {
        self.resumable.start(key).await.map_err(store_err)
    }

    /// Stores part `n` of upload `id` (parts of `part_size` bytes, the last one shorter); the id of the part.
    pub async fn put_part(
        &self,
        key: &Path,
        id: &str,
        n: u32,
        part_size: u64,
        data: PutPayload,
    ) -> Result<String> {
        self.resumable.put(key, id, n, part_size, data).await.map_err(store_err)
    }

    /// Completes upload `id` from its parts' ids, in order.
    pub async fn complete_parts(&self, key: &Path, id: &str, parts: Vec<String>) -> Result<()> {
        self.resumable.complete(key, id, parts).await.map_err(store_err)
    }

    /// Removes the staging files of uploads to a local store nobody wrote to for `idle` (left by a crash).
    pub async fn sweep_staging(&self, idle: std::time::Duration) -> usize {
        let staging = self.resumable.clone();
        tokio::task::spawn_blocking(move || staging.sweep(idle)).await.unwrap_or(0)
    }

    /// Drops upload `id` and its parts.
    pub async fn abort_parts(&self, key: &Path, id: &str) -> Result<()> {
        self.resumable.abort(key, id).await.map_err(store_err)
    }

    /// An object's size, tag and time; `NotFound` when absent.
    pub async fn meta(&self, key: &Path) -> Result<Meta> {
        let m = self.store.head(key).await.map_err(store_err)?;
        Ok(Meta { size: m.size, e_tag: m.e_tag, last_modified: m.last_modified })
    }

    /// Bytes `range` of the object (the whole of it when `None`) as a stream.
    pub async fn get_range(
        &self,
        key: &Path,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<futures_util::stream::BoxStream<'static, std::result::Result<Bytes, object_store::Error>>>
    {
        let opts = object_store::GetOptions { range: range.map(Into::into), ..Default::default() };
        let got = self.store.get_opts(key, opts).await.map_err(store_err)?;
        Ok(match got.payload {
            // A local file is read 1 MiB at a time: object_store's stream reads 8 KiB a blocking task, which held
            // a download to a fifth of the disk's speed.
            object_store::GetResultPayload::File(file, path) => {
                use tokio::io::{AsyncReadExt, AsyncSeekExt};
                let (at, len) = (got.range.start, got.range.end - got.range.start);
                let fail = move |e: std::io::Error| object_store::Error::Generic {
                    store: "local",
                    source: format!("{}: {e}", path.display()).into(),
                };
                let mut file = tokio::fs::File::from_std(file);
                file.seek(std::io::SeekFrom::Start(at)).await.map_err(|e| store_err(fail(e)))?;
                tokio_util::io::ReaderStream::with_capacity(file.take(len), 1 << 20).map_err(fail).boxed()
            }
            object_store::GetResultPayload::Stream(s) => s,
        })
    }

    /// Bytes `range` of the object.
    pub async fn read_range(&self, key: &Path, range: std::ops::Range<u64>) -> Result<Bytes> {
        self.store.get_range(key, range).await.map_err(store_err)
    }

    /// At most the first `max` bytes of the object, and its whole size.
    pub async fn read_head(&self, key: &Path, max: u64) -> Result<(u64, Bytes)> {
        let meta = self.meta(key).await?;
        if meta.size == 0 {
            return Ok((0, Bytes::new()));
        }
        let opts =
            object_store::GetOptions { range: Some((0..meta.size.min(max)).into()), ..Default::default() };
        let got = self.store.get_opts(key, opts).await.map_err(store_err)?;
        Ok((meta.size, got.bytes().await.map_err(store_err)?))
    }

    /// Every object under `<project>/<run>/<dir>` (`""`: the whole run) with its size, as paths relative to
    /// `dir`, by path.
    pub async fn walk(&self, project: Uuid, run: Uuid, dir: &str) -> Result<Vec<(String, u64)>> {
        let prefix = match dir {
            "" => Path::from(format!("{project}/{run}")),
            dir => Self::run_key(project, run, dir)?,
        };
        let root = format!("{prefix}/");
        let metas: Vec<_> = self.store.list(Some(&prefix)).try_collect().await.map_err(store_err)?;
        let mut out: Vec<(String, u64)> = metas
            .into_iter()
            .filter_map(|m| Some((decoded(&m.location).strip_prefix(&root)?.to_string(), m.size)))
            .collect();
        out.sort();
        Ok(out)
    }

    /// The object's bytes as a stream, and its size; `NotFound` when absent.
    pub async fn get(
        &self,
        key: &Path,
    ) -> Result<(u64, impl Stream<Item = std::result::Result<Bytes, object_store::Error>> + use<>)> {
        let got = self.store.get(key).await.map_err(store_err)?;
        let size = got.meta.size;
        Ok((size, got.into_stream()))
    }

    /// At most the last `max` bytes of the object, and its whole size.
    pub async fn read_tail(&self, key: &Path, max: u64) -> Result<(u64, Bytes)> {
        let opts = object_store::GetOptions {
            range: Some(object_store::GetRange::Suffix(max)),
            ..Default::default()
        };
        let got = self.store.get_opts(key, opts).await.map_err(store_err)?;
        let size = got.meta.size;
        Ok((size, got.bytes().await.map_err(store_err)?))
    }

    pub async fn read(&self, key: &Path) -> Result<Bytes> {
        let got = self.store.get(key).await.map_err(store_err)?;
        got.bytes().await.map_err(store_err)
    }

    /// One directory level under `<project>/<run>/<dir>`; paths come back relative to the run.
    pub async fn list(&self, project: Uuid, run: Uuid, dir: &str) -> Result<Vec<Entry>> {
        let root = format!("{project}/{run}");
        let prefix = match dir.trim_matches('/') {
            "" => Path::from(root.clone()),
            d => Self::run_key(project, run, d)?,
        };
        let listing = self.store.list_with_delimiter(Some(&prefix)).await.map_err(store_err)?;
        let rel = |p: &Path| {
            let p = decoded(p);
            p.strip_prefix(&root).unwrap_or(&p).trim_start_matches('/').to_string()
        };
        let mut out: Vec<Entry> = listing
            .common_prefixes
            .iter()
            .map(|p| Entry { path: rel(p), is_dir: true, size: None })
            .chain(listing.objects.iter().map(|o| Entry {
                path: rel(&o.location),
                is_dir: false,
                size: Some(o.size),
            }))
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Every file under `<project>/<dir>`, as paths relative to the project.
    pub async fn list_all(&self, project: Uuid, dir: &str) -> Result<Vec<String>> {
        let root = format!("{project}");
        let prefix = Path::from(format!("{project}/{}", normalise(dir)?));
        let metas: Vec<_> = self.store.list(Some(&prefix)).try_collect().await.map_err(store_err)?;
        let mut out: Vec<String> = metas
            .iter()
            .map(|m| {
                let p = decoded(&m.location);
                p.strip_prefix(&root).unwrap_or(&p).trim_start_matches('/').to_string()
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// The size of a stored object, `None` when there is none.
    pub async fn size_of(&self, key: &Path) -> Result<Option<u64>> {
        match self.store.head(key).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err(e)),
        }
    }

    /// Removes everything a run stored (its logs and artifacts); what its artifacts took (for the quota).
    pub async fn delete_run(&self, project: Uuid, run: Uuid) -> Result<Usage> {
        let artifacts = Path::from(format!("{project}/{run}/artifacts"));
        let mut freed = Usage::default();
        let mut listed = self.store.list(Some(&artifacts));
        while let Some(meta) = listed.next().await {
            let meta = meta.map_err(store_err)?;
            freed.bytes += meta.size;
            freed.files += 1;
        }
        self.delete_prefix(Path::from(format!("{project}/{run}"))).await?;
        Ok(freed)
    }

    /// Removes everything a project's runs stored.
    pub async fn delete_project(&self, project: Uuid) -> Result<()> {
        self.delete_prefix(Path::from(project.to_string())).await
    }

    async fn delete_prefix(&self, prefix: Path) -> Result<()> {
        let keys = self.store.list(Some(&prefix)).map_ok(|m| m.location).boxed();
        let mut deleted = self.store.delete_stream(keys);
        while let Some(r) = deleted.next().await {
            r.map_err(store_err)?;
        }
        Ok(())
    }
}

/// A key as the user named it: the store percent-encodes what it may not hold (non-ASCII, `%`, `#`, ...), and
/// `run_key` encodes it again from the name.
fn decoded(p: &Path) -> String {
    percent_encoding::percent_decode_str(p.as_ref()).decode_utf8_lossy().into_owned()
}
