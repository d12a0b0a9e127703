//! How far each tracking journal has reached the database (`backend::services::tracking::ingest::journal`):
//! a journal's writer and the last sequence number the database holds, moved by the statement that writes the
//! points themselves.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TrackingJournalMarks {
    Table,
    Writer,
    Seq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(TrackingJournalMarks::Table)
                .col(ColumnDef::new(TrackingJournalMarks::Writer).string_len(100).not_null().primary_key())
                .col(ColumnDef::new(TrackingJournalMarks::Seq).big_integer().not_null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(TrackingJournalMarks::Table).to_owned()).await
    }
}
