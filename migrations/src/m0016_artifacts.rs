//! Artifacts and lineage: every stored artifact with its digest and producer run (browsable and searchable without
//! listing the store), and what each run consumed (upstream outputs, datasets, init artifacts, git commits).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Artifacts {
    Table,
    RunId,
    Path,
    ProjectId,
    Dir,
    Name,
    Kind,
    Size,
    Sha256,
    CreatedMs,
}

#[derive(DeriveIden)]
enum RunInputs {
    Table,
    Id,
    RunId,
    ProjectId,
    Kind,
    Name,
    SourceRunId,
    Path,
    Digest,
    Detail,
    CreatedMs,
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
                .table(Artifacts::Table)
                .col(ColumnDef::new(Artifacts::RunId).uuid().not_null())
                .col(ColumnDef::new(Artifacts::Path).string_len(1024).not_null())
                .col(ColumnDef::new(Artifacts::ProjectId).uuid().not_null())
                .col(ColumnDef::new(Artifacts::Dir).string_len(1024).not_null())
                .col(ColumnDef::new(Artifacts::Name).string_len(1024).not_null())
                .col(ColumnDef::new(Artifacts::Kind).string_len(16).not_null())
                .col(ColumnDef::new(Artifacts::Size).big_integer().not_null())
                .col(ColumnDef::new(Artifacts::Sha256).string_len(64).not_null())
                .col(ColumnDef::new(Artifacts::CreatedMs).big_integer().not_null())
                .primary_key(Index::create().col(Artifacts::RunId).col(Artifacts::Path))
                .foreign_key(&mut cascade((Artifacts::Table, Artifacts::RunId), (Runs::Table, Runs::Id)))
                .foreign_key(&mut cascade(
                    (Artifacts::Table, Artifacts::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("artifacts_run_dir", vec![Artifacts::RunId, Artifacts::Dir, Artifacts::Name]),
            ("artifacts_project_created", vec![Artifacts::ProjectId, Artifacts::CreatedMs]),
            ("artifacts_project_digest", vec![Artifacts::ProjectId, Artifacts::Sha256]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Artifacts::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(RunInputs::Table)
                .col(ColumnDef::new(RunInputs::Id).big_integer().not_null().auto_increment().primary_key())
                .col(ColumnDef::new(RunInputs::RunId).uuid().not_null())
                .col(ColumnDef::new(RunInputs::ProjectId).uuid().not_null())
                .col(ColumnDef::new(RunInputs::Kind).string_len(16).not_null())
                .col(ColumnDef::new(RunInputs::Name).string_len(1024).not_null())
                .col(ColumnDef::new(RunInputs::SourceRunId).uuid().null())
                .col(ColumnDef::new(RunInputs::Path).string_len(1024).null())
                .col(ColumnDef::new(RunInputs::Digest).string_len(128).null())
                .col(ColumnDef::new(RunInputs::Detail).text().not_null())
                .col(ColumnDef::new(RunInputs::CreatedMs).big_integer().not_null())
                .foreign_key(&mut cascade((RunInputs::Table, RunInputs::RunId), (Runs::Table, Runs::Id)))
                .foreign_key(&mut cascade(
                    (RunInputs::Table, RunInputs::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("run_inputs_run", vec![RunInputs::RunId]),
            ("run_inputs_source", vec![RunInputs::SourceRunId]),
            ("run_inputs_project_digest", vec![RunInputs::ProjectId, RunInputs::Digest]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(RunInputs::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(RunInputs::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Artifacts::Table).to_owned()).await
    }
}
