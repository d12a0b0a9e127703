//! Personal API tokens: shown once, stored hashed, usable as bearer tokens, revocable.

use serde_json::json;

use crate::both_dbs;
use crate::helpers::TestApp;

both_dbs!(tokens_are_shown_once_stored_hashed_and_revocable, malformed_bearer_headers_are_refused);

async fn tokens_are_shown_once_stored_hashed_and_revocable(app: TestApp) {
    let ann = app.user("ann").await;
    let created =
        app.post("/api/v1/user/tokens").bearer(&ann.token).json(json!({"name": "laptop"})).send().await;
    assert_eq!(created.status, 201);
    let secret = created.json["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("myelin_"));
    assert!(secret.starts_with(created.json["prefix"].as_str().unwrap()));

    use sea_orm::EntityTrait;
    let rows = backend::entities::api_token::Entity::find().all(&app.db).await.unwrap();
    assert!(
        rows.iter().all(|r| r.token_hash != secret && !r.token_hash.contains(&secret[7..])),
        "stored in clear"
    );

    let me = app.get("/api/v1/user").bearer(&secret).send().await;
    assert_eq!(me.json["username"], "ann");
    let list = app.get("/api/v1/user/tokens").bearer(&secret).send().await;
    let laptop = list.json.as_array().unwrap().iter().find(|t| t["name"] == "laptop").unwrap().clone();
    assert!(laptop.get("token").is_none(), "the secret is never listed");
    assert!(!laptop["last_used_at"].is_null(), "use is recorded");

    let id = laptop["id"].as_str().unwrap();
    let revoked = app
        .call(axum::http::Method::DELETE, &format!("/api/v1/user/tokens/{id}"))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(revoked.status, 204);
    let after = app.get("/api/v1/user").bearer(&secret).send().await;
    assert_eq!((after.status.as_u16(), after.error()), (401, "invalid_token"));
    let again = app
        .call(axum::http::Method::DELETE, &format!("/api/v1/user/tokens/{id}"))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(again.status, 404);

    // Someone else's token id is "not found" too.
    let bob = app.user("bob").await;
    let bobs = app.get("/api/v1/user/tokens").bearer(&bob.token).send().await;
    let bob_id = bobs.json[0]["id"].as_str().unwrap();
    let steal = app
        .call(axum::http::Method::DELETE, &format!("/api/v1/user/tokens/{bob_id}"))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(steal.status, 404);
    assert_eq!(app.get("/api/v1/user").bearer(&bob.token).send().await.status, 200);

    let unnamed = app.post("/api/v1/user/tokens").bearer(&ann.token).json(json!({"name": "  "})).send().await;
    assert_eq!(unnamed.json["field"], "name");
}

async fn malformed_bearer_headers_are_refused(app: TestApp) {
    for header in [
        "Bearer",
        "Bearer nonsense",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer myelin_forged0000000000000000000000000000000000",
    ] {
        let r = app.get("/api/v1/user").header("authorization", header).send().await;
        assert_eq!((r.status.as_u16(), r.error()), (401, "invalid_token"), "{header}");
    }
}
