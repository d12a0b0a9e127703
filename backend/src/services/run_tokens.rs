//! Tokens scoped to one run, handed to its process (`MLFLOW_TRACKING_TOKEN`, `MYELIN_RUN_TOKEN`); stored hashed.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use uuid::Uuid;

use crate::auth::token;
use crate::entities::run_token;
use crate::error::Result;

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
