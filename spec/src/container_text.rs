//! What Polyaxon's parser does to a run's containers once their templates are rendered
//! (`polyaxon/_polyaxonfile/specs/libs/parser.py`, `compiled_operation.py::_mark_container_text`):
//! - a `command`/`args` item that was a template and renders to `None` (an optional param left unset) is left
//!   out, as Polyaxon omits it (`--lr={{ lr }}` stays `--lr=None`), and so is an empty item, as the agent
//!   leaves those out (`_runner/converter/common/containers.py`);
//! - an env var's value is read as a Python literal where it is one (`ast.literal_eval`), and the agent writes
//!   any value that is not then a string as JSON: `"True"` becomes `true`, `"{{ d }}"` of a dict `{"a":1}`,
//!   `"None"` `null`, `"1_000"` `1000`, `"'quoted'"` `quoted`. Anything else is kept as written.

use serde_json::{Map, Value};

/// Calls `f` on every container of a run: the main one, sidecars and init containers, of the run or of each
/// replica (distributed kinds, Ray's worker groups).
fn for_each_container(run: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    fn pod(node: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
        if let Some(Value::Object(c)) = node.get_mut("container") {
            f(c);
        }
        for s in node.get_mut("sidecars").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Value::Object(c) = s {
                f(c);
            }
        }
        for i in node.get_mut("init").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(Value::Object(c)) = i.get_mut("container") {
                f(c);
            }
        }
    }
    let kind = run.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    pod(run, f);
    for key in crate::schema::replica_keys(&kind) {
        if let Some(replica) = run.get_mut(*key) {
            pod(replica, f);
        }
    }
    // Ray's worker groups, by name.
    if let Some(Value::Object(groups)) = run.get_mut("workers") {
        for w in groups.values_mut() {
            pod(w, f);
        }
    }
}

/// Which `command`/`args` items are templates, container by container (before rendering).
pub(crate) fn templated_items(run: &mut Value) -> Vec<[Vec<usize>; 2]> {
    let mut marks = Vec::new();
    for_each_container(run, &mut |c| {
        let items = |k: &str| -> Vec<usize> {
            let list = c.get(k).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            let templated = |s: &str| s.contains("{{") || s.contains("{%");
            list.iter()
                .enumerate()
                .filter(|(_, v)| v.as_str().is_some_and(templated))
                .map(|(i, _)| i)
                .collect()
        };
        marks.push([items("command"), items("args")]);
    });
    marks
}

fn is_as_args(s: &str) -> bool {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    t == "{{params.as_args}}"
}

pub(crate) fn splice_as_args(v: &mut Value, args: &Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                // Only the whole field: an item of a list is text, where the list prints as Python's
                // `['--a=1', ...]` (Polyaxon's container text; `lint` warns about it).
                if (k == "args" || k == "command") && x.as_str().is_some_and(is_as_args) {
                    *x = args.clone();
                } else {
                    splice_as_args(x, args);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| splice_as_args(x, args)),
        _ => {}
    }
}

/// After rendering: templated `command`/`args` items that rendered to `None` are left out, and env values are
/// read as Polyaxon reads them.
pub(crate) fn settle(run: &mut Value, marks: &[[Vec<usize>; 2]]) {
    let mut n = 0;
    for_each_container(run, &mut |c| {
        if let Some(m) = marks.get(n) {
            for (key, templated) in ["command", "args"].into_iter().zip(m) {
                if let Some(Value::Array(items)) = c.get_mut(key) {
                    let mut i = 0;
                    // The agent also leaves out empty items (a false flag's `as_arg`).
                    items.retain(|v| {
                        let gone =
                            v.as_str() == Some("") || (templated.contains(&i) && v.as_str() == Some("None"));
                        i += 1;
                        !gone
                    });
                }
            }
        }
        n += 1;
        for e in c.get_mut("env").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(Value::String(s)) = e.get_mut("value") {
                if let Some(text) = crate::pyliteral::as_python_literal(s) {
                    *s = text;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unset_optional_params_leave_their_items_out() {
        let mut run = json!({"kind": "job", "container": {"command": ["echo", "{{ opt }}"],
            "args": ["{{ opt }}", "x", "--n={{ n }}", "None", "{{ params.quiet.as_arg }}"], "env": [{"name": "B", "value": "{{ b }}"}]}});
        let marks = templated_items(&mut run);
        // As rendering leaves it.
        run["container"] = json!({"command": ["echo", "None"], "args": ["None", "x", "--n=None", "None", ""],
            "env": [{"name": "B", "value": "True"}]});
        settle(&mut run, &marks);
        assert_eq!(
            run["container"],
            json!({"command": ["echo"], "args": ["x", "--n=None", "None"], "env": [{"name": "B", "value": "true"}]})
        );
    }
}
