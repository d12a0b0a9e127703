//! The manifests the server applies, as compiled (`Retries::Myelin`): snapshots of a representative set of
//! files, reviewed like code. The executor adds only the attempt's name, namespace, labels and the Secret
//! reference of its tracking env (see `backend/src/executor/kube/objects.rs`).

use serde_json::{json, Value};
use spec::compile::{Retries, Termination};
use spec::lifecycle::RunKind;

fn compile(files: &[&str], retries: Retries) -> spec::Compiled {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/files/");
    let sources = files
        .iter()
        .map(|f| spec::Source {
            name: f.to_string(),
            text: std::fs::read_to_string(format!("{dir}{f}")).unwrap(),
        })
        .collect();
    let out = spec::compile(&spec::Options {
        limits: Default::default(),
        policy: None,
        files: sources,
        params: vec![],
        catalog: Default::default(),
        refs: &spec::NoRefs,
        run_uuid: Some("0123456789abcdef0123456789abcdef".into()),
        execution: spec::Execution { retries, ..Default::default() },
    });
    assert!(out.valid, "{files:?}: {:?}", out.errors);
    out
}

/// What the snapshot shows: the typed answer and the objects.
fn shown(c: &spec::Compiled) -> Value {
    json!({
        "kind": c.run.kind, "name": c.run.name, "termination": c.run.termination,
        "main_image": c.run.main_image(), "manifests": c.run.manifests,
        "ops": c.run.ops.iter().map(|o| json!({"name": o.name, "termination": o.run.termination, "manifests": o.run.manifests})).collect::<Vec<_>>(),
        "children": c.run.matrix.as_ref().map(|m| m.children.iter().map(|r| json!({"params": r.params, "manifests": r.manifests})).collect::<Vec<_>>()),
    })
}

#[test]
fn compiled_manifests_are_what_the_server_applies() {
    for file in [
        "job.yaml",
        "operation_component.yaml",
        "service.yaml",
        "tfjob.yaml",
        "pytorchjob.yaml",
        "mpijob.yaml",
        "rayjob.yaml",
        "daskcluster.yaml",
        "dag.yaml",
        "matrix.yaml",
    ] {
        let name = file.trim_end_matches(".yaml");
        insta::assert_json_snapshot!(name, shown(&compile(&[file], Retries::Myelin)));
    }
}

