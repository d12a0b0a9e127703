//! Why a pod cannot be placed, in words a user can act on: the pod's needs (requests, nodeSelector, required
//! node affinity, tolerations) against the cluster's Nodes and what already runs on them. Pure and independent of
//! the scheduler's wording, which changes between Kubernetes versions; the Kubernetes executor shows it beside
//! the scheduler's own message, and the editor can run it in the browser as a pre-flight check.
//!
//! Objects are Kubernetes JSON (`Pod.spec`, `Node`), as the compiled manifests and the API give them.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// A quantity (`8`, `500m`, `4Gi`, `1.5G`, `2e3`) as a number of base units; `None` when malformed.
pub fn quantity(q: &Value) -> Option<f64> {
    let s = match q {
        Value::Number(n) => return n.as_f64(),
        Value::String(s) => s.trim(),
        _ => return None,
    };
    let split = s.find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E').unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        _ => return None,
    };
    num.parse::<f64>().ok().map(|n| n * factor)
}

/// What a pod asks of a node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Needs {
    /// Resource requests summed over containers (limits stand in for missing requests, as Kubernetes does).
    pub requests: BTreeMap<String, f64>,
    pub node_selector: BTreeMap<String, String>,
    /// Required node affinity: any term may match; within a term every expression must.
    pub affinity: Vec<Vec<Value>>,
    pub tolerations: Vec<Value>,
}

impl Needs {
    /// From a `PodSpec` (e.g. a compiled Job's `spec.template.spec`).
    pub fn of_pod_spec(spec: &Value) -> Self {
        let mut requests = BTreeMap::new();
        for c in spec["containers"].as_array().into_iter().flatten() {
            let r = &c["resources"];
            let names: std::collections::BTreeSet<&String> = r["requests"]
                .as_object()
                .into_iter()
                .chain(r["limits"].as_object())
                .flat_map(|m| m.keys())
                .collect();
            for name in names {
                let q = r["requests"].get(name).or_else(|| r["limits"].get(name)).and_then(quantity);
                *requests.entry(name.clone()).or_insert(0.0) += q.unwrap_or(0.0);
            }
        }
        let terms = &spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            ["nodeSelectorTerms"];
        Needs {
            requests,
            node_selector: spec["nodeSelector"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect(),
            affinity: terms
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| t["matchExpressions"].as_array().cloned().unwrap_or_default())
                .collect(),
            tolerations: spec["tolerations"].as_array().cloned().unwrap_or_default(),
        }
    }
}

/// A node as placement sees it: labels, taints, allocatable and what its pods already request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeView {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Value>,
    pub allocatable: BTreeMap<String, f64>,
    pub used: BTreeMap<String, f64>,
    /// Pods bound to it that still hold resources.
    pub pods: usize,
    pub unschedulable: bool,
}

impl NodeView {
    /// From a `Node` and the pods bound to it (finished pods hold nothing).
    pub fn of_node(node: &Value, pods: &[&Value]) -> Self {
        let mut used = BTreeMap::new();
        let mut holding = 0;
        for p in pods {
            if matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed")) {
                continue;
            }
            holding += 1;
            for (k, v) in Needs::of_pod_spec(&p["spec"]).requests {
                *used.entry(k).or_insert(0.0) += v;
            }
        }
        NodeView {
            name: node["metadata"]["name"].as_str().unwrap_or_default().to_string(),
            labels: node["metadata"]["labels"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect(),
            taints: node["spec"]["taints"].as_array().cloned().unwrap_or_default(),
            allocatable: node["status"]["allocatable"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| quantity(v).map(|q| (k.clone(), q)))
                .collect(),
            used,
            pods: holding,
            unschedulable: node["spec"]["unschedulable"].as_bool().unwrap_or(false),
        }
    }

    fn free(&self, resource: &str) -> f64 {
        self.allocatable.get(resource).copied().unwrap_or(0.0)
            - self.used.get(resource).copied().unwrap_or(0.0)
    }
}

/// One reason, with a stable code for the UI and a sentence for people. Codes: `no_nodes`, `all_cordoned`,
/// `node_selector_mismatch`, `untolerated_taint`, `insufficient_gpu` / `_cpu` / `_memory` / `_resource` (one
/// resource), `insufficient_resources` (no node has all of them free at once).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub message: String,
    /// The run only waits for resources in use to be freed; otherwise it can never be placed as the cluster
    /// stands (what a pre-flight check warns about).
    pub waits: bool,
}

/// The `insufficient_*` code for a resource name.
pub fn insufficient(resource: &str) -> &'static str {
    match resource {
        r if r.ends_with("/gpu") => "insufficient_gpu",
        "cpu" => "insufficient_cpu",
        "memory" => "insufficient_memory",
        _ => "insufficient_resource",
    }
}

