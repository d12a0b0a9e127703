//! Artifacts across runs through the REST API, on both databases: lineage by digest (which runs consumed what
//! another produced) and the same path in two runs side by side.

use serde_json::json;

use crate::artifacts::{base, put};
use crate::both_dbs;
use crate::helpers::TestApp;
use crate::tracking::{hex, project, queued_run};

/// Lineage by digest: a run that logs, as an MLflow dataset, the digest of another run's artifact consumed it;
/// both runs' lineage and the artifact's page say so, and logging it twice records it once.
async fn lineage_follows_digests(app: TestApp) {
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let (producer, _) = queued_run(&app, &ann).await;
    let (consumer, _) = queued_run(&app, &ann).await;
    let up = put(&app, &ann, &producer, "artifacts/train.csv", b"a,b\n1,2\n".to_vec()).await;
    let digest = up.json["sha256"].as_str().unwrap().to_string();
    let dataset = json!({"run_id": hex(&consumer), "datasets": [{"dataset": {"name": "train", "digest": digest,
        "source_type": "local", "source": "{\"uri\": \"train.csv\"}"}, "tags": []}]});
    for _ in 0..2 {
        let r =
            app.post("/api/2.0/mlflow/runs/log-inputs").bearer(&ann.token).json(dataset.clone()).send().await;
        assert_eq!(r.status, 200, "{}", r.json);
    }
    let consumers = app
        .get(&format!("/api/v1/projects/ann/p/artifacts/consumers?digest={digest}"))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(consumers.status, 200, "{}", consumers.json);
    assert_eq!(consumers.json.as_array().unwrap().len(), 1, "{}", consumers.json);
    assert_eq!(consumers.json[0]["uuid"], consumer.as_str());

    let of = |run: String| {
        let app = &app;
        let token = ann.token.clone();
        async move { app.get(&format!("{}/lineage", base(&run))).bearer(&token).send().await.json }
    };
    let down = of(producer.clone()).await;
    assert_eq!(down["downstream"][0]["uuid"], consumer.as_str(), "{down}");
    assert_eq!(down["output_count"], 1);
    assert_eq!(down["outputs"][0]["path"], "artifacts/train.csv");
    let up = of(consumer.clone()).await;
    assert_eq!(up["inputs"].as_array().unwrap().len(), 1, "{up}");
    assert_eq!(up["inputs"][0]["kind"], "dataset");
    assert_eq!(up["inputs"][0]["source"]["uuid"], producer.as_str(), "{up}");
    assert_eq!(up["upstream"][0]["uuid"], producer.as_str());
    let view =
        app.get(&format!("{}/preview/artifacts/train.csv", base(&producer))).bearer(&ann.token).send().await;
    assert_eq!(view.json["consumers"][0]["uuid"], consumer.as_str(), "{}", view.json);
    // Another project's digests are not this one's.
    let bob = app.user("bob").await;
    project(&app, &bob, "q").await;
    let theirs = app
        .get(&format!("/api/v1/projects/bob/q/artifacts/consumers?digest={digest}"))
        .bearer(&bob.token)
        .send()
        .await;
    assert_eq!(theirs.json, json!([]));
}

both_dbs!(lineage_follows_digests);

/// The same path in two runs: text as a numbered line diff, images side by side, equal digests said so, a file
/// only one run has, and the compare page's "why different" listing each path with whether it differs.
async fn the_same_path_in_two_runs(app: TestApp) {
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let (a, _) = queued_run(&app, &ann).await;
    let (b, _) = queued_run(&app, &ann).await;
    let config = |lr: &str| format!("model: resnet\nlayers: 50\nlr: {lr}\nepochs: 10\n").into_bytes();
    put(&app, &ann, &a, "artifacts/config.yaml", config("0.1")).await;
    put(&app, &ann, &b, "artifacts/config.yaml", config("0.01")).await;
    let png = b"\x89PNG\r\n\x1a\nnot really".to_vec();
    put(&app, &ann, &a, "artifacts/plot.png", png.clone()).await;
    put(&app, &ann, &b, "artifacts/plot.png", png).await;
    put(&app, &ann, &a, "artifacts/only-a.txt", b"a".to_vec()).await;
    let diff = |path: &str| {
        let url = format!("/api/v1/projects/ann/p/artifacts/diff?a={a}&b={b}&path={path}");
        let token = ann.token.clone();
        let app = &app;
        async move { app.get(&url).bearer(&token).send().await }
    };
    let text = diff("artifacts/config.yaml").await;
    assert_eq!(text.status, 200, "{}", text.json);
    assert_eq!((text.json["kind"].as_str(), text.json["same"].as_bool()), (Some("text"), Some(false)));
    assert_eq!(
        text.json["lines"],
        json!([
            {"tag": "same", "a": 1, "b": 1, "text": "model: resnet"},
            {"tag": "same", "a": 2, "b": 2, "text": "layers: 50"},
            {"tag": "removed", "a": 3, "b": null, "text": "lr: 0.1"},
            {"tag": "added", "a": null, "b": 3, "text": "lr: 0.01"},
            {"tag": "same", "a": 4, "b": 4, "text": "epochs: 10"},
        ])
    );
    assert_eq!(text.json["a"]["run"], a.as_str());
    let image = diff("artifacts/plot.png").await;
    assert_eq!((image.json["kind"].as_str(), image.json["same"].as_bool()), (Some("image"), Some(true)));
    assert!(image.json["b"]["src"].as_str().unwrap().ends_with("/artifacts/artifacts/plot.png?inline=1"));
    let one = diff("artifacts/only-a.txt").await;
    assert_eq!(one.status, 200, "{}", one.json);
    assert!(one.json["b"]["size"].is_null() && one.json["b"]["download"].is_null());
    assert_eq!(one.json["a"]["size"], 1);
    assert_eq!(one.json["lines"][0]["tag"], "removed");
    assert_eq!(diff("artifacts/neither.txt").await.status, 404);
    assert_eq!(diff("artifacts/../x").await.status, 400);
    // Another project's run is not reachable this way.
    let bob = app.user("bob").await;
    project(&app, &bob, "q").await;
    let url = format!("/api/v1/projects/ann/p/artifacts/diff?a={a}&b={b}&path=artifacts/config.yaml");
    assert_eq!(app.get(&url).bearer(&bob.token).send().await.status, 404);

    // "Why different" lists the files of both runs, each differing or not.
    let why = app
        .post("/api/v1/projects/ann/p/compare/why")
        .bearer(&ann.token)
        .json(json!({"a": a, "b": b}))
        .send()
        .await;
    assert_eq!(why.status, 200, "{}", why.json);
    let files =
        why.json["sections"].as_array().unwrap().iter().find(|s| s["title"] == "Artifacts").cloned().unwrap();
    let differs: Vec<(String, bool)> = files["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().unwrap().to_string(), r["differs"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        differs,
        vec![
            ("artifacts/config.yaml".to_string(), true),
            ("artifacts/only-a.txt".to_string(), true),
            ("artifacts/plot.png".to_string(), false),
        ]
    );
}

both_dbs!(the_same_path_in_two_runs);
