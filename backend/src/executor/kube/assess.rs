//! What the cluster says about one attempt of a run, as a Myelin status and — when it waits or died — a
//! diagnosis in words a user can act on. Pure: the workload object, its pods, their Warning events and the
//! Nodes (as JSON, the way the watchers keep them) in; an `Observed` out.
//!
//! The diagnosis is Myelin's own comparison of the pod against the Nodes (`spec::placement`), with the
//! scheduler's verbatim message kept beside it; when the two disagree (the cluster moved between them), the
//! scheduler's message is classified by pattern, across the wordings of Kubernetes 1.18–1.36.

use serde_json::Value;
use spec::lifecycle::Status;
use spec::placement::{explain, Needs, NodeView};

pub use api_types::{Diagnosis, Reason};

#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub status: Status,
    pub reason: String,
    pub message: String,
    pub diagnosis: Option<Diagnosis>,
    pub exit_code: Option<i32>,
    pub node: Option<String>,
    pub image_id: Option<String>,
}

pub struct Seen<'a> {
    /// The workload: a Job, Deployment or Kubeflow object.
    pub top: &'a Value,
    pub pods: Vec<&'a Value>,
    /// Warning events whose `involvedObject` is one of `pods`.
    pub warnings: Vec<&'a Value>,
    pub nodes: &'a [NodeView],
}

const IMAGE_PULL: [&str; 5] =
    ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "ImageInspectError"];

fn observed(status: Status, reason: &str, message: impl Into<String>) -> Observed {
    Observed {
        status,
        reason: reason.into(),
        message: message.into(),
        diagnosis: None,
        exit_code: None,
        node: None,
        image_id: None,
    }
}

fn diagnosis(code: &str, message: impl Into<String>) -> Diagnosis {
    Diagnosis { code: code.into(), message: message.into(), scheduler_message: None, findings: vec![] }
}

fn condition<'a>(o: &'a Value, kind: &str) -> Option<&'a Value> {
    o["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == kind && c["status"] == "True")
}

