//! Comparing runs: params diffed key by key (nested dicts too), each metric's best run by its direction,
//! deltas against the baseline, downsampled series that keep spikes, zoomed ranges, and bounds.

use serde_json::{json, Value};

use crate::both_dbs;
use crate::helpers::TestApp;
use crate::runs::{setup, submit, wait_for};

const TRAIN: &str = "kind: component\nname: train\ninputs:\n- {name: lr, type: float}\n- {name: batch, type: int}\n- {name: opt, type: dict}\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: ['true']}\n";

both_dbs!(runs_compare_side_by_side);

async fn runs_compare_side_by_side(app: TestApp) {
    let ann = setup(&app).await;
    let mut ids = Vec::new();
    for (lr, opt) in [(0.1, "adam"), (0.01, "adam"), (0.001, "sgd")] {
        let params = json!({"lr": lr, "batch": 32, "opt": {"name": opt, "beta": 0.9}});
        let r = submit(&app, &ann, TRAIN, params).await;
        ids.push(r["uuid"].as_str().unwrap().to_string());
    }
    for id in &ids {
        wait_for(&app, &ann, id, &["succeeded"]).await;
    }
    // 2,000 steps of loss per run, one spike in the first; accuracy on the last two only.
    for (i, id) in ids.iter().enumerate() {
        for batch in 0..2 {
            let metrics: Vec<Value> = (batch * 1000..(batch + 1) * 1000)
                .map(|s| {
                    let v = if i == 0 && s == 1234 { 99.0 } else { 1.0 / (1.0 + s as f64) + i as f64 * 0.1 };
                    json!({"key": "loss", "value": v, "timestamp": 1000 + s, "step": s})
                })
                .collect();
            let r = app
                .post(&format!("/api/v1/projects/ann/p/runs/{id}/tracking"))
                .bearer(&ann.token)
                .json(json!({"metrics": metrics, "tags": {"team": if i == 2 { "b" } else { "a" }}}))
                .send()
                .await;
            assert_eq!(r.status, 204, "{}", r.json);
        }
        if i > 0 {
            let acc = json!({"metrics": [{"key": "acc", "value": 0.5 + i as f64 / 10.0, "timestamp": 1, "step": 0}]});
            let r = app
                .post(&format!("/api/v1/projects/ann/p/runs/{id}/tracking"))
                .bearer(&ann.token)
                .json(acc)
                .send()
                .await;
            assert_eq!(r.status, 204);
        }
    }
    let compare = |body: Value| {
        let app = &app;
        let token = ann.token.clone();
        async move { app.post("/api/v1/projects/ann/p/compare").bearer(&token).json(body).send().await }
    };
    let r = compare(json!({"runs": ids, "metrics": ["loss"], "baseline": ids[1], "points": 100})).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let c = &r.json;
    let names: Vec<&str> =
        c["runs"].as_array().unwrap().iter().map(|r| r["uuid"].as_str().unwrap()).collect();
    assert_eq!(names, ids.iter().map(String::as_str).collect::<Vec<_>>(), "runs in the order asked");
    assert_eq!(c["baseline"], 1);
    let row = |section: &str, key: &str| {
        c[section].as_array().unwrap().iter().find(|r| r["key"] == key).cloned().unwrap_or(Value::Null)
    };
    assert_eq!(row("params", "lr")["differs"], true);
    assert_eq!(row("params", "batch")["differs"], false);
    assert_eq!(row("params", "opt.name")["differs"], true, "a dict is compared key by key");
    assert_eq!(row("params", "opt.beta")["differs"], false);
    assert_eq!(row("params", "opt.name")["values"], json!(["adam", "adam", "sgd"]));
    assert_eq!(row("tags", "team")["values"], json!(["a", "a", "b"]));
    assert_eq!(row("facts", "image")["differs"], false);
    let loss = row("metrics", "loss");
    assert_eq!(loss["goal"], "min");
    assert_eq!(loss["best_last"], 0, "the lowest last loss");
    assert_eq!(loss["best_max"], 1, "the lowest peak: run 0 spiked");
    let d = loss["delta_last"].as_array().unwrap();
    assert!((d[2].as_f64().unwrap() - 0.1).abs() < 1e-9 && d[1].as_f64().unwrap() == 0.0, "{d:?}");
    let acc = row("metrics", "acc");
    assert_eq!((acc["goal"].as_str(), acc["best_last"].as_u64()), (Some("max"), Some(2)));
    assert_eq!(acc["last"][0], Value::Null, "run 0 logged no accuracy");
    let lines = c["series"][0]["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    for l in lines {
        assert!(l["points"].as_array().unwrap().len() <= 100);
        assert_eq!(l["total"], 2000);
    }
    let first = lines.iter().find(|l| l["run"] == 0).unwrap();
    let pts = first["points"].as_array().unwrap();
    assert!(pts.iter().any(|p| p[2] == 99.0), "the spike survives downsampling");
    assert_eq!(
        (pts[0][0].as_i64(), pts[pts.len() - 1][0].as_i64()),
        (Some(0), Some(1999)),
        "first and last step"
    );
    assert!(pts.windows(2).all(|w| w[0][0].as_i64() < w[1][0].as_i64()), "in step order");

    // A zoomed range comes back at full resolution.
    let r = compare(json!({"runs": ids, "metrics": ["loss"], "from_step": 1200, "to_step": 1249})).await;
    assert_eq!(r.status, 200, "{}", r.json);
    for l in r.json["series"][0]["lines"].as_array().unwrap() {
        let pts = l["points"].as_array().unwrap();
        assert_eq!((pts.len(), l["total"].as_u64()), (50, Some(50)));
        assert!(pts.iter().all(|p| (1200..=1249).contains(&p[0].as_i64().unwrap())));
    }
    // Long lines are drawn from the chunks' summaries; a range that cuts a chunk reads that chunk whole, so
    // counts and ends stay exact, and the spike is still there.
    let wide = json!({"runs": ids, "metrics": ["loss"], "from_step": 500, "to_step": 1999, "points": 50});
    let r = compare(wide.clone()).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let zoomed = r.json["series"][0]["lines"].clone();
    for l in zoomed.as_array().unwrap() {
        let pts = l["points"].as_array().unwrap();
        assert_eq!(l["total"], 1500);
        assert!(pts.len() <= 50 && pts.len() >= 40, "{}", pts.len());
        assert_eq!((pts[0][0].as_i64(), pts[pts.len() - 1][0].as_i64()), (Some(500), Some(1999)));
    }
    let spiked = zoomed.as_array().unwrap().iter().find(|l| l["run"] == 0).unwrap();
    assert!(spiked["points"].as_array().unwrap().iter().any(|p| p[2] == 99.0), "{spiked}");
    // Chunks stored before summaries existed are read whole, then summarised at start-up: the lines agree.
    use sea_orm::EntityTrait;
    let summaries = backend::entities::metric_summary::Entity::delete_many().exec(&app.db).await.unwrap();
    assert_eq!(summaries.rows_affected, 6, "a summary per stored chunk of 1,000 points");
    let unsummarised = compare(wide.clone()).await;
    assert_eq!(unsummarised.json["series"][0]["lines"].as_array().unwrap().len(), 3);
    let written = backend::services::tracking::chunks::summarise_missing(&app.db).await.unwrap();
    assert_eq!(written, 6);
    let again = compare(wide).await;
    assert_eq!(again.json["series"][0]["lines"], zoomed, "the same lines from the backfilled summaries");
    for (a, b) in
        unsummarised.json["series"][0]["lines"].as_array().unwrap().iter().zip(zoomed.as_array().unwrap())
    {
        let max = |l: &Value| {
            l["points"].as_array().unwrap().iter().filter_map(|p| p[2].as_f64()).fold(f64::MIN, f64::max)
        };
        let min = |l: &Value| {
            l["points"].as_array().unwrap().iter().filter_map(|p| p[2].as_f64()).fold(f64::MAX, f64::min)
        };
        assert_eq!(
            (a["total"].clone(), max(a), min(a)),
            (b["total"].clone(), max(b), min(b)),
            "same extremes"
        );
    }

    // Duplicates are compared once; the default baseline is the first.
    let r = compare(json!({"runs": [ids[0], ids[0], ids[2]]})).await;
    assert_eq!(
        (r.status.as_u16(), r.json["runs"].as_array().unwrap().len(), r.json["baseline"].as_u64()),
        (200, 2, Some(0))
    );

    // Bounds and mistakes, each with its reason.
    let too_many: Vec<String> = (0..1001).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for (body, code, field) in [
        (json!({"runs": []}), 400, "runs"),
        (json!({"runs": too_many}), 400, "runs"),
        (json!({"runs": [ids[0]], "points": 1}), 400, "points"),
        (json!({"runs": [ids[0]], "baseline": ids[1]}), 400, "baseline"),
        (json!({"runs": [ids[0], uuid::Uuid::new_v4()]}), 404, "run"),
    ] {
        let r = compare(body).await;
        assert_eq!(r.status, code, "{}", r.json);
        assert!(r.json["message"].as_str().unwrap_or_default().contains(field), "{}", r.json);
    }
    // Another project's run is not found from here.
    let other = app.post("/api/v1/projects").bearer(&ann.token).json(json!({"name": "q"})).send().await;
    assert_eq!(other.status, 201);
    let r = app
        .post("/api/v1/projects/ann/q/compare")
        .bearer(&ann.token)
        .json(json!({"runs": [ids[0]]}))
        .send()
        .await;
    assert_eq!(r.status, 404, "{}", r.json);
}

