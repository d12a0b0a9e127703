//! Myelin's own tracking endpoints (the MLflow API's equivalents): log a batch, chart-ready metric series,
//! and the run's stored files (logs and artifacts).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{Json, Path, Query};
use super::runs::{run_of, RunPath};
use crate::artifacts::{Artifacts, Entry};
use crate::auth::Caller;
use crate::domain::Role;
use crate::error::{Error, Result};
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
    tracking::log(&app.db, &r, &batch.metrics, &params, &tags).await?;
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ArtifactQuery {
    /// A directory under the run (`artifacts`, `logs`, ...); the run's root when absent.
    pub path: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/artifacts", tag = "tracking",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path), ArtifactQuery),
    responses((status = 200, body = Vec<Entry>), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list_run_artifacts(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id)): RunPath,
    Query(q): Query<ArtifactQuery>,
) -> Result<Json<Vec<Entry>>> {
    let (_, r) = run_of(&app, &u, &owner, &name, id).await?;
    Ok(Json(app.artifacts.list(r.project_id, r.id, q.path.as_deref().unwrap_or("")).await?))
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/artifacts/{path}", tag = "tracking",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path), ("path" = String, Path, description = "e.g. artifacts/model.pt")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn download_run_artifact(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id, path)): Path<(String, String, Uuid, String)>,
) -> Result<impl IntoResponse> {
    let (_, r) = run_of(&app, &u, &owner, &name, id).await?;
    let key = Artifacts::run_key(r.project_id, r.id, &path)?;
    let file = path.rsplit('/').next().unwrap_or("artifact").replace('"', "");
    serve_file(&app, &key, Some(&file)).await
}

/// A stored file as a download: streamed, typed as bytes, never sniffed into a page (artifacts are user
/// content); with a file name, as an attachment.
pub(crate) async fn serve_file(
    app: &AppState,
    key: &object_store::path::Path,
    attachment: Option<&str>,
) -> Result<axum::response::Response> {
    let (size, stream) = app.artifacts.get(key).await?;
    let mut headers = vec![
        (header::CONTENT_TYPE, "application/octet-stream".to_string()),
        (header::CONTENT_LENGTH, size.to_string()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
    ];
    if let Some(name) = attachment {
        headers.push((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")));
    }
    let mut resp = Body::from_stream(stream).into_response();
    for (name, value) in headers {
        resp.headers_mut().insert(name, value.parse().map_err(|_| Error::Internal("header value".into()))?);
    }
    Ok(resp)
}
