//! Uploads in parts (resumable, never partly visible) through the REST API on both databases and on the
//! S3-compatible store; `myelin artifacts upload|download` against a served app, including an interrupted upload
//! that resumes; and reachability errors that name the fix.

use std::path::Path;

use axum::http::Method;
use backend::cli::artifacts::{download, fingerprint, upload, upload_file, Target};
use backend::cli::client::Client;
use serde_json::json;
use sha2::Digest;

use crate::both_dbs;
use crate::helpers::{TestApp, TestUser};
use crate::tracking::{project, queued_run};

fn base(run: &str) -> String {
    format!("/api/v1/projects/ann/p/runs/{run}")
}

/// Bytes that differ from part to part (a part sent in the wrong place changes the digest).
fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

async fn part(app: &TestApp, u: &TestUser, session: &str, n: u32, body: &[u8]) -> crate::helpers::Resp {
    app.call(Method::PUT, &format!("{session}/parts/{n}"))
        .bearer(&u.token)
        .raw("application/octet-stream", body.to_vec())
        .send()
        .await
}

/// Waits until the database holds `parts` parts of the session (a part is written down once the store confirms
/// it): what a restarted server resumes from.
async fn landed(app: &TestApp, session: &str, parts: i32) {
    use sea_orm::EntityTrait;
    let id: uuid::Uuid = session.rsplit('/').next().unwrap().parse().unwrap();
    for _ in 0..1000 {
        let row = backend::entities::upload_session::Entity::find_by_id(id).one(&app.db).await.unwrap();
        if row.is_some_and(|r| r.next_part >= parts) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{session}: part {parts} never landed");
}

async fn in_parts_resumable_and_never_partly_visible(app: TestApp) {
    app.state.uploads.set_part_size(1024);
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let (run, _) = queued_run(&app, &ann).await;
    let body = data(5000);
    let new = json!({"path": "artifacts/big.bin", "size": 5000, "fingerprint": "f1"});
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(new.clone()).send().await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["part_size"], 1024);
    assert_eq!(r.json["next_part"], 0);
    let session = format!("{}/uploads/{}", base(&run), r.json["id"].as_str().unwrap());

    // Only the next part, whole: anything else changes nothing.
    let r = part(&app, &ann, &session, 1, &body[1024..2048]).await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert!(r.message().contains("expects part 0"), "{}", r.json);
    let r = part(&app, &ann, &session, 0, &body[..1000]).await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(r.message().contains("must have 1024 bytes"), "{}", r.json);
    let r = part(&app, &ann, &session, 0, &body[..1024]).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["received"], 1024);
    // A retry of a part the server has (its answer was lost) is acknowledged, not added twice.
    let r = part(&app, &ann, &session, 0, &body[..1024]).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!((&r.json["received"], &r.json["next_part"]), (&json!(1024), &json!(1)));
    let r = app.post(&format!("{session}/complete")).bearer(&ann.token).send().await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert!(r.message().contains("1024 of 5000"), "{}", r.json);

    // Nothing at the path until it is complete.
    let file = format!("{}/artifacts/artifacts/big.bin", base(&run));
    assert_eq!(app.get(&file).bearer(&ann.token).send().await.status, 404);
    let listed = app.get("/api/v1/projects/ann/p/artifacts").bearer(&ann.token).send().await;
    assert_eq!(listed.json["items"].as_array().map(Vec::len), Some(0), "{}", listed.json);

    // The server restarts: the same file again resumes from what the store confirmed, with its digest so far;
    // another file (fingerprint) starts afresh.
    landed(&app, &session, 1).await;
    app.state.uploads.forget();
    assert_eq!(app.get(&session).bearer(&ann.token).send().await.json["received"], 1024);
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(new.clone()).send().await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["received"], 1024);
    assert!(session.ends_with(r.json["id"].as_str().unwrap()));
    let other = json!({"path": "artifacts/big.bin", "size": 5000, "fingerprint": "f2"});
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(other).send().await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["received"], 0);
    let cancelled = format!("{}/uploads/{}", base(&run), r.json["id"].as_str().unwrap());

    // Only its author sees an upload; a viewer may not start one.
    let bob = app.user("bob").await;
    assert_eq!(app.get(&session).bearer(&bob.token).send().await.status, 404);
    let vic = app.user("vic").await;
    let r = app
        .post("/api/v1/projects/ann/p/members")
        .bearer(&ann.token)
        .json(json!({"username": "vic", "role": "viewer"}))
        .send()
        .await;
    assert!(r.status.is_success(), "{}", r.json);
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&vic.token).json(new.clone()).send().await;
    assert_eq!(r.status, 403, "{}", r.json);
    assert_eq!(part(&app, &vic, &session, 1, &body[1024..2048]).await.status, 403);

    // The rest, then complete: the digest of the whole, once; a repeated complete answers the same.
    for n in 1..5u32 {
        let at = n as usize * 1024;
        let r = part(&app, &ann, &session, n, &body[at..(at + 1024).min(5000)]).await;
        assert_eq!(r.status, 200, "part {n}: {}", r.json);
    }
    let done = app.post(&format!("{session}/complete")).bearer(&ann.token).send().await;
    assert_eq!(done.status, 201, "{}", done.json);
    assert_eq!(done.json["sha256"], hex::encode(sha2::Sha256::digest(&body)));
    assert_eq!(done.json["size"], 5000);
    let again = app.post(&format!("{session}/complete")).bearer(&ann.token).send().await;
    assert_eq!(again.status, 201);
    assert_eq!(again.json, done.json);
    let got = app.get(&file).bearer(&ann.token).send().await;
    assert_eq!(got.status, 200);
    assert!(got.body == body, "the stored file differs");
    let listed = app.get("/api/v1/projects/ann/p/artifacts").bearer(&ann.token).send().await;
    assert_eq!(listed.json["items"][0]["path"], "artifacts/big.bin", "{}", listed.json);
    let usage = {
        use backend::entities::project;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        project::Entity::find().filter(project::Column::Name.eq("p")).one(&app.db).await.unwrap().unwrap()
    };
    assert_eq!(usage.artifact_bytes, 5000, "counted against the quota");

    // Cancelled: its parts go, nothing appears, it is no longer there.
    assert_eq!(part(&app, &ann, &cancelled, 0, &body[..1024]).await.status, 200);
    let r = app.call(Method::DELETE, &cancelled).bearer(&ann.token).send().await;
    assert_eq!(r.status, 204, "{}", r.json);
    assert_eq!(app.get(&cancelled).bearer(&ann.token).send().await.status, 404);
    assert_eq!(part(&app, &ann, &cancelled, 1, &body[1024..2048]).await.status, 404);

    // Past the quota: refused before any byte is sent, in words that name the setting.
    app.state.artifacts.set_quota(backend::artifacts::Quota { bytes: 6000, files: 100 });
    let big = json!({"path": "artifacts/huge.bin", "size": 1001, "fingerprint": "f3"});
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(big).send().await;
    assert_eq!(r.status, 422, "{}", r.json);
    assert!(r.message().contains("--artifact-quota-bytes"), "{}", r.json);
    // A session idle for a day is aborted: its parts go, and it is no longer there.
    app.state.artifacts.set_quota(backend::artifacts::Quota { bytes: 1 << 30, files: 100 });
    let idle = json!({"path": "artifacts/idle.bin", "size": 5000, "fingerprint": "f4"});
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(idle).send().await;
    assert_eq!(r.status, 201, "{}", r.json);
    let idle = format!("{}/uploads/{}", base(&run), r.json["id"].as_str().unwrap());
    assert_eq!(part(&app, &ann, &idle, 0, &body[..1024]).await.status, 200);
    landed(&app, &idle, 1).await;
    let staging = app.state.artifacts.location.strip_prefix("file://").map(|d| Path::new(d).join(".uploads"));
    let staged = || staging.as_ref().map_or(0, |d| std::fs::read_dir(d).map_or(0, |e| e.count()));
    assert_eq!(staged(), 1, "its parts are staged");
    {
        use backend::entities::upload_session;
        use sea_orm::{ConnectionTrait, EntityTrait, QueryTrait};
        let stale = upload_session::Entity::update_many()
            .col_expr(upload_session::Column::TouchedMs, sea_orm::sea_query::Expr::value(0i64))
            .build(app.db.get_database_backend());
        app.db.execute(stale).await.unwrap();
    }
    app.state.uploads.forget();
    let next = json!({"path": "artifacts/next.bin", "size": 10, "fingerprint": "f5"});
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(next).send().await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(app.get(&idle).bearer(&ann.token).send().await.status, 404);
    assert_eq!(staged(), 1, "only the new upload's parts are staged");
    // Traversal is refused like everywhere else.
    let bad = json!({"path": "artifacts/../../x", "size": 10});
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(bad).send().await;
    assert_eq!(r.status, 400, "{}", r.json);
}

