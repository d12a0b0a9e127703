//! Writing journaled batches to PostgreSQL behind their acknowledgement (`journal`). A shard's writer appends
//! a group to its journal, answers its loggers, and hands the group here; this task writes what has gathered in
//! one statement that also moves the journal's mark, and publishes how far it got (`Progress`), which every
//! read waits for (`Ingest::settled`): nothing reads around a batch it was told is logged.
//!
//! A lost connection (PostgreSQL restarting) is waited out: the same points are written again until they are
//! in. A batch the database refuses (its run deleted since) is dropped with a warning, and the mark moved past
//! it, as the synchronous path would have answered it with an error.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbErr, RuntimeErr, TransactionTrait};
use tokio::sync::{mpsc, watch};

use super::journal::{self, Record};
use super::{postgres, Compactor, Durability, Job};
use crate::error::{Error, Result};
use crate::services::tracking::{by_key, chunks, write, Batch};

/// The longest a read waits for the batches answered before it (`Progress::settled`): past it, the database is
/// out of reach, and the read goes on to find that out for itself.
pub(super) const SETTLE_WITHIN: Duration = Duration::from_secs(10);

/// The most points one statement writes.
const STATEMENT_POINTS: usize = 8_000;

/// How far a journaled shard has got: appended (and so acknowledged), and in the database.
pub(super) struct Progress {
    pub journaled: AtomicU64,
    pub applied: watch::Sender<u64>,
}

impl Progress {
    pub fn new(journaled: u64) -> Self {
        Self { journaled: AtomicU64::new(journaled), applied: watch::Sender::new(0) }
    }

    /// Waits until every batch acknowledged before the call is in the database, at most `SETTLE_WITHIN`;
    /// returns whether they are.
    pub async fn settled(&self) -> bool {
        let target = self.journaled.load(Ordering::Acquire);
        let mut applied = self.applied.subscribe();
        let waited = tokio::time::timeout(SETTLE_WITHIN, applied.wait_for(|a| *a >= target)).await;
        matches!(waited, Ok(Ok(_)))
    }

    pub fn is_settled(&self) -> bool {
        *self.applied.borrow() >= self.journaled.load(Ordering::Acquire)
    }
}

/// What the writer hands over: records to write, and the number to publish once they are in.
pub(super) struct Apply {
    pub records: Vec<Record>,
    pub upto: u64,
}

pub(super) struct Behind {
    pub db: DatabaseConnection,
    pub fast: postgres::Fast,
    pub writer: String,
    pub rx: mpsc::Receiver<Apply>,
    pub progress: std::sync::Arc<Progress>,
    pub compactor: Compactor,
}

impl Behind {
    pub async fn run(mut self) {
        let mut waiting: Vec<Apply> = Vec::new();
        while self.rx.recv_many(&mut waiting, 64).await > 0 {
            let mut taken = waiting.drain(..).peekable();
            while taken.peek().is_some() {
                let (mut records, mut upto, mut points) = (Vec::new(), 0, 0);
                while let Some(a) = taken.next_if(|a| points == 0 || points + count(a) <= STATEMENT_POINTS) {
                    points += count(&a);
                    upto = upto.max(a.upto);
                    records.extend(a.records);
                }
                self.apply(&records, upto).await;
                self.progress.applied.send_if_modified(|a| {
                    let moved = upto > *a;
                    *a = (*a).max(upto);
                    moved
                });
            }
        }
    }

    /// Writes `records` and moves the mark to `upto`, waiting out lost connections.
    async fn apply(&mut self, records: &[Record], upto: u64) {
        let batches: Vec<&Batch> = records.iter().map(|r| &r.batch).collect();
        match self.retrying(&batches, upto).await {
            Ok(()) => {}
            Err(_) if records.len() > 1 => {
                // One batch refused: each alone, so only that one is dropped.
                for (i, r) in records.iter().enumerate() {
                    let seq = if i + 1 == records.len() { upto.max(r.seq) } else { r.seq };
                    if let Err(e) = self.retrying(&[&r.batch], seq).await {
                        self.refused(&r.batch, seq, e).await;
                    }
                }
            }
            Err(e) => {
                let b = &records[0].batch;
                self.refused(b, upto, e).await;
            }
        }
    }

    /// One write, tried again while the database is out of reach; `Err` is the database's refusal.
    async fn retrying(&mut self, batches: &[&Batch], seq: u64) -> Result<()> {
        let mut pause = Pause::default();
        loop {
            match self.write(batches, seq).await {
                Err(e) if transient(&e) => {
                    tracing::warn!(error = ?e, "writing journaled metrics failed; trying again");
                    pause.wait().await;
                }
                done => return done,
            }
        }
    }

    async fn write(&mut self, batches: &[&Batch], seq: u64) -> Result<()> {
        let by_key = by_key(batches)?;
        let due = if by_key.values().all(|pts| (pts.len() as i32) < chunks::SUMMARISE_AT) {
            self.fast.write(&by_key, seq).await?
        } else {
            // Long chunks get summaries: sea-orm's path, the mark in the same transaction.
            let txn = self.db.begin().await?;
            let due = write(&txn, batches).await?;
            postgres::set_mark(&txn, &self.writer, seq).await?;
            txn.commit().await?;
            due
        };
        due.into_iter().for_each(|d| self.compactor.offer(d));
        Ok(())
    }

