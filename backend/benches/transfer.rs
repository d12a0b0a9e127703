//! Upload and download throughput through the server against a direct copy into the same store (issue #18: at
//! least 80 %). One 512 MiB file, the median of 5 of each (after a round that warms up), with the CPU time each
//! took (client and server share this machine's cores):
//! - direct: the `object_store` client, as a tool holding the store's credentials would (multipart, 8 MiB parts);
//! - one request: `PUT …/artifacts/{path}`, the body streamed from the file;
//! - in parts: `myelin artifacts upload`'s own code (`cli::artifacts::upload_file`: 16 MiB parts, two on their way
//!   at once, each with its CRC-32);
//! - downloads: the object streamed to a file, directly and through `GET …/artifacts/{path}`.
//!
//! Each copy starts with nothing waiting to be written and is timed until its bytes are on disk (`sync`): how
//! much the page cache absorbs otherwise swings a local copy between 0.5 and 3 GB/s from one run to the next.
//! Each download reads its object from the disk (`evict`).
//!
//! `cargo bench -p backend --bench transfer` (a local store in the temp directory; with `MYELIN_S3_SERVER`
//! pointing at s3s-fs, as `scripts/setup` builds it, the same against an S3-compatible server).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use object_store::{ObjectStore, WriteMultipart};
use tokio::io::AsyncWriteExt;

// As the `myelin` binary (client and server) allocates.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SIZE: usize = 512 * 1024 * 1024;
/// Measured rounds, after one round that warms every path up (the first copy of each kind was 2–8× slower).
const ROUNDS: usize = 5;

/// CPU seconds this process (client and server; an S3 server is a process of its own) has used so far.
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn median_f(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mib_s(d: Duration) -> f64 {
    SIZE as f64 / 1024.0 / 1024.0 / d.as_secs_f64()
}

/// A store the bench can also reach directly, and how to open it for the server.
struct Store {
    label: &'static str,
    direct: Arc<dyn ObjectStore>,
    /// Where its objects are on this machine's disk.
    root: std::path::PathBuf,
    server: Arc<backend::artifacts::Artifacts>,
    _child: Option<std::process::Child>,
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(c) = self._child.as_mut() {
            c.kill().ok();
            c.wait().ok();
        }
    }
}

fn local(dir: &std::path::Path) -> Store {
    let root = dir.join("artifacts");
    std::fs::create_dir_all(&root).unwrap();
    let direct = Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&root).unwrap());
    let server = Arc::new(backend::artifacts::Artifacts::open(None, dir).unwrap());
    Store { label: "local disk", direct, root, server, _child: None }
}

fn s3(dir: &std::path::Path) -> Option<Store> {
    let bin = std::env::var("MYELIN_S3_SERVER").ok().filter(|p| std::path::Path::new(p).exists())?;
    let root = dir.join("s3");
    std::fs::create_dir_all(root.join("bench")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = std::process::Command::new(bin)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", "k", "--secret-key", "s"])
        .arg(&root)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let builder = || {
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(format!("http://127.0.0.1:{port}"))
            .with_access_key_id("k")
            .with_secret_access_key("s")
            .with_region("us-east-1")
    };
    let built = builder()
        .with_bucket_name("bench")
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .build();
    let (Ok(direct), Ok(server)) = (built, backend::artifacts::Artifacts::s3("s3://bench", builder())) else {
        child.kill().ok();
        child.wait().ok();
        return None;
    };
    let (direct, server) = (Arc::new(direct), Arc::new(server));
    Some(Store { label: "S3-compatible (s3s-fs)", direct, root, server, _child: Some(child) })
}

/// Drops every object under `dir` (a store's files) from the page cache: each download reads from the disk,
/// whichever way its object was written (an upload through the server bypasses the page cache, a direct copy
/// goes through it).
fn evict(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            evict(&path);
        } else {
            if let Ok(f) = std::fs::File::open(&path) {
                rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).ok();
            }
        }
    }
}

