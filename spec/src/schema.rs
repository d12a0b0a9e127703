//! The shape of a polyaxonfile (v1.1, as Polyaxon 2.x reads it): known sections per kind, with located
//! errors for unknown keys and wrong types, and the 2.x root shortcuts.

use serde_json::Value;

use crate::compile::{join, At, Compiler};
use crate::render::is_template;
use crate::sections;

pub(crate) const SHARED: &[&str] = &[
    "version",
    "kind",
    "name",
    "description",
    "tags",
    "presets",
    "queue",
    "namespace",
    "cache",
    "termination",
    "plugins",
    "build",
    "hooks",
    "isApproved",
    "cost",
    "mount",
    "strictParams",
    // 2.x root shortcuts
    "ports",
    "container",
    "cmd",
    "env",
    "resources",
    "environment",
    "init",
    "connections",
    "sidecars",
    "volumes",
];
/// The ways an operation names its component (at most one of them).
pub(crate) const REFERENCES: &[&str] = &["component", "hubRef", "urlRef", "pathRef", "dagRef"];
pub(crate) const COMPONENT: &[&str] = &["inputs", "outputs", "run", "template"];
/// The keys of an input or output (`V1IO`).
const IO: &[&str] = &[
    "name",
    "description",
    "type",
    "isOptional",
    "isList",
    "isFlag",
    "argFormat",
    "connection",
    "toInit",
    "toEnv",
    "value",
    "validation",
    "delayValidation",
    "options",
];
/// An operation's own fields that configure its run, not a component reference: a component file may carry
/// them too (Polyaxon 2.x reads both kinds with one model).
pub(crate) const OPERATION_ONLY: &[&str] = &[
    "schedule",
    "events",
    "matrix",
    "joins",
    "dependencies",
    "trigger",
    "conditions",
    "skipOnUpstreamSkip",
    "params",
    "runPatch",
    "patchStrategy",
    "isPreset",
];
const JOB: &[&str] = &["kind", "environment", "connections", "volumes", "init", "sidecars", "container"];
const TRIGGERS: &[&str] =
    &["all_succeeded", "all_failed", "all_done", "one_succeeded", "one_failed", "one_done"];

pub(crate) fn run_keys(kind: &str) -> Option<Vec<&'static str>> {
    let mut keys: Vec<&str> = match kind {
        "job" => JOB.to_vec(),
        "service" => [JOB, &["ports", "rewritePath", "isExternal", "replicas"]].concat(),
        "dag" => vec![
            "kind",
            "operations",
            "components",
            "environment",
            "connections",
            "volumes",
            "concurrency",
            "earlyStopping",
        ],
        "tfjob" => vec![
            "kind",
            "cleanPodPolicy",
            "schedulingPolicy",
            "enableDynamicWorker",
            "successPolicy",
            "chief",
            "ps",
            "worker",
            "evaluator",
        ],
        "pytorchjob" => vec![
            "kind",
            "cleanPodPolicy",
            "schedulingPolicy",
            "elasticPolicy",
            "nProcPerNode",
            "master",
            "worker",
        ],
        "mpijob" => {
            vec!["kind", "cleanPodPolicy", "schedulingPolicy", "slotsPerWorker", "launcher", "worker"]
        }
        "raycluster" => vec![
            "kind",
            "entrypoint",
            "runtimeEnv",
            "metadata",
            "rayVersion",
            "head",
            "workers",
            "enableInTreeAutoscaling",
            "autoscalerOptions",
        ],
        "daskcluster" => vec!["kind", "scheduler", "worker", "minReplicas", "maxReplicas"],
        _ => return None,
    };
    keys.sort_unstable();
    Some(keys)
}

/// The keys of a distributed run kind that hold one pod spec each.
pub(crate) fn replica_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "tfjob" => &["chief", "ps", "worker", "evaluator"],
        "pytorchjob" => &["master", "worker"],
        "mpijob" => &["launcher", "worker"],
        "daskcluster" => &["scheduler", "worker"],
        "raycluster" => &["head"],
        _ => &[],
    }
}

