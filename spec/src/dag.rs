//! DAG pipelines: ops, their upstream (dependencies and references), cycle and orphan checks, topological
//! order, and each op compiled with what the pipeline pushes down.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

use crate::compile::{derived_uuid, join, At, Compiler, Inherited, Op};
use crate::io::{normalize_params, Io};

impl Compiler<'_> {
    pub(crate) fn dag(
        &mut self,
        comp: &Value,
        at: At,
        params: &[(Io, Value)],
        inh: &Inherited,
    ) -> Option<Vec<Op>> {
        let run = &comp["run"];
        let run_path = join(at.path, "run");
        let ops_path = join(&run_path, "operations");
        let ops: Vec<Value> = run.get("operations").and_then(Value::as_array).cloned().unwrap_or_default();
        if ops.is_empty() {
            self.error(
                At { doc: at.doc, path: &run_path },
                "empty_dag",
                "the pipeline has no operations (`run.operations`)",
            );
            return None;
        }
        let components: Vec<(Value, usize, String)> = run
            .get("components")
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .enumerate()
                    .map(|(i, c)| (c.clone(), at.doc, join(&run_path, &format!("components[{i}]"))))
                    .collect()
            })
            .unwrap_or_default();
        let mut names = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let p = join(&ops_path, &format!("[{i}]"));
            match op.get("name").and_then(Value::as_str) {
                Some(n) if names.iter().any(|x| x == n) => self.error(
                    At { doc: at.doc, path: &join(&p, "name") },
                    "duplicate_op",
                    format!("two operations are named `{n}`"),
                ),
                Some(n) => names.push(n.to_string()),
                None => self.error(
                    At { doc: at.doc, path: &p },
                    "missing_name",
                    "every operation of a pipeline needs a `name`",
                ),
            }
        }
        if names.len() != ops.len() {
            return None;
        }
        let mut upstream: HashMap<String, BTreeSet<String>> = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            let p = join(&ops_path, &format!("[{i}]"));
            let ups = upstream_of(op);
            for u in &ups {
                if !names.contains(u) {
                    self.error(
                        At { doc: at.doc, path: &p },
                        "unknown_upstream",
                        format!(
                            "operation `{}` depends on `{u}`, which is not an operation of this pipeline",
                            names[i]
                        ),
                    );
                }
            }
            upstream.insert(names[i].clone(), ups);
        }
        if self.diags.has_errors() {
            return None;
        }
        let Some(order) = topological(&names, &upstream) else {
            self.error(
                At { doc: at.doc, path: &ops_path },
                "dag_cycle",
                "the pipeline's operations form a cycle: it is not a DAG",
            );
            return None;
        };
        let dag_inputs: Map<String, Value> =
            params.iter().map(|(io, v)| (io.name.clone(), v.clone())).collect();
        let child = Inherited {
            environment: run.get("environment").filter(|v| !v.is_null()).cloned(),
            termination: comp.get("termination").filter(|v| !v.is_null()).cloned(),
            plugins: comp.get("plugins").filter(|v| !v.is_null()).cloned(),
            cache: comp.get("cache").filter(|v| !v.is_null()).cloned(),
            dag_inputs: Some(dag_inputs),
            dag_components: components,
            uuid: String::new(),
        };
        let mut out = Vec::new();
        for name in order {
            let i = names.iter().position(|n| *n == name).expect("known op");
            let p = join(&ops_path, &format!("[{i}]"));
            let mut op = ops[i].clone();
            op["params"] = Value::Object(normalize_params(op.get("params")));
            let inh = Inherited { uuid: derived_uuid(&format!("{}op-{name}", inh.uuid)), ..child.clone() };
            let run = self.operation(&op, At { doc: at.doc, path: &p }, &inh)?;
            out.push(Op {
                name: name.clone(),
                upstream: upstream[&name].iter().cloned().collect(),
                trigger: op.get("trigger").and_then(Value::as_str).unwrap_or("all_succeeded").to_string(),
                run,
            });
        }
        Some(out)
    }
}

/// `dependencies` plus ops named by params (`ref: ops.X`, `{{ ops.X.outputs.y }}`) and events.
fn upstream_of(op: &Value) -> BTreeSet<String> {
    let mut ups: BTreeSet<String> = op
        .get("dependencies")
        .and_then(Value::as_array)
        .map(|d| d.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let mut refs = |r: &str| {
        if let Some(rest) = r.strip_prefix("ops.") {
            let name = rest.split(['.', ' ', '}', '[']).next().unwrap_or_default();
            if !name.is_empty() {
                ups.insert(name.to_string());
            }
        }
    };
    for p in normalize_params(op.get("params")).values() {
        if let Some(r) = p.get("ref").and_then(Value::as_str) {
            refs(r);
        }
        if let Some(s) = p.get("value").and_then(Value::as_str) {
            for part in s.split("{{").skip(1) {
                refs(part.trim_start());
            }
        }
    }
    for e in op.get("events").and_then(Value::as_array).into_iter().flatten() {
        if let Some(r) = e.get("ref").and_then(Value::as_str) {
            refs(r);
        }
    }
    ups
}

/// Kahn's algorithm, keeping declaration order among ready ops; `None` on a cycle.
fn topological(names: &[String], upstream: &HashMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    let mut done: Vec<String> = Vec::new();
    while done.len() < names.len() {
        let next =
            names.iter().find(|n| !done.contains(n) && upstream[*n].iter().all(|u| done.contains(u)))?;
        done.push(next.clone());
    }
    Some(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_comes_from_dependencies_refs_and_templates() {
        let op = serde_json::json!({"dependencies": ["a"], "params": {"x": {"ref": "ops.b", "value": "outputs.y"}, "z": "{{ ops.c.outputs.m }}"}});
        assert_eq!(upstream_of(&op).into_iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn cycles_have_no_order() {
        let names = vec!["a".to_string(), "b".to_string()];
        let mut up = HashMap::new();
        up.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
        up.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
        assert!(topological(&names, &up).is_none());
        up.insert("a".to_string(), BTreeSet::new());
        assert_eq!(topological(&names, &up).unwrap(), names);
    }
}
