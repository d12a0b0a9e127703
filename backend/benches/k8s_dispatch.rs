//! Dispatch at scale on the test control plane (`scripts/k8s-control-plane up`, `MYELIN_K8S_DIR`): 200 runs
//! submitted → every Job created and its pod scheduled by the real kube-scheduler; the API requests the
//! executor sent per run; and how long a status change in the cluster takes to show in Myelin.
//!
//! `MYELIN_K8S_DIR=$MYELIN_CACHE/k8s/run cargo bench -p backend --bench k8s_dispatch`

// The tests' fixture, kubelet stand-in and helpers; the bench uses a part of them.
#[allow(dead_code)]
#[path = "../tests/k8s/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../tests/k8s/kubelet.rs"]
mod kubelet;
#[allow(dead_code)]
#[path = "../tests/k8s/support.rs"]
mod support;

use std::time::{Duration, Instant};

use backend::services::projects::ProjectUpdate;
use chrono::{DateTime, Utc};
use spec::lifecycle::Status;

const RUNS: usize = 200;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(fx) = fixture::Fixture::start().await else {
        eprintln!(
            "no control plane: scripts/k8s-control-plane up, then MYELIN_K8S_DIR=$MYELIN_CACHE/k8s/run"
        );
        return;
    };
    // A project runs at most 100 at once: two projects of 100 each.
    let more = ProjectUpdate { concurrency: Some(100), ..Default::default() };
    backend::services::projects::update(&fx.state.db, &fx.access, &more).await.unwrap();
    backend::services::projects::create(&fx.state.db, &fx.user, "gpu2", "").await.unwrap();
    let second =
        backend::services::projects::access(&fx.state.db, Some(&fx.user), "ada", "gpu2").await.unwrap();
    backend::services::projects::update(&fx.state.db, &second, &more).await.unwrap();
    let second =
        backend::services::projects::access(&fx.state.db, Some(&fx.user), "ada", "gpu2").await.unwrap();
    let spec = fixture::job("myelin.test/run:1", "resources: {requests: {cpu: 100m, memory: 64Mi}}", "", "");
    let before = fx.exec.requests();
    let start = Instant::now();
    let mut ids = Vec::new();
    for i in 0..RUNS {
        let access = if i % 2 == 0 { &fx.access } else { &second };
        let sub = backend::services::runs::Submission { content: spec.clone(), ..Default::default() };
        let r = fx.state.submit(access, &fx.user, &sub);
        ids.push((access.clone(), r.await.unwrap().summary.uuid));
        fx.state.wake.notify_one();
    }
    let submitted = start.elapsed();
    let (mut jobs_at, mut scheduled_at) = (None, None);
    let pods_path = format!("/api/v1/namespaces/{}/pods?labelSelector=myelin.io/run", fx.ns);
    let jobs_path = format!("/apis/batch/v1/namespaces/{}/jobs?labelSelector=myelin.io/run", fx.ns);
    while scheduled_at.is_none() {
        let jobs = fx.api.get(&jobs_path).await["items"].as_array().map_or(0, Vec::len);
        if jobs_at.is_none() && jobs >= RUNS {
            jobs_at = Some(start.elapsed());
        }
        let pods = fx.api.get(&pods_path).await;
        let bound = pods["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["spec"]["nodeName"].is_string())
            .count();
        if bound >= RUNS {
            assert!(jobs >= RUNS, "{bound} pods bound but {jobs} Jobs listed");
            scheduled_at = Some(start.elapsed());
        }
        assert!(start.elapsed() < Duration::from_secs(300), "not all pods were scheduled in 5 minutes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut running_at = None;
    while running_at.is_none() {
        let mut all = true;
        for (access, id) in &ids {
            let r = backend::services::runs::get(&fx.state.db, access, *id).await.unwrap();
            if r.summary.status != Status::Running {
                all = false;
                break;
            }
        }
        if all {
            running_at = Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dispatch_requests = fx.exec.requests() - before;

    // Pod Running (the kubelet's startedAt) → the run Running in Myelin (its started_at).
    let pods = fx.api.get(&pods_path).await;
    let mut lags = Vec::new();
    for p in pods["items"].as_array().unwrap() {
        let id: uuid::Uuid = p["metadata"]["labels"]["myelin.io/run"].as_str().unwrap().parse().unwrap();
        let Some(started) = p["status"]["containerStatuses"][0]["state"]["running"]["startedAt"].as_str()
        else {
            continue;
        };
        let pod_running: DateTime<Utc> = started.parse().unwrap();
        let access = &ids.iter().find(|(_, i)| *i == id).unwrap().0;
        let r = backend::services::runs::get(&fx.state.db, access, id).await.unwrap();
        if let Some(seen) = r.summary.started_at {
            lags.push((seen - pod_running).num_microseconds().unwrap() as f64 / 1000.0);
        }
    }
    lags.sort_by(f64::total_cmp);

    // Pod Succeeded (patched as a kubelet would) → the run succeeded in Myelin, through the Job controller.
    let mut done_lags = Vec::new();
    let first: Vec<uuid::Uuid> =
        ids.iter().filter(|(a, _)| a.project.id == fx.access.project.id).map(|(_, i)| *i).collect();
    for p in pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| first.iter().any(|i| p["metadata"]["labels"]["myelin.io/run"] == i.to_string()))
        .take(20)
    {
        let id: uuid::Uuid = p["metadata"]["labels"]["myelin.io/run"].as_str().unwrap().parse().unwrap();
        let name = p["metadata"]["name"].as_str().unwrap();
        let now = Utc::now().to_rfc3339();
        let t0 = Instant::now();
        fx.api
            .patch(
                &format!("/api/v1/namespaces/{}/pods/{name}/status", fx.ns),
                serde_json::json!({"status": {"phase": "Succeeded", "containerStatuses": [{"name": "main", "image": "myelin.test/run:1", "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}}}]}}),
            )
            .await;
        while fx.run(id).await.summary.status != Status::Succeeded {
            assert!(t0.elapsed() < Duration::from_secs(30));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        done_lags.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    done_lags.sort_by(f64::total_cmp);

    println!("k8s_dispatch: {RUNS} runs on 4 fake nodes (real kube-apiserver, scheduler, Job controller)");
    println!("  submitted (compile + queue) in      {:>8.2} s", submitted.as_secs_f64());
    println!("  all {RUNS} Jobs created after         {:>8.2} s", jobs_at.unwrap().as_secs_f64());
    println!("  all {RUNS} pods scheduled after       {:>8.2} s", scheduled_at.unwrap().as_secs_f64());
    println!("  all {RUNS} runs `running` in Myelin   {:>8.2} s", running_at.unwrap().as_secs_f64());
    println!(
        "  API requests by the executor: {dispatch_requests} ({:.2} per run, watches included)",
        dispatch_requests as f64 / RUNS as f64
    );
    println!(
        "  pod Running -> run running: median {:.0} ms, p90 {:.0} ms, max {:.0} ms (n={})",
        percentile(&lags, 0.5),
        percentile(&lags, 0.9),
        lags.last().unwrap(),
        lags.len()
    );
    println!(
        "  pod Succeeded -> run succeeded (via the Job controller): median {:.0} ms, p90 {:.0} ms (n={})",
        percentile(&done_lags, 0.5),
        percentile(&done_lags, 0.9),
        done_lags.len()
    );
    // `make bench`'s rows (scripts/bench/table).
    let cmd = "MYELIN_K8S_DIR=… cargo bench -p backend --bench k8s_dispatch";
    let rows = [
        (
            format!("k8s: {RUNS} runs submitted (compile + queue)"),
            format!("{:.2} s", submitted.as_secs_f64()),
        ),
        (
            format!("k8s: all {RUNS} pods scheduled after"),
            format!("{:.2} s", scheduled_at.unwrap().as_secs_f64()),
        ),
        (
            format!("k8s: all {RUNS} runs running after"),
            format!("{:.2} s", running_at.unwrap().as_secs_f64()),
        ),
        ("k8s: API requests per run".into(), format!("{:.2}", dispatch_requests as f64 / RUNS as f64)),
        ("k8s: pod Running -> run running, median".into(), format!("{:.0} ms", percentile(&lags, 0.5))),
        (
            "k8s: pod Succeeded -> run succeeded, median".into(),
            format!("{:.0} ms", percentile(&done_lags, 0.5)),
        ),
    ];
    for (what, v) in rows {
        println!("BENCH|{what}|{v}|–|–|{cmd}");
    }
    fx.end().await;
}
