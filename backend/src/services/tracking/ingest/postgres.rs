//! PostgreSQL's fast path for the writer: a group's points in one statement over a connection of the
//! writer's own — the chunks inserted by a data-modifying `WITH`, the latest values upserted by the statement
//! itself, one statement being its own transaction. Through sea-orm a group is four round trips (BEGIN, the
//! chunks, the upsert, COMMIT), each 150–450 µs on a 2-core machine; here it is one. The rows come as arrays
//! (`unnest`), so the statement's text is the same for any group: prepared and planned once per connection,
//! where a `VALUES` list of a different length each time was planned afresh.
//!
//! It takes what SQLite's fast path takes (metric points in chunks too short for a summary); params, tags and
//! long chunks go through sea-orm. A failed statement drops the connection (a restarted server, a broken
//! socket): the next group takes a fresh one from the pool.
//!
//! Its commits wait for the disk only with `--metrics-durability disk`. By default (`process`) they do not
//! (`synchronous_commit = off`: ~0.15 ms of a batch's 0.34 ms here), and the statement runs behind the
//! batches' answers (`behind`): a batch is answered once in the server's journal (`journal`), where it survives
//! Myelin's crash or restart, as every write does on SQLite with `synchronous = NORMAL`; PostgreSQL's or the
//! machine's crash loses at most its last ~0.6 s of metrics (3 × `wal_writer_delay`), never a part of a batch.
//! The statement then also moves the journal's mark, so that a batch is written once.

use sea_orm::sqlx::{pool::PoolConnection, PgPool, Postgres, Row};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use uuid::Uuid;

use super::super::{chunks, latest, ByKey, MetricKey};
use crate::error::{Error, Result};

pub(super) struct Fast {
    pool: PgPool,
    conn: Option<PoolConnection<Postgres>>,
    /// The statement (built once).
    sql: String,
    /// The journal's writer whose mark the statement moves (`journal`), when batches come through one.
    writer: Option<String>,
}

impl Fast {
    /// `None` unless the server's database is PostgreSQL.
    pub(super) fn open(
        db: &DatabaseConnection,
        durability: super::Durability,
        writer: Option<String>,
    ) -> Option<Self> {
        if db.get_database_backend() != DbBackend::Postgres {
            return None;
        }
        let pool = match durability {
            super::Durability::Disk => db.get_postgres_connection_pool().clone(),
            super::Durability::Process => unsynced(db),
        };
        // With a journal, the same statement moves the writer's mark: the points and the mark commit together.
        let mark = match writer {
            Some(_) => format!(", mark AS ({})", mark_sql("$15", "$16")),
            None => String::new(),
        };
        let sql = format!(
            "WITH chunks AS (INSERT INTO metric_chunks (run_id, key, n, first_step, last_step, data) \
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::int4[], $4::int8[], $5::int8[], $6::bytea[])){mark} {}",
            latest::upsert_from(
                "SELECT r, k, s, t, v, mn, mx, c, 1 FROM unnest($7::uuid[], $8::text[], $9::int8[], $10::int8[], \
                 $11::float8[], $12::float8[], $13::float8[], $14::int8[]) AS u(r, k, s, t, v, mn, mx, c)"
            )
        );
        Some(Self { pool, conn: None, sql, writer })
    }

