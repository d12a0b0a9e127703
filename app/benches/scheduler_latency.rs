//! Submit -> process started, on SQLite with the local executor: the median over 50 runs, taken from the
//! runs' own timelines (`created` to `running`). `cargo bench -p app --bench scheduler_latency`

use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(format!("myelin-bench-sched-{}", uuid::Uuid::new_v4()));
    let url = backend::config::database_url(&dir, None);
    let (state, _store) =
        backend::server::prepare(&url, false, &dir, "http://127.0.0.1:0", None).await.unwrap();
    state.spawn_scheduler();
    let user =
        backend::services::accounts::create_user(&state.db, "bench", "bench-password", true).await.unwrap();
    backend::services::projects::create(&state.db, &user, "p", "").await.unwrap();
    let access = backend::services::projects::access(&state.db, Some(&user), "bench", "p").await.unwrap();
    let sub = backend::services::runs::Submission {
        content: "kind: component\nrun: {kind: job, container: {image: 'busybox:1.36', command: ['true']}}\n"
            .into(),
        ..Default::default()
    };
    let mut latencies = Vec::new();
    for _ in 0..50 {
        let run = state.submit(&access, &user, &sub).await.unwrap();
        state.wake.notify_one();
        let id = run.summary.uuid;
        loop {
            let events = backend::entities::run_event::Entity::find()
                .filter(backend::entities::run_event::Column::RunId.eq(id))
                .all(&state.db)
                .await
                .unwrap();
            let at = |s: &str| events.iter().find(|e| e.status == s).map(|e| e.at);
            if let (Some(created), Some(running)) = (at("created"), at("running")) {
                if at("succeeded").is_some() || at("failed").is_some() {
                    latencies.push((running - created).num_microseconds().unwrap() as f64 / 1000.0);
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = latencies[latencies.len() / 2];
    let p90 = latencies[latencies.len() * 9 / 10];
    println!("scheduler latency, submit -> process running (50 runs, SQLite, local executor): median {median:.1} ms, p90 {p90:.1} ms");
    println!("BENCH|submit -> process running (local executor, SQLite), median|{median:.1} ms|–|–|cargo bench -p app --bench scheduler_latency");
}
