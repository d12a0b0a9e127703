//! Comparing runs at scale (issue #16): R runs x P params x M metrics x S steps seeded through the tracking
//! service, then the compare endpoint (`POST /api/v1/projects/{o}/{n}/compare`: every row of the table and the
//! charted keys' series, downsampled to 500 points a line) timed over HTTP for 500 and 1,000 runs.
//!
//! `cargo bench -p backend --bench compare` runs on SQLite; `MYELIN_BENCH_DATABASE_URL=postgres://…/db` on
//! PostgreSQL (an empty database). `MYELIN_BENCH_MLFLOW=<python with mlflow>` (scripts/bench/mlflow-server-venv)
//! also seeds MLflow's server with the 500 runs' params and one metric and times what its compare view needs:
//! `runs/search` for those runs and `get-history-bulk-interval` (100 runs a call, its limit) for the metric.
//! Sizes: `MYELIN_BENCH_RUNS` (2000), `MYELIN_BENCH_PARAMS` (30), `MYELIN_BENCH_METRICS` (10),
//! `MYELIN_BENCH_STEPS` (10000). `MYELIN_BENCH_DATA_DIR=DIR` keeps the seeded SQLite database there and reuses it
//! on the next run (seeding 200 million points takes minutes).

#[path = "peer/mlflow_server.rs"]
mod mlflow_server;

use std::time::{Duration, Instant};

use backend::services::tracking::Point;
use futures_util::StreamExt;
use serde_json::{json, Value};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn p50(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

struct Sizes {
    runs: usize,
    params: usize,
    metrics: usize,
    steps: usize,
}

fn value(run: usize, metric: usize, step: usize) -> f64 {
    let decay = 1.0 / (1.0 + step as f64 / (100.0 + run as f64));
    decay + ((run * 31 + metric * 7 + step) % 97) as f64 / 1000.0
}

fn params(run: usize, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|p| {
            (format!("p{p:02}"), if p % 3 == 0 { "same".into() } else { ((run * (p + 1)) % 50).to_string() })
        })
        .collect()
}

/// Seeds Myelin through the tracking service; returns the server's base URL, a token and the runs' uuids.
async fn myelin(s: &Sizes) -> (String, String, Vec<String>) {
    let kept = std::env::var("MYELIN_BENCH_DATA_DIR").ok().map(std::path::PathBuf::from);
    let dir = kept.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("myelin-bench-{}", uuid::Uuid::new_v4().simple()))
    });
    let marker = dir.join(format!("seeded-{}x{}x{}x{}", s.runs, s.params, s.metrics, s.steps));
    let url = std::env::var("MYELIN_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| backend::config::database_url(&dir, None));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let (state, store) = backend::server::prepare(&url, false, &dir, &public, None).await.unwrap();
    let db = state.db.clone();
    let reuse = kept.is_some() && marker.exists();
    let u = if reuse {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let user = backend::entities::user::Entity::find()
            .filter(backend::entities::user::Column::Username.eq("bench"));
        user.one(&db).await.unwrap().expect("the seeded user")
    } else {
        backend::services::accounts::create_user(&db, "bench", "a long enough password", true).await.unwrap()
    };
    let label = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let token = backend::services::tokens::create(&db, &u, &label).await.unwrap().token;
    if !reuse {
        backend::services::projects::create(&db, &u, "cmp", "").await.unwrap();
    }
    let access = backend::services::projects::access(&db, Some(&u), "bench", "cmp").await.unwrap();
    let app = backend::server::api_only(state, &store)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(backend::server::listener(listener), app).await });

    if reuse {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        let runs = backend::entities::run::Entity::find()
            .filter(backend::entities::run::Column::ProjectId.eq(access.project.id))
            .order_by_asc(backend::entities::run::Column::CreatedAt)
            .all(&db)
            .await
            .unwrap();
        eprintln!("myelin: reusing {} seeded runs in {}", runs.len(), dir.display());
        // A database seeded before summaries existed gets them now, not while being timed.
        let t = Instant::now();
        let n = backend::services::tracking::chunks::summarise_missing(&db).await.unwrap();
        eprintln!("myelin: summarised {n} older chunks in {:.0?}", t.elapsed());
        return (public, token, runs.into_iter().map(|r| r.id.to_string()).collect());
    }
    let seed = Instant::now();
    let mut ids = Vec::with_capacity(s.runs);
    for r in 0..s.runs {
        let run = backend::services::runs::create_external(&db, &access, &u, Some(&format!("run-{r}")), None)
            .await
            .unwrap();
        backend::services::tracking::log(&db, &run, &[], &params(r, s.params), &[]).await.unwrap();
        for m in 0..s.metrics {
            for start in (0..s.steps).step_by(1000) {
                let points: Vec<Point> = (start..(start + 1000).min(s.steps))
                    .map(|step| Point {
                        key: format!("m{m}"),
                        value: value(r, m, step),
                        timestamp: 1_700_000_000_000 + step as i64,
                        step: step as i64,
                    })
                    .collect();
                backend::services::tracking::log(&db, &run, &points, &[], &[]).await.unwrap();
            }
        }
        ids.push(run.id.to_string());
        if (r + 1) % 100 == 0 {
            eprintln!("myelin: seeded {} runs in {:.0?}", r + 1, seed.elapsed());
        }
    }
    eprintln!(
        "myelin: seeded {} runs x {} params x {} metrics x {} steps in {:.0?}",
        s.runs,
        s.params,
        s.metrics,
        s.steps,
        seed.elapsed()
    );
    if kept.is_some() {
        std::fs::write(&marker, "").unwrap();
    }
    (public, token, ids)
}