both_dbs!(in_parts_resumable_and_never_partly_visible);

fn temp_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("myelin-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sha(path: &Path) -> String {
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// An earlier upload of `local` as `dest` that died after sending its first `parts` parts of `part_size` bytes
/// (started as the CLI starts one, with the file's fingerprint); the file's bytes.
async fn died_after(
    app: &TestApp,
    u: &TestUser,
    run: &str,
    local: &Path,
    dest: &str,
    parts: u32,
    part_size: usize,
) -> (Vec<u8>, String) {
    let meta = std::fs::metadata(local).unwrap();
    let new = json!({"path": dest, "size": meta.len(), "fingerprint": fingerprint(&meta)});
    let r = app.post(&format!("{}/uploads", base(run))).bearer(&u.token).json(new).send().await;
    assert_eq!(r.status, 201, "{}", r.json);
    let session = format!("{}/uploads/{}", base(run), r.json["id"].as_str().unwrap());
    let bytes = std::fs::read(local).unwrap();
    for n in 0..parts {
        let at = n as usize * part_size;
        assert_eq!(part(app, u, &session, n, &bytes[at..at + part_size]).await.status, 200);
    }
    (bytes, session)
}

/// `myelin artifacts upload`: a large file goes in parts and, interrupted (the process killed, or dead after
/// some parts), resumes where the server's copy stopped; the file appears only when whole.
#[tokio::test]
async fn the_cli_resumes_an_interrupted_upload() {
    let app = TestApp::sqlite().await;
    app.state.uploads.set_part_size(256 * 1024);
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let (run, _) = queued_run(&app, &ann).await;
    let client = Client::new(&app.url, &ann.token);
    let t = Target::new(&client, "p", run.parse().unwrap()).await.unwrap();
    let dir = temp_dir();
    let local = dir.join("weights.bin");
    let size = backend::cli::artifacts::ONE_REQUEST_MAX as usize + 300_001;
    std::fs::write(&local, data(size)).unwrap();

    // An earlier upload of this file died after three parts.
    let (bytes, _) = died_after(&app, &ann, &run, &local, "artifacts/weights.bin", 3, 256 * 1024).await;
    let bar = indicatif::ProgressBar::hidden();
    let done = upload_file(&t, &local, "artifacts/weights.bin", &bar).await.unwrap();
    assert_eq!(done.resumed_at, 3 * 256 * 1024);
    assert_eq!(done.info.sha256, sha(&local));
    let file = format!("{}/artifacts/artifacts/weights.bin", base(&run));
    let got = app.get(&file).bearer(&ann.token).send().await;
    assert_eq!(got.body.len(), size);
    assert!(got.body == bytes, "the stored file differs");

    // The process killed mid-upload: nothing visible; the same command again resumes and finishes.
    let second = dir.join("second.bin");
    std::fs::write(&second, data(size + 17).iter().map(|b| b ^ 0x5a).collect::<Vec<_>>()).unwrap();
    let bar = indicatif::ProgressBar::hidden();
    let killed = {
        let (client, bar, second, run) =
            (Client::new(&app.url, &ann.token), bar.clone(), second.clone(), run.clone());
        tokio::spawn(async move {
            let t = Target::new(&client, "ann/p", run.parse().unwrap()).await.unwrap();
            upload_file(&t, &second, "artifacts/second.bin", &bar).await.map(|_| ())
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while bar.position() < 2 * 256 * 1024 {
        assert!(std::time::Instant::now() < deadline, "the upload never got going");
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    killed.abort();
    let _ = killed.await;
    let path = format!("{}/artifacts/artifacts/second.bin", base(&run));
    assert_eq!(app.get(&path).bearer(&ann.token).send().await.status, 404, "visible before it was complete");
    let bar = indicatif::ProgressBar::hidden();
    let done = upload_file(&t, &second, "artifacts/second.bin", &bar).await.unwrap();
    assert!(done.resumed_at >= 2 * 256 * 1024, "started again from {}", done.resumed_at);
    assert_eq!(done.info.sha256, sha(&second));
}

/// The same on a real S3-compatible store: parts are the store's multipart parts (5 MiB at least), an upload
/// resumes there too (after a restart as well), and the object appears only when complete.
#[tokio::test]
async fn parts_on_an_s3_store() {
    let Some(s3) = crate::helpers::S3Server::start().await else { return };
    let app = TestApp::sqlite_with_artifacts(s3.artifacts("myelin/parts")).await.unwrap();
    app.state.uploads.set_part_size(5 * 1024 * 1024);
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let (run, _) = queued_run(&app, &ann).await;
    let dir = temp_dir();
    let local = dir.join("big.bin");
    let size = backend::cli::artifacts::ONE_REQUEST_MAX as usize + 1_000_003;
    std::fs::write(&local, data(size)).unwrap();
    let (bytes, session) =
        died_after(&app, &ann, &run, &local, "artifacts/big.bin", 1, 5 * 1024 * 1024).await;
    assert!(
        !s3.files_under("myelin/parts").iter().any(|f| f.ends_with("big.bin")),
        "visible before complete"
    );
    // The server restarts: the store's multipart upload and the digest so far are picked up again.
    landed(&app, &session, 1).await;
    app.state.uploads.forget();

    let client = Client::new(&app.url, &ann.token);
    let t = Target::new(&client, "ann/p", run.parse().unwrap()).await.unwrap();
    let done = upload_file(&t, &local, "artifacts/big.bin", &indicatif::ProgressBar::hidden()).await.unwrap();
    assert_eq!(done.resumed_at, 5 * 1024 * 1024);
    assert_eq!(done.info.sha256, sha(&local));
    let got = app.get(&format!("{}/artifacts/artifacts/big.bin", base(&run))).bearer(&ann.token).send().await;
    assert!(got.body == bytes, "the stored object differs");
}

/// `myelin artifacts upload` of a folder and `download` of it, of one file and of the whole run; a partial
/// download resumes; paths keep their folders.
#[tokio::test]
async fn the_cli_uploads_and_downloads_folders() {
    let app = TestApp::sqlite().await;
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let (run, _) = queued_run(&app, &ann).await;
    let client = Client::new(&app.url, &ann.token);
    let t = Target::new(&client, "p", run.parse().unwrap()).await.unwrap();
    let dir = temp_dir();
    let model = dir.join("model");
    std::fs::create_dir_all(model.join("sub/deeper")).unwrap();
    std::fs::write(model.join("MLmodel"), "flavors: {}\n").unwrap();
    std::fs::write(model.join("sub/weights.bin"), data(300_000)).unwrap();
    std::fs::write(model.join("sub/deeper/notes é.txt"), "hello").unwrap();
    upload(&t, &model, "artifacts").await.unwrap();
    let listed = app
        .get(&format!("{}/artifact-dir?path=artifacts/model/sub", base(&run)))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(listed.json["files"][0]["path"], "artifacts/model/sub/weights.bin", "{}", listed.json);
    assert_eq!(listed.json["dirs"][0], "artifacts/model/sub/deeper", "{}", listed.json);

    // Names the store encodes (non-ASCII) list and zip as they were given.
    let zip = app.get(&format!("{}/artifacts/artifacts/model", base(&run))).bearer(&ann.token).send().await;
    assert_eq!(zip.status, 200);
    assert!(zip.body.windows("notes é.txt".len()).any(|w| w == "notes é.txt".as_bytes()), "zip entry names");
    let out = dir.join("out");
    download(&t, Some("artifacts/model"), &out).await.unwrap();
    for f in ["MLmodel", "sub/weights.bin", "sub/deeper/notes é.txt"] {
        assert_eq!(sha(&out.join("model").join(f)), sha(&model.join(f)), "{f}");
    }
    // One file, resumed from a partial copy of the same file.
    let tag = app
        .get(&format!("{}/artifacts/artifacts/model/sub/weights.bin", base(&run)))
        .bearer(&ann.token)
        .send()
        .await;
    let etag = tag.headers.get("etag").and_then(|v| v.to_str().ok()).expect("etag").to_string();
    let one = dir.join("one");
    std::fs::create_dir_all(&one).unwrap();
    std::fs::write(one.join("weights.bin.part"), &data(300_000)[..100_000]).unwrap();
    std::fs::write(one.join("weights.bin.part.etag"), &etag).unwrap();
    download(&t, Some("artifacts/model/sub/weights.bin"), &one).await.unwrap();
    assert_eq!(sha(&one.join("weights.bin")), sha(&model.join("sub/weights.bin")));
    assert!(!one.join("weights.bin.part").exists() && !one.join("weights.bin.part.etag").exists());
    // A stale partial copy (another file's bytes, an old tag) is replaced, not continued.
    std::fs::write(one.join("weights.bin.part"), vec![1u8; 200_000]).unwrap();
    std::fs::write(one.join("weights.bin.part.etag"), "\"old\"").unwrap();
    download(&t, Some("artifacts/model/sub/weights.bin"), &one).await.unwrap();
    assert_eq!(sha(&one.join("weights.bin")), sha(&model.join("sub/weights.bin")));
    // The whole run: into a folder named after it.
    download(&t, None, &dir.join("all")).await.unwrap();
    assert!(dir.join("all").join(&run).join("artifacts/model/sub/deeper/notes é.txt").exists());
    // Nothing there: said so.
    let e = download(&t, Some("artifacts/nothing"), &dir.join("none")).await.unwrap_err();
    assert!(e.contains("not found"), "{e}");
}

/// Reaching the server, and the server reaching its store: each failure said in words that name the fix.
#[tokio::test]
async fn unreachable_peers_are_named_with_the_fix() {
    let dir = temp_dir();
    let file = dir.join("f.txt");
    std::fs::write(&file, "x").unwrap();
    let run = uuid::Uuid::new_v4();
    let try_with = |url: &str, token: &str| {
        let (url, token, file) = (url.to_string(), token.to_string(), file.clone());
        async move {
            let client = Client::new(&url, &token);
            let t = Target::new(&client, "ann/p", run).await.unwrap();
            upload(&t, &file, "artifacts").await.unwrap_err()
        }
    };
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = try_with(&format!("http://127.0.0.1:{closed}"), "t").await;
    assert!(e.contains("nothing answers at http://127.0.0.1:") && e.contains("MYELIN_URL"), "{e}");
    let e = try_with("http://myelin.invalid:8000", "t").await;
    assert!(e.contains("cannot resolve the host of http://myelin.invalid:8000"), "{e}");
    let app = TestApp::sqlite().await;
    let e = try_with(&app.url, "not-a-token").await;
    assert!(e.contains("myelin login"), "{e}");

    // The server's store: down, or refusing the server's credentials.
    let quick = object_store::RetryConfig {
        max_retries: 0,
        retry_timeout: std::time::Duration::from_secs(2),
        backoff: Default::default(),
    };
    let s3 = |endpoint: String, secret: &str| {
        let b = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_access_key_id("test")
            .with_secret_access_key(secret)
            .with_region("us-east-1")
            .with_retry(quick.clone());
        backend::artifacts::Artifacts::s3("s3://myelin/x", b).unwrap()
    };
    let put_into = |store: backend::artifacts::Artifacts| async move {
        let app = TestApp::sqlite_with_artifacts(store).await.unwrap();
        let ann = app.user("ann").await;
        project(&app, &ann, "p").await;
        let (run, _) = queued_run(&app, &ann).await;
        app.call(Method::PUT, &format!("{}/artifacts/artifacts/a.txt", base(&run)))
            .bearer(&ann.token)
            .raw("application/octet-stream", "hello")
            .send()
            .await
    };
    let r = put_into(s3(format!("http://127.0.0.1:{closed}"), "testsecret")).await;
    assert_eq!(r.status, 503, "{}", r.json);
    assert_eq!(r.error(), "store_unavailable");
    assert!(r.message().contains("AWS_ENDPOINT_URL"), "{}", r.json);
    let Some(server) = crate::helpers::S3Server::start().await else { return };
    let r = put_into(s3(server.endpoint().to_string(), "wrong")).await;
    assert_eq!(r.status, 503, "{}", r.json);
    assert_eq!(r.error(), "store_unavailable");
    assert!(r.message().contains("AWS_SECRET_ACCESS_KEY"), "{}", r.json);
}
