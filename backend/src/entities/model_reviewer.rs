use sea_orm::entity::prelude::*;

/// A user who may approve promotions of a model besides the project's admins and owner.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "model_reviewers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub model_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
