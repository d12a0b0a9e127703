//! Uploads in parts, for large files over unreliable links: the client announces a file (path, size), sends it
//! as numbered parts in order, then completes it. Each part goes into the store's multipart upload once it has
//! arrived whole (held in one buffer) and the file's sha256 is carried forward, so an interrupted upload resumes at
//! its first missing part and the file appears at its path only when complete — never partly.
//!
//! Sessions are kept in the database from the last part the store confirmed (`session`): after a restart the
//! client resumes from there. An idle session is aborted in the store after a day, a project has at most
//! [`MAX_OPEN_PER_PROJECT`] open, and at most [`PARTS_IN_FLIGHT`] parts are held in memory at once.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use api_types::{ArtifactInfo, NewUpload, UploadSession};
use bytes::Bytes;
use futures_util::Stream;
use uuid::Uuid;

use crate::artifacts::{normalise, Artifacts, Stored};
use crate::entities::{run, upload_session};
use crate::error::{Error, Result};

mod parts;
mod session;

use parts::{read_exactly, Ahead, Midstate};
pub use session::Uploads;
use session::{now_ms, Progress, Session};

/// Parts are this big unless a file needs bigger ones (S3 takes at most 10,000 parts of at least 5 MiB).
pub const DEFAULT_PART_SIZE: u64 = 16 * 1024 * 1024;
pub const MAX_OPEN_PER_PROJECT: u64 = 16;
pub const PARTS_IN_FLIGHT: usize = 8;
/// Part buffers kept between parts (a part's size each, 16 MiB by default): as many as one upload uses at once
/// (`WRITING` on their way into the store, one arriving).
const PARTS_KEPT: usize = WRITING + 1;
/// How long a part waits for another request sending a part of the same session.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
/// How far past the next part a part may be sent (on another connection, while the parts before it arrive): it
/// waits for its turn instead of being refused, so a client keeps its link busy between parts.
pub const AHEAD: u32 = 2;
/// Parts of one session written into the store at once while the next arrives.
const WRITING: usize = 4;

/// Starts an upload of `new.path` into the run, or resumes the caller's open one of the same path, size and
/// fingerprint (`true` when resumed). A file the project's quota cannot take is refused now, not at the end.
pub async fn create(
    uploads: &Uploads,
    user: Uuid,
    r: &run::Model,
    new: &NewUpload,
) -> Result<(bool, UploadSession)> {
    uploads.sweep().await;
    let path = normalise(&new.path)?;
    let key = Artifacts::run_key(r.project_id, r.id, &path)?;
    if !new.fingerprint.is_empty() {
        if let Some(s) = uploads.find_open(user, r, &path, new.size, &new.fingerprint).await? {
            let p = s.progress.lock().await;
            if p.open {
                s.touch();
                return Ok((true, s.view(&p)));
            }
        }
    }
    super::project_limits::check_fits(&uploads.db, &uploads.store, r.project_id, &key, new.size).await?;
    let open = uploads.open_in(r.project_id).await?;
    if open >= MAX_OPEN_PER_PROJECT {
        return Err(Error::TooMany(format!(
            "the project has {open} unfinished uploads, as many as it may; finish or cancel one (they expire after \
             a day idle)"
        )));
    }
    // S3 takes at most 10,000 parts.
    let part_size = uploads.part_size.load(Ordering::Relaxed).max(new.size.div_ceil(10_000));
    let s = uploads
        .start(upload_session::Model {
            id: Uuid::new_v4(),
            user_id: user,
            project_id: r.project_id,
            run_id: r.id,
            path,
            size: new.size as i64,
            part_size: part_size as i64,
            fingerprint: new.fingerprint.clone(),
            store_id: String::new(),
            next_part: 0,
            digest: Midstate::default().to_text(),
            touched_ms: now_ms(),
        })
        .await?;
    let view = s.view(&*s.progress.lock().await);
    Ok((false, view))
}

/// Where the caller's upload stands.
pub async fn get(uploads: &Uploads, user: Uuid, r: &run::Model, id: Uuid) -> Result<UploadSession> {
    let s = uploads.session(user, r, id).await?;
    let p = s.progress.lock().await;
    if !p.open && p.done.is_none() {
        return Err(gone());
    }
    Ok(s.view(&p))
}

