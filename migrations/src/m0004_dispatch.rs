//! Dispatch to Kubernetes: which executor a run went to, the node it landed on, the image digest the node
//! resolved, and the latest "why is it pending / why did it die" diagnosis.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Runs {
    Table,
    Executor,
    Node,
    ImageId,
    Diagnosis,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for col in [
            ColumnDef::new(Runs::Executor).string_len(16).not_null().default("local").to_owned(),
            ColumnDef::new(Runs::Node).string_len(253).null().to_owned(),
            ColumnDef::new(Runs::ImageId).string_len(512).null().to_owned(),
            ColumnDef::new(Runs::Diagnosis).json().null().to_owned(),
        ] {
            m.alter_table(Table::alter().table(Runs::Table).add_column(col).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [Runs::Diagnosis, Runs::ImageId, Runs::Node, Runs::Executor] {
            m.alter_table(Table::alter().table(Runs::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}
