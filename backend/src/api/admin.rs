//! Site settings and invitations, for site administrators only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::extract::ClientIp;
use super::extract::Json;
use crate::auth::CurrentUser;
use crate::error::Result;
use crate::services::invitations::{self, Invitation, NewInvitation};
use crate::services::project_limits::{self, PodPolicyChange, ProjectLimits};
use crate::services::settings::{self, SiteSettings};
use crate::state::AppState;

#[utoipa::path(get, path = "/api/v1/admin/settings", tag = "admin",
    responses((status = 200, body = SiteSettings), (status = 403, body = crate::error::ErrorBody)))]
pub async fn get_settings(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<SiteSettings>> {
    crate::services::accounts::require_site_admin(&u)?;
    Ok(Json(settings::get(&app.db).await?))
}

#[utoipa::path(put, path = "/api/v1/admin/settings", tag = "admin", request_body = SiteSettings,
    responses((status = 200, body = SiteSettings), (status = 403, body = crate::error::ErrorBody)))]
pub async fn update_settings(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(s): Json<SiteSettings>,
) -> Result<Json<SiteSettings>> {
    Ok(Json(settings::set_by(&app.db, &u, &s).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct InvitationRequest {
    /// Who it is for (shown in the admin's list).
    #[serde(default)]
    pub note: String,
    /// Hours the link stays valid (default 72, at most 720).
    #[serde(default)]
    pub valid_hours: Option<u32>,
}

#[utoipa::path(post, path = "/api/v1/admin/invitations", tag = "admin", request_body = InvitationRequest,
    responses((status = 201, body = NewInvitation, description = "The token is shown this once; the sign-up link is `/signup?invitation=TOKEN`"),
              (status = 403, body = crate::error::ErrorBody)))]
pub async fn create_invitation(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(r): Json<InvitationRequest>,
) -> Result<(StatusCode, Json<NewInvitation>)> {
    Ok((StatusCode::CREATED, Json(invitations::create(&app.db, &u, &r.note, r.valid_hours).await?)))
}

#[utoipa::path(get, path = "/api/v1/admin/invitations", tag = "admin",
    responses((status = 200, body = Vec<Invitation>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list_invitations(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<Vec<Invitation>>> {
    Ok(Json(invitations::list(&app.db, &u).await?))
}

#[utoipa::path(delete, path = "/api/v1/admin/invitations/{invitation}", tag = "admin",
    params(("invitation" = uuid::Uuid, Path)),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke_invitation(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<uuid::Uuid>,
) -> Result<StatusCode> {
    invitations::revoke(&app.db, &u, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UserChange {
    /// Disable (true) or re-enable (false) the account.
    pub disabled: bool,
}

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin",
    responses((status = 200, body = Vec<crate::services::accounts::UserInfo>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list_users(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<Vec<crate::services::accounts::UserInfo>>> {
    Ok(Json(crate::services::accounts::list_users(&app.db, &u).await?))
}

#[utoipa::path(patch, path = "/api/v1/admin/users/{username}", tag = "admin", request_body = UserChange,
    params(("username" = String, Path)),
    responses((status = 200, body = crate::services::accounts::UserInfo), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn change_user(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(username): Path<String>,
    Json(c): Json<UserChange>,
) -> Result<Json<crate::services::accounts::UserInfo>> {
    Ok(Json(crate::services::accounts::set_disabled(&app.db, &u, &username, c.disabled).await?))
}

#[utoipa::path(get, path = "/api/v1/admin/projects/{owner}/{name}", tag = "admin",
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = ProjectLimits), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn project_limits(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path((owner, name)): Path<(String, String)>,
) -> Result<Json<ProjectLimits>> {
    Ok(Json(project_limits::get(&app.db, &u, &owner, &name, app.artifacts.quota()).await?))
}

/// A project's pod policy, looser or tighter than the server's (audited as `project.pod_policy`).
#[utoipa::path(put, path = "/api/v1/admin/projects/{owner}/{name}/pod-policy", tag = "admin", request_body = PodPolicyChange,
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = ProjectLimits), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn set_pod_policy(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
    ClientIp(ip): ClientIp,
    Path((owner, name)): Path<(String, String)>,
    Json(c): Json<PodPolicyChange>,
) -> Result<Json<ProjectLimits>> {
    let quota = app.artifacts.quota();
    Ok(Json(project_limits::set_pod_policy(&app.db, &u, &owner, &name, &c, quota, ip).await?))
}

#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(crate::services::audit::AuditQuery),
    responses((status = 200, body = Vec<crate::services::audit::AuditEvent>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn audit_log(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
    super::extract::Query(q): super::extract::Query<crate::services::audit::AuditQuery>,
) -> Result<Json<Vec<crate::services::audit::AuditEvent>>> {
    Ok(Json(crate::services::audit::list(&app.db, &u, &q).await?))
}
