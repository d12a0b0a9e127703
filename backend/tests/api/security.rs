//! The security tier: each attack against a real server fails while the normal path works.

use serde_json::json;

use crate::helpers::TestApp;
use crate::runs::{logs, setup, submit, wait_for};

/// Submits `file` to `ann/{project}` and expects the compiler's refusal; returns its answer.
async fn refused(
    app: &TestApp,
    ann: &crate::helpers::TestUser,
    project: &str,
    file: &str,
) -> serde_json::Value {
    let r = app
        .post(&format!("/api/v1/projects/ann/{project}/runs"))
        .bearer(&ann.token)
        .json(json!({"content": file}))
        .send()
        .await;
    assert_eq!((r.status.as_u16(), r.error()), (400, "invalid_spec"), "{}", r.json);
    r.json
}

/// A job that probes what it can reach; each probe prints `LEAK <what>` when it gets through.
fn prober(data_dir: &str, server_pid: u32) -> String {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let script = format!(
        r#"probe() {{ if sh -c "$2" >/dev/null 2>&1; then echo "LEAK $1"; else echo "denied $1"; fi; }}
probe data-dir "ls {data_dir}"
probe database "cat {data_dir}/myelin.db"
probe other-runs "ls {data_dir}/runs"
probe server-environ "cat /proc/{server_pid}/environ"
probe signal-server "kill -0 {server_pid}"
probe write-usr "touch /usr/myelin-was-here"
probe write-etc "touch /etc/myelin-was-here"
probe write-beside-workdir "touch ../myelin-was-here"
probe shadow "grep -q root /etc/shadow"
probe home-of-server "ls {home}/.cargo"
probe write-root "touch /myelin-was-here"
probe server-env "env | grep -q -e CARGO -e MYELIN_TEST_DATABASE_URL -e RUST_"
echo "uid=$(id -u) home=$HOME pwd=$(pwd)"
echo "procs=$(ls /proc | grep -c '^[0-9]')"
echo written > own-file && cat own-file && echo tmp > /tmp/x && cat /tmp/x
env | cut -d= -f1 | sort | tr '\n' ' '
"#
    );
    format!(
        "kind: component\nname: prober\nrun:\n  kind: job\n  container:\n    image: busybox:1.36\n    command: [sh, -c]\n    args: [{}]\n",
        serde_json::to_string(&script).unwrap()
    )
}

#[tokio::test]
async fn a_local_job_cannot_reach_the_server_its_data_or_other_runs() {
    let app = TestApp::sqlite().await;
    let local = app.state.executor.local().unwrap().clone();
    if !local.sandbox().isolated() {
        eprintln!("skipping: {}", local.sandbox().describe()); // CI fails earlier (helpers::isolate_jobs)
        return;
    }
    let ann = setup(&app).await;
    let first = submit(&app, &ann, &prober("/nonexistent", 1), json!({})).await;
    let first_id = first["uuid"].as_str().unwrap().to_string();
    wait_for(&app, &ann, &first_id, &["succeeded", "failed"]).await;
    let run_dir = local.run_dir(first_id.parse().unwrap());
    let data_dir = run_dir.parent().unwrap().parent().unwrap().display().to_string();
    let run = submit(&app, &ann, &prober(&data_dir, std::process::id()), json!({})).await;
    let id = run["uuid"].as_str().unwrap().to_string();
    let done = wait_for(&app, &ann, &id, &["succeeded", "failed"]).await;
    let out = logs(&app, &ann, &id).await;
    assert_eq!(done["status"], "succeeded", "{out}");
    assert!(!out.contains("LEAK"), "the job reached beyond its sandbox:\n{out}");
    assert_eq!(out.matches("denied ").count(), 12, "{out}");
    assert!(out.contains("uid=65534 home=/job pwd=/job"), "{out}");
    assert!(out.contains("written") && out.contains(" tmp"), "its own dir and /tmp are writable:\n{out}");
    assert!(out.contains("local jobs run isolated with"), "the log says how the job ran:\n{out}");
    let procs: usize =
        out.split("procs=").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().parse().unwrap();
    assert!(procs < 10, "the job sees only its own processes, saw {procs}:\n{out}");
    let names = out.lines().rev().find(|l| l.contains("PATH ")).unwrap_or_default().to_string();
    for unexpected in ["CARGO", "RUST", "DATABASE_URL", "AWS_", "MYELIN_TEST"] {
        assert!(!names.contains(unexpected), "{unexpected} leaked into the job's environment: {names}");
    }
    for expected in ["HOME", "LANG", "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN", "MLFLOW_RUN_ID", "PATH"]
    {
        assert!(names.contains(expected), "{expected} missing from the job's environment: {names}");
    }
    assert!(!std::path::Path::new("/usr/myelin-was-here").exists());
    assert!(!run_dir.parent().unwrap().join("myelin-was-here").exists());
}

