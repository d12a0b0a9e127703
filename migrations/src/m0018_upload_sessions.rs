//! Uploads in parts kept in the database (`services::uploads`): a restarted server resumes them where the store
//! last confirmed a part, with the digest so far, and aborts in the store the ones nobody finishes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UploadSessions {
    Table,
    Id,
    UserId,
    ProjectId,
    RunId,
    Path,
    Size,
    PartSize,
    Fingerprint,
    StoreId,
    Parts,
    NextPart,
    Digest,
    TouchedMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use UploadSessions as U;
        m.create_table(
            Table::create()
                .table(U::Table)
                .col(ColumnDef::new(U::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(U::UserId).uuid().not_null())
                .col(ColumnDef::new(U::ProjectId).uuid().not_null())
                .col(ColumnDef::new(U::RunId).uuid().not_null())
                .col(ColumnDef::new(U::Path).text().not_null())
                .col(ColumnDef::new(U::Size).big_integer().not_null())
                .col(ColumnDef::new(U::PartSize).big_integer().not_null())
                .col(ColumnDef::new(U::Fingerprint).text().not_null())
                .col(ColumnDef::new(U::StoreId).text().not_null())
                .col(ColumnDef::new(U::Parts).text().not_null())
                .col(ColumnDef::new(U::NextPart).integer().not_null())
                .col(ColumnDef::new(U::Digest).text().not_null())
                .col(ColumnDef::new(U::TouchedMs).big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("upload_sessions_run")
                .table(U::Table)
                .col(U::RunId)
                .col(U::UserId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("upload_sessions_project").table(U::Table).col(U::ProjectId).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(UploadSessions::Table).to_owned()).await
    }
}
