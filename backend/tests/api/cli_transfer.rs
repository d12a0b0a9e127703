//! `myelin artifacts upload|download` against a served app: an interrupted upload resumes (on local disk and on
//! the S3-compatible store, after a restart too), folders both ways, and reachability errors that name the fix.

use std::path::Path;

use axum::http::Method;
use backend::cli::artifacts::{download, fingerprint, upload, upload_file, Target};
use backend::cli::client::Client;
use serde_json::json;
use sha2::Digest;

use crate::helpers::{TestApp, TestUser};
use crate::tracking::ann_with_a_run;
use crate::uploads::{base, data, landed, part};

fn temp_dir() -> tempfile::TempDir {
    crate::helpers::temp_dir("myelin-cli-")
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

/// `myelin artifacts upload` of `local` as `dest`, running on its own task, once it has sent `past` bytes.
async fn uploading_past(
    app: &TestApp,
    u: &TestUser,
    run: &str,
    local: &Path,
    dest: &str,
    past: u64,
) -> tokio::task::JoinHandle<Result<(), String>> {
    let bar = indicatif::ProgressBar::hidden();
    let (client, shown, local, run, dest) = (
        Client::new(&app.url, &u.token),
        bar.clone(),
        local.to_path_buf(),
        run.to_string(),
        dest.to_string(),
    );
    let task = tokio::spawn(async move {
        let t = Target::new(&client, "ann/p", run.parse().unwrap()).await.unwrap();
        upload_file(&t, &local, &dest, &shown).await.map(|_| ())
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while bar.position() < past {
        assert!(std::time::Instant::now() < deadline, "the upload never got going");
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    task
}

/// `myelin artifacts upload`: a large file goes in parts and, interrupted (the process killed, or dead after
/// some parts), resumes where the server's copy stopped; the file appears only when whole.
#[tokio::test]
async fn the_cli_resumes_an_interrupted_upload() {
    let app = TestApp::sqlite().await;
    app.state.uploads.set_part_size(256 * 1024);
    let (ann, run) = ann_with_a_run(&app).await;
    let client = Client::new(&app.url, &ann.token);
    let t = Target::new(&client, "p", run.parse().unwrap()).await.unwrap();
    let dir = temp_dir();
    let local = dir.path().join("weights.bin");
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
    let second = dir.path().join("second.bin");
    std::fs::write(&second, data(size + 17).iter().map(|b| b ^ 0x5a).collect::<Vec<_>>()).unwrap();
    let killed = uploading_past(&app, &ann, &run, &second, "artifacts/second.bin", 2 * 256 * 1024).await;
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
    let (ann, run) = ann_with_a_run(&app).await;
    let dir = temp_dir();
    let local = dir.path().join("big.bin");
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
    let (ann, run) = ann_with_a_run(&app).await;
    let client = Client::new(&app.url, &ann.token);
    let t = Target::new(&client, "p", run.parse().unwrap()).await.unwrap();
    let dir = temp_dir();
    let model = dir.path().join("model");
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
    let out = dir.path().join("out");
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
    let one = dir.path().join("one");
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
    download(&t, None, &dir.path().join("all")).await.unwrap();
    assert!(dir.path().join("all").join(&run).join("artifacts/model/sub/deeper/notes é.txt").exists());
    // Nothing there: said so.
    let e = download(&t, Some("artifacts/nothing"), &dir.path().join("none")).await.unwrap_err();
    assert!(e.contains("not found"), "{e}");
}

/// Reaching the server, and the server reaching its store: each failure said in words that name the fix.
#[tokio::test]
async fn unreachable_peers_are_named_with_the_fix() {
    let dir = temp_dir();
    let file = dir.path().join("f.txt");
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
        let (ann, run) = ann_with_a_run(&app).await;
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

/// Uploads a file in parts (as `name`) and lets `change` touch it once the first part is on its way; the app,
/// its user and run, and the CLI's error.
async fn changed_midway(
    name: &str,
    change: impl FnOnce(&Path, usize),
) -> (TestApp, TestUser, String, String) {
    let app = TestApp::sqlite().await;
    app.state.uploads.set_part_size(64 * 1024);
    let (ann, run) = ann_with_a_run(&app).await;
    let dir = temp_dir();
    let local = dir.path().join(name);
    let size = backend::cli::artifacts::ONE_REQUEST_MAX as usize + 300_001;
    std::fs::write(&local, data(size)).unwrap();
    let uploading = uploading_past(&app, &ann, &run, &local, &format!("artifacts/{name}"), 64 * 1024).await;
    change(&local, size);
    let err = uploading.await.unwrap().expect_err("a file changed midway was reported as uploaded");
    (app, ann, run, err)
}

/// A file written to while it uploads in parts is reported: the server's digest is then of neither version.
#[tokio::test]
async fn a_file_changed_while_uploading_is_reported() {
    let (_, _, _, err) = changed_midway("growing.bin", |local, size| {
        // Another writer rewrites the file (same size, other bytes, a later time).
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(local, data(size).iter().map(|b| b ^ 0xff).collect::<Vec<_>>()).unwrap();
    })
    .await;
    assert!(err.contains("changed while it was uploading"), "{err}");
}

/// A file cut short while its parts are read is reported as such, and nothing appears at its path.
#[tokio::test]
async fn a_file_cut_short_while_uploading_is_reported() {
    let (app, ann, run, err) = changed_midway("shrinking.bin", |local, _| {
        std::fs::OpenOptions::new().write(true).open(local).unwrap().set_len(256 * 1024).unwrap();
    })
    .await;
    assert!(err.contains("became shorter while it was uploading"), "{err}");
    let path = format!("{}/artifacts/artifacts/shrinking.bin", base(&run));
    assert_eq!(app.get(&path).bearer(&ann.token).send().await.status, 404, "a file cut short appeared");
}
