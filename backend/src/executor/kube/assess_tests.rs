//! The classifier on the scheduler's verbatim messages across Kubernetes versions, and the status of objects
//! as the API gives them (the end-to-end cases run against the real control plane in tests/k8s).

use serde_json::json;

use super::*;

#[test]
fn scheduler_messages_of_every_wording_are_classified() {
    let cases = [
        // 1.25+
        ("0/4 nodes are available: 2 Insufficient nvidia.com/gpu, 2 node(s) had untolerated taint {nvidia.com/gpu: present}. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.", "insufficient_gpu"),
        ("0/2 nodes are available: 2 node(s) had untolerated taint {nvidia.com/gpu: present}. preemption: ...", "untolerated_taint"),
        // 1.35 (key and value removed)
        ("0/2 nodes are available: 2 node(s) had untolerated taint(s). preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.", "untolerated_taint"),
        // 1.19–1.24
        ("0/3 nodes are available: 3 node(s) had taint {nvidia.com/gpu: present}, that the pod didn't tolerate.", "untolerated_taint"),
        // ≤1.18
        ("0/3 nodes are available: 3 node(s) had taints that the pod didn't tolerate.", "untolerated_taint"),
        ("0/4 nodes are available: 4 node(s) didn't match Pod's node affinity/selector. preemption: ...", "node_selector_mismatch"),
        ("0/4 nodes are available: 4 node(s) didn't match node selector.", "node_selector_mismatch"),
        ("0/2 nodes are available: 2 node(s) were unschedulable.", "all_cordoned"),
        ("0/2 nodes are available: 2 Insufficient memory.", "insufficient_memory"),
        ("0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.", "volume"),
        ("persistentvolumeclaim \"data\" not found", "volume"),
        ("0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.", "unschedulable"),
    ];
    for (msg, code) in cases {
        assert_eq!(classify_scheduler_message(msg), code, "{msg}");
    }
}

#[test]
fn the_preemption_tail_does_not_decide() {
    // Only the part before " preemption:" is about this pod's fit.
    let msg = "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Insufficient nvidia.com/gpu.";
    assert_eq!(classify_scheduler_message(msg), "node_selector_mismatch");
}

fn job(conditions: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "spec": {"activeDeadlineSeconds": 30}, "status": {"conditions": conditions}})
}

fn seen<'a>(top: &'a serde_json::Value, pods: &[&'a serde_json::Value]) -> Observed {
    assess(&Seen { top, pods: pods.to_vec(), warnings: vec![], nodes: &[] })
}

#[test]
fn job_conditions_end_the_run() {
    let done = job(json!([{"type": "Complete", "status": "True"}]));
    assert_eq!(seen(&done, &[]).status, Status::Succeeded);
    let late = job(json!([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]));
    let o = seen(&late, &[]);
    assert_eq!((o.status, o.diagnosis.unwrap().code.as_str()), (Status::Failed, "deadline_exceeded"));
    let off = job(json!([{"type": "Complete", "status": "False"}]));
    assert_eq!(seen(&off, &[]).status, Status::Scheduled, "a False condition says nothing");
}

#[test]
fn a_pending_pod_without_a_verdict_waits_for_the_scheduler() {
    let top = job(json!([]));
    let pod = json!({"metadata": {"name": "p", "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": {}, "status": {"phase": "Pending"}});
    let o = seen(&top, &[&pod]);
    assert_eq!((o.status, o.reason.as_str()), (Status::Scheduled, "Pending"));
    assert!(o.diagnosis.is_none());
}

#[test]
fn a_missing_secret_is_a_container_config_warning() {
    let top = job(json!([]));
    let pod = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n"}, "status": {"phase": "Pending",
        "containerStatuses": [{"name": "main", "image": "i", "state": {"waiting": {"reason": "CreateContainerConfigError", "message": "secret \"db\" not found"}}}]}});
    let o = seen(&top, &[&pod]);
    assert_eq!(o.status, Status::Warning);
    let d = o.diagnosis.unwrap();
    assert_eq!(d.code, "container_config");
    assert!(d.message.contains("secret \"db\" not found"), "{d:?}");
}

#[test]
fn the_status_line_keeps_the_verdict_without_asides() {
    let msg = "0/1 nodes are available: 1 node(s) had untolerated taint(s). no new claims to deallocate, preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";
    assert_eq!(first_sentence(msg), "0/1 nodes are available: 1 node(s) had untolerated taint(s).");
}

fn refused(message: &str) -> Observed {
    let top = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "run-x-0"}, "status": {}});
    let event = json!({"reason": "FailedCreate", "type": "Warning", "message": message,
        "involvedObject": {"kind": "Job", "name": "run-x-0"}});
    assess(&Seen { top: &top, pods: vec![], warnings: vec![&event], nodes: &[] })
}

