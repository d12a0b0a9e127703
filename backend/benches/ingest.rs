//! Tracking ingest near the limit (issue #19 §7): MLflow's `runs/log-batch` with 10 metrics, one client (p50,
//! p99) and 8 concurrent clients (throughput), through a Rust client and a Python client side by side, so the
//! client's own overhead is visible.
//!
//! ```text
//! cargo bench -p backend --bench ingest                                   # Myelin on SQLite
//! MYELIN_BENCH_DATABASE_URL=postgres://myelin:myelin@127.0.0.1:55432/bench cargo bench -p backend --bench ingest
//! MYELIN_BENCH_MLFLOW=$(scripts/bench/mlflow-server-venv) cargo bench -p backend --bench ingest
//! MYELIN_METRICS_DURABILITY=disk cargo bench -p backend --bench ingest     # commits wait for the disk
//! ```
//!
//! With both variables MLflow's server runs on SQLite and then on a fresh database of that PostgreSQL server
//! (`mlflow_ingest_bench`, dropped after), so Myelin on each database is measured beside MLflow on the same one.
//!
//! Myelin is served in-process on a runtime of its own (two worker threads, as `myelin serve` on this 2-core
//! machine); the Rust client runs on another thread over raw keep-alive HTTP/1.1 connections (hyper's
//! connection API, bodies serialized in advance). The Python client is `scripts/bench/ingest_client.py`
//! (the standard library's `http.client`, one keep-alive connection per client process, bodies serialized in
//! advance). Sizes: `MYELIN_BENCH_BATCHES` per client (2000).

#[path = "peer/mlflow_server.rs"]
mod mlflow_server;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use serde_json::{json, Value};

const CLIENTS: usize = 8;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[derive(Clone)]
struct Target {
    name: String,
    host: String,
    token: Option<String>,
    /// A Myelin server's data dir, removed at the end (each run left gigabytes in the temporary dir).
    dir: Option<std::path::PathBuf>,
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    send: SendRequest<Full<Bytes>>,
    target: Target,
}

impl Conn {
    async fn open(t: &Target) -> Conn {
        let tcp = tokio::net::TcpStream::connect(&t.host).await.expect("connect");
        tcp.set_nodelay(true).unwrap();
        let (send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        Conn { send, target: t.clone() }
    }

    /// Posts a serialized body; returns the status and the whole response body.
    async fn post(&mut self, path: &str, body: Bytes) -> (u16, Bytes) {
        let mut req = hyper::Request::post(format!("/api/2.0/mlflow/{path}"))
            .header("host", &self.target.host)
            .header("content-type", "application/json");
        if let Some(t) = &self.target.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        self.send.ready().await.expect("connection ready");
        let resp = self.send.send_request(req.body(Full::new(body)).unwrap()).await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.into_body().collect().await.expect("body").to_bytes())
    }

    async fn call(&mut self, path: &str, body: Value) -> Value {
        let (status, bytes) = self.post(path, Bytes::from(body.to_string())).await;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(status, 200, "{} {path}: {v}", self.target.name);
        v
    }
}

/// The batch a client sends at step `step`: 10 metrics.
fn batch(run: &str, step: usize) -> Bytes {
    let metrics: Vec<Value> = (0..10)
        .map(|k| {
            json!({"key": format!("m{k}"), "value": step as f64 * 0.5 + k as f64,
                   "timestamp": 1_700_000_000_000u64 + step as u64, "step": step})
        })
        .collect();
    Bytes::from(json!({"run_id": run, "metrics": metrics}).to_string())
}

struct Figures {
    p50: f64,
    p99: f64,
    rps: f64,
}

fn figures(mut lat: Vec<Duration>, n: usize, wall: Duration) -> Figures {
    lat.sort();
    let at = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0;
    Figures { p50: at(0.5), p99: at(0.99), rps: n as f64 / wall.as_secs_f64() }
}

async fn runs(t: &Target, n: usize) -> Vec<String> {
    let mut c = Conn::open(t).await;
    let name = format!("ingest-{}", uuid::Uuid::new_v4().simple());
    let exp = c.call("experiments/create", json!({"name": name})).await;
    let exp = exp["experiment_id"].as_str().unwrap().to_string();
    let mut out = Vec::new();
    for _ in 0..n {
        let r = c.call("runs/create", json!({"experiment_id": exp, "start_time": 0})).await;
        out.push(r["run"]["info"]["run_id"].as_str().unwrap().to_string());
    }
    out
}

