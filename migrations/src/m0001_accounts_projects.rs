//! Users, API tokens, projects, members and site settings.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    PasswordHash,
    IsAdmin,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    Prefix,
    TokenHash,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    OwnerId,
    Name,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Members {
    Table,
    ProjectId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SiteSettings {
    Table,
    Key,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(ColumnDef::new(Users::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Users::Username).string_len(64).not_null().unique_key())
                .col(ColumnDef::new(Users::PasswordHash).string().not_null())
                .col(ColumnDef::new(Users::IsAdmin).boolean().not_null().default(false))
                .col(ColumnDef::new(Users::CreatedAt).timestamp_with_time_zone().not_null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ApiTokens::Table)
                .col(ColumnDef::new(ApiTokens::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(ApiTokens::UserId).uuid().not_null())
                .col(ColumnDef::new(ApiTokens::Name).string_len(100).not_null())
                .col(ColumnDef::new(ApiTokens::Prefix).string_len(16).not_null())
                .col(ColumnDef::new(ApiTokens::TokenHash).string_len(64).not_null().unique_key())
                .col(ColumnDef::new(ApiTokens::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(ApiTokens::LastUsedAt).timestamp_with_time_zone().null())
                .foreign_key(
                    ForeignKey::create()
                        .from(ApiTokens::Table, ApiTokens::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Projects::Table)
                .col(ColumnDef::new(Projects::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Projects::OwnerId).uuid().not_null())
                .col(ColumnDef::new(Projects::Name).string_len(64).not_null())
                .col(ColumnDef::new(Projects::Description).text().not_null().default(""))
                .col(ColumnDef::new(Projects::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(Projects::UpdatedAt).timestamp_with_time_zone().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(Projects::Table, Projects::OwnerId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("projects_owner_name")
                .table(Projects::Table)
                .col(Projects::OwnerId)
                .col(Projects::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Members::Table)
                .col(ColumnDef::new(Members::ProjectId).uuid().not_null())
                .col(ColumnDef::new(Members::UserId).uuid().not_null())
                .col(ColumnDef::new(Members::Role).string_len(16).not_null())
                .col(ColumnDef::new(Members::CreatedAt).timestamp_with_time_zone().not_null())
                .primary_key(Index::create().col(Members::ProjectId).col(Members::UserId))
                .foreign_key(
                    ForeignKey::create()
                        .from(Members::Table, Members::ProjectId)
                        .to(Projects::Table, Projects::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Members::Table, Members::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("members_user").table(Members::Table).col(Members::UserId).to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SiteSettings::Table)
                .col(ColumnDef::new(SiteSettings::Key).string_len(64).not_null().primary_key())
                .col(ColumnDef::new(SiteSettings::Value).text().not_null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["site_settings", "members", "projects", "api_tokens", "users"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned()).await?;
        }
        Ok(())
    }
}
