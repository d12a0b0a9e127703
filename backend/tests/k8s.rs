//! `spec::placement` against the real kube-scheduler: fake Nodes (2 tainted GPU nodes, 2 CPU nodes), pods the
//! scheduler refuses or places, and our explanation of the same objects. Needs the control plane from
//! `scripts/k8s-control-plane up` (`MYELIN_K8S_DIR`, set by scripts/test); required under CI.

use std::time::Duration;

use serde_json::{json, Value};

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn connect() -> Option<Self> {
        let dir =
            std::env::var("MYELIN_K8S_DIR").ok().filter(|d| std::path::Path::new(d).join("ca.crt").exists());
        let Some(dir) = dir else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but no control plane: scripts/test runs `scripts/k8s-control-plane up` and sets MYELIN_K8S_DIR"
            );
            eprintln!("skipping: no control plane (scripts/k8s-control-plane up; export MYELIN_K8S_DIR)");
            return None;
        };
        let kc = std::fs::read_to_string(format!("{dir}/admin.kc")).expect("admin kubeconfig");
        let server =
            kc.split("server: \"").nth(1).and_then(|s| s.split('"').next()).expect("server in kubeconfig");
        let ca = reqwest::Certificate::from_pem(&std::fs::read(format!("{dir}/ca.crt")).unwrap()).unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("authorization", "Bearer admin-tok".parse().unwrap());
        let http =
            reqwest::Client::builder().add_root_certificate(ca).default_headers(headers).build().unwrap();
        Some(Api { http, base: server.to_string() })
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("kube-apiserver answers");
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success() || status.as_u16() == 404, "{path}: {status} {v}");
        v
    }
    async fn post(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    async fn get(&self, path: &str) -> Value {
        self.send(reqwest::Method::GET, path, None).await
    }
    async fn delete(&self, path: &str) {
        self.send(reqwest::Method::DELETE, path, Some(json!({"gracePeriodSeconds": 0}))).await;
    }
}

fn node(name: &str, gpus: Option<u32>, labels: Value) -> Value {
    let mut allocatable = json!({"cpu": "32", "memory": "128Gi", "pods": "110"});
    let mut taints = json!([]);
    if let Some(g) = gpus {
        allocatable["nvidia.com/gpu"] = json!(g.to_string());
        taints = json!([{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]);
    }
    json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"taints": taints},
        "status": {"capacity": allocatable, "allocatable": allocatable,
                   "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "fake"}]}})
}

fn pod(name: &str, gpus: u32, extra: Value) -> Value {
    let mut spec = json!({"containers": [{"name": "main", "image": "busybox:1.36",
        "resources": {"limits": {"nvidia.com/gpu": gpus.to_string()}, "requests": {"cpu": "1", "memory": "1Gi"}}}]});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        spec[k] = v;
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})
}