async fn time_compare(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    runs: &[String],
    keys: &[&str],
) -> (f64, usize) {
    let mut lat = Vec::new();
    let mut bytes = 0;
    for _ in 0..11 {
        let start = Instant::now();
        let resp = http
            .post(format!("{base}/api/v1/projects/bench/cmp/compare"))
            .bearer_auth(token)
            .json(&json!({"runs": runs, "metrics": keys}))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        let body = resp.bytes().await.unwrap();
        lat.push(start.elapsed());
        bytes = body.len();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["runs"].as_array().map(Vec::len), Some(runs.len()));
        assert_eq!(v["series"].as_array().map(Vec::len), Some(keys.len()));
    }
    (p50(lat), bytes)
}

/// MLflow's server seeded with the same 500 runs' params and one metric; the p50 of what its compare view asks
/// for those runs: `runs/search` (run_id IN …) and the metric's bulk-interval history, 100 runs a call.
async fn mlflow(python: &str, s: &Sizes, n: usize) -> f64 {
    let (_child, root) = mlflow_server::start(python).await;
    let base = format!("{root}/api/2.0/mlflow");
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        let (http, url, path) = (http.clone(), format!("{base}/{path}"), path.to_string());
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<Value>().await.unwrap()
        }
    };
    let exp = post("experiments/create", json!({"name": "cmp"})).await["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let seed = Instant::now();
    // Four clients at a time (the server has two workers): seeding 5 million points takes minutes.
    let seeded = futures_util::stream::iter(0..n)
        .map(|r| {
            let (post, exp, steps, nparams) = (post, exp.clone(), s.steps, s.params);
            async move {
                let run = post("runs/create", json!({"experiment_id": exp, "start_time": 0})).await;
                let id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
                let ps: Vec<Value> =
                    params(r, nparams).into_iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
                post("runs/log-batch", json!({"run_id": id, "params": ps})).await;
                for start in (0..steps).step_by(1000) {
                    let metrics: Vec<Value> = (start..(start + 1000).min(steps))
                        .map(|step| json!({"key": "m0", "value": value(r, 0, step), "timestamp": 1_700_000_000_000u64 + step as u64, "step": step}))
                        .collect();
                    post("runs/log-batch", json!({"run_id": id, "metrics": metrics})).await;
                }
                (r, id)
            }
        })
        .buffer_unordered(4);
    let mut seeded: Vec<(usize, String)> = seeded.collect().await;
    seeded.sort();
    let ids: Vec<String> = seeded.into_iter().map(|(_, id)| id).collect();
    eprintln!("mlflow: seeded {} runs in {:.0?}", ids.len(), seed.elapsed());
    let mut lat = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let quoted: Vec<String> = ids.iter().map(|i| format!("'{i}'")).collect();
        let filter = format!("attributes.run_id IN ({})", quoted.join(","));
        let found =
            post("runs/search", json!({"experiment_ids": [exp], "filter": filter, "max_results": n})).await;
        assert_eq!(found["runs"].as_array().map(Vec::len), Some(n));
        eprintln!("mlflow: runs/search for {n} runs took {:.0?}", start.elapsed());
        for chunk in ids.chunks(100) {
            let call = Instant::now();
            let q: Vec<(String, String)> = chunk
                .iter()
                .map(|i| ("run_ids".to_string(), i.clone()))
                .chain([("metric_key".into(), "m0".into()), ("max_results".into(), "500".into())])
                .collect();
            let r =
                http.get(format!("{base}/metrics/get-history-bulk-interval")).query(&q).send().await.unwrap();
            assert!(r.status().is_success(), "bulk-interval: {}", r.status());
            r.bytes().await.unwrap();
            eprintln!("mlflow: bulk-interval for {} runs took {:.0?}", chunk.len(), call.elapsed());
        }
        eprintln!("mlflow: all the page's data took {:.0?}", start.elapsed());
        lat.push(start.elapsed());
    }
    p50(lat)
}

