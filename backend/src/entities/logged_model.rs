use sea_orm::entity::prelude::*;

/// A model a run logged (MLflow 3's logged model): its files live in the run's artifacts under
/// `logged_models/<id>`; registering it makes a model version.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "logged_models")]
pub struct Model {
    /// `m-` and 32 hex digits, as MLflow names them.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: Uuid,
    pub run_id: Uuid,
    pub name: String,
    pub model_type: String,
    /// `LOGGED_MODEL_PENDING`, `LOGGED_MODEL_READY` or `LOGGED_MODEL_UPLOAD_FAILED`.
    pub status: String,
    pub status_message: String,
    pub created_by: Uuid,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
