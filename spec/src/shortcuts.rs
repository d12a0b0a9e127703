//! Polyaxon 2.x root shortcuts (`container`, `cmd`, `env`, `resources`, `ports`, ...): checked as Polyaxon's
//! polyaxonfile checks them (`_flow/polyaxonfile.py`: `env` values are strings, `resources` names `cpu`,
//! `memory`, `gpu` or an extended resource with quantities Kubernetes reads the same way — a request no greater
//! than its limit, counts whole —, `cmd` is not blank), then moved into `run`.

use serde_json::{json, Map, Value};

use crate::compile::{join, At, Compiler};
use crate::patch::Strategy;

pub(crate) fn check(c: &mut Compiler, v: &Value, at: At) {
    if let Some(env) = v.get("env").filter(|e| !e.is_null()) {
        match env.as_object() {
            None => c.error(
                At { doc: at.doc, path: &join(at.path, "env") },
                "invalid_value",
                "env must be a mapping of names to string values",
            ),
            Some(m) => {
                for (name, value) in m.iter().filter(|(_, x)| x.is_boolean() || x.is_number()) {
                    let path = join(&join(at.path, "env"), name);
                    c.error(
                        At { doc: at.doc, path: &path },
                        "invalid_value",
                        format!("env.{name} must be a string; quote it: \"{value}\""),
                    );
                }
            }
        }
    }
    if let Some(res) = v.get("resources").filter(|r| !r.is_null()) {
        let Some(m) = res.as_object() else {
            let path = join(at.path, "resources");
            c.error(
                At { doc: at.doc, path: &path },
                "invalid_value",
                "resources must be a mapping of names to values",
            );
            return;
        };
        for (key, value) in m {
            if let Err(why) = resource(key, value) {
                let path = join(&join(at.path, "resources"), key);
                c.error(At { doc: at.doc, path: &path }, "invalid_value", why);
            }
        }
    }
    let blank = match v.get("cmd") {
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(lines)) => {
            lines.is_empty() || lines.iter().any(|l| l.as_str().is_none_or(|l| l.trim().is_empty()))
        }
        _ => false,
    };
    if blank {
        let path = join(at.path, "cmd");
        c.error(At { doc: at.doc, path: &path }, "invalid_value", "cmd must not be blank or empty");
    }
}

