//! Projects the caller is a member of.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::extract::{Json, Path, Query};
use crate::auth::{Caller, CurrentUser};
use crate::error::Result;
use crate::services::projects::{self, ListQuery, Project, ProjectPage, ProjectUpdate};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewProject {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeleteQuery {
    /// Must repeat the project's name.
    pub confirm: String,
}

#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(ListQuery),
    responses((status = 200, body = ProjectPage), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list_projects(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<Json<ProjectPage>> {
    Ok(Json(projects::list(&app.db, &u, &q).await?))
}

#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = NewProject,
    responses((status = 201, body = Project), (status = 400, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn create_project(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(p): Json<NewProject>,
) -> Result<(StatusCode, Json<Project>)> {
    Ok((StatusCode::CREATED, Json(projects::create(&app.db, &u, &p.name, &p.description).await?)))
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}", tag = "projects",
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Project), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_project(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
) -> Result<Json<Project>> {
    Ok(Json(projects::access(&app.db, u.as_ref(), &owner, &name).await?.view()))
}

/// Runs by status, what runs and waits now (in queue order), the latest runs and pipelines, the best runs by a
/// metric (`?metric=loss&goal=min`).
#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/overview", tag = "projects",
    params(("owner" = String, Path), ("name" = String, Path), crate::services::overview::OverviewQuery),
    responses((status = 200, body = api_types::ProjectOverview), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn project_overview(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
    Query(q): Query<crate::services::overview::OverviewQuery>,
) -> Result<Json<api_types::ProjectOverview>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(crate::services::overview::overview(&app.db, &a, &q).await?))
}

#[utoipa::path(patch, path = "/api/v1/projects/{owner}/{name}", tag = "projects", request_body = ProjectUpdate,
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Project), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn update_project(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
    Json(change): Json<ProjectUpdate>,
) -> Result<Json<Project>> {
    let access = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(projects::update(&app.db, &access, &change).await?))
}

#[utoipa::path(delete, path = "/api/v1/projects/{owner}/{name}", tag = "projects",
    params(("owner" = String, Path), ("name" = String, Path), DeleteQuery),
    responses((status = 204), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete_project(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
    Query(q): Query<DeleteQuery>,
) -> Result<StatusCode> {
    let access = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    projects::delete(&app.db, &access, &q.confirm).await?;
    app.artifacts.delete_project(access.project.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
