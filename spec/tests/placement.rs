//! `spec::placement` on hand-made clusters (the Kubernetes tier checks it against the real scheduler).

use serde_json::{json, Value};
use spec::placement::{explain, quantity, Diagnosis, Needs, NodeView};

fn gpu_node(name: &str, gpus: u32, tainted: bool) -> Value {
    let taints = if tainted {
        json!([{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}])
    } else {
        json!([])
    };
    json!({"metadata": {"name": name, "labels": {"gpu-type": "v100"}}, "spec": {"taints": taints},
           "status": {"allocatable": {"cpu": "32", "memory": "128Gi", "nvidia.com/gpu": gpus.to_string(), "pods": "110"}}})
}

fn cpu_node(name: &str) -> Value {
    json!({"metadata": {"name": name}, "status": {"allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"}}})
}

fn pod(gpus: u32, extra: Value) -> Value {
    let mut spec = json!({"containers": [{"name": "main", "resources": {"limits": {"nvidia.com/gpu": gpus.to_string()}, "requests": {"cpu": "500m", "memory": "1Gi"}}}]});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    spec
}

fn views(nodes: &[Value]) -> Vec<NodeView> {
    nodes.iter().map(|n| NodeView::of_node(n, &[])).collect()
}

fn message(d: &Diagnosis) -> String {
    d.findings.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; ")
}

#[test]
fn quantities() {
    assert_eq!(quantity(&json!("500m")), Some(0.5));
    assert_eq!(quantity(&json!("4Gi")), Some(4.0 * 1024f64.powi(3)));
    assert_eq!(quantity(&json!("1.5G")), Some(1.5e9));
    assert_eq!(quantity(&json!("2e3")), Some(2000.0));
    assert_eq!(quantity(&json!(8)), Some(8.0));
    assert_eq!(quantity(&json!("8 bananas")), None);
}

#[test]
fn no_node_offers_the_gpu() {
    let d = explain(&Needs::of_pod_spec(&pod(1, json!({}))), &views(&[cpu_node("c1"), cpu_node("c2")]));
    assert_eq!(d.findings[0].code, "insufficient_gpu");
    assert!(!d.findings[0].waits, "{d:?}");
    assert_eq!(message(&d), "no node offers nvidia.com/gpu");
}

#[test]
fn gpu_nodes_are_tainted() {
    let nodes = views(&[gpu_node("g1", 8, true), gpu_node("g2", 8, true), cpu_node("c1")]);
    let d = explain(&Needs::of_pod_spec(&pod(1, json!({}))), &nodes);
    assert_eq!(
        message(&d),
        "2 nvidia.com/gpu nodes exist but carry taint nvidia.com/gpu=present:NoSchedule; add a toleration"
    );
    let tolerant = pod(
        1,
        json!({"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}),
    );
    assert_eq!(explain(&Needs::of_pod_spec(&tolerant), &nodes).fits, vec!["g1", "g2"]);
}

#[test]
fn all_gpus_busy_means_wait() {
    let busy = pod(8, json!({}));
    let runs = [json!({"spec": busy, "status": {"phase": "Running"}})];
    let done = json!({"spec": pod(8, json!({})), "status": {"phase": "Succeeded"}});
    let nodes = vec![
        NodeView::of_node(&gpu_node("g1", 8, false), &[&runs[0]]),
        NodeView::of_node(&gpu_node("g2", 8, false), &[&runs[0], &done]),
    ];
    let d = explain(&Needs::of_pod_spec(&pod(2, json!({}))), &nodes);
    assert!(d.fits.is_empty());
    assert_eq!(d.findings[0].code, "insufficient_gpu");
    assert!(d.findings[0].waits, "{d:?}");
    assert_eq!(
        message(&d),
        "16 of 16 nvidia.com/gpu are in use by 2 pods (the largest free share on one node is 0, the run needs 2); this run waits"
    );
}

#[test]
fn selectors_and_affinity() {
    let nodes = views(&[gpu_node("g1", 8, false)]);
    let sel = pod(1, json!({"nodeSelector": {"gpu-type": "a100"}}));
    assert_eq!(
        message(&explain(&Needs::of_pod_spec(&sel), &nodes)),
        "nodeSelector gpu-type=a100 matches no node"
    );
    let aff = pod(
        1,
        json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "gpu-type", "operator": "In", "values": ["a100"]}]},
        {"matchExpressions": [{"key": "gpu-type", "operator": "Exists"}]}]}}}}),
    );
    assert_eq!(explain(&Needs::of_pod_spec(&aff), &nodes).fits, vec!["g1"]);
}

#[test]
fn asking_more_than_any_node_has_never_fits() {
    let d = explain(&Needs::of_pod_spec(&pod(16, json!({}))), &views(&[gpu_node("g1", 8, false)]));
    assert_eq!(d.findings[0].code, "insufficient_gpu");
    assert!(!d.findings[0].waits, "{d:?}");
    assert!(
        message(&d).contains("asks for 16 nvidia.com/gpu but the largest node offers 8"),
        "{}",
        message(&d)
    );
}

#[test]
fn cordoned_and_empty_clusters() {
    let mut n = views(&[gpu_node("g1", 8, false)]);
    n[0].unschedulable = true;
    assert_eq!(explain(&Needs::default(), &n).findings[0].code, "all_cordoned");
    assert_eq!(explain(&Needs::default(), &[]).findings[0].code, "no_nodes");
}

/// What a pre-flight check walks: every run a file makes, named by where it is, children before their parent.
#[test]
fn each_run_names_ops_and_matrix_children_by_their_place() {
    let text = "kind: component\nname: flow\nrun:\n  kind: dag\n  operations:\n  - {name: prep, component: {run: {kind: job, container: {image: 'a:1'}}}}\n  - name: sweep\n    matrix: {kind: grid, params: {lr: {kind: choice, value: [0.1, 0.01]}, opt: {kind: choice, value: [adam]}}}\n    component:\n      inputs: [{name: lr, type: float}, {name: opt, type: str}]\n      run: {kind: job, container: {image: 'b:1'}}\n";
    let out = spec::compile(&spec::Options {
        limits: Default::default(),
        policy: None,
        files: vec![spec::Source { name: "f.yaml".into(), text: text.into() }],
        params: vec![],
        catalog: Default::default(),
        refs: &spec::NoRefs,
        run_uuid: None,
        execution: spec::Execution { all_children: true, ..Default::default() },
    });
    assert!(out.valid, "{:?}", out.errors);
    let names: Vec<String> = out.run.each_run().into_iter().map(|(at, _)| at).collect();
    assert_eq!(
        names,
        [
            "op `prep`",
            "op `sweep`, matrix child 1 (lr=0.1, opt=adam)",
            "op `sweep`, matrix child 2 (lr=0.01, opt=adam)",
            "op `sweep`",
            ""
        ]
    );
    let images: Vec<usize> =
        out.run.each_run().iter().map(|(_, r)| spec::placement::pod_specs(&r.manifests).len()).collect();
    assert_eq!(images[..3], [1, 1, 1], "the ops and children carry their pods");
}
