//! A summary beside each large chunk of metric points: per slice of the chunk its lowest and highest point, so a
//! chart of many runs over their whole range reads a few dozen points a chunk instead of a thousand. Chunks
//! stored before it get theirs in the background (`backend::services::tracking::chunks::summarise_stored`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MetricChunks {
    Table,
    Summary,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(MetricChunks::Table)
                .add_column(ColumnDef::new(MetricChunks::Summary).blob().null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(MetricChunks::Table).drop_column(MetricChunks::Summary).to_owned())
            .await
    }
}
