//! Bounded reads: a request costs what it returns, not what is stored — long logs, long metric histories,
//! open event streams per user.

use std::time::Duration;

use serde_json::json;

use crate::helpers::TestApp;
use crate::runs::{logs, setup, submit, wait_for};
use crate::tracking::{hex, project, queued_run};

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

crate::both_dbs!(history_pages_cover_every_point_once_whatever_the_logging_order);

/// 6,000 points logged in shuffled batches, with repeated steps and exact duplicates, read back in pages of 777:
/// the pages join into the sorted history, each point once.
async fn history_pages_cover_every_point_once_whatever_the_logging_order(app: TestApp) {
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let (id, _) = queued_run(&app, &ann).await;
    let mut logged: Vec<(i64, i64, f64)> = Vec::new();
    for batch in 0..60i64 {
        // Batches go backwards and forwards in steps; every 10th point repeats the one before it exactly.
        let base = if batch % 2 == 0 { batch * 50 } else { 6_000 - batch * 50 };
        let metrics: Vec<serde_json::Value> = (0..100i64)
            .map(|i| {
                let (step, ts, v) = if i % 10 == 9 {
                    logged.last().copied().unwrap()
                } else {
                    (base + i / 2, 1_000 + i % 3, (batch * 100 + i) as f64)
                };
                logged.push((step, ts, v));
                json!({"key": "loss", "value": v, "timestamp": ts, "step": step})
            })
            .collect();
        let body = json!({"run_id": hex(&id), "metrics": metrics});
        let r = app.post("/api/2.0/mlflow/runs/log-batch").bearer(&ann.token).json(body).send().await;
        assert_eq!(r.status, 200, "{}", r.json);
    }
    logged.sort_by_key(|a| (a.0, a.1, a.2.to_bits()));

    let mut got: Vec<(i64, i64, f64)> = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = format!(
            "/api/2.0/mlflow/metrics/get-history?run_id={}&metric_key=loss&max_results=777",
            hex(&id)
        );
        if let Some(t) = &token {
            url.push_str(&format!("&page_token={t}"));
        }
        let r = app.get(&url).bearer(&ann.token).send().await;
        assert_eq!(r.status, 200, "{}", r.json);
        let page = r.json["metrics"].as_array().unwrap();
        assert!(page.len() <= 777);
        got.extend(page.iter().map(|m| {
            (m["step"].as_i64().unwrap(), m["timestamp"].as_i64().unwrap(), m["value"].as_f64().unwrap())
        }));
        pages += 1;
        match r.json["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
        assert!(pages < 20, "paging does not end");
    }
    assert_eq!(pages, 8, "6,000 points in pages of 777");
    assert_eq!(got, logged, "the pages join into the whole sorted history");

    let bad =
        format!("/api/2.0/mlflow/metrics/get-history?run_id={}&metric_key=loss&page_token=25000", hex(&id));
    let r = app.get(&bad).bearer(&ann.token).send().await;
    assert_eq!(
        (r.status.as_u16(), r.json["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE")),
        "{}",
        r.json
    );
}

#[tokio::test]
async fn artifact_uploads_stop_at_the_projects_quota_and_deleting_runs_frees_it() {
    let app = TestApp::sqlite().await;
    let ann = app.user("ann").await;
    let root = app.site_admin("root").await;
    let exp = project(&app, &ann, "p").await["id"].as_str().unwrap().to_string();
    app.state.artifacts.set_quota(backend::artifacts::Quota { bytes: 1000, files: 3 });
    let (id, _) = queued_run(&app, &ann).await;
    let put = |name: &str, size: usize| {
        let url = format!("/api/2.0/mlflow-artifacts/artifacts/{exp}/{}/artifacts/{name}", hex(&id));
        app.call(axum::http::Method::PUT, &url)
            .bearer(&ann.token)
            .raw("application/octet-stream", vec![b'x'; size])
    };
    let usage = || async {
        let r = app.get("/api/v1/admin/projects/ann/p").bearer(&root.token).send().await;
        assert_eq!(r.status, 200, "{}", r.json);
        (r.json["artifact_bytes"].as_u64().unwrap(), r.json["artifact_files"].as_u64().unwrap())
    };

    assert_eq!(put("a.bin", 600).send().await.status, 200);
    assert_eq!(usage().await, (600, 1));
    let over = put("b.bin", 600).send().await;
    assert_eq!(
        (over.status.as_u16(), over.json["error_code"].as_str()),
        (400, Some("RESOURCE_EXHAUSTED")),
        "{}",
        over.json
    );
    assert!(over.json["message"].as_str().unwrap().contains("--artifact-quota-bytes"), "{}", over.json);
    let key =
        backend::artifacts::Artifacts::run_key(exp.parse().unwrap(), id.parse().unwrap(), "artifacts/b.bin")
            .unwrap();
    assert_eq!(
        app.state.artifacts.size_of(&key).await.unwrap(),
        None,
        "nothing of the refused upload is kept"
    );
    assert_eq!(usage().await, (600, 1));
    // Overwriting gives the old bytes back first.
    assert_eq!(put("a.bin", 900).send().await.status, 200);
    assert_eq!(usage().await, (900, 1));
    assert_eq!(put("c.bin", 50).send().await.status, 200);
    assert_eq!(put("d.bin", 50).send().await.status, 200);
    let files = put("e.bin", 1).send().await;
    assert_eq!(files.status, 400);
    assert!(files.json["message"].as_str().unwrap().contains("--artifact-quota-files 3"), "{}", files.json);

    // Deleting the run gives everything back.
    let stop = app.post(&format!("/api/v1/projects/ann/p/runs/{id}/stop")).bearer(&ann.token).send().await;
    assert_eq!(stop.status, 200);
    let del = app
        .call(axum::http::Method::DELETE, &format!("/api/v1/projects/ann/p/runs/{id}"))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(del.status, 204, "{}", del.json);
    assert_eq!(usage().await, (0, 0));
}

/// Lists without pages (tokens, members, component versions) stay bounded because what they list is.
#[tokio::test]
async fn an_account_holds_at_most_a_thousand_api_tokens() {
    let app = TestApp::sqlite().await;
    let ann = app.user("ann").await;
    let u = backend::services::accounts::user_by_name(&app.db, "ann").await.unwrap().unwrap();
    // `ann` holds one token already (the helper's).
    for i in 1..backend::domain::MAX_HELD {
        backend::services::tokens::create(&app.db, &u, &format!("t{i}")).await.unwrap();
    }
    let r = app.post("/api/v1/user/tokens").bearer(&ann.token).json(json!({"name": "one more"})).send().await;
    assert_eq!((r.status.as_u16(), r.error()), (422, "limit_exceeded"), "{}", r.json);
    assert!(r.json["message"].as_str().unwrap().contains("at most 1000"), "{}", r.json);
    let list = app.get("/api/v1/user/tokens").bearer(&ann.token).send().await;
    assert_eq!(list.json.as_array().unwrap().len(), 1000);
}