    /// Writes the points in one statement, and with a journal moves its writer's mark to `seq`; returns the
    /// keys due for compaction.
    pub(super) async fn write(&mut self, by_key: &ByKey<'_>, seq: u64) -> Result<Vec<(Uuid, MetricKey)>> {
        let n = by_key.len();
        let (mut runs, mut keys, mut counts) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut firsts, mut lasts, mut data) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        for ((run, key), pts) in by_key {
            let row = chunks::row(*run, key, pts);
            runs.push(*run);
            keys.push(key.as_str());
            counts.push(row.n.unwrap());
            firsts.push(row.first_step.unwrap());
            lasts.push(row.last_step.unwrap());
            data.push(row.data.unwrap());
        }
        let latest = latest::rows(by_key);
        let q = sea_orm::sqlx::query(&self.sql)
            .bind(runs)
            .bind(keys)
            .bind(counts)
            .bind(firsts)
            .bind(lasts)
            .bind(data)
            .bind(latest.iter().map(|r| r.run).collect::<Vec<_>>())
            .bind(latest.iter().map(|r| r.key).collect::<Vec<_>>())
            .bind(latest.iter().map(|r| r.step).collect::<Vec<_>>())
            .bind(latest.iter().map(|r| r.ts).collect::<Vec<_>>())
            .bind(latest.iter().map(|r| r.value).collect::<Vec<_>>())
            .bind(latest.iter().map(|r| r.min).collect::<Vec<_>>())
            .bind(latest.iter().map(|r| r.max).collect::<Vec<_>>())
            .bind(latest.iter().map(|r| r.count).collect::<Vec<_>>());
        let q = match &self.writer {
            Some(w) => q.bind(w.as_str()).bind(seq as i64),
            None => q,
        };
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self.conn.insert(self.pool.acquire().await.map_err(db_error)?),
        };
        let rows = match q.fetch_all(&mut **conn).await {
            Ok(rows) => rows,
            Err(e) => {
                self.conn = None;
                return Err(db_error(e));
            }
        };
        let mut due = Vec::new();
        for row in rows {
            let run: Uuid = row.try_get("run_id").map_err(db_error)?;
            let key: String = row.try_get("key").map_err(db_error)?;
            let pending: i32 = row.try_get("pending").map_err(db_error)?;
            due.extend(latest::due(run, &key, pending.into())?);
        }
        Ok(due)
    }
}

/// The connection merges go over (`super::Compactor`): one of its own, whose commits do not wait for the WAL
/// to reach the disk (`synchronous_commit = off`), which was half of a merge's time. That loses nothing: a merge
/// only rewrites chunks already committed, all in one transaction, so one lost in a crash never happened — the
/// chunks it would have merged are still there, and merged the next time. With `--metrics-durability disk` a
/// batch's own commit waits for the disk, and with it for every merge before it (the WAL is written in order).
pub(super) fn merge_connection(db: &DatabaseConnection) -> DatabaseConnection {
    sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(unsynced(db))
}

/// A pool of one connection to `db` whose commits do not wait for the WAL to reach the disk: one lost in a
/// crash of PostgreSQL or the machine is lost whole (never half), and every commit after it that does wait
/// (any other connection's) also makes it durable, the WAL being written in order.
fn unsynced(db: &DatabaseConnection) -> PgPool {
    let options = (*db.get_postgres_connection_pool().connect_options())
        .clone()
        .options([("synchronous_commit", "off")]);
    sea_orm::sqlx::postgres::PgPoolOptions::new().max_connections(1).connect_lazy_with(options)
}

/// Moves a journal writer's mark to a sequence number (never back), with the two given placeholders.
pub(super) fn mark_sql(writer: &str, seq: &str) -> String {
    format!(
        "INSERT INTO tracking_journal_marks AS m (writer, seq) VALUES ({writer}, {seq}) \
         ON CONFLICT (writer) DO UPDATE SET seq = GREATEST(m.seq, excluded.seq)"
    )
}

/// The last sequence number of `writer`'s journal the database has (0: none yet).
pub(super) async fn mark(db: &DatabaseConnection, writer: &str) -> Result<u64> {
    let row = sea_orm::sqlx::query("SELECT seq FROM tracking_journal_marks WHERE writer = $1")
        .bind(writer)
        .fetch_optional(db.get_postgres_connection_pool())
        .await
        .map_err(db_error)?;
    Ok(row.map(|r| r.get::<i64, _>(0)).unwrap_or(0).max(0) as u64)
}

/// Moves `writer`'s mark alone (after a batch the database refused, so that it is not written again).
pub(super) async fn set_mark<C: ConnectionTrait>(db: &C, writer: &str, seq: u64) -> Result<()> {
    let sql = mark_sql("$1", "$2");
    db.execute(sea_orm::Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [writer.into(), (seq as i64).into()],
    ))
    .await?;
    Ok(())
}

/// Keeps the database's own error, so that the writer can tell a refusal from a lost connection
/// (`behind::transient`).
fn db_error(e: sea_orm::sqlx::Error) -> Error {
    Error::Db(sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)))
}
