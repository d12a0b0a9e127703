//! MLflow's tracking REST API (`/api/2.0/mlflow/...`) and artifact proxy (`/api/2.0/mlflow-artifacts/...`),
//! close enough that the unmodified `mlflow` client logs to Myelin. Experiments are projects (id = the
//! project's uuid in hex; `0` is the caller's `default` project), MLflow runs are Myelin runs (a run created
//! by a client outside Myelin is an `external` run). Errors come back in MLflow's shape.

mod artifacts;
mod experiments;
mod links;
mod logged;
mod logging;
mod metrics;
mod registry;
mod runs;
mod wire;

use axum::extract::{DefaultBodyLimit, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::{request::Parts, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use tower_sessions::Session;
use uuid::Uuid;

use crate::auth::cache::{Bearer, Stamp};
use crate::domain::Role;
use crate::entities::{run, user};
use crate::error::Error;
use crate::services::projects::{self, ProjectAccess};
use crate::services::runs::access::RunRef;
use crate::state::AppState;

pub fn router<S>() -> Router<S>
where
    AppState: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    // One line per route: the authorization matrix test reads this list.
    let latest = get(registry::latest_versions).post(registry::latest_versions);
    let alias = get(registry::get_by_alias).post(registry::set_alias).delete(registry::delete_alias);
    let logged_model = get(logged::get).patch(logged::finalize).delete(logged::delete);
    let api = Router::new()
        .route("/experiments/create", post(experiments::create))
        .route("/experiments/get", get(experiments::get))
        .route("/experiments/get-by-name", get(experiments::get_by_name))
        .route("/experiments/search", get(experiments::search).post(experiments::search))
        .route("/experiments/delete", post(experiments::delete))
        .route("/experiments/restore", post(experiments::restore))
        .route("/experiments/update", post(experiments::update))
        .route("/experiments/set-experiment-tag", post(experiments::set_tag))
        .route("/experiments/delete-experiment-tag", post(experiments::delete_tag))
        .route("/runs/create", post(runs::create))
        .route("/runs/get", get(runs::get))
        .route("/runs/update", post(runs::update))
        .route("/runs/delete", post(runs::delete))
        .route("/runs/restore", post(runs::restore))
        .route("/runs/search", post(runs::search))
        .route("/runs/log-metric", post(logging::log_metric))
        .route("/runs/log-batch", post(logging::log_batch))
        .route("/runs/log-parameter", post(logging::log_parameter))
        .route("/runs/set-tag", post(logging::set_tag))
        .route("/runs/delete-tag", post(logging::delete_tag))
        .route("/runs/log-inputs", post(logging::log_inputs))
        .route("/metrics/get-history", get(metrics::get_history))
        .route("/metrics/get-history-bulk-interval", get(metrics::get_history_bulk_interval))
        .route("/artifacts/list", get(artifacts::list_for_run))
        .route("/runs/outputs", post(logged::log_outputs))
        .route("/logged-models", post(logged::create))
        .route("/logged-models/search", post(logged::search))
        .route("/logged-models/{model_id}", logged_model)
        .route("/logged-models/{model_id}/tags", patch(logged::set_tags))
        .route("/logged-models/{model_id}/tags/{tag_key}", delete(logged::delete_tag))
        .route("/logged-models/{model_id}/params", post(logged::log_params))
        .route("/registered-models/create", post(registry::create_model))
        .route("/registered-models/get", get(registry::get_model))
        .route("/registered-models/rename", post(registry::rename_model))
        .route("/registered-models/update", patch(registry::update_model))
        .route("/registered-models/delete", delete(registry::delete_model))
        .route("/registered-models/search", get(registry::search_models).post(registry::search_models))
        .route("/registered-models/get-latest-versions", latest)
        .route("/registered-models/set-tag", post(registry::set_model_tag))
        .route("/registered-models/delete-tag", delete(registry::delete_model_tag))
        .route("/registered-models/alias", alias)
        .route("/model-versions/create", post(registry::create_version))
        .route("/model-versions/get", get(registry::get_version))
        .route("/model-versions/update", patch(registry::update_version))
        .route("/model-versions/delete", delete(registry::delete_version))
        .route("/model-versions/search", get(registry::search_versions).post(registry::search_versions))
        .route("/model-versions/get-download-uri", get(registry::download_uri))
        .route("/model-versions/set-tag", post(registry::set_version_tag))
        .route("/model-versions/delete-tag", delete(registry::delete_version_tag))
        .route("/model-versions/transition-stage", post(registry::transition_stage))
        .fallback(|| async { MlflowError(Error::NotFound("MLflow endpoint")) })
        .layer(DefaultBodyLimit::max(super::BODY_LIMIT * 16));
    let proxy = Router::new()
        .route("/artifacts", get(artifacts::list))
        .route("/artifacts/{*path}", get(artifacts::download).put(artifacts::upload))
        .layer(DefaultBodyLimit::disable());
    Router::new().nest("/api/2.0/mlflow", api).nest("/api/2.0/mlflow-artifacts", proxy).merge(links::router())
}

/// An error in MLflow's shape: `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "..."}`.
pub struct MlflowError(pub Error);

impl From<Error> for MlflowError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl From<sea_orm::DbErr> for MlflowError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for MlflowError {
    fn into_response(self) -> Response {
        let e = self.0;
        let (status, code) = match &e {
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST"),
            Error::Unauthenticated | Error::BadToken | Error::BadCredentials => {
                (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
            }
            Error::Forbidden(_) | Error::Csrf => (StatusCode::FORBIDDEN, "PERMISSION_DENIED"),
            Error::AlreadyExists(_) => (StatusCode::BAD_REQUEST, "RESOURCE_ALREADY_EXISTS"),
            Error::Conflict(_) => (StatusCode::BAD_REQUEST, "INVALID_STATE"),
            Error::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "INVALID_PARAMETER_VALUE"),
            // A quota (the project's artifacts): MLflow's code for an exhausted resource.
            Error::LimitExceeded(_) => (StatusCode::BAD_REQUEST, "RESOURCE_EXHAUSTED"),
            Error::TooMany(_) => (StatusCode::TOO_MANY_REQUESTS, "REQUEST_LIMIT_EXCEEDED"),
            Error::StoreUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "TEMPORARILY_UNAVAILABLE"),
            Error::Db(_) | Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
            _ => (StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE"),
        };
        if status.is_server_error() {
            tracing::error!(error = ?e, "MLflow request failed");
        }
        (status, axum::Json(json!({"error_code": code, "message": e.to_string()}))).into_response()
    }
}

pub type MResult<T> = std::result::Result<T, MlflowError>;

/// Who calls: a user (API token or browser session), or a run's own token (`MLFLOW_TRACKING_TOKEN`), which
/// reads its project and writes only to its run, and only while the run is not finished.
pub enum Principal {
    User(user::Model),
    /// A run token: its run and the user who submitted it.
    Run {
        run: RunRef,
        user: user::Model,
    },
}

impl<S> FromRequestParts<S> for Principal
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = MlflowError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> MResult<Self> {
        let app = AppState::from_ref(state);
        if let Some(token) = crate::auth::extract::bearer(parts) {
            let b = bearer(&app, token?).await?;
            return Ok(match b.run {
                Some(run) => Principal::Run { run, user: b.user },
                None => Principal::User(b.user),
            });
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| Error::Internal(format!("session layer missing: {msg}")))?;
        let user = crate::auth::session::user(&session, &app.db).await?;
        user.map(Principal::User).ok_or(MlflowError(Error::Unauthenticated))
    }
}

