//! The REST API under `/api/v1`: thin handlers (extract, authorize, call a service, map the result).

pub mod accounts;
pub mod admin;
pub mod cluster;
pub mod components;
pub mod extract;
pub mod members;
pub mod mlflow;
pub mod openapi;
pub mod projects;
pub mod runs;
pub mod tokens;
pub mod tracking;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{get, post, put};
use axum::Router;

use crate::error::Error;
use crate::state::AppState;

/// Request bodies of the JSON API are small; larger uploads (artifacts) get their own limits.
pub const BODY_LIMIT: usize = 1024 * 1024;

pub fn router<S>() -> Router<S>
where
    AppState: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    let v1 = Router::new()
        .route("/auth/signup", post(accounts::sign_up))
        .route("/auth/login", post(accounts::log_in))
        .route("/auth/logout", post(accounts::log_out))
        .route("/user", get(accounts::get_current_user))
        .route("/user/password", put(accounts::change_password))
        .route("/user/tokens", get(tokens::list_tokens).post(tokens::create_token))
        .route("/user/tokens/{id}", axum::routing::delete(tokens::revoke_token))
        .route("/admin/settings", get(admin::get_settings).put(admin::update_settings))
        .route("/cluster", get(cluster::get_cluster))
        .route("/projects", get(projects::list_projects).post(projects::create_project))
        .route(
            "/projects/{owner}/{name}",
            get(projects::get_project).patch(projects::update_project).delete(projects::delete_project),
        )
        .route("/projects/{owner}/{name}/members", get(members::list_members).post(members::add_member))
        .route(
            "/projects/{owner}/{name}/members/{username}",
            axum::routing::patch(members::change_member_role).delete(members::remove_member),
        )
        .route(
            "/projects/{owner}/{name}/components",
            get(components::list_components).post(components::save_component),
        )
        .route("/projects/{owner}/{name}/components/{component}", get(components::get_component))
        .route("/projects/{owner}/{name}/runs", get(runs::list_runs).post(runs::create_run))
        .route("/projects/{owner}/{name}/runs/{uuid}", get(runs::get_run).delete(runs::delete_run))
        .route("/projects/{owner}/{name}/runs/{uuid}/graph", get(runs::get_run_graph))
        .route("/projects/{owner}/{name}/runs/{uuid}/stop", post(runs::stop_run))
        .route("/projects/{owner}/{name}/runs/{uuid}/restart", post(runs::restart_run))
        .route("/projects/{owner}/{name}/runs/{uuid}/logs", get(runs::get_run_logs))
        .route("/projects/{owner}/{name}/runs/{uuid}/logs/stream", get(runs::stream_run_logs))
        .route("/projects/{owner}/{name}/runs/{uuid}/events", get(runs::stream_run_events))
        .route("/projects/{owner}/{name}/runs/{uuid}/tracking", post(tracking::log_tracking))
        .route("/projects/{owner}/{name}/runs/{uuid}/metrics/{*key}", get(tracking::get_metric_series))
        .route("/projects/{owner}/{name}/runs/{uuid}/artifacts", get(tracking::list_run_artifacts))
        .route("/projects/{owner}/{name}/runs/{uuid}/artifacts/{*path}", get(tracking::download_run_artifact))
        .route("/openapi.json", get(openapi::openapi_json))
        .fallback(|| async { Error::NotFound("API endpoint") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    Router::new().nest("/api/v1", v1).merge(mlflow::router())
}
