//! Server functions, by area. Their bodies call `backend` services; the UI sees only the types below.

pub mod accounts;
pub mod cluster;
pub mod components;
pub mod pipelines;
pub mod projects;
pub mod runs;
pub mod tracking;

use leptos::prelude::ServerFnError;

/// Server function errors carry the backend's stable code in front of the message: `not_found: ...`.
pub fn error_code(e: &ServerFnError) -> &str {
    match e {
        ServerFnError::ServerError(m) => m.split_once(": ").map(|(c, _)| c).unwrap_or(""),
        _ => "",
    }
}

/// The message without its code, for showing to the user.
pub fn error_message(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m.split_once(": ").map(|(_, m)| m.to_string()).unwrap_or(m.clone()),
        other => other.to_string(),
    }
}

#[cfg(feature = "ssr")]
pub(crate) mod ctx {
    //! Request context for server functions: state, session, the signed-in user, error mapping.

    use backend::entities::user;
    use backend::{AppState, Error};
    use leptos::prelude::*;
    use tower_sessions::Session;

    pub fn state() -> Result<AppState, ServerFnError> {
        use_context::<AppState>().ok_or_else(|| ServerFnError::new("internal: state missing"))
    }

    pub async fn session() -> Result<Session, ServerFnError> {
        leptos_axum::extract::<Session>()
            .await
            .map_err(|e| ServerFnError::ServerError(format!("internal: {e}")))
    }

    pub async fn user() -> Result<Option<user::Model>, ServerFnError> {
        let st = state()?;
        backend::auth::session::user(&session().await?, &st.db).await.map_err(err)
    }

    pub async fn require_user() -> Result<user::Model, ServerFnError> {
        user().await?.ok_or_else(|| err(Error::Unauthenticated))
    }

    /// Maps a backend error to a server function error, and sets the page's HTTP status to match.
    pub fn err(e: Error) -> ServerFnError {
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
        ServerFnError::ServerError(format!("{}: {message}", e.code()))
    }
}
