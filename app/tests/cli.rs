//! The `myelin` binary end to end: operator set-up against the data dir, then the client commands against a
//! running `myelin serve`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn myelin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_myelin"));
    c.env_remove("MYELIN_TOKEN").env_remove("MYELIN_URL").env_remove("DATABASE_URL");
    c
}

fn run(mut c: Command, stdin: Option<&str>) -> Output {
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn myelin");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = myelin()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--site-root", "/nonexistent"])
        .arg("--data-dir")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Owned (and so killed and waited for) from here on, even if it never comes up.
    let server = Server { child, url: format!("http://127.0.0.1:{port}") };
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("myelin serve did not start");
}

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("myelin-cli-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

#[test]
fn operator_setup_then_client_commands_against_a_running_server() {
    let data = temp_dir();
    let mut create = myelin();
    create
        .args(["admin", "create-user", "--username", "ops", "--password-stdin", "--admin", "--data-dir"])
        .arg(&data);
    let out = run(create, Some("operator password\n"));
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(text(&out).0.trim(), "created user ops (site admin)");

    let mut again = myelin();
    again.args(["admin", "create-user", "--username", "ops", "--password-stdin", "--data-dir"]).arg(&data);
    let dup = run(again, Some("operator password\n"));
    assert_eq!(dup.status.code(), Some(1));
    assert!(text(&dup).1.contains("taken"), "{:?}", text(&dup));

    let mut token = myelin();
    token.args(["admin", "create-token", "--username", "ops", "--data-dir"]).arg(&data);
    let out = run(token, None);
    let token = text(&out).0.trim().to_string();
    assert!(token.starts_with("myelin_"), "{:?}", text(&out));

    let server = serve(&data);
    let client = |args: &[&str]| {
        let mut c = myelin();
        c.args(args)
            .env("MYELIN_URL", &server.url)
            .env("MYELIN_TOKEN", &token)
            .env("MYELIN_CONFIG", data.join("none.toml"));
        run(c, None)
    };
    let out = client(&["project", "create", "demo", "--description", "first", "-o", "json"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let p: serde_json::Value = serde_json::from_str(&text(&out).0).unwrap();
    assert_eq!(
        (p["owner"].as_str(), p["name"].as_str(), p["role"].as_str()),
        (Some("ops"), Some("demo"), Some("owner"))
    );

    let out = client(&["project", "ls", "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&text(&out).0).unwrap();
    assert_eq!(
        list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect::<Vec<_>>(),
        ["demo"]
    );
    let table = client(&["project", "ls"]);
    assert!(text(&table).0.contains("ops/demo"), "{:?}", text(&table));

    let bad = client(&["project", "create", "Bad Name"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).1.contains("project name"), "{:?}", text(&bad));

    // `myelin login` creates a token from username + password and saves it (owner-only file).
    let config = data.join("cli.toml");
    let mut login = myelin();
    login
        .args(["login", "--url", &server.url, "--username", "ops", "--password-stdin"])
        .env("MYELIN_CONFIG", &config);
    let out = run(login, Some("operator password\n"));
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(text(&out).0.contains("logged in"), "{:?}", text(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&config).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let mut ls = myelin();
    ls.args(["project", "ls", "-o", "json"]).env("MYELIN_CONFIG", &config);
    let out = run(ls, None);
    assert!(text(&out).0.contains("\"demo\""), "{:?}", text(&out));

    let mut wrong = myelin();
    wrong
        .args(["login", "--url", &server.url, "--username", "ops", "--password-stdin"])
        .env("MYELIN_CONFIG", data.join("x.toml"));
    let out = run(wrong, Some("not the password\n"));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("invalid username or password"), "{:?}", text(&out));

    let mut anonymous = myelin();
    anonymous.args(["project", "ls"]).env("MYELIN_CONFIG", data.join("missing.toml"));
    let out = run(anonymous, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("not logged in"), "{:?}", text(&out));
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}

#[test]
fn the_data_dir_and_database_are_the_server_users_alone() {
    use std::os::unix::fs::PermissionsExt;
    let data = temp_dir().join("fresh");
    let server = serve(&data);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "the data dir");
    assert_eq!(mode(&data.join("myelin.db")), 0o600, "the database");
    drop(server);
    std::fs::remove_dir_all(data.parent().unwrap()).ok();
}

fn setup_server() -> (PathBuf, String, Server) {
    let data = temp_dir();
    let mut create = myelin();
    create.args(["admin", "create-user", "--username", "ops", "--password-stdin", "--data-dir"]).arg(&data);
    assert!(run(create, Some("operator password\n")).status.success());
    let mut token = myelin();
    token.args(["admin", "create-token", "--username", "ops", "--data-dir"]).arg(&data);
    let token = text(&run(token, None)).0.trim().to_string();
    let server = serve(&data);
    (data, token, server)
}

fn client(server: &Server, token: &str, args: &[&str]) -> Output {
    let mut c = myelin();
    c.args(args)
        .env("MYELIN_URL", &server.url)
        .env("MYELIN_TOKEN", token)
        .env("MYELIN_CONFIG", "/nonexistent/none.toml");
    run(c, None)
}

#[test]
fn runs_from_the_cli_are_watched_listed_and_inspected() {
    let (data, token, server) = setup_server();
    assert!(client(&server, &token, &["project", "create", "demo"]).status.success());
    let file = data.join("job.yaml");
    std::fs::write(
        &file,
        "kind: component\nname: hello\ninputs:\n- {name: who, type: str}\nrun:\n  kind: job\n  container:\n    image: busybox:1.36\n    command: [sh, -c, 'echo hello {{ who }}']\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = client(&server, &token, &["run", "-f", f, "-p", "demo", "-P", "who=world", "--watch"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let uuid = stdout.lines().next().unwrap().trim().to_string();
    assert_eq!(uuid.len(), 36, "{stdout}");
    assert!(stdout.contains("stdout hello world"), "{stdout}");
    assert!(stderr.contains("succeeded"), "{stderr}");

    let ls = client(&server, &token, &["ops", "ls", "-p", "demo", "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&text(&ls).0).unwrap();
    assert_eq!(list[0]["uuid"], uuid.as_str());
    let get = client(&server, &token, &["ops", "get", &uuid, "-p", "ops/demo", "-o", "json"]);
    let r: serde_json::Value = serde_json::from_str(&text(&get).0).unwrap();
    for key in [
        "uuid", "name", "status", "kind", "params", "outputs", "timeline", "pipeline", "original", "metrics",
        "tags",
    ] {
        assert!(r.get(key).is_some(), "ops get -o json lacks {key}: {r}");
    }
    assert_eq!((r["status"].as_str(), r["params"]["who"].as_str()), (Some("succeeded"), Some("world")));
    // The submitted params are the run's tracking params too (searchable as `params.who`).
    assert_eq!(r["logged_params"]["who"], "world");
    assert!(text(&client(&server, &token, &["ops", "logs", &uuid, "-p", "demo"]))
        .0
        .contains("stdout hello world"));

    // Two runs side by side: only what differs, unless --all.
    let other = client(&server, &token, &["run", "-f", f, "-p", "demo", "-P", "who=moon", "--watch"]);
    let moon = text(&other).0.lines().next().unwrap().trim().to_string();
    let table = text(&client(&server, &token, &["ops", "compare", &uuid, &moon, "-p", "demo"])).0;
    assert!(table.contains("params.who") && table.contains("world") && table.contains("moon"), "{table}");
    assert!(!table.contains("status "), "equal rows are hidden: {table}");
    assert!(text(&client(&server, &token, &["ops", "compare", &uuid, &moon, "-p", "demo", "--all"]))
        .0
        .contains("status"));
    let json =
        text(&client(&server, &token, &["ops", "compare", &uuid, &moon, "-p", "demo", "-o", "json"])).0;
    let c: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(c["runs"][1]["uuid"], moon.as_str());
    let bad = client(&server, &token, &["ops", "compare", "nope", "-p", "demo"]);
    assert!(!bad.status.success() && text(&bad).1.contains("not a run uuid"), "{:?}", text(&bad));

    std::fs::write(&file, "kind: component\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: [sh, -c, 'exit 7']}\n").unwrap();
    let failed = client(&server, &token, &["run", "-f", f, "-p", "demo", "--watch"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(text(&failed).1.contains("failed: exit code 7"), "{:?}", text(&failed));

    std::fs::write(&file, "kind: component\nrun:\n  kind: job\n  contianer: {image: x}\n").unwrap();
    let invalid = client(&server, &token, &["run", "-f", f, "-p", "demo"]);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(text(&invalid).1.contains("4:3: unexpected key `contianer`"), "{:?}", text(&invalid));

    // The cluster view of a local-executor server: no nodes, nothing waiting.
    let cluster = text(&client(&server, &token, &["cluster"])).0;
    assert!(cluster.starts_with("executor: local (no nodes"), "{cluster}");
    assert!(cluster.contains("queue: 0 waiting"), "{cluster}");
    let page: serde_json::Value =
        serde_json::from_str(&text(&client(&server, &token, &["cluster", "-o", "json"])).0).unwrap();
    assert_eq!((page["executor"].as_str(), page["nodes"].as_array().map(Vec::len)), (Some("local"), Some(0)));
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}

#[test]
fn a_server_restart_mid_run_fails_the_run_and_ends_its_process() {
    let (data, token, mut server) = setup_server();
    assert!(client(&server, &token, &["project", "create", "demo"]).status.success());
    let file = data.join("sleep.yaml");
    std::fs::write(&file, "kind: component\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: [sh, -c, 'echo started; sleep 60']}\n").unwrap();
    let out = client(&server, &token, &["run", "-f", file.to_str().unwrap(), "-p", "demo"]);
    let uuid = text(&out).0.trim().to_string();
    let get = |server: &Server| -> serde_json::Value {
        serde_json::from_str(
            &text(&client(server, &token, &["ops", "get", &uuid, "-p", "demo", "-o", "json"])).0,
        )
        .unwrap()
    };
    // Running, and its first line written (the process may start a moment before it prints).
    let logs = |server: &Server| text(&client(server, &token, &["ops", "logs", &uuid, "-p", "demo"])).0;
    let mut running = false;
    for _ in 0..100 {
        if get(&server)["status"] == "running" && logs(&server).contains("stdout started") {
            running = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(running, "the run never started: {} {}", get(&server), logs(&server));
    // The server dies without a chance to clean up.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = serve(&data);
    let r = get(&server);
    assert_eq!(
        (r["status"].as_str(), r["status_message"].as_str()),
        (Some("failed"), Some("server restarted while the run was running"))
    );
    let kept = logs(&server);
    assert!(kept.contains("stdout started"), "logs written before the restart are kept: {kept}");
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}

#[test]
fn a_pipeline_from_the_cli_is_watched_and_its_ops_listed_in_order() {
    let (data, token, server) = setup_server();
    assert!(client(&server, &token, &["project", "create", "demo"]).status.success());
    let file = data.join("dag.yaml");
    std::fs::write(
        &file,
        "kind: component\nname: flow\nrun:\n  kind: dag\n  operations:\n  - {name: second, dependencies: [first], component: {run: {kind: job, container: {image: 'busybox:1.36', command: [echo, two]}}}}\n  - {name: first, component: {run: {kind: job, container: {image: 'busybox:1.36', command: [echo, one]}}}}\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    for round in 0..2 {
        let out = client(&server, &token, &["run", "-f", f, "-p", "demo", "--watch"]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(stderr.contains("succeeded"), "{stderr}");
        let pipeline = stdout.lines().next().unwrap().trim().to_string();
        let ls = client(&server, &token, &["ops", "ls", "-p", "demo", "--pipeline", &pipeline, "-o", "json"]);
        let ops: serde_json::Value = serde_json::from_str(&text(&ls).0).unwrap();
        let names: Vec<&str> = ops.as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["first", "second"], "in pipeline (topological) order");
        let second = ops[1]["uuid"].as_str().unwrap();
        let get = client(&server, &token, &["ops", "get", second, "-p", "demo", "-o", "json"]);
        let r: serde_json::Value = serde_json::from_str(&text(&get).0).unwrap();
        assert_eq!(r["pipeline"], pipeline.as_str());
        assert_eq!(r["cache"]["enabled"], true, "caching is on inside pipelines");
        assert_eq!(r["cache"]["hit"], round == 1, "{r}");
        let table = text(&client(&server, &token, &["ops", "get", second, "-p", "demo"])).0;
        assert!(table.contains(&format!("pipeline: {pipeline} (op second)")), "{table}");
        let expected = if round == 0 { "cache: miss" } else { "cache: hit" };
        assert!(table.contains(expected), "{table}");
    }
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}

#[test]
fn version_names_the_commit_and_completions_cover_every_command() {
    let (out, _) = text(&run(myelin_with(&["--version"]), None));
    // `myelin 0.1.0 (commit 1a2b3c4d5e6f)`, or `unknown` outside a git checkout.
    let commit = out
        .trim()
        .strip_prefix(concat!("myelin ", env!("CARGO_PKG_VERSION"), " (commit "))
        .and_then(|r| r.strip_suffix(')'));
    let commit = commit.unwrap_or_else(|| panic!("version line: {out:?}"));
    assert!(
        commit == "unknown" || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit:?}"
    );
    for shell in ["bash", "zsh", "fish"] {
        let o = run(myelin_with(&["completions", shell]), None);
        let (script, err) = text(&o);
        assert!(o.status.success(), "{shell}: {err}");
        for cmd in ["serve", "login", "run", "ops", "lint", "completions"] {
            assert!(script.contains(cmd), "{shell} completion lacks {cmd}");
        }
    }
    let bad = run(myelin_with(&["completions", "tcsh"]), None);
    assert!(!bad.status.success());
}

fn myelin_with(args: &[&str]) -> Command {
    let mut c = myelin();
    c.args(args);
    c
}

/// One HTTP/1.1 request with a bearer token and a JSON body (the test needs no HTTP client crate).
fn http(url: &str, method: &str, path: &str, token: &str, body: &serde_json::Value) -> serde_json::Value {
    use std::io::Read;
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let body = body.to_string();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, rest) = out.split_once("\r\n\r\n").unwrap();
    // A chunked body: the JSON is between the first chunk's size line and its end.
    let json = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        rest.split_once("\r\n").map(|(_, b)| b.rsplit_once("\r\n0\r\n").map_or(b, |(j, _)| j)).unwrap_or("")
    } else {
        rest
    };
    serde_json::from_str(json.trim()).unwrap_or(serde_json::Value::Null)
}

#[test]
fn a_model_is_promoted_and_reviewed_from_the_cli() {
    let (data, token, server) = setup_server();
    let mut create = myelin();
    create.args(["admin", "create-user", "--username", "rev", "--password-stdin", "--data-dir"]).arg(&data);
    assert!(run(create, Some("reviewer password\n")).status.success());
    let mut t = myelin();
    t.args(["admin", "create-token", "--username", "rev", "--data-dir"]).arg(&data);
    let rev = text(&run(t, None)).0.trim().to_string();
    assert!(client(&server, &token, &["project", "create", "demo"]).status.success());
    let url = &server.url;
    let added = http(
        url,
        "POST",
        "/api/v1/projects/ops/demo/members",
        &token,
        &serde_json::json!({"username": "rev", "role": "admin"}),
    );
    assert_eq!(added["role"], "admin", "{added}");
    // A run and a registered version through MLflow's API, as the mlflow client makes them.
    let exp = http(
        url,
        "GET",
        "/api/2.0/mlflow/experiments/get-by-name?experiment_name=ops/demo",
        &token,
        &serde_json::json!({}),
    );
    let exp = exp["experiment"]["experiment_id"].as_str().unwrap().to_string();
    let r =
        http(url, "POST", "/api/2.0/mlflow/runs/create", &token, &serde_json::json!({"experiment_id": exp}));
    let run_id = r["run"]["info"]["run_id"].as_str().unwrap().to_string();
    let m = serde_json::json!({"run_id": run_id, "metrics": [{"key": "accuracy", "value": 0.93, "timestamp": 1, "step": 0}]});
    http(url, "POST", "/api/2.0/mlflow/runs/log-batch", &token, &m);
    http(
        url,
        "POST",
        "/api/2.0/mlflow/registered-models/create",
        &token,
        &serde_json::json!({"name": "clf"}),
    );
    let v = serde_json::json!({"name": "clf", "source": format!("runs:/{run_id}/model"), "run_id": run_id});
    assert_eq!(
        http(url, "POST", "/api/2.0/mlflow/model-versions/create", &token, &v)["model_version"]["version"],
        "1"
    );

    let ls = text(&client(&server, &token, &["models", "ls", "-p", "demo"])).0;
    assert!(ls.contains("clf") && ls.contains("v1"), "{ls}");
    let versions = text(&client(&server, &token, &["models", "versions", "clf", "-p", "demo"])).0;
    assert!(versions.contains("accuracy=0.9300"), "{versions}");
    let out = client(
        &server,
        &token,
        &[
            "models",
            "promote",
            "clf",
            "1",
            "--alias",
            "production",
            "--reason",
            "best so far",
            "-p",
            "demo",
            "-o",
            "json",
        ],
    );
    let req: serde_json::Value =
        serde_json::from_str(&text(&out).0).unwrap_or_else(|_| panic!("{:?}", text(&out)));
    let id = req["id"].as_str().unwrap().to_string();
    let own = client(&server, &token, &["reviews", "approve", &id]);
    assert!(!own.status.success() && text(&own).1.contains("your own request"), "{:?}", text(&own));
    let inbox = text(&client(&server, &rev, &["reviews", "ls"])).0;
    assert!(inbox.contains(&id) && inbox.contains("clf v1 -> production"), "{inbox}");
    let c = text(&client(&server, &rev, &["reviews", "comment", &id, "accuracy holds up"])).0;
    assert!(c.contains("rev comment: accuracy holds up"), "{c}");
    let done = client(&server, &rev, &["reviews", "approve", &id, "-o", "json"]);
    let d: serde_json::Value =
        serde_json::from_str(&text(&done).0).unwrap_or_else(|_| panic!("{:?}", text(&done)));
    assert_eq!(d["request"]["state"], "approved");
    let get = text(&client(&server, &token, &["models", "get", "clf", "-p", "demo"])).0;
    assert!(get.contains("production*=v1"), "{get}");

    // The project's policy and the model's reviewers, read and set; the audit trail shows what happened.
    let p = text(&client(&server, &token, &["models", "policy", "-p", "demo"])).0;
    assert!(p.contains("protected aliases: production, champion; a request needs 1 approval(s)"), "{p}");
    let p = client(
        &server,
        &token,
        &["models", "policy", "--protect", "production,staging", "--approvals", "2", "-p", "demo"],
    );
    assert!(
        text(&p).0.contains("protected aliases: production, staging; a request needs 2 approval(s)"),
        "{:?}",
        text(&p)
    );
    let bad = client(&server, &token, &["models", "policy", "--approvals", "11", "-p", "demo"]);
    assert!(!bad.status.success() && text(&bad).1.contains("1 to 10 approvals"), "{:?}", text(&bad));
    let r = text(&client(&server, &token, &["models", "reviewers", "clf", "--set", "rev", "-p", "demo"])).0;
    assert!(r.contains("admins and owner, and rev"), "{r}");
    let nobody = client(&server, &token, &["models", "reviewers", "clf", "--set", "ghost", "-p", "demo"]);
    assert!(
        !nobody.status.success() && text(&nobody).1.contains("ghost is not a member"),
        "{:?}",
        text(&nobody)
    );
    let r = text(&client(&server, &rev, &["models", "reviewers", "clf", "-p", "ops/demo", "-o", "json"])).0;
    assert_eq!(serde_json::from_str::<serde_json::Value>(&r).unwrap(), serde_json::json!(["rev"]));
    let a = text(&client(&server, &rev, &["models", "audit", "-p", "ops/demo"])).0;
    assert!(
        a.contains("hash chain: intact") && a.contains("alias.set") && a.contains("request.approve"),
        "{a}"
    );
    let page = text(&client(&server, &rev, &["models", "audit", "--limit", "1", "-p", "ops/demo"])).0;
    assert!(page.contains("older entries: --before"), "{page}");
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}

#[test]
fn a_run_held_for_approval_is_approved_from_the_cli() {
    let (data, token, server) = setup_server();
    assert!(client(&server, &token, &["project", "create", "demo"]).status.success());
    let file = data.join("held.yaml");
    std::fs::write(
        &file,
        "kind: component\nisApproved: false\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: [echo, hi]}\n",
    )
    .unwrap();
    let out = client(&server, &token, &["run", "-f", file.to_str().unwrap(), "-p", "demo"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let uuid = text(&out).0.lines().next().unwrap().trim().to_string();
    let ok = client(&server, &token, &["ops", "approve", &uuid, "-p", "demo"]);
    // Approved, it is queued, and the scheduler may already have taken it on by the time the CLI prints it.
    let said = text(&ok).0;
    let moved_on = ["queued", "scheduled", "starting", "running", "succeeded"]
        .iter()
        .any(|s| said.contains(&format!("{s} (approved by ops)")));
    assert!(ok.status.success() && moved_on, "{:?}", text(&ok));
    let again = client(&server, &token, &["ops", "approve", &uuid, "-p", "demo"]);
    assert!(
        !again.status.success() && text(&again).1.contains("waits for no approval"),
        "{:?}",
        text(&again)
    );
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}
