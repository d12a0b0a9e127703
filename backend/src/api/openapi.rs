//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::extract::Json;

#[derive(OpenApi)]
#[openapi(
    info(title = "Myelin API", description = "Myelin's REST API. Authenticate with `Authorization: Bearer <token>` (personal API token) or a browser session."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
struct ApiDoc;

/// The document's head; the router (`api::v1`) adds every path as it registers the route.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

static DOC: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();

/// Keeps the document the router was built with, for `/api/v1/openapi.json`.
pub fn publish(mut doc: utoipa::openapi::OpenApi) {
    // axum's rest-of-path parameters (`{*key}`) are plain parameters in OpenAPI.
    doc.paths.paths = std::mem::take(&mut doc.paths.paths)
        .into_iter()
        .map(|(path, item)| (path.replace("{*", "{"), item))
        .collect();
    let _ = DOC.set(doc); // every router is built from the same code: the first document is the document
}

/// The OpenAPI document of `/api/v1`, as registered with the routes.
pub fn document() -> utoipa::openapi::OpenApi {
    DOC.get().cloned().unwrap_or_else(|| {
        let (_, doc) = super::v1::<crate::state::AppState>().split_for_parts();
        publish(doc);
        DOC.get().cloned().unwrap_or_default()
    })
}

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
    Json(document())
}
