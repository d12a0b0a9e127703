//! Reading runs as the executors and the scheduler need them: what is active, what a dead server left.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use spec::lifecycle::{RunKind, ALL_KINDS};

use crate::entities::run;
use crate::error::Result;

/// The stored names of the kinds no executor runs (they take no slot): external runs and pipelines.
pub fn undispatched() -> Vec<&'static str> {
    ALL_KINDS.into_iter().filter(|k| !k.is_dispatched()).map(RunKind::as_str).collect()
}

/// The stored names of the statuses that hold (or are about to hold) resources.
pub fn active_statuses() -> Vec<&'static str> {
    spec::lifecycle::ALL.iter().filter(|s| s.is_active()).map(|s| s.as_str()).collect()
}

/// Runs a previous server process left in an active status (runs logged from outside Myelin excepted).
pub async fn left_behind(db: &DatabaseConnection) -> Result<Vec<run::Model>> {
    Ok(run::Entity::find()
        .filter(run::Column::Status.is_in(active_statuses()))
        .filter(run::Column::Kind.is_not_in(undispatched()))
        .all(db)
        .await?)
}
