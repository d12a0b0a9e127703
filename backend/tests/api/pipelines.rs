//! Pipelines end to end on the local executor: a DAG's ops run in order and pass their outputs on, unchanged
//! ops reuse their results and changed ones say why, triggers/conditions/skips, matrix fan-out under its
//! concurrency with early stopping, stopping a pipeline, and what is refused.
//!
//! Ops log their outputs the way a user's code would: through the MLflow REST API of the server the test
//! runs, with the run's own token (`emit.sh` below is a three-line curl).

use std::time::Duration;

use serde_json::{json, Value};

use crate::both_dbs;
use crate::helpers::{TestApp, TestUser};
use crate::runs::{get, logs, setup, submit};

both_dbs!(
    a_dag_passes_outputs_downstream_and_a_param_change_reruns_only_what_it_affects,
    a_failing_op_fails_its_dependants_while_one_failed_triggers_fire,
    a_matrix_fans_out_under_its_concurrency_and_stops_early,
    stopping_a_pipeline_stops_its_ops,
    identical_pipelines_share_work_in_flight_and_a_deleted_original_is_computed_again,
    artifact_outputs_reach_downstream_relative_to_the_artifacts_root,
);

/// `emit.sh NAME VALUE`: logs an output as an MLflow param of the current run.
fn emit_script() -> String {
    let path = crate::helpers::shared_dir().join(format!("emit-{}.sh", uuid::Uuid::new_v4().simple()));
    std::fs::write(
        &path,
        r#"#!/bin/sh
set -e
curl -sf -o /dev/null -H "Authorization: Bearer $MLFLOW_TRACKING_TOKEN" -H 'Content-Type: application/json' \
  -d "{\"run_id\": \"$MLFLOW_RUN_ID\", \"key\": \"$1\", \"value\": \"$2\"}" "$MLFLOW_TRACKING_URI/api/2.0/mlflow/runs/log-parameter"
"#,
    )
    .unwrap();
    path.display().to_string()
}

fn four_ops(emit: &str) -> String {
    format!(
        r#"kind: operation
name: flow
component:
  name: flow
  inputs:
  - {{name: lr, type: float, value: 0.1, isOptional: true}}
  run:
    kind: dag
    operations:
    - name: prepare
      dagRef: step
      params:
        tag: {{value: data-v1}}
    - name: train
      dagRef: trainer
      params:
        lr: {{ref: dag, value: inputs.lr}}
        src: {{ref: ops.prepare, value: outputs.out}}
    - name: evaluate
      dagRef: step
      params:
        tag: {{value: eval}}
        src: {{value: '{{{{ ops.train.outputs.out }}}}'}}
    - name: report
      dagRef: step
      dependencies: [evaluate]
      params:
        tag: {{value: report}}
    components:
    - name: step
      inputs:
      - {{name: tag, type: str}}
      - {{name: src, type: str, isOptional: true}}
      outputs:
      - {{name: out, type: str}}
      run:
        kind: job
        container:
          image: busybox:1.36
          command: [sh, -c]
          args: ["echo got '{{{{ src }}}}'; sh {emit} out '{{{{ tag }}}}:{{{{ src }}}}'"]
    - name: trainer
      inputs:
      - {{name: lr, type: float}}
      - {{name: src, type: str}}
      outputs:
      - {{name: out, type: str}}
      run:
        kind: job
        container:
          image: busybox:1.36
          command: [sh, -c]
          args: ["sh {emit} out 'model(lr={{{{ lr }}}},data={{{{ src }}}})'"]
"#
    )
}

async fn children(app: &TestApp, u: &TestUser, pipeline: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/api/v1/projects/ann/p/runs?pipeline={pipeline}&sort=name&asc=true&limit=500"))
        .bearer(&u.token)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["items"].as_array().unwrap().clone()
}

/// The child named `name`, in full.
pub(crate) async fn op(app: &TestApp, u: &TestUser, pipeline: &str, name: &str) -> Value {
    let all = children(app, u, pipeline).await;
    let c = all.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no op {name} in {all:?}"));
    get(app, u, c["uuid"].as_str().unwrap()).await
}

