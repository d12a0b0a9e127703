//! The shape of a polyaxonfile (v1.1, as Polyaxon 2.x reads it): known sections per kind, with located
//! errors for unknown keys and wrong types, and the 2.x root shortcuts.

use serde_json::{json, Map, Value};

use crate::compile::{join, At, Compiler};

const SHARED: &[&str] = &[
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
const OPERATION: &[&str] = &[
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
    "hubRef",
    "dagRef",
    "urlRef",
    "pathRef",
    "component",
];
const COMPONENT: &[&str] = &["inputs", "outputs", "run", "template"];
const JOB: &[&str] = &["kind", "environment", "connections", "volumes", "init", "sidecars", "container"];
const TRIGGERS: &[&str] =
    &["all_succeeded", "all_failed", "all_done", "one_succeeded", "one_failed", "one_done"];

fn run_keys(kind: &str) -> Option<Vec<&'static str>> {
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

fn unknown_keys(c: &mut Compiler, v: &Value, allowed: &[&str], at: At, what: &str) {
    let Some(m) = v.as_object() else { return };
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            let path = join(at.path, k);
            c.error(
                At { doc: at.doc, path: &path },
                "unknown_key",
                format!("unexpected key `{k}` in {what}"),
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
    let allowed = [SHARED, OPERATION].concat();
    unknown_keys(c, op, &allowed, at, "an operation");
    check_name(c, op, at);
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
        let kinds = ["cron", "interval", "datetime"];
        if !s.get("kind").and_then(Value::as_str).is_some_and(|k| kinds.contains(&k)) {
            let path = join(at.path, "schedule.kind");
            c.error(
                At { doc: at.doc, path: &path },
                "invalid_value",
                "schedule.kind must be cron, interval or datetime",
            );
        }
    }
    if let Some(j) = op.get("joins").and_then(Value::as_array) {
        for (i, join_) in j.iter().enumerate() {
            if join_.get("limit").is_some_and(|l| !l.is_null() && !l.is_i64()) {
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
    check_name(c, comp, at);
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
            format!("run.kind must be one of {}", crate::compile::RUN_KINDS.join(", ")),
        );
        return;
    };
    unknown_keys(c, run, &keys, run_at, &format!("a {kind} run"));
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
        for key in ["maxRetries", "timeout", "ttl"] {
            if t.get(key).is_some_and(|v| !v.is_null() && !v.is_i64()) {
                let p = join(&join(at.path, "termination"), key);
                c.error(
                    At { doc: at.doc, path: &p },
                    "invalid_type",
                    format!(
                        "termination.{key} must be an integer number of {}",
                        if key == "maxRetries" { "retries" } else { "seconds" }
                    ),
                );
            }
        }
    }
    if let Some(cache) = comp.get("cache").filter(|v| !v.is_null()) {
        unknown_keys(
            c,
            cache,
            &["disable", "ttl", "io", "sections"],
            At { doc: at.doc, path: &join(at.path, "cache") },
            "cache",
        );
    }
}

/// Polyaxon 2.x root shortcuts (`container`, `cmd`, `env`, `resources`, `ports`, ...) moved into `run`.
pub(crate) fn apply_shortcuts(mut comp: Value) -> Value {
    let Some(m) = comp.as_object_mut() else { return comp };
    let has = |m: &Map<String, Value>, k: &str| m.get(k).is_some_and(|v| !v.is_null());
    let shortcut = [
        "container",
        "cmd",
        "env",
        "resources",
        "ports",
        "environment",
        "init",
        "connections",
        "sidecars",
        "volumes",
    ];
    if !shortcut.iter().any(|k| has(m, k)) {
        return comp;
    }
    let mut run = match m.remove("run") {
        None => json!({}),
        Some(r @ Value::Object(_)) => r,
        // Not a mapping: left for the schema check to report.
        Some(other) => {
            m.insert("run".into(), other);
            return comp;
        }
    };
    if run.get("kind").is_none() {
        run["kind"] = json!(if has(m, "ports") { "service" } else { "job" });
    }
    let mut container = run.get("container").cloned().unwrap_or_else(|| json!({}));
    if !container.is_object() {
        m.insert("run".into(), run);
        return comp;
    }
    if let Some(c) = m.remove("container") {
        container = crate::patch::merge(container, c, crate::patch::Strategy::PostMerge);
    }
    if let Some(cmd) = m.remove("cmd").and_then(|c| c.as_str().map(str::to_string)) {
        container["command"] = json!(["/bin/sh", "-c"]);
        container["args"] = json!([format!("set -e\n{cmd}")]);
    }
    if let Some(Value::Object(env)) = m.remove("env") {
        let mut list = container.get("env").and_then(Value::as_array).cloned().unwrap_or_default();
        list.extend(env.into_iter().map(|(k, v)| json!({"name": k, "value": v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())})));
        container["env"] = Value::Array(list);
    }
    if let Some(Value::Object(res)) = m.remove("resources") {
        let (mut req, mut lim) = (Map::new(), Map::new());
        for (k, v) in res {
            let name = if k == "gpu" { "nvidia.com/gpu".to_string() } else { k };
            match v.as_str().and_then(|s| s.split_once("..")) {
                Some((a, b)) => {
                    req.insert(name.clone(), json!(a.trim()));
                    lim.insert(name, json!(b.trim()));
                }
                None => {
                    req.insert(name.clone(), v.clone());
                    lim.insert(name, v);
                }
            }
        }
        container["resources"] = json!({"requests": req, "limits": lim});
    }
    if container.as_object().is_some_and(|c| !c.is_empty()) {
        run["container"] = container;
    }
    for k in ["ports", "environment", "init", "connections", "sidecars", "volumes"] {
        if let Some(v) = m.remove(k) {
            run[k] = v;
        }
    }
    m.insert("run".into(), run);
    comp
}

