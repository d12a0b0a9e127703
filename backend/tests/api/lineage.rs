//! Lineage sources end to end on the local executor: a run's init steps (a git repository at the commit it
//! checked out, a file written from the spec, another run's file copied by its uuid path) and a DAG op reading an
//! upstream op's artifact output are recorded as inputs by digest, so the producer's lineage and "which runs
//! consumed this digest" find the consumer; the commit MLflow's client tags a run with is an input too.

use serde_json::{json, Value};
use sha2::Digest;

use crate::both_dbs;
use crate::helpers::{TestApp, TestUser};
use crate::pipelines::{drive_until, op};
use crate::runs::{logs, setup, submit, wait_for};

both_dbs!(
    init_steps_are_inputs_by_digest,
    a_dag_op_consumes_its_upstream_files_by_digest,
    mlflow_git_tags_are_an_input,
);

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

async fn lineage(app: &TestApp, u: &TestUser, run: &str) -> Value {
    let r = app.get(&format!("/api/v1/projects/ann/p/runs/{run}/lineage")).bearer(&u.token).send().await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json
}

async fn consumers(app: &TestApp, u: &TestUser, digest: &str) -> Vec<String> {
    let r = app
        .get(&format!("/api/v1/projects/ann/p/artifacts/consumers?digest={digest}"))
        .bearer(&u.token)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json.as_array().unwrap().iter().map(|c| c["uuid"].as_str().unwrap().to_string()).collect()
}

fn input<'a>(l: &'a Value, kind: &str) -> &'a Value {
    l["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} input in {l}"))
}

/// A script a job runs to store a file as its artifact (through the MLflow artifact proxy, as `log_artifact`
/// does) and to say which path its `model` output is (as a param, which outputs read).
fn store_and_emit() -> String {
    let path = crate::helpers::shared_dir().join(format!("store-{}.sh", uuid::Uuid::new_v4().simple()));
    std::fs::write(
        &path,
        r#"#!/bin/sh
set -e
auth="Authorization: Bearer $MLFLOW_TRACKING_TOKEN"
curl -sf -o /dev/null -X PUT -H "$auth" --data-binary "$2" \
  "$MLFLOW_TRACKING_URI/api/2.0/mlflow-artifacts/artifacts/$MLFLOW_EXPERIMENT_ID/$MLFLOW_RUN_ID/artifacts/$1"
curl -sf -o /dev/null -H "$auth" -H 'Content-Type: application/json' \
  -d "{\"run_id\": \"$MLFLOW_RUN_ID\", \"key\": \"model\", \"value\": \"$1\"}" "$MLFLOW_TRACKING_URI/api/2.0/mlflow/runs/log-parameter"
"#,
    )
    .unwrap();
    path.display().to_string()
}

