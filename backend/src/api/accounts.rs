//! Sign-up, log-in and log-out (browser sessions), the current user, password changes.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::extract::{ClientIp, Json};
use crate::auth::{session, CurrentUser};
use crate::error::{Error, Result};
use crate::services::accounts::{self, UserInfo};
use crate::services::tokens;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    /// With log-in: also create a personal API token with this name and return it (used by `myelin login`).
    #[serde(default)]
    pub token_name: Option<String>,
    /// With sign-up while it is closed: the token of an invitation link (`/signup?invitation=TOKEN`).
    #[serde(default)]
    pub invitation: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub user: UserInfo,
    /// Present when `token_name` was given: shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = Credentials,
    responses((status = 201, body = UserInfo), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn sign_up(
    State(app): State<AppState>,
    sess: Session,
    Json(c): Json<Credentials>,
) -> Result<(StatusCode, Json<UserInfo>)> {
    let u = accounts::sign_up(&app.db, &c.username, &c.password, c.invitation.as_deref()).await?;
    session::log_in(&sess, &u).await?;
    Ok((StatusCode::CREATED, Json(UserInfo::from(&u))))
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = Credentials,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody)))]
pub async fn log_in(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    sess: Session,
    Json(c): Json<Credentials>,
) -> Result<Json<LoginResponse>> {
    if !app.limiter.allow(&c.username.trim().to_ascii_lowercase(), ip) {
        return Err(Error::RateLimited);
    }
    let u = accounts::log_in(&app.db, &c.username, &c.password, ip).await?;
    let token = match c.token_name.as_deref() {
        Some(name) => Some(tokens::create(&app.db, &u, name).await?.token),
        None => {
            session::log_in(&sess, &u).await?;
            None
        }
    };
    Ok(Json(LoginResponse { user: UserInfo::from(&u), token }))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn log_out(sess: Session) -> Result<StatusCode> {
    session::log_out(&sess).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/user", tag = "auth",
    responses((status = 200, body = UserInfo), (status = 401, body = crate::error::ErrorBody)))]
pub async fn get_current_user(CurrentUser(u): CurrentUser) -> Json<UserInfo> {
    Json(UserInfo::from(&u))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[utoipa::path(put, path = "/api/v1/user/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)))]
pub async fn change_password(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
    sess: Session,
    Json(c): Json<PasswordChange>,
) -> Result<StatusCode> {
    let u = accounts::change_password(&app.db, &u, &c.current_password, &c.new_password).await?;
    // Other sessions die with the old password; keep this one.
    if session::user(&sess, &app.db).await.is_ok() {
        session::log_in(&sess, &u).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
