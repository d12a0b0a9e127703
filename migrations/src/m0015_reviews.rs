//! Team review of the registry: each project's policy (protected aliases, approvals needed), per-model
//! reviewers, promotion requests (a version to an alias) with their thread of approvals, rejections and
//! comments, and an append-only, hash-chained audit trail of all of it and of every alias move.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RegisteredModels {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ModelVersions {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RegistryPolicies {
    Table,
    ProjectId,
    ProtectedAliases,
    RequiredApprovals,
    AuditHead,
    AuditCount,
}

#[derive(DeriveIden)]
enum ModelReviewers {
    Table,
    ModelId,
    UserId,
}

#[derive(DeriveIden)]
enum PromotionRequests {
    Table,
    Id,
    ProjectId,
    ModelId,
    VersionId,
    Alias,
    Reason,
    State,
    Required,
    RequestedBy,
    CreatedMs,
    ClosedMs,
    ClosedBy,
}

#[derive(DeriveIden)]
enum PromotionEvents {
    Table,
    Id,
    RequestId,
    UserId,
    Kind,
    Body,
    CreatedMs,
}

#[derive(DeriveIden)]
enum RegistryAudit {
    Table,
    ProjectId,
    Seq,
    AtMs,
    ActorId,
    Actor,
    Action,
    ModelId,
    ModelName,
    Alias,
    Version,
    RequestId,
    Detail,
    PrevHash,
    Hash,
}

fn cascade(
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(RegistryPolicies::Table)
                .col(ColumnDef::new(RegistryPolicies::ProjectId).uuid().not_null().primary_key())
                .col(ColumnDef::new(RegistryPolicies::ProtectedAliases).text().not_null())
                .col(ColumnDef::new(RegistryPolicies::RequiredApprovals).integer().not_null())
                .col(ColumnDef::new(RegistryPolicies::AuditHead).string_len(64).not_null())
                .col(ColumnDef::new(RegistryPolicies::AuditCount).big_integer().not_null())
                .foreign_key(&mut cascade(
                    (RegistryPolicies::Table, RegistryPolicies::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ModelReviewers::Table)
                .col(ColumnDef::new(ModelReviewers::ModelId).uuid().not_null())
                .col(ColumnDef::new(ModelReviewers::UserId).uuid().not_null())
                .primary_key(Index::create().col(ModelReviewers::ModelId).col(ModelReviewers::UserId))
                .foreign_key(&mut cascade(
                    (ModelReviewers::Table, ModelReviewers::ModelId),
                    (RegisteredModels::Table, RegisteredModels::Id),
                ))
                .foreign_key(&mut cascade(
                    (ModelReviewers::Table, ModelReviewers::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PromotionRequests::Table)
                .col(ColumnDef::new(PromotionRequests::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(PromotionRequests::ProjectId).uuid().not_null())
                .col(ColumnDef::new(PromotionRequests::ModelId).uuid().not_null())
                .col(ColumnDef::new(PromotionRequests::VersionId).uuid().not_null())
                .col(ColumnDef::new(PromotionRequests::Alias).string_len(256).not_null())
                .col(ColumnDef::new(PromotionRequests::Reason).text().not_null())
                .col(ColumnDef::new(PromotionRequests::State).string_len(16).not_null())
                .col(ColumnDef::new(PromotionRequests::Required).integer().not_null())
                .col(ColumnDef::new(PromotionRequests::RequestedBy).uuid().not_null())
                .col(ColumnDef::new(PromotionRequests::CreatedMs).big_integer().not_null())
                .col(ColumnDef::new(PromotionRequests::ClosedMs).big_integer().null())
                .col(ColumnDef::new(PromotionRequests::ClosedBy).uuid().null())
                .foreign_key(&mut cascade(
                    (PromotionRequests::Table, PromotionRequests::ModelId),
                    (RegisteredModels::Table, RegisteredModels::Id),
                ))
                .foreign_key(&mut cascade(
                    (PromotionRequests::Table, PromotionRequests::VersionId),
                    (ModelVersions::Table, ModelVersions::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("promotion_requests_project_state")
                .table(PromotionRequests::Table)
                .col(PromotionRequests::ProjectId)
                .col(PromotionRequests::State)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("promotion_requests_model_alias")
                .table(PromotionRequests::Table)
                .col(PromotionRequests::ModelId)
                .col(PromotionRequests::Alias)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PromotionEvents::Table)
                .col(ColumnDef::new(PromotionEvents::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(PromotionEvents::RequestId).uuid().not_null())
                .col(ColumnDef::new(PromotionEvents::UserId).uuid().not_null())
                .col(ColumnDef::new(PromotionEvents::Kind).string_len(16).not_null())
                .col(ColumnDef::new(PromotionEvents::Body).text().not_null())
                .col(ColumnDef::new(PromotionEvents::CreatedMs).big_integer().not_null())
                .foreign_key(&mut cascade(
                    (PromotionEvents::Table, PromotionEvents::RequestId),
                    (PromotionRequests::Table, PromotionRequests::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("promotion_events_request")
                .table(PromotionEvents::Table)
                .col(PromotionEvents::RequestId)
                .to_owned(),
        )
        .await?;
        // The audit outlives the models it names (no key on them); a project's goes with the project.
        m.create_table(
            Table::create()
                .table(RegistryAudit::Table)
                .col(ColumnDef::new(RegistryAudit::ProjectId).uuid().not_null())
                .col(ColumnDef::new(RegistryAudit::Seq).big_integer().not_null())
                .col(ColumnDef::new(RegistryAudit::AtMs).big_integer().not_null())
                .col(ColumnDef::new(RegistryAudit::ActorId).uuid().null())
                .col(ColumnDef::new(RegistryAudit::Actor).string_len(64).not_null())
                .col(ColumnDef::new(RegistryAudit::Action).string_len(32).not_null())
                .col(ColumnDef::new(RegistryAudit::ModelId).uuid().not_null())
                .col(ColumnDef::new(RegistryAudit::ModelName).string_len(256).not_null())
                .col(ColumnDef::new(RegistryAudit::Alias).string_len(256).null())
                .col(ColumnDef::new(RegistryAudit::Version).integer().null())
                .col(ColumnDef::new(RegistryAudit::RequestId).uuid().null())
                .col(ColumnDef::new(RegistryAudit::Detail).text().not_null())
                .col(ColumnDef::new(RegistryAudit::PrevHash).string_len(64).not_null())
                .col(ColumnDef::new(RegistryAudit::Hash).string_len(64).not_null())
                .primary_key(Index::create().col(RegistryAudit::ProjectId).col(RegistryAudit::Seq))
                .foreign_key(&mut cascade(
                    (RegistryAudit::Table, RegistryAudit::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("registry_audit_model_alias")
                .table(RegistryAudit::Table)
                .col(RegistryAudit::ModelId)
                .col(RegistryAudit::Alias)
                .col(RegistryAudit::AtMs)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "registry_audit",
            "promotion_events",
            "promotion_requests",
            "model_reviewers",
            "registry_policies",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned()).await?;
        }
        Ok(())
    }
}
