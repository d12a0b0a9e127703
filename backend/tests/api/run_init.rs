//! `myelin init`, as an init container of a run's pod runs it on Kubernetes: with the run's own token it copies
//! artifacts through the server (`/api/v1/init/files`, `/api/v1/init/file`), writes files and clones git
//! repositories into the pod's artifacts context or a step's own path; nothing else than the run's project is
//! reachable, and a user's token is refused.

use axum::http::Method;
use backend::cli::client::Client;
use backend::cli::init::{step, InitArgs};
use serde_json::json;

use crate::both_dbs;
use crate::helpers::{temp_dir, TestApp};
use crate::tracking::ann_with_a_run;

both_dbs!(
    init_steps_read_through_the_server_with_the_run_token,
    a_users_token_and_other_projects_are_refused
);

async fn put(app: &TestApp, token: &str, run: &str, path: &str, body: &[u8]) {
    let r = app
        .call(Method::PUT, &format!("/api/v1/projects/ann/p/runs/{run}/artifacts/{path}"))
        .bearer(token)
        .raw("application/octet-stream", body.to_vec())
        .send()
        .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.json);
}

fn args(kind: &str, step: serde_json::Value, root: &std::path::Path) -> InitArgs {
    InitArgs { kind: kind.into(), step: step.to_string(), root: root.to_path_buf() }
}

async fn init_steps_read_through_the_server_with_the_run_token(app: TestApp) {
    let (ann, producer) = ann_with_a_run(&app).await;
    put(&app, &ann.token, &producer, "artifacts/data/train.csv", b"x,y\n1,2\n").await;
    put(&app, &ann.token, &producer, "artifacts/data/sub/val.csv", b"x,y\n3,4\n").await;
    put(&app, &ann.token, &producer, "artifacts/model.txt", b"weights").await;
    let (consumer, _) = crate::tracking::queued_run(&app, &ann).await;
    let token = backend::store::tokens::issue(&app.db, consumer.parse().unwrap()).await.unwrap();
    let server = Client::new(&app.url, &token);
    let pod = temp_dir("myelin-init-");
    let root = pod.path().join("plx-context/artifacts");

    // A file and a folder of another run of the project, by its uuid as `{{ ops.x.outputs.y }}` names them.
    let simple = producer.replace('-', "");
    let a =
        json!({"artifacts": {"files": [format!("{simple}/model.txt")], "dirs": [format!("{simple}/data")]}});
    let lines = step(&server, &args("artifacts", a, &root)).await.unwrap();
    assert_eq!(lines, ["init artifacts: copied 3 file(s) from the project's artifact store"]);
    let read = |p: &str| std::fs::read(root.join(p)).unwrap();
    assert_eq!(read(&format!("{simple}/model.txt")), b"weights");
    assert_eq!(read(&format!("{simple}/data/train.csv")), b"x,y\n1,2\n");
    assert_eq!(read(&format!("{simple}/data/sub/val.csv")), b"x,y\n3,4\n");

    // A step's own absolute path (the pod mounts a volume there) and a file step's mode.
    let own = pod.path().join("code");
    let f = json!({"file": {"filename": "run.sh", "content": "echo hi", "chmod": "0755"}, "path": own});
    step(&server, &args("file", f, &root)).await.unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(own.join("run.sh")).unwrap().permissions().mode();
    assert_eq!(
        (std::fs::read_to_string(own.join("run.sh")).unwrap(), mode & 0o777),
        ("echo hi".into(), 0o755)
    );

    // A git repository, cloned at the revision asked for into `<path>/<repository>`.
    let (repo, head) = crate::runs::git_repo("code\n");
    let g = json!({"git": {"url": format!("file://{}", repo.display())}});
    let lines = step(&server, &args("git", g, &root)).await.unwrap();
    assert!(lines[0].contains(&head), "{lines:?}");
    let name = repo.file_name().unwrap().to_str().unwrap().trim_end_matches(".git").to_string();
    assert!(root.join(&name).join(".git").exists(), "no clone at {}", root.join(&name).display());
    std::fs::remove_dir_all(&repo).ok();

    // Nothing there is an error that names the path; a path out of the project is refused.
    let missing = json!({"artifacts": {"files": [format!("{simple}/nope.bin")]}});
    let e = step(&server, &args("artifacts", missing, &root)).await.unwrap_err();
    assert!(e.contains("nope.bin"), "{e}");
    let out = json!({"artifacts": {"files": ["../other/secret.txt"]}});
    assert!(step(&server, &args("artifacts", out, &root)).await.is_err());
}

async fn a_users_token_and_other_projects_are_refused(app: TestApp) {
    let (ann, run) = ann_with_a_run(&app).await;
    put(&app, &ann.token, &run, "artifacts/model.txt", b"weights").await;
    let simple = run.replace('-', "");
    let files = format!("/api/v1/init/files?path={simple}/model.txt");
    let file = format!("/api/v1/init/file?path={run}/artifacts/model.txt");
    for path in [&files, &file] {
        // These are for a run's own init steps: a user's token (even the project's owner's) is refused.
        assert_eq!(app.get(path).bearer(&ann.token).send().await.status, 403, "{path}");
        assert_eq!(app.get(path).send().await.status, 401, "{path}");
    }
    let token = backend::store::tokens::issue(&app.db, run.parse().unwrap()).await.unwrap();
    let listed = app.get(&files).bearer(&token).send().await;
    assert_eq!(listed.status, 200, "{}", listed.json);
    let from = listed.json["files"][0]["from"].as_str().unwrap().to_string();
    assert_eq!(from, format!("{run}/artifacts/model.txt"));
    let got = app.get(&format!("/api/v1/init/file?path={from}")).bearer(&token).send().await;
    assert_eq!((got.status.as_u16(), got.body.as_slice()), (200, &b"weights"[..]));
    let up = app.get("/api/v1/init/file?path=../x").bearer(&token).send().await;
    assert_eq!(up.status, 400, "{}", up.json);

    // Another project's run token reads its own project only: the same path is not found there.
    let bob = app.user("bob").await;
    let r = app.post("/api/v1/projects").bearer(&bob.token).json(json!({"name": "q"})).send().await;
    assert_eq!(r.status, 201, "{}", r.json);
    let content = "kind: component\nrun:\n  kind: job\n  container: {image: busybox, command: [true]}\n";
    let sub =
        app.post("/api/v1/projects/bob/q/runs").bearer(&bob.token).json(json!({"content": content})).send();
    let other = sub.await.json["uuid"].as_str().unwrap().to_string();
    let theirs = backend::store::tokens::issue(&app.db, other.parse().unwrap()).await.unwrap();
    assert_eq!(app.get(&files).bearer(&theirs).send().await.status, 400, "found in another project");
    assert_eq!(app.get(&format!("/api/v1/init/file?path={from}")).bearer(&theirs).send().await.status, 404);
}
