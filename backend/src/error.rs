//! One error type for the backend. It answers HTTP requests as `{"error": code, "message": ...}`; a 5xx
//! says nothing internal and its cause is logged once.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid username or password")]
    BadCredentials,
    #[error("invalid or revoked API token")]
    BadToken,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The state of a thing forbids the change (a running run, the last owner).
    #[error("{0}")]
    Conflict(String),
    /// A name or membership that must be unique is taken (also `409 conflict` to API clients).
    #[error("{0}")]
    AlreadyExists(String),
    #[error("too many attempts; try again in a minute")]
    RateLimited,
    #[error("request refused: cross-site request without a valid origin")]
    Csrf,
    #[error("sign-up is closed on this server; ask an administrator for an account")]
    SignupClosed,
    /// A request would cause more work than the server allows (the message names the limit).
    #[error("{0}")]
    LimitExceeded(String),
    /// The caller holds as many of something (open streams) as one caller may.
    #[error("{0}")]
    TooMany(String),
    /// DNS rebinding defence: the request named a host this server does not answer to.
    #[error("this server does not answer to host {0:?}: the operator can add it with --allowed-hosts or --public-url")]
    HostNotAllowed(String),
    #[error("request body is too large")]
    PayloadTooLarge,
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    #[error("the polyaxonfile is invalid: {}", first_error(.0))]
    InvalidSpec(Box<spec::Compiled>),
    #[error("{0}")]
    Unsupported(String),
    /// The pre-flight check: no node of the cluster could ever take the run (`force` queues it anyway).
    #[error("no node could ever run this: {message}; fix the spec, or submit with force to queue it anyway")]
    Unplaceable { code: &'static str, message: String },
    /// The artifact store cannot be reached or refuses the server, or the tracking writer cannot take a batch
    /// (the message names the fix).
    #[error("{0}")]
    StoreUnavailable(String),
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
    #[error("internal error")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid { field, message: message.into() }
    }

    /// The stable code clients (and the UI) switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::Invalid { .. } => "invalid_input",
            Error::Unauthenticated => "unauthenticated",
            Error::BadCredentials => "bad_credentials",
            Error::BadToken => "invalid_token",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) | Error::AlreadyExists(_) => "conflict",
            Error::RateLimited => "rate_limited",
            Error::Csrf => "csrf_failed",
            Error::SignupClosed => "signup_closed",
            Error::HostNotAllowed(_) => "host_not_allowed",
            Error::LimitExceeded(_) => "limit_exceeded",
            Error::TooMany(_) => "too_many_requests",
            Error::PayloadTooLarge => "payload_too_large",
            Error::UnsupportedMediaType => "unsupported_media_type",
            Error::InvalidSpec(_) => "invalid_spec",
            Error::Unsupported(_) => "unsupported",
            Error::Unplaceable { .. } => "unplaceable",
            Error::StoreUnavailable(_) => "store_unavailable",
            Error::Db(_) | Error::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) | Error::Invalid { .. } | Error::InvalidSpec(_) | Error::Unsupported(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::Unplaceable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Unauthenticated | Error::BadCredentials | Error::BadToken => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) | Error::Csrf | Error::SignupClosed => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) | Error::AlreadyExists(_) => StatusCode::CONFLICT,
            Error::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Error::HostNotAllowed(_) => StatusCode::MISDIRECTED_REQUEST,
            Error::LimitExceeded(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Db(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<tower_sessions::session::Error> for Error {
    fn from(e: tower_sessions::session::Error) -> Self {
        Error::Internal(format!("session: {e}"))
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code, e.g. `not_found`, `invalid_input`.
    pub error: String,
    pub message: String,
    /// The input field at fault, for `invalid_input`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

fn first_error(c: &spec::Compiled) -> String {
    c.errors.first().map(|e| format!("{}:{}: {}", e.line, e.column, e.message)).unwrap_or_default()
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::InvalidSpec(c) = &self {
            // The located diagnostics, as the editor and the CLI show them.
            let body = serde_json::json!({"error": self.code(), "message": self.to_string(), "errors": c.errors, "warnings": c.warnings});
            return (self.status(), axum::Json(body)).into_response();
        }
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        let field = match &self {
            Error::Invalid { field, .. } => Some(field.to_string()),
            Error::Unplaceable { code, .. } => Some(code.to_string()),
            _ => None,
        };
        let body = ErrorBody { error: self.code().into(), message: self.to_string(), field };
        (status, axum::Json(body)).into_response()
    }
}