/// Drives the pipeline driver and the scheduler (as the server's loop does) until the run reaches a status
/// in `until`; `each` sees every pass (to check invariants while it runs).
pub(crate) async fn drive_until(
    app: &TestApp,
    u: &TestUser,
    id: &str,
    until: &[&str],
    mut each: impl FnMut(&[Value]),
) -> Value {
    let connections = app.state.connections.clone();
    for _ in 0..600 {
        backend::services::pipelines::drive(&app.db, &app.state.executor, &connections).await.unwrap();
        backend::scheduler::tick(&app.db, &app.state.executor).await.unwrap();
        each(&children(app, u, id).await);
        let r = get(app, u, id).await;
        if until.contains(&r["status"].as_str().unwrap_or_default()) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "pipeline {id} never reached {until:?}: {} {:?}",
        get(app, u, id).await,
        children(app, u, id).await
    );
}

fn explanation(run: &Value) -> Vec<String> {
    serde_json::from_value(run["cache"]["explanation"].clone()).unwrap_or_default()
}

async fn a_dag_passes_outputs_downstream_and_a_param_change_reruns_only_what_it_affects(app: TestApp) {
    let ann = setup(&app).await;
    let flow = four_ops(&emit_script());
    let first = submit(&app, &ann, &flow, json!({})).await;
    assert_eq!((first["kind"].as_str(), first["status"].as_str()), (Some("dag"), Some("running")));
    let id = first["uuid"].as_str().unwrap().to_string();
    let ops = children(&app, &ann, &id).await;
    assert_eq!(ops.len(), 4, "every op is a run from the start");
    assert!(ops.iter().all(|o| o["status"] == "created"));
    // The runs table's default scope: top-level runs only; every run unless asked; a pipeline's own always.
    let listed = |q: String| {
        let app = &app;
        let token = ann.token.clone();
        async move {
            let r = app.get(&format!("/api/v1/projects/ann/p/runs?{q}")).bearer(&token).send().await;
            assert_eq!(r.status, 200, "{}", r.json);
            let names: Vec<String> = r.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["name"].as_str().unwrap().into())
                .collect();
            (r.json["total"].as_u64().unwrap(), names)
        }
    };
    assert_eq!(listed("children=false".into()).await, (1, vec!["flow".to_string()]), "ops hidden");
    assert_eq!(listed(String::new()).await.0, 5, "every run by default");
    assert_eq!(listed("children=true".into()).await.0, 5);
    assert_eq!(listed(format!("children=false&pipeline={id}")).await.0, 4);

    let done = drive_until(&app, &ann, &id, &["succeeded", "failed"], |_| {}).await;
    assert_eq!(done["status"], "succeeded", "{}", op(&app, &ann, &id, "evaluate").await["timeline"]);
    let train = op(&app, &ann, &id, "train").await;
    assert_eq!(train["pipeline"], id.as_str());
    assert_eq!(train["params"]["src"], "data-v1:None", "the upstream output became the param");
    assert_eq!(train["outputs"]["out"], "model(lr=0.1,data=data-v1:None)");
    let evaluate = op(&app, &ann, &id, "evaluate").await;
    assert_eq!(
        evaluate["params"]["src"], "model(lr=0.1,data=data-v1:None)",
        "a template of an upstream output"
    );
    assert_eq!(explanation(&evaluate), ["first run of this op: nothing to reuse"]);
    assert_eq!(evaluate["cache"]["hit"], false, "caching is on inside pipelines by default");

    // The DAG view: layered, upstream above, edges labelled with the values passed.
    let g = app.get(&format!("/api/v1/projects/ann/p/runs/{id}/graph")).bearer(&ann.token).send().await;
    assert_eq!(g.status, 200, "{}", g.json);
    let y = |name: &str| {
        g.json["nodes"].as_array().unwrap().iter().find(|n| n["name"] == name).unwrap()["y"].as_f64().unwrap()
    };
    assert!(y("prepare") < y("train") && y("train") < y("evaluate") && y("evaluate") < y("report"));
    let edge = g.json["edges"].as_array().unwrap().iter().find(|e| e["from"] == "prepare").unwrap().clone();
    assert_eq!(edge["labels"], json!(["src = data-v1:None"]));
    assert_eq!(g.json["progress"]["done"], 4);

    // Lineage: each op names the op whose outputs it read, and that op names it downstream.
    let lineage = |run: &Value| {
        app.get(&format!("/api/v1/projects/ann/p/runs/{}/lineage", run["uuid"].as_str().unwrap()))
            .bearer(&ann.token)
            .send()
    };
    let up = lineage(&evaluate).await;
    assert_eq!(up.status, 200, "{}", up.json);
    assert_eq!(up.json["upstream"][0]["uuid"], train["uuid"], "{}", up.json);
    assert_eq!(
        (up.json["inputs"][0]["kind"].as_str(), up.json["inputs"][0]["name"].as_str()),
        (Some("run"), Some("train"))
    );
    let down = lineage(&train).await;
    let names: Vec<&str> =
        down.json["downstream"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert!(names.iter().any(|n| n.contains("evaluate")), "{}", down.json);

    // The same pipeline again: every op reuses its results.
    let again = submit(&app, &ann, &flow, json!({})).await;
    let again_id = again["uuid"].as_str().unwrap().to_string();
    assert_eq!(
        drive_until(&app, &ann, &again_id, &["succeeded", "failed"], |_| {}).await["status"],
        "succeeded"
    );
    for name in ["prepare", "train", "evaluate", "report"] {
        let o = op(&app, &ann, &again_id, name).await;
        assert_eq!(
            (o["status"].as_str(), o["status_reason"].as_str()),
            (Some("succeeded"), Some("CacheHit")),
            "{name}: {o}"
        );
    }
    let reused = op(&app, &ann, &again_id, "train").await;
    assert_eq!(reused["cache"]["original"], train["uuid"]);
    assert_eq!(
        reused["outputs"]["out"], "model(lr=0.1,data=data-v1:None)",
        "a hit's outputs are its original's"
    );

    // A new learning rate: train and what reads its output run again, and say why; the rest is reused.
    let changed = submit(&app, &ann, &flow, json!({"lr": 0.01})).await;
    let changed_id = changed["uuid"].as_str().unwrap().to_string();
    assert_eq!(
        drive_until(&app, &ann, &changed_id, &["succeeded", "failed"], |_| {}).await["status"],
        "succeeded"
    );
    let reason = |o: &Value| o["status_reason"].as_str().unwrap_or_default().to_string();
    let prepare = op(&app, &ann, &changed_id, "prepare").await;
    assert_eq!(reason(&prepare), "CacheHit");
    let train = op(&app, &ann, &changed_id, "train").await;
    assert_eq!(reason(&train), "Succeeded", "{train}");
    assert!(explanation(&train).contains(&"param lr 0.1 -> 0.01".to_string()), "{:?}", explanation(&train));
    let evaluate = op(&app, &ann, &changed_id, "evaluate").await;
    assert_ne!(reason(&evaluate), "CacheHit");
    assert!(
        explanation(&evaluate).iter().any(|e| e.starts_with("upstream output train.out model(lr=0.1")),
        "{:?}",
        explanation(&evaluate)
    );
    let report = op(&app, &ann, &changed_id, "report").await;
    assert_eq!(reason(&report), "CacheHit", "report takes no value from upstream: {report}");
}

