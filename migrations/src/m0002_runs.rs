//! Runs, their status timeline, run-scoped tokens, and a per-project concurrency limit.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    Concurrency,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    Id,
    ProjectId,
    Name,
    Kind,
    Status,
    StatusReason,
    StatusMessage,
    OriginalId,
    Content,
    Overlays,
    Params,
    Compiled,
    Image,
    MaxRetries,
    Retries,
    TimeoutSeconds,
    ExitCode,
    Pid,
    GitCommit,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    StartedAt,
    FinishedAt,
    MyelinVersion,
}

#[derive(DeriveIden)]
enum RunEvents {
    Table,
    Id,
    RunId,
    Status,
    At,
    Reason,
    Message,
}

#[derive(DeriveIden)]
enum RunTokens {
    Table,
    TokenHash,
    RunId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Projects::Table)
                .add_column(ColumnDef::new(Projects::Concurrency).integer().not_null().default(2))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Runs::Table)
                .col(ColumnDef::new(Runs::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Runs::ProjectId).uuid().not_null())
                .col(ColumnDef::new(Runs::Name).string_len(128).not_null())
                .col(ColumnDef::new(Runs::Kind).string_len(32).not_null())
                .col(ColumnDef::new(Runs::Status).string_len(32).not_null())
                .col(ColumnDef::new(Runs::StatusReason).string_len(64).null())
                .col(ColumnDef::new(Runs::StatusMessage).text().null())
                .col(ColumnDef::new(Runs::OriginalId).uuid().null())
                .col(ColumnDef::new(Runs::Content).text().not_null())
                .col(ColumnDef::new(Runs::Overlays).json().not_null())
                .col(ColumnDef::new(Runs::Params).json().not_null())
                .col(ColumnDef::new(Runs::Compiled).json().not_null())
                .col(ColumnDef::new(Runs::Image).string().null())
                .col(ColumnDef::new(Runs::MaxRetries).integer().not_null().default(0))
                .col(ColumnDef::new(Runs::Retries).integer().not_null().default(0))
                .col(ColumnDef::new(Runs::TimeoutSeconds).big_integer().null())
                .col(ColumnDef::new(Runs::ExitCode).integer().null())
                .col(ColumnDef::new(Runs::Pid).integer().null())
                .col(ColumnDef::new(Runs::GitCommit).string_len(64).null())
                .col(ColumnDef::new(Runs::CreatedBy).uuid().not_null())
                .col(ColumnDef::new(Runs::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(Runs::UpdatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(Runs::StartedAt).timestamp_with_time_zone().null())
                .col(ColumnDef::new(Runs::FinishedAt).timestamp_with_time_zone().null())
                .col(ColumnDef::new(Runs::MyelinVersion).string_len(32).not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(Runs::Table, Runs::ProjectId)
                        .to(Projects::Table, Projects::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Runs::Table, Runs::CreatedBy)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("runs_project_created")
                .table(Runs::Table)
                .col(Runs::ProjectId)
                .col(Runs::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("runs_status")
                .table(Runs::Table)
                .col(Runs::Status)
                .col(Runs::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RunEvents::Table)
                .col(ColumnDef::new(RunEvents::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(RunEvents::RunId).uuid().not_null())
                .col(ColumnDef::new(RunEvents::Status).string_len(32).not_null())
                .col(ColumnDef::new(RunEvents::At).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(RunEvents::Reason).string_len(64).null())
                .col(ColumnDef::new(RunEvents::Message).text().null())
                .foreign_key(
                    ForeignKey::create()
                        .from(RunEvents::Table, RunEvents::RunId)
                        .to(Runs::Table, Runs::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("run_events_run")
                .table(RunEvents::Table)
                .col(RunEvents::RunId)
                .col(RunEvents::At)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RunTokens::Table)
                .col(ColumnDef::new(RunTokens::TokenHash).string_len(64).not_null().primary_key())
                .col(ColumnDef::new(RunTokens::RunId).uuid().not_null())
                .col(ColumnDef::new(RunTokens::CreatedAt).timestamp_with_time_zone().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(RunTokens::Table, RunTokens::RunId)
                        .to(Runs::Table, Runs::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["run_tokens", "run_events", "runs"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned()).await?;
        }
        m.alter_table(Table::alter().table(Projects::Table).drop_column(Projects::Concurrency).to_owned())
            .await
    }
}
