use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "projects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub description: String,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    /// Runs of this project that may run at once.
    pub concurrency: i32,
    /// Deleted as an MLflow experiment (restorable); Myelin itself still shows it.
    pub deleted_at: Option<ChronoDateTimeUtc>,
    /// The pod policy a site admin set for this project (`baseline`, `restricted`, `privileged`); `None`: the
    /// server's (`--pod-policy`).
    pub pod_policy: Option<String>,
    /// What the project's runs keep in the artifact store, for its quota.
    pub artifact_bytes: i64,
    pub artifact_files: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::member::Entity")]
    Member,
    #[sea_orm(belongs_to = "super::user::Entity", from = "Column::OwnerId", to = "super::user::Column::Id")]
    Owner,
}

impl Related<super::member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Member.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
