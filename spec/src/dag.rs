//! DAG pipelines: ops, their upstream (dependencies and references), cycle and orphan checks, topological
//! order, and each op compiled with what the pipeline pushes down.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Map, Value};

use crate::compile::{join, At, Compiler, Inherited, Op};
use crate::io::{normalize_params, Io};

mod op;
use op::Plan;

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
        let ops: &[Value] = run.get("operations").and_then(Value::as_array).map_or(&[], Vec::as_slice);
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
        let mut seen = HashSet::new();
        for (i, op) in ops.iter().enumerate() {
            let p = join(&ops_path, &format!("[{i}]"));
            match op.get("name").and_then(Value::as_str) {
                Some(n) if !seen.insert(n) => self.error(
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
                if !seen.contains(u.as_str()) {
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
            dag_inputs: Some(std::sync::Arc::new(dag_inputs)),
            dag_components: std::sync::Arc::new(components),
            uuid: String::new(),
            in_pipeline: true,
        };
        self.check_edges(ops, &names, &ops_path, at, &child);
        if self.diags.has_errors() {
            return None;
        }
        let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
        let only = self.opts.execution.op.as_deref();
        let todo: Vec<usize> = order
            .iter()
            .filter(|name| only.is_none_or(|o| o == name.as_str()))
            .map(|name| index[name.as_str()])
            .collect();
        let plan = Plan {
            ops,
            names: &names,
            upstream: &upstream,
            ops_path: &ops_path,
            doc: at.doc,
            child: &child,
            uuid: &inh.uuid,
        };
        self.each_in_parallel(&todo, |c, &i| c.dag_op(i, &plan))
    }

    /// Params fed by upstream ops, given their results: `ref: ops.X` + `value: outputs.y` takes X's value;
    /// `{{ ops.X.outputs.y }}` is rendered. References to ops with no results yet stay as they are.
    fn resolve_upstream(&self, params: &Value, ctx: &Value) -> Map<String, Value> {
        let known = |op: &str| ctx["ops"].get(op).is_some();
        let mut out = Map::new();
        for (name, p) in normalize_params(Some(params)) {
            let mut p = p;
            if let Some((up, key)) = crate::pipeline::globals_ref(&p).filter(|(up, _)| known(up)) {
                // `{ref: ops.X, value: globals.uuid}` or `{{ ops.X.globals.run_outputs_path }}`: X's run.
                let value = match p["value"].as_str().filter(|_| p.get("ref").is_none()) {
                    Some(text) => self.render.render(text, ctx).map(Value::String).ok(),
                    None => ctx["ops"][&up]["globals"].get(&key).cloned(),
                };
                if let (Some(v), Some(m)) = (value, p.as_object_mut()) {
                    m.remove("ref");
                    m.insert("value".into(), v);
                }
            } else if let Some((up, key)) = edge(&p).filter(|(up, _)| known(up)) {
                let section = if p["value"].as_str().is_some_and(|v| v.starts_with("inputs.")) {
                    "inputs"
                } else {
                    "outputs"
                };
                let from_ref = p.get("ref").is_some();
                let value = if from_ref {
                    ctx["ops"][&up][section].get(&key).cloned().unwrap_or(Value::Null)
                } else {
                    let text = p["value"].as_str().unwrap_or_default().to_string();
                    let whole =
                        text.trim().strip_prefix("{{").and_then(|t| t.strip_suffix("}}")).map(str::trim);
                    let raw = ctx["ops"][&up][section]
                        .get(&key)
                        .filter(|_| whole == Some(format!("ops.{up}.{section}.{key}").as_str()));
                    match raw
                        .map(|v| Ok(v.clone()))
                        .unwrap_or_else(|| self.render.render(&text, ctx).map(Value::String))
                    {
                        Ok(v) => v,
                        Err(_) => {
                            out.insert(name, p);
                            continue;
                        }
                    }
                };
                if let Some(m) = p.as_object_mut() {
                    m.remove("ref");
                    m.insert("value".into(), value);
                }
            }
            out.insert(name, p);
        }
        out
    }
}

impl Compiler<'_> {
    /// Each param fed by an upstream op must name an output (or input) that op declares, with a compatible type.
    fn check_edges(&mut self, ops: &[Value], names: &[String], ops_path: &str, at: At, inh: &Inherited) {
        let mut declared: HashMap<String, Vec<Io>> = HashMap::new();
        // The inputs and outputs of each of the pipeline's own components, read once however many ops use it.
        let mut own_ios: HashMap<&str, Vec<Io>> = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            let p = join(ops_path, &format!("[{i}]"));
            let before = self.diags.items.len();
            let ios = |c: &Value| {
                let mut all = crate::compile::ios(c, "outputs").unwrap_or_default();
                all.extend(crate::compile::ios(c, "inputs").unwrap_or_default());
                all
            };
            // A pipeline's own component is read in place; other references are resolved (and loaded) once.
            let own = op.get("dagRef").and_then(Value::as_str).and_then(|name| {
                inh.dag_components
                    .iter()
                    .find(|(c, _, _)| c.get("name").and_then(Value::as_str) == Some(name))
            });
            if let Some((c, _, _)) = own {
                let name = op["dagRef"].as_str().unwrap_or_default();
                let ios = own_ios.entry(name).or_insert_with(|| ios(c)).clone();
                declared.insert(names[i].clone(), ios);
            } else if let Some(c) = self.component_of(op, At { doc: at.doc, path: &p }, inh, None) {
                declared.insert(names[i].clone(), ios(&c.value));
            }
            // Unresolvable components are reported when the op itself is compiled.
            self.diags.items.truncate(before);
        }
        for (i, op) in ops.iter().enumerate() {
            let Some(targets) = declared.get(&names[i]) else { continue };
            for (pname, p) in normalize_params(op.get("params")) {
                let path = join(&join(&join(ops_path, &format!("[{i}]")), "params"), &pname);
                let here = At { doc: at.doc, path: &path };
                let Some((up, key)) = edge(&p) else { continue };
                let Some(up_ios) = declared.get(&up) else { continue };
                let Some(source) = up_ios.iter().find(|io| io.name == key) else {
                    self.warn(here, "undeclared_upstream_output", format!("`{up}` declares no output or input named `{key}`: this param will be empty at run time"));
                    continue;
                };
                if let Some(target) = targets.iter().find(|io| io.name == pname) {
                    if !compatible(&source.kind, &target.kind) {
                        self.error(
                            here,
                            "type_mismatch",
                            format!(
                                "param `{pname}` is a {} but `{up}.{key}` is a {}",
                                target.kind, source.kind
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// The upstream op and output a param reads: `ref: ops.X` + `value: outputs.y`, or `{{ ops.X.outputs.y }}`.
fn edge(p: &Value) -> Option<(String, String)> {
    let strip = |s: &str| s.trim_start_matches("outputs.").trim_start_matches("inputs.").to_string();
    if let Some(r) = p.get("ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("ops.")) {
        let v = p.get("value").and_then(Value::as_str)?;
        if !(v.starts_with("outputs.") || v.starts_with("inputs.")) {
            return None;
        }
        return Some((r.to_string(), strip(v)));
    }
    let s = p.get("value").and_then(Value::as_str)?;
    let inner = s.split("{{").nth(1)?.split("}}").next()?.trim();
    let mut parts = inner.strip_prefix("ops.")?.splitn(3, '.');
    let (op, section, key) = (parts.next()?, parts.next()?, parts.next()?);
    matches!(section, "outputs" | "inputs").then(|| {
        (
            op.to_string(),
            key.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or(key).to_string(),
        )
    })
}

/// Whether a value of type `from` can feed an input of type `to`.
fn compatible(from: &str, to: &str) -> bool {
    let loose = ["any", "str", "path", "uri", "artifacts", "metadata", "dict", "list"];
    from == to
        || loose.contains(&from)
        || loose.contains(&to)
        || (from == "int" && to == "float")
        || (from == "metric" && to == "float")
        || (from == "float" && to == "metric")
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
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let mut waiting: Vec<usize> = names.iter().map(|n| upstream[n].len()).collect();
    let mut downstream: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    for (i, n) in names.iter().enumerate() {
        for u in &upstream[n] {
            downstream[index[u.as_str()]].push(i);
        }
    }
    let mut ready: BTreeSet<usize> = (0..names.len()).filter(|i| waiting[*i] == 0).collect();
    let mut order = Vec::with_capacity(names.len());
    while let Some(i) = ready.pop_first() {
        order.push(names[i].clone());
        for &d in &downstream[i] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.insert(d);
            }
        }
    }
    (order.len() == names.len()).then_some(order)
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
    fn edges_name_the_upstream_output() {
        let e = |v: serde_json::Value| edge(&v);
        assert_eq!(
            e(serde_json::json!({"ref": "ops.train", "value": "outputs.model"})),
            Some(("train".into(), "model".into()))
        );
        assert_eq!(
            e(serde_json::json!({"value": "{{ ops.train.outputs.loss }}"})),
            Some(("train".into(), "loss".into()))
        );
        assert_eq!(e(serde_json::json!({"ref": "ops.train", "value": "globals.uuid"})), None);
        assert!(compatible("int", "float") && !compatible("float", "int") && !compatible("bool", "int"));
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
