//! Metric history for 100 runs x 10,000 steps, read back downsampled to 500 points each (the chart path), and
//! MLflow's bulk-interval read of the same data, at the service level on SQLite.
//! `cargo bench -p app --bench metric_history`

use criterion::{criterion_group, criterion_main, Criterion};

async fn setup() -> (sea_orm::DatabaseConnection, Vec<uuid::Uuid>) {
    let dir = std::env::temp_dir().join(format!("myelin-bench-history-{}", uuid::Uuid::new_v4()));
    let url = backend::config::database_url(&dir, None);
    let (state, _) = backend::server::prepare(&url, false, &dir, "http://127.0.0.1:0", None).await.unwrap();
    let user =
        backend::services::accounts::create_user(&state.db, "bench", "bench-password", true).await.unwrap();
    backend::services::projects::create(&state.db, &user, "p", "").await.unwrap();
    let access = backend::services::projects::access(&state.db, Some(&user), "bench", "p").await.unwrap();
    let mut runs = Vec::new();
    for _ in 0..100 {
        let r =
            backend::services::runs::create_external(&state.db, &access, &user, None, None).await.unwrap();
        for batch in 0..10 {
            let points: Vec<_> = (batch * 1000..(batch + 1) * 1000)
                .map(|s| backend::services::tracking::Point {
                    key: "loss".into(),
                    value: 1.0 / (s as f64 + 1.0),
                    timestamp: 1_700_000_000_000 + s,
                    step: s,
                })
                .collect();
            backend::services::tracking::log(&state.db, &r, &points, &[], &[]).await.unwrap();
        }
        runs.push(r.id);
    }
    (state.db, runs)
}

fn history(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (db, runs) = rt.block_on(setup());
    let mut g = c.benchmark_group("metric history, 100 runs x 10,000 steps");
    g.sample_size(20);
    g.bench_function("downsampled to 500 points each (charts)", |b| {
        b.to_async(&rt).iter(|| async {
            let s = backend::services::tracking::history::series(&db, &runs, "loss", 500).await.unwrap();
            assert_eq!(s.len(), 100);
        })
    });
    g.bench_function("bulk-interval, 500 steps each (MLflow)", |b| {
        b.to_async(&rt).iter(|| async {
            let s = backend::services::tracking::history::bulk_interval(&db, &runs, "loss", None, None, 500)
                .await
                .unwrap();
            assert_eq!(s.len(), 50_000);
        })
    });
    g.finish();
}

criterion_group!(benches, history);
criterion_main!(benches);
