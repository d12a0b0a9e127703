//! The model registry at scale (issue #17): 10 models x 1,000 versions (10,000), each version from one of 100
//! runs and tagged, then MLflow's `model-versions/search` with a filter timed over HTTP (p50 of 200):
//! `name = 'model-3'` (its first page of 100) and `run_id = '…'` (the 100 versions of one run).
//!
//! `cargo bench -p backend --bench registry` on SQLite; `MYELIN_BENCH_DATABASE_URL=postgres://…/db` on
//! PostgreSQL (an empty database). `MYELIN_BENCH_MLFLOW=$(scripts/bench/mlflow-server-venv)` also seeds MLflow's
//! server (SQLite store) with the same models and versions through its REST API and times the same searches.

#[path = "peer/mlflow_server.rs"]
mod mlflow_server;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};

const MODELS: usize = 10;
const PER_MODEL: usize = 1000;
const RUNS: usize = 100;

fn p50(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

/// Times each `(label, query)` against `base`'s `model-versions/search`: p50 in ms and the versions answered.
async fn time(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    queries: &[(String, String)],
) -> Vec<(String, f64, usize)> {
    let mut out = Vec::new();
    for (label, q) in queries {
        let mut lat = Vec::new();
        let mut n = 0;
        for i in 0..220 {
            let mut req = http.get(format!("{base}/model-versions/search?{q}"));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let t = Instant::now();
            let r = req.send().await.unwrap();
            assert!(r.status().is_success(), "{label}: {}", r.status());
            let v: Value = r.json().await.unwrap();
            let el = t.elapsed();
            n = v["model_versions"].as_array().map_or(0, Vec::len);
            if i >= 20 {
                lat.push(el);
            }
        }
        out.push((label.clone(), p50(lat), n));
    }
    out
}

fn queries(run: &str) -> Vec<(String, String)> {
    let enc = |s: &str| s.replace(' ', "%20").replace('\'', "%27").replace('=', "%3D");
    vec![
        (
            "name = 'model-3' (first 100)".into(),
            format!("filter={}&max_results=100", enc("name = 'model-3'")),
        ),
        (
            "run_id = one run's (100)".into(),
            format!("filter={}&max_results=1000", enc(&format!("run_id = '{run}'"))),
        ),
    ]
}

async fn myelin() -> Vec<(String, f64, usize)> {
    use backend::entities::{model_version as mv, model_version_tag as tag, registered_model as rm};
    use sea_orm::{EntityTrait, Set};
    let dir = std::env::temp_dir().join(format!("myelin-bench-{}", uuid::Uuid::new_v4().simple()));
    let url = std::env::var("MYELIN_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| backend::config::database_url(&dir, None));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let (state, store) = backend::server::prepare(&url, false, &dir, &public, None).await.unwrap();
    let db = state.db.clone();
    let u =
        backend::services::accounts::create_user(&db, "bench", "a long enough password", true).await.unwrap();
    let token = backend::services::tokens::create(&db, &u, "bench").await.unwrap().token;
    backend::services::projects::create(&db, &u, "reg", "").await.unwrap();
    let access = backend::services::projects::access(&db, Some(&u), "bench", "reg").await.unwrap();
    let mut runs = Vec::new();
    for r in 0..RUNS {
        let name = format!("run-{r}");
        runs.push(
            backend::services::runs::create_external(&db, &access, &u, Some(&name), None).await.unwrap().id,
        );
    }
    let seed = Instant::now();
    for m in 0..MODELS {
        let id = uuid::Uuid::new_v4();
        rm::Entity::insert(rm::ActiveModel {
            id: Set(id),
            project_id: Set(access.project.id),
            name: Set(format!("model-{m}")),
            description: Set(String::new()),
            created_by: Set(u.id),
            created_ms: Set(0),
            updated_ms: Set(0),
        })
        .exec(&db)
        .await
        .unwrap();
        for chunk in (0..PER_MODEL).collect::<Vec<_>>().chunks(200) {
            let rows: Vec<(mv::ActiveModel, tag::ActiveModel)> = chunk
                .iter()
                .map(|v| {
                    let vid = uuid::Uuid::new_v4();
                    let run = runs[(m * PER_MODEL + v) % RUNS];
                    let source = format!("runs:/{}/model", run.simple());
                    (
                        mv::ActiveModel {
                            id: Set(vid),
                            model_id: Set(id),
                            version: Set(*v as i32 + 1),
                            storage: Set(source.clone()),
                            source: Set(source),
                            logged_model_id: Set(None),
                            run_id: Set(Some(run)),
                            run_link: Set(String::new()),
                            description: Set(String::new()),
                            stage: Set("None".into()),
                            status: Set("READY".into()),
                            created_by: Set(u.id),
                            created_ms: Set(*v as i64),
                            updated_ms: Set(*v as i64),
                        },
                        tag::ActiveModel {
                            version_id: Set(vid),
                            key: Set("team".into()),
                            value: Set(format!("t{}", v % 5)),
                        },
                    )
                })
                .collect();
            let (vs, ts): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
            mv::Entity::insert_many(vs).exec(&db).await.unwrap();
            tag::Entity::insert_many(ts).exec(&db).await.unwrap();
        }
    }
    eprintln!("myelin: seeded {} versions in {:.0?}", MODELS * PER_MODEL, seed.elapsed());
    let app = backend::server::api_only(state, &store)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(backend::server::listener(listener), app).await });
    let http = reqwest::Client::new();
    time(&http, &format!("{public}/api/2.0/mlflow"), Some(&token), &queries(&runs[3].simple().to_string()))
        .await
}