/// The 2.x root shortcuts, in the order they apply.
pub(crate) const SHORTCUTS: &[&str] = &[
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

/// The `resources` shortcut as Polyaxon lowers it (`_flow/polyaxonfile.py::_lower_resources`): `cpu` and
/// `memory` are a request (`1`), or a request and a limit (`1..2`, `..2`, `1..`); `gpu` (`nvidia.com/gpu`)
/// and other counts are both. A side with nothing is left out.
fn lower_resources(res: Map<String, Value>) -> Value {
    let (mut req, mut lim) = (Map::new(), Map::new());
    for (k, v) in res {
        let name = if k == "gpu" { "nvidia.com/gpu".to_string() } else { k.clone() };
        let count = k != "cpu" && k != "memory";
        let (low, high) = match v.as_str().map(str::trim) {
            Some(text) => match text.split_once("..") {
                Some((a, b)) => {
                    let side = |p: &str| (!p.trim().is_empty()).then(|| json!(p.trim()));
                    (side(a), side(b))
                }
                None if count => (Some(json!(text)), Some(json!(text))),
                None => (Some(json!(text)), None),
            },
            None if count => (Some(v.clone()), Some(v)),
            None => (Some(v), None),
        };
        if let Some(l) = low {
            req.insert(name.clone(), l);
        }
        if let Some(h) = high {
            lim.insert(name, h);
        }
    }
    let mut out = Map::new();
    for (side, values) in [("requests", req), ("limits", lim)] {
        if !values.is_empty() {
            out.insert(side.into(), Value::Object(values));
        }
    }
    Value::Object(out)
}

/// Polyaxon 2.x root shortcuts (`container`, `cmd`, `env`, `resources`, `ports`, ...) moved into `run`.
pub(crate) fn apply_shortcuts(mut comp: Value) -> Value {
    let Some(m) = comp.as_object_mut() else { return comp };
    let has = |m: &Map<String, Value>, k: &str| m.get(k).is_some_and(|v| !v.is_null());
    if !SHORTCUTS.iter().any(|k| has(m, k)) {
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
    // A list of lines is one script, as Polyaxon joins it.
    let cmd = m.remove("cmd").and_then(|c| match c {
        Value::String(s) => Some(s),
        Value::Array(lines) => Some(lines.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n")),
        _ => None,
    });
    if let Some(cmd) = cmd {
        container["command"] = json!(["/bin/sh", "-c"]);
        container["args"] = json!([format!("set -e\n{cmd}")]);
    }
    if let Some(Value::Object(env)) = m.remove("env") {
        let mut list = container.get("env").and_then(Value::as_array).cloned().unwrap_or_default();
        list.extend(env.into_iter().map(|(k, v)| json!({"name": k, "value": v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())})));
        container["env"] = Value::Array(list);
    }
    if let Some(Value::Object(res)) = m.remove("resources") {
        container["resources"] = lower_resources(res);
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

/// The operation root's run shortcuts (`environment`, `container`, `env`, `resources`, `init`, ...) patch the
/// run of the component it refers to, as Polyaxon's polyaxonfile does.
pub(crate) fn patch_from_root(component: &mut Value, op: &Value, strategy: Strategy) {
    let shortcuts: Map<String, Value> = SHORTCUTS
        .iter()
        .filter_map(|k| op.get(*k).filter(|v| !v.is_null()).map(|v| (k.to_string(), v.clone())))
        .collect();
    if !shortcuts.is_empty() && component["run"].is_object() {
        let mut patch = apply_shortcuts(Value::Object(shortcuts))["run"].take();
        if let Some(p) = patch.as_object_mut() {
            p.remove("kind");
        }
        let cmd =
            op.get("cmd").is_some_and(|c| c.is_string() || c.is_array()).then(|| patch["container"].clone());
        component["run"] = crate::patch::patch_run(component["run"].take(), patch, strategy);
        // `cmd` sets the command and its args: it is not merged with the component's.
        if let (Some(c), true) = (cmd, component["run"]["container"].is_object()) {
            for k in ["command", "args"] {
                component["run"]["container"][k] = c[k].clone();
            }
        }
    }
}

/// One `resources` entry; why it is refused.
fn resource(key: &str, value: &Value) -> Result<(), String> {
    if key == "nvidia.com/gpu" {
        return Err("resources.nvidia.com/gpu is spelled gpu".into());
    }
    if !matches!(key, "cpu" | "memory" | "gpu") && !key.contains('/') {
        return Err(format!(
            "unknown resource `{key}`; use cpu, memory, gpu, or an extended resource such as google.com/tpu"
        ));
    }
    let count = !matches!(key, "cpu" | "memory");
    let text = match value {
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(-1.0);
            if f < 0.0 {
                return Err(format!("resources.{key} must be a finite non-negative number"));
            }
            if count && !(n.is_u64()) {
                return Err(format!("resources.{key} must be an integer count"));
            }
            return Ok(());
        }
        Value::String(s) => s.trim(),
        _ => return Err(format!("resources.{key} must be a number or a range such as 1..2")),
    };
    let (low, high) = text.split_once("..").map_or((text, ""), |(a, b)| (a.trim(), b.trim()));
    if low.is_empty() && high.is_empty() {
        return Err(format!("resources.{key} needs a request, a limit, or both"));
    }
    let mut sides = [None, None];
    for (i, part) in [low, high].into_iter().enumerate().filter(|(_, p)| !p.is_empty()) {
        sides[i] = Some(quantity(key, part).ok_or_else(|| {
            format!("resources.{key} has an unsupported value `{part}`; use container.resources for other quantities or templates")
        })?);
    }
    if let [Some(l), Some(h)] = sides {
        if l > h {
            return Err(format!("resources.{key} has a request greater than its limit"));
        }
    }
    Ok(())
}

/// The value of a quantity string as Polyaxon accepts it for `key` (cpu: `500m`; memory: `1Gi`, `512M`;
/// counts: digits).
fn quantity(key: &str, s: &str) -> Option<f64> {
    let digits = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, suffix) = s.split_at(digits);
    let valid_number = !number.is_empty()
        && number != "."
        && number.matches('.').count() <= 1
        && (number.starts_with(|c: char| c.is_ascii_digit()) || number.len() > 1);
    if !valid_number {
        return None;
    }
    let n: f64 = number.parse().ok()?;
    let scale = match (key, suffix) {
        (_, "") => 1.0,
        ("cpu", "m") => 1e-3,
        ("cpu", "u") => 1e-6,
        ("cpu", "n") => 1e-9,
        ("memory", s) => {
            let binary = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"].iter().position(|x| *x == s);
            let decimal = ["k", "M", "G", "T", "P", "E"].iter().position(|x| *x == s);
            match (binary, decimal) {
                (Some(i), _) => 1024f64.powi(i as i32 + 1),
                (_, Some(i)) => 1000f64.powi(i as i32 + 1),
                _ => return None,
            }
        }
        _ => return None,
    };
    if !matches!(key, "cpu" | "memory") && (number.contains('.') || !suffix.is_empty()) {
        return None;
    }
    Some(n * scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resources_as_polyaxon_checks_them() {
        for (key, v) in [
            ("cpu", json!(1)),
            ("cpu", json!("500m")),
            ("memory", json!("1Gi..2Gi")),
            ("memory", json!("..2G")),
            ("gpu", json!(2)),
            ("google.com/tpu", json!("4")),
            ("cpu", json!("0.5")),
        ] {
            assert_eq!(resource(key, &v), Ok(()), "{key}: {v}");
        }
        for (key, v, why) in [
            ("cpus", json!(1), "unknown resource"),
            ("nvidia.com/gpu", json!(1), "spelled gpu"),
            ("memory", json!("2Gi..1Gi"), "greater than its limit"),
            ("gpu", json!(0.5), "integer count"),
            ("memory", json!("1GB"), "unsupported value"),
            ("cpu", json!(-1), "non-negative"),
            ("cpu", json!(true), "a number or a range"),
            ("gpu", json!("1.5"), "unsupported value"),
        ] {
            let e = resource(key, &v).unwrap_err();
            assert!(e.contains(why), "{key}: {v}: {e}");
        }
    }
}