    async fn refused(&mut self, b: &Batch, seq: u64, e: Error) {
        tracing::warn!(error = ?e, run = %b.run.simple(), points = b.metrics.len(), "the database refused a journaled batch of metrics; it is dropped");
        let mut pause = Pause::default();
        while let Err(e) = postgres::set_mark(&self.db, &self.writer, seq).await {
            tracing::warn!(error = ?e, "moving the tracking journal's mark failed; trying again");
            pause.wait().await;
        }
    }
}

/// A shard's journal and the task that writes it to the database (`behind`).
pub(super) struct Journaled {
    pub journal: journal::Journal,
    /// What an earlier process left in the journal, written first.
    replay: Vec<journal::Record>,
    writer: String,
    to_behind: mpsc::Sender<Apply>,
    pub progress: Arc<Progress>,
}

impl Journaled {
    /// `None` (batches then wait for the database) when the journal cannot be opened.
    pub fn start(
        db: &DatabaseConnection,
        durability: Durability,
        dir: &Path,
        shard: usize,
        compactor: Compactor,
    ) -> Option<Self> {
        let opened = journal::identity(dir).and_then(|id| Ok((id, journal::Journal::open(dir, shard)?)));
        let (id, (journal, replay)) = match opened {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = ?e, "the tracking journal cannot be used; batches wait for the database");
                return None;
            }
        };
        let writer = format!("{id}/{shard}");
        let fast = postgres::Fast::open(db, durability, Some(writer.clone()))?;
        let progress = Arc::new(Progress::new(journal.last()));
        let (to_behind, rx) = mpsc::channel(16);
        let task = Behind {
            db: db.clone(),
            fast,
            writer: writer.clone(),
            rx,
            progress: progress.clone(),
            compactor,
        };
        tokio::spawn(task.run());
        Some(Self { journal, replay, writer, to_behind, progress })
    }

    /// Numbers after what the database has, and hands over what an earlier process left unwritten.
    pub async fn resume(&mut self, db: &DatabaseConnection) {
        let mut pause = Pause::default();
        let mark = loop {
            match postgres::mark(db, &self.writer).await {
                Ok(m) => break m,
                Err(e) => {
                    tracing::warn!(error = ?e, "reading the tracking journal's mark failed; trying again");
                    pause.wait().await;
                }
            }
        };
        self.journal.continue_after(mark);
        let records: Vec<_> = std::mem::take(&mut self.replay).into_iter().filter(|r| r.seq > mark).collect();
        if !records.is_empty() {
            tracing::info!(batches = records.len(), "writing the batches the tracking journal holds");
        }
        let upto = self.journal.last();
        self.progress.journaled.fetch_max(upto, Ordering::AcqRel);
        let _ = self.to_behind.send(Apply { records, upto }).await;
    }

    /// Appends a group of metric batches and answers them; the database gets them behind (`behind`).
    pub async fn take(&mut self, group: Vec<Job>) {
        if self.journal.full() && self.progress.settled().await {
            if let Err(e) = self.journal.trim(*self.progress.applied.borrow()) {
                tracing::warn!(error = ?e, "emptying the tracking journal failed");
            }
        }
        let last = match self.journal.append(group.iter().map(|j| &j.batch)) {
            Ok(last) => last,
            Err(e) => {
                tracing::error!(error = ?e, "appending to the tracking journal failed; its batches are refused");
                for job in group {
                    let refused = "the server cannot write its tracking journal (see its log); try again";
                    let _ = job.done.send(Err(Error::StoreUnavailable(refused.into())));
                }
                return;
            }
        };
        self.progress.journaled.store(last, Ordering::Release);
        let first = last + 1 - group.len() as u64;
        let mut records = Vec::with_capacity(group.len());
        for (i, Job { batch, done }) in group.into_iter().enumerate() {
            let _ = done.send(Ok(()));
            records.push(journal::Record { seq: first + i as u64, batch });
        }
        self.sync_if_due();
        let _ = self.to_behind.send(Apply { records, upto: last }).await;
    }

    /// Flushes the journal to the disk off the writer's task, at most every `journal::SYNC_EVERY`.
    pub fn sync_if_due(&mut self) {
        if let Some(file) = self.journal.due_sync() {
            tokio::task::spawn_blocking(move || {
                if let Err(e) = file.sync_data() {
                    tracing::warn!(error = %e, "flushing the tracking journal failed");
                }
            });
        }
    }
}

/// The wait before trying the database again: 50 ms, doubling up to 5 s.
struct Pause(Duration);

impl Default for Pause {
    fn default() -> Self {
        Self(Duration::from_millis(50))
    }
}

impl Pause {
    async fn wait(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(Duration::from_secs(5));
    }
}

fn count(a: &Apply) -> usize {
    a.records.iter().map(|r| r.batch.metrics.len()).sum()
}

/// Whether writing may succeed if tried again: the connection, not the statement, failed (PostgreSQL's error
/// classes 08 connection, 40 rollback, 53 resources, 57 operator intervention, 58 system).
pub(super) fn transient(e: &Error) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match e {
        Error::Db(DbErr::Conn(_) | DbErr::ConnectionAcquire(_)) => true,
        Error::Db(DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s))) => {
            match s {
                Sqlx::Database(d) => d
                    .code()
                    .is_some_and(|c| ["08", "40", "53", "57", "58"].iter().any(|class| c.starts_with(class))),
                Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::Protocol(_) | Sqlx::Tls(_) => {
                    true
                }
                _ => false,
            }
        }
        _ => false,
    }
}
