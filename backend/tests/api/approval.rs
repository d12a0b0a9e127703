//! `isApproved: false` holds a run (or a DAG's op) compiled, visibly waiting, until a project member approves
//! it; the approval queues it and its history names the approver. Viewers cannot approve; nothing else does.

use serde_json::{json, Value};

use crate::both_dbs;
use crate::helpers::{TestApp, TestUser};
use crate::pipelines::op;
use crate::runs::{get, setup, submit, wait_for};

both_dbs!(
    a_run_waits_for_approval_and_runs_once_a_member_approves,
    a_dags_op_waits_for_its_own_approval,
    a_whole_dag_waits_for_approval_and_can_be_stopped_while_it_waits,
);

const HELD: &str = "kind: component\nisApproved: false\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: [sh, -c, 'echo approved']}\n";

async fn approve(app: &TestApp, u: &TestUser, id: &str) -> crate::helpers::Resp {
    app.post(&format!("/api/v1/projects/ann/p/runs/{id}/approve")).bearer(&u.token).send().await
}

fn reasons(run: &Value) -> Vec<String> {
    run["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn a_run_waits_for_approval_and_runs_once_a_member_approves(app: TestApp) {
    let ann = setup(&app).await;
    let vic = app.user("vic").await;
    let r = app
        .post("/api/v1/projects/ann/p/members")
        .bearer(&ann.token)
        .json(json!({"username": "vic", "role": "viewer"}))
        .send()
        .await;
    assert_eq!(r.status, 201);
    let run = submit(&app, &ann, HELD, json!({})).await;
    let id = run["uuid"].as_str().unwrap().to_string();
    // The scheduler passes it by: it waits, compiled, and says why.
    for _ in 0..3 {
        backend::scheduler::tick(&app.db, &app.state.executor).await.unwrap();
    }
    let held = get(&app, &ann, &id).await;
    assert_eq!(
        (held["status"].as_str(), held["status_reason"].as_str()),
        (Some("compiled"), Some("WaitingForApproval")),
        "{held}"
    );
    assert!(held["status_message"].as_str().unwrap().contains("isApproved: false"), "{held}");
    assert_eq!(approve(&app, &vic, &id).await.status, 403, "a viewer cannot approve");
    let ok = approve(&app, &ann, &id).await;
    assert_eq!((ok.status.as_u16(), ok.json["status"].as_str()), (200, Some("queued")), "{}", ok.json);
    assert_eq!(ok.json["status_message"], "approved by ann");
    assert_eq!(approve(&app, &ann, &id).await.status, 409, "approving twice is a conflict");
    let done = wait_for(&app, &ann, &id, &["succeeded", "failed"]).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let why = reasons(&done);
    assert!(
        why.contains(&"WaitingForApproval".to_string()) && why.contains(&"Approved".to_string()),
        "{why:?}"
    );
    // A run that waits for nothing cannot be approved.
    assert_eq!(approve(&app, &ann, &id).await.status, 409);
}

async fn a_dags_op_waits_for_its_own_approval(app: TestApp) {
    let ann = setup(&app).await;
    let dag = "kind: component\nrun:\n  kind: dag\n  operations:\n  - name: first\n    component: {run: {kind: job, container: {image: 'busybox:1.36', command: ['true']}}}\n  - name: gated\n    dependencies: [first]\n    isApproved: false\n    component: {run: {kind: job, container: {image: 'busybox:1.36', command: ['true']}}}\n";
    let run = submit(&app, &ann, dag, json!({})).await;
    let id = run["uuid"].as_str().unwrap().to_string();
    let connections = app.state.connections.clone();
    let mut gated = Value::Null;
    for _ in 0..400 {
        backend::services::pipelines::drive(&app.db, &app.state.executor, &connections).await.unwrap();
        backend::scheduler::tick(&app.db, &app.state.executor).await.unwrap();
        gated = op(&app, &ann, &id, "gated").await;
        if gated["status_reason"] == "WaitingForApproval" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(gated["status"], "compiled", "{gated}");
    assert_eq!(op(&app, &ann, &id, "first").await["status"], "succeeded");
    assert_eq!(get(&app, &ann, &id).await["status"], "running", "the DAG waits with its op");
    let ok = approve(&app, &ann, gated["uuid"].as_str().unwrap()).await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    let done = crate::pipelines::drive_until(&app, &ann, &id, &["succeeded", "failed"], |_| {}).await;
    assert_eq!(done["status"], "succeeded", "{done}");
}

async fn a_whole_dag_waits_for_approval_and_can_be_stopped_while_it_waits(app: TestApp) {
    let ann = setup(&app).await;
    let dag = "kind: component\nisApproved: false\nrun:\n  kind: dag\n  operations:\n  - name: first\n    component: {run: {kind: job, container: {image: 'busybox:1.36', command: ['true']}}}\n  - name: second\n    dependencies: [first]\n    component: {run: {kind: job, container: {image: 'busybox:1.36', command: ['true']}}}\n";
    let connections = app.state.connections.clone();
    let tick = || async {
        backend::services::pipelines::drive(&app.db, &app.state.executor, &connections).await.unwrap();
        backend::scheduler::tick(&app.db, &app.state.executor).await.unwrap();
    };
    for stop_it in [true, false] {
        let id = submit(&app, &ann, dag, json!({})).await["uuid"].as_str().unwrap().to_string();
        for _ in 0..5 {
            tick().await;
        }
        // Held whole: the pipeline waits, compiled, and none of its ops has started.
        let held = get(&app, &ann, &id).await;
        assert_eq!(
            (held["status"].as_str(), held["status_reason"].as_str()),
            (Some("compiled"), Some("WaitingForApproval")),
            "{held}"
        );
        for name in ["first", "second"] {
            assert_eq!(op(&app, &ann, &id, name).await["status"], "created", "op {name} waits with its DAG");
        }
        if stop_it {
            let r =
                app.post(&format!("/api/v1/projects/ann/p/runs/{id}/stop")).bearer(&ann.token).send().await;
            assert_eq!(r.status, 200, "{}", r.json);
            let done = crate::pipelines::drive_until(&app, &ann, &id, &["stopped"], |_| {}).await;
            assert_eq!(done["status"], "stopped", "{done}");
            assert_eq!(op(&app, &ann, &id, "first").await["status"], "stopped");
            assert_eq!(approve(&app, &ann, &id).await.status, 409, "a stopped DAG waits for nothing");
            continue;
        }
        let ok = approve(&app, &ann, &id).await;
        assert_eq!((ok.status.as_u16(), ok.json["status"].as_str()), (200, Some("running")), "{}", ok.json);
        assert_eq!(ok.json["status_message"], "approved by ann");
        let done = crate::pipelines::drive_until(&app, &ann, &id, &["succeeded", "failed"], |_| {}).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        let why = reasons(&done);
        assert!(why.contains(&"WaitingForApproval".into()) && why.contains(&"Approved".into()), "{why:?}");
    }
}