const ENVIRONMENT: &[&str] = &[
    "nodeSelector",
    "tolerations",
    "affinity",
    "labels",
    "annotations",
    "serviceAccountName",
    "imagePullSecrets",
    "hostAliases",
    "securityContext",
    "restartPolicy",
    "hostNetwork",
    "hostPID",
    "dnsPolicy",
    "dnsConfig",
    "schedulerName",
    "priorityClassName",
    "priority",
    "nodeName",
];
const CONTAINER: &[&str] = &[
    "name",
    "image",
    "imagePullPolicy",
    "command",
    "args",
    "env",
    "envFrom",
    "resources",
    "volumeMounts",
    "workingDir",
    "ports",
];
const IO: &[&str] = &[
    "name",
    "type",
    "description",
    "value",
    "isOptional",
    "isList",
    "isFlag",
    "argFormat",
    "delayValidation",
    "options",
    "connection",
    "toInit",
    "toEnv",
];

/// The keys a mapping at `path` (keys from the document's root; list items skipped) may hold, for
/// autocompletion. `kind` is the run's kind when known.
pub fn keys_at(path: &[&str], kind: Option<&str>) -> Vec<&'static str> {
    let tail: Vec<&str> = path.iter().copied().filter(|k| *k != "component").collect();
    let mut keys: Vec<&'static str> = match tail.as_slice() {
        [] => [SHARED, OPERATION, COMPONENT].concat(),
        [.., "run"] => run_keys(kind.unwrap_or("job")).unwrap_or_default(),
        [.., "environment"] => ENVIRONMENT.to_vec(),
        [.., "container"] | [.., "sidecars"] | [.., "init"] => CONTAINER.to_vec(),
        [.., "inputs"] | [.., "outputs"] => IO.to_vec(),
        [.., "cache"] => vec!["disable", "ttl", "io", "sections"],
        [.., "termination"] => vec!["maxRetries", "ttl", "timeout"],
        [.., "resources"] => vec!["limits", "requests"],
        [.., "matrix"] => vec![
            "kind",
            "params",
            "values",
            "numRuns",
            "seed",
            "concurrency",
            "earlyStopping",
            "maxIterations",
            "eta",
            "resource",
            "metric",
        ],
        [.., "operations"] => [SHARED, OPERATION].concat(),
        [.., "components"] => [SHARED, COMPONENT].concat(),
        _ => vec![],
    };
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// What to complete at byte offset `pos` of `text`: `(start of the word, candidates)`. Keys of the mapping the
/// cursor is in, or, inside `{{ }}`, the file's input and output names.
pub fn complete(text: &str, pos: usize) -> Option<(usize, Vec<String>)> {
    let pos = pos.min(text.len());
    let before = text.get(..pos)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let prefix = &before[line_start..];
    let word_len = prefix
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
        .map(char::len_utf8)
        .sum::<usize>();
    let word = &prefix[prefix.len() - word_len..];
    let from = pos - word_len;
    if let Some(open) = prefix.rfind("{{") {
        if !prefix[open..].contains("}}") {
            let doc = crate::yaml::parse("f", text).map(|d| d.value).unwrap_or(Value::Null);
            let mut names: Vec<String> = ["inputs", "outputs"]
                .iter()
                .flat_map(|k| {
                    let list = doc.get(*k).or_else(|| doc.get("component").and_then(|c| c.get(*k)));
                    list.and_then(Value::as_array).cloned().unwrap_or_default()
                })
                .filter_map(|io| io.get("name").and_then(Value::as_str).map(str::to_string))
                .collect();
            names.extend(["globals.uuid", "globals.run_outputs_path", "params.as_args"].map(String::from));
            names.retain(|n| n.starts_with(word));
            return Some((from, names));
        }
    }
    let head = prefix.trim_start();
    let head = head.strip_prefix("- ").unwrap_or(head);
    if head.len() != word_len {
        return None; // not at a key: a value, or after the colon
    }
    let indent =
        prefix.len() - prefix.trim_start().len() + if prefix.trim_start().starts_with("- ") { 2 } else { 0 };
    let mut path = Vec::new();
    // Parents have a smaller indent; inside a list item, the list's key may share the item's indent.
    let mut want = indent;
    let mut item_at: Option<usize> = None;
    let mut kind = None;
    for line in text[..line_start].lines().rev() {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let ind = line.len() - t.len();
        let is_item = t.starts_with("- ") || t == "-";
        let t2 = t.strip_prefix("- ").unwrap_or(t);
        let key = t2.split_once(':').map(|(k, _)| k.trim().to_string());
        if want == indent
            && item_at.is_none()
            && ind + if is_item { 2 } else { 0 } == indent
            && kind.is_none()
        {
            if let Some(k) = t2.strip_prefix("kind:") {
                kind = k.split('#').next().map(|k| k.trim().to_string());
            }
        }
        let parent = match item_at {
            Some(at) => ind <= at && !is_item,
            None => ind < want && !is_item,
        };
        if parent {
            if let Some(k) = key {
                path.push(k);
            }
            want = ind;
            item_at = None;
            if want == 0 {
                break;
            }
        } else if is_item && ind < item_at.unwrap_or(want) {
            item_at = Some(ind);
        }
    }
    path.reverse();
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    // A run's kind is written inside `run:`; read it from the whole file when completing there.
    let kind = kind.or_else(|| {
        let doc = crate::yaml::parse("f", text).ok()?.value;
        let run = doc.get("run").or_else(|| doc.get("component").and_then(|c| c.get("run")))?;
        run.get("kind")?.as_str().map(str::to_string)
    });
    let keys = keys_at(&path, kind.as_deref());
    let present: Vec<&str> = Vec::new();
    Some((
        from,
        keys.into_iter().filter(|k| k.starts_with(word) && !present.contains(k)).map(String::from).collect(),
    ))
}

