//! Editing a DAG file from its graph: each edit changes only the lines it must, so the user's comments, order
//! and formatting elsewhere survive. An edit whose result does not compile is refused with the compiler's
//! diagnostics (a cycle, an unknown op, a type mismatch).

use serde_json::Value;

use crate::compile::{compile, NoRefs, Options, Source};

/// Where a DAG file keeps its operations: `run.operations`, or `component.run.operations` in an operation file.
fn ops_path(doc: &Value) -> Option<(&'static str, &Vec<Value>)> {
    if let Some(ops) = doc["run"]["operations"].as_array() {
        return Some(("run.operations", ops));
    }
    doc["component"]["run"]["operations"].as_array().map(|ops| ("component.run.operations", ops))
}

fn index_of(ops: &[Value], name: &str) -> Option<usize> {
    ops.iter().position(|o| o["name"].as_str() == Some(name))
}

/// The result if it compiles; otherwise the errors, as `line:column message`.
fn checked(text: String) -> Result<String, Vec<String>> {
    let out = compile(&Options {
        limits: Default::default(),
        policy: None,
        files: vec![Source { name: "polyaxonfile.yaml".into(), text: text.clone() }],
        params: vec![],
        catalog: Default::default(),
        refs: &NoRefs,
        run_uuid: None,
        execution: Default::default(),
    });
    if out.valid {
        Ok(text)
    } else {
        Err(out.errors.iter().map(|e| format!("{}:{} {}", e.line, e.column, e.message)).collect())
    }
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Makes `upstream` a dependency of `op`: appended to its `dependencies` list, or a new `dependencies` key.
pub fn add_dependency(text: &str, op: &str, upstream: &str) -> Result<String, Vec<String>> {
    let doc =
        crate::yaml::parse("f", text).map_err(|e| vec![format!("{}:{} {}", e.line, e.column, e.message)])?;
    let (base, ops) = ops_path(&doc.value).ok_or_else(|| vec!["the file is not a DAG".to_string()])?;
    let i = index_of(ops, op).ok_or_else(|| vec![format!("no operation named `{op}`")])?;
    if index_of(ops, upstream).is_none() {
        return Err(vec![format!("no operation named `{upstream}`")]);
    }
    let deps = &ops[i]["dependencies"];
    if deps.as_array().is_some_and(|d| d.iter().any(|x| x.as_str() == Some(upstream))) {
        return Ok(text.to_string());
    }
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let item = format!("{base}[{i}]");
    if deps.is_array() {
        let (l, c) = doc.pos(&format!("{item}.dependencies"));
        let line = &mut lines[l as usize - 1];
        let after_key = c as usize - 1;
        if let Some(close) = line[after_key..].find(']').map(|p| p + after_key) {
            // A flow list on the key's line: `dependencies: [a, b]`.
            let empty = line[..close].trim_end().ends_with('[');
            line.insert_str(close, &if empty { upstream.to_string() } else { format!(", {upstream}") });
        } else {
            // A block list: a new `- upstream` after its last item.
            let key_indent = indent_of(line);
            let mut last = l as usize - 1;
            while last + 1 < lines.len()
                && lines[last + 1].trim_start().starts_with('-')
                && indent_of(&lines[last + 1]) >= key_indent
            {
                last += 1;
            }
            let dash = if last > l as usize - 1 { indent_of(&lines[last]) } else { key_indent + 2 };
            lines.insert(last + 1, format!("{}- {upstream}", " ".repeat(dash)));
        }
    } else {
        let (l, c) = doc.pos(&item);
        let line = &mut lines[l as usize - 1];
        let col = c as usize - 1;
        if line[col..].starts_with('{') || line[..col.min(line.len())].trim_end().ends_with('{') {
            // A flow mapping item: `- {name: b, ...}`.
            let close = line
                .rfind('}')
                .ok_or_else(|| vec!["cannot edit a flow mapping spread over lines".to_string()])?;
            line.insert_str(close, &format!(", dependencies: [{upstream}]"));
        } else {
            lines.insert(l as usize, format!("{}dependencies: [{upstream}]", " ".repeat(col)));
        }
    }
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    checked(out)
}

/// Whether `op` lists `upstream` in its `dependencies`.
pub fn depends_on(text: &str, op: &str, upstream: &str) -> bool {
    let Ok(doc) = crate::yaml::parse("f", text) else { return false };
    let Some((_, ops)) = ops_path(&doc.value) else { return false };
    index_of(ops, op).is_some_and(|i| {
        ops[i]["dependencies"].as_array().is_some_and(|d| d.iter().any(|x| x.as_str() == Some(upstream)))
    })
}

/// Marks a line for removal (indices stay valid while other lines are edited).
const GONE: &str = "\u{0}";

/// Removes `name` from the `dependencies` list whose key is on line `at` (0-based): from a flow list on that
/// line, or its `- name` item below (marked `GONE`).
fn drop_dependency(lines: &mut [String], at: usize, name: &str) {
    let line = &mut lines[at];
    if let (Some(open), Some(close)) = (line.find('['), line.rfind(']')) {
        let kept: Vec<&str> =
            line[open + 1..close].split(',').map(str::trim).filter(|x| !x.is_empty() && *x != name).collect();
        *line = format!("{}{}{}", &line[..=open], kept.join(", "), &line[close..]);
        return;
    }
    for l in lines.iter_mut().skip(at + 1).take_while(|l| l.trim_start().starts_with('-')) {
        if l.trim_start().trim_start_matches('-').trim() == name {
            *l = GONE.to_string();
        }
    }
}

/// Drops `upstream` from the `dependencies` of `op` (an edge deleted in the graph).
pub fn remove_dependency(text: &str, op: &str, upstream: &str) -> Result<String, Vec<String>> {
    let doc =
        crate::yaml::parse("f", text).map_err(|e| vec![format!("{}:{} {}", e.line, e.column, e.message)])?;
    let (base, ops) = ops_path(&doc.value).ok_or_else(|| vec!["the file is not a DAG".to_string()])?;
    let i = index_of(ops, op).ok_or_else(|| vec![format!("no operation named `{op}`")])?;
    if !depends_on(text, op, upstream) {
        return Ok(text.to_string());
    }
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let (l, _) = doc.pos(&format!("{base}[{i}].dependencies"));
    drop_dependency(&mut lines, l as usize - 1, upstream);
    lines.retain(|l| l != GONE);
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    checked(out)
}

/// Removes `op` (its item's lines) and its name from the other ops' `dependencies`.
pub fn remove_op(text: &str, op: &str) -> Result<String, Vec<String>> {
    let doc =
        crate::yaml::parse("f", text).map_err(|e| vec![format!("{}:{} {}", e.line, e.column, e.message)])?;
    let (base, ops) = ops_path(&doc.value).ok_or_else(|| vec!["the file is not a DAG".to_string()])?;
    let i = index_of(ops, op).ok_or_else(|| vec![format!("no operation named `{op}`")])?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Other ops' flow-list dependencies on it (block lists: their `- op` line).
    for (j, other) in ops.iter().enumerate() {
        if j == i
            || !other["dependencies"].as_array().is_some_and(|d| d.iter().any(|x| x.as_str() == Some(op)))
        {
            continue;
        }
        let (l, _) = doc.pos(&format!("{base}[{j}].dependencies"));
        drop_dependency(&mut lines, l as usize - 1, op);
    }
    // The item: from its dash to the line before the next item at its indentation (or the list's end).
    let (l, _) = doc.pos(&format!("{base}[{i}]"));
    let start = l as usize - 1;
    let dash = indent_of(&lines[start]);
    let mut end = start + 1;
    while end < lines.len() && (lines[end].trim().is_empty() || indent_of(&lines[end]) > dash) {
        end += 1;
    }
    lines.splice(start..end, std::iter::empty());
    lines.retain(|l| l != GONE);
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    checked(out)
}

/// Appends an op `name` that runs the component `hub_ref` (`hubRef: component:version`) after the last op.
pub fn add_op(text: &str, name: &str, hub_ref: &str) -> Result<String, Vec<String>> {
    crate::names::check_slug(name, 128).map_err(|e| vec![format!("op name: {e}")])?;
    let doc =
        crate::yaml::parse("f", text).map_err(|e| vec![format!("{}:{} {}", e.line, e.column, e.message)])?;
    let (base, ops) = ops_path(&doc.value).ok_or_else(|| vec!["the file is not a DAG".to_string()])?;
    if index_of(ops, name).is_some() {
        return Err(vec![format!("an operation is already named `{name}`")]);
    }
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let last = ops
        .len()
        .checked_sub(1)
        .ok_or_else(|| vec!["the pipeline has no operations to follow".to_string()])?;
    let (l, c) = doc.pos(&format!("{base}[{last}]"));
    let start = l as usize - 1;
    let dash = lines[start].find('-').unwrap_or(0).min(c as usize - 1);
    let mut end = start + 1;
    while end < lines.len() && (lines[end].trim().is_empty() || indent_of(&lines[end]) > dash) {
        end += 1;
    }
    while end > start + 1 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    let pad = " ".repeat(dash);
    lines.splice(end..end, [format!("{pad}- name: {name}"), format!("{pad}  hubRef: {hub_ref}")]);
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// The params an op sets, as written (`name -> {value: ..}` or `{ref: .., value: ..}`).
pub fn params_of(text: &str, op: &str) -> Vec<(String, Value)> {
    let Ok(doc) = crate::yaml::parse("f", text) else { return vec![] };
    let Some((_, ops)) = ops_path(&doc.value) else { return vec![] };
    let Some(i) = index_of(ops, op) else { return vec![] };
    crate::io::normalize_params(ops[i].get("params")).into_iter().collect()
}

/// Sets param `name` of `op` to `value` (a YAML scalar as typed: `5`, `true`, `abc`). The op's `params` is
/// rewritten as one flow mapping (comments inside it are lost); every other line stays.
pub fn set_param(text: &str, op: &str, name: &str, value: &str) -> Result<String, Vec<String>> {
    let doc =
        crate::yaml::parse("f", text).map_err(|e| vec![format!("{}:{} {}", e.line, e.column, e.message)])?;
    let (base, ops) = ops_path(&doc.value).ok_or_else(|| vec!["the file is not a DAG".to_string()])?;
    let i = index_of(ops, op).ok_or_else(|| vec![format!("no operation named `{op}`")])?;
    if name.trim().is_empty() {
        return Err(vec!["name the param".into()]);
    }
    let typed = match crate::yaml::parse("v", &format!("v: {value}")) {
        Ok(d) => d.value["v"].clone(),
        Err(_) => Value::String(value.to_string()),
    };
    // `ops.X.outputs.y` connects an upstream output to this input.
    let param = match value.trim().strip_prefix("ops.").and_then(|r| r.split_once('.')) {
        Some((up, what)) if what.starts_with("outputs.") || what.starts_with("inputs.") => {
            serde_json::json!({"ref": format!("ops.{up}"), "value": what})
        }
        _ => serde_json::json!({ "value": typed }),
    };
    let mut params = crate::io::normalize_params(ops[i].get("params"));
    params.insert(name.trim().to_string(), param);
    let flow = format!("params: {}", Value::Object(params));
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let item = format!("{base}[{i}]");
    let (l, c) = doc.pos(&item);
    let line_of_item = &lines[l as usize - 1];
    if line_of_item[..(c as usize - 1).min(line_of_item.len())].trim_end().ends_with('{') {
        return Err(vec![format!("op `{op}` is written as one flow mapping: set its params in the YAML")]);
    }
    if ops[i].get("params").is_some() {
        let (pl, pc) = doc.pos(&format!("{item}.params"));
        let start = pl as usize - 1;
        let key_indent = pc as usize - 1;
        let mut end = start + 1;
        while end < lines.len() && (lines[end].trim().is_empty() || indent_of(&lines[end]) > key_indent) {
            end += 1;
        }
        lines.splice(start..end, [format!("{}{flow}", " ".repeat(key_indent))]);
    } else {
        lines.insert(l as usize, format!("{}{flow}", " ".repeat(c as usize - 1)));
    }
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    checked(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAG: &str = "kind: component\nrun:\n  kind: dag\n  operations:\n  # the first step\n  - name: a\n    component: {run: {kind: job, container: {image: x}}}\n  - name: b  # keep me\n    component: {run: {kind: job, container: {image: x}}}\n  - {name: c, component: {run: {kind: job, container: {image: x}}}}\n";

    #[test]
    fn an_edge_becomes_a_dependency_and_everything_else_stays() {
        let out = add_dependency(DAG, "b", "a").unwrap();
        assert!(out.contains("  - name: b  # keep me\n    dependencies: [a]\n"), "{out}");
        assert!(out.contains("  # the first step\n"));
        let out = add_dependency(&out, "b", "c").unwrap();
        assert!(out.contains("    dependencies: [a, c]\n"), "{out}");
        let flow = add_dependency(DAG, "c", "a").unwrap();
        assert!(
            flow.contains(
                "- {name: c, component: {run: {kind: job, container: {image: x}}}, dependencies: [a]}"
            ),
            "{flow}"
        );
        let block = "kind: component\nrun:\n  kind: dag\n  operations:\n  - name: a\n    component: {run: {kind: job, container: {image: x}}}\n  - name: b\n    dependencies:\n    - a\n    component: {run: {kind: job, container: {image: x}}}\n  - {name: c, component: {run: {kind: job, container: {image: x}}}}\n";
        let out = add_dependency(block, "b", "c").unwrap();
        assert!(out.contains("    dependencies:\n    - a\n    - c\n"), "{out}");
        let cut = remove_dependency(&out, "b", "a").unwrap();
        assert!(cut.contains("    dependencies:\n    - c\n    component:"), "{cut}");
    }

    #[test]
    fn a_cycle_is_refused_with_the_compilers_words() {
        let out = add_dependency(DAG, "b", "a").unwrap();
        let err = add_dependency(&out, "a", "b").unwrap_err();
        assert!(err[0].contains("cycle"), "{err:?}");
        assert!(add_dependency(DAG, "b", "nope").is_err());
    }

    #[test]
    fn an_op_from_a_component_is_appended_after_the_last() {
        let out = add_op(DAG, "score", "scorer:0123456789ab").unwrap();
        assert!(out.ends_with("  - {name: c, component: {run: {kind: job, container: {image: x}}}}\n  - name: score\n    hubRef: scorer:0123456789ab\n"), "{out}");
        assert!(add_op(DAG, "a", "x").unwrap_err()[0].contains("already named"));
        assert!(add_op(DAG, "Bad Name", "x").is_err());
    }

    #[test]
    fn a_param_set_from_the_panel_rewrites_only_that_ops_params() {
        let dag = "kind: component\nrun:\n  kind: dag\n  operations:\n  - name: a  # first\n    params:\n      n: {value: 1}  # lost: inside params\n    component: {inputs: [{name: n, type: int}], run: {kind: job, container: {image: x}}}\n  - name: b\n    component: {inputs: [{name: m, type: str, isOptional: true}], run: {kind: job, container: {image: x}}}\n";
        let out = set_param(dag, "a", "n", "5").unwrap();
        assert!(
            out.contains("  - name: a  # first\n    params: {\"n\":{\"value\":5}}\n    component:"),
            "{out}"
        );
        let out = set_param(&out, "b", "m", "hello world").unwrap();
        assert!(out.contains("  - name: b\n    params: {\"m\":{\"value\":\"hello world\"}}\n"), "{out}");
        assert_eq!(params_of(&out, "a")[0].1, serde_json::json!({"value": 5}));
        let err = set_param(&out, "a", "n", "not a number").unwrap_err();
        assert!(err[0].contains("int"), "the compiler's words: {err:?}");
        assert!(set_param(DAG, "c", "x", "1").unwrap_err()[0].contains("flow mapping"));
        let wired = set_param(&out, "b", "m", "ops.a.inputs.n").unwrap();
        assert!(wired.contains(r#"params: {"m":{"ref":"ops.a","value":"inputs.n"}}"#), "{wired}");
        assert!(depends_on(&add_dependency(&wired, "b", "a").unwrap(), "b", "a"));
        let cut = remove_dependency(&add_dependency(&out, "b", "a").unwrap(), "b", "a").unwrap();
        assert!(cut.contains("    dependencies: []\n"), "{cut}");
    }

    #[test]
    fn removing_an_op_drops_its_lines_and_the_edges_to_it() {
        let out = add_dependency(&add_dependency(DAG, "b", "a").unwrap(), "c", "a").unwrap();
        let out = remove_op(&out, "a").unwrap();
        assert!(!out.contains("name: a"), "{out}");
        assert!(out.contains("    dependencies: []\n"), "{out}");
        assert!(out.contains("  - name: b  # keep me\n"), "{out}");
        assert!(out.contains("dependencies: []}"), "{out}");
    }
}
