//! Per project: the pod policy an operator set for it (null: the server's), and what its runs keep in the
//! artifact store (bytes, files), counted as they are written and deleted, for its quota.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Projects {
    Table,
    PodPolicy,
    ArtifactBytes,
    ArtifactFiles,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in [
            ColumnDef::new(Projects::PodPolicy).string_len(16).null().to_owned(),
            ColumnDef::new(Projects::ArtifactBytes).big_integer().not_null().default(0).to_owned(),
            ColumnDef::new(Projects::ArtifactFiles).big_integer().not_null().default(0).to_owned(),
        ] {
            let mut column = column;
            m.alter_table(Table::alter().table(Projects::Table).add_column(&mut column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [Projects::ArtifactFiles, Projects::ArtifactBytes, Projects::PodPolicy] {
            m.alter_table(Table::alter().table(Projects::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
