//! A project's overview: counts by status, the running runs and the queue in order, the latest runs, and the
//! best runs by a metric in either direction.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::runs::{setup, submit, wait_for};

fn job(cmd: &str) -> String {
    format!("kind: component\nname: j\nrun:\n  kind: job\n  container:\n    image: busybox:1.36\n    command: [sh, -c, {cmd:?}]\n")
}

#[tokio::test]
async fn the_overview_counts_runs_lists_the_queue_in_order_and_ranks_by_a_metric() {
    let app = TestApp::sqlite().await;
    let ann = setup(&app).await;
    let uuid = |v: &Value| v["uuid"].as_str().unwrap().to_string();
    let ok = uuid(&submit(&app, &ann, &job("true"), json!({})).await);
    let bad = uuid(&submit(&app, &ann, &job("exit 3"), json!({})).await);
    wait_for(&app, &ann, &ok, &["succeeded"]).await;
    wait_for(&app, &ann, &bad, &["failed"]).await;
    for (id, loss) in [(&ok, 0.3), (&bad, 0.1)] {
        let body = json!({"metrics": [{"key": "loss", "value": loss, "timestamp": 1, "step": 7}]});
        let r = app
            .post(&format!("/api/v1/projects/ann/p/runs/{id}/tracking"))
            .bearer(&ann.token)
            .json(body)
            .send()
            .await;
        assert_eq!(r.status, 204, "{}", r.json);
    }
    let r = app
        .call(axum::http::Method::PATCH, "/api/v1/projects/ann/p")
        .bearer(&ann.token)
        .json(json!({"concurrency": 1}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let long = uuid(&submit(&app, &ann, &job("sleep 60"), json!({})).await);
    wait_for(&app, &ann, &long, &["running"]).await;
    let second = uuid(&submit(&app, &ann, &job("true"), json!({})).await);
    let third = uuid(&submit(&app, &ann, &job("true"), json!({})).await);
    wait_for(&app, &ann, &third, &["queued"]).await;

    let o = app.get("/api/v1/projects/ann/p/overview").bearer(&ann.token).send().await;
    assert_eq!(o.status, 200, "{}", o.json);
    let count = |s: &str| {
        o.json["by_status"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == s)
            .map(|c| c["count"].as_u64().unwrap())
    };
    assert_eq!(
        (count("succeeded"), count("failed"), count("running"), count("queued")),
        (Some(1), Some(1), Some(1), Some(2))
    );
    assert_eq!(o.json["total"], 5);
    let ids = |k: &str| o.json[k].as_array().unwrap().iter().map(uuid).collect::<Vec<_>>();
    assert_eq!(ids("running"), vec![long.clone()]);
    assert_eq!(ids("queued"), vec![second.clone(), third.clone()], "the queue in order: the first is next");
    assert_eq!(o.json["queued_total"], 2);
    assert_eq!(ids("latest")[0], third, "newest first");
    assert_eq!(o.json["metric_keys"], json!(["loss"]));
    let best = &o.json["best"];
    assert_eq!((best["key"].as_str(), best["goal"].as_str()), (Some("loss"), Some("min")));
    let ranked: Vec<(String, f64)> = best["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (uuid(&r["run"]), r["value"].as_f64().unwrap()))
        .collect();
    assert_eq!(ranked, vec![(bad.clone(), 0.1), (ok.clone(), 0.3)]);

    let max = app.get("/api/v1/projects/ann/p/overview?metric=loss&goal=max").bearer(&ann.token).send().await;
    assert_eq!(uuid(&max.json["best"]["runs"][0]["run"]), ok, "highest first");
    let other = app.get("/api/v1/projects/ann/p/overview?metric=accuracy").bearer(&ann.token).send().await;
    assert_eq!(other.json["best"]["runs"], json!([]), "a metric no run logged ranks nothing");
    let wrong = app.get("/api/v1/projects/ann/p/overview?goal=sideways").bearer(&ann.token).send().await;
    assert_eq!((wrong.status.as_u16(), wrong.error()), (400, "invalid_input"), "{}", wrong.json);

    let stop = app.post(&format!("/api/v1/projects/ann/p/runs/{long}/stop")).bearer(&ann.token).send().await;
    assert_eq!(stop.status, 200);
}
