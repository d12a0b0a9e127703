//! A run's Kubernetes-typed sections — the container, sidecars, init containers, volumes and the environment's
//! affinity, tolerations, host aliases, security context and DNS config, in a job or in each replica — read
//! against the Kubernetes schema. A key the type does not have is refused, naming the nearest field, as Polyaxon
//! refuses it: the cluster would drop it (`resourcez: {limits: {nvidia.com/gpu: 1}}` would run without a GPU).
//! Deeper keys and values of the wrong type, which Polyaxon lets through, are warned about.

use k8s_openapi::api::core::v1::{
    Affinity, Container, HostAlias, PodDNSConfig, SecurityContext, Toleration, Volume,
};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::compile::{join, At, Compiler};
use crate::kube_schema::{check, Finding};

/// Checks the rendered `run` of a `kind` run; `at` locates the run (`…run`).
pub(crate) fn check_run(c: &mut Compiler, run: &Value, kind: &str, at: At) {
    match kind {
        "job" | "service" => pod(c, run, at),
        "raycluster" => {
            pod_at(c, run, "head", at);
            if let Some(Value::Object(workers)) = run.get("workers") {
                let base = join(at.path, "workers");
                for (name, w) in workers {
                    pod(c, w, At { doc: at.doc, path: &join(&base, name) });
                }
            }
        }
        _ => {
            for r in crate::schema::replica_keys(kind) {
                pod_at(c, run, r, at);
            }
        }
    }
}

fn pod_at(c: &mut Compiler, run: &Value, key: &str, at: At) {
    if let Some(v) = run.get(key).filter(|v| v.is_object()) {
        pod(c, v, At { doc: at.doc, path: &join(at.path, key) });
    }
}

/// The typed sections of one pod's worth of a run.
fn pod(c: &mut Compiler, p: &Value, at: At) {
    if let Some(v) = p.get("container") {
        container(c, v, &join(at.path, "container"), at.doc);
    }
    for (i, v) in list(p, "sidecars") {
        container(c, v, &join(at.path, &format!("sidecars[{i}]")), at.doc);
    }
    for (i, v) in list(p, "init") {
        if let Some(ct) = v.get("container") {
            container(c, ct, &join(at.path, &format!("init[{i}].container")), at.doc);
        }
        tensorboard_uuids(c, v, &join(at.path, &format!("init[{i}].tensorboard.uuids")), at.doc);
    }
    for (i, v) in list(p, "volumes") {
        typed::<Volume>(c, v, &join(at.path, &format!("volumes[{i}]")), at.doc);
    }
    let Some(env) = p.get("environment").filter(|e| e.is_object()) else { return };
    let base = join(at.path, "environment");
    if let Some(v) = env.get("affinity") {
        typed::<Affinity>(c, v, &join(&base, "affinity"), at.doc);
    }
    for (i, v) in list(env, "tolerations") {
        typed::<Toleration>(c, v, &join(&base, &format!("tolerations[{i}]")), at.doc);
    }
    for (i, v) in list(env, "hostAliases") {
        typed::<HostAlias>(c, v, &join(&base, &format!("hostAliases[{i}]")), at.doc);
    }
    // Polyaxon reads the environment's securityContext as a container's (`V1SecurityContext`).
    if let Some(v) = env.get("securityContext") {
        typed::<SecurityContext>(c, v, &join(&base, "securityContext"), at.doc);
    }
    if let Some(v) = env.get("dnsConfig") {
        typed::<PodDNSConfig>(c, v, &join(&base, "dnsConfig"), at.doc);
    }
}

/// A TensorBoard init step's `uuids`, once rendered, are runs' uuids (Polyaxon reads each with `uuid.UUID`).
fn tensorboard_uuids(c: &mut Compiler, step: &Value, path: &str, doc: usize) {
    let Some(uuids) = step.get("tensorboard").and_then(|t| t.get("uuids")).and_then(Value::as_array) else {
        return;
    };
    for (i, u) in uuids.iter().enumerate() {
        let text = u.as_str().unwrap_or_default();
        if text.contains("{{") || is_uuid(text) {
            continue;
        }
        c.error(
            At { doc, path: &format!("{path}[{i}]") },
            "invalid_value",
            format!("TensorBoard init `uuids` are run uuids; {u} is not a uuid"),
        );
    }
}

/// What Python's `uuid.UUID(text)` accepts: 32 hex digits, with hyphens, braces or a `urn:uuid:` prefix.
fn is_uuid(text: &str) -> bool {
    let t = text.strip_prefix("urn:uuid:").unwrap_or(text);
    let t = t.trim_matches(|c| c == '{' || c == '}');
    let hex: String = t.chars().filter(|c| *c != '-').collect();
    hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

fn list<'v>(v: &'v Value, key: &str) -> impl Iterator<Item = (usize, &'v Value)> {
    v.get(key).and_then(Value::as_array).into_iter().flatten().enumerate()
}

/// A container; its name is optional in a polyaxonfile (Myelin names the main one).
fn container(c: &mut Compiler, v: &Value, path: &str, doc: usize) {
    if !v.is_object() {
        return;
    }
    let mut named = v.clone();
    if named.get("name").is_none_or(Value::is_null) {
        named["name"] = json!("main");
    }
    typed::<Container>(c, &named, path, doc);
}

fn typed<T: DeserializeOwned>(c: &mut Compiler, v: &Value, path: &str, doc: usize) {
    // A string here is a reference or template Polyaxon resolves later; only mappings are read now.
    if !v.is_object() {
        return;
    }
    for f in check::<T>(v) {
        let p = join(path, f.path());
        let at = At { doc, path: &p };
        match &f {
            Finding::Unknown { .. } if f.at_top() => c.error(at, "unknown_field", f.message()),
            _ => c.warn(at, "kubernetes_schema", f.message()),
        }
    }
}