/// Part `n` of an upload, with the CRC-32 of its bytes if the client sent one.
pub struct Part<S> {
    pub n: u32,
    pub crc32: Option<u32>,
    pub body: S,
}

/// Adds part `n`: the part the session expects next (one it already has is acknowledged again, so a retry after
/// a lost answer is harmless). Nothing changes unless the whole part arrives with the right size (and CRC-32).
pub async fn put_part<S, E>(
    uploads: &Arc<Uploads>,
    user: Uuid,
    r: &run::Model,
    id: Uuid,
    Part { n, crc32, body }: Part<S>,
) -> Result<UploadSession>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let s = uploads.session(user, r, id).await?;
    // Too far ahead to wait, or past the file's end: refused before its body is read.
    let next = *s.turn.borrow();
    if n > next + AHEAD || (n > 0 && u64::from(n) * s.part_size() >= s.size()) {
        return Err(not_next(&s, n, next));
    }
    let want = s.part_len(n);
    let slot = uploads
        .in_flight
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| Error::Internal("uploads closed".into()))?;
    // Received before its turn, so a part sent ahead arrives while the one before it does (on another core).
    let ahead = Ahead { start: u64::from(n) * s.part_size(), hashed: s.hashed.clone() };
    let (part, head) = read_exactly(body, want, crc32, &uploads.buffers, &ahead).await?;
    let mut p = turn_of(&s, n).await?;
    if n < p.next_part {
        return Ok(s.view(&p));
    }
    // From here the part is the store's: handed over even if the client goes away, so the session never runs
    // ahead of (or behind) what the store is given.
    let (uploads, session) = (uploads.clone(), s.clone());
    tokio::spawn(async move {
        // At most WRITING parts of a session wait for the store. A failed one leaves a hole in the store's upload,
        // which can then never complete: the session ends and the client starts again.
        while p.writing.len() >= WRITING {
            settle_oldest(&uploads, &session, &mut p).await?;
        }
        let hashed = p.digest.add(part.clone(), head);
        let (tx, landing) = tokio::sync::oneshot::channel();
        let (u, s) = (uploads.clone(), session.clone());
        tokio::spawn(async move {
            let landed = async {
                let id = u.store.put_part(&s.key, &s.row.store_id, n, s.part_size(), part).await?;
                let after = hashed.await.map_err(|_| Error::Internal("hashing the upload stopped".into()))?;
                Ok((id, after))
            }
            .await;
            drop(slot);
            let _ = tx.send(landed);
            // Written down as soon as it lands, so a restart loses as little as it can.
            settle_landed(&u, &s).await;
        });
        p.writing.push_back(landing);
        p.received += want;
        p.next_part += 1;
        session.turn.send_replace(p.next_part);
        Ok(session.view(&p))
    })
    .await
    .map_err(|e| Error::Internal(format!("upload part: {e}")))?
}

/// The session, locked, once part `n` may be taken: a part at most [`AHEAD`] past the next one (sent while the
/// parts before it are still arriving on other connections) waits for them, up to [`BUSY_WAIT`] in all.
async fn turn_of(s: &Arc<Session>, n: u32) -> Result<tokio::sync::OwnedMutexGuard<Progress>> {
    let deadline = tokio::time::Instant::now() + BUSY_WAIT;
    let busy = || Error::Conflict("another request is sending a part of this upload; retry".into());
    let mut turn = s.turn.subscribe();
    loop {
        let p =
            tokio::time::timeout_at(deadline, s.progress.clone().lock_owned()).await.map_err(|_| busy())?;
        s.touch();
        if p.done.is_some() {
            return Err(Error::Conflict("the upload is complete".into()));
        }
        if !p.open {
            return Err(gone());
        }
        let complete = p.received >= s.size();
        if n < p.next_part || (n == p.next_part && !complete) {
            return Ok(p);
        }
        if complete || n - p.next_part > AHEAD {
            return Err(not_next(s, n, p.next_part));
        }
        drop(p);
        let waited = tokio::time::timeout_at(deadline, turn.changed()).await;
        if !matches!(waited, Ok(Ok(()))) {
            return Err(busy());
        }
    }
}

fn not_next(s: &Session, n: u32, next: u32) -> Error {
    let (size, has) = (s.size(), (u64::from(next) * s.part_size()).min(s.size()));
    Error::Conflict(format!(
        "part {n} is not the next one: the server has {has} of {size} bytes and expects part {next}"
    ))
}

