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