/// The Deployment a ReplicaSet belongs to, by name (`<deployment>-<pod template hash>`).
pub fn deployment_of(replica_set: &str) -> &str {
    replica_set.rsplit_once('-').map_or(replica_set, |(d, _)| d)
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

pub fn assess(s: &Seen) -> Observed {
    let kind = str_of(&s.top["kind"]);
    let mut pods = s.pods.clone();
    pods.sort_by_key(|p| str_of(&p["metadata"]["creationTimestamp"]).to_string());
    let newest = pods.last().copied();
    let failed_pod = pods.iter().rev().copied().find(|p| p["status"]["phase"] == "Failed" && !evicted(p));
    match kind {
        "Job" => {
            if condition(s.top, "Complete").is_some() || condition(s.top, "SuccessCriteriaMet").is_some() {
                return with_pod(observed(Status::Succeeded, "Succeeded", "the Job completed"), newest);
            }
            if let Some(c) = condition(s.top, "Failed").or_else(|| condition(s.top, "FailureTarget")) {
                return job_failed(s.top, c, failed_pod.or(newest));
            }
        }
        "TFJob" | "PyTorchJob" | "MPIJob" | "XGBoostJob" | "PaddleJob" => {
            if condition(s.top, "Succeeded").is_some() {
                return with_pod(
                    observed(Status::Succeeded, "Succeeded", format!("the {kind} succeeded")),
                    newest,
                );
            }
            if let Some(c) = condition(s.top, "Failed") {
                let mut o = pod_failure(failed_pod)
                    .unwrap_or_else(|| observed(Status::Failed, "Failed", str_of(&c["message"]).to_string()));
                o.status = Status::Failed;
                return o;
            }
            if let (Some(c), None) = (condition(s.top, "Running"), newest) {
                // The operator says it runs; its pods are not visible here (not labelled, or not yet listed).
                return observed(Status::Running, "Running", str_of(&c["message"]).to_string());
            }
        }
        // KubeRay: a RayJob ends with its job's status; a RayCluster runs until stopped.
        "RayJob" => {
            let (job, deployment) =
                (str_of(&s.top["status"]["jobStatus"]), str_of(&s.top["status"]["jobDeploymentStatus"]));
            let message = str_of(&s.top["status"]["message"]);
            if job == "SUCCEEDED" {
                return with_pod(
                    observed(Status::Succeeded, "Succeeded", "the RayJob's job succeeded"),
                    newest,
                );
            }
            if job == "FAILED" || deployment == "Failed" {
                let said = if message.is_empty() {
                    "the RayJob failed".to_string()
                } else {
                    format!("the RayJob failed: {message}")
                };
                let mut o =
                    pod_failure(failed_pod).unwrap_or_else(|| observed(Status::Failed, "Failed", said));
                o.status = Status::Failed;
                return o;
            }
            if let ("RUNNING", None) = (job, newest) {
                return observed(Status::Running, "Running", "the RayJob's job runs");
            }
        }
        "RayCluster" if str_of(&s.top["status"]["state"]) == "ready" && newest.is_none() => {
            return observed(Status::Running, "Running", "the RayCluster is ready");
        }
        "DaskCluster" if str_of(&s.top["status"]["phase"]) == "Running" && newest.is_none() => {
            return observed(Status::Running, "Running", "the DaskCluster runs");
        }
        _ => {}
    }
    if kind == "Job" {
        // The Job controller will say the same about its only pod, but only after its batching period (1 s):
        // the pod's end is already certain.
        if let Some(o) = pod_failure(failed_pod.filter(|p| Some(*p) == newest)) {
            return o;
        }
        let single = s.top["spec"]["completions"].as_i64().unwrap_or(1) == 1;
        if let Some(p) = newest.filter(|p| single && p["status"]["phase"] == "Succeeded") {
            return with_pod(observed(Status::Succeeded, "Succeeded", "the Job's pod succeeded"), Some(p));
        }
    }
    let Some(pod) = pick(&pods) else {
        // The controller could not create the pod: the apiserver's admission refused it (quota, limit range).
        // A Job says so itself; a Deployment's ReplicaSet (`<deployment>-<hash>`) does.
        let top = str_of(&s.top["metadata"]["name"]);
        let refused = s.warnings.iter().rev().find(|e| {
            let on = str_of(&e["involvedObject"]["name"]);
            let mine = on == top || (e["involvedObject"]["kind"] == "ReplicaSet" && deployment_of(on) == top);
            e["reason"] == "FailedCreate" && mine
        });
        if let Some(e) = refused {
            return failed_create(event_text(e));
        }
        let what = if kind == "Job" || kind == "Deployment" {
            format!("{kind} created; waiting for its pod")
        } else {
            format!("{kind} created; waiting for its operator to create pods")
        };
        return observed(Status::Scheduled, "Created", what);
    };
    pod_progress(pod, s)
}

/// The pod that says most about the run: a live pod over an evicted one that was already replaced.
fn pick<'a>(pods: &[&'a Value]) -> Option<&'a Value> {
    pods.iter().rev().copied().find(|p| !evicted(p)).or_else(|| pods.last().copied())
}

fn evicted(p: &Value) -> bool {
    p["status"]["reason"] == "Evicted"
        || p["status"]["reason"] == "Preempting"
        || condition(p, "DisruptionTarget").is_some()
}

fn with_pod(mut o: Observed, pod: Option<&Value>) -> Observed {
    if let Some(p) = pod {
        o.node = p["spec"]["nodeName"].as_str().map(str::to_string);
        let main = main_status(p);
        o.image_id = main.and_then(|c| c["imageID"].as_str()).filter(|s| !s.is_empty()).map(str::to_string);
        if o.exit_code.is_none() {
            o.exit_code = main.and_then(|c| c["state"]["terminated"]["exitCode"].as_i64()).map(|c| c as i32);
        }
    }
    o
}

fn main_status(p: &Value) -> Option<&Value> {
    let statuses = p["status"]["containerStatuses"].as_array()?;
    statuses.iter().find(|c| c["name"] == "main").or_else(|| statuses.first())
}

fn job_failed(job: &Value, c: &Value, pod: Option<&Value>) -> Observed {
    let reason = str_of(&c["reason"]);
    if reason == "DeadlineExceeded" {
        let limit = job["spec"]["activeDeadlineSeconds"].as_i64().unwrap_or_default();
        let mut o = observed(Status::Failed, "DeadlineExceeded", format!("stopped after {limit} s"));
        o.diagnosis = Some(diagnosis(
            "deadline_exceeded",
            format!(
                "the run exceeded its time limit of {limit} s (termination.timeout); Kubernetes stopped it"
            ),
        ));
        return with_pod(o, pod);
    }
    pod_failure(pod).unwrap_or_else(|| {
        let msg = format!("{reason}: {}", str_of(&c["message"]));
        with_pod(observed(Status::Failed, "Failed", msg), pod)
    })
}

