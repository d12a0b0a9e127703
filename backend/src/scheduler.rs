//! Claims queued runs and hands them to the executor, within each project's concurrency limit. Claims are
//! transactional: on PostgreSQL candidates are locked with `FOR UPDATE SKIP LOCKED`, so several server
//! replicas can share one queue; SQLite has a single writer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use spec::lifecycle::Status;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::entities::{project, run};
use crate::executor::Executor;

/// Runs the scheduler for as long as the server lives; `wake` makes it look at once (after a submit). Each
/// pass first advances the pipelines (`services::pipelines::drive`), then dispatches what is queued.
pub fn spawn(
    db: DatabaseConnection,
    exec: Executor,
    wake: Arc<Notify>,
    connections: Arc<spec::catalog::Catalog>,
    ingest: crate::services::tracking::ingest::Ingest,
) {
    let mut nudged = crate::store::nudges();
    tokio::spawn(async move {
        loop {
            nudged.mark_unchanged();
            // Pipelines read what runs logged (outputs, metrics for early stopping and tuners): every batch
            // answered so far is in the database first.
            ingest.settled().await;
            if let Err(e) = crate::services::pipelines::drive(&db, &exec, &connections).await {
                tracing::warn!(error = ?e, "pipeline pass failed; retrying");
            }
            match tick(&db, &exec).await {
                Ok(_) => {}
                Err(e) => tracing::warn!(error = ?e, "scheduler tick failed; retrying"),
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = nudged.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    });
}

/// One pass: dispatches what may start now. Returns how many runs were dispatched.
pub async fn tick(db: &DatabaseConnection, exec: &Executor) -> crate::Result<usize> {
    if !exec.accepting() {
        return Ok(0); // the cluster is unreachable: runs stay queued until the backoff runs out
    }
    let claimed = if db.get_database_backend() == DatabaseBackend::Postgres {
        // Replicas share the queue: each locks the candidates it looks at, skipping those others hold.
        let txn = db.begin().await?;
        let queued =
            candidates().lock_with_behavior(LockType::Update, LockBehavior::SkipLocked).all(&txn).await?;
        let claimed = claim(&txn, queued).await?;
        txn.commit().await?;
        claimed
    } else {
        // SQLite: one process, one writer; each claim is a compare-and-set on the status.
        let queued = candidates().all(db).await?;
        claim(db, queued).await?
    };
    for r in &claimed {
        crate::store::status::record(
            db,
            r.id,
            Status::Scheduled,
            "Scheduled",
            Some(&format!("dispatched to the {} executor", exec.name())),
        )
        .await?;
    }
    let n = claimed.len();
    for r in claimed {
        exec.start(r);
    }
    Ok(n)
}

fn candidates() -> sea_orm::Select<run::Entity> {
    run::Entity::find()
        .filter(run::Column::Status.eq(Status::Queued.as_str()))
        .order_by_asc(run::Column::CreatedAt)
        .limit(50)
}

/// Claims the runs that fit their project's concurrency limit.
async fn claim<C: ConnectionTrait>(db: &C, queued: Vec<run::Model>) -> crate::Result<Vec<run::Model>> {
    let active = crate::store::runs::active_statuses();
    let mut room: HashMap<Uuid, i64> = HashMap::new();
    let mut claimed = Vec::new();
    for r in queued {
        let free = match room.entry(r.project_id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let limit = project::Entity::find_by_id(r.project_id)
                    .one(db)
                    .await?
                    .map_or(1, |p| p.concurrency.max(1));
                let busy = run::Entity::find()
                    .filter(run::Column::ProjectId.eq(r.project_id))
                    .filter(run::Column::Status.is_in(active.clone()))
                    // runs logged from outside Myelin take no slot
                    .filter(run::Column::Kind.is_not_in(crate::store::runs::undispatched()))
                    .count(db)
                    .await?;
                e.insert(limit as i64 - busy as i64)
            }
        };
        if *free <= 0 {
            continue;
        }
        let updated = run::Entity::update_many()
            .col_expr(run::Column::Status, Expr::value(Status::Scheduled.as_str()))
            .filter(run::Column::Id.eq(r.id))
            .filter(run::Column::Status.eq(Status::Queued.as_str()))
            .exec(db)
            .await?;
        if updated.rows_affected == 1 {
            *free -= 1;
            claimed.push(r);
        }
    }
    Ok(claimed)
}
