//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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

/// `GET /api/v1/openapi.json`: the document the router was built with, serialized once. axum's
/// rest-of-path parameters (`{*key}`) are plain parameters in OpenAPI.
pub fn openapi_json<S>(mut doc: utoipa::openapi::OpenApi) -> axum::routing::MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    doc.paths.paths = std::mem::take(&mut doc.paths.paths)
        .into_iter()
        .map(|(path, item)| (path.replace("{*", "{"), item))
        .collect();
    let body = bytes::Bytes::from(serde_json::to_vec(&doc).expect("the OpenAPI document serializes"));
    axum::routing::get(move || {
        let body = body.clone();
        async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], body) }
    })
}
