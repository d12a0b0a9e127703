//! A kubelet stand-in for fake Nodes: it "runs" the pods the real scheduler binds in one namespace by writing
//! their status the way a kubelet does, and serves their logs on the kubelet's HTTPS port, so `pods/log`
//! through the API server works. What a pod does follows its image name:
//!
//! - `…missing…`: the pull fails (`ErrImagePull`), the pod stays Pending;
//! - `…private…`: pulls only with the pull secrets the pod names; when one does not exist in the namespace, the
//!   kubelet's `FailedToRetrieveImagePullSecret` event comes first and the pull is refused (`ErrImagePull`);
//! - `…succeed…` / `…fail…` (exit 1) / `…oom…` (OOMKilled, 137): runs briefly, then ends so;
//! - `…evict…`: the first pod of its Job is evicted (DisruptionTarget), replacements run on;
//! - anything else runs until deleted.
//!
//! Deleted pods are removed at once (grace period 0), as a kubelet confirms a pod's end.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde_json::{json, Value};

use crate::support::Api;

/// How long a pod of a `succeed`/`fail`/`oom` image runs.
const RUNS_FOR: Duration = Duration::from_millis(600);

#[derive(Default)]
struct Pods {
    started: HashMap<String, Instant>,
    logs: HashMap<String, Vec<String>>,
    ended: HashSet<String>,
    evicted_jobs: HashSet<String>,
}

