//! MLflow's `experiments/search` at 10,000 projects of one user (issue #19 §6), over HTTP, p50 of 11:
//! the first page of 100, a `name LIKE` filter, the 50th page (following `next_page_token`, timing the last
//! call) and all 10,000 in one page.
//!
//! `cargo bench -p backend --bench experiments_search` (SQLite; `MYELIN_BENCH_DATABASE_URL=postgres://…` for
//! PostgreSQL; `MYELIN_BENCH_PROJECTS` to change the count).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn p50(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn main() {
    let n: usize = std::env::var("MYELIN_BENCH_PROJECTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = std::env::temp_dir().join(format!("myelin-exp-{}", uuid::Uuid::new_v4().simple()));
        let url = std::env::var("MYELIN_BENCH_DATABASE_URL")
            .unwrap_or_else(|_| backend::config::database_url(&dir, None));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (state, store) = backend::server::prepare(&url, false, &dir, &base, None).await.unwrap();
        let name = format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let u = backend::services::accounts::create_user(&state.db, &name, "a long enough password", true)
            .await
            .unwrap();
        let token = backend::services::tokens::create(&state.db, &u, "bench").await.unwrap().token;
        let seed = Instant::now();
        for i in 0..n {
            backend::services::projects::create(&state.db, &u, &format!("proj-{i:05}"), "").await.unwrap();
        }
        eprintln!("seeded {n} projects in {:.0?}", seed.elapsed());
        let app = backend::server::api_only(state, &store)
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(backend::server::listener(listener), app).await });
        let http = reqwest::Client::new();
        let search = |body: Value| {
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            async move {
                let t = Instant::now();
                let r = http
                    .post(format!("{base}/api/2.0/mlflow/experiments/search"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                let v: Value = r.json().await.unwrap();
                (t.elapsed(), v)
            }
        };
        let timed = |body: Value| async move {
            let mut lat = Vec::new();
            let mut last = Value::Null;
            for _ in 0..11 {
                let (took, v) = search(body.clone()).await;
                lat.push(took);
                last = v;
            }
            (p50(lat), last)
        };
        let (first, v) = timed(json!({"max_results": 100})).await;
        assert_eq!(v["experiments"].as_array().unwrap().len(), 100);
        let like = "name LIKE '%proj-0099%'".to_string();
        let (filtered, v) = timed(json!({"max_results": 100, "filter": like})).await;
        assert_eq!(v["experiments"].as_array().unwrap().len(), 10.min(n));
        let mut token50 = None;
        for _ in 0..49 {
            let mut body = json!({"max_results": 100});
            if let Some(t) = &token50 {
                body["page_token"] = json!(t);
            }
            token50 = search(body).await.1["next_page_token"].as_str().map(str::to_string);
        }
        let (page50, v) = timed(json!({"max_results": 100, "page_token": token50})).await;
        assert_eq!(v["experiments"].as_array().unwrap().len(), 100.min(n.saturating_sub(4900)));
        let (all, v) = timed(json!({"max_results": n})).await;
        assert_eq!(v["experiments"].as_array().unwrap().len(), n);
        println!("\nexperiments/search at {n} projects, p50 of 11, ms\n");
        println!("| first page of 100 | name LIKE (10 matches) | page 50 | all {n} in one page |");
        println!("|---|---|---|---|");
        println!("| {first:.1} | {filtered:.1} | {page50:.1} | {all:.1} |");
        let cmd = "cargo bench -p backend --bench experiments_search";
        for (what, ms) in [
            ("first page of 100", first),
            ("name LIKE, 10 matches", filtered),
            ("page 50 by token", page50),
            (&format!("all {n} in one page") as &str, all),
        ] {
            println!("BENCH|experiments/search at {n} projects: {what}|{ms:.1} ms|–|–|{cmd}");
        }
    });
}
