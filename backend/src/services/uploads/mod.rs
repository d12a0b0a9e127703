//! Uploads in parts, for large files over unreliable links: the client announces a file (path, size), sends it
//! as numbered parts in order, then completes it. Each part goes straight into the store's multipart upload as it
//! arrives (one pass, no staging copy) and the file's sha256 is carried forward, so an interrupted upload resumes
//! at its first missing part and the file appears at its path only when complete — never partly.
//!
//! Sessions live in the server's memory (a restart drops them, and the client starts again); an idle session is
//! aborted after a day, a project has at most [`MAX_OPEN_PER_PROJECT`] open, and at most [`PARTS_IN_FLIGHT`]
//! parts are held in memory at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use api_types::{ArtifactInfo, NewUpload, UploadSession};
use bytes::Bytes;
use futures_util::Stream;
use sea_orm::DatabaseConnection;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::artifacts::{normalise, store_err, Artifacts, Stored};
use crate::entities::run;
use crate::error::{Error, Result};

mod parts;
use parts::{read_exactly, Hashing};

/// Parts are this big unless a file needs bigger ones (S3 takes at most 10,000 parts of at least 5 MiB).
pub const DEFAULT_PART_SIZE: u64 = 16 * 1024 * 1024;
pub const MAX_OPEN_PER_PROJECT: usize = 16;
pub const PARTS_IN_FLIGHT: usize = 8;
const IDLE_MS: i64 = 24 * 3600 * 1000;
/// A completed session answers a repeated `complete` (its answer was lost) for this long.
const DONE_KEPT_MS: i64 = 10 * 60 * 1000;
/// How long a part waits for another request sending a part of the same session.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

pub struct Uploads {
    sessions: Mutex<HashMap<Uuid, Arc<Session>>>,
    /// Tests make it small; the store may still need bigger parts for a large file.
    part_size: AtomicU64,
    /// Parts held in memory, being received or on their way into the store.
    in_flight: Arc<Semaphore>,
}

struct Session {
    id: Uuid,
    user: Uuid,
    project: Uuid,
    run: Uuid,
    path: String,
    size: u64,
    part_size: u64,
    fingerprint: String,
    touched_ms: AtomicI64,
    progress: Arc<tokio::sync::Mutex<Progress>>,
}

struct Progress {
    upload: Option<Box<dyn object_store::MultipartUpload>>,
    /// Parts on their way into the store, oldest first: the next part is received while these are written.
    writing: std::collections::VecDeque<tokio::task::JoinHandle<object_store::Result<()>>>,
    received: u64,
    next_part: u32,
    /// The digest of the parts so far: each part is hashed on a blocking thread, after the one before it,
    /// while the next part arrives.
    digest: Hashing,
    /// What `complete` answered.
    done: Option<ArtifactInfo>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Default for Uploads {
    fn default() -> Self {
        Self {
            sessions: Mutex::default(),
            part_size: AtomicU64::new(DEFAULT_PART_SIZE),
            in_flight: Arc::new(Semaphore::new(PARTS_IN_FLIGHT)),
        }
    }
}

impl Session {
    fn view(&self, p: &Progress) -> UploadSession {
        UploadSession {
            id: self.id,
            run: self.run,
            path: self.path.clone(),
            size: self.size,
            part_size: self.part_size,
            received: p.received,
            next_part: p.next_part,
            expires_ms: self.touched_ms.load(Ordering::Relaxed) + IDLE_MS,
        }
    }

