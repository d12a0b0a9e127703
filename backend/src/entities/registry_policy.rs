use sea_orm::entity::prelude::*;

/// A project's registry policy; a project without a row has the defaults (`services::registry::policy`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registry_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub project_id: Uuid,
    /// A JSON array of alias names.
    pub protected_aliases: String,
    pub required_approvals: i32,
    /// The hash of the project's last audit entry (64 zeros before the first) and how many there are.
    pub audit_head: String,
    pub audit_count: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
