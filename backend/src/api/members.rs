//! Members of a project and their roles.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::extract::{Json, Path};
use crate::auth::Caller;
use crate::domain::Role;
use crate::error::{Error, Result};
use crate::services::members::{self, Member};
use crate::services::projects;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewMember {
    pub username: String,
    pub role: Role,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RoleChange {
    pub role: Role,
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/members", tag = "members",
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Vec<Member>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list_members(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
) -> Result<Json<Vec<Member>>> {
    let access = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(members::list(&app.db, &access).await?))
}

#[utoipa::path(post, path = "/api/v1/projects/{owner}/{name}/members", tag = "members", request_body = NewMember,
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 201, body = Member), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn add_member(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
    Json(m): Json<NewMember>,
) -> Result<(StatusCode, Json<Member>)> {
    let access = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok((StatusCode::CREATED, Json(members::add(&app.db, &access, &m.username, m.role).await?)))
}

#[utoipa::path(patch, path = "/api/v1/projects/{owner}/{name}/members/{username}", tag = "members",
    request_body = RoleChange,
    params(("owner" = String, Path), ("name" = String, Path), ("username" = String, Path)),
    responses((status = 200, body = Member), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn change_member_role(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, username)): Path<(String, String, String)>,
    Json(c): Json<RoleChange>,
) -> Result<Json<Member>> {
    let access = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(members::set_role(&app.db, &access, &username, c.role).await?))
}

#[utoipa::path(delete, path = "/api/v1/projects/{owner}/{name}/members/{username}", tag = "members",
    params(("owner" = String, Path), ("name" = String, Path), ("username" = String, Path)),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn remove_member(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, username)): Path<(String, String, String)>,
) -> Result<StatusCode> {
    let access = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    let me = u.ok_or(Error::NotFound("project"))?;
    members::remove(&app.db, &access, &me, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}
