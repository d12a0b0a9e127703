//! Pipelines at scale on SQLite with the local executor and the server's own scheduler loop:
//! - a 1,000-child grid: submit (compile every child, store pipeline + children) until the API answers;
//! - scheduler overhead per op on a chain of ops: the upstream op's end -> the op `queued` (the driver), and
//!   `queued` -> `scheduled` (dispatch), from the runs' timelines.
//!
//! `cargo bench -p backend --bench pipelines`

use std::time::{Duration, Instant};

use backend::services::projects::ProjectUpdate;
use backend::services::runs::Submission;
use chrono::{DateTime, Utc};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const GRID: usize = 1000;
const WIDE: usize = 500;
const CHAIN: usize = 40;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (percentile(&v, 0.5), percentile(&v, 0.9), *v.last().unwrap())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = std::env::temp_dir().join(format!("myelin-bench-pipelines-{}", uuid::Uuid::new_v4().simple()));
    let url = backend::config::database_url(&dir, None);
    let (state, _store) =
        backend::server::prepare(&url, false, &dir, "http://127.0.0.1:9", None).await.expect("prepare");
    let user = backend::services::accounts::create_user(&state.db, "bench", "correct horse battery", false)
        .await
        .unwrap();
    backend::services::projects::create(&state.db, &user, "p", "").await.unwrap();
    let access = backend::services::projects::access(&state.db, Some(&user), "bench", "p").await.unwrap();
    let wide = ProjectUpdate { concurrency: Some(4), ..Default::default() };
    backend::services::projects::update(&state.db, &access, &wide).await.unwrap();
    let access = backend::services::projects::access(&state.db, Some(&user), "bench", "p").await.unwrap();

    // 1,000 children: created, not run (the scheduler is not started yet).
    let grid = format!(
        "kind: operation\nname: sweep\nmatrix:\n  kind: grid\n  concurrency: 4\n  params:\n    lr: {{kind: linspace, value: '0.0001:0.1:{}'}}\n    layers: {{kind: choice, value: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]}}\ncomponent:\n  inputs: [{{name: lr, type: float}}, {{name: layers, type: int}}]\n  run:\n    kind: job\n    container: {{image: 'python:3.12', command: [python, train.py], args: ['--lr={{{{ lr }}}}', '--layers={{{{ layers }}}}']}}\n",
        GRID / 10
    );
    let mut grid_times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let r = state
            .submit(&access, &user, &Submission { content: grid.clone(), ..Default::default() })
            .await
            .unwrap();
        grid_times.push(t.elapsed().as_secs_f64());
        let n = backend::services::pipelines::children(&state.db, r.summary.uuid).await.unwrap().len();
        assert_eq!(n, GRID);
        backend::services::runs::stop(&state.db, &state.executor, &access, r.summary.uuid).await.unwrap();
        // End it now (the driver would): its children never started.
        backend::services::pipelines::drive(&state.db, &state.executor, &state.connections).await.unwrap();
    }

    // One driver pass over a 500-op DAG whose ops all wait (the first one runs): the per-tick planning cost.
    let mut ops = String::from("  - {name: op0, component: {run: {kind: job, container: {image: 'busybox:1.36', command: [sleep, '600']}}}}\n");
    for i in 1..WIDE {
        ops.push_str(&format!(
            "  - {{name: op{i}, dependencies: [op{}], params: {{i: {{value: {i}}}}}, component: {{inputs: [{{name: i, type: int}}], run: {{kind: job, container: {{image: 'busybox:1.36', command: [echo, '{{{{ i }}}}']}}}}}}}}\n",
            (i - 1) / 2
        ));
    }
    let wide = format!("kind: component\nname: wide\nrun:\n  kind: dag\n  operations:\n{ops}");
    let t = Instant::now();
    let p = state.submit(&access, &user, &Submission { content: wide, ..Default::default() }).await.unwrap();
    let wide_submit = t.elapsed().as_secs_f64() * 1000.0;
    let mut passes = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        backend::services::pipelines::drive(&state.db, &state.executor, &state.connections).await.unwrap();
        passes.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    backend::services::runs::stop(&state.db, &state.executor, &access, p.summary.uuid).await.unwrap();
    backend::services::pipelines::drive(&state.db, &state.executor, &state.connections).await.unwrap();

    // A chain of trivial ops under the server's loop.
    state.spawn_scheduler();
    let mut ops = String::new();
    for i in 0..CHAIN {
        let deps = if i == 0 { String::new() } else { format!(", dependencies: [op{}]", i - 1) };
        ops.push_str(&format!(
            "  - {{name: op{i}{deps}, component: {{run: {{kind: job, container: {{image: 'busybox:1.36', command: [echo, op{i}]}}}}}}}}\n"
        ));
    }
    let chain = format!("kind: component\nname: chain\nrun:\n  kind: dag\n  operations:\n{ops}");
    let t = Instant::now();
    let p = state.submit(&access, &user, &Submission { content: chain, ..Default::default() }).await.unwrap();
    let id = p.summary.uuid;
    loop {
        let r = backend::services::runs::get(&state.db, &access, id).await.unwrap();
        if r.summary.status == spec::lifecycle::Status::Succeeded {
            break;
        }
        assert!(
            r.summary.status == spec::lifecycle::Status::Running,
            "{}: {:?}",
            r.summary.status,
            r.status_message
        );
        assert!(t.elapsed() < Duration::from_secs(120), "the chain did not finish in 2 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let chain_secs = t.elapsed().as_secs_f64();
    let kids = backend::services::pipelines::children(&state.db, id).await.unwrap();
    // (created, queued, scheduled, succeeded) per op.
    type Times = (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let mut at: Vec<Times> = Vec::new();
    for c in &kids {
        let r = backend::services::runs::get(&state.db, &access, c.id).await.unwrap();
        let when = |s: &str| r.timeline.iter().find(|e| e.status.as_str() == s).map(|e| e.at).unwrap();
        at.push((when("created"), when("queued"), when("scheduled"), when("succeeded")));
    }
    let ms = |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_microseconds().unwrap() as f64 / 1000.0;
    let driver: Vec<f64> = (1..at.len()).map(|i| ms(at[i - 1].3, at[i].1)).collect();
    let dispatch: Vec<f64> = at.iter().map(|a| ms(a.1, a.2)).collect();
    let handoff: Vec<f64> = (1..at.len()).map(|i| ms(at[i - 1].3, at[i].2)).collect();

    let (g50, g90, gmax) = median(grid_times.iter().map(|s| s * 1000.0).collect());
    println!("pipelines (SQLite, local executor, 2 cores)");
    println!("  {GRID}-child grid submitted (compile all + store): median {g50:.0} ms, p90 {g90:.0} ms, max {gmax:.0} ms (n={})", grid_times.len());
    println!("  {WIDE}-op DAG submitted (compile + store): {wide_submit:.0} ms");
    let (a, b, c) = median(passes);
    println!("  driver pass over the {WIDE}-op DAG (all ops waiting): median {a:.1} ms, p90 {b:.1} ms, max {c:.1} ms");
    println!("  {CHAIN}-op chain done in {chain_secs:.2} s");
    let (a, b, c) = median(driver);
    println!("  upstream succeeded -> op queued (driver):   median {a:.1} ms, p90 {b:.1} ms, max {c:.1} ms");
    let (a, b, c) = median(dispatch);
    println!("  op queued -> scheduled (dispatch):          median {a:.1} ms, p90 {b:.1} ms, max {c:.1} ms");
    let (a, b, c) = median(handoff);
    println!("  upstream succeeded -> op dispatched (total): median {a:.1} ms, p90 {b:.1} ms, max {c:.1} ms");
    // `make bench`'s rows (scripts/bench/table).
    let cmd = "cargo bench -p backend --bench pipelines";
    println!("BENCH|{GRID}-child grid submitted (compile all + store), median|{g50:.0} ms|–|–|{cmd}");
    println!("BENCH|{WIDE}-op DAG submitted (compile + store)|{wide_submit:.0} ms|–|–|{cmd}");
    println!("BENCH|upstream op succeeded -> next op dispatched, median|{a:.1} ms|–|–|{cmd}");
}
