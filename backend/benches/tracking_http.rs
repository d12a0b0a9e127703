//! Myelin's tracking API side by side with MLflow's own server, over HTTP, both on SQLite on this machine.
//!
//! `cargo bench -p backend --bench tracking_http` measures Myelin; with `MYELIN_BENCH_MLFLOW=<a python that
//! has the full mlflow package>` (scripts/bench/mlflow-server-venv makes one) it starts `mlflow server` too
//! and prints the ratios. Sizes: `MYELIN_BENCH_RUNS` (10000), `MYELIN_BENCH_HISTORY_RUNS` (100),
//! `MYELIN_BENCH_STEPS` (10000).

#[path = "peer/mlflow_server.rs"]
mod mlflow_server;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[derive(Clone)]
struct Target {
    name: &'static str,
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Target {
    /// The time to the response's last byte (the server's work and the transfer, not the client's JSON
    /// parsing), and the parsed response.
    async fn timed(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (Duration, Value) {
        let start = Instant::now();
        let resp = self.request(method, path, body).send().await.expect("request");
        let status = resp.status();
        let bytes = resp.bytes().await.expect("body");
        let took = start.elapsed();
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert!(status.is_success(), "{} {path}: {status} {v}", self.name);
        (took, v)
    }

    fn request(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method.clone(), format!("{}/api/2.0/mlflow/{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        match (method == reqwest::Method::GET, body) {
            (true, Some(b)) => req.query(
                &b.as_object()
                    .unwrap()
                    .iter()
                    .flat_map(|(k, v)| match v {
                        Value::Array(a) => a
                            .iter()
                            .map(|x| {
                                (k.clone(), x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string()))
                            })
                            .collect::<Vec<_>>(),
                        other => vec![(
                            k.clone(),
                            other.as_str().map(str::to_string).unwrap_or_else(|| other.to_string()),
                        )],
                    })
                    .collect::<Vec<_>>(),
            ),
            (false, Some(b)) => req.json(&b),
            _ => req,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let resp = self.request(method, path, body).send().await.expect("request");
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{} {path}: {status} {v}", self.name);
        v
    }
    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
    async fn create_run(&self, exp: &str) -> String {
        let r = self.post("runs/create", json!({"experiment_id": exp, "start_time": 0})).await;
        r["run"]["info"]["run_id"].as_str().unwrap().to_string()
    }
}

fn pct(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0
}

/// Runs `n` jobs with `c` at a time; returns each job's latency and the wall time.
async fn concurrently<F, Fut>(n: usize, c: usize, job: F) -> (Vec<Duration>, Duration)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..c {
        let (job, next) = (job.clone(), next.clone());
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= n {
                    break lat;
                }
                let t = Instant::now();
                job(i).await;
                lat.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    (all, start.elapsed())
}

#[derive(Default, Debug)]
struct Figures {
    batch_p50: f64,
    batch_p99: f64,
    batch_seq_rps: f64,
    batch_conc_rps: f64,
    search_p50_100: f64,
    search_p50_1000: f64,
    history_p50: f64,
}

async fn measure(t: &Target) -> Figures {
    let mut f = Figures::default();
    let exp = t
        .post("experiments/create", json!({"name": format!("bench-{}", uuid::Uuid::new_v4().simple())}))
        .await;
    let exp = exp["experiment_id"].as_str().unwrap().to_string();
    let batch = |run: String, step: usize| {
        let metrics: Vec<Value> = (0..10).map(|k| json!({"key": format!("m{k}"), "value": step as f64 * 0.5, "timestamp": 1_700_000_000_000u64 + step as u64, "step": step})).collect();
        json!({"run_id": run, "metrics": metrics})
    };
    // 1. log-batch of 10 metrics: one client, then 8 concurrent clients.
    let run = t.create_run(&exp).await;
    let (n, c) = (env_usize("MYELIN_BENCH_BATCHES", 1000), 8);
    let (lat, wall) = {
        let (t, run) = (t.clone(), run.clone());
        concurrently(n, 1, move |i| {
            let (t, body) = (t.clone(), batch(run.clone(), i));
            async move {
                t.post("runs/log-batch", body).await;
            }
        })
        .await
    };
    f.batch_p50 = pct(lat.clone(), 0.5);
    f.batch_p99 = pct(lat, 0.99);
    f.batch_seq_rps = n as f64 / wall.as_secs_f64();
    let runs: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..c {
            v.push(t.create_run(&exp).await);
        }
        v
    };
    let (_, wall) = {
        let (t, runs) = (t.clone(), runs.clone());
        concurrently(n, c, move |i| {
            let (t, body) = (t.clone(), batch(runs[i % runs.len()].clone(), i));
            async move {
                t.post("runs/log-batch", body).await;
            }
        })
        .await
    };
    f.batch_conc_rps = n as f64 / wall.as_secs_f64();
    eprintln!("{}: log-batch measured", t.name);

    // 2. runs/search over N runs with a metric filter and order_by.
    let nruns = env_usize("MYELIN_BENCH_RUNS", 10_000);
    let sexp = t
        .post("experiments/create", json!({"name": format!("search-{}", uuid::Uuid::new_v4().simple())}))
        .await;
    let sexp = sexp["experiment_id"].as_str().unwrap().to_string();
    let seed = Instant::now();
    {
        let (t, sexp) = (t.clone(), sexp.clone());
        concurrently(nruns, 8, move |i| {
            let (t, sexp) = (t.clone(), sexp.clone());
            async move {
                let run = t.create_run(&sexp).await;
                let v = ((i * 7919) % 1000) as f64 / 1000.0;
                t.post("runs/log-batch", json!({"run_id": run, "metrics": [{"key": "loss", "value": v, "timestamp": 1, "step": 1}], "params": [{"key": "lr", "value": format!("{}", i % 10)}]})).await;
            }
        })
        .await;
    }
    eprintln!("{}: seeded {nruns} runs in {:.0?}", t.name, seed.elapsed());
    for (max, slot) in [(100, &mut f.search_p50_100), (1000, &mut f.search_p50_1000)] {
        let mut lat = Vec::new();
        for _ in 0..20 {
            let body = json!({"experiment_ids": [sexp], "filter": "metrics.loss < 0.5", "order_by": ["metrics.loss DESC"], "max_results": max});
            let (took, r) = t.timed(reqwest::Method::POST, "runs/search", Some(body)).await;
            lat.push(took);
            let matching = (0..nruns).filter(|i| ((i * 7919) % 1000) < 500).count();
            assert_eq!(r["runs"].as_array().map(Vec::len), Some(max.min(matching)), "{}", t.name);
        }
        *slot = pct(lat, 0.5);
    }

    // 3. Metric history: R runs x S steps, read back downsampled to 500 points each (bulk-interval).
    let (hr, steps) = (env_usize("MYELIN_BENCH_HISTORY_RUNS", 100), env_usize("MYELIN_BENCH_STEPS", 10_000));
    let hexp = t
        .post("experiments/create", json!({"name": format!("history-{}", uuid::Uuid::new_v4().simple())}))
        .await;
    let hexp = hexp["experiment_id"].as_str().unwrap().to_string();
    let mut hruns = Vec::new();
    for _ in 0..hr {
        hruns.push(t.create_run(&hexp).await);
    }
    let seed = Instant::now();
    let per = 1000;
    {
        let (t, hruns) = (t.clone(), hruns.clone());
        concurrently(hr * steps / per, 8, move |i| {
            let (t, run) = (t.clone(), hruns[i % hruns.len()].clone());
            let base = (i / hruns.len()) * per;
            async move {
                let metrics: Vec<Value> = (base..base + per).map(|s| json!({"key": "loss", "value": 1.0 / (s as f64 + 1.0), "timestamp": 1_700_000_000_000u64 + s as u64, "step": s})).collect();
                t.post("runs/log-batch", json!({"run_id": run, "metrics": metrics})).await;
            }
        })
        .await;
    }
    eprintln!("{}: seeded {hr} x {steps} points in {:.0?}", t.name, seed.elapsed());
    let mut lat = Vec::new();
    for _ in 0..10 {
        let q = json!({"run_ids": hruns, "metric_key": "loss", "max_results": 500});
        let (took, r) = t.timed(reqwest::Method::GET, "metrics/get-history-bulk-interval", Some(q)).await;
        lat.push(took);
        let n = r["metrics"].as_array().map(Vec::len).unwrap_or(0);
        assert!(n >= hr * 400 && n <= hr * 500, "{}: {n} points", t.name);
    }
    f.history_p50 = pct(lat, 0.5);
    f
}

async fn myelin() -> Target {
    let dir = std::env::temp_dir().join(format!("myelin-bench-{}", uuid::Uuid::new_v4().simple()));
    let url = backend::config::database_url(&dir, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let (state, store) = backend::server::prepare(&url, false, &dir, &public, None).await.unwrap();
    let u = backend::services::accounts::create_user(&state.db, "bench", "a long enough password", true)
        .await
        .unwrap();
    let token = backend::services::tokens::create(&state.db, &u, "bench").await.unwrap().token;
    let app = backend::server::api_only(state, &store)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(backend::server::listener(listener), app).await });
    Target { name: "myelin", base: public, token: Some(token), http: reqwest::Client::new() }
}