/// Writes what the page cache holds to disk, and how long that took. Each copy is timed until its bytes are on
/// disk (a copy held in memory is not done yet, and how much the kernel buffers varies from run to run), and
/// each starts with nothing left to write.
fn settle() -> Duration {
    let t = Instant::now();
    std::process::Command::new("sync").status().expect("sync");
    t.elapsed()
}

async fn direct_upload(store: &Arc<dyn ObjectStore>, file: &std::path::Path, key: &str) -> Duration {
    let t = Instant::now();
    let upload = store.put_multipart(&key.into()).await.unwrap();
    let mut w = WriteMultipart::new_with_chunk_size(upload, 8 * 1024 * 1024);
    let mut body =
        tokio_util::io::ReaderStream::with_capacity(tokio::fs::File::open(file).await.unwrap(), 1 << 20);
    while let Some(chunk) = body.next().await {
        w.wait_for_capacity(4).await.unwrap();
        w.write(&chunk.unwrap());
    }
    w.finish().await.unwrap();
    t.elapsed() + settle()
}

/// The object to a file as a direct tool would read it: a local store's file 1 MiB at a time (object_store's own
/// stream reads 8 KiB a blocking task, a fifth of the disk's speed), an S3 object as the store streams it.
async fn direct_download(store: &Arc<dyn ObjectStore>, key: &str, out: &std::path::Path) -> Duration {
    let t = Instant::now();
    let mut f = tokio::io::BufWriter::with_capacity(8 << 20, tokio::fs::File::create(out).await.unwrap());
    match store.get(&key.into()).await.unwrap().payload {
        object_store::GetResultPayload::File(file, _) => {
            let mut s = tokio_util::io::ReaderStream::with_capacity(tokio::fs::File::from_std(file), 1 << 20);
            while let Some(chunk) = s.next().await {
                f.write_all(&chunk.unwrap()).await.unwrap();
            }
        }
        object_store::GetResultPayload::Stream(mut s) => {
            while let Some(chunk) = s.next().await {
                f.write_all(&chunk.unwrap()).await.unwrap();
            }
        }
    }
    f.flush().await.unwrap();
    t.elapsed()
}

async fn http_download(http: &reqwest::Client, url: &str, token: &str, out: &std::path::Path) -> Duration {
    let t = Instant::now();
    let mut f = tokio::io::BufWriter::with_capacity(8 << 20, tokio::fs::File::create(out).await.unwrap());
    let r = http.get(url).bearer_auth(token).send().await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    let mut s = r.bytes_stream();
    while let Some(chunk) = s.next().await {
        f.write_all(&chunk.unwrap()).await.unwrap();
    }
    f.flush().await.unwrap();
    t.elapsed()
}

