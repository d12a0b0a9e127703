//! Indexes for a project's overview at 10,000 runs: counts by status and the queue length read the index
//! alone, and "this project's run ids" (the metric subqueries) never touch the wide run rows.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Runs {
    Table,
    ProjectId,
    DeletedAt,
    Status,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("runs_project_live_status")
                .table(Runs::Table)
                .col(Runs::ProjectId)
                .col(Runs::DeletedAt)
                .col(Runs::Status)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("runs_project_live_ids")
                .table(Runs::Table)
                .col(Runs::ProjectId)
                .col(Runs::DeletedAt)
                .col(Runs::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("runs_project_live_ids").table(Runs::Table).to_owned()).await?;
        m.drop_index(Index::drop().name("runs_project_live_status").table(Runs::Table).to_owned()).await
    }
}