async fn mlflow(python: &str) -> (Target, mlflow_server::Server) {
    let (child, base) = mlflow_server::start(python).await;
    (Target { name: "mlflow", base, token: None, http: reqwest::Client::new() }, child)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let m = measure(&myelin().await).await;
        println!("myelin: {m:#?}");
        let peer = match std::env::var("MYELIN_BENCH_MLFLOW") {
            Ok(py) => {
                let (t, child) = mlflow(&py).await;
                Some((measure(&t).await, child))
            }
            Err(_) => None,
        };
        // `make bench`'s rows (scripts/bench/table); log-batch has its own bench (`ingest`).
        let runs = env_usize("MYELIN_BENCH_RUNS", 10_000);
        for (what, a, b) in [
            (format!("runs/search at {runs} runs (metric filter + order_by), 100 results"), m.search_p50_100, peer.as_ref().map(|p| p.0.search_p50_100)),
            (format!("runs/search at {runs} runs, 1,000 results"), m.search_p50_1000, peer.as_ref().map(|p| p.0.search_p50_1000)),
            ("get-history-bulk-interval, 100 runs -> 500 points each".into(), m.history_p50, peer.as_ref().map(|p| p.0.history_p50)),
        ] {
            match b {
                Some(b) => println!("BENCH|{what}, p50|{a:.2} ms|{b:.2} ms|{:.1}x|MYELIN_BENCH_MLFLOW=… cargo bench -p backend --bench tracking_http", b / a),
                None => println!("BENCH|{what}, p50|{a:.2} ms|–|–|cargo bench -p backend --bench tracking_http"),
            }
        }
        if let Some((f, _child)) = peer {
            println!("mlflow: {f:#?}");
            println!("\n| measure | Myelin | MLflow server | ratio |\n|---|---|---|---|");
            for (what, a, b, higher_better) in [
                ("log-batch (10 metrics) p50, 1 client, ms", m.batch_p50, f.batch_p50, false),
                ("log-batch p99, 1 client, ms", m.batch_p99, f.batch_p99, false),
                ("log-batch throughput, 1 client, req/s", m.batch_seq_rps, f.batch_seq_rps, true),
                ("log-batch throughput, 8 clients, req/s", m.batch_conc_rps, f.batch_conc_rps, true),
                (
                    "runs/search (metric filter + order_by), 100 results, p50 ms",
                    m.search_p50_100,
                    f.search_p50_100,
                    false,
                ),
                ("runs/search, 1000 results, p50 ms", m.search_p50_1000, f.search_p50_1000, false),
                (
                    "history bulk-interval 100 runs -> 500 points each, p50 ms",
                    m.history_p50,
                    f.history_p50,
                    false,
                ),
            ] {
                let ratio = if higher_better { a / b } else { b / a };
                println!("| {what} | {a:.2} | {b:.2} | {ratio:.1}x |");
            }
        }
    });
}
