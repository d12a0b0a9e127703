//! The tracking writer. Every batch a server receives is written by one task: the batches that arrived
//! together go into one transaction (a group commit), and the metric keys they made due for compaction are
//! merged between groups, off every request's path. One writer means ingest never contends for SQLite's single
//! write lock with itself (a contended lock waits in SQLite's busy handler, milliseconds at a time), and each
//! database commits once per group instead of once per batch.
//!
//! On PostgreSQL (by default) a group of metric batches is answered once appended to the shard's journal, and
//! written to the database just after, by a task of its own (`journal`, `behind`); every read waits for what
//! was answered before it (`Ingest::settled`). A round trip to PostgreSQL was half of a batch's time.
//!
//! A group that fails is written again batch by batch, so one batch's refusal (a param logged with another
//! value) is that batch's answer alone. A group whose write panics is refused, and the writer goes on: one
//! bug must not stop every run's logging.

use std::collections::{HashSet, VecDeque};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;

use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

mod behind;
pub mod journal;
mod postgres;
mod sqlite;

use super::{chunks, write, Batch, MetricKey};
use crate::error::{Error, Result};
use crate::services::runs::access::RunRef;

/// Batches waiting for the writer; past this, loggers wait for room (backpressure, bounded memory).
const QUEUE: usize = 256;
/// The most points one group writes (each batch holds at most `MAX_METRICS`): bounds a transaction and its
/// statements' variables (SQLite allows 32,766 in one statement).
const GROUP_POINTS: usize = 2_000;

struct Job {
    batch: Batch,
    done: oneshot::Sender<Result<()>>,
}

/// The most keys one merge takes (`Compactor`): bounds its transaction and its statements' variables.
const MERGE_KEYS: usize = 64;

/// PostgreSQL's writers: each batch goes to the one its run hashes to (a run's batches stay in order), and
/// each writes over a connection, and so a server process, of its own. One was held to a single core: a
/// group's statement costs ~40 µs a key there, and with 8 clients the other core stood idle.
const PG_WRITERS: usize = 2;

/// How long a logger waits for the writer to take and answer its batch (PostgreSQL out of reach).
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// When a batch is acknowledged (`--metrics-durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Durability {
    /// Once it survives Myelin's crash or restart (PostgreSQL: appended to the server's tracking journal, and
    /// written behind the answer, `journal`; SQLite: `synchronous = NORMAL`).
    #[default]
    Process,
    /// Once it is on disk (PostgreSQL: `synchronous_commit = on`; SQLite: `synchronous = FULL`).
    Disk,
}

/// The handle request handlers log through (`AppState::ingest`).
#[derive(Clone)]
pub struct Ingest {
    db: DatabaseConnection,
    /// One writer's queue per shard (SQLite: one; it has a single write lock).
    tx: Vec<mpsc::Sender<Job>>,
    /// Each journaled shard's progress (PostgreSQL with a journal), which reads wait for.
    progress: Vec<Arc<behind::Progress>>,
}

impl Ingest {
    /// Starts the writers on the current runtime; they stop when the last handle is dropped. On PostgreSQL with
    /// `Durability::Process`, `journal` is the directory of the writers' journals (`journal`): batches there are
    /// acknowledged once appended, and what an earlier process left in them is written first.
    pub fn start(db: DatabaseConnection, durability: Durability, journal: Option<&Path>) -> Self {
        let mut fast: Vec<Option<Fast>> = match sqlite::Fast::open(&db, durability) {
            Some(f) => vec![Some(Fast::Sqlite(f))],
            None => match postgres::Fast::open(&db, durability, None) {
                Some(_) => (0..PG_WRITERS)
                    .map(|_| postgres::Fast::open(&db, durability, None).map(Fast::Postgres))
                    .collect(),
                None => vec![None],
            },
        };
        let compactor = matches!(fast[0], Some(Fast::Postgres(_)))
            .then(|| Compactor::start(postgres::merge_connection(&db)));
        let journal = journal.filter(|_| compactor.is_some() && durability == Durability::Process);
        let mut progress = Vec::new();
        let tx = fast
            .drain(..)
            .enumerate()
            .map(|(shard, fast)| {
                let (tx, rx) = mpsc::channel(QUEUE);
                let journaled = journal.and_then(|dir| {
                    let j = behind::Journaled::start(&db, durability, dir, shard, compactor.clone()?);
                    if let Some(j) = &j {
                        progress.push(j.progress.clone());
                    }
                    j
                });
                let writer = Writer {
                    db: db.clone(),
                    fast,
                    rx,
                    held: None,
                    due: VecDeque::new(),
                    queued: HashSet::new(),
                    compactor: compactor.clone(),
                    journal: journaled,
                };
                tokio::spawn(writer.run());
                tx
            })
            .collect();
        Self { db, tx, progress }
    }

