use sea_orm::entity::prelude::*;

/// A request to point `alias` at a version; it moves once `required` reviewers approved.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "promotion_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub project_id: Uuid,
    pub model_id: Uuid,
    pub version_id: Uuid,
    pub alias: String,
    pub reason: String,
    /// `open`, `approved`, `rejected`, `cancelled` or `superseded`.
    pub state: String,
    pub required: i32,
    pub requested_by: Uuid,
    pub created_ms: i64,
    pub closed_ms: Option<i64>,
    pub closed_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
