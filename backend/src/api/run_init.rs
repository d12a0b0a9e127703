//! What a run's `artifacts` init steps read through the server: in a pod on Kubernetes, `myelin init` (with the
//! run's own token, `MYELIN_RUN_TOKEN`) asks which files a step names in the run's project, then reads each.
//! Pods need no credentials of the artifact store, and reach nothing but their run's project.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::extract::{Json, Query};
use super::mlflow::Principal;
use super::serve_file::{serve_file, Serve};
use crate::error::{Error, Result};
use crate::executor::init::Store;
use crate::services::runs::access::RunRef;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct InitFilesQuery {
    /// A path in the run's project (`<run uuid>/outputs/model.pkl`, or under the project's root).
    pub path: String,
    /// `true`: every file under the folder `path`.
    #[serde(default)]
    pub dir: bool,
}

/// One file an init step copies.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InitFile {
    /// Its path in the project (what `GET /api/v1/init/file` reads).
    pub from: String,
    /// Where it goes, relative to the step's destination.
    pub to: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InitFiles {
    pub files: Vec<InitFile>,
}

/// The run a run token stands for; any other caller is refused (these are for a run's own init steps).
fn own_run(who: &Principal) -> Result<RunRef> {
    match who {
        Principal::Run { run, .. } => Ok(*run),
        Principal::User(_) => Err(Error::Forbidden("only a run's own token reads its init files".into())),
    }
}

#[utoipa::path(get, path = "/api/v1/init/files", tag = "artifacts", params(InitFilesQuery),
    responses((status = 200, body = InitFiles), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn init_files(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<InitFilesQuery>,
) -> Result<Json<InitFiles>> {
    let run = own_run(&who)?;
    let store = Store { artifacts: &app.artifacts, project: run.project_id };
    let files = crate::executor::init::plan(&store, &q.path, q.dir).await.map_err(Error::BadRequest)?;
    Ok(Json(InitFiles { files: files.into_iter().map(|(from, to)| InitFile { from, to }).collect() }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct InitFileQuery {
    /// The file's path in the run's project, as `GET /api/v1/init/files` lists it.
    pub path: String,
}

#[utoipa::path(get, path = "/api/v1/init/file", tag = "artifacts", params(InitFileQuery),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn init_file(
    State(app): State<AppState>,
    who: Principal,
    Query(q): Query<InitFileQuery>,
    headers: HeaderMap,
) -> Result<Response> {
    let run = own_run(&who)?;
    let rel = crate::artifacts::normalise(&q.path)?;
    let key = object_store::path::Path::from(format!("{}/{rel}", run.project_id));
    serve_file(&app, &key, &headers, Serve::Bare).await
}
