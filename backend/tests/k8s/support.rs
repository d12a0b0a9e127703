//! Shared by the control-plane tests: the admin client (plain HTTP, so the tests see exactly what the API
//! server answers), fake Nodes, and the turn each test takes on the cluster.

use serde_json::{json, Value};

/// The control plane's run directory, or `None` (the test is skipped, except under CI).
pub fn dir() -> Option<String> {
    let dir =
        std::env::var("MYELIN_K8S_DIR").ok().filter(|d| std::path::Path::new(d).join("ca.crt").exists());
    if dir.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no control plane: scripts/test runs `scripts/k8s-control-plane up` and sets MYELIN_K8S_DIR"
        );
        eprintln!("skipping: no control plane (scripts/k8s-control-plane up; export MYELIN_K8S_DIR)");
    }
    dir
}

static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Nodes are cluster-wide and every test's diagnosis counts them: one test at a time, and each starts without
/// the Nodes an earlier (maybe failed) test left. `None` skips the test.
pub async fn cluster() -> Option<tokio::sync::MutexGuard<'static, ()>> {
    dir()?;
    let turn = TURN.lock().await;
    let api = Api::connect();
    for n in api.get("/api/v1/nodes").await["items"].as_array().into_iter().flatten() {
        if let Some(name) =
            n["metadata"]["name"].as_str().filter(|n| n.starts_with("exec-") || n.starts_with("placement-"))
        {
            api.delete(&format!("/api/v1/nodes/{name}")).await;
        }
    }
    Some(turn)
}

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn connect() -> Self {
        let dir = dir().expect("control plane");
        let kc = std::fs::read_to_string(format!("{dir}/admin.kc")).expect("admin kubeconfig");
        let server =
            kc.split("server: \"").nth(1).and_then(|s| s.split('"').next()).expect("server in kubeconfig");
        let ca = reqwest::Certificate::from_pem(&std::fs::read(format!("{dir}/ca.crt")).unwrap()).unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("authorization", "Bearer admin-tok".parse().unwrap());
        let http =
            reqwest::Client::builder().add_root_certificate(ca).default_headers(headers).build().unwrap();
        Api { http, base: server.to_string() }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>, patch: bool) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = if patch {
                req.header("content-type", "application/merge-patch+json").body(b.to_string())
            } else {
                req.json(&b)
            };
        }
        let resp = req.send().await.expect("kube-apiserver answers");
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(
            status.is_success() || status.as_u16() == 404 || status.as_u16() == 409,
            "{path}: {status} {v}"
        );
        v
    }
    /// A POST whose refusal is the answer the test wants (admission): the status and body, unchecked.
    pub async fn try_post(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("kube-apiserver answers");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::POST, path, Some(body), false).await
    }
    pub async fn get(&self, path: &str) -> Value {
        self.send(reqwest::Method::GET, path, None, false).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::PATCH, path, Some(body), true).await
    }
    pub async fn delete(&self, path: &str) {
        self.send(reqwest::Method::DELETE, path, Some(json!({"gracePeriodSeconds": 0})), false).await;
    }
}

/// A Ready node; GPU nodes carry `nvidia.com/gpu=present:NoSchedule` as GPU node pools usually do. `kubelet`
/// is the port of the kubelet stand-in that serves its pods' logs.
pub fn node(name: &str, gpus: Option<u32>, labels: Value) -> Value {
    node_with_kubelet(name, gpus, labels, None)
}

pub fn node_with_kubelet(name: &str, gpus: Option<u32>, labels: Value, kubelet: Option<u16>) -> Value {
    let mut allocatable = json!({"cpu": "32", "memory": "128Gi", "pods": "110"});
    let mut taints = json!([]);
    if let Some(g) = gpus {
        allocatable["nvidia.com/gpu"] = json!(g.to_string());
        taints = json!([{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]);
    }
    let mut n = json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"taints": taints},
        "status": {"capacity": allocatable, "allocatable": allocatable,
                   "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "fake"}]}});
    if let Some(port) = kubelet {
        n["status"]["addresses"] = json!([{"type": "InternalIP", "address": "127.0.0.1"}]);
        n["status"]["daemonEndpoints"] = json!({"kubeletEndpoint": {"Port": port}});
    }
    n
}

/// A TCP proxy in front of the API server that can play it dead (connections are dropped while down).
pub struct Proxy {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    pub async fn start(dir: &str) -> Proxy {
        let kc = std::fs::read_to_string(format!("{dir}/admin.kc")).unwrap();
        let server =
            kc.split("server: \"https://").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = up.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { continue };
                if !flag.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let server = server.clone();
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&server).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Proxy { port, up, task }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
    }
}
