//! Following a run's main container log through the API server (which asks the node's kubelet), into the same
//! spool and live channel as local runs. One follower per attempt; the run's log is archived once the
//! follower of its last attempt is done.

use std::time::Duration;

use futures_util::AsyncBufReadExt;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use serde_json::Value;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::{system_line, KubeExecutor};
use crate::executor::logs::{append, Sink};

/// How long a finished run waits for its follower to drain before the log is archived.
const DRAIN: Duration = Duration::from_secs(10);

impl KubeExecutor {
    /// Starts following the pod's main container, once per attempt.
    pub(super) fn follow(self: std::sync::Arc<Self>, id: Uuid, attempt: i32, pod: &Value) {
        if !self.following.lock().expect("lock").insert((id, attempt)) {
            return;
        }
        let name = pod["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let container = pod["spec"]["containers"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == "main").or_else(|| cs.first()))
            .and_then(|c| c["name"].as_str())
            .unwrap_or("main")
            .to_string();
        let tx =
            self.live.lock().expect("lock").entry(id).or_insert_with(|| broadcast::channel(1024).0).clone();
        tokio::spawn(async move {
            let path = self.logs.path(id);
            let api: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
            let params = LogParams {
                follow: true,
                container: Some(container),
                timestamps: true,
                ..Default::default()
            };
            match api.log_stream(&name, &params).await {
                Ok(stream) => {
                    let mut lines = stream.lines();
                    if let Some(mut sink) = Sink::open(&path, tx).await {
                        while let Some(Ok(line)) = lines.next().await {
                            // `<RFC 3339 time> <text>` from the kubelet; kept as the local executor writes it.
                            let (ts, text) = line.split_once(' ').unwrap_or(("", &line));
                            if !sink.line(ts, "stdout", text).await {
                                break;
                            }
                        }
                    }
                }
                Err(e) => {
                    append(
                        &path,
                        &system_line(&format!("the container log of pod {name} is unavailable: {e}")),
                    )
                    .await;
                }
            }
            self.following.lock().expect("lock").retain(|(r, a)| !(*r == id && *a == attempt));
        });
    }
}

/// Waits (bounded) until no follower of the run is active.
pub(super) async fn wait_done(exec: &KubeExecutor, id: Uuid) {
    let deadline = tokio::time::Instant::now() + DRAIN;
    while exec.following.lock().expect("lock").iter().any(|(r, _)| *r == id) {
        if tokio::time::Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