async fn a_failing_op_fails_its_dependants_while_one_failed_triggers_fire(app: TestApp) {
    let ann = setup(&app).await;
    let sh = |cmd: &str| {
        format!(
            "{{kind: job, container: {{image: busybox:1.36, command: [sh, -c, {}]}}}}",
            serde_json::to_string(cmd).unwrap()
        )
    };
    let flow = format!(
        r#"kind: component
name: triggers
run:
  kind: dag
  operations:
  - {{name: broken, component: {{run: {fail}}}}}
  - {{name: after, dependencies: [broken], component: {{run: {ok}}}}}
  - {{name: alert, dependencies: [broken], trigger: one_failed, component: {{run: {ok}}}}}
  - {{name: cleanup, dependencies: [broken], trigger: all_done, component: {{run: {ok}}}}}
  - {{name: gated, conditions: '{{{{ 1 > 2 }}}}', component: {{run: {ok}}}}}
  - {{name: follows-gated, dependencies: [gated], skipOnUpstreamSkip: true, component: {{run: {ok}}}}}
  - {{name: uncached, cache: {{disable: true}}, component: {{run: {ok}}}}}
  - {{name: scored, component: {{outputs: [{{name: score, type: float}}], run: {score}}}}}
  - {{name: low, params: {{s: {{ref: ops.scored, value: outputs.score}}}}, conditions: '{{{{ s < 0.5 }}}}', component: {{inputs: [{{name: s, type: float}}], run: {ok}}}}}
  - {{name: high, params: {{s: {{ref: ops.scored, value: outputs.score}}}}, conditions: '{{{{ s > 0.5 }}}}', component: {{inputs: [{{name: s, type: float}}], run: {ok}}}}}
"#,
        fail = sh("echo broken; exit 3"),
        ok = sh("echo fine"),
        score = sh(&format!("sh {} score 0.25", emit_script())),
    );
    let p = submit(&app, &ann, &flow, json!({})).await;
    let id = p["uuid"].as_str().unwrap().to_string();
    let done = drive_until(&app, &ann, &id, &["succeeded", "failed", "stopped"], |_| {}).await;
    assert_eq!(done["status"], "failed", "a failed op fails the pipeline");
    let status = |o: &Value| {
        (
            o["status"].as_str().unwrap_or_default().to_string(),
            o["status_reason"].as_str().unwrap_or_default().to_string(),
        )
    };
    assert_eq!(status(&op(&app, &ann, &id, "broken").await).0, "failed");
    let after = op(&app, &ann, &id, "after").await;
    assert_eq!(status(&after), ("upstream_failed".into(), "UpstreamFailed".into()));
    assert!(after["status_message"].as_str().unwrap().contains("broken did not succeed"), "{after}");
    assert_eq!(status(&op(&app, &ann, &id, "alert").await).0, "succeeded", "one_failed fires");
    assert_eq!(status(&op(&app, &ann, &id, "cleanup").await).0, "succeeded", "all_done fires");
    assert_eq!(
        status(&op(&app, &ann, &id, "gated").await),
        ("skipped".into(), "ConditionsCheckFailed".into())
    );
    assert_eq!(
        status(&op(&app, &ann, &id, "follows-gated").await),
        ("skipped".into(), "UpstreamSkipped".into())
    );
    // Conditions on an upstream result are decided once it is known.
    let low = op(&app, &ann, &id, "low").await;
    assert_eq!(
        status(&low).0,
        "succeeded",
        "{} {}",
        low["status_message"],
        op(&app, &ann, &id, "scored").await["outputs"]
    );
    assert_eq!(
        status(&op(&app, &ann, &id, "high").await),
        ("skipped".into(), "ConditionsCheckFailed".into())
    );
    let uncached = op(&app, &ann, &id, "uncached").await;
    assert_eq!(uncached["cache"]["enabled"], false);
    assert_eq!(explanation(&uncached), ["caching disabled in the file (cache.disable: true)"]);
    let summary = done["status_message"].as_str().unwrap();
    assert!(summary.contains("1 failed") && summary.contains("1 upstream_failed"), "{summary}");
}

