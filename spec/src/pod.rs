//! Pods from a run section (`container`, `environment`, `connections`, `volumes`, `init`, `sidecars`): the
//! pod template every workload kind embeds.

use serde_json::{json, Map, Value};

use crate::catalog::Catalog;

/// A JSON object of these entries, each value moved in: `json!` would serialize every value over again (a pod
/// spec, copied whole, was a tenth of a job's compile).
pub(crate) fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// Keys whose children are names users chose (resource names, labels, env names): never camelCased.
const USER_KEYED: &[&str] = &[
    "requests",
    "limits",
    "nodeSelector",
    "node_selector",
    "labels",
    "annotations",
    "matchLabels",
    "match_labels",
    "data",
];

/// snake_case keys of Kubernetes objects become camelCase (Polyaxon accepts both spellings).
pub fn camel(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, x) in m {
                let key = camel_key(k);
                let val = if USER_KEYED.contains(&k.as_str()) { x.clone() } else { camel(x) };
                out.insert(key, val);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(camel).collect()),
        other => other.clone(),
    }
}

pub(crate) fn camel_key(k: &str) -> String {
    if !k.bytes().skip(1).any(|b| b == b'_') {
        return k.to_string();
    }
    let mut out = String::with_capacity(k.len());
    let mut up = false;
    for (i, c) in k.chars().enumerate() {
        if c == '_' && i > 0 {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn as_list(v: Option<&Value>) -> Vec<Value> {
    into_list(v.cloned())
}

/// `as_list`, the value moved in.
fn into_list(v: Option<Value>) -> Vec<Value> {
    match v {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a,
        Some(other) => vec![other],
    }
}

/// A container as Kubernetes wants it: camelCase keys, `command`/`args` as lists, `volumeMounts` a list.
pub fn container(c: &Value, name: &str) -> Value {
    let mut c = match camel(c) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    c.insert("name".into(), Value::String(name.into()));
    for key in ["command", "args"] {
        if let Some(v) = c.get_mut(key) {
            let list = into_list(Some(v.take()))
                .into_iter()
                .map(|x| match x {
                    Value::String(s) => Value::String(s),
                    other => Value::String(scalar_text(&other)),
                })
                .collect();
            *v = Value::Array(list);
        }
    }
    for key in ["volumeMounts", "envFrom", "ports", "env"] {
        if let Some(v) = c.get_mut(key).filter(|v| !v.is_array()) {
            let list = match (key, v.take()) {
                ("env", Value::Object(m)) => {
                    m.into_iter().map(|(n, x)| json!({"name": n, "value": scalar_text(&x)})).collect()
                }
                (_, other) => vec![other],
            };
            *v = Value::Array(list);
        }
    }
    Value::Object(c)
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => crate::render::json_python_str(other),
    }
}

pub fn requests_gpu(c: &Value) -> bool {
    let r = &c["resources"];
    ["limits", "requests"]
        .iter()
        .any(|k| r[k].as_object().is_some_and(|m| m.keys().any(|n| n.ends_with("/gpu"))))
}

/// Scheduling and security fields copied from `environment` to the pod spec.
const ENV_POD_FIELDS: &[&str] = &[
    "nodeSelector",
    "affinity",
    "tolerations",
    "nodeName",
    "serviceAccountName",
    "hostAliases",
    "securityContext",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "dnsPolicy",
    "dnsConfig",
    "schedulerName",
    "priorityClassName",
    "priority",
    "restartPolicy",
    "runtimeClassName",
    "terminationGracePeriodSeconds",
    "shareProcessNamespace",
];

pub struct PodInput<'a> {
    pub section: &'a Value,
    pub main_name: &'a str,
    /// Used when `environment.restartPolicy` is not set.
    pub restart_policy: Option<&'a str>,
    pub catalog: &'a Catalog,
    pub run_labels: &'a Map<String, Value>,
    /// The run has a `build`: its image is the one the build pushes, so the container may name none.
    pub built: bool,
    /// `plugins.shm` (Polyaxon's default: on): a memory-backed `/dev/shm` for the main container, which
    /// otherwise gets the container runtime's 64 MB (PyTorch's DataLoader workers need more).
    pub shm: bool,
}

/// The pod template (`{metadata, spec}`) of a run section.
pub fn template(p: &PodInput) -> Result<Value, String> {
    let s = p.section;
    let mut env = match camel(&s["environment"]) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut spec = Map::new();
    for f in ENV_POD_FIELDS {
        if let Some(v) = env.swap_remove(*f).filter(|v| !v.is_null()) {
            spec.insert((*f).into(), v);
        }
    }
    if let Some(secrets) = env.get("imagePullSecrets").and_then(Value::as_array) {
        let list: Vec<Value> =
            secrets.iter().map(|x| if x.is_string() { json!({"name": x}) } else { x.clone() }).collect();
        spec.insert("imagePullSecrets".into(), Value::Array(list));
    }
    if !spec.contains_key("restartPolicy") {
        if let Some(r) = p.restart_policy {
            spec.insert("restartPolicy".into(), Value::String(r.into()));
        }
    }

    let mut volumes: Vec<Value> = as_list(s.get("volumes")).iter().map(camel).collect();
    let mut main = container(s.get("container").unwrap_or(&Value::Null), p.main_name);
    if main.get("image").is_none_or(Value::is_null) && !p.built {
        return Err("the run has no container image (`run.container.image`)".into());
    }
    let m = main.as_object_mut().expect("container is an object");
    let mut mounts = into_list(m.get_mut("volumeMounts").map(Value::take));
    let mut env_from = into_list(m.get_mut("envFrom").map(Value::take));
    for name in as_list(s.get("connections")) {
        let name = name.as_str().unwrap_or_default().to_string();
        let c = p.catalog.get(&name).ok_or_else(|| p.catalog.missing(&name))?;
        c.attach(&mut volumes, &mut mounts, &mut env_from);
    }
    let shm_mounted =
        mounts.iter().any(|m| m["mountPath"].as_str().is_some_and(|p| p.trim_end_matches('/') == "/dev/shm"));
    if p.shm && !shm_mounted {
        volumes.push(json!({"name": "myelin-shm", "emptyDir": {"medium": "Memory"}}));
        mounts.push(json!({"name": "myelin-shm", "mountPath": "/dev/shm"}));
    }
    // An init step with a `path` of its own fills a volume there, which the main container sees (as Polyaxon
    // mounts one per path). The user asked for it, so it is not named as Myelin's own (`myelin-…`) volumes are.
    let init_steps = as_list(s.get("init"));
    let mut init_paths: Vec<&str> = Vec::new();
    for step in init_steps.iter().filter(|s| s.get("container").is_none()) {
        if let Some(path) = step.get("path").and_then(Value::as_str).filter(|p| !p.is_empty()) {
            if !init_paths.contains(&path) {
                init_paths.push(path);
            }
        }
    }
    let init_volume =
        |path: &str| format!("init-path-{}", init_paths.iter().position(|p| *p == path).unwrap_or(0));
    for path in &init_paths {
        volumes.push(json!({"name": init_volume(path), "emptyDir": {}}));
        mounts.push(json!({"name": init_volume(path), "mountPath": path}));
    }
    let mut main_env = into_list(main.get_mut("env").map(Value::take));
    if !requests_gpu(&main) {
        main_env.push(json!({"name": "NVIDIA_VISIBLE_DEVICES", "value": "none"}));
    }
    let m = main.as_object_mut().expect("container is an object");
    for (k, v) in [("volumeMounts", mounts), ("envFrom", env_from), ("env", main_env)] {
        if v.is_empty() {
            m.remove(k);
        } else {
            m.insert(k.into(), Value::Array(v));
        }
    }

    let mut init_containers = Vec::new();
    for (i, step) in init_steps.iter().enumerate() {
        if let Some(conn) = step.get("connection").and_then(Value::as_str) {
            if p.catalog.get(conn).is_none() {
                return Err(format!("{} (run.init[{i}].connection)", p.catalog.missing(conn)));
            }
        }
        if let Some(c) = step.get("container") {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("init-{i}"));
            init_containers.push(container(c, &name));
        } else {
            let kind = [
                "git",
                "artifacts",
                "file",
                "dockerfile",
                "tensorboard",
                "lineageRef",
                "modelRef",
                "artifactRef",
            ]
            .into_iter()
            .find(|k| step.get(*k).is_some())
            .unwrap_or("artifacts");
            // Myelin's own initializer realises declarative steps (clone, copy, write files). Its resources
            // are Polyaxon's for its initializer, so a namespace whose quota demands requests and limits
            // admits it.
            let mut init = json!({
                "name": format!("myelin-init-{}-{i}", kind.to_lowercase()),
                "image": "myelin/init:latest",
                "imagePullPolicy": "IfNotPresent",
                "args": ["init", kind, step.to_string()],
                "resources": {"limits": {"cpu": "1", "memory": "500Mi"}, "requests": {"cpu": "0.1", "memory": "60Mi"}},
            });
            if let Some(path) = step.get("path").and_then(Value::as_str).filter(|p| !p.is_empty()) {
                init["volumeMounts"] = json!([{"name": init_volume(path), "mountPath": path}]);
            }
            init_containers.push(init);
        }
    }
    let sidecars: Vec<Value> = as_list(s.get("sidecars"))
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("sidecar-{i}"));
            container(c, &name)
        })
        .collect();

    let mut containers = vec![main];
    containers.extend(sidecars);
    spec.insert("containers".into(), Value::Array(containers));
    if !init_containers.is_empty() {
        spec.insert("initContainers".into(), Value::Array(init_containers));
    }
    if !volumes.is_empty() {
        spec.insert("volumes".into(), Value::Array(volumes));
    }
    let mut labels = p.run_labels.clone();
    if let Some(user) = env.get("labels").and_then(Value::as_object) {
        labels.extend(user.iter().map(|(k, v)| (k.clone(), Value::String(scalar_text(v)))));
    }
    let mut metadata = object([("labels", Value::Object(labels))]);
    if let Some(a) = env.get("annotations").and_then(Value::as_object) {
        let a: Map<String, Value> =
            a.iter().map(|(k, v)| (k.clone(), Value::String(scalar_text(v)))).collect();
        metadata["annotations"] = Value::Object(a);
    }
    Ok(object([("metadata", metadata), ("spec", Value::Object(spec))]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_get_kubernetes_shapes() {
        let c = container(
            &json!({"image": "x", "command": "python t.py", "volume_mounts": {"name": "v", "mount_path": "/m"}, "resources": {"limits": {"nvidia.com/gpu": 1}}}),
            "main",
        );
        assert_eq!(c["command"], json!(["python t.py"]));
        assert_eq!(c["volumeMounts"], json!([{"name": "v", "mountPath": "/m"}]));
        assert!(requests_gpu(&c));
    }
}
