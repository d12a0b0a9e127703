//! Tokens scoped to one run, handed to its process (`MLFLOW_TRACKING_TOKEN`, `MYELIN_RUN_TOKEN`); stored hashed.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, JoinType, QuerySelect, Set};
use uuid::Uuid;

use crate::auth::token;
use crate::entities::{run, run_token, user};
use crate::error::{Error, Result};
use crate::services::runs::access::RunRef;

pub async fn issue(db: &DatabaseConnection, run: Uuid) -> Result<String> {
    let secret = format!("{}run_{}", token::PREFIX, &token::generate()[token::PREFIX.len()..]);
    run_token::ActiveModel {
        token_hash: Set(token::hash(&secret)),
        run_id: Set(run),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(secret)
}

/// The run and its submitter behind a run token, while the run is not finished. `None` for tokens that are
/// not run tokens; an expired or unknown run token is refused.
pub async fn resolve(db: &DatabaseConnection, secret: &str) -> Result<Option<(RunRef, user::Model)>> {
    if !secret.starts_with(&format!("{}run_", token::PREFIX)) {
        return Ok(None);
    }
    let of = run_token::Entity::belongs_to(run::Entity).from(run_token::Column::RunId).to(run::Column::Id);
    type Row = (Uuid, Uuid, Option<DateTime<Utc>>, Option<DateTime<Utc>>, Uuid);
    let row: Option<Row> = run_token::Entity::find_by_id(token::hash(secret))
        .select_only()
        .column(run::Column::Id)
        .column(run::Column::ProjectId)
        .column(run::Column::DeletedAt)
        .column(run::Column::FinishedAt)
        .column(run::Column::CreatedBy)
        .join(JoinType::InnerJoin, of.into())
        .into_tuple()
        .one(db)
        .await?;
    let Some((id, project_id, deleted_at, finished_at, created_by)) = row else {
        return Err(Error::BadToken);
    };
    if finished_at.is_some() {
        return Err(Error::BadToken);
    }
    let u = user::Entity::find_by_id(created_by).one(db).await?.ok_or(Error::BadToken)?;
    if u.disabled_at.is_some() {
        return Err(Error::BadToken); // its owner was disabled: the run's token dies with the account
    }
    Ok(Some((RunRef { id, project_id, deleted: deleted_at.is_some() }, u)))
}