/// A pod that ended badly: OOM (with the limit) or an exit code.
fn pod_failure(pod: Option<&Value>) -> Option<Observed> {
    let p = pod?;
    if p["status"]["phase"] != "Failed" {
        return None;
    }
    let statuses = p["status"]["containerStatuses"].as_array().cloned().unwrap_or_default();
    let terminated = statuses
        .iter()
        .map(|c| (str_of(&c["name"]).to_string(), &c["state"]["terminated"]))
        .find(|(_, t)| t["exitCode"].as_i64().is_some_and(|c| c != 0) || t["reason"] == "OOMKilled");
    let Some((container, t)) = terminated else {
        let msg = str_of(&p["status"]["message"]).to_string();
        let text = if msg.is_empty() { "the pod failed".to_string() } else { msg };
        return Some(with_pod(observed(Status::Failed, "Failed", text), Some(p)));
    };
    let code = t["exitCode"].as_i64().map(|c| c as i32);
    let mut o = if t["reason"] == "OOMKilled" {
        let limit = p["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == container.as_str())
            .and_then(|c| c["resources"]["limits"]["memory"].as_str())
            .map_or("no memory limit set".to_string(), |l| format!("memory limit {l}"));
        let mut o = observed(Status::Failed, "OOMKilled", format!("container {container} was OOMKilled"));
        o.diagnosis = Some(diagnosis(
            "oom_killed",
            format!("container {container} ran out of memory and was killed ({limit}); raise the limit or use less memory"),
        ));
        o
    } else {
        let code = code.map_or("unknown".into(), |c| c.to_string());
        observed(Status::Failed, "Failed", format!("container {container} exited with code {code}"))
    };
    o.exit_code = code;
    Some(with_pod(o, Some(p)))
}

fn pod_progress(p: &Value, s: &Seen) -> Observed {
    let name = str_of(&p["metadata"]["name"]);
    let node = p["spec"]["nodeName"].as_str();
    let events: Vec<&Value> = s
        .warnings
        .iter()
        .copied()
        .filter(|e| e["involvedObject"]["name"] == name || e["regarding"]["name"] == name)
        .collect();
    if evicted(p) {
        let mut o = observed(Status::Warning, "Evicted", "the pod was evicted; the Job starts a replacement");
        let why = str_of(&p["status"]["message"]);
        let why = if why.is_empty() {
            condition(p, "DisruptionTarget").map(|c| str_of(&c["message"])).unwrap_or_default()
        } else {
            why
        };
        o.diagnosis = Some(diagnosis(
            "evicted",
            format!("the pod was evicted ({why}); Kubernetes starts a replacement and the eviction does not count as a failure"),
        ));
        return with_pod(o, Some(p));
    }
    match str_of(&p["status"]["phase"]) {
        "Running" => {
            return with_pod(
                observed(Status::Running, "Running", format!("pod {name} runs on {}", node.unwrap_or("?"))),
                Some(p),
            );
        }
        "Succeeded" | "Failed" => {
            return with_pod(observed(Status::Running, "Finishing", format!("pod {name} finished")), Some(p));
        }
        _ => {}
    }
    // Pending: not placed, or placed and not started.
    let scheduled =
        p["status"]["conditions"].as_array().and_then(|cs| cs.iter().find(|c| c["type"] == "PodScheduled"));
    if node.is_none() {
        let unschedulable = scheduled.filter(|c| c["status"] == "False" && c["reason"] == "Unschedulable");
        let event = events.iter().find(|e| e["reason"] == "FailedScheduling");
        let verbatim = unschedulable
            .map(|c| str_of(&c["message"]).to_string())
            .or_else(|| event.map(|e| event_text(e).to_string()));
        let Some(verbatim) = verbatim else {
            if scheduled.is_some_and(|c| c["reason"] == "SchedulingGated") {
                return observed(
                    Status::Scheduled,
                    "SchedulingGated",
                    "the pod waits for its scheduling gates",
                );
            }
            return observed(Status::Scheduled, "Pending", "waiting for the scheduler to place the pod");
        };
        let mut o = observed(Status::Unschedulable, "Unschedulable", first_sentence(&verbatim));
        o.diagnosis = Some(unschedulable_diagnosis(&p["spec"], s.nodes, &verbatim));
        return o;
    }
    let waiting = p["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .chain(p["status"]["initContainerStatuses"].as_array())
        .flatten()
        .find(|c| {
            c["state"]["waiting"].is_object()
                && c["state"]["waiting"]["reason"] != "ContainerCreating"
                && c["state"]["waiting"]["reason"] != "PodInitializing"
        });
    if let Some(c) = waiting {
        let w = &c["state"]["waiting"];
        let reason = str_of(&w["reason"]);
        let detail = str_of(&w["message"]);
        let detail = if detail.is_empty() {
            events.iter().map(|e| str_of(&e["message"])).find(|m| !m.is_empty()).unwrap_or_default()
        } else {
            detail
        };
        let mut o = observed(Status::Warning, reason, format!("container {}: {reason}", str_of(&c["name"])));
        let code = if IMAGE_PULL.contains(&reason) { "image_pull" } else { "container_config" };
        // The kubelet says first when a pull secret the pod names does not exist.
        let no_secret = events.iter().find(|e| e["reason"] == "FailedToRetrieveImagePullSecret");
        if let (Some(e), "image_pull") = (no_secret, code) {
            let names = event_text(e).split_once('(').and_then(|(_, r)| r.split_once(')')).map(|(n, _)| n);
            let mut o =
                observed(Status::Warning, reason, format!("container {}: {reason}", str_of(&c["name"])));
            o.diagnosis = Some(diagnosis(
                "missing_pull_secret",
                format!(
                    "cannot pull image {}: the pull secret {} the pod names does not exist in the run's namespace; \
                     create it there (`kubectl create secret docker-registry …`) or fix `environment.imagePullSecrets`",
                    str_of(&c["image"]),
                    names.map(|n| format!("`{n}`")).unwrap_or_else(|| "it".into()),
                ),
            ));
            return with_pod(o, Some(p));
        }
        let text = if code == "image_pull" {
            format!("cannot pull image {} ({reason}): {detail}", str_of(&c["image"]))
        } else {
            format!("container {} cannot start ({reason}): {detail}", str_of(&c["name"]))
        };
        o.diagnosis = Some(diagnosis(code, text));
        return with_pod(o, Some(p));
    }
    with_pod(
        observed(Status::Starting, "Starting", format!("pod {name} is starting on {}", node.unwrap_or("?"))),
        Some(p),
    )
}

/// A workload whose controller cannot create its pod: the apiserver's verdict (`Error creating: pods "x" is
/// forbidden: …`) as a diagnosis that names the quota or limit and the fix. The run waits: a quota frees up when
/// other pods end, and the controller keeps trying.
fn failed_create(msg: &str) -> Observed {
    let why = msg.split_once("is forbidden: ").map(|(_, w)| w).unwrap_or(msg).trim();
    let (code, text) = if let Some(rest) = why.strip_prefix("exceeded quota: ") {
        // `exceeded quota: NAME, requested: limits.cpu=2, used: limits.cpu=3, limited: limits.cpu=4`
        let field =
            |k: &str| rest.split(&format!("{k}: ")).nth(1).map(|v| v.split(", ").next().unwrap_or(v).trim());
        let name = rest.split(',').next().unwrap_or_default();
        (
            "resource_quota",
            format!(
                "the namespace's ResourceQuota `{name}` is used up: this run requests {}, {} is in use and the quota \
                 allows {}. It starts when other pods end; or request less in `resources`, or ask a cluster admin \
                 to raise the quota",
                field("requested").unwrap_or("?"),
                field("used").unwrap_or("?"),
                field("limited").unwrap_or("?"),
            ),
        )
    } else if let Some(rest) = why.strip_prefix("failed quota: ") {
        // `failed quota: NAME: must specify limits.cpu for: main; limits.memory for: main`
        let (name, need) = rest.split_once(": ").unwrap_or((rest, ""));
        (
            "resource_quota",
            format!(
                "the namespace's ResourceQuota `{name}` needs every container to say what it uses ({need}): set \
                 them in the run's `resources` (requests and limits)"
            ),
        )
    } else if why.contains("per Container")
        || why.contains("per Pod")
        || why.contains("limit to request ratio")
    {
        let what = why.trim_start_matches('[').trim_end_matches(']');
        (
            "limit_range",
            format!(
                "a LimitRange of the namespace refuses the pod: {what}. Change the run's `resources` to fit it, or ask \
                 a cluster admin to change the LimitRange"
            ),
        )
    } else {
        ("failed_create", format!("Kubernetes refuses to create the pod: {why}"))
    };
    let mut o = observed(Status::Unschedulable, "FailedCreate", first_sentence(why));
    let mut d = diagnosis(code, text);
    d.scheduler_message = Some(msg.to_string());
    o.diagnosis = Some(d);
    o
}

/// An event's text: `message` (core/v1) or `note` (events.k8s.io/v1).
fn event_text(e: &Value) -> &str {
    e["message"].as_str().filter(|m| !m.is_empty()).unwrap_or_else(|| str_of(&e["note"]))
}

/// The scheduler's verdict on this pod: before ` preemption:`, without the DRA aside of 1.3x.
fn first_sentence(msg: &str) -> String {
    let head = msg.split(" preemption:").next().unwrap_or(msg);
    head.replace(" no new claims to deallocate,", "").trim().trim_end_matches(',').to_string()
}

/// Myelin's explanation from the pod's needs and the Nodes, with the scheduler's message kept beside it.
pub fn unschedulable_diagnosis(pod_spec: &Value, nodes: &[NodeView], verbatim: &str) -> Diagnosis {
    let ours = explain(&Needs::of_pod_spec(pod_spec), nodes);
    let volume = classify_scheduler_message(verbatim) == "volume";
    let mut d = match ours.findings.first() {
        // Claims are the scheduler's to judge (Myelin's comparison knows only the Nodes).
        _ if volume => diagnosis("volume", volume_text(pod_spec, verbatim)),
        Some(f) if ours.fits.is_empty() => {
            let mut d = diagnosis(f.code, f.message.clone());
            d.findings = ours
                .findings
                .iter()
                .map(|f| Reason { code: f.code.into(), message: f.message.clone() })
                .collect();
            d
        }
        // The Nodes moved since the scheduler looked, or it is not about the Nodes: its words are all there is.
        _ => diagnosis(
            classify_scheduler_message(verbatim),
            format!("the scheduler could not place the pod: {}", first_sentence(verbatim)),
        ),
    };
    d.scheduler_message = Some(verbatim.to_string());
    d
}

/// A pod that waits on its PersistentVolumeClaims: which, and what would bind them.
fn volume_text(pod_spec: &Value, verbatim: &str) -> String {
    let claims: Vec<String> = pod_spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
        .map(|c| format!("`{c}`"))
        .collect();
    let claims = if claims.is_empty() { "its claim".to_string() } else { claims.join(", ") };
    let lower = verbatim.to_ascii_lowercase();
    if !lower.contains("unbound") && lower.contains("persistentvolumeclaim \"") && lower.contains("not found")
    {
        format!(
            "the pod mounts PersistentVolumeClaim {claims}, which does not exist in the run's namespace: create it \
             there, or fix the claim's name in the connection or `volumes`"
        )
    } else {
        format!(
            "the pod waits for PersistentVolumeClaim {claims} to be bound to a volume: give the claim a StorageClass \
             that provisions volumes, or create a PersistentVolume that matches it"
        )
    }
}

/// The code of a scheduler `FitError` message, by its most telling reason (wordings of 1.18 to 1.36). Only the
/// part before ` preemption:` is about this pod's fit.
pub fn classify_scheduler_message(msg: &str) -> &'static str {
    let head = msg.split(" preemption:").next().unwrap_or(msg);
    let insufficient: Vec<&str> = head
        .match_indices("Insufficient ")
        .filter_map(|(i, m)| head[i + m.len()..].split([',', ' ']).next())
        .map(|r| r.trim_end_matches('.'))
        .collect();
    if insufficient.iter().any(|r| r.ends_with("/gpu")) {
        return "insufficient_gpu";
    }
    let patterns: [(&str, &'static str); 5] = [
        ("taint", "untolerated_taint"),
        ("node affinity/selector", "node_selector_mismatch"),
        ("didn't match node selector", "node_selector_mismatch"),
        ("were unschedulable", "all_cordoned"),
        ("persistentvolumeclaim", "volume"),
    ];
    let lower = head.to_ascii_lowercase();
    if let Some((_, code)) = patterns.iter().find(|(p, _)| head.contains(p) || lower.contains(p)) {
        return code;
    }
    match insufficient.first() {
        Some(r) => spec::placement::insufficient(r),
        None => "unschedulable",
    }
}

#[cfg(test)]
#[path = "assess_tests.rs"]
mod tests;
