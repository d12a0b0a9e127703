//! Polyaxon's nested sections (`termination`, `plugins`, `cache`, `build`, `hooks`, `joins`, `events`,
//! `environment`, `init` entries): each of its models forbids keys it does not know, and so does Myelin.

use serde_json::Value;

use crate::compile::{join, At, Compiler};
use crate::render::is_template;
use crate::schema::unknown_keys;

/// The keys of Polyaxon's nested sections (each model forbids others).
const TERMINATION: &[&str] = &["maxRetries", "ttl", "timeout", "culling", "probe", "podFailurePolicy"];
const PLUGINS: &[&str] = &[
    "auth",
    "docker",
    "shm",
    "tmux",
    "sandbox",
    "ssh",
    "mountArtifactsStore",
    "collectArtifacts",
    "collectLogs",
    "collectResources",
    "syncStatuses",
    "autoResume",
    "logLevel",
    "externalHost",
    "sidecar",
    "notifications",
];
pub(crate) const CACHE: &[&str] = &["disable", "ttl", "io", "sections"];
const HOOK: &[&str] = &[
    "hubRef",
    "connection",
    "trigger",
    "conditions",
    "presets",
    "queue",
    "namespace",
    "params",
    "disableDefaults",
];
pub(crate) const JOIN: &[&str] = &["ref", "query", "sort", "limit", "offset", "params"];
const BUILD: &[&str] = &[
    "hubRef",
    "connection",
    "presets",
    "queue",
    "namespace",
    "cache",
    "params",
    "runPatch",
    "patchStrategy",
];
pub(crate) const EVENT: &[&str] = &["kinds", "ref"];
const NOTIFICATION: &[&str] = &["connections", "trigger"];
const INIT: &[&str] = &[
    "artifacts",
    "paths",
    "git",
    "dockerfile",
    "file",
    "tensorboard",
    "lineageRef",
    "modelRef",
    "artifactRef",
    "connection",
    "path",
    "container",
];
pub(crate) const ENVIRONMENT: &[&str] = &[
    "labels",
    "annotations",
    "nodeSelector",
    "affinity",
    "tolerations",
    "nodeName",
    "serviceAccountName",
    "hostAliases",
    "securityContext",
    "imagePullSecrets",
    "hostNetwork",
    "hostPID",
    "dnsPolicy",
    "dnsConfig",
    "schedulerName",
    "priorityClassName",
    "priority",
    "restartPolicy",
];

/// Kubeflow runs' policies (`V1SchedulingPolicy`, `V1PytorchElasticPolicy`; Polyaxon spells the rendezvous
/// keys `rdvz…`, which the manifests write as Kubeflow's `rdzv…`).
const SCHEDULING_POLICY: &[&str] =
    &["minAvailable", "queue", "minResources", "priorityClass", "scheduleTimeoutSeconds"];
pub(crate) const ELASTIC_POLICY: &[&str] = &[
    "minReplicas",
    "maxReplicas",
    "rdvzBackend",
    "rdvzPort",
    "rdvzHost",
    "rdvzId",
    "rdvzConf",
    "standalone",
    "nProcPerNode",
    "maxRestarts",
    "Metrics",
];

/// A distributed run's `schedulingPolicy` and `elasticPolicy`, against the keys Polyaxon allows there.
pub(crate) fn check_run_policies(c: &mut Compiler, run: &Value, at: At) {
    for (key, allowed) in [("schedulingPolicy", SCHEDULING_POLICY), ("elasticPolicy", ELASTIC_POLICY)] {
        if let Some(x) = run.get(key).filter(|x| x.is_object()) {
            unknown_keys(c, x, allowed, At { doc: at.doc, path: &join(at.path, key) }, &format!("`{key}`"));
        }
    }
}