#[test]
fn a_job_myelin_retries_never_retries_in_kubernetes_and_replaces_evicted_pods() {
    let c = compile(&["job.yaml"], Retries::Myelin);
    let spec = &c.run.manifests[0]["spec"];
    assert_eq!(spec["backoffLimit"], 0);
    assert_eq!(spec["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["type"], "DisruptionTarget");
    assert_eq!(spec["podReplacementPolicy"], "Failed");
    assert_eq!(spec["activeDeadlineSeconds"], 600);
    assert_eq!(c.run.termination, Termination { max_retries: Some(2), timeout: Some(600), ttl: Some(60) });
}

#[test]
fn polyaxon_semantics_leave_retries_to_the_job() {
    let c = compile(&["job.yaml"], Retries::Kubernetes);
    let spec = &c.run.manifests[0]["spec"];
    assert_eq!(spec["backoffLimit"], 2);
    assert!(spec.get("podFailurePolicy").is_none());
}

#[test]
fn the_typed_answer_carries_name_kind_and_image() {
    let c = compile(&["job.yaml"], Retries::Myelin);
    assert_eq!(c.run.kind, Some(RunKind::Job));
    assert_eq!(c.run.name.as_deref(), Some("train"));
    assert_eq!(c.run.main_image(), Some("python:3.12"));
    let tf = compile(&["tfjob.yaml"], Retries::Myelin);
    assert_eq!(tf.run.kind, Some(RunKind::TfJob));
    assert_eq!(tf.run.main_image(), Some("tf:2"));
}

#[test]
fn termination_from_an_overlay_and_from_the_operation_reaches_the_answer() {
    let c = compile(&["job.yaml", "overlay_termination.yaml"], Retries::Myelin);
    assert_eq!(c.run.termination, Termination { max_retries: Some(5), timeout: Some(600), ttl: Some(160) });
    assert_eq!(c.run.manifests[0]["spec"]["ttlSecondsAfterFinished"], 160);
    // `termination` of the operation over its inline `component:`'s
    let op = compile(&["operation_component.yaml"], Retries::Myelin);
    assert_eq!(op.run.termination, Termination { max_retries: Some(3), timeout: Some(120), ttl: None });
    assert_eq!(op.run.name.as_deref(), Some("nightly"));
}

#[test]
fn a_pipeline_pushes_its_termination_to_ops_that_set_none() {
    let c = compile(&["dag.yaml"], Retries::Myelin);
    let t: Vec<_> = c.run.ops.iter().map(|o| (o.name.as_str(), o.run.termination.max_retries)).collect();
    assert_eq!(t, [("prepare", Some(1)), ("train", Some(4))]);
    assert_eq!(c.run.children_kinds().into_iter().collect::<Vec<_>>(), [RunKind::Job]);
}

#[test]
fn a_bad_termination_on_the_operation_is_located() {
    let out = spec::compile(&spec::Options {
        limits: Default::default(),
        policy: None,
        files: vec![spec::Source {
            name: "f.yaml".into(),
            text: "kind: operation\ntermination: {maxRetries: lots}\ncomponent:\n  run: {kind: job, container: {image: x}}\n".into(),
        }],
        params: vec![],
        catalog: Default::default(),
        refs: &spec::NoRefs,
        run_uuid: None,
        execution: Default::default(),
    });
    assert!(!out.valid);
    let e = &out.errors[0];
    assert_eq!((e.path.as_str(), e.line, e.code), ("termination.maxRetries", 2, "invalid_type"));
}

#[test]
fn a_negative_termination_is_warned_about_and_ignored() {
    let out = spec::compile(&spec::Options {
        limits: Default::default(),
        policy: None,
        files: vec![spec::Source {
            name: "f.yaml".into(),
            text: "kind: component\ntermination: {maxRetries: -2, timeout: -1}\nrun: {kind: job, container: {image: x}}\n".into(),
        }],
        params: vec![],
        catalog: Default::default(),
        refs: &spec::NoRefs,
        run_uuid: None,
        execution: Default::default(),
    });
    assert!(out.valid, "{:?}", out.errors);
    let warned: Vec<_> = out
        .warnings
        .iter()
        .filter(|w| w.code == "negative_termination")
        .map(|w| (w.path.as_str(), w.line))
        .collect();
    assert_eq!(warned, [("termination.maxRetries", 2), ("termination.timeout", 2)]);
    assert_eq!(out.run.termination, Termination::default());
    assert_eq!(out.run.manifests[0]["spec"]["backoffLimit"], 0);
    assert!(out.run.manifests[0]["spec"].get("activeDeadlineSeconds").is_none());
}

/// Polyaxon's converter fills in what a Dask container leaves out (`_k8s/custom_resources/dask_cluster.py`,
/// checked with the oracle): the worker's command line and dashboard port, the scheduler's ports and probes.
#[test]
fn dask_containers_that_leave_out_args_and_ports_get_polyaxons_defaults() {
    let c = compile(&["dask_minimal.yaml"], Retries::Myelin);
    let spec = &c.run.manifests[0]["spec"];
    let worker = &spec["worker"]["spec"]["containers"][0];
    assert_eq!(
        worker["args"],
        json!(["dask-worker", "--name", "$(DASK_WORKER_NAME)", "--dashboard", "--dashboard-address", "8788"])
    );
    assert_eq!(
        worker["ports"],
        json!([{"containerPort": 8788, "name": "http-dashboard", "protocol": "TCP"}])
    );
    let scheduler = &spec["scheduler"]["spec"]["containers"][0];
    assert_eq!(scheduler["args"], json!(["dask-scheduler"]));
    assert_eq!(scheduler["ports"][0]["containerPort"], 8786);
    assert_eq!(scheduler["readinessProbe"]["httpGet"], json!({"path": "/health", "port": "http-dashboard"}));
    assert_eq!(spec["scheduler"]["service"]["ports"][1]["targetPort"], "http-dashboard");
    // Args a file gives are kept as given.
    let own = compile(&["daskcluster.yaml"], Retries::Myelin);
    let worker = &own.run.manifests[0]["spec"]["worker"]["spec"]["containers"][0];
    assert_eq!(worker["args"], json!(["dask-worker"]));
}

/// Polyaxon's spelling of the rendezvous keys (`rdvzBackend`, the only one it takes) reaches Kubeflow as
/// Kubeflow's (`rdzvBackend`): passed on as written, the cluster would drop them.
#[test]
fn an_elastic_pytorchjob_reaches_kubeflow_with_kubeflows_key_names() {
    let c = compile(&["pytorchjob_elastic.yaml"], Retries::Myelin);
    let spec = &c.run.manifests[0]["spec"];
    assert_eq!(
        spec["elasticPolicy"],
        json!({"minReplicas": 1, "maxReplicas": 4, "rdzvBackend": "c10d", "rdzvPort": 29400, "nProcPerNode": 2, "maxRestarts": 3})
    );
    assert_eq!(spec["runPolicy"]["schedulingPolicy"], json!({"minAvailable": 2, "queue": "gpu"}));
}
