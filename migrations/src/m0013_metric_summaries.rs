//! Per-chunk summaries of metric points (each block of 32 points' minimum and maximum, and the chunk's first
//! and last point): charts of long series read these, a sixteenth of the bytes. They live in a table of their own
//! because a column stored after a chunk's 24 KB blob is reached through the blob's overflow pages on SQLite.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MetricSummaries {
    Table,
    ChunkId,
    RunId,
    Key,
    N,
    FirstStep,
    LastStep,
    Data,
}

#[derive(DeriveIden)]
enum MetricChunks {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(MetricSummaries::Table)
                .col(ColumnDef::new(MetricSummaries::ChunkId).big_integer().not_null().primary_key())
                .col(ColumnDef::new(MetricSummaries::RunId).uuid().not_null())
                .col(ColumnDef::new(MetricSummaries::Key).string_len(250).not_null())
                .col(ColumnDef::new(MetricSummaries::N).integer().not_null())
                .col(ColumnDef::new(MetricSummaries::FirstStep).big_integer().not_null())
                .col(ColumnDef::new(MetricSummaries::LastStep).big_integer().not_null())
                .col(ColumnDef::new(MetricSummaries::Data).blob().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(MetricSummaries::Table, MetricSummaries::ChunkId)
                        .to(MetricChunks::Table, MetricChunks::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("metric_summaries_run_key")
                .table(MetricSummaries::Table)
                .col(MetricSummaries::RunId)
                .col(MetricSummaries::Key)
                .col(MetricSummaries::ChunkId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(MetricSummaries::Table).to_owned()).await
    }
}