/// Waits for the scheduler's verdict: `Ok(node)` or `Err(PodScheduled message)`.
async fn verdict(api: &Api, ns: &str, name: &str) -> Result<String, String> {
    for _ in 0..100 {
        let p = api.get(&format!("/api/v1/namespaces/{ns}/pods/{name}")).await;
        if let Some(n) = p["spec"]["nodeName"].as_str() {
            return Ok(n.to_string());
        }
        let cond = p["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "PodScheduled")
            .cloned();
        if let Some(c) = cond.filter(|c| c["status"] == "False") {
            return Err(c["message"].as_str().unwrap_or_default().to_string());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the scheduler gave no verdict on {name}");
}

/// Our explanation, from the same objects the scheduler saw.
async fn explain(api: &Api, ns: &str, name: &str) -> spec::placement::Diagnosis {
    let p = api.get(&format!("/api/v1/namespaces/{ns}/pods/{name}")).await;
    let nodes = api.get("/api/v1/nodes").await;
    let pods = api.get("/api/v1/pods").await;
    let bound: Vec<&Value> =
        pods["items"].as_array().unwrap().iter().filter(|q| q["spec"]["nodeName"].is_string()).collect();
    let views: Vec<_> = nodes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let on: Vec<&Value> =
                bound.iter().copied().filter(|q| q["spec"]["nodeName"] == n["metadata"]["name"]).collect();
            spec::placement::NodeView::of_node(n, &on)
        })
        .collect();
    spec::placement::explain(&spec::placement::Needs::of_pod_spec(&p["spec"]), &views)
}

#[tokio::test]
async fn our_explanations_agree_with_the_real_scheduler() {
    let Some(api) = Api::connect() else { return };
    // Nodes an interrupted earlier run left behind would skew both verdicts.
    for n in api.get("/api/v1/nodes").await["items"].as_array().into_iter().flatten() {
        if let Some(name) = n["metadata"]["name"].as_str().filter(|n| n.starts_with("placement-")) {
            api.delete(&format!("/api/v1/nodes/{name}")).await;
        }
    }
    let ns = format!("placement-{}", uuid::Uuid::new_v4().simple());
    api.post("/api/v1/namespaces", json!({"metadata": {"name": ns}})).await;
    let nodes = [
        node(&format!("{ns}-gpu-1"), Some(8), json!({"gpu-type": "v100"})),
        node(&format!("{ns}-gpu-2"), Some(8), json!({"gpu-type": "v100"})),
        node(&format!("{ns}-cpu-1"), None, json!({})),
        node(&format!("{ns}-cpu-2"), None, json!({})),
    ];
    for n in &nodes {
        api.post("/api/v1/nodes", n.clone()).await;
    }
    let pods = format!("/api/v1/namespaces/{ns}/pods");
    let tolerate =
        json!({"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]});

    // 1. Tainted GPU nodes, no toleration.
    api.post(&pods, pod("no-toleration", 1, json!({}))).await;
    let said = verdict(&api, &ns, "no-toleration").await.unwrap_err();
    assert!(said.contains("untolerated taint"), "scheduler: {said}");
    let ours = explain(&api, &ns, "no-toleration").await;
    assert_eq!(ours.findings[0].code, "untolerated_taint", "{ours:?}");
    assert_eq!(
        ours.findings[0].message,
        "2 nvidia.com/gpu nodes exist but carry taint nvidia.com/gpu=present:NoSchedule; add a toleration"
    );

    // 2. A selector no node satisfies.
    let mut extra = tolerate.clone();
    extra["nodeSelector"] = json!({"gpu-type": "a100"});
    api.post(&pods, pod("wants-a100", 1, extra)).await;
    let said = verdict(&api, &ns, "wants-a100").await.unwrap_err();
    assert!(said.contains("didn't match Pod's node affinity/selector"), "scheduler: {said}");
    assert_eq!(
        explain(&api, &ns, "wants-a100").await.findings[0].message,
        "nodeSelector gpu-type=a100 matches no node"
    );

    // 3. With a toleration the scheduler places it, on a node we also say fits.
    api.post(&pods, pod("fills-1", 8, tolerate.clone())).await;
    let placed = verdict(&api, &ns, "fills-1").await.expect("placed");
    assert!(placed.contains("-gpu-"), "{placed}");
    api.post(&pods, pod("fills-2", 8, tolerate.clone())).await;
    verdict(&api, &ns, "fills-2").await.expect("placed");

    // 4. All 16 GPUs taken: the scheduler says Insufficient; we say who holds them and that the run waits.
    api.post(&pods, pod("waits", 2, tolerate.clone())).await;
    let said = verdict(&api, &ns, "waits").await.unwrap_err();
    assert!(said.contains("Insufficient nvidia.com/gpu"), "scheduler: {said}");
    let ours = explain(&api, &ns, "waits").await;
    assert_eq!(ours.findings[0].code, "insufficient_gpu", "{ours:?}");
    assert!(ours.findings[0].message.starts_with("16 of 16 nvidia.com/gpu are in use by 2 pods"), "{ours:?}");

    // 5. More than any node has.
    api.post(&pods, pod("too-big", 12, tolerate.clone())).await;
    assert!(verdict(&api, &ns, "too-big").await.unwrap_err().contains("Insufficient nvidia.com/gpu"));
    assert_eq!(explain(&api, &ns, "too-big").await.findings[0].code, "insufficient_gpu");

    api.delete(&format!("/api/v1/namespaces/{ns}")).await;
    for n in &nodes {
        api.delete(&format!("/api/v1/nodes/{}", n["metadata"]["name"].as_str().unwrap())).await;
    }
}
