//! SQLite's fast path for the writer: a group's points written over a connection of the writer's own
//! (rusqlite, on the same SQLite library sqlx links) in one synchronous call. Through sqlx every statement —
//! BEGIN, the chunks, the latest values, COMMIT — goes to a connection's worker thread and back, 50–120 µs
//! each on a 2-core machine: most of a batch's time. Here the four take ~40 µs together.
//!
//! It takes only what it can write alone: metric points in chunks too short for a summary. Params, tags,
//! long chunks, and any group that finds SQLite's write lock held elsewhere go through sea-orm as before (the
//! connection never waits for the lock, so the writer's thread never blocks on another writer).

use std::path::Path;

use rusqlite::{params_from_iter, types::Value, Connection, OpenFlags, TransactionBehavior};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use uuid::Uuid;

use super::super::{chunks, latest, ByKey, MetricKey};
use crate::error::{Error, Result};

pub(super) struct Fast {
    conn: Connection,
    /// Tells the checkpointer to stop when the writer does.
    _checkpoints: Checkpointer,
}

impl Fast {
    /// A connection to the server's SQLite file (`None` for PostgreSQL or an in-memory database).
    pub(super) fn open(db: &DatabaseConnection, durability: super::Durability) -> Option<Self> {
        if db.get_database_backend() != DbBackend::Sqlite {
            return None;
        }
        let opts = db.get_sqlite_connection_pool().connect_options();
        let path: &Path = opts.get_filename();
        if path.as_os_str().is_empty() || path.to_str().is_some_and(|p| p.contains(":memory:")) {
            return None;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).ok()?;
        // The same settings as the pool's connections (`db::connect`), but no busy wait (see above), and no
        // checkpoint after its commits: copying the log back into the database took milliseconds inside a
        // batch's commit (the p99). A thread of its own does it.
        let synchronous = match durability {
            super::Durability::Process => "NORMAL",
            super::Durability::Disk => "FULL",
        };
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 0; \
             PRAGMA wal_autocheckpoint = 0;"
        ))
        .ok()?;
        Some(Self { conn, _checkpoints: Checkpointer::start(path)? })
    }

    /// A write transaction, or `None` when another connection holds SQLite's write lock.
    fn begin(&mut self) -> Result<Option<rusqlite::Transaction<'_>>> {
        match self.conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(t) => Ok(Some(t)),
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DatabaseBusy => {
                Ok(None)
            }
            Err(e) => Err(db_error(e)),
        }
    }

    /// Writes the points in one transaction; `Ok(None)` when another connection holds the write lock
    /// (nothing was written).
    pub(super) fn write(&mut self, by_key: &ByKey<'_>) -> Result<Option<Vec<(Uuid, MetricKey)>>> {
        let Some(txn) = self.begin()? else { return Ok(None) };
        let mut values = Vec::with_capacity(by_key.len() * 6);
        for ((run, key), pts) in by_key {
            // The chunk the sea-orm path would insert, moved into this statement's values.
            let row = chunks::row(*run, key, pts);
            values.extend([
                Value::Blob(run.as_bytes().to_vec()),
                Value::Text(row.key.unwrap()),
                Value::Integer(row.n.unwrap().into()),
                Value::Integer(row.first_step.unwrap()),
                Value::Integer(row.last_step.unwrap()),
                Value::Blob(row.data.unwrap()),
            ]);
        }
        let places: Vec<&str> = vec!["(?, ?, ?, ?, ?, ?)"; by_key.len()];
        let insert = format!(
            "INSERT INTO metric_chunks (run_id, key, n, first_step, last_step, data) VALUES {}",
            places.join(", ")
        );
        txn.prepare_cached(&insert).map_err(db_error)?.execute(params_from_iter(values)).map_err(db_error)?;
        let rows = latest::rows(by_key);
        let mut values = Vec::with_capacity(rows.len() * 8);
        for r in &rows {
            let real = |v: Option<f64>| v.map_or(Value::Null, Value::Real);
            values.extend([
                Value::Blob(r.run.as_bytes().to_vec()),
                Value::Text(r.key.to_string()),
                Value::Integer(r.step),
                Value::Integer(r.ts),
                real(r.value),
                real(r.min),
                real(r.max),
                Value::Integer(r.count),
            ]);
        }
        let mut due = Vec::new();
        {
            let mut upsert = txn.prepare_cached(&latest::sql(rows.len())).map_err(db_error)?;
            let mut out = upsert.query(params_from_iter(values)).map_err(db_error)?;
            while let Some(row) = out.next().map_err(db_error)? {
                let run: Vec<u8> = row.get(0).map_err(db_error)?;
                let run = Uuid::from_slice(&run).map_err(|e| Error::Internal(e.to_string()))?;
                let key: String = row.get(1).map_err(db_error)?;
                due.extend(latest::due(run, &key, row.get(2).map_err(db_error)?)?);
            }
        }
        txn.commit().map_err(db_error)?;
        Ok(Some(due))
    }

    /// `chunks::compact` on this connection: claims the key's pending count, merges its small chunks into
    /// chunks of `CHUNK` points (with summaries when long enough; the merged-away chunks' summaries go with
    /// them). `Ok(None)` when the write lock is held elsewhere.
    pub(super) fn compact(&mut self, run: Uuid, key: &MetricKey) -> Result<Option<()>> {
        let Some(txn) = self.begin()? else { return Ok(None) };
        let id = run.as_bytes().to_vec();
        let claimed = txn
            .prepare_cached(
                "UPDATE latest_metrics SET pending = 0 WHERE run_id = ?1 AND key = ?2 AND pending >= ?3",
            )
            .and_then(|mut q| q.execute(rusqlite::params![id, key.as_str(), chunks::COMPACT_AT]))
            .map_err(db_error)?;
        if claimed == 0 {
            return Ok(Some(()));
        }
        let small = "FROM metric_chunks WHERE run_id = ?1 AND key = ?2 AND n < ?3";
        let params = rusqlite::params![id, key.as_str(), chunks::CHUNK as i64];
        let mut data = Vec::new();
        {
            let mut q = txn.prepare_cached(&format!("SELECT data {small} ORDER BY id")).map_err(db_error)?;
            let mut rows = q.query(params).map_err(db_error)?;
            let mut count = 0;
            while let Some(row) = rows.next().map_err(db_error)? {
                data.extend_from_slice(row.get_ref(0).and_then(|v| Ok(v.as_blob()?)).map_err(db_error)?);
                count += 1;
            }
            if count < 2 {
                drop(rows);
                drop(q);
                txn.commit().map_err(db_error)?;
                return Ok(Some(()));
            }
        }
        txn.prepare_cached(&format!("DELETE {small}"))
            .and_then(|mut q| q.execute(params))
            .map_err(db_error)?;
        for merged in data.chunks(chunks::CHUNK * chunks::POINT) {
            let (mut first, mut last, mut n) = (i64::MAX, i64::MIN, 0i64);
            chunks::decode(merged, |step, _, _| (first, last, n) = (first.min(step), last.max(step), n + 1));
            txn.prepare_cached(
                "INSERT INTO metric_chunks (run_id, key, n, first_step, last_step, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut q| q.execute(rusqlite::params![id, key.as_str(), n, first, last, merged]))
            .map_err(db_error)?;
            if n >= chunks::SUMMARISE_AT as i64 {
                let chunk = txn.last_insert_rowid();
                let (first, last, summary) = chunks::summary_of(merged);
                txn.prepare_cached(
                    "INSERT INTO metric_summaries (chunk_id, run_id, key, n, first_step, last_step, data) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .and_then(|mut q| {
                    q.execute(rusqlite::params![chunk, id, key.as_str(), n, first, last, summary])
                })
                .map_err(db_error)?;
            }
        }
        txn.commit().map_err(db_error)?;
        Ok(Some(()))
    }
}

/// Checkpoints SQLite's write-ahead log every `CHECKPOINT_EVERY` on a connection and thread of its own
/// (`PASSIVE`: it never waits for or blocks a writer), while its handle lives.
struct Checkpointer(std::sync::Arc<std::sync::atomic::AtomicBool>);

const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

impl Checkpointer {
    fn start(path: &Path) -> Option<Self> {
        use std::sync::atomic::Ordering;
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).ok()?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("myelin-checkpoint".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(CHECKPOINT_EVERY);
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "checkpointing the database's log failed");
                    }
                }
            })
            .ok()?;
        Some(Self(stop))
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn db_error(e: rusqlite::Error) -> Error {
    Error::Internal(format!("writing metrics: {e}"))
}
