//! Team review of the registry: a member asks for a protected alias, reviewers approve in a thread, the alias
//! moves with its audit entries; history answers "what was in production at T"; the hash chain shows a
//! rewritten row; nobody approves their own request or bypasses a protected alias.

use serde_json::{json, Value};

use crate::both_dbs;
use crate::helpers::{TestApp, TestUser};

both_dbs!(
    a_promotion_is_requested_reviewed_and_moves_the_alias,
    the_audit_chain_shows_a_rewritten_row,
    the_audit_trail_reads_a_page_at_a_time,
);

const P: &str = "/api/v1/projects/ann/p";

fn mlflow(path: &str) -> String {
    format!("/api/2.0/mlflow/{path}")
}

/// A project `ann/p` with members (mem: member, adam: admin, vic: viewer), runs logged through MLflow and model
/// `clf` with a version per run.
async fn setup(app: &TestApp) -> (TestUser, TestUser, TestUser, TestUser, Vec<String>) {
    let ann = app.user("ann").await;
    let (mem, adam, vic) = (app.user("mem").await, app.user("adam").await, app.user("vic").await);
    crate::tracking::project(app, &ann, "p").await;
    for (who, role) in [("mem", "member"), ("adam", "admin"), ("vic", "viewer")] {
        let r = app
            .post(&format!("{P}/members"))
            .bearer(&ann.token)
            .json(json!({"username": who, "role": role}))
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
    }
    let exp =
        app.get(&mlflow("experiments/get-by-name?experiment_name=ann/p")).bearer(&ann.token).send().await;
    let exp = exp.json["experiment"]["experiment_id"].as_str().unwrap().to_string();
    let mut runs = Vec::new();
    for (i, acc) in [0.8, 0.9].into_iter().enumerate() {
        let r = app
            .post(&mlflow("runs/create"))
            .bearer(&mem.token)
            .json(json!({"experiment_id": exp}))
            .send()
            .await;
        let run = r.json["run"]["info"]["run_id"].as_str().unwrap().to_string();
        let batch = json!({"run_id": run, "params": [{"key": "lr", "value": format!("0.{i}")}],
            "metrics": [{"key": "accuracy", "value": acc, "timestamp": 1, "step": 0},
                        {"key": "loss", "value": 1.0 - acc, "timestamp": 1, "step": 0}]});
        let r = app.post(&mlflow("runs/log-batch")).bearer(&mem.token).json(batch).send().await;
        assert_eq!(r.status, 200, "{}", r.json);
        if i == 0 {
            let r = app
                .post(&mlflow("registered-models/create"))
                .bearer(&mem.token)
                .json(json!({"name": "clf"}))
                .send()
                .await;
            assert_eq!(r.status, 200, "{}", r.json);
        }
        let v = json!({"name": "clf", "source": format!("runs:/{run}/model"), "run_id": run});
        let r = app.post(&mlflow("model-versions/create")).bearer(&mem.token).json(v).send().await;
        assert_eq!(r.status, 200, "{}", r.json);
        runs.push(run);
    }
    (mem, adam, vic, ann, runs)
}

async fn request(app: &TestApp, who: &TestUser, version: i32, alias: &str) -> crate::helpers::Resp {
    let body = json!({"version": version, "alias": alias, "reason": "better **accuracy**"});
    app.post(&format!("{P}/models/clf/promotions")).bearer(&who.token).json(body).send().await
}

async fn act(app: &TestApp, who: &TestUser, id: &str, what: &str, body: &str) -> crate::helpers::Resp {
    app.post(&format!("/api/v1/reviews/{id}/{what}"))
        .bearer(&who.token)
        .json(json!({"body": body}))
        .send()
        .await
}

