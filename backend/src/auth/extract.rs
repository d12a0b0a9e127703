//! Extractors for the caller: a bearer token (CLI, scripts) or the browser session.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::{header, request::Parts};
use tower_sessions::Session;

use crate::entities::user;
use crate::error::Error;
use crate::state::AppState;

/// The token of an `Authorization: Bearer …` header: `None` without the header, `BadToken` when it is not a
/// bearer token.
pub fn bearer(parts: &Parts) -> Option<Result<&str, Error>> {
    let value = parts.headers.get(header::AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(Error::BadToken),
    )
}

/// The caller, who may be anonymous.
pub struct Caller(pub Option<user::Model>);

/// A signed-in caller; anonymous requests get `401 unauthenticated`.
pub struct CurrentUser(pub user::Model);

impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let app = AppState::from_ref(state);
        if let Some(token) = bearer(parts) {
            let user = crate::services::tokens::user_for_token(&app.db, token?).await?;
            return user.map(|u| Caller(Some(u))).ok_or(Error::BadToken);
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| Error::Internal(format!("session layer missing: {msg}")))?;
        Ok(Caller(super::session::user(&session, &app.db).await?))
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let Caller(user) = Caller::from_request_parts(parts, state).await?;
        user.map(CurrentUser).ok_or(Error::Unauthenticated)
    }
}