fn main() {
    let s = Sizes {
        runs: env_usize("MYELIN_BENCH_RUNS", 2000),
        params: env_usize("MYELIN_BENCH_PARAMS", 30),
        metrics: env_usize("MYELIN_BENCH_METRICS", 10),
        steps: env_usize("MYELIN_BENCH_STEPS", 10_000),
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    // `make bench`'s rows (scripts/bench/table).
    let db = if std::env::var("MYELIN_BENCH_DATABASE_URL").is_ok() { "PostgreSQL" } else { "SQLite" };
    let cmd = "cargo bench -p backend --bench compare";
    rt.block_on(async {
        let (base, token, ids) = myelin(&s).await;
        let http = reqwest::Client::new();
        println!("\n| compare (server time to all the page's data, p50 of 11) | ms | response |\n|---|---|---|");
        for n in [100, 500, 1000] {
            let runs = &ids[..n.min(ids.len())];
            for keys in [&[][..], &["m0"][..], &["m0", "m1", "m2"][..]] {
                let (ms, bytes) = time_compare(&http, &base, &token, runs, keys).await;
                println!("| {} runs, {} charted key(s) | {ms:.1} | {:.1} MB |", runs.len(), keys.len(), bytes as f64 / 1e6);
                if keys.len() == 3 {
                    let what = format!("compare {} runs x {} steps, 3 charted keys ({db})", runs.len(), s.steps);
                    println!("BENCH|{what}|{ms:.1} ms|–|–|{cmd}");
                }
            }
        }
        if let Ok(py) = std::env::var("MYELIN_BENCH_MLFLOW") {
            let n = 500.min(ids.len());
            let mine = time_compare(&http, &base, &token, &ids[..n], &["m0"]).await.0;
            let theirs = mlflow(&py, &s, n).await;
            println!("\n| {n} runs, 1 metric | Myelin compare | MLflow runs/search + bulk-interval | ratio |\n|---|---|---|---|");
            println!("| p50 ms | {mine:.1} | {theirs:.1} | {:.1}x |", theirs / mine);
            let what = format!("compare {n} runs, 1 metric ({db}; MLflow: runs/search + bulk-interval)");
            println!("BENCH|{what}|{mine:.1} ms|{theirs:.1} ms|{:.1}x|MYELIN_BENCH_MLFLOW=… {cmd}", theirs / mine);
        }
    });
}
