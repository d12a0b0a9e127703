use sea_orm::entity::prelude::*;

/// Something a run consumed: an upstream run's output, an MLflow dataset, an init artifact, a git commit, a file.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "run_inputs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_id: Uuid,
    pub project_id: Uuid,
    pub kind: String,
    pub name: String,
    pub source_run_id: Option<Uuid>,
    pub path: Option<String>,
    pub digest: Option<String>,
    pub detail: String,
    pub created_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
