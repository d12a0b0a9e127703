//! A project's components: saved from the editor, versioned by content hash, used with `hubRef`.

use axum::extract::State;
use axum::http::StatusCode;

use super::extract::{Json, Path};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::services::components::{self, ComponentSummary, ComponentVersion, SaveComponent};
use crate::services::projects;
use crate::state::AppState;

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/components", tag = "components",
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Vec<ComponentSummary>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list_components(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
) -> Result<Json<Vec<ComponentSummary>>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(components::list(&app.db, &a).await?))
}

#[utoipa::path(post, path = "/api/v1/projects/{owner}/{name}/components", tag = "components",
    params(("owner" = String, Path), ("name" = String, Path)), request_body = SaveComponent,
    responses((status = 201, body = ComponentVersion, description = "saved (or the same text's existing version)"),
              (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn save_component(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
    Json(req): Json<SaveComponent>,
) -> Result<(StatusCode, Json<ComponentVersion>)> {
    // Outsiders, signed in or not, learn nothing of the project: 404.
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    let me = u.ok_or(Error::NotFound("project"))?;
    Ok((StatusCode::CREATED, Json(components::save(&app.db, &a, &me, &req).await?)))
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/components/{component}", tag = "components",
    params(("owner" = String, Path), ("name" = String, Path), ("component" = String, Path)),
    responses((status = 200, body = Vec<ComponentVersion>, description = "its versions, newest first"),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_component(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, component)): Path<(String, String, String)>,
) -> Result<Json<Vec<ComponentVersion>>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(components::versions(&app.db, &a, &component).await?))
}
