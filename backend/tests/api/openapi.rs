//! The OpenAPI document is generated from code; this snapshot makes every API change visible in review.

#[tokio::test]
async fn openapi_document_matches_the_snapshot() {
    let app = crate::helpers::TestApp::sqlite().await;
    let doc = app.get("/api/v1/openapi.json").send().await;
    assert_eq!(doc.status, 200);
    // Sorted keys: JSON map order depends on serde_json features other crates turn on.
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!("openapi", doc.json);
    });
}
