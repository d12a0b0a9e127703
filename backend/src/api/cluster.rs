//! The cluster: Nodes, GPU capacity and allocation, runs per node, and the queue.

use axum::extract::State;

use super::extract::Json;
use crate::auth::CurrentUser;
use crate::error::Result;
use crate::services::cluster::{self, ClusterPage};
use crate::state::AppState;

#[utoipa::path(get, path = "/api/v1/cluster", tag = "cluster",
    responses((status = 200, body = ClusterPage), (status = 401, body = crate::error::ErrorBody)))]
pub async fn get_cluster(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<ClusterPage>> {
    Ok(Json(cluster::page(&app.db, &app.executor, &u).await?))
}
