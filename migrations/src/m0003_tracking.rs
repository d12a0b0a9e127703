//! Tracking: params, tags, metrics (chunked points + a per-key summary), MLflow's soft delete of runs and
//! experiments (projects), and the datasets a run logged as inputs.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Runs {
    Table,
    Id,
    ProjectId,
    CreatedAt,
    DeletedAt,
    Inputs,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    DeletedAt,
}

#[derive(DeriveIden)]
enum RunParams {
    Table,
    RunId,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum RunTags {
    Table,
    RunId,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum MetricChunks {
    Table,
    Id,
    RunId,
    Key,
    N,
    FirstStep,
    LastStep,
    Data,
}

#[derive(DeriveIden)]
enum LatestMetrics {
    Table,
    RunId,
    Key,
    Step,
    Ts,
    Value,
    MinValue,
    MaxValue,
    Count,
    Pending,
}

fn run_fk(table: impl IntoIden + 'static, col: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Runs::Table, Runs::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Runs::Table)
                .add_column(ColumnDef::new(Runs::DeletedAt).timestamp_with_time_zone().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Runs::Table)
                .add_column(ColumnDef::new(Runs::Inputs).json().null())
                .to_owned(),
        )
        .await?;
        // The runs table lists a project's live (not MLflow-deleted) runs newest first: one index walk.
        m.create_index(
            Index::create()
                .name("runs_project_live_created")
                .table(Runs::Table)
                .col(Runs::ProjectId)
                .col(Runs::DeletedAt)
                .col(Runs::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Projects::Table)
                .add_column(ColumnDef::new(Projects::DeletedAt).timestamp_with_time_zone().null())
                .to_owned(),
        )
        .await?;
        for (table, run_id, key, value) in [
            (
                RunParams::Table.into_iden(),
                RunParams::RunId.into_iden(),
                RunParams::Key.into_iden(),
                RunParams::Value.into_iden(),
            ),
            (
                RunTags::Table.into_iden(),
                RunTags::RunId.into_iden(),
                RunTags::Key.into_iden(),
                RunTags::Value.into_iden(),
            ),
        ] {
            m.create_table(
                Table::create()
                    .table(table.clone())
                    .col(ColumnDef::new(run_id.clone()).uuid().not_null())
                    .col(ColumnDef::new(key.clone()).string_len(250).not_null())
                    .col(ColumnDef::new(value).text().not_null())
                    .primary_key(Index::create().col(run_id.clone()).col(key))
                    .foreign_key(&mut run_fk(table, run_id))
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(MetricChunks::Table)
                .col(ColumnDef::new(MetricChunks::Id).big_integer().not_null().auto_increment().primary_key())
                .col(ColumnDef::new(MetricChunks::RunId).uuid().not_null())
                .col(ColumnDef::new(MetricChunks::Key).string_len(250).not_null())
                .col(ColumnDef::new(MetricChunks::N).integer().not_null())
                .col(ColumnDef::new(MetricChunks::FirstStep).big_integer().not_null())
                .col(ColumnDef::new(MetricChunks::LastStep).big_integer().not_null())
                .col(ColumnDef::new(MetricChunks::Data).blob().not_null())
                .foreign_key(&mut run_fk(MetricChunks::Table, MetricChunks::RunId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("metric_chunks_run_key")
                .table(MetricChunks::Table)
                .col(MetricChunks::RunId)
                .col(MetricChunks::Key)
                .col(MetricChunks::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LatestMetrics::Table)
                .col(ColumnDef::new(LatestMetrics::RunId).uuid().not_null())
                .col(ColumnDef::new(LatestMetrics::Key).string_len(250).not_null())
                .col(ColumnDef::new(LatestMetrics::Step).big_integer().not_null())
                .col(ColumnDef::new(LatestMetrics::Ts).big_integer().not_null())
                // NULL stands for NaN (SQLite cannot store NaN).
                .col(ColumnDef::new(LatestMetrics::Value).double().null())
                .col(ColumnDef::new(LatestMetrics::MinValue).double().null())
                .col(ColumnDef::new(LatestMetrics::MaxValue).double().null())
                .col(ColumnDef::new(LatestMetrics::Count).big_integer().not_null())
                .col(ColumnDef::new(LatestMetrics::Pending).integer().not_null())
                .primary_key(Index::create().col(LatestMetrics::RunId).col(LatestMetrics::Key))
                .foreign_key(&mut run_fk(LatestMetrics::Table, LatestMetrics::RunId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("latest_metrics_key_value")
                .table(LatestMetrics::Table)
                .col(LatestMetrics::Key)
                .col(LatestMetrics::Value)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["latest_metrics", "metric_chunks", "run_tags", "run_params"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned()).await?;
        }
        m.drop_index(Index::drop().name("runs_project_live_created").table(Runs::Table).to_owned()).await?;
        m.alter_table(Table::alter().table(Projects::Table).drop_column(Projects::DeletedAt).to_owned())
            .await?;
        m.alter_table(Table::alter().table(Runs::Table).drop_column(Runs::Inputs).to_owned()).await?;
        m.alter_table(Table::alter().table(Runs::Table).drop_column(Runs::DeletedAt).to_owned()).await
    }
}