/// The sections an operation and a component share (`termination`, `plugins`, `cache`, `build`, `hooks`),
/// each against the keys Polyaxon allows there.
pub(crate) fn check_shared(c: &mut Compiler, v: &Value, at: At) {
    for key in ["termination", "plugins", "cache", "build"] {
        shape(c, v, key, Shape::Mapping, at);
    }
    shape(c, v, "hooks", Shape::List, at);
    for (key, allowed) in
        [("termination", TERMINATION), ("plugins", PLUGINS), ("cache", CACHE), ("build", BUILD)]
    {
        if let Some(x) = v.get(key).filter(|x| x.is_object()) {
            unknown_keys(c, x, allowed, At { doc: at.doc, path: &join(at.path, key) }, &format!("`{key}`"));
        }
    }
    if let Some(n) = v.get("plugins").and_then(|p| p.get("notifications")).and_then(Value::as_array) {
        for (i, x) in n.iter().enumerate() {
            let p = join(at.path, &format!("plugins.notifications[{i}]"));
            unknown_keys(c, x, NOTIFICATION, At { doc: at.doc, path: &p }, "a notification");
        }
    }
    list_keys(c, v, "hooks", HOOK, at, "a hook");
    for (i, x) in v["cache"]["sections"].as_array().into_iter().flatten().enumerate() {
        if !x.as_str().is_some_and(|x| ["containers", "init", "connections"].contains(&x)) {
            let p = join(at.path, &format!("cache.sections[{i}]"));
            let message = format!("a cache section is containers, init or connections, not {x}");
            c.error(At { doc: at.doc, path: &p }, "invalid_value", message);
        }
    }
    let hooks = v.get("hooks").and_then(Value::as_array).into_iter().flatten().enumerate();
    let notifications = v["plugins"]["notifications"].as_array().into_iter().flatten().enumerate();
    let triggers = hooks
        .map(|(i, x)| (format!("hooks[{i}].trigger"), &x["trigger"]))
        .chain(notifications.map(|(i, x)| (format!("plugins.notifications[{i}].trigger"), &x["trigger"])));
    for (p, t) in triggers.filter(|(_, t)| !t.is_null()) {
        if !t.as_str().is_some_and(|t| STATUSES.contains(&t)) {
            let message = format!("trigger must be a run status ({}), not {t}", STATUSES.join(", "));
            c.error(At { doc: at.doc, path: &join(at.path, &p) }, "invalid_value", message);
        }
    }
}

/// An op's `events[].kinds` are Polyaxon's event kinds (`V1EventKind`): a run's status (`run_status_succeeded`),
/// and the other kinds Polyaxon names.
pub(crate) fn event_kinds(c: &mut Compiler, op: &Value, at: At) {
    for (i, e) in op.get("events").and_then(Value::as_array).into_iter().flatten().enumerate() {
        for (j, k) in e.get("kinds").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let known = k.as_str().is_some_and(|k| {
                k.strip_prefix("run_status_").is_some_and(|s| STATUSES.contains(&s))
                    || OTHER_EVENTS.contains(&k)
            });
            if !known {
                let p = join(at.path, &format!("events[{i}].kinds[{j}]"));
                let message = format!(
                    "{k} is not an event kind: `run_status_<status>` ({}), or one of {}",
                    STATUSES.join(", "),
                    OTHER_EVENTS.join(", ")
                );
                c.error(At { doc: at.doc, path: &p }, "invalid_value", message);
            }
        }
    }
}

const OTHER_EVENTS: &[&str] = &[
    "run_approved_actor",
    "run_invalidated_actor",
    "run_new_artifacts",
    "connection_git_commit",
    "connection_dataset_version",
    "connection_registry_image",
    "alert_info",
    "alert_warning",
    "alert_critical",
    "model_version_new_metric",
    "project_custom_event",
    "org_custom_event",
];

/// The statuses a hook or a notification may be triggered by (Polyaxon's `V1Statuses`).
const STATUSES: &[&str] = &[
    "created",
    "resuming",
    "on_schedule",
    "compiled",
    "queued",
    "scheduled",
    "starting",
    "running",
    "processing",
    "stopping",
    "failed",
    "stopped",
    "succeeded",
    "skipped",
    "warning",
    "unschedulable",
    "upstream_failed",
    "retrying",
    "unknown",
    "done",
];