    /// Waits until every batch acknowledged before the call can be read (journaled batches are written just
    /// after their answer), for at most `behind::SETTLE_WITHIN` (the database out of reach); returns whether
    /// they can. Every request but a logging one waits for this (`server::finish`), and so does the pipelines'
    /// pass.
    pub async fn settled(&self) -> bool {
        let mut all = true;
        for p in &self.progress {
            all &= p.is_settled() || p.settled().await;
        }
        all
    }

    /// Checks and records one batch for `r`; returns once it is committed.
    pub async fn log(
        &self,
        r: &RunRef,
        metrics: Vec<super::Point>,
        params: Vec<(String, String)>,
        tags: Vec<(String, String)>,
    ) -> Result<()> {
        let batch = Batch::new(r, metrics, params, tags)?;
        if batch.metrics.is_empty() && batch.params.is_empty() && batch.tags.is_empty() {
            return Ok(());
        }
        let (done, answer) = oneshot::channel();
        let stopped = || Error::Internal("the tracking writer failed to write this batch".into());
        let git = crate::services::lineage::sources::git_tags(&batch.tags);
        let shard = &self.tx[(r.id.as_u128() % self.tx.len() as u128) as usize];
        let answered = async {
            shard.send(Job { batch, done }).await.map_err(|_| stopped())?;
            answer.await.map_err(|_| stopped())?
        };
        tokio::time::timeout(ANSWER_WITHIN, answered).await.map_err(|_| {
            Error::StoreUnavailable("the tracking store did not take this batch in time; try again".into())
        })??;
        super::logged(&self.db, *r, git).await
    }
}

/// A connection of the writer's own that writes a group of points in one call.
enum Fast {
    Sqlite(sqlite::Fast),
    Postgres(postgres::Fast),
}

struct Writer {
    db: DatabaseConnection,
    /// The database's fast path for points, where it has one.
    fast: Option<Fast>,
    rx: mpsc::Receiver<Job>,
    /// A job taken from the queue that did not fit in the last group.
    held: Option<Job>,
    /// Keys due for compaction, each once.
    due: VecDeque<(Uuid, MetricKey)>,
    queued: HashSet<(Uuid, MetricKey)>,
    /// PostgreSQL's merges, on a task of their own (`Compactor`); SQLite merges in this loop.
    compactor: Option<Compactor>,
    /// The shard's journal, where it has one.
    journal: Option<behind::Journaled>,
}

impl Writer {
    async fn run(mut self) {
        if let Some(j) = &mut self.journal {
            j.resume(&self.db).await;
        }
        loop {
            let first = match self.held.take() {
                Some(job) => job,
                // Nothing waiting: merge one due key, then look again.
                None if !self.due.is_empty() => match self.rx.try_recv() {
                    Ok(job) => job,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        self.compact_one().await;
                        continue;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                },
                None => match self.next().await {
                    Some(job) => job,
                    None => break,
                },
            };
            let group = self.group(first);
            // A panic drops the group's answers: its loggers hear that their batch failed.
            if AssertUnwindSafe(self.write(group)).catch_unwind().await.is_err() {
                tracing::error!("writing a group of tracking batches panicked; its batches were refused");
            }
            // One merge per group keeps up with any load: a key falls due once per `COMPACT_AT` groups at most.
            if AssertUnwindSafe(self.compact_one()).catch_unwind().await.is_err() {
                tracing::error!("merging a metric's chunks panicked; its chunks stay for the next merge");
            }
        }
        while !self.due.is_empty() {
            self.compact_one().await;
        }
    }

    /// The next job; a journal appended to since its last flush is flushed once idle for `journal::SYNC_EVERY`.
    async fn next(&mut self) -> Option<Job> {
        loop {
            let Some(j) = self.journal.as_mut().filter(|j| j.journal.unsynced()) else {
                return self.rx.recv().await;
            };
            tokio::select! {
                job = self.rx.recv() => return job,
                _ = tokio::time::sleep(journal::SYNC_EVERY) => j.sync_if_due(),
            }
        }
    }

    /// `first` and whatever else is already waiting, up to `GROUP_POINTS` points.
    fn group(&mut self, first: Job) -> Vec<Job> {
        let mut points = first.batch.metrics.len();
        let mut group = vec![first];
        while let Ok(job) = self.rx.try_recv() {
            if points + job.batch.metrics.len() > GROUP_POINTS {
                self.held = Some(job);
                break;
            }
            points += job.batch.metrics.len();
            group.push(job);
        }
        group
    }

    async fn write(&mut self, group: Vec<Job>) {
        if let Some(j) = &mut self.journal {
            if group.iter().all(|job| job.batch.params.is_empty() && job.batch.tags.is_empty()) {
                return j.take(group).await;
            }
            // Params and tags are written in place, after every journaled batch before them.
            j.progress.settled().await;
        }
        let batches: Vec<&Batch> = group.iter().map(|j| &j.batch).collect();
        match self.commit(&batches).await {
            Ok(due) => {
                self.queue(due);
                for job in group {
                    let _ = job.done.send(Ok(()));
                }
            }
            Err(e) if group.len() == 1 => {
                let _ = group.into_iter().next().expect("one job").done.send(Err(e));
            }
            Err(_) => {
                for job in group {
                    let answer = self.commit(&[&job.batch]).await.map(|due| self.queue(due));
                    let _ = job.done.send(answer);
                }
            }
        }
    }