/// The verdict: the nodes the pod fits on now, or why none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    pub fits: Vec<String>,
    pub findings: Vec<Finding>,
}

/// `key=value:Effect` (or `key:Effect`).
pub fn taint_text(t: &Value) -> String {
    let (k, v, e) = (
        t["key"].as_str().unwrap_or(""),
        t["value"].as_str().unwrap_or(""),
        t["effect"].as_str().unwrap_or(""),
    );
    if v.is_empty() {
        format!("{k}:{e}")
    } else {
        format!("{k}={v}:{e}")
    }
}

fn tolerates(tolerations: &[Value], taint: &Value) -> bool {
    tolerations.iter().any(|t| {
        let effect_ok =
            t["effect"].as_str().is_none_or(|e| e.is_empty() || Some(e) == taint["effect"].as_str());
        let key_ok = match t["key"].as_str() {
            None | Some("") => t["operator"] == "Exists",
            Some(k) => Some(k) == taint["key"].as_str(),
        };
        let value_ok = t["operator"] == "Exists"
            || t["value"].as_str().unwrap_or("") == taint["value"].as_str().unwrap_or("");
        effect_ok && key_ok && value_ok
    })
}

/// Taints that keep new pods off (`PreferNoSchedule` only discourages).
fn blocking_taints<'a>(n: &'a NodeView, needs: &Needs) -> Vec<&'a Value> {
    n.taints
        .iter()
        .filter(|t| matches!(t["effect"].as_str(), Some("NoSchedule" | "NoExecute")))
        .filter(|t| !tolerates(&needs.tolerations, t))
        .collect()
}

