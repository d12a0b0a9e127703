//! What the editor shows of a text: diagnostics, manifests, params and, for a DAG, its graph.

use api_types::{GraphEdge, GraphNode, GraphView};
use serde::{Deserialize, Serialize};

/// A diagnostic as the editor shows it (1-based line and column; 0 when unknown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub line: u32,
    pub column: u32,
    /// `error` or `warning`.
    pub severity: String,
    pub code: String,
    pub message: String,
}

/// What the compiler says of the text.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Checked {
    /// Not compiled yet (the browser is still loading the compiler).
    pub pending: bool,
    pub problems: Vec<Problem>,
    pub manifest: String,
    pub params: Vec<(String, String)>,
    pub graph: Option<GraphView>,
    /// The file's declared inputs, for the params form.
    pub inputs: Vec<Field>,
}

/// A declared input, for the params form: `(name, type, default, required)`.
pub type Field = (String, String, String, bool);

/// The file's declared inputs (a component's, or an operation's component's).
pub fn inputs_of(text: &str) -> Vec<Field> {
    let Ok(doc) = spec::yaml::parse("f", text) else { return vec![] };
    let v = doc.value;
    let list = v.get("inputs").or_else(|| v.get("component").and_then(|c| c.get("inputs")));
    list.and_then(|l| l.as_array())
        .into_iter()
        .flatten()
        .filter_map(|i| spec::io::Io::from_value(i).ok())
        .map(|io| {
            let default = match &io.value {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            (io.name, io.kind, default, !io.optional)
        })
        .collect()
}

/// What a file is checked against besides itself: the project's components and the pod policy its runs must
/// meet (baseline until the project's is known).
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub library: spec::library::Library,
    pub policy: spec::policy::Policy,
}

/// Compiles `text` as the server would (without its connections catalog), `hubRef`s resolved against the
/// project's components, with the params set in the form.
pub fn check(text: &str, ctx: &Context, params: &[(String, String)]) -> Checked {
    let out = spec::compile(&spec::Options {
        limits: Default::default(),
        // The project's pod policy, so a violation shows while typing.
        policy: Some(ctx.policy.clone()),
        files: vec![spec::Source { name: "polyaxonfile.yaml".into(), text: text.into() }],
        params: params
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
        catalog: Default::default(),
        refs: &ctx.library,
        run_uuid: None,
        // The manifests shown are those the server applies.
        execution: spec::Execution { retries: spec::compile::Retries::Myelin, ..Default::default() },
    });
    let problems = out
        .errors
        .iter()
        .map(|d| (d, "error"))
        .chain(out.warnings.iter().map(|d| (d, "warning")))
        .map(|(d, severity)| Problem {
            line: d.line,
            column: d.column,
            severity: severity.into(),
            code: d.code.into(),
            message: d.message.clone(),
        })
        .collect();
    let mut docs: Vec<String> = out.run.manifests.iter().map(spec::yaml::to_string).collect();
    for op in &out.run.ops {
        docs.extend(
            op.run.manifests.iter().map(|m| format!("# op {}\n{}", op.name, spec::yaml::to_string(m))),
        );
    }
    if let Some(m) = &out.run.matrix {
        for (i, c) in m.children.iter().enumerate() {
            docs.extend(
                c.manifests.iter().map(|x| format!("# matrix child {i}\n{}", spec::yaml::to_string(x))),
            );
        }
    }
    let params = out.run.params.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
    let graph = (!out.run.ops.is_empty()).then(|| graph_of(&out.run.ops));
    Checked { pending: false, problems, manifest: docs.join("---\n"), params, graph, inputs: inputs_of(text) }
}

fn graph_of(ops: &[spec::compile::Op]) -> GraphView {
    let index = |n: &str| ops.iter().position(|o| o.name == n);
    let links: Vec<(usize, usize)> = ops
        .iter()
        .enumerate()
        .flat_map(|(i, o)| o.upstream.iter().filter_map(move |u| index(u).map(|j| (j, i))))
        .collect();
    let placed = spec::layout::layout(ops.len(), &links, 80.0);
    let edges = links
        .iter()
        .map(|&(j, i)| {
            let feeds: Vec<String> = ops[i]
                .feeds
                .iter()
                .filter(|(_, up, _)| *up == ops[j].name)
                .map(|(param, _, key)| format!("{param} <- {key}"))
                .collect();
            GraphEdge { from: placed.positions[j], to: placed.positions[i], label: feeds.join(", ") }
        })
        .collect();
    let nodes = ops
        .iter()
        .zip(&placed.positions)
        .map(|(o, (x, y))| GraphNode {
            name: o.name.clone(),
            run: String::new(),
            status: "created".into(),
            cache_hit: false,
            cache_why: String::new(),
            detail: o.trigger.replace("all_succeeded", ""),
            x: *x,
            y: *y,
        })
        .collect();
    GraphView {
        kind: "dag".into(),
        status: "created".into(),
        done: false,
        progress: format!("{} ops", ops.len()),
        nodes,
        edges,
        width: placed.width,
        height: placed.height,
    }
}
