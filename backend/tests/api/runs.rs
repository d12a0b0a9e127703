//! Runs end to end on the local executor: submit (and refusals), the scheduler, success, failure with the exit
//! code, timeout, stop, retries, concurrency and queue position, and recovery after a server restart.

use std::time::Duration;

use serde_json::{json, Value};

use sea_orm::EntityTrait;

use crate::both_dbs;
use crate::helpers::{TestApp, TestUser};

both_dbs!(
    a_valid_job_is_queued_with_its_timeline,
    invalid_files_are_refused_with_located_errors_and_nothing_is_stored,
    a_job_runs_to_success_with_its_output_and_environment,
    a_failing_job_reports_its_exit_code_and_retries,
    termination_from_an_overlay_or_an_operation_reaches_the_runs_retries,
    a_job_past_its_timeout_is_killed,
    a_stopped_job_ends_with_its_whole_process_group,
    concurrency_limits_hold_runs_in_the_queue,
    runs_left_running_by_a_dead_server_are_failed_at_start,
    init_steps_clone_a_local_repo_and_write_files,
    init_artifacts_steps_copy_from_the_project_store,
    cached_runs_reuse_results_and_a_miss_says_what_changed,
    a_files_tags_and_description_are_the_runs_tags,
);

fn job(command: &str, extra: &str) -> String {
    format!("kind: component\nname: probe\n{extra}run:\n  kind: job\n  container:\n    image: busybox:1.36\n    command: [sh, -c]\n    args: [{}]\n", serde_json::to_string(command).unwrap())
}

pub(crate) async fn setup(app: &TestApp) -> TestUser {
    let ann = app.user("ann").await;
    let r = app.post("/api/v1/projects").bearer(&ann.token).json(json!({"name": "p"})).send().await;
    assert_eq!(r.status, 201);
    ann
}

