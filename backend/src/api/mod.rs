//! The REST API under `/api/v1`: thin handlers (extract, authorize, call a service, map the result).

pub mod accounts;
pub mod admin;
pub mod artifacts;
pub mod cluster;
pub mod compare;
pub mod components;
pub mod extract;
pub mod members;
pub mod mlflow;
pub mod openapi;
pub mod projects;
pub mod registry;
pub mod run_init;
pub mod runs;
pub mod serve_file;
pub mod tokens;
pub mod tracking;
pub mod uploads;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::Router;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::error::Error;
use crate::state::AppState;

/// Request bodies of the JSON API are small; larger uploads (artifacts) get their own limits.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Every `/api/v1` route with its OpenAPI entry, registered once: `routes!` reads each handler's method and
/// path from its `#[utoipa::path]`, so a handler cannot be served undocumented or documented unserved.
pub fn v1<S>() -> OpenApiRouter<S>
where
    AppState: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(accounts::sign_up))
        .routes(routes!(accounts::log_in))
        .routes(routes!(accounts::log_out))
        .routes(routes!(accounts::get_current_user))
        .routes(routes!(accounts::change_password))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(admin::get_settings, admin::update_settings))
        .routes(routes!(admin::create_invitation, admin::list_invitations))
        .routes(routes!(admin::revoke_invitation))
        .routes(routes!(admin::list_users))
        .routes(routes!(admin::change_user))
        .routes(routes!(admin::audit_log))
        .routes(routes!(admin::project_limits))
        .routes(routes!(admin::set_pod_policy))
        .routes(routes!(cluster::get_cluster))
        .routes(routes!(projects::list_projects, projects::create_project))
        .routes(routes!(projects::get_project, projects::update_project, projects::delete_project))
        .routes(routes!(projects::project_overview))
        .routes(routes!(members::list_members, members::add_member))
        .routes(routes!(members::change_member_role, members::remove_member))
        .routes(routes!(components::list_components, components::save_component))
        .routes(routes!(components::get_component))
        .routes(routes!(runs::list_runs, runs::create_run))
        .routes(routes!(runs::get_run, runs::delete_run))
        .routes(routes!(runs::get_run_graph))
        .routes(routes!(compare::compare_runs))
        .routes(routes!(compare::why_different))
        .routes(routes!(registry::list_models))
        .routes(routes!(registry::get_model, registry::update_model))
        .routes(routes!(registry::set_reviewers))
        .routes(routes!(registry::get_version))
        .routes(routes!(registry::request_promotion))
        .routes(routes!(registry::alias_history))
        .routes(routes!(registry::get_policy, registry::set_policy))
        .routes(routes!(registry::audit_trail))
        .routes(routes!(registry::inbox))
        .routes(routes!(registry::get_request))
        .routes(routes!(registry::approve))
        .routes(routes!(registry::reject))
        .routes(routes!(registry::comment))
        .routes(routes!(registry::cancel))
        .routes(routes!(runs::stop_run))
        .routes(routes!(runs::approve_run))
        .routes(routes!(runs::restart_run))
        .routes(routes!(runs::get_run_logs))
        .routes(routes!(runs::stream_run_logs))
        .routes(routes!(runs::stream_run_events))
        .routes(routes!(tracking::log_tracking))
        .routes(rest_of_path(routes!(tracking::get_metric_series)))
        .routes(routes!(artifacts::search_artifacts))
        .routes(routes!(artifacts::digest_consumers))
        .routes(routes!(artifacts::diff_artifacts))
        .routes(routes!(artifacts::run_lineage))
        .routes(routes!(artifacts::list_run_artifacts))
        .routes(routes!(artifacts::artifact_dir))
        .routes(rest_of_path(routes!(artifacts::preview_artifact)))
        .routes(rest_of_path(routes!(artifacts::download_run_artifact, artifacts::upload_run_artifact)))
        .routes(routes!(uploads::start_upload))
        .routes(routes!(uploads::get_upload, uploads::cancel_upload))
        .routes(routes!(uploads::put_upload_part))
        .routes(routes!(uploads::complete_upload))
        .routes(routes!(run_init::init_files))
        .routes(routes!(run_init::init_file))
}

pub fn router<S>() -> Router<S>
where
    AppState: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    let (v1, doc) = v1::<S>().split_for_parts();
    let v1 = v1
        .route("/api/v1/openapi.json", openapi::openapi_json(doc))
        .route("/api/v1/{*rest}", axum::routing::any(|| async { Error::NotFound("API endpoint") }))
        .route("/api/v1", axum::routing::any(|| async { Error::NotFound("API endpoint") }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    v1.merge(mlflow::router())
}

/// A route whose last path parameter takes the rest of the path (`a/b.txt`, `train/loss`): axum spells it
/// `{*name}`, OpenAPI `{name}` (`openapi::openapi_json` turns the one back into the other).
fn rest_of_path<S>((schemas, paths, router): UtoipaMethodRouter<S>) -> UtoipaMethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    let mut out = utoipa::openapi::path::Paths::new();
    for (path, item) in paths.paths {
        let rest = match path.rfind('{') {
            Some(i) => format!("{}{{*{}", &path[..i], &path[i + 1..]),
            None => path,
        };
        out.paths.insert(rest, item);
    }
    (schemas, out, router)
}
