//! The sessions: in memory while in use (a lock, and the parts the store has not confirmed yet), and in the
//! database from the last part the store confirmed — its upload id, the parts' ids and the digest so far — so a
//! restarted server picks a session up again where the database left it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use api_types::{ArtifactInfo, UploadSession};
use object_store::path::Path;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set, TransactionTrait,
};
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::parts::{Chain, Midstate};
use super::{DEFAULT_PART_SIZE, PARTS_IN_FLIGHT, PARTS_KEPT};
use crate::artifacts::aligned::Pool;
use crate::artifacts::Artifacts;
use crate::entities::{run, upload_part, upload_session};
use crate::error::{Error, Result};

pub(super) const IDLE_MS: i64 = 24 * 3600 * 1000;
/// A completed session answers a repeated `complete` (its answer was lost) for this long.
const DONE_KEPT_MS: i64 = 10 * 60 * 1000;
const STAGING_SWEEP_MS: i64 = 3600 * 1000;

pub struct Uploads {
    pub(super) db: DatabaseConnection,
    pub(super) store: Arc<Artifacts>,
    live: Mutex<HashMap<Uuid, Arc<Session>>>,
    /// Tests make it small; the store may still need bigger parts for a large file.
    pub(super) part_size: AtomicU64,
    /// Parts held in memory, being received or on their way into the store.
    pub(super) in_flight: Arc<Semaphore>,
    /// Their buffers, kept for the next parts (at most [`PARTS_KEPT`]).
    pub(super) buffers: Arc<Pool>,
    /// When the store's staging files were last swept (0: not since the start).
    staging_swept_ms: AtomicI64,
}

pub(super) struct Session {
    /// What the session is (its progress columns are as it was loaded; `Progress` is current).
    pub(super) row: upload_session::Model,
    pub(super) key: Path,
    touched_ms: AtomicI64,
    pub(super) progress: Arc<tokio::sync::Mutex<Progress>>,
    /// Changes when the session takes a part or closes: a part sent ahead waits on it for its turn.
    pub(super) turn: tokio::sync::watch::Sender<u32>,
    /// How far the file's digest has got (`Progress::digest`'s).
    pub(super) hashed: tokio::sync::watch::Receiver<Midstate>,
}

pub(super) struct Progress {
    /// Still open in the store: not completed, cancelled or failed.
    pub(super) open: bool,
    /// The ids of the parts the store confirmed, and the digest after them: what the database holds.
    pub(super) parts: Vec<String>,
    pub(super) confirmed: Midstate,
    /// Parts on their way into the store, oldest first: each part's id and the digest after it, once landed.
    pub(super) writing: VecDeque<Landing>,
    pub(super) received: u64,
    pub(super) next_part: u32,
    pub(super) digest: Chain,
    /// What `complete` answered.
    pub(super) done: Option<ArtifactInfo>,
}

/// A part's write into the store: its id there and the file's digest after it.
pub(super) type Landing = tokio::sync::oneshot::Receiver<Result<(String, Midstate)>>;

pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Session {
    /// The session as recorded, with the ids of the parts the store confirmed.
    fn from_row(row: upload_session::Model, parts: Vec<String>) -> Result<Self> {
        let broken = || Error::Internal(format!("upload {} is recorded unreadably", row.id));
        if parts.len() != row.next_part as usize {
            return Err(broken());
        }
        let confirmed = Midstate::from_text(&row.digest).ok_or_else(broken)?;
        let received = (parts.len() as u64 * row.part_size as u64).min(row.size as u64);
        let key = Artifacts::run_key(row.project_id, row.run_id, &row.path)?;
        let progress = Progress {
            open: true,
            next_part: parts.len() as u32,
            parts,
            digest: Chain::from(confirmed.clone()),
            confirmed,
            writing: VecDeque::new(),
            received,
            done: None,
        };
        Ok(Self {
            turn: tokio::sync::watch::Sender::new(progress.next_part),
            hashed: progress.digest.watch(),
            touched_ms: AtomicI64::new(row.touched_ms),
            row,
            key,
            progress: Arc::new(tokio::sync::Mutex::new(progress)),
        })
    }

    pub(super) fn size(&self) -> u64 {
        self.row.size as u64
    }

    pub(super) fn part_size(&self) -> u64 {
        self.row.part_size as u64
    }

    pub(super) fn view(&self, p: &Progress) -> UploadSession {
        UploadSession {
            id: self.row.id,
            run: self.row.run_id,
            path: self.row.path.clone(),
            size: self.size(),
            part_size: self.part_size(),
            received: p.received,
            next_part: p.next_part,
            expires_ms: self.touched_ms.load(Ordering::Relaxed) + IDLE_MS,
        }
    }

    pub(super) fn touch(&self) {
        self.touched_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// Bytes part `n` must have.
    pub(super) fn part_len(&self, n: u32) -> u64 {
        self.size().saturating_sub(u64::from(n) * self.part_size()).min(self.part_size())
    }
}

impl Uploads {
    pub fn new(db: DatabaseConnection, store: Arc<Artifacts>) -> Self {
        Self {
            db,
            store,
            live: Mutex::default(),
            part_size: AtomicU64::new(DEFAULT_PART_SIZE),
            in_flight: Arc::new(Semaphore::new(PARTS_IN_FLIGHT)),
            buffers: Pool::new(PARTS_KEPT),
            staging_swept_ms: AtomicI64::new(0),
        }
    }

    /// Parts of new sessions are at least `bytes` (tests).
    pub fn set_part_size(&self, bytes: u64) {
        self.part_size.store(bytes.max(1), Ordering::Relaxed);
    }

    /// Lets go of every session held in memory, as a restart does; the database still has them (tests).
    pub fn forget(&self) {
        self.live().clear();
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<Session>>> {
        self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The caller's session on this run, from memory or the database; anyone else's is not found.
    pub(super) async fn session(&self, user: Uuid, r: &run::Model, id: Uuid) -> Result<Arc<Session>> {
        let held = self.live().get(&id).cloned();
        let s = match held {
            Some(s) => s,
            None => {
                let row = upload_session::Entity::find_by_id(id)
                    .one(&self.db)
                    .await?
                    .ok_or(Error::NotFound("upload"))?;
                let s = Arc::new(self.load(row).await?);
                self.live().entry(id).or_insert(s).clone()
            }
        };
        if s.row.user_id != user || s.row.run_id != r.id {
            return Err(Error::NotFound("upload"));
        }
        Ok(s)
    }

    /// The caller's open upload of this file (path, size and fingerprint), if any.
    pub(super) async fn find_open(
        &self,
        user: Uuid,
        r: &run::Model,
        path: &str,
        size: u64,
        fingerprint: &str,
    ) -> Result<Option<Arc<Session>>> {
        use upload_session::Column as C;
        let row = upload_session::Entity::find()
            .filter(C::RunId.eq(r.id))
            .filter(C::UserId.eq(user))
            .filter(C::Path.eq(path))
            .filter(C::Size.eq(size as i64))
            .filter(C::Fingerprint.eq(fingerprint))
            .one(&self.db)
            .await?;
        match row {
            Some(row) => Ok(Some(self.session(user, r, row.id).await?)),
            None => Ok(None),
        }
    }

    /// Unfinished uploads of a project.
    pub(super) async fn open_in(&self, project: Uuid) -> Result<u64> {
        let q = upload_session::Entity::find().filter(upload_session::Column::ProjectId.eq(project));
        Ok(q.count(&self.db).await?)
    }

    /// Starts a session: the store's upload, then its record.
    pub(super) async fn start(&self, row: upload_session::Model) -> Result<Arc<Session>> {
        let key = Artifacts::run_key(row.project_id, row.run_id, &row.path)?;
        let store_id = self.store.start_parts(&key).await?;
        let row = upload_session::Model { store_id, ..row };
        row.clone().into_active_model().reset_all().insert(&self.db).await.map_err(|e| {
            let (store, key, id) = (self.store.clone(), key.clone(), row.store_id.clone());
            tokio::spawn(async move { store.abort_parts(&key, &id).await.ok() });
            Error::from(e)
        })?;
        let s = Arc::new(Session::from_row(row, Vec::new())?);
        self.live().insert(s.row.id, s.clone());
        Ok(s)
    }

    /// A recorded session with its parts.
    async fn load(&self, row: upload_session::Model) -> Result<Session> {
        let parts = upload_part::Entity::find()
            .filter(upload_part::Column::UploadId.eq(row.id))
            .order_by_asc(upload_part::Column::N)
            .all(&self.db)
            .await?;
        Session::from_row(row, parts.into_iter().map(|p| p.part_id).collect())
    }

    /// Writes down the part the store has just confirmed (the last of `p.parts`) and the digest after it.
    pub(super) async fn record(&self, s: &Session, p: &Progress) -> Result<()> {
        let Some(id) = p.parts.last() else { return Ok(()) };
        let n = p.parts.len() as i32 - 1;
        let tx = self.db.begin().await?;
        upload_part::ActiveModel { upload_id: Set(s.row.id), n: Set(n), part_id: Set(id.clone()) }
            .insert(&tx)
            .await?;
        upload_session::ActiveModel {
            id: Set(s.row.id),
            next_part: Set(n + 1),
            digest: Set(p.confirmed.to_text()),
            touched_ms: Set(s.touched_ms.load(Ordering::Relaxed)),
            ..Default::default()
        }
        .update(&tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a session in the store (unless completed) and in the database; it answers from memory for a while.
    pub(super) async fn close(&self, s: &Session, p: &mut Progress, completed: bool) {
        p.writing.clear();
        s.turn.send_modify(|_| {});
        if p.open && !completed {
            self.store.abort_parts(&s.key, &s.row.store_id).await.ok();
        }
        p.open = false;
        upload_session::Entity::delete_by_id(s.row.id).exec(&self.db).await.ok();
        let parts = upload_part::Entity::delete_many().filter(upload_part::Column::UploadId.eq(s.row.id));
        parts.exec(&self.db).await.ok();
    }

    pub(super) fn drop_live(&self, id: Uuid) {
        self.live().remove(&id);
    }

    /// Sessions idle past a day are aborted in the store; finished ones leave memory after a while. Once an hour,
    /// staging files nobody wrote to for two days (a crash's leftovers) go too.
    pub(super) async fn sweep(&self) {
        let now = now_ms();
        let last = self.staging_swept_ms.load(Ordering::Relaxed);
        if now - last > STAGING_SWEEP_MS
            && self.staging_swept_ms.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            let idle = std::time::Duration::from_millis(2 * IDLE_MS as u64);
            let removed = self.store.sweep_staging(idle).await;
            if removed > 0 {
                tracing::info!(removed, "removed staging files of uploads a crash interrupted");
            }
        }
        let finished: Vec<Uuid> = self
            .live()
            .values()
            .filter(|s| {
                let idle = now - s.touched_ms.load(Ordering::Relaxed);
                let closed = s.progress.try_lock().map(|p| !p.open).unwrap_or(false);
                closed && idle > DONE_KEPT_MS
            })
            .map(|s| s.row.id)
            .collect();
        for id in finished {
            self.drop_live(id);
        }
        let stale = upload_session::Entity::find()
            .filter(upload_session::Column::TouchedMs.lt(now - IDLE_MS))
            .all(&self.db)
            .await
            .unwrap_or_default();
        for row in stale {
            let held = self.live().get(&row.id).cloned();
            let s = match held {
                // In use lately, though its record is older.
                Some(s) if now - s.touched_ms.load(Ordering::Relaxed) <= IDLE_MS => continue,
                Some(s) => s,
                None => match self.load(row).await {
                    Ok(s) => Arc::new(s),
                    Err(_) => continue,
                },
            };
            let mut p = s.progress.lock().await;
            self.close(&s, &mut p, false).await;
            drop(p);
            self.drop_live(s.row.id);
        }
    }
}
