use sea_orm::entity::prelude::*;

/// A stored artifact of a run: where it is (relative to the run's root, `artifacts/model/MLmodel`), its parent
/// directory and name (to browse and search without listing the store), its kind (by name), size and digest.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "artifacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub path: String,
    pub project_id: Uuid,
    pub dir: String,
    pub name: String,
    pub kind: String,
    pub size: i64,
    pub sha256: String,
    pub created_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
