//! Polyaxon's run context on the local executor: `globals` name the run as it is stored (its uuid, project,
//! submitter); what a job writes under `{{ globals.run_outputs_path }}` is kept as its artifacts, by digest,
//! before its status moves on (links are not followed); a downstream op finds it by its upstream's
//! `globals.uuid`, through an `init` step, at Polyaxon's paths (init steps write there too, and a job may start
//! there); and naming its own run does not spoil an op's cache key.

use serde_json::{json, Value};
use sha2::Digest;

use crate::both_dbs;
use crate::helpers::{TestApp, TestUser};
use crate::pipelines::{drive_until, op};
use crate::runs::{git_repo, logs, setup, submit, wait_for};

both_dbs!(
    what_a_job_writes_under_its_context_is_kept,
    a_downstream_op_reads_its_upstream_s_outputs_by_uuid,
    init_steps_write_where_polyaxon_puts_them,
);

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The run's indexed artifacts: path → sha256.
async fn stored(app: &TestApp, u: &TestUser, run: &str) -> Vec<(String, String)> {
    let r = app.get(&format!("/api/v1/projects/ann/p/artifacts?run={run}")).bearer(&u.token).send().await;
    assert_eq!(r.status, 200, "{}", r.json);
    let mut files: Vec<(String, String)> = r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["path"].as_str().unwrap().to_string(), i["sha256"].as_str().unwrap().to_string()))
        .collect();
    files.sort();
    files
}

async fn what_a_job_writes_under_its_context_is_kept(app: TestApp) {
    let ann = setup(&app).await;
    let job = r#"
kind: component
name: ctx
run:
  kind: job
  container:
    image: busybox
    env: [{name: OUT, value: "{{ globals.run_outputs_path }}"}]
    command:
      - sh
      - -c
      - >-
        echo "uuid={{ globals.uuid }} project={{ globals.project_unique_name }} user={{ globals.username }}";
        mkdir -p "$OUT/sub" && printf w1 > "$OUT/sub/best.pt" && printf m > {{ globals.run_artifacts_path }}/metrics.json
        && ln -s /etc/passwd "$OUT/leak"
"#;
    let id = submit(&app, &ann, job, json!({})).await["uuid"].as_str().unwrap().to_string();
    let done = wait_for(&app, &ann, &id, &["succeeded", "failed"]).await;
    let text = logs(&app, &ann, &id).await;
    assert_eq!(done["status"], "succeeded", "{text}");
    let simple = id.replace('-', "");
    assert!(text.contains(&format!("uuid={simple} project=ann.p user=ann")), "globals name the run: {text}");
    assert!(text.contains("kept 2 file(s), 3 bytes"), "{text}");
    assert!(text.contains("not kept: outputs/leak: a symbolic link (not followed)"), "{text}");
    assert_eq!(
        stored(&app, &ann, &id).await,
        [("metrics.json".to_string(), sha(b"m")), ("outputs/sub/best.pt".to_string(), sha(b"w1"))]
    );
    let got = app
        .get(&format!("/api/v1/projects/ann/p/runs/{id}/artifacts/outputs/sub/best.pt"))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!((got.status.as_u16(), got.body.as_slice()), (200, b"w1".as_slice()));
}

async fn a_downstream_op_reads_its_upstream_s_outputs_by_uuid(app: TestApp) {
    let ann = setup(&app).await;
    let flow = r#"
kind: component
run:
  kind: dag
  operations:
    - name: make
      component:
        run: {kind: job, container: {image: busybox, command: [sh, -c, "printf weights-2 > {{ globals.run_outputs_path }}/best.pt"]}}
    - name: use
      params: {up: {ref: ops.make, value: globals.uuid}}
      component:
        inputs: [{name: up, type: str}]
        run:
          kind: job
          init: [{artifacts: {files: ["{{ up }}/outputs/best.pt"]}}]
          container: {image: busybox, workingDir: "{{ globals.artifacts_path }}/{{ up }}", command: [cat, outputs/best.pt]}
"#;
    let id = submit(&app, &ann, flow, json!({})).await["uuid"].as_str().unwrap().to_string();
    let done = drive_until(&app, &ann, &id, &["succeeded", "failed"], |_| {}).await;
    let (make, used) = (op(&app, &ann, &id, "make").await, op(&app, &ann, &id, "use").await);
    let (make, used) = (make["uuid"].as_str().unwrap(), used["uuid"].as_str().unwrap());
    let text = logs(&app, &ann, used).await;
    assert_eq!(done["status"], "succeeded", "{text}");
    assert!(text.contains("stdout weights-2"), "the upstream's output reached the op: {text}");
    assert_eq!(stored(&app, &ann, make).await, [("outputs/best.pt".to_string(), sha(b"weights-2"))]);
    // Consumed by digest, from the op that made it.
    let r = app
        .get(&format!("/api/v1/projects/ann/p/artifacts/consumers?digest={}", sha(b"weights-2")))
        .bearer(&ann.token)
        .send()
        .await;
    let consumers: Vec<&Value> = r.json.as_array().unwrap().iter().map(|c| &c["uuid"]).collect();
    assert_eq!(consumers, [&json!(used)], "{}", r.json);

    // Again: writing under its own uuid does not spoil an op's cache key (Polyaxon keys the command before
    // rendering), so both ops reuse the results above.
    let again = submit(&app, &ann, flow, json!({})).await["uuid"].as_str().unwrap().to_string();
    let done = drive_until(&app, &ann, &again, &["succeeded", "failed"], |_| {}).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    for name in ["make", "use"] {
        let o = op(&app, &ann, &again, name).await;
        assert_eq!(o["status_reason"], "CacheHit", "{o}");
    }
}

async fn init_steps_write_where_polyaxon_puts_them(app: TestApp) {
    let ann = setup(&app).await;
    let (repo, _) = git_repo("from the repository");
    let name = repo.file_name().unwrap().to_string_lossy().into_owned();
    // Polyaxon's idiom: clone under a path in the artifacts context, and start the job in the clone.
    let job = format!(
        r#"
kind: component
run:
  kind: job
  init:
    - git: {{url: "file://{repo}"}}
      path: "{{{{ globals.artifacts_path }}}}/code"
    - file: {{filename: settings.json, content: "{{\"lr\": 1}}"}}
  container:
    image: busybox
    workingDir: "{{{{ globals.artifacts_path }}}}/code/{name}"
    command: [sh, -c, "cat README; echo; cat {{{{ globals.artifacts_path }}}}/settings.json"]
"#,
        repo = repo.display()
    );
    let id = submit(&app, &ann, &job, json!({})).await["uuid"].as_str().unwrap().to_string();
    let done = wait_for(&app, &ann, &id, &["succeeded", "failed"]).await;
    let text = logs(&app, &ann, &id).await;
    assert_eq!(done["status"], "succeeded", "{text}");
    assert!(text.contains("stdout from the repository"), "{text}");
    assert!(text.contains(r#"stdout {"lr": 1}"#), "{text}");
    // A path outside the context has nowhere to go on this machine: refused in words.
    let outside = job.replace("{{ globals.artifacts_path }}/code\"", "/code\"");
    assert!(outside.contains("path: \"/code\""), "{outside}");
    let id = submit(&app, &ann, &outside, json!({})).await["uuid"].as_str().unwrap().to_string();
    let done = wait_for(&app, &ann, &id, &["succeeded", "failed"]).await;
    assert_eq!(done["status"], "failed");
    assert!(logs(&app, &ann, &id).await.contains("init path `/code` is outside the run's directory"));
    std::fs::remove_dir_all(&repo).ok();
}
