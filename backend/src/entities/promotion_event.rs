use sea_orm::entity::prelude::*;

/// One entry of a request's thread: a comment, an approval or a rejection (each may carry Markdown).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "promotion_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub request_id: Uuid,
    pub user_id: Uuid,
    /// `comment`, `approve` or `reject`.
    pub kind: String,
    pub body: String,
    pub created_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
