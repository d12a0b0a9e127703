//! The tracking writer. Every batch a server receives is written by one task: the batches that arrived
//! together go into one transaction (a group commit), and the metric keys they made due for compaction are
//! merged between groups, off every request's path. One writer means ingest never contends for SQLite's single
//! write lock with itself (a contended lock waits in SQLite's busy handler, milliseconds at a time), and each
//! database commits once per group instead of once per batch.
//!
//! A group that fails is written again batch by batch, so one batch's refusal (a param logged with another
//! value) is that batch's answer alone. A group whose write panics is refused, and the writer goes on: one
//! bug must not stop every run's logging.

use std::collections::{HashSet, VecDeque};
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

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

/// The handle request handlers log through (`AppState::ingest`).
#[derive(Clone)]
pub struct Ingest {
    db: DatabaseConnection,
    tx: mpsc::Sender<Job>,
}

impl Ingest {
    /// Starts the writer on the current runtime; it stops when the last handle is dropped.
    pub fn start(db: DatabaseConnection) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let fast = match sqlite::Fast::open(&db) {
            Some(f) => Some(Fast::Sqlite(f)),
            None => postgres::Fast::open(&db).map(Fast::Postgres),
        };
        let writer =
            Writer { db: db.clone(), fast, rx, held: None, due: VecDeque::new(), queued: HashSet::new() };
        tokio::spawn(writer.run());
        Self { db, tx }
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
        self.tx.send(Job { batch, done }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())??;
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
}

impl Writer {
    async fn run(mut self) {
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
                None => match self.rx.recv().await {
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
                tracing::error!("merging a metric's chunks panicked; the key stays due");
            }
        }
        while !self.due.is_empty() {
            self.compact_one().await;
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
                    Some(Fast::Postgres(fast)) => return fast.write(&by_key).await,
                    None => {}
                }
            }
        }
        transaction(&self.db, batches).await
    }

    fn queue(&mut self, due: Vec<(Uuid, MetricKey)>) {
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
            Ok(None) => chunks::compact(&self.db, run, &key).await,
            Err(e) => Err(e),
        };
        if let Err(e) = done {
            // The key stays due in the database (its pending count): its next batch offers it again.
            tracing::warn!(error = %e, run = %run.simple(), key = key.as_str(), "merging a metric's chunks failed");
        }
    }
}

async fn transaction(db: &DatabaseConnection, batches: &[&Batch]) -> Result<Vec<(Uuid, MetricKey)>> {
    let txn = db.begin().await?;
    let due = write(&txn, batches).await?;
    txn.commit().await?;
    Ok(due)
}
