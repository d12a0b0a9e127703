//! Pipelines: a DAG op or matrix child is a run of its own, linked to its pipeline run, with the step it
//! plays there (`{name, upstream, trigger, conditions, skip_on_upstream_skip, index}`, see `spec::pipeline`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Runs {
    Table,
    ProjectId,
    Name,
    Image,
    PipelineId,
    Step,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            ColumnDef::new(Runs::PipelineId).uuid().null().to_owned(),
            ColumnDef::new(Runs::Step).json().null().to_owned(),
        ] {
            m.alter_table(Table::alter().table(Runs::Table).add_column(col).to_owned()).await?;
        }
        m.create_index(
            Index::create().name("runs_pipeline").table(Runs::Table).col(Runs::PipelineId).to_owned(),
        )
        .await?;
        // Caching compares a run with the last one of the same name, and looks up an image's last digest.
        m.create_index(
            Index::create()
                .name("runs_project_name")
                .table(Runs::Table)
                .col(Runs::ProjectId)
                .col(Runs::Name)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("runs_project_image")
                .table(Runs::Table)
                .col(Runs::ProjectId)
                .col(Runs::Image)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in ["runs_project_image", "runs_project_name", "runs_pipeline"] {
            m.drop_index(Index::drop().name(name).table(Runs::Table).to_owned()).await?;
        }
        for col in [Runs::Step, Runs::PipelineId] {
            m.alter_table(Table::alter().table(Runs::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}