async fn mlflow(python: &str) -> Vec<(String, f64, usize)> {
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
    let exp = post("experiments/create", json!({"name": "reg"})).await["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let r = post("runs/create", json!({"experiment_id": exp})).await;
        runs.push(r["run"]["info"]["run_id"].as_str().unwrap().to_string());
    }
    let seed = Instant::now();
    for m in 0..MODELS {
        post("registered-models/create", json!({"name": format!("model-{m}")})).await;
        // Versions of one model are numbered in order: one at a time per model, the models side by side.
    }
    let per_model = futures_util::stream::iter(0..MODELS)
        .map(|m| {
            let (post, runs) = (post, runs.clone());
            async move {
                for v in 0..PER_MODEL {
                    let run = &runs[(m * PER_MODEL + v) % RUNS];
                    let body = json!({"name": format!("model-{m}"), "source": format!("runs:/{run}/model"), "run_id": run,
                        "tags": [{"key": "team", "value": format!("t{}", v % 5)}]});
                    post("model-versions/create", body).await;
                }
            }
        })
        .buffer_unordered(4);
    per_model.collect::<Vec<()>>().await;
    eprintln!("mlflow: seeded {} versions in {:.0?}", MODELS * PER_MODEL, seed.elapsed());
    time(&http, &base, None, &queries(&runs[3])).await
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let ours = myelin().await;
        let theirs = match std::env::var("MYELIN_BENCH_MLFLOW") {
            Ok(py) => Some(mlflow(&py).await),
            Err(_) => None,
        };
        println!("model-versions/search over {} versions, p50 of 200 (ms)", MODELS * PER_MODEL);
        let versions = MODELS * PER_MODEL;
        let cmd = "cargo bench -p backend --bench registry";
        for (i, (label, ms, n)) in ours.iter().enumerate() {
            let what = format!("model-versions/search at {versions} versions: {label}");
            match theirs.as_ref().map(|t| &t[i]) {
                Some((_, m, mn)) => {
                    println!(
                        "  {label:<32} myelin {ms:>7.2} ({n})   mlflow {m:>8.2} ({mn})   {:.1}x",
                        m / ms
                    );
                    println!("BENCH|{what}|{ms:.2} ms|{m:.2} ms|{:.1}x|MYELIN_BENCH_MLFLOW=… {cmd}", m / ms);
                }
                None => {
                    println!("  {label:<32} myelin {ms:>7.2} ({n})");
                    println!("BENCH|{what}|{ms:.2} ms|–|–|{cmd}");
                }
            }
        }
    });
}