pub(crate) async fn submit(app: &TestApp, u: &TestUser, content: &str, params: Value) -> Value {
    let r = app
        .post("/api/v1/projects/ann/p/runs")
        .bearer(&u.token)
        .json(json!({"content": content, "params": params}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.json
}

pub(crate) async fn get(app: &TestApp, u: &TestUser, id: &str) -> Value {
    app.get(&format!("/api/v1/projects/ann/p/runs/{id}")).bearer(&u.token).send().await.json
}

/// A git repository in a temporary folder with one commit of `README` holding `readme`: its path and HEAD.
pub(crate) fn git_repo(readme: &str) -> (std::path::PathBuf, String) {
    let repo = std::env::temp_dir().join(format!("myelin-repo-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("README"), readme).unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@e.x"])
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    git(&["init", "-q"]);
    git(&["add", "README"]);
    git(&["commit", "-q", "-m", "first"]);
    let head = git(&["rev-parse", "HEAD"]).trim().to_string();
    (repo, head)
}

/// Drives the scheduler and waits until the run is done (or `until` status is reached).
pub(crate) async fn wait_for(app: &TestApp, u: &TestUser, id: &str, until: &[&str]) -> Value {
    for _ in 0..200 {
        backend::scheduler::tick(&app.db, &app.state.executor).await.unwrap();
        let r = get(app, u, id).await;
        if until.contains(&r["status"].as_str().unwrap_or_default()) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {id} never reached {until:?}: {}", get(app, u, id).await);
}

/// Live processes (not zombies) whose process group is `group`.
fn group_members(group: i32) -> Vec<i32> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // After the command's `)`: state, ppid, pgrp.
        let rest: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
        if rest.len() > 2 && rest[2].parse() == Ok(group) && !matches!(rest[0], "Z" | "X") {
            found.push(pid);
        }
    }
    found
}

fn statuses(run: &Value) -> Vec<String> {
    run["timeline"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap().to_string()).collect()
}

pub(crate) async fn logs(app: &TestApp, u: &TestUser, id: &str) -> String {
    let r = app.get(&format!("/api/v1/projects/ann/p/runs/{id}/logs")).bearer(&u.token).send().await;
    assert_eq!(r.status, 200);
    // The helper decodes JSON; logs are text, so read them again raw.
    let req = axum::http::Request::get(format!("/api/v1/projects/ann/p/runs/{id}/logs"))
        .header("authorization", format!("Bearer {}", u.token))
        .body(axum::body::Body::empty())
        .unwrap();
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let resp = app.router.clone().oneshot(req).await.unwrap();
    String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

async fn a_valid_job_is_queued_with_its_timeline(app: TestApp) {
    let ann = setup(&app).await;
    let run =
        submit(&app, &ann, &job("echo hi", "inputs:\n- {name: lr, type: float}\n"), json!({"lr": "0.1"}))
            .await;
    assert_eq!(run["status"], "queued");
    assert_eq!(statuses(&run), ["created", "compiled", "queued"]);
    assert_eq!(run["params"], json!({"lr": 0.1}));
    assert_eq!(run["queue"], json!({"position": 1, "running": 0, "limit": 2}));
    assert_eq!(run["user"], "ann");
    assert_eq!(run["reproducibility"]["image"], "busybox:1.36");
    assert_eq!(run["reproducibility"]["executor"], "local");
    assert!(run["reproducibility"]["compiled"]["manifests"][0]["kind"] == "Job");
    let list = app.get("/api/v1/projects/ann/p/runs").bearer(&ann.token).send().await;
    assert_eq!(list.json["total"], 1);
    // `conditions` that are false: skipped at once, as in Polyaxon.
    let gated = "kind: operation\nparams: {go: {value: false}}\nconditions: '{{ go }}'\ncomponent: {inputs: [{name: go, type: bool}], run: {kind: job, container: {image: 'busybox:1.36', command: [echo]}}}\n";
    let skipped = submit(&app, &ann, gated, json!({})).await;
    assert_eq!(
        (skipped["status"].as_str(), skipped["status_reason"].as_str()),
        (Some("skipped"), Some("ConditionsCheckFailed"))
    );
    assert_eq!(statuses(&skipped), ["created", "compiled", "skipped"]);
}

async fn invalid_files_are_refused_with_located_errors_and_nothing_is_stored(app: TestApp) {
    let ann = setup(&app).await;
    let bad = app
        .post("/api/v1/projects/ann/p/runs")
        .bearer(&ann.token)
        .json(json!({"content": "kind: component\nrun:\n  kind: job\n  contianer: {image: x}\n"}))
        .send()
        .await;
    assert_eq!((bad.status.as_u16(), bad.error()), (400, "invalid_spec"));
    assert_eq!(bad.json["errors"][0]["path"], "run.contianer");
    assert_eq!(
        (bad.json["errors"][0]["line"].as_u64(), bad.json["errors"][0]["column"].as_u64()),
        (Some(4), Some(3))
    );
    let missing = app
        .post("/api/v1/projects/ann/p/runs")
        .bearer(&ann.token)
        .json(json!({"content": job("echo", "inputs:\n- {name: lr, type: float}\n")}))
        .send()
        .await;
    assert_eq!(missing.json["errors"][0]["code"], "required_input");
    let scheduled = "kind: operation\nschedule: {kind: cron, cron: '0 * * * *'}\ncomponent: {run: {kind: job, container: {image: 'x:1'}}}\n";
    let unsupported = app
        .post("/api/v1/projects/ann/p/runs")
        .bearer(&ann.token)
        .json(json!({"content": scheduled}))
        .send()
        .await;
    assert_eq!(unsupported.error(), "unsupported", "{}", unsupported.json);
    assert!(unsupported.json["message"].as_str().unwrap().contains("schedule"), "{}", unsupported.json);
    let list = app.get("/api/v1/projects/ann/p/runs").bearer(&ann.token).send().await;
    assert_eq!(list.json["total"], 0, "refused submissions store nothing");
}

async fn a_job_runs_to_success_with_its_output_and_environment(app: TestApp) {
    let ann = setup(&app).await;
    let script = "echo hello; echo oops >&2; echo run=$MYELIN_RUN_UUID mlflow=$MLFLOW_RUN_ID lr=$LR db=${DATABASE_URL:-none}";
    let run = submit(
        &app,
        &ann,
        &job(script, "inputs:\n- {name: lr, type: float, toEnv: LR}\n"),
        json!({"lr": "0.5"}),
    )
    .await;
    let id = run["uuid"].as_str().unwrap();
    let done = wait_for(&app, &ann, id, &["succeeded", "failed"]).await;
    assert_eq!(done["status"], "succeeded", "{}", logs(&app, &ann, id).await);
    assert_eq!(done["exit_code"], 0);
    assert_eq!(
        statuses(&done),
        ["created", "compiled", "queued", "scheduled", "starting", "running", "succeeded"]
    );
    assert!(
        done["started_at"].is_string() && done["finished_at"].is_string() && done["duration"].is_number()
    );
    let text = logs(&app, &ann, id).await;
    assert!(text.lines().any(|l| l.ends_with(" stdout hello")), "{text}");
    assert!(text.lines().any(|l| l.ends_with(" stderr oops")), "{text}");
    let simple = id.replace('-', "");
    assert!(text.contains(&format!("run={id} mlflow={simple} lr=0.5 db=none")), "{text}");
}

async fn a_failing_job_reports_its_exit_code_and_retries(app: TestApp) {
    let ann = setup(&app).await;
    let run = submit(&app, &ann, &job("echo try; exit 3", ""), json!({})).await;
    let done = wait_for(&app, &ann, run["uuid"].as_str().unwrap(), &["failed", "succeeded"]).await;
    assert_eq!((done["status"].as_str(), done["exit_code"].as_i64()), (Some("failed"), Some(3)));
    assert_eq!(done["status_message"], "exit code 3");

    // Fails once, then succeeds: the work dir survives between attempts.
    let flaky = "if [ -f marker ]; then echo second; exit 0; fi; touch marker; exit 1";
    let run = submit(&app, &ann, &job(flaky, "termination: {maxRetries: 2}\n"), json!({})).await;
    let done = wait_for(&app, &ann, run["uuid"].as_str().unwrap(), &["failed", "succeeded"]).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["retries"], 1);
    assert!(statuses(&done).contains(&"retrying".to_string()), "{:?}", statuses(&done));
}

async fn termination_from_an_overlay_or_an_operation_reaches_the_runs_retries(app: TestApp) {
    let ann = setup(&app).await;
    // An overlay file (`-f job.yaml -f overlay.yaml`) sets the retries.
    let r = app
        .post("/api/v1/projects/ann/p/runs")
        .bearer(&ann.token)
        .json(json!({"content": job("exit 1", ""), "overlays": ["termination: {maxRetries: 2}\n"]}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let done = wait_for(&app, &ann, r.json["uuid"].as_str().unwrap(), &["failed", "succeeded"]).await;
    assert_eq!((done["status"].as_str(), done["retries"].as_i64()), (Some("failed"), Some(2)));

    // An operation's `termination` over its inline component's.
    let op = "kind: operation\nname: op\ntermination: {maxRetries: 1}\ncomponent:\n  termination: {maxRetries: 5}\n  run:\n    kind: job\n    container: {image: busybox, command: [sh, -c, 'exit 1']}\n";
    let run = submit(&app, &ann, op, json!({})).await;
    assert_eq!(run["name"], "op", "the operation's name names the run");
    let done = wait_for(&app, &ann, run["uuid"].as_str().unwrap(), &["failed", "succeeded"]).await;
    assert_eq!((done["status"].as_str(), done["retries"].as_i64()), (Some("failed"), Some(1)));
}

async fn a_job_past_its_timeout_is_killed(app: TestApp) {
    let ann = setup(&app).await;
    let run = submit(&app, &ann, &job("sleep 30", "termination: {timeout: 1}\n"), json!({})).await;
    let started = std::time::Instant::now();
    let done = wait_for(&app, &ann, run["uuid"].as_str().unwrap(), &["failed", "succeeded"]).await;
    assert_eq!((done["status"].as_str(), done["status_reason"].as_str()), (Some("failed"), Some("Timeout")));
    assert!(done["status_message"].as_str().unwrap().contains("killed after 1 s"));
    assert!(started.elapsed() < Duration::from_secs(10));
}

async fn a_stopped_job_ends_with_its_whole_process_group(app: TestApp) {
    let ann = setup(&app).await;
    // A child that ignores nothing: the group must go, not just the shell.
    let run = submit(&app, &ann, &job("sleep 60 & echo child=$!; wait", ""), json!({})).await;
    let id = run["uuid"].as_str().unwrap().to_string();
    wait_for(&app, &ann, &id, &["running"]).await;
    // The job's processes, seen from the host: its process group (the job may live in a pid namespace of its
    // own, where `$!` is not the host's pid).
    let group = backend::entities::run::Entity::find_by_id(id.parse::<uuid::Uuid>().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .and_then(|r| r.pid)
        .expect("the running job's pid is stored");
    let mut members = Vec::new();
    for _ in 0..100 {
        members = group_members(group);
        let sleeping = members.iter().any(|p| {
            std::fs::read_to_string(format!("/proc/{p}/cmdline")).is_ok_and(|c| c.starts_with("sleep\0"))
        });
        if sleeping && logs(&app, &ann, &id).await.contains("child=") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(members.len() >= 2, "the job's group has its shell and its child: {members:?}");
    let stop = app.post(&format!("/api/v1/projects/ann/p/runs/{id}/stop")).bearer(&ann.token).send().await;
    assert_eq!(stop.status, 200, "{}", stop.json);
    let done = wait_for(&app, &ann, &id, &["stopped", "failed", "succeeded"]).await;
    assert_eq!(done["status"], "stopped");
    assert_eq!(&statuses(&done)[statuses(&done).len() - 2..], ["stopping", "stopped"]);
    // Gone, or a zombie waiting to be reaped: either way no longer running.
    for pid in members {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit(')').next().map(|r| r.trim().chars().next().unwrap_or('?')));
        assert!(
            matches!(state, None | Some('Z') | Some('X')),
            "the group's process {pid} survived ({state:?})"
        );
    }
    // The status stream of a finished run: its status now, then the end.
    let req = axum::http::Request::get(format!("/api/v1/projects/ann/p/runs/{id}/events"))
        .header("authorization", format!("Bearer {}", ann.token))
        .body(axum::body::Body::empty())
        .unwrap();
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let body = app.router.clone().oneshot(req).await.unwrap().into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(text.starts_with("event: status\ndata: {\"status\":\"stopped\""), "{text}");
    assert!(text.trim_end().ends_with("event: end\ndata: end"), "{text}");
    let again = app.post(&format!("/api/v1/projects/ann/p/runs/{id}/stop")).bearer(&ann.token).send().await;
    assert_eq!(again.status, 409);
    let restarted =
        app.post(&format!("/api/v1/projects/ann/p/runs/{id}/restart")).bearer(&ann.token).send().await;
    assert_eq!((restarted.status.as_u16(), restarted.json["original"].as_str()), (201, Some(id.as_str())));
}

async fn concurrency_limits_hold_runs_in_the_queue(app: TestApp) {
    let ann = setup(&app).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            submit(&app, &ann, &job("sleep 30", ""), json!({})).await["uuid"].as_str().unwrap().to_string(),
        );
    }
    wait_for(&app, &ann, &ids[1], &["running"]).await;
    let third = get(&app, &ann, &ids[2]).await;
    assert_eq!(third["status"], "queued");
    assert_eq!(third["queue"], json!({"position": 1, "running": 2, "limit": 2}));
    for id in &ids {
        let r = app.post(&format!("/api/v1/projects/ann/p/runs/{id}/stop")).bearer(&ann.token).send().await;
        assert!(r.status.is_success(), "stop {id}: {} {}", r.status, r.json);
    }
    for id in &ids[..2] {
        wait_for(&app, &ann, id, &["stopped"]).await;
    }
    assert_eq!(get(&app, &ann, &ids[2]).await["status"], "stopped", "a queued run stops at once");
}

async fn runs_left_running_by_a_dead_server_are_failed_at_start(app: TestApp) {
    use sea_orm::{ActiveModelTrait, Set};
    use std::os::unix::process::CommandExt;
    let ann = setup(&app).await;
    let run = submit(&app, &ann, &job("sleep 30", ""), json!({})).await;
    let id: uuid::Uuid = run["uuid"].as_str().unwrap().parse().unwrap();
    // As if a previous server had started it: a live process group it no longer supervises.
    let orphan = std::process::Command::new("sleep").arg("30").process_group(0).spawn().unwrap();
    let row = backend::entities::run::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
    let mut row: backend::entities::run::ActiveModel = row.into();
    row.status = Set("running".into());
    row.pid = Set(Some(orphan.id() as i32));
    row.update(&app.db).await.unwrap();

    assert_eq!(app.state.executor.recover().await.unwrap(), 1);
    let r = get(&app, &ann, run["uuid"].as_str().unwrap()).await;
    assert_eq!(
        (r["status"].as_str(), r["status_message"].as_str()),
        (Some("failed"), Some("server restarted while the run was running"))
    );
    let mut orphan = orphan;
    assert!(orphan.wait().is_ok(), "the orphaned process was ended");
}

async fn init_steps_clone_a_local_repo_and_write_files(app: TestApp) {
    let ann = setup(&app).await;
    let (repo, head) = git_repo("model code\n");
    let extra = format!(
        "termination: {{ttl: 1}}\nrun:\n  kind: job\n  init:\n  - git: {{url: 'file://{}'}}\n  - file: {{filename: conf/settings.json, content: '{{\"lr\": 1}}'}}\n",
        repo.display()
    );
    // `job()` appends its own run section: build this one by hand.
    let content = format!(
        "kind: component\nname: init\n{extra}  container:\n    image: busybox:1.36\n    command: [sh, -c, 'cat {}/README conf/settings.json']\n",
        repo.file_name().unwrap().to_str().unwrap()
    );
    let run = submit(&app, &ann, &content, json!({})).await;
    let id = run["uuid"].as_str().unwrap().to_string();
    let done = wait_for(&app, &ann, &id, &["succeeded", "failed"]).await;
    let text = logs(&app, &ann, &id).await;
    assert_eq!(done["status"], "succeeded", "{text}");
    assert!(text.contains("stdout model code") && text.contains(r#"stdout {"lr": 1}"#), "{text}");
    assert!(text.contains(&format!("init git: cloned file://{} at {head}", repo.display())), "{text}");
    assert_eq!(done["reproducibility"]["git_commit"], head.as_str());
    std::fs::remove_dir_all(&repo).ok();
    // termination.ttl: 1 — the work dir goes a second after the end; the logs stay.
    let dir = app.state.executor.local().unwrap().run_dir(id.parse().unwrap());
    for _ in 0..60 {
        if !dir.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!dir.exists(), "the work dir outlived termination.ttl");
    assert!(logs(&app, &ann, &id).await.contains("stdout model code"));

    let escape = "kind: component\nrun:\n  kind: job\n  init:\n  - file: {filename: ../../escape.txt, content: x}\n  container: {image: 'busybox:1.36', command: ['true']}\n";
    let run = submit(&app, &ann, escape, json!({})).await;
    let failed = wait_for(&app, &ann, run["uuid"].as_str().unwrap(), &["failed", "succeeded"]).await;
    assert_eq!(
        (failed["status"].as_str(), failed["status_reason"].as_str()),
        (Some("failed"), Some("InitFailed"))
    );
}

async fn init_artifacts_steps_copy_from_the_project_store(app: TestApp) {
    let ann = setup(&app).await;
    let p: Value = app.get("/api/v1/projects/ann/p").bearer(&ann.token).send().await.json;
    let pid: uuid::Uuid = p["id"].as_str().unwrap().parse().unwrap();
    let put = |rel: &'static str, body: &'static str| {
        let key = object_store::path::Path::from(format!("{pid}/{rel}"));
        let store = app.state.artifacts.clone();
        async move { store.put(&key, bytes::Bytes::from_static(body.as_bytes())).await.unwrap() }
    };
    put("earlier/artifacts/data.csv", "a,b\n1,2\n").await;
    put("earlier/artifacts/model/weights.bin", "w1").await;
    put("earlier/artifacts/model/config.json", "{}").await;
    let content = "kind: component\nname: init\nrun:\n  kind: job\n  init:\n  - artifacts: {files: [earlier/artifacts/data.csv], dirs: [earlier/artifacts/model]}\n  container:\n    image: busybox:1.36\n    command: [sh, -c, 'cat earlier/artifacts/data.csv earlier/artifacts/model/weights.bin']\n";
    let run = submit(&app, &ann, content, json!({})).await;
    let id = run["uuid"].as_str().unwrap().to_string();
    let done = wait_for(&app, &ann, &id, &["succeeded", "failed"]).await;
    let text = logs(&app, &ann, &id).await;
    assert_eq!(done["status"], "succeeded", "{text}");
    assert!(
        text.contains("init artifacts: copied 3 file(s)")
            && text.contains("stdout 1,2")
            && text.contains("stdout w1"),
        "{text}"
    );
    // A missing artifact fails the run at init, with the path in the reason.
    let missing = "kind: component\nrun:\n  kind: job\n  init:\n  - artifacts: {files: [nope/x.txt]}\n  container: {image: busybox, command: [true]}\n";
    let id = submit(&app, &ann, missing, json!({})).await["uuid"].as_str().unwrap().to_string();
    let done = wait_for(&app, &ann, &id, &["succeeded", "failed"]).await;
    assert_eq!(
        (done["status"].as_str(), done["status_reason"].as_str()),
        (Some("failed"), Some("InitFailed"))
    );
    assert!(done["status_message"].as_str().unwrap().contains("nope/x.txt"), "{done}");
}

async fn cached_runs_reuse_results_and_a_miss_says_what_changed(app: TestApp) {
    let ann = setup(&app).await;
    let cached = "kind: component\nname: train\ninputs:\n- {name: lr, type: float, value: 0.1, isOptional: true}\noutputs:\n- {name: loss, type: float}\ncache: {disable: false}\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: [sh, -c, 'echo lr={{ lr }}']}\n";
    let first = submit(&app, &ann, cached, json!({})).await;
    let id = first["uuid"].as_str().unwrap().to_string();
    assert_eq!(first["cache"]["hit"], false);
    assert_eq!(first["cache"]["explanation"], json!(["first run of this op: nothing to reuse"]));
    assert_eq!(first["cache"]["key"].as_str().unwrap().len(), 64);
    wait_for(&app, &ann, &id, &["succeeded"]).await;
    let r = app
        .post(&format!("/api/v1/projects/ann/p/runs/{id}/tracking"))
        .bearer(&ann.token)
        .json(json!({"metrics": [{"key": "loss", "value": 0.25, "timestamp": 1, "step": 1}]}))
        .send()
        .await;
    assert_eq!(r.status, 204, "{}", r.json);

    // The same file again: done at once, linked to the first run, with its results; never queued.
    let second = submit(&app, &ann, cached, json!({})).await;
    assert_eq!(second["status"], "succeeded");
    assert_eq!(second["status_reason"], "CacheHit");
    assert_eq!(second["cache"]["hit"], true);
    assert_eq!(second["cache"]["original"], id.as_str());
    assert_eq!(second["original"], id.as_str());
    assert_eq!(second["cache"]["key"], first["cache"]["key"]);
    assert!(second["cache"]["explanation"][0]
        .as_str()
        .unwrap()
        .starts_with(&format!("reused results of run {}", &id[..8])));
    assert_eq!(second["outputs"]["loss"], 0.25, "a reused run's outputs are its original's");
    assert_eq!(statuses(&second), ["created", "compiled", "succeeded"]);
    let second_id = second["uuid"].as_str().unwrap();
    assert!(
        logs(&app, &ann, second_id).await.contains("stdout lr=0.1"),
        "a reused run shows its original's log"
    );

    // A param change is a miss that names it.
    let third = submit(&app, &ann, cached, json!({"lr": "0.01"})).await;
    assert_eq!((third["status"].as_str(), third["cache"]["hit"].as_bool()), (Some("queued"), Some(false)));
    let why: Vec<String> = serde_json::from_value(third["cache"]["explanation"].clone()).unwrap();
    assert!(why.contains(&"param lr 0.1 -> 0.01".to_string()), "{why:?}");
    wait_for(&app, &ann, third["uuid"].as_str().unwrap(), &["succeeded"]).await;

    // A restart runs again; caching is off unless the file turns it on.
    let restarted =
        app.post(&format!("/api/v1/projects/ann/p/runs/{id}/restart")).bearer(&ann.token).send().await;
    assert_eq!(restarted.json["cache"]["hit"], false);
    assert_eq!(
        restarted.json["cache"]["explanation"],
        json!(["a restart runs again: it never reuses results"])
    );
    let plain = submit(&app, &ann, &cached.replace("cache: {disable: false}\n", ""), json!({})).await;
    assert!(plain["cache"].is_null(), "{}", plain["cache"]);

    // `ttl`: a result is reused while it is younger than that, then computed again, saying why.
    let short_lived = cached
        .replace("cache: {disable: false}", "cache: {disable: false, ttl: 3}")
        .replace("lr=", "ttl lr=");
    let original = submit(&app, &ann, &short_lived, json!({})).await;
    let original_id = original["uuid"].as_str().unwrap().to_string();
    wait_for(&app, &ann, &original_id, &["succeeded"]).await;
    let fresh = submit(&app, &ann, &short_lived, json!({})).await;
    assert_eq!(
        (fresh["status_reason"].as_str(), fresh["cache"]["original"].as_str()),
        (Some("CacheHit"), Some(original_id.as_str()))
    );
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
    let stale = submit(&app, &ann, &short_lived, json!({})).await;
    assert_eq!(
        (stale["status"].as_str(), stale["cache"]["hit"].as_bool()),
        (Some("queued"), Some(false)),
        "{stale}"
    );
    let why = stale["cache"]["explanation"][0].as_str().unwrap();
    assert!(
        why.starts_with(&format!("run {} has the same key but its ttl of 3 s expired", &original_id[..8])),
        "{why}"
    );
    wait_for(&app, &ann, stale["uuid"].as_str().unwrap(), &["succeeded"]).await;
}

async fn a_files_tags_and_description_are_the_runs_tags(app: TestApp) {
    let ann = setup(&app).await;
    let run = submit(
        &app,
        &ann,
        &job("echo hi", "tags: [baseline, gpu, baseline]\ndescription: first try\n"),
        json!({}),
    )
    .await;
    assert_eq!(run["tags"], json!({"baseline": "", "gpu": "", "mlflow.note.content": "first try"}), "{run}");
    let list = |q: &str| {
        let url = format!("/api/v1/projects/ann/p/runs?query={q}");
        let (app, ann) = (&app, &ann);
        async move { app.get(&url).bearer(&ann.token).send().await.json }
    };
    assert_eq!(list("tags:gpu").await["total"], 1);
    // MLflow's client reads them back as the run's tags.
    let r = app
        .get(&format!("/api/2.0/mlflow/runs/get?run_id={}", run["uuid"].as_str().unwrap()))
        .bearer(&ann.token)
        .send()
        .await;
    let tags = r.json["run"]["data"]["tags"].as_array().cloned().unwrap_or_default();
    assert!(tags.contains(&json!({"key": "mlflow.note.content", "value": "first try"})), "{}", r.json);

    // A pipeline's ops carry their own tags (a string is a comma-separated list); the pipeline its own.
    let dag = "kind: operation\ntags: nightly\ncomponent:\n  run:\n    kind: dag\n    operations:\n    - name: a\n      tags: 'prep, cpu'\n      component: {run: {kind: job, container: {image: 'busybox:1.36', command: [true]}}}\n";
    submit(&app, &ann, dag, json!({})).await;
    let prep = list("tags:prep").await;
    assert_eq!(prep["total"], 1, "{prep}");
    assert_eq!(prep["items"][0]["name"], "a");
    let nightly = list("tags:nightly").await;
    assert_eq!(
        (nightly["total"].as_u64(), nightly["items"][0]["kind"].as_str()),
        (Some(1), Some("dag")),
        "{nightly}"
    );

    // A tag MLflow cannot hold is refused, naming it; nothing is stored.
    let r = app
        .post("/api/v1/projects/ann/p/runs")
        .bearer(&ann.token)
        .json(json!({"content": job("echo hi", "tags: ['a|b']\n")}))
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(r.json["message"].as_str().unwrap().contains("\"a|b\""), "{}", r.json);
    assert_eq!(list("").await["total"], 3);
}
