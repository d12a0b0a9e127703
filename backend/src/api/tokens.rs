//! Personal API tokens of the current user.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{Json, Path};
use crate::auth::CurrentUser;
use crate::error::Result;
use crate::services::tokens::{self, NewToken, TokenInfo};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    pub name: String,
    /// Days until the token stops working (1 to 3650); absent: until revoked.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/user/tokens", tag = "tokens",
    responses((status = 200, body = Vec<TokenInfo>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list_tokens(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<Vec<TokenInfo>>> {
    Ok(Json(tokens::list(&app.db, &u).await?))
}

#[utoipa::path(post, path = "/api/v1/user/tokens", tag = "tokens", request_body = TokenRequest,
    responses((status = 201, body = NewToken), (status = 400, body = crate::error::ErrorBody)))]
pub async fn create_token(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(r): Json<TokenRequest>,
) -> Result<(StatusCode, Json<NewToken>)> {
    Ok((StatusCode::CREATED, Json(tokens::create_expiring(&app.db, &u, &r.name, r.expires_in_days).await?)))
}

#[utoipa::path(delete, path = "/api/v1/user/tokens/{id}", tag = "tokens", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke_token(
    State(app): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<StatusCode> {
    tokens::revoke(&app.db, &u, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
