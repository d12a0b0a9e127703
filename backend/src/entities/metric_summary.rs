use sea_orm::entity::prelude::*;

/// A chunk's points thinned for charts, packed as the chunk's `data` is: each block of `BLOCK` points' minimum
/// and maximum in step order, and the chunk's first and last point. `n` is the chunk's count.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "metric_summaries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub chunk_id: i64,
    pub run_id: Uuid,
    pub key: String,
    pub n: i32,
    pub first_step: i64,
    pub last_step: i64,
    pub data: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
