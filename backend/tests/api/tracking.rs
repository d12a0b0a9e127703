//! Tracking through MLflow's API: the real `mlflow` client (a pinned venv from `scripts/setup`) against a
//! served app, run tokens, MLflow-shaped errors, confined artifact paths, and the S3-compatible store.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use crate::both_dbs;
use crate::helpers::{TestApp, TestUser};

both_dbs!(
    the_mlflow_client_logs_and_reads_back_everything,
    four_concurrent_clients_log_ten_thousand_points_each,
    a_job_logs_through_mlflow_with_only_the_injected_environment,
    run_tokens_write_only_their_own_run_while_it_runs,
    mlflow_errors_come_back_in_mlflow_shape,
    artifact_paths_are_confined_to_their_run,
    many_small_writes_are_compacted_and_read_back_exactly,
    the_runs_list_takes_polyaxon_queries_and_sorts_by_metrics,
);

const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mlflow");

/// The Python with `mlflow` installed (`MYELIN_MLFLOW_PYTHON`, set by `scripts/env.sh`); required under CI.
fn mlflow_python() -> Option<PathBuf> {
    let p = std::env::var("MYELIN_MLFLOW_PYTHON").ok().map(PathBuf::from).filter(|p| p.exists());
    if p.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but MYELIN_MLFLOW_PYTHON is missing: run scripts/setup"
        );
        eprintln!("skipping: no mlflow venv (scripts/setup makes one)");
    }
    p
}

pub(crate) async fn python(script: &str, url: &str, token: &str, user: &str) {
    let Some(py) = mlflow_python() else { return };
    // The script's temporary files, and the MLflow client's own (it leaves a model's folder behind), go here.
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let out = tokio::process::Command::new(py)
        .arg(format!("{SCRIPTS}/{script}"))
        .env("TMPDIR", tmp.path())
        .env("MLFLOW_TRACKING_URI", url)
        .env("MLFLOW_TRACKING_TOKEN", token)
        .env("MYELIN_USER", user)
        .env_remove("MLFLOW_RUN_ID")
        .env_remove("MLFLOW_EXPERIMENT_ID")
        .output()
        .await
        .expect("start python");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
}

pub(crate) async fn project(app: &TestApp, u: &TestUser, name: &str) -> Value {
    let r = app.post("/api/v1/projects").bearer(&u.token).json(json!({"name": name})).send().await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.json
}

pub(crate) fn hex(id: &str) -> String {
    id.replace('-', "")
}

async fn the_mlflow_client_logs_and_reads_back_everything(app: TestApp) {
    let ann = app.user("ann").await;
    python("roundtrip.py", &app.url, &ann.token, "ann").await;
}

async fn four_concurrent_clients_log_ten_thousand_points_each(app: TestApp) {
    let ann = app.user("ann").await;
    python("concurrent_clients.py", &app.url, &ann.token, "ann").await;
}