/// `termination`'s values are integers (retries, seconds) or templates; false when one is not, each located under
/// `at`.
/// Polyaxon accepts negative ones, which Kubernetes refuses: they are warned about and treated as unset.
pub(crate) fn check_termination(c: &mut Compiler, t: &Value, at: At) -> bool {
    let mut ok = true;
    for key in ["maxRetries", "timeout", "ttl"] {
        let p = join(&join(at.path, "termination"), key);
        if t.get(key).and_then(Value::as_i64).is_some_and(|n| n < 0) {
            c.warn(
                At { doc: at.doc, path: &p },
                "negative_termination",
                format!("termination.{key} is negative: it is ignored (as if unset)"),
            );
        }
        // A template of the params is rendered with them (`Compiler::termination`).
        if t.get(key).is_some_and(|v| !v.is_null() && !v.is_i64() && !crate::render::is_template(v)) {
            c.error(
                At { doc: at.doc, path: &p },
                "invalid_type",
                format!(
                    "termination.{key} must be an integer number of {}",
                    if key == "maxRetries" { "retries" } else { "seconds" }
                ),
            );
            ok = false;
        }
    }
    ok
}

pub(crate) fn unknown_keys(c: &mut Compiler, v: &Value, allowed: &[&'static str], at: At, what: &str) {
    let Some(m) = v.as_object() else { return };
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            let path = join(at.path, k);
            let hint = crate::kube_schema::nearest(k, allowed)
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            c.error(
                At { doc: at.doc, path: &path },
                "unknown_key",
                format!("unexpected key `{k}` in {what}{hint}"),
            );
        }
    }
}

fn check_name(c: &mut Compiler, v: &Value, at: At) {
    if let Some(name) = v.get("name") {
        let ok = name.as_str().is_some_and(|n| {
            !n.is_empty() && n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        });
        if !ok {
            let path = join(at.path, "name");
            c.error(
                At { doc: at.doc, path: &path },
                "invalid_name",
                format!("name {name} may only contain letters, digits, '-' and '_'"),
            );
        }
    }
}

pub(crate) fn check_operation(c: &mut Compiler, op: &Value, at: At) {
    // Component fields at an operation's root make it an inline component (or patch the referenced one).
    let allowed = [SHARED, OPERATION_ONLY, REFERENCES, COMPONENT].concat();
    unknown_keys(c, op, &allowed, at, "an operation");
    check_name(c, op, at);
    crate::scalars::check(c, op, at, true);
    sections::check_shared(c, op, at);
    sections::shape(c, op, "params", sections::Shape::Mapping, at);
    sections::shape(c, op, "joins", sections::Shape::List, at);
    sections::shape(c, op, "events", sections::Shape::List, at);
    sections::list_keys(c, op, "joins", sections::JOIN, at, "a join");
    sections::list_keys(c, op, "events", sections::EVENT, at, "an event trigger");
    sections::event_kinds(c, op, at);
    if let Some(t) = op.get("trigger").filter(|t| !t.is_null()) {
        if !t.as_str().is_some_and(|t| TRIGGERS.contains(&t)) {
            let path = join(at.path, "trigger");
            c.error(
                At { doc: at.doc, path: &path },
                "invalid_value",
                format!("trigger must be one of {}", TRIGGERS.join(", ")),
            );
        }
    }
    if let Some(m) = op.get("matrix").filter(|m| !m.is_null()) {
        crate::matrix::check(c, m, At { doc: at.doc, path: &join(at.path, "matrix") });
    }
    if let Some(s) = op.get("schedule").filter(|s| !s.is_null()) {
        let keys: Option<&[&'static str]> = match s.get("kind").and_then(Value::as_str) {
            Some("cron") => Some(&["kind", "cron", "startAt", "endAt", "maxRuns", "dependsOnPast"]),
            Some("interval") => Some(&["kind", "startAt", "endAt", "maxRuns", "frequency", "dependsOnPast"]),
            Some("datetime") => Some(&["kind", "startAt"]),
            _ => None,
        };
        match keys {
            Some(keys) => {
                let p = join(at.path, "schedule");
                unknown_keys(c, s, keys, At { doc: at.doc, path: &p }, "`schedule`");
            }
            None => {
                let path = join(at.path, "schedule.kind");
                c.error(
                    At { doc: at.doc, path: &path },
                    "invalid_value",
                    "schedule.kind must be cron, interval or datetime",
                );
            }
        }
    }
    if let Some(j) = op.get("joins").and_then(Value::as_array) {
        for (i, join_) in j.iter().enumerate() {
            // An integer, or a template of one (`{{ params.top }}`) that Polyaxon resolves with the params.
            if join_.get("limit").is_some_and(|l| !l.is_null() && !l.is_i64() && !is_template(l)) {
                let path = join(at.path, &format!("joins[{i}].limit"));
                c.error(At { doc: at.doc, path: &path }, "invalid_type", "joins.limit must be an integer");
            }
        }
    }
}

