//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::extract::Json;

#[derive(OpenApi)]
#[openapi(
    info(title = "Myelin API", description = "Myelin's REST API. Authenticate with `Authorization: Bearer <token>` (personal API token) or a browser session."),
    paths(
        super::accounts::sign_up, super::accounts::log_in, super::accounts::log_out,
        super::accounts::get_current_user, super::accounts::change_password,
        super::tokens::list_tokens, super::tokens::create_token, super::tokens::revoke_token,
        super::admin::get_settings, super::admin::update_settings,
        super::projects::list_projects, super::projects::create_project, super::projects::get_project,
        super::projects::update_project, super::projects::delete_project,
        super::members::list_members, super::members::add_member, super::members::change_member_role,
        super::members::remove_member,
        super::runs::create_run, super::runs::list_runs, super::runs::get_run, super::runs::get_run_graph, super::runs::stop_run,
        super::runs::restart_run, super::runs::delete_run, super::runs::get_run_logs, super::runs::stream_run_logs, super::runs::stream_run_events,
        super::tracking::log_tracking, super::tracking::get_metric_series, super::tracking::list_run_artifacts,
        super::tracking::download_run_artifact,
        super::cluster::get_cluster,
        super::components::list_components, super::components::save_component, super::components::get_component,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
