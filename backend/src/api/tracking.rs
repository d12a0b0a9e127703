//! Myelin's own tracking endpoints (the MLflow API's equivalents): log a batch, chart-ready metric series,
//! and the run's stored files (logs and artifacts).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{Json, Path, Query};
use super::runs::{run_of, RunPath};
use crate::auth::Caller;
use crate::domain::Role;
use crate::error::Result;
use crate::services::tracking::{self, history::Series, Point};
use crate::state::AppState;

/// What a batch may carry; params are immutable once logged.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct TrackingBatch {
    #[serde(default)]
    pub metrics: Vec<Point>,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[utoipa::path(post, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/tracking", tag = "tracking", request_body = TrackingBatch,
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path)),
    responses((status = 204, description = "Logged"), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn log_tracking(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id)): RunPath,
    Json(batch): Json<TrackingBatch>,
) -> Result<StatusCode> {
    let (a, r) = run_of(&app, &u, &owner, &name, id).await?;
    a.require(Role::Member)?;
    let params: Vec<_> = batch.params.into_iter().collect();
    let tags: Vec<_> = batch.tags.into_iter().collect();
    app.ingest.log(&(&r).into(), batch.metrics, params, tags).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SeriesQuery {
    /// At most this many points (default 500, at most 10,000): min/max per bucket, first and last kept.
    pub points: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/metrics/{key}", tag = "tracking",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path), ("key" = String, Path), SeriesQuery),
    responses((status = 200, body = Series), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_metric_series(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id, key)): Path<(String, String, Uuid, String)>,
    Query(q): Query<SeriesQuery>,
) -> Result<Json<Series>> {
    let (_, r) = run_of(&app, &u, &owner, &name, id).await?;
    let points = q.points.unwrap_or(500).clamp(2, 10_000);
    let mut s = tracking::history::series(&app.db, &[r.id], &key, points).await?;
    Ok(Json(s.pop().expect("one run asked, one series")))
}
