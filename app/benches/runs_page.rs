//! Server render of a project's runs tab and of its overview (counts, queue, latest, best by `loss`), with
//! 10,000 runs that each logged `loss`. `cargo bench -p app --bench runs_page`

use axum::body::Body;
use axum::http::{header, Request};
use criterion::{criterion_group, criterion_main, Criterion};
use http_body_util::BodyExt;
use tower::ServiceExt;

mod common;

async fn setup() -> (axum::Router, String) {
    let dir = std::env::temp_dir().join(format!("myelin-bench-runs-{}", uuid::Uuid::new_v4()));
    let url = backend::config::database_url(&dir, None);
    let (state, store) =
        backend::server::prepare(&url, false, &dir, "http://127.0.0.1:0", None).await.unwrap();
    let user =
        backend::services::accounts::create_user(&state.db, "bench", "bench-password", true).await.unwrap();
    backend::services::projects::create(&state.db, &user, "p", "").await.unwrap();
    let access = backend::services::projects::access(&state.db, Some(&user), "bench", "p").await.unwrap();
    let sub = backend::services::runs::Submission {
        content: "kind: component\nname: bench\nrun: {kind: job, container: {image: 'busybox:1.36', command: ['true']}}\n".into(),
        ..Default::default()
    };
    for i in 0..10_000 {
        let id = state.submit(&access, &user, &sub).await.unwrap().summary.uuid;
        let r = backend::services::runs::find(&state.db, &access, id).await.unwrap();
        let loss = backend::services::tracking::Point {
            key: "loss".into(),
            value: 1.0 / (1.0 + i as f64),
            timestamp: i,
            step: 0,
        };
        backend::services::tracking::log(&state.db, &r, &[loss], &[], &[]).await.unwrap();
    }
    let opts = app::serve::leptos_options("target/site", "127.0.0.1:0".parse().unwrap());
    let router = app::serve::router(state, &store, opts);
    let cookie = common::session_cookie(&router, "bench", "bench-password").await;
    (router, cookie)
}

fn runs_page(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (router, cookie) = rt.block_on(setup());
    c.bench_function("GET /{owner}/{project}/runs (SSR, 10,000 runs)", |b| {
        b.to_async(&rt).iter(|| async {
            let req =
                Request::get("/bench/p/runs").header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
            let resp = router.clone().oneshot(req).await.unwrap();
            assert!(resp.status().is_success());
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert!(body.windows(10).any(|w| w == b"10000 runs"));
        })
    });
}

fn overview(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (router, cookie) = rt.block_on(setup());
    c.bench_function("GET /{owner}/{project} overview (SSR, 10,000 runs with loss)", |b| {
        b.to_async(&rt).iter(|| async {
            let req = Request::get("/bench/p").header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
            let resp = router.clone().oneshot(req).await.unwrap();
            assert!(resp.status().is_success());
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            let text = String::from_utf8_lossy(&body);
            assert!(
                text.contains("10000 in all"),
                "the counts: {}",
                &text[text.find("<main").unwrap_or(0)..][..3000.min(text.len())]
            );
            assert!(body.windows(6).any(|w| w == b"0.0001"), "the best loss (the last run's)");
        })
    });
}

criterion_group!(benches, runs_page, overview);
criterion_main!(benches);
