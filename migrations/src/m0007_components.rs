//! Project components: polyaxonfile components saved from the editor, versioned by content hash (the same
//! text is the same version).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Components {
    Table,
    Id,
    ProjectId,
    Name,
    Version,
    Content,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Components::Table)
                .col(ColumnDef::new(Components::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Components::ProjectId).uuid().not_null())
                .col(ColumnDef::new(Components::Name).string_len(128).not_null())
                .col(ColumnDef::new(Components::Version).string_len(64).not_null())
                .col(ColumnDef::new(Components::Content).text().not_null())
                .col(ColumnDef::new(Components::CreatedBy).uuid().not_null())
                .col(ColumnDef::new(Components::CreatedAt).timestamp_with_time_zone().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(Components::Table, Components::ProjectId)
                        .to(Alias::new("projects"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("components_project_name_version")
                .table(Components::Table)
                .col(Components::ProjectId)
                .col(Components::Name)
                .col(Components::Version)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Components::Table).to_owned()).await
    }
}
