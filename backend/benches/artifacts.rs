//! Artifacts at scale (issue #18), over HTTP, p50 of 100 after 10 warm-ups, one run holding 100,000 indexed files
//! in one folder (`artifacts/shard`) plus 1,000 in 100 subfolders:
//! the first page (200 files + subfolders) of that folder, the project's search (newest first, and by name), and
//! the preview of a 500 MB CSV (the first rows, from a range read).
//!
//! `cargo bench -p backend --bench artifacts` on SQLite; `MYELIN_BENCH_DATABASE_URL=postgres://…/db` on
//! PostgreSQL (an empty database).

use std::io::Write;
use std::time::{Duration, Instant};

use sea_orm::{EntityTrait, Set};

const FILES: usize = 100_000;
const CSV_BYTES: u64 = 500 * 1024 * 1024;

fn p50(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

async fn time(http: &reqwest::Client, url: &str, token: &str) -> (f64, usize) {
    let mut lat = Vec::new();
    let mut bytes = 0;
    for i in 0..110 {
        let t = Instant::now();
        let r = http.get(url).bearer_auth(token).send().await.unwrap();
        assert!(r.status().is_success(), "{url}: {}", r.status());
        bytes = r.bytes().await.unwrap().len();
        if i >= 10 {
            lat.push(t.elapsed());
        }
    }
    (p50(lat), bytes)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use backend::entities::artifact;
        let dir = std::env::temp_dir().join(format!("myelin-bench-{}", uuid::Uuid::new_v4().simple()));
        let url = std::env::var("MYELIN_BENCH_DATABASE_URL")
            .unwrap_or_else(|_| backend::config::database_url(&dir, None));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let public = format!("http://{}", listener.local_addr().unwrap());
        let (state, store) = backend::server::prepare(&url, false, &dir, &public, None).await.unwrap();
        let db = state.db.clone();
        let u = backend::services::accounts::create_user(&db, "bench", "a long enough password", true)
            .await
            .unwrap();
        let token = backend::services::tokens::create(&db, &u, "bench").await.unwrap().token;
        backend::services::projects::create(&db, &u, "arts", "").await.unwrap();
        let access = backend::services::projects::access(&db, Some(&u), "bench", "arts").await.unwrap();
        let run =
            backend::services::runs::create_external(&db, &access, &u, Some("big"), None).await.unwrap();
        let seed = Instant::now();
        let rows = (0..FILES).map(|i| ("artifacts/shard".to_string(), format!("part-{i:06}.bin")));
        let nested = (0..1000).map(|i| (format!("artifacts/nested/d{:02}", i % 100), format!("f{i}.txt")));
        let all: Vec<(String, String)> = rows.chain(nested).collect();
        for (n, chunk) in all.chunks(1000).enumerate() {
            let batch: Vec<artifact::ActiveModel> = chunk
                .iter()
                .map(|(d, name)| artifact::ActiveModel {
                    run_id: Set(run.id),
                    path: Set(format!("{d}/{name}")),
                    project_id: Set(access.project.id),
                    dir: Set(d.clone()),
                    name: Set(name.clone()),
                    kind: Set(backend::artifacts::preview::kind_of(name).to_string()),
                    size: Set(1024),
                    sha256: Set(format!("{:064x}", n * 1000 + name.len())),
                    created_ms: Set(n as i64),
                })
                .collect();
            artifact::Entity::insert_many(batch).exec(&db).await.unwrap();
        }
        eprintln!("indexed {} files in {:.0?}", all.len(), seed.elapsed());
        // A 500 MB CSV, written straight into the local store.
        let csv = dir
            .join("artifacts")
            .join(access.project.id.to_string())
            .join(run.id.to_string())
            .join("artifacts");
        std::fs::create_dir_all(&csv).unwrap();
        let mut f = std::io::BufWriter::new(std::fs::File::create(csv.join("big.csv")).unwrap());
        writeln!(f, "step,loss,accuracy,label").unwrap();
        let mut written = 0u64;
        let mut i = 0u64;
        while written < CSV_BYTES {
            let line =
                format!("{i},{:.6},{:.4},class-{}\n", 1.0 / (i + 1) as f64, (i % 100) as f64 / 100.0, i % 7);
            written += line.len() as u64;
            f.write_all(line.as_bytes()).unwrap();
            i += 1;
        }
        drop(f);
        let app = backend::server::api_only(state, &store)
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(backend::server::listener(listener), app).await });
        let http = reqwest::Client::new();
        let base = format!("{public}/api/v1/projects/bench/arts");
        let cases = [
            (
                "first page of a 100,000-file folder",
                format!("{base}/runs/{}/artifact-dir?path=artifacts/shard", run.id),
            ),
            (
                "the run's artifacts folder (2 subfolders)",
                format!("{base}/runs/{}/artifact-dir?path=artifacts", run.id),
            ),
            ("project search, newest first (100)", format!("{base}/artifacts")),
            ("project search by name (part-0999)", format!("{base}/artifacts?q=part-0999")),
            ("preview of a 500 MB CSV", format!("{base}/runs/{}/preview/artifacts/big.csv", run.id)),
        ];
        let db = if std::env::var("MYELIN_BENCH_DATABASE_URL").is_ok() { "PostgreSQL" } else { "SQLite" };
        println!("| measure | p50 (ms) | answer bytes |");
        println!("| --- | --- | --- |");
        for (label, url) in cases {
            let (ms, bytes) = time(&http, &url, &token).await;
            println!("| {label} | {ms:.2} | {bytes} |");
            println!(
                "BENCH|artifacts: {label} ({db})|{ms:.2} ms|–|–|cargo bench -p backend --bench artifacts"
            );
        }
        std::fs::remove_dir_all(&dir).ok();
    });
}
