use sea_orm::entity::prelude::*;

/// One entry of a project's registry audit: `hash` is sha256 over `prev_hash` and the entry's fields
/// (`services::registry::audit::digest`), so a rewritten or removed row breaks the chain after it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registry_audit")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub project_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub at_ms: i64,
    pub actor_id: Option<Uuid>,
    pub actor: String,
    /// `request.open`, `request.approve`, `request.reject`, `request.comment`, `request.cancel`,
    /// `request.supersede`, `alias.set`, `alias.delete`.
    pub action: String,
    pub model_id: Uuid,
    pub model_name: String,
    pub alias: Option<String>,
    pub version: Option<i32>,
    pub request_id: Option<Uuid>,
    /// JSON.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
