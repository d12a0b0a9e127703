//! Experiment tags (MLflow's `set-experiment-tag`): a project's key/value labels, as its runs have theirs.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProjectTags {
    Table,
    ProjectId,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ProjectTags::Table)
                .col(ColumnDef::new(ProjectTags::ProjectId).uuid().not_null())
                .col(ColumnDef::new(ProjectTags::Key).string_len(250).not_null())
                .col(ColumnDef::new(ProjectTags::Value).text().not_null())
                .primary_key(Index::create().col(ProjectTags::ProjectId).col(ProjectTags::Key))
                .foreign_key(
                    ForeignKey::create()
                        .from(ProjectTags::Table, ProjectTags::ProjectId)
                        .to(Projects::Table, Projects::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ProjectTags::Table).to_owned()).await
    }
}
