//! The model registry: registered models (one project each, names unique in it), their versions (each from a
//! source, usually a run's artifacts), tags on both, and aliases (a name pointing at one version of a model);
//! MLflow 3's logged models (a model a run logged, with its own tags and params), and which runs output them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RegisteredModels {
    Table,
    Id,
    ProjectId,
    Name,
    Description,
    CreatedBy,
    CreatedMs,
    UpdatedMs,
}

#[derive(DeriveIden)]
enum ModelVersions {
    Table,
    Id,
    ModelId,
    Version,
    Source,
    Storage,
    LoggedModelId,
    RunId,
    RunLink,
    Description,
    Stage,
    Status,
    CreatedBy,
    CreatedMs,
    UpdatedMs,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum LoggedModels {
    Table,
    Id,
    ProjectId,
    RunId,
    Name,
    ModelType,
    Status,
    StatusMessage,
    CreatedBy,
    CreatedMs,
    UpdatedMs,
}

/// Tags and params of logged models share a shape.
#[derive(DeriveIden)]
enum LoggedModelTags {
    Table,
}

#[derive(DeriveIden)]
enum LoggedModelParams {
    Table,
}

#[derive(DeriveIden)]
enum Kv {
    ModelId,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum RunModelOutputs {
    Table,
    RunId,
    ModelId,
    Step,
}

#[derive(DeriveIden)]
enum RegisteredModelTags {
    Table,
    ModelId,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum ModelVersionTags {
    Table,
    VersionId,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum ModelAliases {
    Table,
    ModelId,
    Alias,
    VersionId,
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
                .table(RegisteredModels::Table)
                .col(ColumnDef::new(RegisteredModels::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(RegisteredModels::ProjectId).uuid().not_null())
                .col(ColumnDef::new(RegisteredModels::Name).string_len(256).not_null())
                .col(ColumnDef::new(RegisteredModels::Description).text().not_null())
                .col(ColumnDef::new(RegisteredModels::CreatedBy).uuid().not_null())
                .col(ColumnDef::new(RegisteredModels::CreatedMs).big_integer().not_null())
                .col(ColumnDef::new(RegisteredModels::UpdatedMs).big_integer().not_null())
                .foreign_key(&mut cascade(
                    (RegisteredModels::Table, RegisteredModels::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("registered_models_project_name")
                .table(RegisteredModels::Table)
                .col(RegisteredModels::ProjectId)
                .col(RegisteredModels::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ModelVersions::Table)
                .col(ColumnDef::new(ModelVersions::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(ModelVersions::ModelId).uuid().not_null())
                .col(ColumnDef::new(ModelVersions::Version).integer().not_null())
                .col(ColumnDef::new(ModelVersions::Source).text().not_null())
                .col(ColumnDef::new(ModelVersions::Storage).text().not_null())
                .col(ColumnDef::new(ModelVersions::LoggedModelId).string_len(64).null())
                .col(ColumnDef::new(ModelVersions::RunId).uuid().null())
                .col(ColumnDef::new(ModelVersions::RunLink).text().not_null())
                .col(ColumnDef::new(ModelVersions::Description).text().not_null())
                .col(ColumnDef::new(ModelVersions::Stage).string_len(32).not_null())
                .col(ColumnDef::new(ModelVersions::Status).string_len(32).not_null())
                .col(ColumnDef::new(ModelVersions::CreatedBy).uuid().not_null())
                .col(ColumnDef::new(ModelVersions::CreatedMs).big_integer().not_null())
                .col(ColumnDef::new(ModelVersions::UpdatedMs).big_integer().not_null())
                .foreign_key(&mut cascade(
                    (ModelVersions::Table, ModelVersions::ModelId),
                    (RegisteredModels::Table, RegisteredModels::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("model_versions_model_version")
                .table(ModelVersions::Table)
                .col(ModelVersions::ModelId)
                .col(ModelVersions::Version)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("model_versions_run")
                .table(ModelVersions::Table)
                .col(ModelVersions::RunId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RegisteredModelTags::Table)
                .col(ColumnDef::new(RegisteredModelTags::ModelId).uuid().not_null())
                .col(ColumnDef::new(RegisteredModelTags::Key).string_len(250).not_null())
                .col(ColumnDef::new(RegisteredModelTags::Value).text().not_null())
                .primary_key(Index::create().col(RegisteredModelTags::ModelId).col(RegisteredModelTags::Key))
                .foreign_key(&mut cascade(
                    (RegisteredModelTags::Table, RegisteredModelTags::ModelId),
                    (RegisteredModels::Table, RegisteredModels::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ModelVersionTags::Table)
                .col(ColumnDef::new(ModelVersionTags::VersionId).uuid().not_null())
                .col(ColumnDef::new(ModelVersionTags::Key).string_len(250).not_null())
                .col(ColumnDef::new(ModelVersionTags::Value).text().not_null())
                .primary_key(Index::create().col(ModelVersionTags::VersionId).col(ModelVersionTags::Key))
                .foreign_key(&mut cascade(
                    (ModelVersionTags::Table, ModelVersionTags::VersionId),
                    (ModelVersions::Table, ModelVersions::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ModelAliases::Table)
                .col(ColumnDef::new(ModelAliases::ModelId).uuid().not_null())
                .col(ColumnDef::new(ModelAliases::Alias).string_len(256).not_null())
                .col(ColumnDef::new(ModelAliases::VersionId).uuid().not_null())
                .primary_key(Index::create().col(ModelAliases::ModelId).col(ModelAliases::Alias))
                .foreign_key(&mut cascade(
                    (ModelAliases::Table, ModelAliases::ModelId),
                    (RegisteredModels::Table, RegisteredModels::Id),
                ))
                .foreign_key(&mut cascade(
                    (ModelAliases::Table, ModelAliases::VersionId),
                    (ModelVersions::Table, ModelVersions::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LoggedModels::Table)
                .col(ColumnDef::new(LoggedModels::Id).string_len(64).not_null().primary_key())
                .col(ColumnDef::new(LoggedModels::ProjectId).uuid().not_null())
                .col(ColumnDef::new(LoggedModels::RunId).uuid().not_null())
                .col(ColumnDef::new(LoggedModels::Name).string_len(256).not_null())
                .col(ColumnDef::new(LoggedModels::ModelType).string_len(256).not_null())
                .col(ColumnDef::new(LoggedModels::Status).string_len(32).not_null())
                .col(ColumnDef::new(LoggedModels::StatusMessage).text().not_null())
                .col(ColumnDef::new(LoggedModels::CreatedBy).uuid().not_null())
                .col(ColumnDef::new(LoggedModels::CreatedMs).big_integer().not_null())
                .col(ColumnDef::new(LoggedModels::UpdatedMs).big_integer().not_null())
                .foreign_key(&mut cascade(
                    (LoggedModels::Table, LoggedModels::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .foreign_key(&mut cascade(
                    (LoggedModels::Table, LoggedModels::RunId),
                    (Runs::Table, Runs::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("logged_models_project_name")
                .table(LoggedModels::Table)
                .col(LoggedModels::ProjectId)
                .col(LoggedModels::Name)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("logged_models_run")
                .table(LoggedModels::Table)
                .col(LoggedModels::RunId)
                .to_owned(),
        )
        .await?;
        for table in [LoggedModelTags::Table.into_iden(), LoggedModelParams::Table.into_iden()] {
            m.create_table(
                Table::create()
                    .table(table.clone())
                    .col(ColumnDef::new(Kv::ModelId).string_len(64).not_null())
                    .col(ColumnDef::new(Kv::Key).string_len(250).not_null())
                    .col(ColumnDef::new(Kv::Value).text().not_null())
                    .primary_key(Index::create().col(Kv::ModelId).col(Kv::Key))
                    .foreign_key(&mut cascade((table, Kv::ModelId), (LoggedModels::Table, LoggedModels::Id)))
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(RunModelOutputs::Table)
                .col(ColumnDef::new(RunModelOutputs::RunId).uuid().not_null())
                .col(ColumnDef::new(RunModelOutputs::ModelId).string_len(64).not_null())
                .col(ColumnDef::new(RunModelOutputs::Step).big_integer().not_null())
                .primary_key(Index::create().col(RunModelOutputs::RunId).col(RunModelOutputs::ModelId))
                .foreign_key(&mut cascade(
                    (RunModelOutputs::Table, RunModelOutputs::RunId),
                    (Runs::Table, Runs::Id),
                ))
                .foreign_key(&mut cascade(
                    (RunModelOutputs::Table, RunModelOutputs::ModelId),
                    (LoggedModels::Table, LoggedModels::Id),
                ))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "run_model_outputs",
            "logged_model_params",
            "logged_model_tags",
            "logged_models",
            "model_aliases",
            "model_version_tags",
            "registered_model_tags",
            "model_versions",
            "registered_models",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned()).await?;
        }
        Ok(())
    }
}