    /// Writes batches in one transaction: the fast path when it takes them (metric points in short chunks),
    /// sea-orm otherwise.
    async fn commit(&mut self, batches: &[&Batch]) -> Result<Vec<(Uuid, MetricKey)>> {
        if self.fast.is_some() && batches.iter().all(|b| b.params.is_empty() && b.tags.is_empty()) {
            let by_key = super::by_key(batches)?;
            if by_key.is_empty() {
                return Ok(Vec::new());
            }
            if by_key.values().all(|pts| (pts.len() as i32) < chunks::SUMMARISE_AT) {
                match &mut self.fast {
                    Some(Fast::Sqlite(fast)) => {
                        if let Some(due) = fast.write(&by_key)? {
                            return Ok(due);
                        }
                    }
                    Some(Fast::Postgres(fast)) => return fast.write(&by_key, 0).await,
                    None => {}
                }
            }
        }
        transaction(&self.db, batches).await
    }

    fn queue(&mut self, due: Vec<(Uuid, MetricKey)>) {
        if let Some(c) = &self.compactor {
            due.into_iter().for_each(|d| c.offer(d));
            return;
        }
        for d in due {
            if self.queued.insert(d.clone()) {
                self.due.push_back(d);
            }
        }
    }

    async fn compact_one(&mut self) {
        let Some((run, key)) = self.due.pop_front() else { return };
        self.queued.remove(&(run, key.clone()));
        let fast = match &mut self.fast {
            Some(Fast::Sqlite(fast)) => fast.compact(run, &key),
            _ => Ok(None),
        };
        let done = match fast {
            Ok(Some(())) => Ok(()),
            Ok(None) => chunks::compact(&self.db, &[(run, key.clone())]).await,
            Err(e) => Err(e),
        };
        if let Err(e) = done {
            // Its chunks stay as they were; a later merge of the key takes them.
            tracing::warn!(error = %e, run = %run.simple(), key = key.as_str(), "merging a metric's chunks failed");
        }
    }
}

/// Merges PostgreSQL's due keys beside the writer, the keys waiting taken together (up to `MERGE_KEYS`: a
/// run's keys fall due at once). A merge there is five round trips and two WAL flushes; in the writer's loop
/// it held up the groups behind it (with 8 clients the writer waited on merges while half the CPU stood idle).
#[derive(Clone)]
struct Compactor {
    tx: mpsc::Sender<(Uuid, MetricKey)>,
    /// Keys offered and not yet taken by a merge, each offered once (a due key is reported by every batch until
    /// merged).
    offered: std::sync::Arc<std::sync::Mutex<HashSet<(Uuid, MetricKey)>>>,
}

impl Compactor {
    fn start(db: DatabaseConnection) -> Self {
        let (tx, mut rx) = mpsc::channel::<(Uuid, MetricKey)>(QUEUE * 16);
        let offered: std::sync::Arc<std::sync::Mutex<HashSet<(Uuid, MetricKey)>>> = Default::default();
        let merged = offered.clone();
        tokio::spawn(async move {
            let mut due = Vec::with_capacity(MERGE_KEYS);
            while rx.recv_many(&mut due, MERGE_KEYS).await > 0 {
                // Offerable again from now on: a key the merge skips (a batch was writing it) is offered again
                // by that batch, once it has committed.
                {
                    let mut offered = merged.lock().unwrap_or_else(|p| p.into_inner());
                    for d in &due {
                        offered.remove(d);
                    }
                }
                let done = AssertUnwindSafe(chunks::compact(&db, &due)).catch_unwind().await;
                // A failed merge leaves the keys' chunks as they were; their next merge takes them.
                match done {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, keys = due.len(), "merging metrics' chunks failed")
                    }
                    Err(_) => tracing::error!(keys = due.len(), "merging metrics' chunks panicked"),
                }
                due.clear();
            }
        });
        Self { tx, offered }
    }

    /// Queues a due key unless it is queued already; a full queue leaves it due, offered again by its next batch.
    fn offer(&self, due: (Uuid, MetricKey)) {
        let mut offered = self.offered.lock().unwrap_or_else(|p| p.into_inner());
        if offered.insert(due.clone()) && self.tx.try_send(due.clone()).is_err() {
            offered.remove(&due);
        }
    }
}

async fn transaction(db: &DatabaseConnection, batches: &[&Batch]) -> Result<Vec<(Uuid, MetricKey)>> {
    let txn = db.begin().await?;
    let due = write(&txn, batches).await?;
    txn.commit().await?;
    Ok(due)
}