#[test]
fn a_pod_the_apiserver_refuses_is_diagnosed_by_what_refused_it() {
    let o = refused("Error creating: pods \"run-x-0-abcde\" is forbidden: exceeded quota: team, requested: requests.nvidia.com/gpu=2, used: requests.nvidia.com/gpu=7, limited: requests.nvidia.com/gpu=8");
    assert_eq!((o.status, o.reason.as_str()), (Status::Unschedulable, "FailedCreate"));
    let d = o.diagnosis.unwrap();
    assert_eq!(d.code, "resource_quota");
    assert!(d.message.contains("`team` is used up: this run requests requests.nvidia.com/gpu=2, requests.nvidia.com/gpu=7 is in use and the quota allows requests.nvidia.com/gpu=8"), "{}", d.message);
    let d = refused("Error creating: pods \"p\" is forbidden: failed quota: team: must specify limits.cpu for: main; limits.memory for: main").diagnosis.unwrap();
    assert_eq!(d.code, "resource_quota");
    assert!(d.message.contains("`team` needs every container to say what it uses (must specify limits.cpu for: main; limits.memory for: main)"), "{}", d.message);
    let d = refused("Error creating: pods \"p\" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, maximum memory usage per Pod is 1Gi, but limit is 2Gi]").diagnosis.unwrap();
    assert_eq!(d.code, "limit_range");
    assert!(d.message.starts_with("a LimitRange of the namespace refuses the pod: maximum cpu usage per Container is 1, but limit is 2, maximum memory"), "{}", d.message);
    let d = refused("Error creating: pods \"p\" is forbidden: violates PodSecurity \"restricted:latest\"")
        .diagnosis
        .unwrap();
    assert_eq!(d.code, "failed_create");
    // Another Job's refusal says nothing about this one.
    let top = json!({"kind": "Job", "metadata": {"name": "run-y-0"}, "status": {}});
    let event = json!({"reason": "FailedCreate", "message": "x", "involvedObject": {"kind": "Job", "name": "run-x-0"}});
    assert_eq!(
        assess(&Seen { top: &top, pods: vec![], warnings: vec![&event], nodes: &[] }).status,
        Status::Scheduled
    );
}

#[test]
fn a_pod_waiting_on_its_claim_names_it_and_the_fix() {
    let spec = json!({"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "datasets"}}], "containers": [{"name": "main"}]});
    let d = unschedulable_diagnosis(
        &spec,
        &[],
        "0/2 nodes are available: persistentvolumeclaim \"datasets\" not found.",
    );
    assert_eq!(d.code, "volume");
    assert!(d.message.contains("`datasets`, which does not exist"), "{}", d.message);
    let d = unschedulable_diagnosis(
        &spec,
        &[],
        "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
    );
    assert!(
        d.message.contains("`datasets` to be bound to a volume: give the claim a StorageClass"),
        "{}",
        d.message
    );
}

#[test]
fn an_image_pull_without_its_pull_secret_names_the_secret() {
    let top = job(json!([]));
    let pod = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n", "imagePullSecrets": [{"name": "regcred"}]}, "status": {"phase": "Pending",
        "containerStatuses": [{"name": "main", "image": "reg.example/private:1", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}]}});
    // The kubelet's words (pkg/kubelet/kuberuntime: "Unable to retrieve some image pull secrets (%s); …").
    let event = json!({"reason": "FailedToRetrieveImagePullSecret", "type": "Warning", "involvedObject": {"kind": "Pod", "name": "p"},
        "message": "Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed."});
    let o = assess(&Seen { top: &top, pods: vec![&pod], warnings: vec![&event], nodes: &[] });
    let d = o.diagnosis.unwrap();
    assert_eq!(d.code, "missing_pull_secret");
    assert!(
        d.message.contains("reg.example/private:1: the pull secret `regcred` the pod names does not exist"),
        "{}",
        d.message
    );
    // Without that event, an image pull failure is what it was.
    assert_eq!(seen(&top, &[&pod]).diagnosis.unwrap().code, "image_pull");
}

#[test]
fn ray_and_dask_objects_report_their_operators_status() {
    let ray =
        |status: serde_json::Value| json!({"apiVersion": "ray.io/v1", "kind": "RayJob", "status": status});
    assert_eq!(seen(&ray(json!({})), &[]).status, Status::Scheduled);
    assert_eq!(seen(&ray(json!({"jobStatus": "RUNNING"})), &[]).status, Status::Running);
    let done = seen(&ray(json!({"jobStatus": "SUCCEEDED", "jobDeploymentStatus": "Complete"})), &[]);
    assert_eq!(done.status, Status::Succeeded);
    let failed = seen(&ray(json!({"jobStatus": "FAILED", "message": "exit code 1"})), &[]);
    assert_eq!((failed.status, failed.message.as_str()), (Status::Failed, "the RayJob failed: exit code 1"));
    let cluster = json!({"apiVersion": "ray.io/v1", "kind": "RayCluster", "status": {"state": "ready"}});
    assert_eq!(seen(&cluster, &[]).status, Status::Running);
    let dask = json!({"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskCluster", "status": {"phase": "Running"}});
    assert_eq!(seen(&dask, &[]).status, Status::Running);
    let created = json!({"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskCluster", "status": {"phase": "Created"}});
    assert_eq!(seen(&created, &[]).status, Status::Scheduled);
}

#[test]
fn a_deployment_whose_replica_set_cannot_create_its_pod_is_diagnosed() {
    let top = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "run-x-0"}});
    let event = json!({"reason": "FailedCreate", "type": "Warning",
        "message": "Error creating: pods \"run-x-0-5d9c-abcde\" is forbidden: exceeded quota: team-cpu, requested: requests.cpu=2, used: requests.cpu=0, limited: requests.cpu=500m",
        "involvedObject": {"kind": "ReplicaSet", "name": "run-x-0-5d9c"}});
    let o = assess(&Seen { top: &top, pods: vec![], warnings: vec![&event], nodes: &[] });
    assert_eq!(o.diagnosis.map(|d| d.code), Some("resource_quota".to_string()));
    let other = json!({"reason": "FailedCreate", "type": "Warning", "message": "x",
        "involvedObject": {"kind": "ReplicaSet", "name": "run-y-0-5d9c"}});
    let o = assess(&Seen { top: &top, pods: vec![], warnings: vec![&other], nodes: &[] });
    assert!(o.diagnosis.is_none(), "another Deployment's ReplicaSet says nothing of this one");
}
