//! Cached runs: each run's cache key (looked up per project) and the cache record shown to users
//! (`{enabled, key, hit, original, explanation, inputs}`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Runs {
    Table,
    ProjectId,
    CacheKey,
    Cache,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            ColumnDef::new(Runs::CacheKey).string_len(64).null().to_owned(),
            ColumnDef::new(Runs::Cache).json().null().to_owned(),
        ] {
            m.alter_table(Table::alter().table(Runs::Table).add_column(col).to_owned()).await?;
        }
        m.create_index(
            Index::create()
                .name("runs_project_cache_key")
                .table(Runs::Table)
                .col(Runs::ProjectId)
                .col(Runs::CacheKey)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("runs_project_cache_key").table(Runs::Table).to_owned()).await?;
        for col in [Runs::Cache, Runs::CacheKey] {
            m.alter_table(Table::alter().table(Runs::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}
