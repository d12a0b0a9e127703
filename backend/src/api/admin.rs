//! Site settings, for site administrators only.

use axum::extract::State;

use super::extract::Json;
use crate::auth::CurrentUser;
use crate::error::{Error, Result};
use crate::services::settings::{self, SiteSettings};
use crate::state::AppState;

fn require_admin(u: &crate::entities::user::Model) -> Result<()> {
    if u.is_admin {
        Ok(())
    } else {
        Err(Error::Forbidden("site administrators only".into()))
    }
}

#[utoipa::path(get, path = "/api/v1/admin/settings", tag = "admin",
    responses((status = 200, body = SiteSettings), (status = 403, body = crate::error::ErrorBody)))]
pub async fn get_settings(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<SiteSettings>> {
    require_admin(&u)?;
    Ok(Json(settings::get(&app.db).await?))
}

#[utoipa::path(put, path = "/api/v1/admin/settings", tag = "admin", request_body = SiteSettings,
    responses((status = 200, body = SiteSettings), (status = 403, body = crate::error::ErrorBody)))]
pub async fn update_settings(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(s): Json<SiteSettings>,
) -> Result<Json<SiteSettings>> {
    require_admin(&u)?;
    Ok(Json(settings::set(&app.db, &s).await?))
}
