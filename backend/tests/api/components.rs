//! Project components: saved from the editor, versioned by content hash, used by operations with `hubRef`.

use serde_json::json;

use crate::both_dbs;
use crate::helpers::TestApp;
use crate::pipelines::{drive_until, op};
use crate::runs::{setup, submit};

both_dbs!(saved_components_are_versioned_by_content_and_pipelines_use_them_by_hub_ref);

async fn saved_components_are_versioned_by_content_and_pipelines_use_them_by_hub_ref(app: TestApp) {
    let ann = setup(&app).await;
    let save = |content: &'static str| {
        let app = &app;
        let token = ann.token.clone();
        async move {
            app.post("/api/v1/projects/ann/p/components")
                .bearer(&token)
                .json(json!({"name": "greet", "content": content}))
                .send()
                .await
        }
    };
    let v1 = "kind: component\ninputs: [{name: who, type: str, value: world, isOptional: true}]\nrun: {kind: job, container: {image: 'busybox:1.36', command: [echo, 'hi {{ who }}']}}\n";
    let first = save(v1).await;
    assert_eq!(first.status, 201, "{}", first.json);
    let version = first.json["version"].as_str().unwrap().to_string();
    assert_eq!(version.len(), 64);
    assert_eq!(save(v1).await.json["version"], version.as_str(), "the same text is the same version");
    let v2 =
        save("kind: component\nrun: {kind: job, container: {image: 'busybox:1.36', command: [echo, v2]}}\n")
            .await;
    assert_ne!(v2.json["version"], version.as_str());
    let versions = app.get("/api/v1/projects/ann/p/components/greet").bearer(&ann.token).send().await;
    assert_eq!(versions.json.as_array().unwrap().len(), 2);
    let list = app.get("/api/v1/projects/ann/p/components").bearer(&ann.token).send().await;
    assert_eq!((list.json[0]["name"].as_str(), list.json[0]["versions"].as_u64()), (Some("greet"), Some(2)));
    let bad = app
        .post("/api/v1/projects/ann/p/components")
        .bearer(&ann.token)
        .json(json!({"name": "broken", "content": "kind: component\nrun:\n  kind: job\n  contianer: {}\n"}))
        .send()
        .await;
    assert_eq!(bad.status, 400, "{}", bad.json);
    assert!(bad.json["message"].as_str().unwrap().contains("4:3"), "{}", bad.json);

    // A pipeline op names a version by its first 12 hex digits.
    let flow = format!(
        "kind: component\nname: uses\nrun:\n  kind: dag\n  operations:\n  - name: hello\n    hubRef: greet:{}\n    params: {{who: {{value: ann}}}}\n",
        &version[..12]
    );
    let id = submit(&app, &ann, &flow, json!({})).await["uuid"].as_str().unwrap().to_string();
    assert_eq!(drive_until(&app, &ann, &id, &["succeeded", "failed"], |_| {}).await["status"], "succeeded");
    assert_eq!(op(&app, &ann, &id, "hello").await["params"]["who"], "ann");
    let unknown = app
        .post("/api/v1/projects/ann/p/runs")
        .bearer(&ann.token)
        .json(json!({"content": flow.replace("greet:", "nothing:")}))
        .send()
        .await;
    assert_eq!(unknown.status, 400, "{}", unknown.json);
}