async fn a_matrix_fans_out_under_its_concurrency_and_stops_early(app: TestApp) {
    let ann = setup(&app).await;
    let grid = r#"kind: operation
name: sweep
matrix:
  kind: grid
  concurrency: 2
  params:
    x: {kind: choice, value: [1, 2, 3, 4, 5, 6]}
component:
  inputs: [{name: x, type: int}]
  run:
    kind: job
    container: {image: busybox:1.36, command: [sh, -c, 'sleep 0.2; echo x={{ x }}']}
"#;
    let p = submit(&app, &ann, grid, json!({})).await;
    assert_eq!(p["kind"], "matrix");
    let id = p["uuid"].as_str().unwrap().to_string();
    assert_eq!(children(&app, &ann, &id).await.len(), 6, "one child per suggestion");
    let mut most = 0;
    let done = drive_until(&app, &ann, &id, &["succeeded", "failed"], |kids| {
        let flying = kids
            .iter()
            .filter(|k| !matches!(k["status"].as_str(), Some("created" | "succeeded" | "failed")))
            .count();
        most = most.max(flying);
    })
    .await;
    assert_eq!(done["status"], "succeeded");
    assert!(most <= 2, "concurrency 2 held: {most} in flight at once");
    assert!(most >= 1);
    let third = op(&app, &ann, &id, "sweep-2").await;
    assert_eq!(third["params"]["x"], 3);

    // Early stopping: children with x >= 3 fail; one failure in four is 25%: the rest is stopped.
    let failing = r#"kind: operation
name: fragile
matrix:
  kind: mapping
  concurrency: 1
  earlyStopping: [{kind: failure_early_stopping, percent: 25}]
  values: [{x: 1}, {x: 5}, {x: 2}, {x: 3}]
component:
  inputs: [{name: x, type: int}]
  run:
    kind: job
    container: {image: busybox:1.36, command: [sh, -c, 'test {{ x }} -lt 3']}
"#;
    let p = submit(&app, &ann, failing, json!({})).await;
    let id = p["uuid"].as_str().unwrap().to_string();
    let done = drive_until(&app, &ann, &id, &["stopped", "succeeded", "failed"], |_| {}).await;
    assert_eq!(done["status"], "stopped", "{done}");
    assert!(done["status_message"].as_str().unwrap().contains("1 of 4 children failed"), "{done}");
    let kids = children(&app, &ann, &id).await;
    let of = |n: &str| kids.iter().find(|k| k["name"] == n).unwrap()["status"].as_str().unwrap().to_string();
    assert_eq!((of("fragile-0"), of("fragile-1")), ("succeeded".into(), "failed".into()));
    assert_eq!((of("fragile-2"), of("fragile-3")), ("stopped".into(), "stopped".into()), "never started");

    // Metric early stopping: a child reaching the target stops the search.
    let log_metric = r#"curl -sf -o /dev/null -H \"Authorization: Bearer $MLFLOW_TRACKING_TOKEN\" -H 'Content-Type: application/json' -d \"{\\\"run_id\\\": \\\"$MLFLOW_RUN_ID\\\", \\\"key\\\": \\\"accuracy\\\", \\\"value\\\": {{ acc }}, \\\"timestamp\\\": 1, \\\"step\\\": 0}\" $MLFLOW_TRACKING_URI/api/2.0/mlflow/runs/log-metric"#;
    let target = format!(
        "kind: operation\nname: tuned\nmatrix:\n  kind: mapping\n  concurrency: 1\n  earlyStopping: [{{kind: metric_early_stopping, metric: accuracy, value: 0.95, optimization: maximize}}]\n  values: [{{acc: 0.5}}, {{acc: 0.97}}, {{acc: 0.6}}]\ncomponent:\n  inputs: [{{name: acc, type: float}}]\n  run:\n    kind: job\n    container: {{image: busybox:1.36, command: [sh, -c, \"{log_metric}\"]}}\n"
    );
    let id = submit(&app, &ann, &target, json!({})).await["uuid"].as_str().unwrap().to_string();
    let done = drive_until(&app, &ann, &id, &["stopped", "succeeded", "failed"], |_| {}).await;
    assert_eq!(done["status"], "stopped", "{done}");
    assert!(
        done["status_message"].as_str().unwrap().contains("tuned-1 reached accuracy = 0.97 (>= 0.95)"),
        "{done}"
    );
    let kids = children(&app, &ann, &id).await;
    assert_eq!(kids.iter().find(|k| k["name"] == "tuned-2").unwrap()["status"], "stopped");

    // A random search: `numRuns` children drawn within the distributions, the same with the same seed, each
    // run with its own values.
    let random = r#"kind: operation
name: rand
matrix:
  kind: random
  numRuns: 4
  seed: 11
  concurrency: 2
  params:
    lr: {kind: uniform, value: [0.001, 0.1]}
    layers: {kind: choice, value: [2, 4, 8]}
component:
  inputs: [{name: lr, type: float}, {name: layers, type: int}]
  run:
    kind: job
    container: {image: busybox:1.36, command: [sh, -c, 'echo lr={{ lr }} layers={{ layers }}']}
"#;
    let id = submit(&app, &ann, random, json!({})).await["uuid"].as_str().unwrap().to_string();
    let done = drive_until(&app, &ann, &id, &["succeeded", "failed"], |_| {}).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let mut drawn = Vec::new();
    for k in children(&app, &ann, &id).await {
        let child = get(&app, &ann, k["uuid"].as_str().unwrap()).await;
        let (lr, layers) =
            (child["params"]["lr"].as_f64().unwrap(), child["params"]["layers"].as_i64().unwrap());
        assert!((0.001..=0.1).contains(&lr) && [2, 4, 8].contains(&layers), "{}", child["params"]);
        let log = logs(&app, &ann, k["uuid"].as_str().unwrap()).await;
        assert!(log.contains(&format!("lr={lr} layers={layers}")), "{log}");
        drawn.push((k["name"].as_str().unwrap().to_string(), lr.to_string(), layers));
    }
    assert_eq!(drawn.len(), 4, "numRuns children");
    drawn.sort();
    drawn.dedup_by(|a, b| a.1 == b.1);
    assert_eq!(drawn.len(), 4, "four different draws: {drawn:?}");
    let again = submit(&app, &ann, random, json!({})).await["uuid"].as_str().unwrap().to_string();
    let mut redrawn = Vec::new();
    for k in children(&app, &ann, &again).await {
        redrawn.push((
            k["name"].as_str().unwrap().to_string(),
            get(&app, &ann, k["uuid"].as_str().unwrap()).await["params"].clone(),
        ));
    }
    let mut first = Vec::new();
    for k in children(&app, &ann, &id).await {
        first.push((
            k["name"].as_str().unwrap().to_string(),
            get(&app, &ann, k["uuid"].as_str().unwrap()).await["params"].clone(),
        ));
    }
    assert_eq!(redrawn, first, "the same seed draws the same children");

    // Searches Myelin validates but does not run are refused with the reason, not faked.
    let hyper = "kind: operation\nmatrix: {kind: hyperband, maxIterations: 9, eta: 3, resource: {name: steps, type: int}, metric: {name: loss, optimization: minimize}, params: {lr: {kind: uniform, value: [0, 1]}}}\ncomponent:\n  inputs: [{name: lr, type: float}, {name: steps, type: int}]\n  run: {kind: job, container: {image: busybox:1.36, command: [echo]}}\n";
    let r = app
        .post("/api/v1/projects/ann/p/runs")
        .bearer(&ann.token)
        .json(json!({"content": hyper}))
        .send()
        .await;
    assert_eq!((r.status.as_u16(), r.json["error"].as_str()), (400, Some("unsupported")), "{}", r.json);
    assert!(
        r.json["message"].as_str().unwrap().contains("does not execute hyperband searches yet"),
        "{}",
        r.json
    );
}

