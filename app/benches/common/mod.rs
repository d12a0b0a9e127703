//! Shared by the page benchmarks: a signed-in session cookie.

use axum::body::Body;
use axum::http::{header, Request};
use tower::ServiceExt;

/// Logs in through the API and returns the `name=value` of the session cookie.
pub async fn session_cookie(router: &axum::Router, username: &str, password: &str) -> String {
    let body = serde_json::json!({"username": username, "password": password}).to_string();
    let login = Request::post("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let resp = router.clone().oneshot(login).await.unwrap();
    assert!(resp.status().is_success(), "login failed: {}", resp.status());
    resp.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string()
}