fn expression_matches(e: &Value, labels: &BTreeMap<String, String>) -> bool {
    let key = e["key"].as_str().unwrap_or_default();
    let values: Vec<&str> = e["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let have = labels.get(key).map(String::as_str);
    match e["operator"].as_str().unwrap_or_default() {
        "In" => have.is_some_and(|v| values.contains(&v)),
        "NotIn" => have.is_none_or(|v| !values.contains(&v)),
        "Exists" => have.is_some(),
        "DoesNotExist" => have.is_none(),
        "Gt" | "Lt" => {
            let (Some(h), Some(w)) = (
                have.and_then(|h| h.parse::<i64>().ok()),
                values.first().and_then(|w| w.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if e["operator"] == "Gt" {
                h > w
            } else {
                h < w
            }
        }
        _ => false,
    }
}

fn selected(n: &NodeView, needs: &Needs) -> bool {
    needs.node_selector.iter().all(|(k, v)| n.labels.get(k) == Some(v))
        && (needs.affinity.is_empty()
            || needs.affinity.iter().any(|term| term.iter().all(|e| expression_matches(e, &n.labels))))
}

fn amount(resource: &str, v: f64) -> String {
    match resource {
        "memory" | "ephemeral-storage" => format!("{:.1} GiB", v / 1024f64.powi(3)),
        "cpu" => format!("{} CPU", (v * 1000.0).round() / 1000.0),
        _ => format!("{}", (v * 1000.0).round() / 1000.0),
    }
}

/// Explains where the pod can go, or why it cannot go anywhere.
pub fn explain(needs: &Needs, nodes: &[NodeView]) -> Diagnosis {
    let mut findings = Vec::new();
    let plural =
        |n: usize, one: &str, many: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {many}") };
    if nodes.is_empty() {
        findings.push(Finding { code: "no_nodes", message: "the cluster has no nodes".into(), waits: false });
        return Diagnosis { fits: vec![], findings };
    }
    let schedulable: Vec<&NodeView> = nodes.iter().filter(|n| !n.unschedulable).collect();
    if schedulable.is_empty() {
        findings.push(Finding {
            code: "all_cordoned",
            message: format!("all {} are cordoned (unschedulable)", plural(nodes.len(), "node", "nodes")),
            waits: false,
        });
        return Diagnosis { fits: vec![], findings };
    }
    let matching: Vec<&NodeView> = schedulable.iter().copied().filter(|n| selected(n, needs)).collect();
    if matching.is_empty() {
        let what: Vec<String> = needs.node_selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let selector_alone =
            |n: &NodeView| needs.node_selector.iter().all(|(k, v)| n.labels.get(k) == Some(v));
        let message = if !what.is_empty() && !nodes.iter().any(selector_alone) {
            format!("nodeSelector {} matches no node", what.join(","))
        } else {
            "no node matches the pod's nodeSelector and required node affinity together".to_string()
        };
        findings.push(Finding { code: "node_selector_mismatch", message, waits: false });
        return Diagnosis { fits: vec![], findings };
    }
    let mut candidates = matching.clone();
    for (resource, want) in needs.requests.iter().filter(|(_, w)| **w > 0.0) {
        let offering: Vec<&NodeView> = candidates
            .iter()
            .copied()
            .filter(|n| n.allocatable.get(resource).is_some_and(|a| *a > 0.0))
            .collect();
        if offering.is_empty() {
            findings.push(Finding {
                code: insufficient(resource),
                message: format!(
                    "no node offers {resource}{}",
                    if matching.len() < nodes.len() { " among those the pod's selector allows" } else { "" }
                ),
                waits: false,
            });
            return Diagnosis { fits: vec![], findings };
        }
        let biggest = offering.iter().map(|n| n.allocatable[resource]).fold(0.0, f64::max);
        if biggest < *want {
            findings.push(Finding {
                code: insufficient(resource),
                waits: false,
                message: format!(
                    "the run asks for {} {resource} but the largest node offers {}; it can never be placed",
                    amount(resource, *want),
                    amount(resource, biggest)
                ),
            });
            return Diagnosis { fits: vec![], findings };
        }
        candidates = offering;
    }
    let untainted: Vec<&NodeView> =
        candidates.iter().copied().filter(|n| blocking_taints(n, needs).is_empty()).collect();
    if untainted.is_empty() {
        let mut taints: Vec<String> =
            candidates.iter().flat_map(|n| blocking_taints(n, needs)).map(taint_text).collect();
        taints.sort();
        taints.dedup();
        let kind =
            needs.requests.keys().find(|r| r.contains('/')).map(|r| format!("{r} ")).unwrap_or_default();
        findings.push(Finding {
            code: "untolerated_taint",
            message: format!(
                "{} but {} taint {}; add a toleration",
                plural(candidates.len(), &format!("{kind}node exists"), &format!("{kind}nodes exist")),
                if candidates.len() == 1 { "carries" } else { "carry" },
                taints.join(", ")
            ),
            waits: false,
        });
        return Diagnosis { fits: vec![], findings };
    }
    let fits: Vec<String> = untainted
        .iter()
        .filter(|n| needs.requests.iter().all(|(r, w)| n.free(r) >= *w))
        .map(|n| n.name.clone())
        .collect();
    if fits.is_empty() {
        for (resource, want) in needs.requests.iter().filter(|(_, w)| **w > 0.0) {
            if untainted.iter().any(|n| n.free(resource) >= *want) {
                continue;
            }
            let total: f64 =
                untainted.iter().map(|n| n.allocatable.get(resource).copied().unwrap_or(0.0)).sum();
            let free: f64 = untainted.iter().map(|n| n.free(resource).max(0.0)).sum();
            let pods: usize = untainted
                .iter()
                .filter(|n| n.used.get(resource).is_some_and(|u| *u > 0.0))
                .map(|n| n.pods)
                .sum();
            findings.push(Finding {
                code: insufficient(resource),
                waits: true,
                message: format!(
                    "{} of {} {resource} are in use by {} (the largest free share on one node is {}, the run needs {}); this run waits",
                    amount(resource, total - free),
                    amount(resource, total),
                    plural(pods, "pod", "pods"),
                    amount(resource, untainted.iter().map(|n| n.free(resource)).fold(0.0, f64::max).max(0.0)),
                    amount(resource, *want)
                ),
            });
        }
        if findings.is_empty() {
            findings.push(Finding {
                code: "insufficient_resources",
                message: "no single node has all the requested resources free at once; this run waits".into(),
                waits: true,
            });
        }
    }
    Diagnosis { fits, findings }
}

/// The pre-flight check: what keeps the pod off every node even if nothing else ran (`None` when some node
/// could take it once resources free up).
pub fn never_fits(needs: &Needs, nodes: &[NodeView]) -> Option<Finding> {
    let idle: Vec<NodeView> =
        nodes.iter().map(|n| NodeView { used: BTreeMap::new(), pods: 0, ..n.clone() }).collect();
    explain(needs, &idle).findings.into_iter().find(|f| !f.waits)
}

/// The pod templates of compiled manifests (Job, Deployment, Kubeflow replicas, Ray, Dask), each as a
/// `Pod.spec`.
pub fn pod_specs(manifests: &[Value]) -> Vec<&Value> {
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        match v {
            Value::Object(m) => {
                if let Some(spec) = m.get("template").and_then(|t| t.get("spec")) {
                    if spec.get("containers").is_some() {
                        out.push(spec);
                        return;
                    }
                }
                m.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    manifests.iter().for_each(|m| walk(&m["spec"], &mut out));
    out
}
