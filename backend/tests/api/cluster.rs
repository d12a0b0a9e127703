//! The cluster page's privacy rule on the local executor: the queue shows only runs of the caller's projects
//! (any role); someone outside a project sees nothing of it. (On a cluster, the Nodes' runs are counted for
//! outsiders but not named: tests/k8s/executor.rs.)

use serde_json::json;

use crate::both_dbs;
use crate::helpers::TestApp;
use crate::tracking::{project, queued_run};

both_dbs!(the_queue_shows_only_the_callers_projects);

async fn the_queue_shows_only_the_callers_projects(app: TestApp) {
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let (run, _) = queued_run(&app, &ann).await;
    let queue = |token: String| {
        let app = &app;
        async move {
            let r = app.get("/api/v1/cluster").bearer(&token).send().await;
            assert_eq!(r.status, 200, "{}", r.json);
            assert_eq!(r.json["executor"], "local", "{}", r.json);
            r.json["queue"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["uuid"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(queue(ann.token.clone()).await, vec![run.clone()], "the owner sees the waiting run");
    let bob = app.user("bob").await;
    assert!(queue(bob.token.clone()).await.is_empty(), "someone outside the project sees nothing of it");
    let added = app
        .post("/api/v1/projects/ann/p/members")
        .bearer(&ann.token)
        .json(json!({"username": "bob", "role": "viewer"}))
        .send()
        .await;
    assert_eq!(added.status, 201, "{}", added.json);
    assert_eq!(queue(bob.token.clone()).await, vec![run.clone()], "a viewer of the project sees it");
    // Bob's own project's runs are his alone.
    project(&app, &bob, "q").await;
    let r = app
        .post("/api/v1/projects/bob/q/runs")
        .bearer(&bob.token)
        .json(json!({"content": "kind: component\nrun: {kind: job, container: {image: busybox, command: ['true']}}\n"}))
        .send()
        .await;
    let theirs = r.json["uuid"].as_str().unwrap().to_string();
    assert!(queue(bob.token.clone()).await.contains(&theirs));
    assert!(!queue(ann.token.clone()).await.contains(&theirs), "ann is not in bob's project");
}