/// `clients` connections, each logging `n` batches to its own run; latencies of every request and the wall
/// time from the first request to the last answer.
async fn rust_client(t: &Target, clients: usize, n: usize) -> Figures {
    let runs = runs(t, clients).await;
    let mut conns = Vec::new();
    for run in &runs {
        let mut c = Conn::open(t).await;
        let warm: Vec<Bytes> = (0..50).map(|i| batch(run, 1_000_000 + i)).collect();
        for b in warm {
            assert_eq!(c.post("runs/log-batch", b).await.0, 200);
        }
        conns.push((c, (0..n).map(|i| batch(run, i)).collect::<Vec<_>>()));
    }
    let start = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|(mut c, bodies)| {
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(bodies.len());
                for b in bodies {
                    let t = Instant::now();
                    let (status, body) = c.post("runs/log-batch", b).await;
                    lat.push(t.elapsed());
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                }
                lat
            })
        })
        .collect();
    let mut lat = Vec::new();
    for task in tasks {
        lat.extend(task.await.unwrap());
    }
    figures(lat, clients * n, start.elapsed())
}

/// The same through `scripts/bench/ingest_client.py` (system python3, standard library only).
async fn python_client(t: &Target, clients: usize, n: usize) -> Option<Figures> {
    let runs = runs(t, clients).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/bench/ingest_client.py");
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg(script).args(["--host", &t.host, "--requests", &n.to_string(), "--runs", &runs.join(",")]);
    if let Some(tok) = &t.token {
        cmd.args(["--token", tok]);
    }
    let out = cmd.output().await.ok()?;
    assert!(out.status.success(), "python client: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("python client's JSON");
    Some(Figures { p50: v["p50_ms"].as_f64()?, p99: v["p99_ms"].as_f64()?, rps: v["rps"].as_f64()? })
}

/// Myelin served on a runtime and thread of its own; returns its address and a token.
fn myelin(name: &str, url: Option<String>) -> Target {
    let (tx, rx) = std::sync::mpsc::channel();
    let name = name.to_string();
    let dir = std::env::temp_dir().join(format!("myelin-ingest-{}", uuid::Uuid::new_v4().simple()));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let url = url.unwrap_or_else(|| backend::config::database_url(&dir, None));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let host = listener.local_addr().unwrap().to_string();
            let (mut state, store) =
                backend::server::prepare(&url, false, &dir, &format!("http://{host}"), None).await.unwrap();
            // `MYELIN_METRICS_DURABILITY=disk`: every batch's commit waits for the disk (`myelin serve`'s flag).
            if std::env::var("MYELIN_METRICS_DURABILITY").as_deref() == Ok("disk") {
                use backend::services::tracking::ingest::{Durability, Ingest};
                state.ingest = Ingest::start(state.db.clone(), Durability::Disk, None);
            }
            let user = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
            let u =
                backend::services::accounts::create_user(&state.db, &user, "a long enough password", true)
                    .await
                    .unwrap();
            let token = backend::services::tokens::create(&state.db, &u, "bench").await.unwrap().token;
            let app = backend::server::api_only(state, &store)
                .into_make_service_with_connect_info::<std::net::SocketAddr>();
            tx.send(Target { name, host, token: Some(token), dir: Some(dir.clone()) }).unwrap();
            axum::serve(backend::server::listener(listener), app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

struct Row {
    target: String,
    client: &'static str,
    one: Figures,
    many: Figures,
}

/// Both clients against one server, after a warm-up.
fn measure(rt: &tokio::runtime::Runtime, t: &Target, n: usize, rows: &mut Vec<Row>) {
    // A warm-up of 1,000 batches, not measured: right after a build, the first phase measured on a fresh
    // database stalled for milliseconds at a time (the build's writes still settling), whatever came first.
    rt.block_on(rust_client(t, 1, 1000));
    let rust = rt.block_on(async { (rust_client(t, 1, n).await, rust_client(t, CLIENTS, n / 2).await) });
    rows.push(Row { target: t.name.clone(), client: "Rust", one: rust.0, many: rust.1 });
    eprintln!("{}: Rust client measured", t.name);
    let py = rt.block_on(async { (python_client(t, 1, n).await, python_client(t, CLIENTS, n / 2).await) });
    if let (Some(one), Some(many)) = py {
        rows.push(Row { target: t.name.clone(), client: "Python", one, many });
        eprintln!("{}: Python client measured", t.name);
    }
}

fn main() {
    // A build just before leaves the page cache full of dirty pages; their writeback stalled the first
    // measurement's writes for milliseconds at a time (p99 16 ms instead of 2). Flush them first.
    nix::unistd::sync();
    let n = env_usize("MYELIN_BENCH_BATCHES", 2000);
    let mut targets = vec![myelin("Myelin, SQLite", None)];
    if let Ok(url) = std::env::var("MYELIN_BENCH_DATABASE_URL") {
        targets.push(myelin("Myelin, PostgreSQL", Some(url)));
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut rows = Vec::new();
    for t in &targets {
        measure(&rt, t, n, &mut rows);
    }
    // MLflow's server starts only now: its workers importing mlflow kept both cores busy for seconds, and the
    // Myelin phase that ran beside them stalled (p99 12 ms instead of 1). It runs on each database Myelin ran on,
    // one after the other, so each Myelin row has a peer on the same database.
    if let Ok(py) = std::env::var("MYELIN_BENCH_MLFLOW") {
        let (child, base) = rt.block_on(mlflow_server::start(&py));
        measure(&rt, &peer("MLflow, SQLite", &base), n, &mut rows);
        drop(child);
        if let Ok(url) = std::env::var("MYELIN_BENCH_DATABASE_URL") {
            let db = "mlflow_ingest_bench";
            rt.block_on(admin(&url, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")));
            rt.block_on(admin(&url, &format!("CREATE DATABASE {db}")));
            // SQLAlchemy's form of the URL.
            let (server, _) = url.rsplit_once('/').expect("a database URL ends in /NAME");
            let store = format!("{}/{db}", server.replacen("postgres://", "postgresql://", 1));
            let (child, base) = rt.block_on(mlflow_server::start_on(&py, Some(&store)));
            measure(&rt, &peer("MLflow, PostgreSQL", &base), n, &mut rows);
            drop(child);
            rt.block_on(admin(&url, &format!("DROP DATABASE {db} WITH (FORCE)")));
        }
    }
    for dir in targets.iter().filter_map(|t| t.dir.as_ref()) {
        let _ = std::fs::remove_dir_all(dir);
    }
    println!(
        "\nlog-batch of 10 metrics; 1 client: {n} batches; {CLIENTS} clients: {} batches each, each to its own run\n",
        n / 2
    );
    println!("| server | client | p50, 1 client | p99, 1 client | req/s, 1 client | req/s, {CLIENTS} clients | p50, {CLIENTS} clients | p99, {CLIENTS} clients |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {:.3} ms | {:.3} ms | {:.0} | {:.0} | {:.2} ms | {:.2} ms |",
            r.target, r.client, r.one.p50, r.one.p99, r.one.rps, r.many.rps, r.many.p50, r.many.p99
        );
    }
    for client in ["Rust", "Python"] {
        for r in rows.iter().filter(|r| r.client == client && r.target.starts_with("Myelin")) {
            // The peer on the same database; Myelin on PostgreSQL is also set beside MLflow on SQLite (its
            // fastest store here).
            let db = r.target.trim_start_matches("Myelin, ");
            let mut peers = vec![format!("MLflow, {db}")];
            if db != "SQLite" {
                peers.push("MLflow, SQLite".into());
            }
            for p in peers.iter().filter_map(|p| rows.iter().find(|x| x.client == client && &x.target == p)) {
                let what = format!("{} vs {}, {client} client", r.target, p.target);
                println!(
                    "BENCH|log-batch throughput, {CLIENTS} clients ({what})|{:.0} req/s|{:.0} req/s|{:.1}x|cargo bench -p backend --bench ingest",
                    r.many.rps, p.many.rps, r.many.rps / p.many.rps
                );
                println!(
                    "BENCH|log-batch p50, 1 client ({what})|{:.3} ms|{:.2} ms|{:.1}x|cargo bench -p backend --bench ingest",
                    r.one.p50, p.one.p50, p.one.p50 / r.one.p50
                );
                println!(
                    "BENCH|log-batch p99, 1 client ({what})|{:.3} ms|{:.2} ms|{:.1}x|cargo bench -p backend --bench ingest",
                    r.one.p99, p.one.p99, p.one.p99 / r.one.p99
                );
            }
        }
    }
}

/// A peer's target: no token, nothing of Myelin's to remove.
fn peer(name: &str, base: &str) -> Target {
    Target { name: name.into(), host: base.trim_start_matches("http://").into(), token: None, dir: None }
}

/// Runs one statement on the PostgreSQL server of `url` (the peer's database made and dropped).
async fn admin(url: &str, sql: &str) {
    use sea_orm::sqlx::{Connection, Executor, PgConnection};
    let mut c = PgConnection::connect(url).await.expect("connect to MYELIN_BENCH_DATABASE_URL");
    c.execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}