pub(crate) fn list_keys(
    c: &mut Compiler,
    v: &Value,
    key: &str,
    allowed: &[&'static str],
    at: At,
    what: &str,
) {
    for (i, x) in v.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
        let p = join(at.path, &format!("{key}[{i}]"));
        unknown_keys(c, x, allowed, At { doc: at.doc, path: &p }, what);
    }
}

/// The environment's mappings and lists are written as such: Polyaxon refuses a string there, a template
/// included (`labels: "{{ tags }}"`; the whole `environment` may be one). Before, such a value was dropped.
fn environment_shapes(c: &mut Compiler, env: &Value, at: At) {
    for key in ["labels", "annotations", "nodeSelector", "affinity", "securityContext", "dnsConfig"] {
        shape(c, env, key, Shape::Mapping, at);
    }
    for key in ["tolerations", "hostAliases", "imagePullSecrets"] {
        shape(c, env, key, Shape::List, at);
    }
}

/// What a section must be written as.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Shape {
    Mapping,
    List,
}

/// `v.key` is a mapping or a list (or unset), as Polyaxon checks it: a string there, a template included, is
/// refused (Polyaxon refuses it, or fails on it when it resolves it). Before, such a value was dropped.
pub(crate) fn shape(c: &mut Compiler, v: &Value, key: &str, want: Shape, at: At) {
    let Some(x) = v.get(key).filter(|x| !x.is_null()) else { return };
    if (want == Shape::Mapping && x.is_object()) || (want == Shape::List && x.is_array()) {
        return;
    }
    let what = if want == Shape::Mapping { "a mapping" } else { "a list" };
    let hint = if is_template(x) { " (a template cannot stand for it here: write its entries)" } else { "" };
    c.error(
        At { doc: at.doc, path: &join(at.path, key) },
        "invalid_type",
        format!("`{key}` must be {what}{hint}"),
    );
}

/// A pod's lists are lists, as Polyaxon checks them: `sidecars`, `volumes` and `init` refuse any string (a
/// template included; Polyaxon fails on an `init` template when it resolves it), `ports` a string that is not a
/// template. Before, such a value was dropped.
fn pod_lists(c: &mut Compiler, v: &Value, at: At) {
    for key in ["sidecars", "volumes", "init"] {
        shape(c, v, key, Shape::List, at);
    }
    if !v.get("ports").is_some_and(is_template) {
        shape(c, v, "ports", Shape::List, at);
    }
    // Polyaxon reads a list of ports as integers: a template inside it is refused (the whole list may be one).
    for (i, p) in v.get("ports").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if !(p.is_i64() || p.as_str().is_some_and(|s| s.trim().parse::<i64>().is_ok())) {
            let path = join(at.path, &format!("ports[{i}]"));
            let message =
                format!("a port must be an integer, not {p} (a template may stand for the whole list)");
            c.error(At { doc: at.doc, path: &path }, "invalid_type", message);
        }
    }
}

/// A pod's worth of a run (a job, a service, a replica): its `environment` and `init` entries.
pub(crate) fn check_pod_sections(c: &mut Compiler, v: &Value, at: At) {
    // The whole environment may be one template (Polyaxon reads what it renders to).
    if !v.get("environment").is_some_and(is_template) {
        shape(c, v, "environment", Shape::Mapping, at);
    }
    if let Some(e) = v.get("environment").filter(|e| e.is_object()) {
        let env_at = join(at.path, "environment");
        unknown_keys(c, e, ENVIRONMENT, At { doc: at.doc, path: &env_at }, "`environment`");
        environment_shapes(c, e, At { doc: at.doc, path: &env_at });
    }
    pod_lists(c, v, at);
    list_keys(c, v, "init", INIT, at, "an init entry");
}
