//! A run's status writes: every move is a compare-and-set on the status it was read in, recorded in the run's
//! timeline (`run_events`) in the same transaction.

use chrono::Utc;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use spec::lifecycle::Status;
use uuid::Uuid;

use crate::entities::{run, run_event};
use crate::error::Result;

pub(crate) async fn event<C: ConnectionTrait>(
    db: &C,
    run_id: Uuid,
    status: Status,
    reason: Option<&str>,
    message: Option<&str>,
) -> Result<()> {
    run_event::ActiveModel {
        id: Set(Uuid::new_v4()),
        run_id: Set(run_id),
        status: Set(status.as_str().into()),
        at: Set(Utc::now()),
        reason: Set(reason.map(str::to_string)),
        message: Set(message.map(str::to_string)),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Records a transition the caller has already applied to the run's status (a claim made in bulk).
pub async fn record(
    db: &DatabaseConnection,
    id: Uuid,
    status: Status,
    reason: &str,
    message: Option<&str>,
) -> Result<()> {
    // Only while the run is still in `status`: a note must not overwrite a newer state's message.
    let updated = run::Entity::update_many()
        .col_expr(run::Column::StatusReason, Expr::value(reason))
        .col_expr(run::Column::StatusMessage, Expr::value(message.map(str::to_string)))
        .col_expr(run::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(run::Column::Id.eq(id))
        .filter(run::Column::Status.eq(status.as_str()))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        return Ok(());
    }
    event(db, id, status, Some(reason), message).await
}

/// Moves a run to `to` if its lifecycle allows it, recording the transition. Returns whether it moved.
///
/// The write is a compare-and-set on the status just read, so concurrent writers cannot both move a run;
/// the transaction starts with that write (never a read), which SQLite's WAL mode requires to not fail busy.
pub async fn transition(
    db: &DatabaseConnection,
    id: Uuid,
    to: Status,
    reason: &str,
    message: Option<&str>,
) -> Result<bool> {
    transition_with(db, id, to, reason, message, vec![]).await
}

/// As `transition`, writing `also` (more columns of the run) in the same update, so readers never see the
/// new status without them (an executor's diagnosis, node, exit code).
pub async fn transition_with(
    db: &DatabaseConnection,
    id: Uuid,
    to: Status,
    reason: &str,
    message: Option<&str>,
    also: Vec<(run::Column, SimpleExpr)>,
) -> Result<bool> {
    let Some(r) = run::Entity::find_by_id(id).one(db).await? else { return Ok(false) };
    let from = r.status()?;
    if !from.can_become(to) {
        return Ok(false);
    }
    let now = Utc::now();
    let mut update = run::Entity::update_many()
        .col_expr(run::Column::Status, Expr::value(to.as_str()))
        .col_expr(run::Column::StatusReason, Expr::value(reason))
        .col_expr(run::Column::StatusMessage, Expr::value(message.map(str::to_string)))
        .col_expr(run::Column::UpdatedAt, Expr::value(now))
        .filter(run::Column::Id.eq(id))
        .filter(run::Column::Status.eq(from.as_str()));
    if to == Status::Running && r.started_at.is_none() {
        update = update.col_expr(run::Column::StartedAt, Expr::value(now));
    }
    if to.is_done() {
        update = update.col_expr(run::Column::FinishedAt, Expr::value(now));
    }
    for (column, value) in also {
        update = update.col_expr(column, value);
    }
    let txn = db.begin().await?;
    if update.exec(&txn).await?.rows_affected == 0 {
        return Ok(false);
    }
    event(&txn, id, to, Some(reason), message).await?;
    txn.commit().await?;
    if to.is_done() {
        crate::auth::cache::revoke(); // the run's token dies with it
        crate::store::nudge();
    }
    Ok(true)
}

/// A status move an executor reports and has nobody to hand an error back to: a failed write (a busy or
/// briefly unreachable database) is retried with backoff, then logged with the run. Returns whether the run
/// moved.
pub async fn report(
    db: &DatabaseConnection,
    id: Uuid,
    to: Status,
    reason: &str,
    message: Option<&str>,
) -> bool {
    retried(id, reason, || transition(db, id, to, reason, message)).await.unwrap_or(false)
}

/// As `report`, for a note on the status the run is already in (`record`).
pub async fn report_note(
    db: &DatabaseConnection,
    id: Uuid,
    status: Status,
    reason: &str,
    message: Option<&str>,
) {
    retried(id, reason, || record(db, id, status, reason, message)).await;
}

async fn retried<T, F: std::future::Future<Output = Result<T>>>(
    id: Uuid,
    reason: &str,
    write: impl Fn() -> F,
) -> Option<T> {
    let mut wait = std::time::Duration::from_millis(50);
    for attempt in 1..=5 {
        match write().await {
            Ok(v) => return Some(v),
            Err(e) if attempt < 5 => {
                tracing::warn!(run = %id, reason, error = ?e, "status write failed; retrying");
                tokio::time::sleep(wait).await;
                wait *= 4;
            }
            Err(e) => tracing::error!(run = %id, reason, error = ?e, "status write lost after 5 attempts"),
        }
    }
    None
}