async fn a_promotion_is_requested_reviewed_and_moves_the_alias(app: TestApp) {
    let (mem, adam, vic, ann, runs) = setup(&app).await;
    // Version 1 reaches production first (the member asks, the admin approves).
    let r = request(&app, &mem, 1, "production").await;
    assert_eq!(r.status, 201, "{}", r.json);
    let first = r.json["id"].as_str().unwrap().to_string();
    assert_eq!(act(&app, &vic, &first, "approve", "").await.status, 403, "a viewer does not review");
    let own = act(&app, &mem, &first, "approve", "").await;
    assert_eq!(own.status, 403);
    assert!(own.json["message"].as_str().unwrap().contains("your own request"), "{}", own.json);
    let inbox = app.get("/api/v1/reviews").bearer(&adam.token).send().await;
    assert_eq!(inbox.json["awaiting"][0]["id"], json!(first), "{}", inbox.json);
    let r = act(&app, &adam, &first, "approve", "ok").await;
    assert_eq!(
        (r.status.as_u16(), r.json["request"]["state"].as_str()),
        (200, Some("approved")),
        "{}",
        r.json
    );
    let before_second = backend::services::registry::now_ms();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    // Version 2: evidence against version 1, a thread, approval; the alias moves.
    let r = request(&app, &mem, 2, "production").await;
    let id = r.json["id"].as_str().unwrap().to_string();
    let d = app.get(&format!("/api/v1/reviews/{id}")).bearer(&adam.token).send().await;
    assert_eq!(d.status, 200, "{}", d.json);
    let ev = &d.json["evidence"];
    assert_eq!(ev["current_version"], 1, "{ev}");
    assert_eq!(
        (
            ev["current_run"].as_str().map(|s| s.replace('-', "")),
            ev["candidate_run"].as_str().map(|s| s.replace('-', ""))
        ),
        (Some(runs[0].clone()), Some(runs[1].clone()))
    );
    let metrics = ev["comparison"]["metrics"].as_array().unwrap();
    let acc = metrics.iter().find(|m| m["key"] == "accuracy").unwrap();
    assert_eq!(acc["goal"], "max");
    assert!((acc["delta_last"][1].as_f64().unwrap() - 0.1).abs() < 1e-9, "{acc}");
    let loss = metrics.iter().find(|m| m["key"] == "loss").unwrap();
    assert_eq!(loss["goal"], "min");
    let params: Vec<&Value> = ev["why"]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["rows"].as_array().unwrap())
        .collect();
    assert!(params.iter().any(|r| r["key"] == "lr" && r["differs"] == true), "{}", ev["why"]);
    assert_eq!((d.json["can_review"].as_bool(), d.json["can_cancel"].as_bool()), (Some(true), Some(true)));
    let mine = app.get(&format!("/api/v1/reviews/{id}")).bearer(&mem.token).send().await;
    assert_eq!(mine.json["can_review"], false);
    assert_eq!(
        app.get(&format!("/api/v1/reviews/{id}")).bearer(&app.user("zed").await.token).send().await.status,
        404
    );
    let r = act(&app, &adam, &id, "comment", "Looks good; *why* is lr different?").await;
    assert_eq!(r.json["thread"][0]["kind"], "comment", "{}", r.json);
    assert_eq!(act(&app, &vic, &id, "comment", "viewer here").await.status, 403);
    // A direct move is refused everywhere; the alias still points at version 1.
    let set = json!({"name": "clf", "alias": "production", "version": "2"});
    let r = app.post(&mlflow("registered-models/alias")).bearer(&ann.token).json(set).send().await;
    assert_eq!(r.json["error_code"], "PERMISSION_DENIED");
    let r = act(&app, &ann, &id, "approve", "").await;
    assert_eq!(r.json["request"]["state"], "approved", "{}", r.json);
    assert_eq!(act(&app, &adam, &id, "approve", "").await.status, 409, "a closed request takes no reviews");
    let got =
        app.get(&mlflow("registered-models/alias?name=clf&alias=production")).bearer(&vic.token).send().await;
    assert_eq!(got.json["model_version"]["version"], "2", "{}", got.json);

    // History: where production pointed at any time, and every move with its request.
    let h = app
        .get(&format!("{P}/models/clf/aliases/production/history?at={before_second}"))
        .bearer(&vic.token)
        .send()
        .await;
    assert_eq!(h.json["version_at"], 1, "{}", h.json);
    let moves = h.json["moves"].as_array().unwrap();
    assert_eq!(moves.iter().map(|m| m["version"].as_i64().unwrap()).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(moves[1]["request"], json!(id));
    let now = app.get(&format!("{P}/models/clf/aliases/production/history")).bearer(&vic.token).send().await;
    assert_eq!(now.json["version_at"], 2);
    let h =
        app.get(&format!("{P}/models/clf/aliases/production/history?at=0")).bearer(&vic.token).send().await;
    assert_eq!(h.json["version_at"], json!(null));

    // Supersede, cancel and reject; two approvals when the policy says so; a listed reviewer reviews.
    let pol = json!({"protected_aliases": ["production", "champion", "shadow"], "required_approvals": 2});
    assert_eq!(
        app.call(axum::http::Method::PUT, &format!("{P}/registry/policy"))
            .bearer(&mem.token)
            .json(pol.clone())
            .send()
            .await
            .status,
        403
    );
    let r = app
        .call(axum::http::Method::PUT, &format!("{P}/registry/policy"))
        .bearer(&adam.token)
        .json(pol)
        .send()
        .await;
    assert_eq!(r.json["required_approvals"], 2, "{}", r.json);
    let set = json!({"name": "clf", "alias": "shadow", "version": "1"});
    assert_eq!(
        app.post(&mlflow("registered-models/alias")).bearer(&mem.token).json(set).send().await.status,
        403
    );
    let older = request(&app, &mem, 1, "shadow").await.json["id"].as_str().unwrap().to_string();
    let newer = request(&app, &mem, 2, "shadow").await.json["id"].as_str().unwrap().to_string();
    let o = app.get(&format!("/api/v1/reviews/{older}")).bearer(&mem.token).send().await;
    assert_eq!(o.json["request"]["state"], "superseded");
    let r = app
        .call(axum::http::Method::PUT, &format!("{P}/models/clf/reviewers"))
        .bearer(&adam.token)
        .json(json!({"reviewers": ["vic"]}))
        .send()
        .await;
    assert_eq!(r.json["reviewers"], json!(["vic"]), "{}", r.json);
    let r = act(&app, &vic, &newer, "approve", "").await;
    assert_eq!(
        (r.json["request"]["state"].as_str(), r.json["request"]["approvals"].as_i64()),
        (Some("open"), Some(1)),
        "{}",
        r.json
    );
    assert_eq!(act(&app, &vic, &newer, "approve", "").await.status, 409, "one approval per reviewer");
    let r = act(&app, &adam, &newer, "approve", "").await;
    assert_eq!(r.json["request"]["state"], "approved");
    let r = request(&app, &mem, 1, "shadow").await.json["id"].as_str().unwrap().to_string();
    let x = act(&app, &adam, &r, "reject", "no").await;
    assert_eq!(x.json["request"]["state"], "rejected");
    let c = request(&app, &mem, 1, "shadow").await.json["id"].as_str().unwrap().to_string();
    assert_eq!(app.post(&format!("/api/v1/reviews/{c}/cancel")).bearer(&vic.token).send().await.status, 403);
    let x = app.post(&format!("/api/v1/reviews/{c}/cancel")).bearer(&mem.token).send().await;
    assert_eq!(x.json["request"]["state"], "cancelled");
    // Viewers do not ask; deleting a version a protected alias holds is refused.
    assert_eq!(request(&app, &vic, 1, "production").await.status, 403);
    let del = app
        .call(axum::http::Method::DELETE, &mlflow("model-versions/delete"))
        .by(Some(&ann))
        .json(json!({"name": "clf", "version": "2"}))
        .send()
        .await;
    assert_eq!(del.json["error_code"], "PERMISSION_DENIED", "{}", del.json);

    // The pages' data: the model with its aliases (protected marked), a version's lineage and history.
    let m = app.get(&format!("{P}/models/clf")).bearer(&vic.token).send().await;
    assert_eq!(
        m.json["model"]["aliases"],
        json!([{"alias": "production", "version": 2, "protected": true}, {"alias": "shadow", "version": 2, "protected": true}]),
        "{}",
        m.json
    );
    assert_eq!(m.json["versions"][0]["metrics"]["accuracy"], 0.9);
    let v = app.get(&format!("{P}/models/clf/versions/2")).bearer(&vic.token).send().await;
    assert_eq!(v.json["lineage"]["params"]["lr"], "0.1", "{}", v.json);
    assert_eq!(v.json["history"].as_array().unwrap().len(), 2, "{}", v.json);
    let list = app.get(&format!("{P}/models?q=CL")).bearer(&vic.token).send().await;
    assert_eq!(list.json[0]["latest_version"], 2);
    let a = app.get(&format!("{P}/registry/audit")).bearer(&vic.token).send().await;
    assert_eq!(a.json["intact"], true, "{}", a.json);
    let actions: Vec<&str> =
        a.json["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for want in [
        "request.open",
        "request.approve",
        "alias.set",
        "request.comment",
        "request.supersede",
        "request.reject",
        "request.cancel",
    ] {
        assert!(actions.contains(&want), "{want} missing from {actions:?}");
    }
    // The approval and the move it caused are adjacent: written in one transaction.
    let i = actions.iter().position(|a| *a == "alias.set").unwrap();
    assert_eq!(actions[i - 1], "request.approve");
}

