//! MLflow's routes x every kind of caller -> the expected status, as the `/api/v1` matrix does, plus the one
//! caller only MLflow routes know: a run token (what a job gets), which reads its project and writes only its
//! own run. Non-members get "does not exist" (404), never a hint the project is there. The route list is
//! checked against the router, so adding an MLflow route without a row here fails.

use axum::http::Method;
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestUser};

const JOB: &str =
    "kind: component\nrun: {kind: job, container: {image: 'busybox:1.36', command: ['true']}}\n";
const CALLERS: [&str; 7] = ["anonymous", "non-member", "viewer", "member", "admin", "owner", "run token"];

/// Ids of one cell's fixtures: the project (experiment), the run whose token calls, another running run and a
/// finished one.
struct Ids {
    exp: String,
    run: String,
    other: String,
    done: String,
    name: String,
    /// Logged models of `run` and of `other`.
    lm_run: String,
    lm_other: String,
}

struct Row {
    method: Method,
    path: &'static str,
    body: fn(&Ids, usize) -> Value,
    expect: [u16; 7],
}

fn none(_: &Ids, _: usize) -> Value {
    Value::Null
}

fn rows() -> Vec<Row> {
    let row = |method, path, body, expect| Row { method, path, body, expect };
    let read = [401, 404, 200, 200, 200, 200, 200];
    let write_own = [401, 404, 403, 200, 200, 200, 200];
    let write_other = [401, 404, 403, 200, 200, 200, 403];
    vec![
        row(Method::GET, "/api/2.0/mlflow/experiments/get?experiment_id={exp}", none, read),
        row(Method::GET, "/api/2.0/mlflow/experiments/get-by-name?experiment_name=olive/{name}", none, read),
        row(
            Method::POST,
            "/api/2.0/mlflow/experiments/search",
            |_, _| json!({}),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/experiments/create",
            |_, n| json!({"name": format!("made-{n}")}),
            [401, 200, 200, 200, 200, 200, 403],
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/experiments/update",
            |i, n| json!({"experiment_id": i.exp, "new_name": format!("renamed-{n}")}),
            [401, 404, 403, 403, 200, 200, 403],
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/experiments/set-experiment-tag",
            |i, _| json!({"experiment_id": i.exp, "key": "stage", "value": "dev"}),
            [401, 404, 403, 200, 200, 200, 403],
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/experiments/set-experiment-tag",
            |i, _| json!({"experiment_id": i.exp, "key": "mlflow.note.content", "value": "about"}),
            [401, 404, 403, 403, 200, 200, 403],
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/experiments/delete-experiment-tag",
            |i, _| json!({"experiment_id": i.exp, "key": "team"}),
            [401, 404, 403, 200, 200, 200, 403],
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/experiments/delete",
            |i, _| json!({"experiment_id": i.exp}),
            [401, 404, 403, 403, 403, 200, 403],
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/experiments/restore",
            |i, _| json!({"experiment_id": i.exp}),
            [401, 404, 403, 403, 403, 200, 403],
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/runs/create",
            |i, _| json!({"experiment_id": i.exp}),
            [401, 404, 403, 200, 200, 200, 403],
        ),
        row(Method::GET, "/api/2.0/mlflow/runs/get?run_id={other}", none, read),
        row(
            Method::POST,
            "/api/2.0/mlflow/runs/update",
            |i, _| json!({"run_id": i.run, "run_name": "renamed"}),
            write_own,
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/runs/update",
            |i, _| json!({"run_id": i.other, "run_name": "renamed"}),
            write_other,
        ),
        row(Method::POST, "/api/2.0/mlflow/runs/delete", |i, _| json!({"run_id": i.done}), write_other),
        row(Method::POST, "/api/2.0/mlflow/runs/restore", |i, _| json!({"run_id": i.done}), write_other),
        row(Method::POST, "/api/2.0/mlflow/runs/search", |i, _| json!({"experiment_ids": [i.exp]}), read),
        row(
            Method::POST,
            "/api/2.0/mlflow/runs/log-metric",
            |i, _| json!({"run_id": i.run, "key": "loss", "value": 1.0, "timestamp": 1, "step": 0}),
            write_own,
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/runs/log-metric",
            |i, _| json!({"run_id": i.other, "key": "loss", "value": 1.0, "timestamp": 1, "step": 0}),
            write_other,
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/runs/log-batch",
            |i, _| json!({"run_id": i.run, "metrics": [{"key": "a", "value": 1.0, "timestamp": 1, "step": 0}]}),
            write_own,
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/runs/log-parameter",
            |i, _| json!({"run_id": i.run, "key": "lr", "value": "0.1"}),
            write_own,
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/runs/set-tag",
            |i, _| json!({"run_id": i.run, "key": "t", "value": "v"}),
            write_own,
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/runs/set-tag",
            |i, _| json!({"run_id": i.other, "key": "t", "value": "v"}),
            write_other,
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/runs/delete-tag",
            |i, _| json!({"run_id": i.run, "key": "t"}),
            write_own,
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/runs/log-inputs",
            |i, _| json!({"run_id": i.run, "datasets": []}),
            write_own,
        ),
        row(Method::GET, "/api/2.0/mlflow/metrics/get-history?run_id={other}&metric_key=loss", none, read),
        row(
            Method::GET,
            "/api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids={other}&metric_key=loss",
            none,
            read,
        ),
        row(Method::GET, "/api/2.0/mlflow/artifacts/list?run_id={other}", none, read),
        row(
            Method::POST,
            "/api/2.0/mlflow/logged-models/search",
            |_, _| json!({}),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        // The registry: each cell's project has a model named as the project, version 1 from the run `other`
        // with the tag `t`, the model's tag `t`, and the alias `staging` on version 1.
        row(
            Method::POST,
            "/api/2.0/mlflow/registered-models/create",
            |_, n| json!({"name": format!("made-{n}")}),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        row(Method::GET, "/api/2.0/mlflow/registered-models/get?name={name}", none, read),
        row(
            Method::POST,
            "/api/2.0/mlflow/registered-models/rename",
            |i, n| json!({"name": i.name, "new_name": format!("renamed-{n}")}),
            write_own,
        ),
        row(
            Method::PATCH,
            "/api/2.0/mlflow/registered-models/update",
            |i, _| json!({"name": i.name, "description": "d"}),
            write_own,
        ),
        row(
            Method::DELETE,
            "/api/2.0/mlflow/registered-models/delete",
            |i, _| json!({"name": i.name}),
            [401, 404, 403, 403, 200, 200, 403],
        ),
        row(
            Method::GET,
            "/api/2.0/mlflow/registered-models/search?filter=name%3D%27{name}%27",
            none,
            [401, 200, 200, 200, 200, 200, 200],
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/registered-models/get-latest-versions",
            |i, _| json!({"name": i.name}),
            read,
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/registered-models/set-tag",
            |i, _| json!({"name": i.name, "key": "k", "value": "v"}),
            write_own,
        ),
        row(
            Method::DELETE,
            "/api/2.0/mlflow/registered-models/delete-tag",
            |i, _| json!({"name": i.name, "key": "t"}),
            write_own,
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/registered-models/alias",
            |i, _| json!({"name": i.name, "alias": "candidate", "version": "1"}),
            write_own,
        ),
        // A protected alias moves through no route, whoever calls.
        row(
            Method::POST,
            "/api/2.0/mlflow/registered-models/alias",
            |i, _| json!({"name": i.name, "alias": "production", "version": "1"}),
            [401, 404, 403, 403, 403, 403, 403],
        ),
        row(
            Method::DELETE,
            "/api/2.0/mlflow/registered-models/alias",
            |i, _| json!({"name": i.name, "alias": "staging"}),
            write_own,
        ),
        row(Method::GET, "/api/2.0/mlflow/registered-models/alias?name={name}&alias=staging", none, read),
        row(
            Method::POST,
            "/api/2.0/mlflow/logged-models",
            |i, _| json!({"experiment_id": i.exp, "source_run_id": i.run, "name": "model"}),
            write_own,
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/logged-models",
            |i, _| json!({"experiment_id": i.exp, "source_run_id": i.other, "name": "model"}),
            write_other,
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/logged-models/search",
            |i, _| json!({"experiment_ids": [i.exp]}),
            read,
        ),
        row(Method::GET, "/api/2.0/mlflow/logged-models/{lm_other}", none, read),
        row(
            Method::PATCH,
            "/api/2.0/mlflow/logged-models/{lm_run}",
            |i, _| json!({"model_id": i.lm_run, "status": "LOGGED_MODEL_READY"}),
            write_own,
        ),
        row(
            Method::PATCH,
            "/api/2.0/mlflow/logged-models/{lm_other}",
            |i, _| json!({"model_id": i.lm_other, "status": "LOGGED_MODEL_READY"}),
            write_other,
        ),
        row(
            Method::PATCH,
            "/api/2.0/mlflow/logged-models/{lm_other}/tags",
            |_, _| json!({"tags": [{"key": "k", "value": "v"}]}),
            write_other,
        ),
        row(
            Method::PATCH,
            "/api/2.0/mlflow/logged-models/{lm_run}/tags",
            |_, _| json!({"tags": [{"key": "k", "value": "v"}]}),
            write_own,
        ),
        row(Method::DELETE, "/api/2.0/mlflow/logged-models/{lm_other}/tags/t", none, write_other),
        row(
            Method::POST,
            "/api/2.0/mlflow/logged-models/{lm_run}/params",
            |_, _| json!({"params": [{"key": "k", "value": "v"}]}),
            write_own,
        ),
        row(Method::DELETE, "/api/2.0/mlflow/logged-models/{lm_other}", none, write_other),
        row(
            Method::POST,
            "/api/2.0/mlflow/runs/outputs",
            |i, _| json!({"run_id": i.run, "models": [{"model_id": i.lm_run, "step": 0}]}),
            write_own,
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/model-versions/create",
            |i, _| json!({"name": i.name, "source": format!("runs:/{}/model", i.other), "run_id": i.other}),
            write_own,
        ),
        row(Method::GET, "/api/2.0/mlflow/model-versions/get?name={name}&version=1", none, read),
        row(
            Method::PATCH,
            "/api/2.0/mlflow/model-versions/update",
            |i, _| json!({"name": i.name, "version": "1", "description": "d"}),
            write_own,
        ),
        row(
            Method::DELETE,
            "/api/2.0/mlflow/model-versions/delete",
            |i, _| json!({"name": i.name, "version": "1"}),
            write_own,
        ),
        row(
            Method::GET,
            "/api/2.0/mlflow/model-versions/search?filter=name%3D%27{name}%27",
            none,
            [401, 200, 200, 200, 200, 200, 200],
        ),
        row(Method::GET, "/api/2.0/mlflow/model-versions/get-download-uri?name={name}&version=1", none, read),
        row(
            Method::POST,
            "/api/2.0/mlflow/model-versions/set-tag",
            |i, _| json!({"name": i.name, "version": "1", "key": "k", "value": "v"}),
            write_own,
        ),
        row(
            Method::DELETE,
            "/api/2.0/mlflow/model-versions/delete-tag",
            |i, _| json!({"name": i.name, "version": "1", "key": "t"}),
            write_own,
        ),
        row(
            Method::POST,
            "/api/2.0/mlflow/model-versions/transition-stage",
            |i, _| json!({"name": i.name, "version": "1", "stage": "Staging", "archive_existing_versions": false}),
            write_own,
        ),
        row(Method::GET, "/api/2.0/mlflow-artifacts/artifacts?path={exp}/{other}/artifacts", none, read),
        row(Method::GET, "/api/2.0/mlflow-artifacts/artifacts/{exp}/{other}/artifacts/a.txt", none, read),
        row(Method::PUT, "/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/b.txt", none, write_own),
        row(
            Method::PUT,
            "/api/2.0/mlflow-artifacts/artifacts/{exp}/{other}/artifacts/b.txt",
            none,
            write_other,
        ),
    ]
}

#[tokio::test]
async fn every_mlflow_route_answers_every_caller_as_expected() {
    let app = TestApp::sqlite().await;
    app.user("siteadmin").await;
    let owner = app.user("olive").await;
    let others =
        [app.user("outsider").await, app.user("vic").await, app.user("mem").await, app.user("adam").await];
    let mut failures = Vec::new();
    let mut n = 0;
    for row in rows() {
        for (i, who) in CALLERS.iter().enumerate() {
            n += 1;
            let name = format!("m{n}");
            let u = backend::services::accounts::user_by_name(&app.db, "olive").await.unwrap().unwrap();
            let created = backend::services::projects::create(&app.db, &u, &name, "").await.unwrap();
            let access =
                backend::services::projects::access(&app.db, Some(&u), "olive", &name).await.unwrap();
            for (member, role) in [("adam", "admin"), ("mem", "member"), ("vic", "viewer")] {
                let role = backend::domain::Role::parse(role).unwrap();
                backend::services::members::add(&app.db, &access, member, role).await.unwrap();
            }
            let sub = backend::services::runs::Submission { content: JOB.into(), ..Default::default() };
            let submit = || async { app.state.submit(&access, &u, &sub).await.unwrap().summary.uuid };
            let (run, other, done) = (submit().await, submit().await, submit().await);
            backend::services::runs::stop(&app.db, &app.state.executor, &access, done).await.unwrap();
            let key = backend::artifacts::Artifacts::run_key(created.id, other, "artifacts/a.txt").unwrap();
            app.state.artifacts.put(&key, "a".into()).await.unwrap();
            let run_token = backend::store::tokens::issue(&app.db, run).await.unwrap();
            {
                use backend::services::registry::{self, versions, Caller};
                let c = Caller { user: &u, only: None, run: None };
                registry::create(&app.db, c, created.id, &name, "", &[("t".into(), "v".into())])
                    .await
                    .unwrap();
                let source = format!("runs:/{}/model", other.simple());
                let tags = [("t".to_string(), "v".to_string())];
                let n = versions::NewVersion {
                    source: &source,
                    run_id: Some(other),
                    model_id: None,
                    run_link: "",
                    description: "",
                    tags: &tags,
                };
                versions::create(&app.db, c, &name, n).await.unwrap();
                registry::set_alias(&app.db, c, &name, "staging", 1).await.unwrap();
            }
            let mut logged = Vec::new();
            for id in [run, other] {
                let r = backend::services::runs::access::load(&app.db, id).await.unwrap();
                let c = backend::services::registry::Caller { user: &u, only: None, run: None };
                let t = [("t".to_string(), "v".to_string())];
                let m =
                    backend::services::registry::logged::create(&app.db, c, &r, Some("model"), "", &t, &[]);
                logged.push(m.await.unwrap().id);
            }
            let (lm_run, lm_other) = (logged[0].clone(), logged[1].clone());
            // A tag for delete-tag to delete (deleting a missing one is MLflow's 404).
            let tag = json!({"run_id": run.simple().to_string(), "key": "t", "value": "v"});
            app.post("/api/2.0/mlflow/runs/set-tag").bearer(&owner.token).json(tag).send().await;
            let tag =
                json!({"experiment_id": created.id.simple().to_string(), "key": "team", "value": "vision"});
            let set =
                app.post("/api/2.0/mlflow/experiments/set-experiment-tag").bearer(&owner.token).json(tag);
            assert_eq!(set.send().await.status, 200);
            let hex = |id: uuid::Uuid| id.simple().to_string();
            let ids = Ids {
                exp: hex(created.id),
                run: hex(run),
                other: hex(other),
                done: hex(done),
                name: name.clone(),
                lm_run: lm_run.clone(),
                lm_other: lm_other.clone(),
            };
            let path = row
                .path
                .replace("{exp}", &ids.exp)
                .replace("{run}", &ids.run)
                .replace("{other}", &ids.other)
                .replace("{name}", &ids.name)
                .replace("{lm_run}", &ids.lm_run)
                .replace("{lm_other}", &ids.lm_other);
            let caller: Option<TestUser> = match i {
                0 => None,
                1..=4 => {
                    Some(TestUser { name: others[i - 1].name.clone(), token: others[i - 1].token.clone() })
                }
                5 => Some(TestUser { name: owner.name.clone(), token: owner.token.clone() }),
                _ => Some(TestUser { name: "job".into(), token: run_token }),
            };
            let mut call = app.call(row.method.clone(), &path).by(caller.as_ref());
            let body = (row.body)(&ids, n);
            if row.method == Method::PUT {
                call = call.raw("application/octet-stream", "bytes");
            } else if !body.is_null() {
                call = call.json(body);
            }
            let got = call.send().await;
            if got.status.as_u16() != row.expect[i] {
                failures.push(format!(
                    "{} {} as {who}: expected {}, got {} {}",
                    row.method,
                    row.path,
                    row.expect[i],
                    got.status.as_u16(),
                    got.json
                ));
            }
        }
    }
    assert!(failures.is_empty(), "MLflow authorization mismatches:\n{}", failures.join("\n"));
}

#[test]
fn every_mlflow_route_has_rows() {
    // The routes `api::mlflow::router` serves (its source is the list); a new one must get rows above.
    let source = include_str!("../../src/api/mlflow/mod.rs");
    let served: std::collections::BTreeSet<String> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix(".route(\""))
        .map(|l| l.split('"').next().unwrap().to_string())
        .collect();
    let covered: std::collections::BTreeSet<String> = rows()
        .iter()
        .map(|r| {
            let p = r.path.split('?').next().unwrap();
            let p = p.trim_start_matches("/api/2.0/mlflow-artifacts").trim_start_matches("/api/2.0/mlflow");
            let p = p
                .replace("{lm_run}", "{model_id}")
                .replace("{lm_other}", "{model_id}")
                .replace("/tags/t", "/tags/{tag_key}");
            let p = p.as_str();
            if p.starts_with("/artifacts/{exp}") {
                "/artifacts/{*path}".into()
            } else {
                p.to_string()
            }
        })
        .collect();
    assert!(served.len() >= 25, "the route list was not read: {served:?}");
    let missing: Vec<_> = served.difference(&covered).collect();
    assert!(missing.is_empty(), "MLflow routes without rows in the matrix: {missing:?}");
}
