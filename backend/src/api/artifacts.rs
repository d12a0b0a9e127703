//! A run's stored files and a project's artifacts: search, browse by directory, preview, download (ranges,
//! conditional requests, folders as a streamed zip, inline only in a sandbox) and upload.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{Json, Path, Query};
use super::runs::{run_of, RunPath};
use super::serve_file::{disposition, serve_file, Serve};
use crate::artifacts::{normalise, Artifacts, Entry};
use crate::auth::Caller;
use crate::domain::Role;
use crate::error::{Error, Result};
use crate::services::artifacts::{self, Search};
use crate::services::lineage;
use crate::services::projects;
use crate::services::runs;
use crate::state::AppState;
use api_types::{
    ArtifactDiff, ArtifactDir, ArtifactInfo, ArtifactPage, ArtifactView, LineageRun, RunLineage,
};

type FilePath = Path<(String, String, Uuid, String)>;

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/artifacts", tag = "artifacts",
    params(("owner" = String, Path), ("name" = String, Path), Search),
    responses((status = 200, body = ArtifactPage), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn search_artifacts(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
    Query(q): Query<Search>,
) -> Result<Json<ArtifactPage>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(artifacts::search(&app.db, &a, &q).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ArtifactQuery {
    /// A directory under the run (`artifacts`, `logs`, ...); the run's root when absent.
    pub path: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/artifacts", tag = "artifacts",
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DirQuery {
    /// The directory (`artifacts/model`); the run's root when absent.
    pub path: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// Files per page, 1 to 1000 (default 200).
    pub limit: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/artifact-dir", tag = "artifacts",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path), DirQuery),
    responses((status = 200, body = ArtifactDir), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn artifact_dir(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id)): RunPath,
    Query(q): Query<DirQuery>,
) -> Result<Json<ArtifactDir>> {
    let (_, r) = run_of(&app, &u, &owner, &name, id).await?;
    let path = q.path.unwrap_or_default();
    Ok(Json(artifacts::dir(&app.db, &app.artifacts, &r, &path, q.after.as_deref(), q.limit).await?))
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/preview/{path}", tag = "artifacts",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path), ("path" = String, Path, description = "e.g. artifacts/metrics.csv")),
    responses((status = 200, body = ArtifactView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn preview_artifact(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id, path)): FilePath,
) -> Result<Json<ArtifactView>> {
    let (_, r) = run_of(&app, &u, &owner, &name, id).await?;
    Ok(Json(artifacts::view(&app.db, &app.artifacts, &format!("{owner}/{name}"), &r, &path).await?))
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/lineage", tag = "artifacts",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path)),
    responses((status = 200, body = RunLineage), (status = 404, body = crate::error::ErrorBody)))]
pub async fn run_lineage(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id)): RunPath,
) -> Result<Json<RunLineage>> {
    let (_, r) = run_of(&app, &u, &owner, &name, id).await?;
    Ok(Json(lineage::of_run(&app.db, &r).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DigestQuery {
    /// An artifact's sha256, or a dataset's digest.
    pub digest: String,
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/artifacts/consumers", tag = "artifacts",
    params(("owner" = String, Path), ("name" = String, Path), DigestQuery),
    responses((status = 200, body = Vec<LineageRun>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn digest_consumers(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
    Query(q): Query<DigestQuery>,
) -> Result<Json<Vec<LineageRun>>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(lineage::consumers(&app.db, a.project.id, &q.digest).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DiffQuery {
    /// The first run.
    pub a: Uuid,
    /// The second run.
    pub b: Uuid,
    /// The path in both, e.g. `artifacts/config.yaml`.
    pub path: String,
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/artifacts/diff", tag = "artifacts",
    params(("owner" = String, Path), ("name" = String, Path), DiffQuery),
    responses((status = 200, body = ArtifactDiff), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn diff_artifacts(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
    Query(q): Query<DiffQuery>,
) -> Result<Json<ArtifactDiff>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    let (ra, rb) = (runs::find(&app.db, &a, q.a).await?, runs::find(&app.db, &a, q.b).await?);
    let project = format!("{owner}/{name}");
    Ok(Json(
        crate::services::artifact_diff::diff(&app.db, &app.artifacts, &project, [&ra, &rb], &q.path).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct DownloadQuery {
    /// Serve it to be shown in the page (images; HTML under `Content-Security-Policy: sandbox`; a PDF of up to
    /// 32 MiB as a viewer page under the same sandbox, drawn by pdf.js) instead of as an attachment.
    /// `1` or `true`.
    pub inline: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/artifacts/{path}", tag = "artifacts",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path), ("path" = String, Path, description = "e.g. artifacts/model.pt; a folder downloads as a zip"), DownloadQuery),
    responses((status = 200, description = "The file, or a folder as a zip", content_type = "application/octet-stream"),
              (status = 206, description = "The requested range"), (status = 304, description = "Not modified"),
              (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 416, description = "The range is outside the file")))]
pub async fn download_run_artifact(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id, path)): FilePath,
    Query(q): Query<DownloadQuery>,
    headers: HeaderMap,
) -> Result<Response> {
    let (_, r) = run_of(&app, &u, &owner, &name, id).await?;
    let rel = normalise(&path)?;
    let key = Artifacts::run_key(r.project_id, r.id, &rel)?;
    let file = rel.rsplit('/').next().unwrap_or("artifact").to_string();
    let how = if matches!(q.inline.as_deref(), Some("1" | "true")) {
        Serve::Inline(&file)
    } else {
        Serve::Attachment(&file)
    };
    match serve_file(&app, &key, &headers, how).await {
        // Not a file: a folder (some S3-compatible stores answer a folder's name with an error of their own).
        Err(e) => match folder_zip(&app, &r, &rel).await {
            Err(Error::NotFound(_)) => Err(e),
            zipped => zipped,
        },
        ok => ok,
    }
}

/// A folder of the run as a streamed zip; `NotFound` when nothing is under it.
async fn folder_zip(app: &AppState, r: &crate::entities::run::Model, rel: &str) -> Result<Response> {
    let files = app.artifacts.walk(r.project_id, r.id, rel).await?;
    if files.is_empty() {
        return Err(Error::NotFound("artifact"));
    }
    let name = format!("{}.zip", rel.rsplit('/').next().unwrap_or("artifacts"));
    let body =
        crate::artifacts::zip::stream(app.artifacts.clone(), r.project_id, r.id, rel.to_string(), files);
    let mut resp = Body::from_stream(body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    h.insert(header::CONTENT_DISPOSITION, disposition("attachment", &name));
    Ok(resp)
}

#[utoipa::path(put, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/artifacts/{path}", tag = "artifacts",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path), ("path" = String, Path, description = "e.g. artifacts/data.csv")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = ArtifactInfo), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn upload_run_artifact(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id, path)): FilePath,
    body: Body,
) -> Result<(StatusCode, Json<ArtifactInfo>)> {
    let (a, r) = run_of(&app, &u, &owner, &name, id).await?;
    a.require(Role::Member)?;
    let rel = normalise(&path)?;
    let body = body.into_data_stream().map_err(|e| e.to_string());
    artifacts::upload(&app.db, &app.artifacts, &r, &rel, body).await?;
    let info = artifacts::find(&app.db, &r, &rel).await?.ok_or(Error::NotFound("artifact"))?;
    Ok((StatusCode::CREATED, Json(info)))
}