async fn a_job_logs_through_mlflow_with_only_the_injected_environment(app: TestApp) {
    let Some(py) = mlflow_python() else { return };
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let content = format!(
        "kind: component\nname: trainer\noutputs:\n- {{name: accuracy, type: float}}\n- {{name: from_job, type: str}}\nrun:\n  kind: job\n  container:\n    image: python:3.11\n    command: [{}, {}]\n",
        serde_json::to_string(&py.display().to_string()).unwrap(),
        serde_json::to_string(&format!("{SCRIPTS}/in_job.py")).unwrap()
    );
    let r = app
        .post("/api/v1/projects/ann/p/runs")
        .bearer(&ann.token)
        .json(json!({"content": content}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["uuid"].as_str().unwrap().to_string();
    let mut run = Value::Null;
    for _ in 0..600 {
        backend::scheduler::tick(&app.db, &app.state.executor).await.unwrap();
        run = app.get(&format!("/api/v1/projects/ann/p/runs/{id}")).bearer(&ann.token).send().await.json;
        if ["succeeded", "failed", "stopped"].contains(&run["status"].as_str().unwrap_or("")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let logs = app.get(&format!("/api/v1/projects/ann/p/runs/{id}/logs")).bearer(&ann.token).send().await;
    let logs = String::from_utf8_lossy(&logs.body).to_string();
    assert_eq!(run["status"], "succeeded", "{run}\n{logs}");
    assert!(logs.contains("logged from the job"), "{logs}");
    // What the job logged is on the run, in Myelin's API as in MLflow's.
    assert_eq!(run["metrics"]["loss"], json!(1.0 / 20.0), "{run}");
    assert_eq!(run["metrics"]["accuracy"], json!(0.93));
    assert_eq!(run["logged_params"], json!({"from_job": "yes"}), "{run}");
    // Declared outputs take the values the run logged under their names.
    assert_eq!(run["outputs"], json!({"accuracy": 0.93, "from_job": "yes"}));
    let got =
        app.get(&format!("/api/2.0/mlflow/runs/get?run_id={}", hex(&id))).bearer(&ann.token).send().await;
    assert_eq!(got.json["run"]["info"]["status"], "FINISHED");
    let params = &got.json["run"]["data"]["params"];
    assert!(params.as_array().unwrap().contains(&json!({"key": "from_job", "value": "yes"})), "{params}");
    let arts = app
        .get(&format!("/api/v1/projects/ann/p/runs/{id}/artifacts?path=artifacts"))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(arts.status, 200, "{}", arts.json);
    assert_eq!(arts.json[0]["path"], "artifacts/model.txt", "{}", arts.json);
    // The run's token died with the run.
    let token_rows = backend::entities::run_token::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(token_rows.len(), 1);
}

use sea_orm::EntityTrait;

/// Ann, her project `p` and a queued run in it (the run's id).
pub(crate) async fn ann_with_a_run(app: &TestApp) -> (TestUser, String) {
    let ann = app.user("ann").await;
    project(app, &ann, "p").await;
    let (run, _) = queued_run(app, &ann).await;
    (ann, run)
}

/// Submits a job that stays queued (no scheduler tick): a run that is not finished, with a run token.
pub(crate) async fn queued_run(app: &TestApp, u: &TestUser) -> (String, String) {
    let content = "kind: component\nrun:\n  kind: job\n  container: {image: busybox, command: [true]}\n";
    let r = app
        .post("/api/v1/projects/ann/p/runs")
        .bearer(&u.token)
        .json(json!({"content": content}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["uuid"].as_str().unwrap().to_string();
    let token = backend::store::tokens::issue(&app.db, id.parse().unwrap()).await.unwrap();
    (id, token)
}

async fn run_tokens_write_only_their_own_run_while_it_runs(app: TestApp) {
    let ann = app.user("ann").await;
    let p = project(&app, &ann, "p").await;
    let (a, token) = queued_run(&app, &ann).await;
    let (b, _) = queued_run(&app, &ann).await;
    let log = |run: &str| json!({"run_id": hex(run), "key": "loss", "value": 0.5, "timestamp": 1, "step": 0});
    let r = app.post("/api/2.0/mlflow/runs/log-metric").bearer(&token).json(log(&a)).send().await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = app.post("/api/2.0/mlflow/runs/log-metric").bearer(&token).json(log(&b)).send().await;
    assert_eq!((r.status.as_u16(), r.json["error_code"].as_str()), (403, Some("PERMISSION_DENIED")));
    // It reads its project, creates nothing.
    let exp = hex(p["id"].as_str().unwrap());
    let r =
        app.get(&format!("/api/2.0/mlflow/experiments/get?experiment_id={exp}")).bearer(&token).send().await;
    assert_eq!(r.status, 200);
    let r = app
        .post("/api/2.0/mlflow/runs/create")
        .bearer(&token)
        .json(json!({"experiment_id": exp}))
        .send()
        .await;
    assert_eq!(r.status, 403);
    let r =
        app.post("/api/2.0/mlflow/experiments/create").bearer(&token).json(json!({"name": "x"})).send().await;
    assert_eq!(r.status, 403);
    // Nor does it rename, delete or restore its project.
    for (path, body) in [
        ("update", json!({"experiment_id": exp, "new_name": "taken-over"})),
        ("delete", json!({"experiment_id": exp})),
        ("restore", json!({"experiment_id": exp})),
    ] {
        let r =
            app.post(&format!("/api/2.0/mlflow/experiments/{path}")).bearer(&token).json(body).send().await;
        assert_eq!(
            (r.status.as_u16(), r.json["error_code"].as_str()),
            (403, Some("PERMISSION_DENIED")),
            "{path}"
        );
    }
    let still = app.get("/api/v1/projects/ann/p").bearer(&ann.token).send().await;
    assert_eq!((still.status.as_u16(), still.json["name"].as_str()), (200, Some("p")), "{}", still.json);
    // Once the run is over, the token is dead.
    app.post(&format!("/api/v1/projects/ann/p/runs/{a}/stop")).bearer(&ann.token).send().await;
    let r = app.post("/api/2.0/mlflow/runs/log-metric").bearer(&token).json(log(&a)).send().await;
    assert_eq!((r.status.as_u16(), r.json["error_code"].as_str()), (401, Some("UNAUTHENTICATED")));
}

async fn mlflow_errors_come_back_in_mlflow_shape(app: TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    project(&app, &ann, "p").await;
    let r = app.get("/api/2.0/mlflow/experiments/get?experiment_id=0").send().await;
    assert_eq!((r.status.as_u16(), r.json["error_code"].as_str()), (401, Some("UNAUTHENTICATED")));
    let r = app
        .get(&format!("/api/2.0/mlflow/runs/get?run_id={}", "0".repeat(32)))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!((r.status.as_u16(), r.json["error_code"].as_str()), (404, Some("RESOURCE_DOES_NOT_EXIST")));
    // Another user's run looks exactly like a missing one.
    let (id, _) = queued_run(&app, &ann).await;
    let r = app.get(&format!("/api/2.0/mlflow/runs/get?run_id={}", hex(&id))).bearer(&bob.token).send().await;
    assert_eq!((r.status.as_u16(), r.json["error_code"].as_str()), (404, Some("RESOURCE_DOES_NOT_EXIST")));
    let r = app
        .post("/api/2.0/mlflow/runs/log-batch")
        .bearer(&ann.token)
        .raw("application/json", "{not json")
        .send()
        .await;
    assert_eq!((r.status.as_u16(), r.json["error_code"].as_str()), (400, Some("INVALID_PARAMETER_VALUE")));
    let r = app
        .post("/api/2.0/mlflow/runs/log-batch")
        .bearer(&ann.token)
        .json(json!({"run_id": hex(&id), "metrics": [{"key": "x", "value": "not a number", "timestamp": 0}]}))
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    let r = app
        .post("/api/2.0/mlflow/runs/search")
        .bearer(&ann.token)
        .json(json!({"experiment_ids": ["0"], "filter": "metrics.loss LIKE 'x'"}))
        .send()
        .await;
    assert_eq!(r.json["error_code"], "INVALID_PARAMETER_VALUE");
    assert!(r.json["message"].as_str().unwrap().contains("character 1"), "{}", r.json);
    let r = app
        .post("/api/2.0/mlflow/experiments/create")
        .bearer(&ann.token)
        .json(json!({"name": "p"}))
        .send()
        .await;
    assert_eq!(r.json["error_code"], "RESOURCE_ALREADY_EXISTS");
    let r = app.get("/api/2.0/mlflow/no/such/endpoint").bearer(&ann.token).send().await;
    assert_eq!(r.status, 404);
    // A deleted run refuses logging until it is restored.
    app.post("/api/2.0/mlflow/runs/delete").bearer(&ann.token).json(json!({"run_id": hex(&id)})).send().await;
    let body = json!({"run_id": hex(&id), "key": "k", "value": "v"});
    let r = app.post("/api/2.0/mlflow/runs/set-tag").bearer(&ann.token).json(body.clone()).send().await;
    assert_eq!(r.json["error_code"], "INVALID_STATE");
    app.post("/api/2.0/mlflow/runs/restore")
        .bearer(&ann.token)
        .json(json!({"run_id": hex(&id)}))
        .send()
        .await;
    let r = app.post("/api/2.0/mlflow/runs/set-tag").bearer(&ann.token).json(body).send().await;
    assert_eq!(r.status, 200);
}

async fn artifact_paths_are_confined_to_their_run(app: TestApp) {
    let ann = app.user("ann").await;
    let p = project(&app, &ann, "p").await;
    let (a, _) = queued_run(&app, &ann).await;
    let (b, _) = queued_run(&app, &ann).await;
    let exp = hex(p["id"].as_str().unwrap());
    let put = |path: String| {
        app.call(axum::http::Method::PUT, &format!("/api/2.0/mlflow-artifacts/artifacts/{path}"))
            .bearer(&ann.token)
            .raw("application/octet-stream", "data")
    };
    let ok = put(format!("{exp}/{}/artifacts/dir/file.txt", hex(&a))).send().await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    for bad in [
        format!("{exp}/{}/artifacts/../../{}/artifacts/x", hex(&a), hex(&b)),
        format!("{exp}/{}/artifacts/dir/%2e%2e/%2e%2e/x", hex(&a)),
        format!("{exp}/{}/logs/main.log", hex(&a)),
        format!("{exp}/{}/artifacts//etc/passwd", hex(&a)),
    ] {
        let r = put(bad.clone()).send().await;
        assert_eq!(r.status, 400, "{bad}: {}", r.json);
    }
    // A run under another experiment id is not found, whatever the path says.
    let r = put(format!("{}/{}/artifacts/x", "1".repeat(32), hex(&a))).send().await;
    assert_eq!(r.status, 404);
    let listed = app
        .get(&format!("/api/2.0/mlflow-artifacts/artifacts?path={exp}/{}/artifacts", hex(&b)))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(listed.json["files"], json!([]), "nothing leaked into run b");
    let got = app
        .get(&format!("/api/2.0/mlflow-artifacts/artifacts/{exp}/{}/artifacts/dir/file.txt", hex(&a)))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(got.body, b"data");
    assert_eq!(got.headers["x-content-type-options"], "nosniff", "user content is never sniffed into a page");
    // Deleting the run deletes what it stored.
    app.post(&format!("/api/v1/projects/ann/p/runs/{a}/stop")).bearer(&ann.token).send().await;
    let r = app
        .call(axum::http::Method::DELETE, &format!("/api/v1/projects/ann/p/runs/{a}"))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(r.status, 204, "{}", r.json);
    let pid = p["id"].as_str().unwrap().parse().unwrap();
    let key =
        backend::artifacts::Artifacts::run_key(pid, a.parse().unwrap(), "artifacts/dir/file.txt").unwrap();
    assert!(matches!(app.state.artifacts.read(&key).await, Err(backend::Error::NotFound(_))));
}

async fn many_small_writes_are_compacted_and_read_back_exactly(app: TestApp) {
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let (id, _) = queued_run(&app, &ann).await;
    for step in 0..300i64 {
        let body = json!({"run_id": hex(&id), "key": "loss", "value": (step as f64).sqrt(), "timestamp": 1000 + step, "step": step});
        let r = app.post("/api/2.0/mlflow/runs/log-metric").bearer(&ann.token).json(body).send().await;
        assert_eq!(r.status, 200);
        // Each write in the database on its own (PostgreSQL gathers the writes behind its journal).
        assert!(app.state.ingest.settled().await);
    }
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    let chunks = backend::entities::metric_chunk::Entity::find()
        .filter(backend::entities::metric_chunk::Column::Key.eq("loss"))
        .count(&app.db)
        .await
        .unwrap();
    assert!(chunks < 40, "300 single writes left {chunks} chunks");
    // Merged chunks long enough have a summary; the summaries of chunks merged away went with them.
    let long = backend::entities::metric_chunk::Entity::find()
        .filter(
            backend::entities::metric_chunk::Column::N.gte(backend::services::tracking::chunks::SUMMARISE_AT),
        )
        .count(&app.db)
        .await
        .unwrap();
    let summaries = backend::entities::metric_summary::Entity::find().count(&app.db).await.unwrap();
    assert_eq!((long, summaries), (1, 1), "one merged chunk of 256 points or more, and its summary");
    let h = app
        .get(&format!("/api/2.0/mlflow/metrics/get-history?run_id={}&metric_key=loss", hex(&id)))
        .bearer(&ann.token)
        .send()
        .await;
    let got: Vec<(i64, f64)> = h.json["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["step"].as_i64().unwrap(), m["value"].as_f64().unwrap()))
        .collect();
    assert_eq!(got, (0..300).map(|s| (s, (s as f64).sqrt())).collect::<Vec<_>>());
    // MLflow's bulk-interval read: 10 evenly spread steps, the first and the last included.
    let b = app
        .get(&format!(
            "/api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids={}&metric_key=loss&max_results=10",
            hex(&id)
        ))
        .bearer(&ann.token)
        .send()
        .await;
    let steps: Vec<i64> =
        b.json["metrics"].as_array().unwrap().iter().map(|m| m["step"].as_i64().unwrap()).collect();
    assert_eq!(steps.len(), 10, "{}", b.json);
    assert_eq!((steps[0], steps[9]), (0, 299));
    assert!(b.json["metrics"].as_array().unwrap().iter().all(|m| m["run_id"] == hex(&id).as_str()));
    // Downsampled for a chart: bounded, with the true extremes.
    let s = app
        .get(&format!("/api/v1/projects/ann/p/runs/{id}/metrics/loss?points=50"))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(s.status, 200, "{}", s.json);
    assert!(s.json["points"].as_array().unwrap().len() <= 50);
    assert_eq!(
        (s.json["total"].as_i64(), s.json["min"].as_f64(), s.json["max"].as_f64()),
        (Some(300), Some(0.0), Some(299f64.sqrt()))
    );
}

async fn the_runs_list_takes_polyaxon_queries_and_sorts_by_metrics(app: TestApp) {
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let mut ids = Vec::new();
    for (loss, tag) in [(Some(0.1), "baseline"), (Some(0.3), "wide"), (None, "baseline")] {
        let (id, _) = queued_run(&app, &ann).await;
        let mut batch =
            json!({"tags": {tag: "yes"}, "params": {"lr": if loss == Some(0.1) { "0.01" } else { "0.1" }}});
        if let Some(l) = loss {
            batch["metrics"] = json!([{"key": "loss", "value": l, "timestamp": 1, "step": 1}, {"key": "loss", "value": l + 1.0, "timestamp": 0, "step": 0}]);
        }
        let r = app
            .post(&format!("/api/v1/projects/ann/p/runs/{id}/tracking"))
            .bearer(&ann.token)
            .json(batch)
            .send()
            .await;
        assert_eq!(r.status, 204, "{}", r.json);
        ids.push(id);
    }
    let (app, ann) = (&app, &ann);
    let list = |q: &str| {
        let url = format!("/api/v1/projects/ann/p/runs?{q}");
        async move { app.get(&url).bearer(&ann.token).send().await }
    };
    let uuids = |r: &crate::helpers::Resp| -> Vec<String> {
        r.json["items"].as_array().unwrap().iter().map(|i| i["uuid"].as_str().unwrap().to_string()).collect()
    };
    let r = list("query=metrics.loss:%3C0.2").await;
    assert_eq!(uuids(&r), vec![ids[0].clone()], "{}", r.json);
    assert_eq!(r.json["total"], 1);
    let r = list("query=tags:baseline,%20params.lr:0.1").await;
    assert_eq!(uuids(&r), vec![ids[2].clone()]);
    let r = list("query=status:queued%7Crunning,%20metrics.loss:0.2..0.5").await;
    assert_eq!(uuids(&r), vec![ids[1].clone()]);
    let r = list("query=name:%25probe%25").await;
    assert_eq!(r.json["total"], 0, "queued_run's files have no name: {}", r.json);
    // Sorted by the last loss, smallest first; runs without it last. `:max` sorts by the true maximum.
    assert_eq!(uuids(&list("sort=metrics.loss").await), vec![ids[0].clone(), ids[1].clone(), ids[2].clone()]);
    assert_eq!(
        uuids(&list("sort=metrics.loss:max&asc=false").await),
        vec![ids[1].clone(), ids[0].clone(), ids[2].clone()]
    );
    let r = list("query=metrics.loss:%3Cabc").await;
    assert_eq!(r.status, 400);
    assert!(r.json["message"].as_str().unwrap().contains("at character 14"), "{}", r.json);
    let r = list("sort=bogus").await;
    assert_eq!((r.status.as_u16(), r.json["field"].as_str()), (400, Some("sort")));
}
