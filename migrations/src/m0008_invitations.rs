//! Invitations: single-use, expiring sign-up links a site admin sends while sign-up is closed. Only the
//! token's SHA-256 is stored.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    TokenHash,
    Note,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    UsedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Invitations::Table)
                .col(ColumnDef::new(Invitations::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Invitations::TokenHash).string_len(64).not_null().unique_key())
                .col(ColumnDef::new(Invitations::Note).string_len(200).not_null().default(""))
                .col(ColumnDef::new(Invitations::CreatedBy).uuid().not_null())
                .col(ColumnDef::new(Invitations::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(Invitations::ExpiresAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(Invitations::UsedAt).timestamp_with_time_zone().null())
                .col(ColumnDef::new(Invitations::UsedBy).uuid().null())
                .foreign_key(
                    ForeignKey::create()
                        .from(Invitations::Table, Invitations::CreatedBy)
                        .to(Alias::new("users"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Invitations::Table).to_owned()).await
    }
}