async fn stopping_a_pipeline_stops_its_ops(app: TestApp) {
    let ann = setup(&app).await;
    let flow = "kind: component\nname: long\nrun:\n  kind: dag\n  operations:\n  - {name: slow, component: {run: {kind: job, container: {image: busybox:1.36, command: [sleep, '30']}}}}\n  - {name: next, dependencies: [slow], component: {run: {kind: job, container: {image: busybox:1.36, command: [echo]}}}}\n";
    let p = submit(&app, &ann, flow, json!({})).await;
    let id = p["uuid"].as_str().unwrap().to_string();
    let mut running = false;
    for _ in 0..200 {
        backend::services::pipelines::drive(&app.db, &app.state.executor, &app.state.connections)
            .await
            .unwrap();
        backend::scheduler::tick(&app.db, &app.state.executor).await.unwrap();
        if op(&app, &ann, &id, "slow").await["status"] == "running" {
            running = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(running, "the first op started");
    let r = app.post(&format!("/api/v1/projects/ann/p/runs/{id}/stop")).bearer(&ann.token).send().await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["status"], "stopping");
    let done = drive_until(&app, &ann, &id, &["stopped"], |_| {}).await;
    assert_eq!(done["status"], "stopped");
    assert_eq!(op(&app, &ann, &id, "slow").await["status"], "stopped");
    assert_eq!(op(&app, &ann, &id, "next").await["status"], "stopped");

    // An op is not restarted on its own; the pipeline is.
    let slow = op(&app, &ann, &id, "slow").await;
    let r = app
        .post(&format!("/api/v1/projects/ann/p/runs/{}/restart", slow["uuid"].as_str().unwrap()))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(r.status, 409);
    // Deleting the pipeline deletes its ops.
    let r = app
        .call(axum::http::Method::DELETE, &format!("/api/v1/projects/ann/p/runs/{id}"))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(r.status, 204, "{}", r.json);
    assert!(children(&app, &ann, &id).await.is_empty());
}

async fn identical_pipelines_share_work_in_flight_and_a_deleted_original_is_computed_again(app: TestApp) {
    let ann = setup(&app).await;
    let flow = "kind: component\nname: twice\nrun:\n  kind: dag\n  operations:\n  - {name: work, component: {run: {kind: job, container: {image: busybox:1.36, command: [sh, -c, 'sleep 0.3; echo worked']}}}}\n";
    let first = submit(&app, &ann, flow, json!({})).await["uuid"].as_str().unwrap().to_string();
    let second = submit(&app, &ann, flow, json!({})).await["uuid"].as_str().unwrap().to_string();
    drive_until(&app, &ann, &first, &["succeeded"], |_| {}).await;
    drive_until(&app, &ann, &second, &["succeeded"], |_| {}).await;
    let original = op(&app, &ann, &first, "work").await;
    let shared = op(&app, &ann, &second, "work").await;
    assert_eq!(shared["status_reason"], "CacheHit", "{shared}");
    assert_eq!(shared["cache"]["original"], original["uuid"]);
    let reasons: Vec<&str> =
        shared["timeline"].as_array().unwrap().iter().filter_map(|e| e["reason"].as_str()).collect();
    assert!(
        reasons.contains(&"WaitingForCache"),
        "it waited for the run in flight instead of starting twice: {reasons:?}"
    );
    assert!(!reasons.contains(&"Queued"), "{reasons:?}");
    assert!(
        logs(&app, &ann, shared["uuid"].as_str().unwrap()).await.contains("worked"),
        "the original's log"
    );

    // The original goes away: the next run computes again rather than pointing at nothing.
    let r = app
        .call(axum::http::Method::DELETE, &format!("/api/v1/projects/ann/p/runs/{first}"))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(r.status, 204);
    let third = submit(&app, &ann, flow, json!({})).await["uuid"].as_str().unwrap().to_string();
    drive_until(&app, &ann, &third, &["succeeded"], |_| {}).await;
    let again = op(&app, &ann, &third, "work").await;
    assert_eq!(again["status_reason"], "Succeeded", "{again}");
    assert!(explanation(&again)[0].contains("was deleted: computing again"), "{:?}", explanation(&again));
}

async fn artifact_outputs_reach_downstream_relative_to_the_artifacts_root(app: TestApp) {
    let ann = setup(&app).await;
    let emit = emit_script();
    let flow = format!(
        "kind: component\nname: art\nrun:\n  kind: dag\n  operations:\n  - {{name: make, component: {{outputs: [{{name: model, type: path}}], run: {{kind: job, container: {{image: busybox:1.36, command: [sh, {emit}, model, best.pt]}}}}}}}}\n  - {{name: use, params: {{m: {{ref: ops.make, value: outputs.model}}}}, component: {{inputs: [{{name: m, type: path}}], run: {{kind: job, container: {{image: busybox:1.36, command: [echo, '{{{{ m }}}}']}}}}}}}}\n"
    );
    let id = submit(&app, &ann, &flow, json!({})).await["uuid"].as_str().unwrap().to_string();
    assert_eq!(drive_until(&app, &ann, &id, &["succeeded", "failed"], |_| {}).await["status"], "succeeded");
    let make = op(&app, &ann, &id, "make").await;
    let used = op(&app, &ann, &id, "use").await;
    let expected = format!("{}/best.pt", make["uuid"].as_str().unwrap().replace('-', ""));
    assert_eq!(used["params"]["m"], expected.as_str(), "prefixed with the upstream run's uuid");
}
