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
use crate::artifacts::preview;
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
    /// Serve it to be shown in the page (images; HTML and PDF under `Content-Security-Policy: sandbox`) instead
    /// of as an attachment.
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

/// How a stored file is answered.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Serve<'a> {
    /// As a download named so.
    Attachment(&'a str),
    /// To be shown in the page: typed by its name, any active content sandboxed.
    Inline(&'a str),
    /// Bytes, no name (MLflow's artifact proxy).
    Bare,
}

/// The sandbox an inline file is shown in: scripts (a Plotly report's) may run, but in an opaque origin that
/// cannot read Myelin's cookies or DOM, and may reach nothing over the network.
const SANDBOX: &str = "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; img-src data: blob:; font-src data:; media-src data: blob:; connect-src 'none'; \
     form-action 'none'; frame-ancestors 'self'";

fn disposition(kind: &str, name: &str) -> HeaderValue {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' }).collect();
    let encoded = api_types::percent_encode(name);
    HeaderValue::from_str(&format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or(HeaderValue::from_static("attachment"))
}

/// A stored file, streamed: with `ETag`/`Last-Modified` and their conditional requests (`304`), one byte range
/// (`206`, `416`), typed as bytes unless shown inline, never sniffed into a page.
pub(crate) async fn serve_file(
    app: &AppState,
    key: &object_store::path::Path,
    req: &HeaderMap,
    how: Serve<'_>,
) -> Result<Response> {
    let meta = app.artifacts.meta(key).await?;
    let etag = meta.e_tag.as_deref().map(|t| format!("\"{}\"", t.trim_matches('"')));
    let modified = httpdate::fmt_http_date(std::time::SystemTime::from(meta.last_modified));
    let mut h = HeaderMap::new();
    if let Some(t) = etag.as_deref().and_then(|t| HeaderValue::from_str(t).ok()) {
        h.insert(header::ETAG, t);
    }
    h.insert(
        header::LAST_MODIFIED,
        HeaderValue::from_str(&modified).map_err(|_| Error::Internal("date".into()))?,
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    // A 304 carries the same policy as the answer it stands for: a browser merges its headers into the copy.
    match how {
        Serve::Attachment(name) => {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            h.insert(header::CONTENT_DISPOSITION, disposition("attachment", name));
        }
        Serve::Inline(name) => {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(preview::mime_of(name)));
            h.insert(header::CONTENT_DISPOSITION, disposition("inline", name));
            h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(SANDBOX));
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
        }
        Serve::Bare => {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
        }
    }
    if not_modified(req, etag.as_deref(), meta.last_modified) {
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    let (status, range) = match wanted_range(req, etag.as_deref(), &modified, meta.size) {
        Ok(None) => (StatusCode::OK, None),
        Ok(Some(r)) => {
            let v = format!("bytes {}-{}/{}", r.start, r.end - 1, meta.size);
            h.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&v).map_err(|_| Error::Internal("range".into()))?,
            );
            (StatusCode::PARTIAL_CONTENT, Some(r))
        }
        Err(()) => {
            let v = format!("bytes */{}", meta.size);
            h.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&v).map_err(|_| Error::Internal("range".into()))?,
            );
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, h).into_response());
        }
    };
    let len = range.as_ref().map_or(meta.size, |r| r.end - r.start);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    let body =
        if len == 0 { Body::empty() } else { Body::from_stream(app.artifacts.get_range(key, range).await?) };
    Ok((status, h, body).into_response())
}

/// `If-None-Match` (or, without it, `If-Modified-Since`) says the client's copy is current.
fn not_modified(req: &HeaderMap, etag: Option<&str>, modified: chrono::DateTime<chrono::Utc>) -> bool {
    if let Some(inm) = req.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        let Some(etag) = etag else { return false };
        return inm.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == "*" || t == etag);
    }
    let Some(since) = req.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok()) else { return false };
    match httpdate::parse_http_date(since) {
        Ok(since) => modified.timestamp() <= chrono::DateTime::<chrono::Utc>::from(since).timestamp(),
        Err(_) => false,
    }
}

/// The one range asked for (`None`: the whole file, also when several are asked for or `If-Range` no longer
/// matches), or `Err` when it lies outside the file.
fn wanted_range(
    req: &HeaderMap,
    etag: Option<&str>,
    modified: &str,
    size: u64,
) -> std::result::Result<Option<std::ops::Range<u64>>, ()> {
    let Some(range) = req.get(header::RANGE).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    if let Some(if_range) = req.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        if Some(if_range) != etag && if_range != modified {
            return Ok(None);
        }
    }
    let parsed = match http_range_header::parse_range_header(range) {
        Ok(p) => p,
        Err(_) => return Ok(None),
    };
    match parsed.validate(size) {
        Ok(ranges) if ranges.len() == 1 => Ok(Some(*ranges[0].start()..*ranges[0].end() + 1)),
        Ok(_) => Ok(None),
        Err(_) => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.clone(), HeaderValue::from_str(v).unwrap())).collect()
    }

    #[test]
    fn ranges_are_one_or_the_whole_file() {
        let date = "Thu, 03 Dec 2026 10:00:00 GMT";
        let r = |h: &[(header::HeaderName, &str)]| wanted_range(&headers(h), Some("\"t\""), date, 100);
        assert_eq!(r(&[]), Ok(None));
        assert_eq!(r(&[(header::RANGE, "bytes=0-9")]), Ok(Some(0..10)));
        assert_eq!(r(&[(header::RANGE, "bytes=-10")]), Ok(Some(90..100)));
        assert_eq!(r(&[(header::RANGE, "bytes=90-")]), Ok(Some(90..100)));
        assert_eq!(r(&[(header::RANGE, "bytes=0-1,5-6")]), Ok(None));
        assert_eq!(r(&[(header::RANGE, "bytes=200-300")]), Err(()));
        assert_eq!(r(&[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, "\"other\"")]), Ok(None));
        assert_eq!(r(&[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, "\"t\"")]), Ok(Some(0..10)));
    }

    #[test]
    fn conditional_requests() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z").unwrap().to_utc();
        let nm = |h: &[(header::HeaderName, &str)]| not_modified(&headers(h), Some("\"t\""), at);
        assert!(nm(&[(header::IF_NONE_MATCH, "\"x\", \"t\"")]));
        assert!(!nm(&[(header::IF_NONE_MATCH, "\"x\"")]));
        assert!(nm(&[(header::IF_MODIFIED_SINCE, "Thu, 03 Dec 2026 10:00:00 GMT")]));
        assert!(!nm(&[(header::IF_MODIFIED_SINCE, "Thu, 03 Dec 2026 09:59:59 GMT")]));
        assert!(!nm(&[]));
    }

    #[test]
    fn names_are_quoted_safely() {
        let v = disposition("attachment", "my \"file\"é.txt");
        assert_eq!(
            v.to_str().unwrap(),
            "attachment; filename=\"my__file__.txt\"; filename*=UTF-8''my%20%22file%22%C3%A9.txt"
        );
    }
}