async fn init_steps_are_inputs_by_digest(app: TestApp) {
    let ann = setup(&app).await;
    // Another run's file, stored through the API (so indexed with its digest).
    let producer = submit(
        &app,
        &ann,
        "kind: component\nrun: {kind: job, container: {image: busybox, command: ['true']}}\n",
        json!({}),
    )
    .await;
    let producer = producer["uuid"].as_str().unwrap().to_string();
    wait_for(&app, &ann, &producer, &["succeeded"]).await;
    let data = b"x,y\n1,2\n";
    let up = app
        .call(
            axum::http::Method::PUT,
            &format!("/api/v1/projects/ann/p/runs/{producer}/artifacts/artifacts/train.csv"),
        )
        .bearer(&ann.token)
        .raw("application/octet-stream", data.to_vec())
        .send()
        .await;
    assert!(up.status.is_success(), "{} {}", up.status, up.json);
    assert_eq!(up.json["sha256"], sha(data));

    let (repo, head) = crate::runs::git_repo("code\n");

    // The file is named by the producer's uuid (as `{{ ops.x.outputs.y }}` names it): found under `artifacts/`.
    let simple = producer.replace('-', "");
    let content = format!(
        "kind: component\nname: consumer\nrun:\n  kind: job\n  init:\n  - git: {{url: 'file://{repo}'}}\n  - file: {{filename: conf.json, content: '{{\"lr\": 1}}'}}\n  - artifacts: {{files: ['{simple}/train.csv']}}\n  container: {{image: busybox, command: [cat, '{simple}/train.csv']}}\n",
        repo = repo.display()
    );
    let consumer = submit(&app, &ann, &content, json!({})).await["uuid"].as_str().unwrap().to_string();
    let done = wait_for(&app, &ann, &consumer, &["succeeded", "failed"]).await;
    let text = logs(&app, &ann, &consumer).await;
    assert_eq!(done["status"], "succeeded", "{text}");
    assert!(text.contains("stdout x,y") && text.contains("copied 1 file(s)"), "{text}");
    std::fs::remove_dir_all(&repo).ok();

    let l = lineage(&app, &ann, &consumer).await;
    let g = input(&l, "git");
    assert_eq!(
        (g["name"].as_str(), g["digest"].as_str()),
        (Some(format!("file://{}", repo.display()).as_str()), Some(head.as_str())),
        "{l}"
    );
    let f = input(&l, "file");
    assert_eq!(
        (f["name"].as_str(), f["digest"].as_str()),
        (Some("conf.json"), Some(sha(br#"{"lr": 1}"#).as_str())),
        "{l}"
    );
    let a = input(&l, "artifact");
    assert_eq!(a["digest"], sha(data), "{l}");
    assert_eq!(a["path"], "artifacts/train.csv", "{l}");
    assert_eq!(a["source"]["uuid"], producer.as_str(), "{l}");
    assert_eq!(l["upstream"][0]["uuid"], producer.as_str(), "{l}");

    let down = lineage(&app, &ann, &producer).await;
    assert_eq!(down["downstream"][0]["uuid"], consumer.as_str(), "{down}");
    assert_eq!(consumers(&app, &ann, &sha(data)).await, vec![consumer.clone()]);
    assert_eq!(l["inputs"].as_array().unwrap().len(), 3, "git, file, artifact, each once: {l}");
}

async fn a_dag_op_consumes_its_upstream_files_by_digest(app: TestApp) {
    let ann = setup(&app).await;
    let script = store_and_emit();
    let flow = format!(
        "kind: component\nname: art\nrun:\n  kind: dag\n  operations:\n  - {{name: make, component: {{outputs: [{{name: model, type: path}}], run: {{kind: job, container: {{image: busybox, command: [sh, {script}, best.pt, weights-1]}}}}}}}}\n  - {{name: use, params: {{m: {{ref: ops.make, value: outputs.model}}}}, component: {{inputs: [{{name: m, type: path}}], run: {{kind: job, init: [{{artifacts: {{files: ['{{{{ m }}}}']}}}}], container: {{image: busybox, command: [cat, '{{{{ m }}}}']}}}}}}}}\n"
    );
    let id = submit(&app, &ann, &flow, json!({})).await["uuid"].as_str().unwrap().to_string();
    let done = drive_until(&app, &ann, &id, &["succeeded", "failed"], |_| {}).await;
    let make = op(&app, &ann, &id, "make").await;
    let used = op(&app, &ann, &id, "use").await;
    let (make, used) =
        (make["uuid"].as_str().unwrap().to_string(), used["uuid"].as_str().unwrap().to_string());
    let text = logs(&app, &ann, &used).await;
    assert_eq!(done["status"], "succeeded", "{text}");
    assert!(text.contains("stdout weights-1"), "the upstream file reached the op through init: {text}");

    let digest = sha(b"weights-1");
    let l = lineage(&app, &ann, &used).await;
    let files: Vec<&Value> =
        l["inputs"].as_array().unwrap().iter().filter(|i| i["kind"] == "artifact").collect();
    assert!(!files.is_empty(), "{l}");
    assert!(
        files.iter().all(|f| f["digest"] == digest.as_str() && f["source"]["uuid"] == make.as_str()),
        "the output's file and the copied file, by digest, from make: {l}"
    );
    assert!(l["inputs"].as_array().unwrap().iter().any(|i| i["kind"] == "run" && i["name"] == "make"), "{l}");
    assert_eq!(consumers(&app, &ann, &digest).await, vec![used.clone()]);
    let down = lineage(&app, &ann, &make).await;
    assert_eq!(down["downstream"].as_array().unwrap().len(), 1, "{down}");
    assert_eq!(down["downstream"][0]["uuid"], used.as_str(), "{down}");
    // Its declared output, with the value it gave and the file that value names.
    let d = &down["declared"][0];
    assert_eq!(
        (d["name"].as_str(), d["value"].as_str(), d["artifact"].as_bool()),
        (Some("model"), Some("best.pt"), Some(true)),
        "{down}"
    );
    assert_eq!(d["files"][0]["path"], "artifacts/best.pt", "{down}");
    assert_eq!(d["files"][0]["sha256"], digest.as_str(), "{down}");
    assert_eq!(lineage(&app, &ann, &used).await["declared"], json!([]), "use declares no outputs");
    let view = app
        .get(&format!("/api/v1/projects/ann/p/runs/{make}/preview/artifacts/best.pt"))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(view.json["consumers"][0]["uuid"], used.as_str(), "{}", view.json);
}

async fn mlflow_git_tags_are_an_input(app: TestApp) {
    let ann = setup(&app).await;
    let p: Value = app.get("/api/v1/projects/ann/p").bearer(&ann.token).send().await.json;
    let experiment = p["id"].as_str().unwrap().replace('-', "");
    let tags = json!([
        {"key": "mlflow.source.git.commit", "value": "0123456789abcdef0123456789abcdef01234567"},
        {"key": "mlflow.source.git.repoURL", "value": "https://git.example/team/model.git"},
    ]);
    let r = app
        .post("/api/2.0/mlflow/runs/create")
        .bearer(&ann.token)
        .json(json!({"experiment_id": experiment, "tags": tags}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let run = r.json["run"]["info"]["run_uuid"].as_str().unwrap();
    let run = uuid::Uuid::try_parse(run).unwrap().to_string();
    let l = lineage(&app, &ann, &run).await;
    let g = input(&l, "git");
    assert_eq!(g["name"], "https://git.example/team/model.git", "{l}");
    assert_eq!(g["digest"], "0123456789abcdef0123456789abcdef01234567", "{l}");
}
