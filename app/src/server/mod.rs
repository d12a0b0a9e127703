//! Server functions, by area. Their bodies call `backend` services; the UI sees only the types below.

pub mod accounts;
pub mod artifacts;
pub mod cluster;
pub mod compare;
pub mod components;
pub mod listing;
pub mod overview;
pub mod pipelines;
pub mod projects;
pub mod registry;
pub mod runs;
pub mod tracking;

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// A server function's error, as the REST API answers one: the backend's stable snake_case `code` (the UI
/// branches on it: `not_found`, `unauthenticated`, ...) and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// The call itself failed (network, a body that does not decode): not the backend's answer.
    fn from_server_fn_error(e: ServerFnErrorErr) -> Self {
        AppError { code: "request_failed".into(), message: e.to_string() }
    }
}

#[cfg(feature = "ssr")]
pub(crate) mod ctx {
    //! Request context for server functions: state, session, the signed-in user, error mapping.

    use backend::entities::user;
    use backend::{AppState, Error};
    use leptos::prelude::*;

    use super::AppError;
    use tower_sessions::Session;

    pub fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| err(Error::Internal("state missing".into())))
    }

    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>().await.map_err(|e| err(Error::Internal(e.to_string())))
    }

    pub async fn user() -> Result<Option<user::Model>, AppError> {
        let st = state()?;
        backend::auth::session::user(&session().await?, &st.db).await.map_err(err)
    }

    pub async fn require_user() -> Result<user::Model, AppError> {
        user().await?.ok_or_else(|| err(Error::Unauthenticated))
    }

    /// Maps a backend error to a server function error, and sets the page's HTTP status to match.
    pub fn err(e: Error) -> AppError {
        if e.status().is_server_error() {
            tracing::error!(error = ?e, "server function failed");
        }
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(e.status());
        }
        let message = match &e {
            // The located diagnostics, one per line, as the CLI prints them.
            backend::Error::InvalidSpec(c) => c
                .errors
                .iter()
                .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
                .collect::<Vec<_>>()
                .join("\n"),
            other => other.to_string(),
        };
        AppError { code: e.code().to_string(), message }
    }
}
