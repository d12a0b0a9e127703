//! The OpenAPI document is generated from code; this snapshot makes every API change visible in review.

#[tokio::test]
async fn openapi_document_matches_the_snapshot() {
    let app = crate::helpers::TestApp::sqlite().await;
    let doc = app.get("/api/v1/openapi.json").send().await;
    assert_eq!(doc.status, 200);
    insta::assert_json_snapshot!("openapi", doc.json);
}
