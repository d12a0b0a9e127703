//! Params with `toInit` become init steps of the run, before its own, as Polyaxon 2.18 makes them
//! (`ParamSpec.to_init`): a `git`, `artifacts` or `dockerfile` value is a step of that kind; a `path` value with
//! a connection reads those paths from it; any other value with a connection is that connection's step. Job and
//! service runs take them, and each replica of a TFJob, PyTorchJob or MPIJob; other kinds say they are unused.

use serde_json::{json, Value};

use crate::compile::{join, At, Compiler};
use crate::io::{normalize_params, Io};

/// The replicas each kind puts init steps in (`run` itself for jobs and services).
fn replicas(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "job" | "service" => Some(&[]),
        "tfjob" => Some(&["chief", "worker", "ps", "evaluator"]),
        "pytorchjob" => Some(&["master", "worker"]),
        "mpijob" => Some(&["launcher", "worker"]),
        _ => None,
    }
}

impl Compiler<'_> {
    /// Puts the init steps of params with `toInit` at the front of `run`'s (or its replicas') `init`. Params
    /// only known at run time are left to the compile that has their values.
    pub(crate) fn params_to_init(
        &mut self,
        run: &mut Value,
        kind: &str,
        (op, component): (&Value, &Value),
        params: &[(Io, Value)],
        runtime: &[String],
        (at, comp_at): (At, At),
    ) -> Option<()> {
        let given = normalize_params(op.get("params"));
        let asked = |name: &str| given.get(name).and_then(|p| p.get("toInit")).filter(|v| !v.is_null());
        let param_at = |name: &str| join(&join(at.path, "params"), &format!("{name}.toInit"));
        let Some(replicas) = replicas(kind) else {
            let on = |p: &Value| p.get("toInit").and_then(crate::scalars::lax_bool) == Some(true);
            let named = given.iter().filter(|(_, p)| on(p)).map(|(n, _)| param_at(n));
            let declared =
                params.iter().filter(|(io, _)| io.to_init == Some(true)).map(|(io, _)| io.name.clone());
            for path in named.collect::<Vec<_>>() {
                let why = format!("`toInit` is not used: a {kind} run takes no init steps from its params");
                self.warn(At { doc: at.doc, path: &path }, "not_honoured", why);
            }
            for name in declared.collect::<Vec<_>>() {
                let why = format!("`toInit` is not used: a {kind} run takes no init steps from its params");
                self.warn(
                    At { doc: comp_at.doc, path: &io_path(component, comp_at, &name) },
                    "not_honoured",
                    why,
                );
            }
            return Some(());
        };
        // A param no input declares has no type to make a step of.
        for (name, p) in &given {
            let declared = params.iter().any(|(io, _)| &io.name == name);
            if declared || p.get("toInit").and_then(crate::scalars::lax_bool) != Some(true) {
                continue;
            }
            let why = format!(
                "param `{name}` has `toInit` but no input or output declares its type: declare it (type git, \
                 artifacts, dockerfile or path) to make an init step of it"
            );
            self.error(At { doc: at.doc, path: &param_at(name) }, "invalid_to_init", why);
            return None;
        }
        let mut steps = Vec::new();
        for (io, v) in params {
            let to_init = asked(&io.name).and_then(crate::scalars::lax_bool).or(io.to_init);
            if to_init != Some(true) || runtime.contains(&io.name) || v.is_null() {
                continue;
            }
            let connection = given
                .get(&io.name)
                .and_then(|p| p.get("connection"))
                .and_then(Value::as_str)
                .or(io.connection.as_deref());
            let mut step = match (io.kind.as_str(), connection) {
                ("git", c) => json!({"git": v, "connection": c}),
                ("artifacts", c) => json!({"artifacts": v, "connection": c}),
                ("dockerfile", c) => json!({"dockerfile": v, "connection": c}),
                ("path", Some(c)) => {
                    let paths = if v.is_array() { v.clone() } else { json!([v]) };
                    json!({"paths": paths, "connection": c})
                }
                (_, Some(c)) => json!({"connection": c}),
                (other, None) => {
                    let (doc, path) = match asked(&io.name) {
                        Some(_) => (at.doc, param_at(&io.name)),
                        None => (comp_at.doc, io_path(component, comp_at, &io.name)),
                    };
                    let why = format!(
                        "param `{}` of type `{other}` cannot become an init step: only git, artifacts and dockerfile \
                         values do, or a param with a `connection`",
                        io.name
                    );
                    self.error(At { doc, path: &path }, "invalid_to_init", why);
                    return None;
                }
            };
            if step["connection"].is_null() {
                step.as_object_mut()?.remove("connection");
            }
            steps.push(step);
        }
        if steps.is_empty() {
            return Some(());
        }
        let sections: Vec<&mut Value> = if replicas.is_empty() {
            vec![run]
        } else {
            let m = run.as_object_mut()?;
            m.iter_mut()
                .filter(|(k, v)| replicas.contains(&k.as_str()) && v.is_object())
                .map(|(_, v)| v)
                .collect()
        };
        for section in sections {
            let own = match section.get_mut("init").map(Value::take) {
                Some(Value::Array(own)) => own,
                _ => vec![],
            };
            section["init"] = Value::Array(steps.iter().cloned().chain(own).collect());
        }
        Some(())
    }
}

/// Where input (or output) `name` declares its `toInit`.
fn io_path(component: &Value, at: At, name: &str) -> String {
    for key in ["inputs", "outputs"] {
        let list = component.get(key).and_then(Value::as_array);
        if let Some(i) = list.and_then(|l| l.iter().position(|io| io["name"].as_str() == Some(name))) {
            return join(at.path, &format!("{key}[{i}].toInit"));
        }
    }
    at.path.to_string()
}