/// What a bearer token stands for (a run token, or a user's API token), through the grants cache.
async fn bearer(app: &AppState, secret: &str) -> MResult<Bearer> {
    let key = crate::auth::token::hash(secret);
    if let Some(b) = app.grants.bearers.get(&key) {
        return Ok(b);
    }
    let stamp = Stamp::now();
    let b = match crate::store::tokens::resolve(&app.db, secret).await? {
        Some((run, user)) => Bearer { user, run: Some(run) },
        None => {
            let user = crate::services::tokens::user_for_token(&app.db, secret).await?;
            Bearer { user: user.ok_or(Error::BadToken)?, run: None }
        }
    };
    app.grants.bearers.grant(key, stamp, b.clone());
    Ok(b)
}

impl Principal {
    pub fn user(&self) -> &user::Model {
        match self {
            Principal::User(u) | Principal::Run { user: u, .. } => u,
        }
    }

    /// The project behind an experiment id (`0`: the user's `default` project, made on first use).
    pub async fn experiment(&self, app: &AppState, id: &str) -> MResult<ProjectAccess> {
        let project = match (id, self) {
            ("0", Principal::Run { run, .. }) => run.project_id,
            ("0", Principal::User(u)) => return Ok(experiments::default_project(app, u).await?),
            (id, _) => parse_id(id, "experiment_id")?,
        };
        if let Principal::Run { run, .. } = self {
            if run.project_id != project {
                return Err(Error::NotFound("experiment").into());
            }
        }
        projects::access_by_id(&app.db, self.user(), project)
            .await
            .map_err(|_| MlflowError(Error::NotFound("experiment")))
    }

