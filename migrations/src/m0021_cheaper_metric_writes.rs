//! Every logged batch updates its keys' `latest_metrics` rows and adds a chunk per key; two things there cost
//! more than the writes themselves (PostgreSQL, 10 keys a batch: 0.34 ms a batch before, 0.22 ms after, on the
//! 2-core machine the ingest bench runs on):
//!
//! - The index on `(key, value)` changed with every value, so no update of a row could be a heap-only (HOT)
//!   update: each wrote a new entry into both of the table's indexes. Metric filters need the runs that have a
//!   key, which `(key, run_id)` gives as well, and it never changes: updates are HOT again (PostgreSQL also
//!   leaves room for them in each page: fillfactor 70).
//! - PostgreSQL checked `metric_chunks.run_id` against `runs` for every chunk (a locking lookup per row). Its
//!   foreign key gives way to a trigger that deletes a run's chunks with the run, as the cascade did. A chunk
//!   still never outlives its run: every statement that adds chunks also writes the same keys' `latest_metrics`
//!   rows, whose foreign key is kept, and a deleted run's rows are locked by the delete until it commits, so a
//!   batch racing a delete fails whole. SQLite keeps its foreign key (there it costs a lookup in a local file).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LatestMetrics {
    Table,
    Key,
    Value,
    RunId,
}

const OLD_INDEX: &str = "latest_metrics_key_value";
const NEW_INDEX: &str = "latest_metrics_key_run";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name(OLD_INDEX).table(LatestMetrics::Table).to_owned()).await?;
        m.create_index(
            Index::create()
                .name(NEW_INDEX)
                .table(LatestMetrics::Table)
                .col(LatestMetrics::Key)
                .col(LatestMetrics::RunId)
                .to_owned(),
        )
        .await?;
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        m.get_connection()
            .execute_unprepared(
                "ALTER TABLE latest_metrics SET (fillfactor = 70);
                 DO $$ DECLARE c text; BEGIN
                   FOR c IN SELECT conname FROM pg_constraint
                            WHERE conrelid = 'metric_chunks'::regclass AND contype = 'f'
                              AND confrelid = 'runs'::regclass LOOP
                     EXECUTE format('ALTER TABLE metric_chunks DROP CONSTRAINT %I', c);
                   END LOOP;
                 END $$;
                 CREATE OR REPLACE FUNCTION myelin_drop_run_chunks() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                   DELETE FROM metric_chunks WHERE run_id = OLD.id;
                   RETURN OLD;
                 END $$;
                 CREATE TRIGGER runs_drop_metric_chunks AFTER DELETE ON runs
                   FOR EACH ROW EXECUTE FUNCTION myelin_drop_run_chunks();",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "DROP TRIGGER IF EXISTS runs_drop_metric_chunks ON runs;
                     DROP FUNCTION IF EXISTS myelin_drop_run_chunks();
                     DELETE FROM metric_chunks c WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = c.run_id);
                     ALTER TABLE metric_chunks ADD FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE;
                     ALTER TABLE latest_metrics RESET (fillfactor);",
                )
                .await?;
        }
        m.drop_index(Index::drop().name(NEW_INDEX).table(LatestMetrics::Table).to_owned()).await?;
        m.create_index(
            Index::create()
                .name(OLD_INDEX)
                .table(LatestMetrics::Table)
                .col(LatestMetrics::Key)
                .col(LatestMetrics::Value)
                .to_owned(),
        )
        .await
    }
}
