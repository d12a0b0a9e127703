//! Bounded reads: a request costs what it returns, not what is stored — long logs, long metric histories,
//! open event streams per user.

use std::time::Duration;

use serde_json::json;

use crate::helpers::TestApp;
use crate::runs::{logs, setup, submit, wait_for};

fn job(command: &str) -> String {
    format!(
        "kind: component\nrun:\n  kind: job\n  container:\n    image: busybox:1.36\n    command: [sh, -c, {}]\n",
        serde_json::to_string(command).unwrap()
    )
}

#[tokio::test]
async fn a_long_log_downloads_whole_while_pages_and_streams_get_its_last_mib() {
    let app = TestApp::sqlite().await;
    let ann = setup(&app).await;
    // About 2.6 MB of log: 60,000 timestamped lines.
    let r = submit(&app, &ann, &job("seq 1 60000"), json!({})).await;
    let id = r["uuid"].as_str().unwrap().to_string();
    let done = wait_for(&app, &ann, &id, &["succeeded", "failed"]).await;
    assert_eq!(done["status"], "succeeded");

    let whole = logs(&app, &ann, &id).await;
    assert!(whole.len() > 2_000_000, "the download is the whole log: {} bytes", whole.len());
    let first = whole.lines().find(|l| l.contains(" stdout ")).unwrap();
    assert!(first.ends_with("stdout 1"), "the download starts at the start: {first}");
    assert!(whole.lines().any(|l| l.ends_with("stdout 60000")));

    let events = reqwest::Client::new()
        .get(format!("{}/api/v1/projects/ann/p/runs/{id}/logs/stream", app.url))
        .bearer_auth(&ann.token)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let body = events.text().await.unwrap();
    let first = body.lines().next().unwrap_or_default();
    assert_eq!(first, "event: skipped", "a long log starts with what it skips: {}", &body[..200]);
    let skipped: u64 = body.lines().nth(1).unwrap().trim_start_matches("data: ").parse().unwrap();
    let replayed = body.lines().filter(|l| l.starts_with("data: ") && l.contains(" stdout ")).count();
    assert!(
        body.len() < 1_700_000,
        "about a MiB of lines is replayed (with SSE framing), not {} bytes",
        body.len()
    );
    assert!(replayed > 20_000 && replayed < 30_000, "{replayed} lines replayed");
    assert!(body.contains("stdout 60000\n"), "the replay reaches the end");
    // What was skipped and what was replayed add up to the whole log: no line lost, none cut.
    let shown: usize = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .skip(1)
        .filter(|l| *l != "end")
        .map(|l| l.len() + 1)
        .sum();
    assert_eq!(skipped as usize + shown, whole.len(), "skipped + replayed = the whole log");
}

#[tokio::test]
async fn open_event_streams_per_user_are_capped_and_freed_when_they_end() {
    let app = TestApp::sqlite().await;
    let ann = setup(&app).await;
    app.state.streams.set_per_user(2);
    let running = submit(&app, &ann, &job("sleep 60"), json!({})).await["uuid"].as_str().unwrap().to_string();
    wait_for(&app, &ann, &running, &["running"]).await;
    let url = |what: &str| format!("{}/api/v1/projects/ann/p/runs/{running}/{what}", app.url);
    let client = reqwest::Client::new();
    let open = |what: &'static str| {
        let (client, url, token) = (client.clone(), url(what), ann.token.clone());
        async move { client.get(url).bearer_auth(token).send().await.unwrap() }
    };

    let held = [open("events").await, open("logs/stream").await];
    assert!(held.iter().all(|r| r.status() == 200));
    let refused = open("events").await;
    assert_eq!(refused.status(), 429);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests");
    assert!(body["message"].as_str().unwrap().contains("--max-streams-per-user"), "{body}");
    assert_eq!(open("logs/stream").await.status(), 429, "logs and events share the limit");

    // Another member is not affected.
    let bob = app.user("bob").await;
    let add = app
        .post("/api/v1/projects/ann/p/members")
        .bearer(&ann.token)
        .json(json!({"username": "bob", "role": "viewer"}))
        .send()
        .await;
    assert_eq!(add.status, 201);
    let bobs = client.get(url("events")).bearer_auth(&bob.token).send().await.unwrap();
    assert_eq!(bobs.status(), 200);

    // Closing the connections frees the places (the server notices at its next write at the latest).
    drop(held);
    let stop =
        app.post(&format!("/api/v1/projects/ann/p/runs/{running}/stop")).bearer(&ann.token).send().await;
    assert_eq!(stop.status, 200);
    wait_for(&app, &ann, &running, &["stopped"]).await;
    let mut admitted = false;
    for _ in 0..100 {
        if app.state.streams.count(uuid_of(&app, "ann").await) < 2 {
            admitted = open("events").await.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(admitted, "a new stream is admitted once the old ones ended");
}

async fn uuid_of(app: &TestApp, name: &str) -> uuid::Uuid {
    backend::services::accounts::user_by_name(&app.db, name).await.unwrap().unwrap().id
}
