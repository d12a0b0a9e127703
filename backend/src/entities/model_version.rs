use sea_orm::entity::prelude::*;

/// A version of a registered model: numbered from 1 in the order registered, from a source (usually a run's
/// artifacts), with an MLflow stage.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "model_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub model_id: Uuid,
    pub version: i32,
    /// What the client gave (`runs:/…`, `models:/m-…`, an artifact URI).
    pub source: String,
    /// Where the files are: the source resolved to an artifact URI the proxy serves (MLflow's storage location).
    pub storage: String,
    /// The MLflow 3 logged model registered, when the source named one.
    pub logged_model_id: Option<String>,
    pub run_id: Option<Uuid>,
    pub run_link: String,
    pub description: String,
    /// `None`, `Staging`, `Production` or `Archived`.
    pub stage: String,
    /// `READY` (files are registered where they are; nothing is copied).
    pub status: String,
    pub created_by: Uuid,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
