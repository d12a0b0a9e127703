//! Server render of the projects page for a user with 1,000 projects (target: median under 10 ms).
//! `cargo bench -p app --bench projects_page`

use axum::body::Body;
use axum::http::{header, Request};
use criterion::{criterion_group, criterion_main, Criterion};
use http_body_util::BodyExt;
use tower::ServiceExt;

mod common;

async fn setup() -> (axum::Router, String) {
    let dir = std::env::temp_dir().join(format!("myelin-bench-{}", uuid::Uuid::new_v4()));
    let url = backend::config::database_url(&dir, None);
    let (state, store) =
        backend::server::prepare(&url, false, &dir, "http://127.0.0.1:0", None).await.unwrap();
    let user =
        backend::services::accounts::create_user(&state.db, "bench", "bench-password", true).await.unwrap();
    for i in 0..1000 {
        backend::services::projects::create(
            &state.db,
            &user,
            &format!("project-{i:04}"),
            "a benchmark project",
        )
        .await
        .unwrap();
    }
    let opts = app::serve::leptos_options("target/site", "127.0.0.1:0".parse().unwrap());
    let router = app::serve::router(state, &store, opts);
    let cookie = common::session_cookie(&router, "bench", "bench-password").await;
    (router, cookie)
}

fn projects_page(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (router, cookie) = rt.block_on(setup());
    c.bench_function("GET /projects (SSR, member of 1000 projects)", |b| {
        b.to_async(&rt).iter(|| async {
            let req = Request::get("/projects").header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
            let resp = router.clone().oneshot(req).await.unwrap();
            assert!(resp.status().is_success());
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert!(body.windows(12).any(|w| w == b"project-0999"));
        })
    });
}

criterion_group!(benches, projects_page);
criterion_main!(benches);
