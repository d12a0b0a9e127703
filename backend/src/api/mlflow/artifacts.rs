//! Artifacts: MLflow's proxy (`mlflow-artifacts:/<experiment>/<run>/artifacts/<path>`, what `log_artifact`
//! uses) and the tracking API's list. They land under the run's prefix in the artifact store.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Json;
use futures_util::TryStreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{hex, parse_id, MResult, Msg, Principal};
use crate::artifacts::{normalise, Artifacts};
use crate::entities::run;
use crate::error::Error;
use crate::state::AppState;

/// `<experiment>/<run>/artifacts[/<path>]` -> the run (checked against the experiment) and `artifacts[/path]`.
async fn locate(app: &AppState, who: &Principal, path: &str, write: bool) -> MResult<(run::Model, String)> {
    let mut parts = path.trim_matches('/').splitn(4, '/');
    let (exp, run_id, root, rest) = (parts.next(), parts.next(), parts.next(), parts.next());
    let (Some(exp), Some(run_id), Some("artifacts")) = (exp, run_id, root) else {
        return Err(Error::invalid(
            "path",
            format!("artifact path {path:?} is not <experiment>/<run>/artifacts/..."),
        )
        .into());
    };
    let r = who.run(app, run_id, write).await?;
    if parse_id(exp, "experiment_id")? != r.project_id {
        return Err(Error::NotFound("run").into());
    }
    let rel = match rest.filter(|s| !s.is_empty()) {
        Some(p) => format!("artifacts/{}", normalise(p)?),
        None => "artifacts".to_string(),
    };
    Ok((r, rel))
}

/// MLflow's FileInfo: directories carry no `file_size` at all.
fn file_info(path: &str, e: &crate::artifacts::Entry) -> Value {
    let mut v = json!({"path": path, "is_dir": e.is_dir});
    if let Some(size) = e.size {
        v["file_size"] = json!(size);
    }
    v
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

#[derive(Deserialize)]
pub struct ListReq {
    #[serde(default)]
    path: Option<String>,
}

pub async fn list(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<ListReq>,
) -> MResult<Json<Value>> {
    let (r, rel) = locate(&app, &who, req.path.as_deref().unwrap_or(""), false).await?;
    let entries = app.artifacts.list(r.project_id, r.id, &rel).await?;
    let files: Vec<Value> = entries.iter().map(|e| file_info(basename(&e.path), e)).collect();
    Ok(Json(json!({"files": files})))
}

pub async fn download(
    State(app): State<AppState>,
    who: Principal,
    Path(path): Path<String>,
    headers: axum::http::HeaderMap,
) -> MResult<impl IntoResponse> {
    let (r, rel) = locate(&app, &who, &path, false).await?;
    let key = Artifacts::run_key(r.project_id, r.id, &rel)?;
    Ok(crate::api::serve_file::serve_file(&app, &key, &headers, crate::api::serve_file::Serve::Bare).await?)
}

pub async fn upload(
    State(app): State<AppState>,
    who: Principal,
    Path(path): Path<String>,
    body: Body,
) -> MResult<Json<Value>> {
    let (r, rel) = locate(&app, &who, &path, true).await?;
    if rel == "artifacts" {
        return Err(Error::invalid("path", "give a file name after artifacts/").into());
    }
    let body = body.into_data_stream().map_err(|e| e.to_string());
    crate::services::artifacts::upload(&app.db, &app.artifacts, &r, &rel, body).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct RunListReq {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_uuid: Option<String>,
    #[serde(default)]
    path: Option<String>,
}

/// The tracking API's `artifacts/list`: paths relative to the run's artifact root.
pub async fn list_for_run(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<RunListReq>,
) -> MResult<Json<Value>> {
    let id = req.run_id.or(req.run_uuid).ok_or_else(|| Error::invalid("run_id", "run_id is required"))?;
    let r = who.run(&app, &id, false).await?;
    let sub = req.path.as_deref().filter(|p| !p.is_empty()).map(normalise).transpose()?;
    let rel = sub.map_or("artifacts".to_string(), |p| format!("artifacts/{p}"));
    let entries = app.artifacts.list(r.project_id, r.id, &rel).await?;
    let files: Vec<Value> =
        entries.iter().map(|e| file_info(e.path.strip_prefix("artifacts/").unwrap_or(&e.path), e)).collect();
    Ok(Json(json!({
        "root_uri": format!("mlflow-artifacts:/{}/{}/artifacts", hex(r.project_id), hex(r.id)),
        "files": files,
    })))
}