both_dbs!(why_two_runs_differ);

/// Two runs side by side in what decides a result: params, datasets (MLflow `log-inputs` digests), the command,
/// and the cache key's inputs in words; a run against itself differs in nothing.
async fn why_two_runs_differ(app: TestApp) {
    let ann = setup(&app).await;
    let mut ids = Vec::new();
    for (lr, digest) in [(0.1, "aaa111"), (0.01, "bbb222")] {
        let params = json!({"lr": lr, "batch": 32, "opt": {"name": "adam"}});
        let r = submit(&app, &ann, TRAIN, params).await;
        let id = r["uuid"].as_str().unwrap().to_string();
        wait_for(&app, &ann, &id, &["succeeded"]).await;
        let datasets = json!([{"dataset": {"name": "iris", "digest": digest, "source_type": "local"},
                               "tags": [{"key": "mlflow.data.context", "value": "train"}]}]);
        let r = app
            .post("/api/2.0/mlflow/runs/log-inputs")
            .bearer(&ann.token)
            .json(json!({"run_id": id, "datasets": datasets}))
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        ids.push(id);
    }
    let why = |a: &str, b: &str| {
        let (app, token) = (&app, ann.token.clone());
        let body = json!({"a": a, "b": b});
        async move { app.post("/api/v1/projects/ann/p/compare/why").bearer(&token).json(body).send().await }
    };
    let r = why(&ids[0], &ids[1]).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let section = |title: &str| {
        r.json["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["title"] == title)
            .cloned()
            .unwrap_or_default()
    };
    let row = |title: &str, key: &str| {
        section(title)["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == key)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(row("Params", "lr")["values"], json!(["0.1", "0.01"]));
    assert_eq!(row("Params", "batch")["differs"], false);
    assert_eq!(row("Datasets", "iris (train)")["values"], json!(["aaa111 from local", "bbb222 from local"]));
    let command = section("Command and environment")["rows"].as_array().unwrap().clone();
    assert!(
        command.iter().any(|r| r["key"].as_str().unwrap().ends_with(".command") && r["differs"] == false),
        "the same command: {command:?}"
    );
    assert!(
        command.iter().all(|r| r["differs"] == false || r["values"].to_string().contains("0.01")),
        "only what the param changed differs (the run's own uuid is neutral): {command:?}"
    );
    assert_eq!(r.json["same_key"], false);
    let cache = r.json["cache"].as_array().unwrap();
    assert!(cache.iter().any(|l| l.as_str().unwrap().contains("param lr 0.1 -> 0.01")), "{cache:?}");

    // A run against itself: nothing differs, the keys are equal.
    let r = why(&ids[0], &ids[0]).await;
    assert_eq!((r.status.as_u16(), &r.json["same_key"]), (200, &json!(true)), "{}", r.json);
    let differing =
        r.json["sections"].as_array().unwrap().iter().flat_map(|s| s["rows"].as_array().unwrap().clone());
    let differing: Vec<Value> = differing.filter(|r| r["differs"] == true).collect();
    assert!(differing.is_empty(), "{differing:?}");
    // A run of no project here, and a malformed body.
    assert_eq!(why(&ids[0], &uuid::Uuid::new_v4().to_string()).await.status, 404);
    assert_eq!(why(&ids[0], "nope").await.status, 400);
}
