//! The audit log: who did what to which thing, when, from where. Append-only; site admins read it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    At,
    ActorId,
    Actor,
    Action,
    Target,
    Detail,
    Ip,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AuditEvents::Table)
                .col(ColumnDef::new(AuditEvents::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(AuditEvents::At).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(AuditEvents::ActorId).uuid().null())
                .col(ColumnDef::new(AuditEvents::Actor).string_len(64).not_null())
                .col(ColumnDef::new(AuditEvents::Action).string_len(64).not_null())
                .col(ColumnDef::new(AuditEvents::Target).string_len(300).not_null())
                .col(ColumnDef::new(AuditEvents::Detail).text().not_null())
                .col(ColumnDef::new(AuditEvents::Ip).string_len(64).null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("audit_events_at").table(AuditEvents::Table).col(AuditEvents::At).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(AuditEvents::Table).to_owned()).await
    }
}