pub struct Kubelet {
    pub port: u16,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

impl Kubelet {
    pub async fn start(api: Api, dir: &str, ns: &str) -> Kubelet {
        let pods = Arc::new(Mutex::new(Pods::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let serve = tokio::spawn(serve(listener, tls(dir), pods.clone()));
        let run = tokio::spawn(play(api, ns.to_string(), pods));
        Kubelet { port, tasks: vec![serve, run] }
    }
}

fn tls(dir: &str) -> tokio_rustls::TlsAcceptor {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(format!("{dir}/apiserver.crt")).unwrap().map(|c| c.unwrap()).collect();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/apiserver.key")).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

async fn serve(listener: tokio::net::TcpListener, tls: tokio_rustls::TlsAcceptor, pods: Arc<Mutex<Pods>>) {
    let app = axum::Router::new()
        .route("/containerLogs/{ns}/{pod}/{container}", axum::routing::get(container_log))
        .with_state(pods);
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        let (tls, app) = (tls.clone(), app.clone());
        tokio::spawn(async move {
            let Ok(stream) = tls.accept(tcp).await else { return };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// `GET /containerLogs/{ns}/{pod}/{container}?follow=true&timestamps=true`: the lines so far, then new ones
/// until the pod ends.
async fn container_log(
    State(pods): State<Arc<Mutex<Pods>>>,
    Path((_ns, pod, _container)): Path<(String, String, String)>,
) -> impl IntoResponse {
    let stream = futures_util::stream::unfold(0usize, move |sent| {
        let pods = pods.clone();
        let pod = pod.clone();
        async move {
            loop {
                let (lines, ended) = {
                    let p = pods.lock().unwrap();
                    (p.logs.get(&pod).cloned().unwrap_or_default(), p.ended.contains(&pod))
                };
                if lines.len() > sent {
                    let chunk: String = lines[sent..].iter().map(|l| format!("{l}\n")).collect();
                    return Some((Ok::<_, std::io::Error>(chunk), lines.len()));
                }
                if ended {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    axum::body::Body::from_stream(stream)
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

async fn play(api: Api, ns: String, pods: Arc<Mutex<Pods>>) {
    loop {
        let list = api.get(&format!("/api/v1/namespaces/{ns}/pods")).await;
        for p in list["items"].as_array().cloned().unwrap_or_default() {
            step(&api, &ns, &p, &pods).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn step(api: &Api, ns: &str, p: &Value, pods: &Mutex<Pods>) {
    let name = p["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let path = format!("/api/v1/namespaces/{ns}/pods/{name}");
    if p["metadata"]["deletionTimestamp"].is_string() {
        pods.lock().unwrap().ended.insert(name);
        api.delete(&path).await;
        return;
    }
    if p["spec"]["nodeName"].is_null()
        || matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
    {
        return;
    }
    let c = &p["spec"]["containers"][0];
    let (container, image) = (c["name"].as_str().unwrap_or("main"), c["image"].as_str().unwrap_or_default());
    let status = |state: Value, id: &str| {
        json!([{"name": container, "image": image, "imageID": id, "ready": state.get("running").is_some(),
                "restartCount": 0, "started": state.get("running").is_some(), "state": state}])
    };
    if image.contains("private") && p["status"]["containerStatuses"].is_null() {
        if let Some(absent) = absent_pull_secrets(api, ns, p).await {
            // The kubelet's words (pkg/kubelet/kuberuntime/kuberuntime_image.go), then the registry's refusal.
            let event = format!("{name}.pull-secret");
            let message = format!(
                "Unable to retrieve some image pull secrets ({absent}); attempting to pull the image may not succeed."
            );
            api.try_post(&format!("/api/v1/namespaces/{ns}/events"), json!({
                "metadata": {"name": event, "namespace": ns}, "type": "Warning",
                "reason": "FailedToRetrieveImagePullSecret", "message": message, "count": 1,
                "firstTimestamp": now(), "lastTimestamp": now(), "source": {"component": "kubelet"},
                "involvedObject": {"kind": "Pod", "name": name, "namespace": ns, "uid": p["metadata"]["uid"]}}))
                .await;
            let msg = format!("failed to pull and unpack image \"{image}\": 401 Unauthorized");
            api.patch(&format!("{path}/status"), json!({"status": {"phase": "Pending",
                "containerStatuses": status(json!({"waiting": {"reason": "ErrImagePull", "message": msg}}), "")}}))
                .await;
            return;
        }
    }
    if image.contains("missing") {
        if p["status"]["containerStatuses"].is_null() {
            let msg = format!(
                "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found"
            );
            api.patch(&format!("{path}/status"), json!({"status": {"phase": "Pending",
                "containerStatuses": status(json!({"waiting": {"reason": "ErrImagePull", "message": msg}}), "")}}))
                .await;
        }
        return;
    }
    let digest = format!("{}@sha256:{:064x}", image.split(':').next().unwrap_or(image), image.len());
    let started = pods.lock().unwrap().started.get(&name).copied();
    let Some(started) = started else {
        {
            let mut s = pods.lock().unwrap();
            s.started.insert(name.clone(), Instant::now());
            s.logs.insert(
                name.clone(),
                vec![format!("{} hello from {name}", now()), format!("{} step=1 loss=0.5", now())],
            );
        }
        api.patch(&format!("{path}/status"), json!({"status": {"phase": "Running", "startTime": now(),
            "conditions": [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
            "containerStatuses": status(json!({"running": {"startedAt": now()}}), &format!("docker-pullable://{digest}"))}}))
            .await;
        return;
    };
    if started.elapsed() < RUNS_FOR {
        return;
    }
    let job =
        p["metadata"]["labels"]["batch.kubernetes.io/job-name"].as_str().unwrap_or_default().to_string();
    let terminated = |code: i32, reason: &str| {
        status(
            json!({"terminated": {"exitCode": code, "reason": reason, "startedAt": now(), "finishedAt": now()}}),
            &format!("docker-pullable://{digest}"),
        )
    };
    let patch = if image.contains("succeed") {
        json!({"phase": "Succeeded", "containerStatuses": terminated(0, "Completed")})
    } else if image.contains("fail") {
        json!({"phase": "Failed", "containerStatuses": terminated(1, "Error")})
    } else if image.contains("oom") {
        json!({"phase": "Failed", "containerStatuses": terminated(137, "OOMKilled")})
    } else if image.contains("evict") && pods.lock().unwrap().evicted_jobs.insert(job) {
        json!({"phase": "Failed", "reason": "Evicted",
            "message": "The node was low on resource: memory. Threshold quantity: 100Mi, available: 12Mi.",
            "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet",
                "message": "The node was low on resource: memory."}],
            "containerStatuses": terminated(137, "Error")})
    } else {
        return;
    };
    {
        let mut s = pods.lock().unwrap();
        s.logs.entry(name.clone()).or_default().push(format!("{} done", now()));
        s.ended.insert(name);
    }
    api.patch(&format!("{path}/status"), json!({"status": patch})).await;
}

/// The pull secrets a pod names that do not exist in its namespace, as the kubelet lists them.
async fn absent_pull_secrets(api: &Api, ns: &str, p: &Value) -> Option<String> {
    let mut absent = Vec::new();
    for secret in p["spec"]["imagePullSecrets"].as_array().into_iter().flatten() {
        let name = secret["name"].as_str().unwrap_or_default();
        let found = api.get(&format!("/api/v1/namespaces/{ns}/secrets/{name}")).await;
        if found["code"] == 404 {
            absent.push(name.to_string());
        }
    }
    (!absent.is_empty()).then(|| absent.join(", "))
}
