//! `spec::placement` against the real kube-scheduler: fake Nodes (2 tainted GPU nodes, 2 CPU nodes), pods the
//! scheduler refuses or places, and our explanation of the same objects.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{node, Api};

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
    let Some(_turn) = crate::support::cluster().await else { return };
    let api = Api::connect();
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

    // 2b. Required node affinity: no node in the term; the GPU nodes left out by `NotIn`; `Exists` placed.
    let affinity = |expr: Value| {
        let mut extra = tolerate.clone();
        extra["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [{"matchExpressions": [expr]}]}}});
        extra
    };
    api.post(
        &pods,
        pod("wants-h100", 1, affinity(json!({"key": "gpu-type", "operator": "In", "values": ["h100"]}))),
    )
    .await;
    let said = verdict(&api, &ns, "wants-h100").await.unwrap_err();
    assert!(said.contains("didn't match Pod's node affinity/selector"), "scheduler: {said}");
    let ours = explain(&api, &ns, "wants-h100").await;
    assert_eq!(
        (ours.findings[0].code, ours.findings[0].message.as_str()),
        (
            "node_selector_mismatch",
            "no node matches the pod's nodeSelector and required node affinity together"
        )
    );
    api.post(
        &pods,
        pod("not-v100", 1, affinity(json!({"key": "gpu-type", "operator": "NotIn", "values": ["v100"]}))),
    )
    .await;
    let said = verdict(&api, &ns, "not-v100").await.unwrap_err();
    assert!(
        said.contains("Insufficient nvidia.com/gpu") && said.contains("node affinity"),
        "scheduler: {said}"
    );
    let ours = explain(&api, &ns, "not-v100").await;
    assert_eq!(
        (ours.findings[0].code, ours.findings[0].message.as_str()),
        ("insufficient_gpu", "no node offers nvidia.com/gpu among those the pod's selector allows")
    );
    api.post(&pods, pod("any-gpu-node", 0, affinity(json!({"key": "gpu-type", "operator": "Exists"})))).await;
    let placed = verdict(&api, &ns, "any-gpu-node").await.expect("placed");
    let ours = explain(&api, &ns, "any-gpu-node").await;
    assert!(
        placed.contains("-gpu-") && ours.fits.contains(&placed),
        "scheduler chose {placed}, we say {ours:?}"
    );
    assert!(ours.fits.iter().all(|n| n.contains("-gpu-")), "{ours:?}");
    api.delete(&format!("{pods}/any-gpu-node")).await;

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