async fn the_audit_chain_shows_a_rewritten_row(app: TestApp) {
    use sea_orm::{ConnectionTrait, Statement};
    let (mem, adam, _, _, _) = setup(&app).await;
    let id = request(&app, &mem, 1, "production").await.json["id"].as_str().unwrap().to_string();
    act(&app, &adam, &id, "approve", "").await;
    let a = app.get(&format!("{P}/registry/audit")).bearer(&adam.token).send().await;
    assert_eq!(
        (a.json["intact"].as_bool(), a.json["entries"].as_array().unwrap().len()),
        (Some(true), 3),
        "{}",
        a.json
    );
    // Someone with the database rewrites who approved.
    let backend_db = app.db.get_database_backend();
    let sql = "UPDATE registry_audit SET actor = 'mallory' WHERE action = 'request.approve'";
    app.db.execute(Statement::from_string(backend_db, sql)).await.unwrap();
    let a = app.get(&format!("{P}/registry/audit")).bearer(&adam.token).send().await;
    assert_eq!(
        (a.json["intact"].as_bool(), a.json["broken_at"].as_i64()),
        (Some(false), Some(2)),
        "{}",
        a.json
    );
    // Removing the last row shows too.
    let sql = "UPDATE registry_audit SET actor = 'adam' WHERE action = 'request.approve'";
    app.db.execute(Statement::from_string(backend_db, sql)).await.unwrap();
    let sql = "DELETE FROM registry_audit WHERE action = 'alias.set'";
    app.db.execute(Statement::from_string(backend_db, sql)).await.unwrap();
    let a = app.get(&format!("{P}/registry/audit")).bearer(&adam.token).send().await;
    assert_eq!(
        (a.json["intact"].as_bool(), a.json["broken_at"].as_i64()),
        (Some(false), Some(3)),
        "{}",
        a.json
    );
}

