//! Runs as MLflow clients see them: external runs (started by a client outside Myelin, with no spec and no
//! executor) and MLflow's soft delete.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use spec::lifecycle::Status;
use uuid::Uuid;

use super::{find, new_run};
use crate::domain::Role;
use crate::entities::{run, user};
use crate::error::Result;
use crate::services::projects::ProjectAccess;
use crate::store::status::event;
use spec::lifecycle::RunKind;

const STARTED: &str = "started by an MLflow client outside Myelin";

/// A run started by an MLflow client outside Myelin: it is running from the start and ends when the client
/// says so.
pub async fn create_external(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    u: &user::Model,
    name: Option<&str>,
    started: Option<chrono::DateTime<Utc>>,
) -> Result<run::Model> {
    a.require(Role::Member)?;
    let name = match name.filter(|n| !n.trim().is_empty()) {
        Some(n) => crate::domain::bounded_text("name", n, 128)?,
        None => format!("external-{}", &Uuid::new_v4().simple().to_string()[..8]),
    };
    let now = Utc::now();
    let id = Uuid::new_v4();
    let txn = db.begin().await?;
    let r = run::ActiveModel {
        status_reason: Set(Some("ExternalRun".into())),
        status_message: Set(Some(STARTED.into())),
        started_at: Set(Some(started.unwrap_or(now))),
        ..new_run(id, a.project.id, u.id, name, RunKind::External, Status::Running, now)
    }
    .insert(&txn)
    .await?;
    event(&txn, id, Status::Running, Some("ExternalRun"), Some("started by an MLflow client outside Myelin"))
        .await?;
    txn.commit().await?;
    Ok(r)
}

/// MLflow's soft delete: hidden from lists and searches, restorable.
pub async fn set_deleted(db: &DatabaseConnection, a: &ProjectAccess, id: Uuid, deleted: bool) -> Result<()> {
    a.require(Role::Member)?;
    find(db, a, id).await?;
    run::Entity::update_many()
        .col_expr(run::Column::DeletedAt, Expr::value(deleted.then(Utc::now)))
        .filter(run::Column::Id.eq(id))
        .exec(db)
        .await?;
    crate::auth::cache::revoke();
    Ok(())
}
