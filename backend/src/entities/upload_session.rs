use sea_orm::entity::prelude::*;

/// An upload in parts under way (`services::uploads`): whose, into which run and path, how big, and what the store
/// has confirmed — the store's upload id, how many parts (their ids are `upload_part` rows), and the file's digest up
/// to them.
/// No foreign keys: a session outlives its run only until it is swept, which aborts it in the store too.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "upload_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub project_id: Uuid,
    pub run_id: Uuid,
    pub path: String,
    pub size: i64,
    pub part_size: i64,
    pub fingerprint: String,
    pub store_id: String,
    pub next_part: i32,
    pub digest: String,
    pub touched_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