    fn touch(&self) {
        self.touched_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// Bytes part `n` must have.
    fn part_len(&self, n: u32) -> u64 {
        self.size.saturating_sub(u64::from(n) * self.part_size).min(self.part_size)
    }
}

impl Uploads {
    /// Parts of new sessions are at least `bytes` (tests).
    pub fn set_part_size(&self, bytes: u64) {
        self.part_size.store(bytes.max(1), Ordering::Relaxed);
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The caller's session on this run; anyone else's is not found.
    fn session(&self, user: Uuid, r: &run::Model, id: Uuid) -> Result<Arc<Session>> {
        let s = self.sessions().get(&id).cloned().filter(|s| s.user == user && s.run == r.id);
        s.ok_or(Error::NotFound("upload"))
    }

    /// Sessions idle past a day (aborted in the store) and completed ones past their grace period.
    fn expired(&self) -> Vec<Arc<Session>> {
        let now = now_ms();
        let mut map = self.sessions();
        let old: Vec<Uuid> = map
            .values()
            .filter(|s| {
                let idle = now - s.touched_ms.load(Ordering::Relaxed);
                // Finished (completed, cancelled or failed): kept a while to answer a repeated call.
                let finished = s.progress.try_lock().map(|p| p.upload.is_none()).unwrap_or(false);
                idle > IDLE_MS || (finished && idle > DONE_KEPT_MS)
            })
            .map(|s| s.id)
            .collect();
        old.iter().filter_map(|id| map.remove(id)).collect()
    }

    async fn sweep(&self) {
        for s in self.expired() {
            if let Some(mut u) = s.progress.lock().await.upload.take() {
                u.abort().await.ok();
            }
        }
    }
}

/// Starts an upload of `new.path` into the run, or resumes the caller's open one of the same path, size and
/// fingerprint (`true` when resumed). A file the project's quota cannot take is refused now, not at the end.
pub async fn create(
    db: &DatabaseConnection,
    store: &Artifacts,
    uploads: &Uploads,
    user: Uuid,
    r: &run::Model,
    new: &NewUpload,
) -> Result<(bool, UploadSession)> {
    uploads.sweep().await;
    let path = normalise(&new.path)?;
    let key = Artifacts::run_key(r.project_id, r.id, &path)?;
    if !new.fingerprint.is_empty() {
        let open = uploads
            .sessions()
            .values()
            .find(|s| {
                s.user == user
                    && s.run == r.id
                    && s.path == path
                    && s.size == new.size
                    && s.fingerprint == new.fingerprint
            })
            .cloned();
        if let Some(s) = open {
            let p = s.progress.lock().await;
            if p.done.is_none() && p.upload.is_some() {
                s.touch();
                return Ok((true, s.view(&p)));
            }
        }
    }
    super::project_limits::check_fits(db, store, r.project_id, &key, new.size).await?;
    let open = uploads
        .sessions()
        .values()
        .filter(|s| s.project == r.project_id && s.progress.try_lock().map_or(true, |p| p.upload.is_some()))
        .count();
    if open >= MAX_OPEN_PER_PROJECT {
        return Err(Error::TooMany(format!(
            "the project has {open} unfinished uploads, as many as it may; finish or cancel one (they expire after \
             a day idle)"
        )));
    }
    // S3 takes at most 10,000 parts.
    let part_size = uploads.part_size.load(Ordering::Relaxed).max(new.size.div_ceil(10_000));
    let upload = store.start_upload(&key).await?;
    let s = Arc::new(Session {
        id: Uuid::new_v4(),
        user,
        project: r.project_id,
        run: r.id,
        path,
        size: new.size,
        part_size,
        fingerprint: new.fingerprint.clone(),
        touched_ms: AtomicI64::new(now_ms()),
        progress: Arc::new(tokio::sync::Mutex::new(Progress {
            upload: Some(upload),
            writing: Default::default(),
            received: 0,
            next_part: 0,
            digest: Hashing::default(),
            done: None,
        })),
    });
    let view = s.view(&*s.progress.lock().await);
    uploads.sessions().insert(s.id, s);
    Ok((false, view))
}

/// Where the caller's upload stands.
pub async fn get(uploads: &Uploads, user: Uuid, r: &run::Model, id: Uuid) -> Result<UploadSession> {
    let s = uploads.session(user, r, id)?;
    let p = s.progress.lock().await;
    if p.upload.is_none() && p.done.is_none() {
        return Err(gone());
    }
    Ok(s.view(&p))
}

/// Adds part `n`: the part the session expects next (one it already has is acknowledged again, so a retry after
/// a lost answer is harmless). Nothing changes unless the whole part arrives with the right size.
pub async fn put_part<S, E>(
    uploads: &Uploads,
    user: Uuid,
    r: &run::Model,
    id: Uuid,
    n: u32,
    body: S,
) -> Result<UploadSession>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let s = uploads.session(user, r, id)?;
    let mut p = tokio::time::timeout(BUSY_WAIT, s.progress.clone().lock_owned())
        .await
        .map_err(|_| Error::Conflict("another request is sending a part of this upload; retry".into()))?;
    s.touch();
    if p.done.is_some() {
        return Err(Error::Conflict("the upload is complete".into()));
    }
    if p.upload.is_none() {
        return Err(gone());
    }
    if n < p.next_part {
        return Ok(s.view(&p));
    }
    if n > p.next_part || p.received >= s.size {
        return Err(Error::Conflict(format!(
            "part {n} is not the next one: the server has {} of {} bytes and expects part {}",
            p.received, s.size, p.next_part
        )));
    }
    let want = s.part_len(n);
    let slot = uploads
        .in_flight
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| Error::Internal("uploads closed".into()))?;
    let part = read_exactly(body, want).await?;
    // From here the part is the store's: handed over even if the client goes away, so the session never runs
    // ahead of (or behind) what the store is given.
    let session = s.clone();
    tokio::spawn(async move {
        // At most WRITING parts of a session wait for the store; a failed one leaves a hole in the store's upload,
        // which can then never complete: the session is dropped and the client starts again.
        while p.writing.len() >= WRITING {
            settle_oldest(&mut p).await?;
        }
        p.digest.add(part.clone());
        let upload = p.upload.as_mut().ok_or_else(gone)?;
        let write = upload.put_part(part.into());
        p.writing.push_back(tokio::spawn(async move {
            let _slot = slot;
            write.await
        }));
        p.received += want;
        p.next_part += 1;
        Ok(session.view(&p))
    })
    .await
    .map_err(|e| Error::Internal(format!("upload part: {e}")))?
}

/// Parts of one session written into the store at once while the next arrives.
const WRITING: usize = 4;

/// Waits for the oldest part on its way into the store; a failure aborts the upload.
async fn settle_oldest(p: &mut Progress) -> Result<()> {
    let Some(write) = p.writing.pop_front() else { return Ok(()) };
    let failed = match write.await {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(e)) => store_err(e),
        Err(e) => Error::Internal(format!("upload part: {e}")),
    };
    abort_progress(p).await;
    Err(failed)
}