async fn bench(store: Store, dir: &std::path::Path, file: &std::path::Path) {
    let db_dir = dir.join(format!("db-{}", uuid::Uuid::new_v4().simple()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let db = backend::db::connect(&backend::config::database_url(&db_dir, None)).await.unwrap();
    let sessions = backend::auth::session::Store::for_db(&db).await.unwrap();
    let server = store.server.clone();
    let state = backend::AppState::new(db.clone(), false, db_dir.clone(), public.clone(), server);
    let u =
        backend::services::accounts::create_user(&db, "bench", "a long enough password", true).await.unwrap();
    let token = backend::services::tokens::create(&db, &u, "bench").await.unwrap().token;
    backend::services::projects::create(&db, &u, "io", "").await.unwrap();
    let access = backend::services::projects::access(&db, Some(&u), "bench", "io").await.unwrap();
    let run = backend::services::runs::create_external(&db, &access, &u, Some("io"), None).await.unwrap();
    let app = backend::server::api_only(state, &sessions)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(backend::server::listener(listener), app).await });
    let http = reqwest::Client::new();
    let base = format!("/projects/bench/io/runs/{}", run.id);
    let client = backend::cli::client::Client::new(&public, &token);
    let target = backend::cli::artifacts::Target::new(&client, "bench/io", run.id).await.unwrap();
    let out = dir.join("downloaded.bin");

    let mut rows: Vec<(&str, Vec<Duration>, Vec<f64>)> =
        ["direct upload", "upload, one request", "upload, in parts (CLI)", "direct download", "download"]
            .into_iter()
            .map(|l| (l, Vec::new(), Vec::new()))
            .collect();
    for round in 0..=ROUNDS {
        let mut took = Vec::new();
        settle();
        let c = cpu();
        took.push((direct_upload(&store.direct, file, &format!("direct/{round}.bin")).await, cpu() - c));
        settle();
        let (t, c) = (Instant::now(), cpu());
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
            tokio::fs::File::open(file).await.unwrap(),
            1 << 20,
        ));
        let url = format!("{public}/api/v1{base}/artifacts/artifacts/one-{round}.bin");
        let r = http.put(&url).bearer_auth(&token).body(body).send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        took.push((t.elapsed() + settle(), cpu() - c));
        let (t, c) = (Instant::now(), cpu());
        let bar = indicatif::ProgressBar::hidden();
        backend::cli::artifacts::upload_file(&target, file, &format!("artifacts/parts-{round}.bin"), &bar)
            .await
            .unwrap();
        took.push((t.elapsed() + settle(), cpu() - c));
        evict(&store.root);
        let c = cpu();
        let d = direct_download(&store.direct, &format!("direct/{round}.bin"), &out).await + settle();
        took.push((d, cpu() - c));
        let url = format!("{public}/api/v1{base}/artifacts/artifacts/one-{round}.bin");
        evict(&store.root);
        let c = cpu();
        took.push((http_download(&http, &url, &token, &out).await + settle(), cpu() - c));
        if round > 0 {
            for (row, (d, c)) in rows.iter_mut().zip(took) {
                row.1.push(d);
                row.2.push(c);
            }
        }
        // Keep the disk from filling: this round's objects go.
        let prefix = format!("{}/{}/artifacts", access.project.id, run.id);
        for key in [
            format!("direct/{round}.bin"),
            format!("{prefix}/one-{round}.bin"),
            format!("{prefix}/parts-{round}.bin"),
        ] {
            store.direct.delete(&key.as_str().into()).await.unwrap();
        }
    }
    let up = median(rows[0].1.clone());
    let down = median(rows[3].1.clone());
    println!("\n{} — 512 MiB, median of {ROUNDS}", store.label);
    println!("| measure | MiB/s | vs direct | CPU seconds (client + server) |");
    println!("| --- | --- | --- | --- |");
    for (i, (label, times, cpus)) in rows.iter().enumerate() {
        let d = median(times.clone());
        let peer = if i < 3 { up } else { down };
        let ratio = 100.0 * peer.as_secs_f64() / d.as_secs_f64();
        println!("| {label} | {:.0} | {ratio:.0} % | {:.2} |", mib_s(d), median_f(cpus.clone()));
    }
    // `make bench`'s rows (scripts/bench/table): each way through the server beside the direct copy.
    for (i, (label, times, _)) in rows.iter().enumerate().filter(|(i, _)| *i != 0 && *i != 3) {
        let (d, peer) = (median(times.clone()), if i < 3 { up } else { down });
        println!(
            "BENCH|{}: {label}, 512 MiB|{:.0} MiB/s|{:.0} MiB/s direct|{:.0} %|cargo bench -p backend --bench transfer",
            store.label,
            mib_s(d),
            mib_s(peer),
            100.0 * peer.as_secs_f64() / d.as_secs_f64()
        );
    }
    std::fs::remove_dir_all(&db_dir).ok();
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("myelin-transfer-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("data.bin");
        let data: Vec<u8> = (0..SIZE).map(|i| (i * 31 + i / 4093) as u8).collect();
        std::fs::write(&file, data).unwrap();
        bench(local(&dir.join("local")), &dir, &file).await;
        if let Some(s3) = s3(&dir) {
            bench(s3, &dir, &file).await;
        }
        std::fs::remove_dir_all(&dir).ok();
    });
}