    /// A run the caller may read, or write (`write`: member role; a run token only its own run). One query for
    /// a user (the run joined with the caller's membership): this is on every logging call's path.
    pub async fn run(&self, app: &AppState, id: &str, write: bool) -> MResult<run::Model> {
        let id = parse_id(id, "run_id")?;
        let need = if write { Role::Member } else { Role::Viewer };
        Ok(match self {
            Principal::Run { run, .. } => {
                // A run token reaches its own project only, and writes to its own run only.
                let r = crate::services::runs::access::load(&app.db, id).await?;
                if run.project_id != r.project_id {
                    return Err(Error::NotFound("run").into());
                }
                if write && run.id != r.id {
                    return Err(Error::Forbidden("a run token may only write to its own run".into()).into());
                }
                crate::services::runs::access::require(&app.db, self.user(), &r, need).await?;
                r
            }
            Principal::User(u) => crate::services::runs::access::by_id(&app.db, u, id, need).await?,
        })
    }

    /// The run a logging call writes to: `run(…, true)`'s rule, answered from the grants cache when it can.
    pub async fn log_to(&self, app: &AppState, id: &str) -> MResult<RunRef> {
        let id = parse_id(id, "run_id")?;
        if let Principal::Run { run, .. } = self {
            if run.id != id {
                // Not its own run: the full check gives the refusal (not found, or forbidden).
                self.run(app, &hex(id), true).await?;
            }
        }
        let u = self.user();
        if let Some(r) = app.grants.writable.get(&(u.id, id)) {
            return Ok(r);
        }
        let stamp = Stamp::now();
        let r = crate::services::runs::access::writable(&app.db, u, id).await?;
        app.grants.writable.grant((u.id, id), stamp, r);
        Ok(r)
    }

    /// Several runs to read at once (two queries); any run the caller may not read is "not found".
    pub async fn readable_runs(&self, app: &AppState, ids: &[String]) -> MResult<Vec<uuid::Uuid>> {
        let ids = ids.iter().map(|i| parse_id(i, "run_ids")).collect::<Result<Vec<_>, _>>()?;
        let scope = match self {
            Principal::Run { run, .. } => Some(run.project_id),
            Principal::User(_) => None,
        };
        crate::services::runs::access::check_readable(&app.db, self.user(), &ids, scope).await?;
        Ok(ids)
    }

    /// The run's project, for the calls that change the run itself (delete, restore).
    pub async fn run_access(&self, app: &AppState, id: &str) -> MResult<(ProjectAccess, run::Model)> {
        let r = self.run(app, id, true).await?;
        Ok((projects::access_by_id(&app.db, self.user(), r.project_id).await?, r))
    }
}

/// A uuid in MLflow's hex form or the dashed form.
pub fn parse_id(s: &str, field: &'static str) -> std::result::Result<Uuid, Error> {
    Uuid::parse_str(s.trim()).map_err(|_| Error::invalid(field, format!("{field} {s:?} is not a valid id")))
}

pub fn hex(id: Uuid) -> String {
    id.simple().to_string()
}

/// A request message: the query string for GET (repeated keys become lists), the JSON body otherwise.
pub struct Msg<T>(pub T);

impl<S, T> FromRequest<S> for Msg<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = MlflowError;

    async fn from_request(req: Request, state: &S) -> MResult<Self> {
        let value = if req.method() == Method::GET {
            let mut obj = Map::new();
            for (k, v) in form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()) {
                let v = Value::String(v.into_owned());
                match obj.get_mut(k.as_ref()) {
                    Some(Value::Array(a)) => a.push(v),
                    Some(old) => *old = Value::Array(vec![old.take(), v]),
                    None => {
                        obj.insert(k.into_owned(), v);
                    }
                }
            }
            Value::Object(obj)
        } else {
            let bytes = axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|e| MlflowError(Error::BadRequest(format!("cannot read the request body: {e}"))))?;
            if bytes.is_empty() {
                Value::Object(Map::new())
            } else {
                serde_json::from_slice(&bytes)
                    .map_err(|e| MlflowError(Error::BadRequest(format!("malformed JSON: {e}"))))?
            }
        };
        serde_json::from_value(value)
            .map(Msg)
            .map_err(|e| MlflowError(Error::BadRequest(format!("invalid request message: {e}"))))
    }
}