/// A failed or cancelled upload is no longer there to resume: the client starts again.
fn gone() -> Error {
    Error::NotFound("upload")
}

/// Completes the upload: the file appears at its path with its digest, counted against the quota. A repeated
/// call answers the same.
pub async fn complete(
    db: &DatabaseConnection,
    store: &Arc<Artifacts>,
    uploads: &Uploads,
    user: Uuid,
    r: &run::Model,
    id: Uuid,
) -> Result<ArtifactInfo> {
    let s = uploads.session(user, r, id)?;
    let mut p = s.progress.clone().lock_owned().await;
    s.touch();
    if let Some(done) = &p.done {
        return Ok(done.clone());
    }
    if p.upload.is_none() {
        return Err(gone());
    }
    if p.received != s.size {
        return Err(Error::Conflict(format!(
            "the upload has {} of {} bytes; send part {} first",
            p.received, s.size, p.next_part
        )));
    }
    let (db, store, r) = (db.clone(), store.clone(), r.clone());
    // Finished even if the client goes away: the object, its quota charge and its index row go together.
    tokio::spawn(async move {
        let key = Artifacts::run_key(r.project_id, r.id, &s.path)?;
        // Other uploads may have used the room since this one started.
        let replaced = match super::project_limits::check_fits(&db, &store, r.project_id, &key, s.size).await
        {
            Ok(replaced) => replaced,
            Err(e) => {
                abort_progress(&mut p).await;
                return Err(e);
            }
        };
        while !p.writing.is_empty() {
            settle_oldest(&mut p).await?;
        }
        let upload = p.upload.as_mut().ok_or_else(gone)?;
        if let Err(e) = upload.complete().await {
            abort_progress(&mut p).await;
            return Err(store_err(e));
        }
        p.upload = None;
        let sha256 = std::mem::take(&mut p.digest).finish().await?;
        let stored = Stored { size: s.size, sha256 };
        super::project_limits::charge_stored(&db, r.project_id, stored.size, replaced).await?;
        super::artifacts::record(&db, &r, &s.path, &stored).await?;
        let info = super::artifacts::find(&db, &r, &s.path).await?.ok_or(Error::NotFound("artifact"))?;
        p.done = Some(info.clone());
        Ok(info)
    })
    .await
    .map_err(|e| Error::Internal(format!("complete upload: {e}")))?
}

async fn abort_progress(p: &mut Progress) {
    for write in p.writing.drain(..) {
        write.abort();
    }
    if let Some(mut u) = p.upload.take() {
        u.abort().await.ok();
    }
}

/// Cancels the upload: its parts are dropped and nothing appears.
pub async fn cancel(uploads: &Uploads, user: Uuid, r: &run::Model, id: Uuid) -> Result<()> {
    let s = uploads.session(user, r, id)?;
    let mut p = s.progress.lock().await;
    if p.done.is_some() {
        return Err(Error::Conflict("the upload is complete".into()));
    }
    abort_progress(&mut p).await;
    drop(p);
    uploads.sessions().remove(&id);
    Ok(())
}
