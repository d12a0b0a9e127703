//! `myelin admin reindex-artifacts`: files in the store that the index lacks (stored before it existed, or
//! copied in directly) are hashed and recorded once; a second pass finds nothing to do; one project's reindex
//! leaves the others alone; a run's log archive is not an artifact.

use serde_json::json;
use sha2::Digest;

use crate::both_dbs;
use crate::helpers::TestApp;
use crate::tracking::{project, queued_run};

both_dbs!(files_the_index_lacks_are_hashed_and_recorded);

async fn files_the_index_lacks_are_hashed_and_recorded(app: TestApp) {
    let ann = app.user("ann").await;
    let p = project(&app, &ann, "p").await;
    let pid: uuid::Uuid = p["id"].as_str().unwrap().parse().unwrap();
    let (run, _) = queued_run(&app, &ann).await;
    let rid: uuid::Uuid = run.parse().unwrap();
    // One file through the API (indexed), two straight into the store (not).
    let up = app
        .call(
            axum::http::Method::PUT,
            &format!("/api/v1/projects/ann/p/runs/{run}/artifacts/artifacts/known.txt"),
        )
        .bearer(&ann.token)
        .raw("application/octet-stream", b"known".to_vec())
        .send()
        .await;
    assert!(up.status.is_success(), "{}", up.json);
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    // The run's log archive is there too, and is not an artifact.
    let log = backend::artifacts::Artifacts::run_key(pid, rid, backend::executor::logs::LOG_KEY).unwrap();
    app.state.artifacts.put(&log, bytes::Bytes::from_static(b"a log line")).await.unwrap();
    for (path, body) in
        [("artifacts/old/weights.bin", big.clone()), ("artifacts/notes é.txt", b"old".to_vec())]
    {
        let key = backend::artifacts::Artifacts::run_key(pid, rid, path).unwrap();
        app.state.artifacts.put(&key, body.into()).await.unwrap();
    }
    let search = || app.get("/api/v1/projects/ann/p/artifacts?q=weights").bearer(&ann.token).send();
    assert_eq!(search().await.json["items"], json!([]), "not indexed yet");

    // Another project's run, with a file of its own the index lacks: a reindex of ann/p leaves it alone.
    let other = project(&app, &ann, "q").await;
    let oid: uuid::Uuid = other["id"].as_str().unwrap().parse().unwrap();
    let r = app.post("/api/v1/projects/ann/q/runs").bearer(&ann.token).json(json!({"content": "kind: component\nrun: {kind: job, container: {image: busybox, command: ['true']}}\n"})).send().await;
    let orun: uuid::Uuid = r.json["uuid"].as_str().unwrap().parse().unwrap();
    let key = backend::artifacts::Artifacts::run_key(oid, orun, "artifacts/theirs.txt").unwrap();
    app.state.artifacts.put(&key, bytes::Bytes::from_static(b"theirs")).await.unwrap();

    let mut heard = Vec::new();
    let done = backend::services::artifact_index::reindex(
        &app.db,
        &app.state.artifacts,
        Some(pid),
        |_, path, size| heard.push((path.to_string(), size)),
    )
    .await
    .unwrap();
    assert_eq!((done.added, done.known, done.bytes), (2, 1, big.len() as u64 + 3), "{done:?}");
    assert_eq!(heard.len(), 2);
    let found = search().await.json;
    assert_eq!(found["items"][0]["path"], "artifacts/old/weights.bin", "{found}");
    assert_eq!(found["items"][0]["sha256"], hex::encode(sha2::Sha256::digest(&big)), "{found}");
    let accented = app.get("/api/v1/projects/ann/p/artifacts?q=notes").bearer(&ann.token).send().await.json;
    assert_eq!(accented["items"][0]["name"], "notes é.txt", "{accented}");
    let theirs = app.get("/api/v1/projects/ann/q/artifacts?q=theirs").bearer(&ann.token).send().await.json;
    assert_eq!(theirs["items"], json!([]), "another project is not reindexed: {theirs}");

    let again =
        backend::services::artifact_index::reindex(&app.db, &app.state.artifacts, Some(pid), |_, _, _| {})
            .await
            .unwrap();
    assert_eq!((again.added, again.known), (0, 3), "nothing twice: {again:?}");
    let all = backend::services::artifact_index::reindex(&app.db, &app.state.artifacts, None, |_, _, _| {})
        .await
        .unwrap();
    assert_eq!(all.added, 1, "every project without --project: {all:?}");
}