#[tokio::test]
async fn memory_and_file_size_limits_apply_to_local_jobs() {
    let app = TestApp::sqlite().await;
    if !app.state.executor.local().unwrap().sandbox().isolated() {
        return;
    }
    let ann = setup(&app).await;
    let job = |name: &str, limits: &str, script: &str| {
        format!(
            "kind: component\nname: {name}\nrun:\n  kind: job\n  container:\n    image: python:3.11\n    command: [python3, -c, {}]\n    resources: {{limits: {limits}}}\n",
            serde_json::to_string(script).unwrap()
        )
    };
    let hog = "x = bytearray(400 * 1024 * 1024); print('allocated', len(x))";
    let big = "open('big', 'wb').write(b'0' * 4 * 1024 * 1024); print('wrote')";
    let cases = [
        ("hog", "{memory: 128Mi}", hog, "failed"),
        ("hog-unlimited", "{cpu: 1}", hog, "succeeded"),
        ("writer", "{ephemeral-storage: 1Mi}", big, "failed"),
        ("writer-unlimited", "{cpu: 1}", big, "succeeded"),
    ];
    for (name, limits, script, expected) in cases {
        let r = submit(&app, &ann, &job(name, limits, script), json!({})).await;
        let id = r["uuid"].as_str().unwrap().to_string();
        let done = wait_for(&app, &ann, &id, &["succeeded", "failed"]).await;
        let out = logs(&app, &ann, &id).await;
        assert_eq!(done["status"], expected, "{name}: {out}");
        if limits.contains("cpu") {
            assert!(out.contains("resources.limits.cpu is not enforced by the local executor"), "{out}");
        }
    }
}

#[tokio::test]
async fn without_isolation_only_site_admins_run_local_jobs() {
    use backend::executor::sandbox::Sandbox;
    let app = TestApp::sqlite().await;
    app.state.executor.local().unwrap().set_sandbox(Sandbox::unisolated("bwrap is missing (test)", false));
    let ann = setup(&app).await;
    let file = "kind: component\nrun:\n  kind: job\n  container: {image: x, command: [true]}\n";
    let submit =
        || app.post("/api/v1/projects/ann/p/runs").bearer(&ann.token).json(json!({"content": file})).send();
    let r = submit().await;
    assert_eq!((r.status.as_u16(), r.error()), (403, "forbidden"), "{}", r.json);
    let msg = r.json["message"].as_str().unwrap_or_default();
    assert!(msg.contains("bwrap is missing (test)") && msg.contains("--unsafe-local-jobs"), "{msg}");
    let runs = app.get("/api/v1/projects/ann/p/runs").bearer(&ann.token).send().await;
    assert_eq!(runs.json["total"], 0, "nothing is stored");
    app.state.executor.local().unwrap().set_sandbox(Sandbox::unisolated("bwrap is missing (test)", true));
    let r = submit().await;
    assert_eq!(r.status, 201, "the operator's opt-out admits everyone: {}", r.json);
}

#[tokio::test]
async fn other_hosts_are_refused_and_every_answer_carries_security_headers() {
    let app = TestApp::sqlite().await;
    let ann = setup(&app).await;
    let own = app.url.trim_start_matches("http://").to_string();
    let ok = app.get("/api/v1/projects").bearer(&ann.token).header("host", &own).send().await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "DENY"),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    ] {
        assert_eq!(ok.headers.get(name).and_then(|v| v.to_str().ok()), Some(value), "{name}");
    }
    // A page of another site that rebinds its name to this address: its name is in `Host`.
    for host in ["evil.example", "evil.example:80", "127.0.0.1.nip.io", "localhost:1"] {
        let r = app.get("/api/v1/projects").bearer(&ann.token).header("host", host).send().await;
        assert_eq!((r.status.as_u16(), r.error()), (421, "host_not_allowed"), "{host}: {}", r.json);
        assert!(r.json["message"].as_str().unwrap().contains("--allowed-hosts"), "{}", r.json);
    }
    // A log-in from the page is refused before the limiter or the password check see it.
    let r = app
        .post("/api/v1/auth/login")
        .header("host", "evil.example")
        .header("origin", "http://evil.example")
        .json(json!({"username": "ann", "password": crate::helpers::PASSWORD}))
        .send()
        .await;
    assert_eq!(r.status, 421);
}