async fn the_audit_trail_reads_a_page_at_a_time(app: TestApp) {
    let (mem, adam, _, _, _) = setup(&app).await;
    let id = request(&app, &mem, 1, "production").await.json["id"].as_str().unwrap().to_string();
    for i in 0..4 {
        act(&app, &adam, &id, "comment", &format!("note {i}")).await;
    }
    // request.open + 4 comments: 5 entries, read two at a time from the newest.
    let page = |before: Option<i64>| {
        let q = before.map(|b| format!("&before={b}")).unwrap_or_default();
        app.get(&format!("{P}/registry/audit?limit=2{q}")).bearer(&mem.token).send()
    };
    let seqs = |j: &serde_json::Value| -> Vec<i64> {
        j["entries"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect()
    };
    let a = page(None).await;
    assert_eq!((seqs(&a.json), a.json["next_before"].as_i64()), (vec![4, 5], Some(4)), "{}", a.json);
    let b = page(Some(4)).await;
    assert_eq!((seqs(&b.json), b.json["next_before"].as_i64()), (vec![2, 3], Some(2)), "{}", b.json);
    let c = page(Some(2)).await;
    assert_eq!((seqs(&c.json), c.json["next_before"].as_i64()), (vec![1], None), "{}", c.json);
    // A page never hides a broken chain elsewhere: `intact` is about the whole trail.
    assert_eq!(c.json["intact"], true);
    let all = app.get(&format!("{P}/registry/audit?limit=100000")).bearer(&mem.token).send().await;
    assert_eq!(seqs(&all.json), vec![1, 2, 3, 4, 5], "a too-large limit is capped, not refused");
    let bad = app.get(&format!("{P}/registry/audit?limit=many")).bearer(&mem.token).send().await;
    assert_eq!(bad.status, 400, "{}", bad.json);
}