/// Waits for the oldest part on its way into the store and writes it down.
async fn settle_oldest(uploads: &Uploads, s: &Session, p: &mut Progress) -> Result<()> {
    let Some(landing) = p.writing.pop_front() else { return Ok(()) };
    let landed =
        landing.await.unwrap_or_else(|_| Err(Error::Internal("upload part: its write stopped".into())));
    land(uploads, s, p, landed).await
}

/// Writes down the parts that have landed, in order.
async fn settle_landed(uploads: &Uploads, s: &Session) {
    use tokio::sync::oneshot::error::TryRecvError;
    let mut p = s.progress.lock().await;
    while p.open {
        let Some(front) = p.writing.front_mut() else { break };
        let landed = match front.try_recv() {
            Ok(landed) => landed,
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Closed) => Err(Error::Internal("upload part: its write stopped".into())),
        };
        p.writing.pop_front();
        if land(uploads, s, &mut p, landed).await.is_err() {
            break;
        }
    }
}

/// Records a part the store confirmed; a failure (of the store or the record) ends the upload.
async fn land(
    uploads: &Uploads,
    s: &Session,
    p: &mut Progress,
    landed: Result<(String, Midstate)>,
) -> Result<()> {
    let failed = match landed {
        Ok((id, after)) => {
            p.parts.push(id);
            p.confirmed = after;
            match uploads.record(s, p).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            }
        }
        Err(e) => e,
    };
    uploads.close(s, p, false).await;
    Err(failed)
}

/// A failed or cancelled upload is no longer there to resume: the client starts again.
fn gone() -> Error {
    Error::NotFound("upload")
}

/// Completes the upload: the file appears at its path with its digest, counted against the quota. A repeated
/// call answers the same.
pub async fn complete(uploads: &Arc<Uploads>, user: Uuid, r: &run::Model, id: Uuid) -> Result<ArtifactInfo> {
    let s = uploads.session(user, r, id).await?;
    let mut p = s.progress.clone().lock_owned().await;
    s.touch();
    if let Some(done) = &p.done {
        return Ok(done.clone());
    }
    if !p.open {
        return Err(gone());
    }
    if p.received != s.size() {
        return Err(Error::Conflict(format!(
            "the upload has {} of {} bytes; send part {} first",
            p.received,
            s.size(),
            p.next_part
        )));
    }
    let (uploads, r) = (uploads.clone(), r.clone());
    // Finished even if the client goes away: the object, its quota charge and its index row go together.
    tokio::spawn(async move {
        let (db, store) = (&uploads.db, &uploads.store);
        // Other uploads may have used the room since this one started.
        let replaced =
            match super::project_limits::check_fits(db, store, r.project_id, &s.key, s.size()).await {
                Ok(replaced) => replaced,
                Err(e) => {
                    uploads.close(&s, &mut p, false).await;
                    return Err(e);
                }
            };
        while !p.writing.is_empty() {
            settle_oldest(&uploads, &s, &mut p).await?;
        }
        if let Err(e) = store.complete_parts(&s.key, &s.row.store_id, p.parts.clone()).await {
            uploads.close(&s, &mut p, false).await;
            return Err(e);
        }
        uploads.close(&s, &mut p, true).await;
        let stored = Stored { size: s.size(), sha256: p.confirmed.clone().finish() };
        super::project_limits::charge_stored(db, r.project_id, stored.size, replaced).await?;
        super::artifacts::record(db, &r, &s.row.path, &stored).await?;
        let info = super::artifacts::find(db, &r, &s.row.path).await?.ok_or(Error::NotFound("artifact"))?;
        p.done = Some(info.clone());
        Ok(info)
    })
    .await
    .map_err(|e| Error::Internal(format!("complete upload: {e}")))?
}

/// Cancels the upload: its parts are dropped and nothing appears.
pub async fn cancel(uploads: &Uploads, user: Uuid, r: &run::Model, id: Uuid) -> Result<()> {
    let s = uploads.session(user, r, id).await?;
    let mut p = s.progress.lock().await;
    if p.done.is_some() {
        return Err(Error::Conflict("the upload is complete".into()));
    }
    uploads.close(&s, &mut p, false).await;
    drop(p);
    uploads.drop_live(id);
    Ok(())
}