pub(crate) fn check_component(c: &mut Compiler, comp: &Value, at: At) {
    if !comp.is_object() {
        c.error(at, "invalid_component", "a component must be a mapping");
        return;
    }
    let allowed = [SHARED, COMPONENT].concat();
    unknown_keys(c, comp, &allowed, at, "a component");
    for (key, what) in [("inputs", "an input"), ("outputs", "an output")] {
        sections::list_keys(c, comp, key, IO, at, what);
        for (i, io) in comp.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
            if let Some(v) = io.get("validation").filter(|v| v.is_object()) {
                let p = join(at.path, &format!("{key}[{i}].validation"));
                unknown_keys(c, v, crate::io::rules::KEYS, At { doc: at.doc, path: &p }, "`validation`");
            }
            for delay in ["delayValidation", "validation.delay"] {
                let set = delay.split('.').try_fold(io, |v, k| v.get(k)).and_then(crate::scalars::lax_bool);
                if set == Some(true) {
                    let p = join(at.path, &format!("{key}[{i}].{delay}"));
                    c.warn(
                        At { doc: at.doc, path: &p },
                        "not_honoured",
                        format!(
                            "`{delay}` defers nothing: the value is checked when the file is compiled, as Polyaxon \
                             2.18 checks it"
                        ),
                    );
                }
            }
        }
    }
    check_name(c, comp, at);
    crate::scalars::check(c, comp, at, false);
    let run_path = join(at.path, "run");
    let run_at = At { doc: at.doc, path: &run_path };
    let Some(run) = comp.get("run").filter(|r| r.is_object()) else {
        c.error(run_at, "missing_run", "the component has no `run` section");
        return;
    };
    let kind = run.get("kind").and_then(Value::as_str).unwrap_or_default();
    let Some(keys) = run_keys(kind) else {
        let kind_path = join(&run_path, "kind");
        c.error(
            At { doc: at.doc, path: &kind_path },
            "invalid_run_kind",
            format!(
                "run.kind must be one of {}",
                crate::lifecycle::COMPONENT_KINDS.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
            ),
        );
        return;
    };
    unknown_keys(c, run, &keys, run_at, &format!("a {kind} run"));
    sections::check_run_policies(c, run, run_at);
    for r in replica_keys(kind) {
        if let Some(rep) = run.get(*r).filter(|v| !v.is_null()) {
            let p = join(&run_path, r);
            let allowed = [JOB, &["replicas", "rayStartParams", "minReplicas", "maxReplicas"]].concat();
            unknown_keys(c, rep, &allowed, At { doc: at.doc, path: &p }, &format!("the {r} replica"));
        }
    }
    if let Some(Value::Object(workers)) = run.get("workers") {
        for (name, w) in workers {
            let p = join(&join(&run_path, "workers"), name);
            let allowed = [JOB, &["replicas", "rayStartParams", "minReplicas", "maxReplicas"]].concat();
            unknown_keys(c, w, &allowed, At { doc: at.doc, path: &p }, "a ray worker group");
        }
    }
    if let Some(t) = comp.get("termination").filter(|t| !t.is_null()) {
        check_termination(c, t, at);
    }
    sections::check_shared(c, comp, at);
    match kind {
        "job" | "service" | "dag" => sections::check_pod_sections(c, run, run_at),
        _ => {
            for r in replica_keys(kind) {
                if let Some(rep) = run.get(*r).filter(|v| v.is_object()) {
                    sections::check_pod_sections(c, rep, At { doc: at.doc, path: &join(&run_path, r) });
                }
            }
            if let Some(Value::Object(workers)) = run.get("workers") {
                for (name, w) in workers {
                    let p = join(&join(&run_path, "workers"), name);
                    sections::check_pod_sections(c, w, At { doc: at.doc, path: &p });
                }
            }
        }
    }
}
