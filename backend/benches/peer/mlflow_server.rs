//! MLflow's own server (the full `mlflow` package: `scripts/bench/mlflow-server-venv`) on a loopback port, with
//! a fresh SQLite store (or a PostgreSQL database given to `start_on`) and artifact directory and two workers,
//! for benchmarks side by side with Myelin. It and every process it starts (uvicorn's workers, its job
//! consumers) are killed when the returned guard is dropped.

use std::time::Duration;

/// The server's process group, killed on drop.
pub struct Server(#[allow(dead_code)] tokio::process::Child, i32, std::path::PathBuf);

impl Drop for Server {
    fn drop(&mut self) {
        let _ =
            nix::sys::signal::killpg(nix::unistd::Pid::from_raw(self.1), nix::sys::signal::Signal::SIGKILL);
        // Its database and artifacts.
        let _ = std::fs::remove_dir_all(&self.2);
    }
}

/// Starts it on a fresh SQLite store and waits until `/health` answers; returns its guard and base URL
/// (`http://127.0.0.1:PORT`).
pub async fn start(python: &str) -> (Server, String) {
    start_on(python, None).await
}

/// The same on `store` (an SQLAlchemy URL, e.g. `postgresql://…`; MLflow creates its tables), or SQLite.
pub async fn start_on(python: &str, store: Option<&str>) -> (Server, String) {
    let dir = std::env::temp_dir().join(format!("mlflow-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let store =
        store.map(str::to_string).unwrap_or_else(|| format!("sqlite:///{}", dir.join("mlflow.db").display()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = tokio::process::Command::new(python)
        .args([
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--workers",
            "2",
        ])
        .arg("--backend-store-uri")
        .arg(&store)
        .arg("--artifacts-destination")
        .arg(dir.join("artifacts"))
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .process_group(0)
        .spawn()
        .expect("start mlflow server");
    let pgid = child.id().expect("a running child") as i32;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if http.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (Server(child, pgid, dir), base)
}