#[tokio::test]
async fn hostile_files_are_refused_quickly_with_the_limit_they_hit() {
    let app = TestApp::sqlite().await;
    let ann = setup(&app).await;
    let mut laughs = String::from("kind: component\nrun:\n  kind: job\n  container: {image: x, command: [true]}\na: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (i, c) in ('b'..='j').enumerate() {
        let p = (b'a' + i as u8) as char;
        laughs.push_str(&format!("{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"));
    }
    let deep = format!("kind: component\nrun: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    let matrix = "kind: operation\nmatrix: {kind: bayes, numInitialRuns: 4000000000, maxIterations: 1, metric: {name: l, optimization: minimize}, params: {a: {kind: uniform, value: [0, 1]}}}\ncomponent:\n  inputs: [{name: a, type: float}]\n  run: {kind: job, container: {image: x, command: [true]}}\n";
    let fuel = "kind: component\nrun:\n  kind: job\n  container: {image: x, command: [echo, \"{% for a in range(5000) %}{% for b in range(5000) %}x{% endfor %}{% endfor %}\"]}\n";
    let started = std::time::Instant::now();
    for (file, limit) in [
        (laughs.as_str(), "yaml_nodes"),
        (deep.as_str(), "yaml_depth"),
        (matrix, "matrix_runs"),
        (fuel, "template_fuel"),
    ] {
        let r = refused(&app, &ann, "p", file).await;
        let msg = r["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(limit), "{limit}: {r}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
    // Past the request body limit (1 MiB, as yaml_bytes): refused before it is read in full.
    let big = format!("kind: component\n# {}\n", "x".repeat(1200 * 1024));
    let r =
        app.post("/api/v1/projects/ann/p/runs").bearer(&ann.token).json(json!({"content": big})).send().await;
    assert_eq!((r.status.as_u16(), r.error()), (413, "payload_too_large"), "{}", r.json);
    let runs = app.get("/api/v1/projects/ann/p/runs").bearer(&ann.token).send().await;
    assert_eq!(runs.json["total"], 0, "nothing is stored");
}

#[tokio::test]
async fn huge_lines_and_binary_output_never_break_a_log() {
    let app = TestApp::sqlite().await;
    let ann = setup(&app).await;
    let script = r"head -c 1000000 /dev/zero | tr '\0' a; echo; printf '\377\376 binary\n'; head -c 30000 /dev/urandom; echo; echo after";
    let file = format!(
        "kind: component\nname: noisy\nrun:\n  kind: job\n  container:\n    image: busybox:1.36\n    command: [sh, -c, {}]\n",
        serde_json::to_string(script).unwrap()
    );
    let r = submit(&app, &ann, &file, json!({})).await;
    let id = r["uuid"].as_str().unwrap().to_string();
    let done = wait_for(&app, &ann, &id, &["succeeded", "failed"]).await;
    let out = logs(&app, &ann, &id).await;
    assert_eq!(done["status"], "succeeded", "{}", &out[..out.len().min(2000)]);
    assert!(out.contains("[line cut at 16384 bytes]"), "the huge line is cut with a note");
    assert!(out.contains("\u{fffd}\u{fffd} binary"), "binary bytes arrive as replacement characters");
    assert!(out.lines().any(|l| l.ends_with("stdout after")), "the log goes on after them");
    assert!(out.len() < 200_000, "no line is kept past the cap: {} bytes", out.len());
}

#[tokio::test]
async fn a_project_uses_only_the_connections_granted_to_it() {
    let mut app = TestApp::sqlite().await;
    let ann = setup(&app).await;
    let q = app.post("/api/v1/projects").bearer(&ann.token).json(json!({"name": "q"})).send().await;
    assert_eq!(q.status, 201);
    let catalog = json!({"connections": [
        {"name": "team-s3", "kind": "s3", "secret": {"name": "aws-creds"}, "projects": ["ann/p"]},
        {"name": "nobodys", "kind": "s3", "secret": {"name": "root-creds"}},
    ]});
    let catalog = spec::catalog::Catalog::from_value(&catalog).unwrap();
    app.state.connections = std::sync::Arc::new(catalog);
    app.router = backend::server::api_only(
        app.state.clone(),
        &backend::auth::session::Store::for_db(&app.db).await.unwrap(),
    );
    let with = |conn: &str| {
        format!("kind: component\nrun:\n  kind: job\n  connections: [{conn}]\n  container: {{image: busybox, command: [echo, hi]}}\n")
    };
    let ok = app
        .post("/api/v1/projects/ann/p/runs")
        .bearer(&ann.token)
        .json(json!({"content": with("team-s3")}))
        .send()
        .await;
    assert_eq!(ok.status, 201, "{}", ok.json);
    for (project, conn) in [("q", "team-s3"), ("p", "nobodys")] {
        let r = refused(&app, &ann, project, &with(conn)).await;
        let e = &r["errors"][0];
        assert!(
            e["message"].as_str().unwrap().contains("is not granted to this project"),
            "{project}/{conn}: {r}"
        );
        assert!(e["line"].as_u64().unwrap_or(0) >= 1, "located: {r}");
    }
}

#[tokio::test]
async fn pod_policy_violations_are_located_errors_at_submit() {
    let app = TestApp::sqlite().await;
    let ann = setup(&app).await;
    let file = "kind: component\nrun:\n  kind: job\n  environment:\n    hostNetwork: true\n  container:\n    image: busybox\n    command: [echo]\n    securityContext:\n      privileged: true\n";
    let r = refused(&app, &ann, "p", file).await;
    let errors = r["errors"].as_array().unwrap();
    let located: Vec<(String, u64, &str)> = errors
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["line"].as_u64().unwrap(),
                e["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(located.contains(&("run.environment.hostNetwork".into(), 5, "policy_violation")), "{located:?}");
    assert!(
        located.contains(&("run.container.securityContext.privileged".into(), 10, "policy_violation")),
        "{located:?}"
    );
    assert!(errors.iter().any(|e| e["message"].as_str().unwrap().contains("pod policy rule `privileged`")));
    let runs = app.get("/api/v1/projects/ann/p/runs").bearer(&ann.token).send().await;
    assert_eq!(runs.json["total"], 0, "nothing reaches the executor");
}

#[tokio::test]
async fn a_site_admin_can_loosen_or_tighten_one_projects_pod_policy_and_it_is_audited() {
    let app = TestApp::sqlite().await;
    let ann = setup(&app).await;
    let root = app.site_admin("root").await;
    let privileged = "kind: component\nrun:\n  kind: job\n  container:\n    image: busybox\n    command: [echo]\n    securityContext:\n      privileged: true\n";
    refused(&app, &ann, "p", privileged).await;

    let set = |who: &crate::helpers::TestUser, to: serde_json::Value| {
        app.call(axum::http::Method::PUT, "/api/v1/admin/projects/ann/p/pod-policy")
            .bearer(&who.token)
            .json(json!({"pod_policy": to}))
    };
    let r = set(&ann, json!("privileged")).send().await;
    assert_eq!(r.status, 403, "a project owner cannot loosen their own policy");
    let r = set(&root, json!("root-ish")).send().await;
    assert_eq!((r.status.as_u16(), r.error()), (400, "invalid_input"), "{}", r.json);
    let r = set(&root, json!("privileged")).send().await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        (r.json["pod_policy"].as_str(), r.json["effective_pod_policy"].as_str()),
        (Some("privileged"), Some("privileged"))
    );
    let ok = app
        .post("/api/v1/projects/ann/p/runs")
        .bearer(&ann.token)
        .json(json!({"content": privileged}))
        .send()
        .await;
    assert_eq!(ok.status, 201, "the project's looser policy admits it: {}", ok.json);

    // Tighter than the server: restricted refuses what baseline allows (running as root).
    let r = set(&root, json!("restricted")).send().await;
    assert_eq!(r.json["effective_pod_policy"], "restricted");
    let plain = "kind: component\nrun:\n  kind: job\n  container:\n    image: busybox\n    command: [echo]\n";
    let r = refused(&app, &ann, "p", plain).await;
    assert!(r["errors"].as_array().unwrap().iter().any(|e| e["code"] == "policy_violation"), "{r}");

    let r = set(&root, serde_json::Value::Null).send().await;
    assert_eq!(
        (r.json["pod_policy"].clone(), r.json["effective_pod_policy"].as_str()),
        (serde_json::Value::Null, Some("baseline"))
    );
    refused(&app, &ann, "p", privileged).await;
    let audit = app.get("/api/v1/admin/audit?action=project.pod_policy").bearer(&root.token).send().await;
    let events = audit.json.as_array().unwrap();
    assert_eq!(events.len(), 3, "{}", audit.json);
    assert!(events.iter().all(|e| e["actor"] == "root" && e["target"] == "ann/p"), "{}", audit.json);
}
