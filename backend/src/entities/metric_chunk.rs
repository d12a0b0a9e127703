use sea_orm::entity::prelude::*;

/// A run of points of one metric, packed as `(step i64, timestamp i64, value f64)` little-endian triples.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "metric_chunks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
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
