//! Myelin's pod policy agrees with the real kube-apiserver's PodSecurity admission: a table of pods, each
//! offered (dry run) to a namespace labelled `pod-security.kubernetes.io/enforce=baseline`, and checked by
//! `spec::policy` with the baseline profile. Same verdict for every pod.

use serde_json::{json, Value};

use crate::support::{cluster, Api};

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"}, "spec": spec})
}

fn main(extra: Value) -> Value {
    let mut c = json!({"name": "main", "image": "busybox:1.36", "command": ["true"]});
    c.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    json!({"containers": [c], "restartPolicy": "Never"})
}

fn with(mut spec: Value, key: &str, v: Value) -> Value {
    spec[key] = v;
    spec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_baseline_agrees_with_the_api_servers_pod_security_admission() {
    let Some(_turn) = cluster().await else { return };
    let api = Api::connect();
    let ns = format!("policy-{}", uuid::Uuid::new_v4().simple());
    api.post(
        "/api/v1/namespaces",
        json!({"metadata": {"name": ns, "labels": {"pod-security.kubernetes.io/enforce": "baseline",
            "pod-security.kubernetes.io/enforce-version": "latest"}}}),
    )
    .await;
    let table = [
        ("plain", main(json!({}))),
        ("privileged", main(json!({"securityContext": {"privileged": true}}))),
        ("host network", with(main(json!({})), "hostNetwork", json!(true))),
        ("host pid", with(main(json!({})), "hostPID", json!(true))),
        ("host ipc", with(main(json!({})), "hostIPC", json!(true))),
        ("host path", with(main(json!({})), "volumes", json!([{"name": "root", "hostPath": {"path": "/"}}]))),
        ("empty dir", with(main(json!({})), "volumes", json!([{"name": "scratch", "emptyDir": {}}]))),
        ("host port", main(json!({"ports": [{"containerPort": 80, "hostPort": 8080}]}))),
        ("container port", main(json!({"ports": [{"containerPort": 80}]}))),
        ("cap SYS_ADMIN", main(json!({"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}))),
        ("cap NET_RAW", main(json!({"securityContext": {"capabilities": {"add": ["NET_RAW"]}}}))),
        (
            "cap NET_BIND_SERVICE",
            main(json!({"securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}})),
        ),
        ("drop ALL", main(json!({"securityContext": {"capabilities": {"drop": ["ALL"]}}}))),
        ("seccomp unconfined", main(json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}))),
        (
            "seccomp runtime default",
            main(json!({"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}})),
        ),
        ("selinux user", main(json!({"securityContext": {"seLinuxOptions": {"user": "system_u"}}}))),
        ("selinux type", main(json!({"securityContext": {"seLinuxOptions": {"type": "spc_t"}}}))),
        (
            "selinux container_t",
            main(json!({"securityContext": {"seLinuxOptions": {"type": "container_t"}}})),
        ),
        (
            "unsafe sysctl",
            with(
                main(json!({})),
                "securityContext",
                json!({"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}),
            ),
        ),
        (
            "safe sysctl",
            with(
                main(json!({})),
                "securityContext",
                json!({"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]}),
            ),
        ),
        (
            "privileged init",
            with(
                main(json!({})),
                "initContainers",
                json!([{"name": "setup", "image": "busybox:1.36", "securityContext": {"privileged": true}}]),
            ),
        ),
    ];
    let policy = spec::policy::Policy::default();
    let catalog = spec::catalog::Catalog::default();
    let mut disagreements = Vec::new();
    let mut refused = 0;
    for (name, spec) in table {
        let (status, body) =
            api.try_post(&format!("/api/v1/namespaces/{ns}/pods?dryRun=All"), pod(spec.clone())).await;
        let admitted = match status {
            200 | 201 => true,
            403 if body["message"].as_str().unwrap_or_default().contains("violates PodSecurity") => false,
            other => panic!("{name}: unexpected answer {other} {body}"),
        };
        let ours = spec::policy::check(&spec, &policy, &catalog);
        refused += usize::from(!admitted);
        if admitted != ours.is_empty() {
            disagreements.push(format!(
                "{name}: API server admitted={admitted}, Myelin found {ours:?}; {}",
                body["message"]
            ));
        }
    }
    api.delete(&format!("/api/v1/namespaces/{ns}")).await;
    assert!(refused >= 10, "the namespace enforces baseline ({refused} refused)");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
