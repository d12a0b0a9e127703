use sea_orm::entity::prelude::*;

/// Per run and key: the latest point (greatest step, then time), the true min/max, and how many points exist.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "latest_metrics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub step: i64,
    pub ts: i64,
    /// `None` is NaN.
    pub value: Option<f64>,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub count: i64,
    /// Small chunks written since the last compaction.
    pub pending: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
