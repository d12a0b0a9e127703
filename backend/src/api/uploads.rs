//! Uploads in parts (`services::uploads`): start or resume, send parts in order, complete, cancel. What
//! `myelin artifacts upload` uses for large files; only the member who started an upload sees it.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use futures_util::TryStreamExt;
use uuid::Uuid;

use super::extract::{Json, Path};
use super::runs::{run_of, RunPath};
use crate::auth::Caller;
use crate::domain::Role;
use crate::error::{Error, Result};
use crate::services::uploads;
use crate::state::AppState;
use api_types::{ArtifactInfo, NewUpload, UploadSession, CRC32_HEADER};

type SessionPath = Path<(String, String, Uuid, Uuid)>;

/// The member the request acts for (uploads write into the project).
async fn writer(
    app: &AppState,
    u: &Option<crate::entities::user::Model>,
    (owner, name, run): (&str, &str, Uuid),
) -> Result<(Uuid, crate::entities::run::Model)> {
    let (a, r) = run_of(app, u, owner, name, run).await?;
    a.require(Role::Member)?;
    let user = u.as_ref().ok_or(Error::Unauthenticated)?;
    Ok((user.id, r))
}

#[utoipa::path(post, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/uploads", tag = "artifacts", request_body = NewUpload,
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path)),
    responses((status = 201, body = UploadSession, description = "Started"), (status = 200, body = UploadSession, description = "Resumed: the caller's open upload of the same file"),
              (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody, description = "Past the project's quota"), (status = 429, body = crate::error::ErrorBody)))]
pub async fn start_upload(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id)): RunPath,
    Json(new): Json<NewUpload>,
) -> Result<(StatusCode, Json<UploadSession>)> {
    let (user, r) = writer(&app, &u, (&owner, &name, id)).await?;
    let (resumed, s) = uploads::create(&app.uploads, user, &r, &new).await?;
    Ok((if resumed { StatusCode::OK } else { StatusCode::CREATED }, Json(s)))
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/uploads/{upload}", tag = "artifacts",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path), ("upload" = Uuid, Path)),
    responses((status = 200, body = UploadSession), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_upload(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id, upload)): SessionPath,
) -> Result<Json<UploadSession>> {
    let (user, r) = writer(&app, &u, (&owner, &name, id)).await?;
    Ok(Json(uploads::get(&app.uploads, user, &r, upload).await?))
}

#[utoipa::path(delete, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/uploads/{upload}", tag = "artifacts",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path), ("upload" = Uuid, Path)),
    responses((status = 204, description = "Cancelled: nothing appears"), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn cancel_upload(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id, upload)): SessionPath,
) -> Result<StatusCode> {
    let (user, r) = writer(&app, &u, (&owner, &name, id)).await?;
    uploads::cancel(&app.uploads, user, &r, upload).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/uploads/{upload}/parts/{part}", tag = "artifacts",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path), ("upload" = Uuid, Path), ("part" = u32, Path, description = "From 0; the session's `next_part`"),
           ("x-checksum-crc32" = Option<String>, Header, description = "The part's CRC-32 (IEEE), 8 hex digits: a part that arrives otherwise is refused (400) and not kept")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "Exactly `part_size` bytes (the last part: the rest)"),
    responses((status = 200, body = UploadSession), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody, description = "Not the next part"), (status = 503, body = crate::error::ErrorBody)))]
pub async fn put_upload_part(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id, upload, n)): Path<(String, String, Uuid, Uuid, u32)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<UploadSession>> {
    let crc32 = part_crc32(&headers)?;
    let (user, r) = writer(&app, &u, (&owner, &name, id)).await?;
    let body = body.into_data_stream().map_err(|e| e.to_string());
    Ok(Json(uploads::put_part(&app.uploads, user, &r, upload, uploads::Part { n, crc32, body }).await?))
}

/// The part's CRC-32, if the client sent one (8 hex digits).
fn part_crc32(headers: &HeaderMap) -> Result<Option<u32>> {
    let Some(v) = headers.get(CRC32_HEADER) else { return Ok(None) };
    let crc = v.to_str().ok().filter(|v| v.len() == 8).and_then(|v| u32::from_str_radix(v, 16).ok());
    crc.map(Some).ok_or_else(|| Error::invalid(CRC32_HEADER, "must be the part's CRC-32 as 8 hex digits"))
}

#[utoipa::path(post, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/uploads/{upload}/complete", tag = "artifacts",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path), ("upload" = Uuid, Path)),
    responses((status = 201, body = ArtifactInfo), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody, description = "Parts are missing"), (status = 422, body = crate::error::ErrorBody)))]
pub async fn complete_upload(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id, upload)): SessionPath,
) -> Result<(StatusCode, Json<ArtifactInfo>)> {
    let (user, r) = writer(&app, &u, (&owner, &name, id)).await?;
    let info = uploads::complete(&app.uploads, user, &r, upload).await?;
    Ok((StatusCode::CREATED, Json(info)))
}