#[cfg(test)]
mod completion_tests {
    use super::*;

    fn at(text: &str) -> Vec<String> {
        let pos = text.find('|').unwrap();
        let t = text.replace('|', "");
        complete(&t, pos).map(|(_, k)| k).unwrap_or_default()
    }

    #[test]
    fn keys_follow_the_yaml_path_at_the_cursor() {
        let env = at("kind: component\nrun:\n  kind: job\n  environment:\n    node|\n");
        assert_eq!(env, ["nodeName", "nodeSelector"]);
        let run = at("kind: component\nrun:\n  kind: job\n  co|\n");
        assert_eq!(run, ["connections", "container"]);
        let inputs = at("kind: component\ninputs:\n- name: lr\n  ty|\n");
        assert_eq!(inputs, ["type"]);
        let dag = at("kind: component\nrun:\n  kind: dag\n  conc|\n");
        assert_eq!(dag, ["concurrency"]);
        let op = at("kind: component\nrun:\n  kind: dag\n  operations:\n  - name: a\n    trig|\n");
        assert_eq!(op, ["trigger"]);
    }

    #[test]
    fn names_inside_templates() {
        let names = at("kind: component\ninputs:\n- {name: lr, type: float}\n- {name: layers, type: int}\nrun:\n  kind: job\n  container: {image: x, args: ['{{ l|']}\n");
        assert_eq!(names, ["lr", "layers"]);
        assert!(at("kind: component\nname: |\n").is_empty(), "a value is not completed");
    }
}
