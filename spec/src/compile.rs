//! From polyaxonfiles to what Myelin runs: the operation, its resolved params, the Kubernetes objects, and for
//! pipelines their ops (DAG) or children (matrix) or first tick (schedule).

use serde_json::{json, Map, Value};

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::io::{normalize_params, Io};
use crate::render::Renderer;
pub use crate::termination::{Retries, Termination};
use crate::yaml::Doc;

mod model;
mod parallel;
pub use model::*;

/// Compiles a polyaxonfile (and its overlays) with params.
pub fn compile(opts: &Options) -> Compiled {
    compile_on(opts, parallel::threads())
}

/// `compile`, a large DAG's ops on up to `threads` threads.
fn compile_on(opts: &Options, threads: usize) -> Compiled {
    let mut c = Compiler::new(opts, Vec::new(), threads);
    let run = c.top().unwrap_or_default();
    let valid = !c.diags.has_errors();
    Compiled {
        valid,
        errors: c.diags.errors().cloned().collect(),
        warnings: c.diags.warnings().cloned().collect(),
        run: if valid { run } else { Run::default() },
    }
}

pub(crate) struct Compiler<'a> {
    pub diags: Diagnostics,
    pub render: Renderer,
    pub opts: &'a Options<'a>,
    pub docs: Vec<Doc>,
    /// `connections` in templates, built once.
    pub catalog_ctx: std::cell::OnceCell<Value>,
    /// How many threads a large DAG's ops may compile on (`compile/parallel.rs`).
    pub threads: usize,
}

/// Where a value came from, for locating diagnostics.
#[derive(Clone, Copy)]
pub(crate) struct At<'p> {
    pub doc: usize,
    pub path: &'p str,
}

pub(crate) fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.into()
    } else if key.starts_with('[') {
        format!("{base}{key}")
    } else {
        format!("{base}.{key}")
    }
}

/// What a pipeline pushes down to its ops (Polyaxon: `pre_merge` of the pipeline's settings).
#[derive(Clone, Default)]
pub(crate) struct Inherited {
    pub environment: Option<Value>,
    pub termination: Option<Value>,
    pub plugins: Option<Value>,
    pub cache: Option<Value>,
    /// `dag.inputs` for ops of a DAG.
    pub dag_inputs: Option<std::sync::Arc<Map<String, Value>>>,
    /// Components a DAG declares, for `dagRef`.
    pub dag_components: std::sync::Arc<Vec<(Value, usize, String)>>,
    pub uuid: String,
    /// A DAG's op or a matrix's child: cached unless its `cache` says otherwise (Polyaxon's default).
    pub in_pipeline: bool,
}

impl<'a> Compiler<'a> {
    /// A compiler of `opts` over `docs` (those read so far), whose DAGs' ops may use up to `threads` threads.
    pub(crate) fn new(opts: &'a Options<'a>, docs: Vec<Doc>, threads: usize) -> Self {
        Self {
            diags: Diagnostics::default(),
            render: Renderer::with_fuel(opts.limits.template_fuel),
            opts,
            docs,
            catalog_ctx: std::cell::OnceCell::new(),
            threads,
        }
    }

    pub fn error(&mut self, at: At, code: &'static str, message: impl Into<String>) {
        self.push(at, code, message.into(), Severity::Error);
    }

    pub fn warn(&mut self, at: At, code: &'static str, message: impl Into<String>) {
        self.push(at, code, message.into(), Severity::Warning);
    }

    fn push(&mut self, at: At, code: &'static str, message: String, severity: Severity) {
        let (path, line, column, file) = match self.docs.get(at.doc) {
            Some(d) => {
                let path = d.local(at.path);
                let (l, c) = d.pos(path);
                (path.to_string(), l, c, d.file.clone())
            }
            None => (at.path.to_string(), 0, 0, String::new()),
        };
        self.diags.add(Diagnostic { path, line, column, code, message, file, severity });
    }

    /// Parses a source into a registered document.
    pub fn load(&mut self, src: &Source, at: Option<At>) -> Option<usize> {
        match crate::yaml::parse_within(&src.name, &src.text, &self.opts.limits) {
            Ok(doc) => {
                self.docs.push(doc);
                Some(self.docs.len() - 1)
            }
            Err(e) => {
                let file = src.name.clone();
                let path = at.map(|a| a.path.to_string()).unwrap_or_default();
                self.diags.items.push(Diagnostic {
                    path,
                    line: e.line,
                    column: e.column,
                    code: "yaml_syntax",
                    message: e.message,
                    file,
                    severity: Severity::Error,
                });
                None
            }
        }
    }

    fn top(&mut self) -> Option<Run> {
        let files = &self.opts.files;
        let main = files.first()?;
        let d = self.load(main, None)?;
        let mut op = self.as_operation(d)?;
        for overlay in files.iter().skip(1) {
            let o = self.load(overlay, None)?;
            let patch = std::mem::take(&mut self.docs[o].value); // read once, here
            if !patch.is_object() {
                self.error(At { doc: o, path: "" }, "invalid_file", "an overlay must be a mapping");
                return None;
            }
            op = overlay_operation(op, patch);
        }
        // Checked here: the params are rewritten below, before the operation's own checks see them.
        crate::sections::shape(self, &op, "params", crate::sections::Shape::Mapping, At { doc: d, path: "" });
        let mut params = normalize_params(op.get("params"));
        for (k, v) in &self.opts.params {
            params.insert(k.clone(), json!({"value": v}));
        }
        op["params"] = Value::Object(params);
        let uuid = self.opts.run_uuid.clone().unwrap_or_else(|| derived_uuid(&op.to_string()));
        self.operation(&mut op, At { doc: d, path: "" }, &Inherited { uuid, ..Default::default() })
    }

    /// The file as an operation: a component is wrapped as `{kind: operation, component}`.
    fn as_operation(&mut self, d: usize) -> Option<Value> {
        let v = std::mem::take(&mut self.docs[d].value); // read once, here
        let at = At { doc: d, path: "" };
        let Value::Object(m) = &v else {
            self.error(
                at,
                "invalid_file",
                "a polyaxonfile must be a mapping with `kind: component` or `kind: operation`",
            );
            return None;
        };
        match m.get("kind").and_then(Value::as_str) {
            Some("operation") => Some(v),
            Some("component") | None
                if m.contains_key("run")
                    || !m.contains_key("kind")
                    || m.get("kind").and_then(Value::as_str) == Some("component") =>
            {
                self.docs[d].wrapped = true;
                let mut op = Map::new();
                op.insert("kind".into(), json!("operation"));
                // Polyaxon 2.x reads one shape for both kinds: a component's operation fields (`params`,
                // `matrix`, `schedule`, …) configure the run it becomes.
                let Value::Object(mut comp) = v else { return None };
                for k in crate::schema::OPERATION_ONLY {
                    if let Some(x) = comp.remove(*k) {
                        op.insert(k.to_string(), x);
                    }
                }
                op.insert("component".into(), Value::Object(comp));
                Some(Value::Object(op))
            }
            Some(other) => {
                self.error(
                    At { doc: d, path: "kind" },
                    "invalid_kind",
                    format!("`kind` must be `component` or `operation`, not `{other}`"),
                );
                None
            }
            None => None,
        }
    }
}

/// Layers an overlay file onto the operation (`post_merge`: the overlay's values win, maps merge).
fn overlay_operation(op: Value, patch: Value) -> Value {
    let mut patch = patch;
    if let Some(m) = patch.as_object_mut() {
        m.remove("kind");
        m.remove("version");
        if let Some(p) = m.remove("params") {
            let mut params = normalize_params(op.get("params"));
            params.extend(normalize_params(Some(&p)));
            m.insert("params".into(), Value::Object(params));
        }
        if m.contains_key("run") || m.contains_key("inputs") {
            // A component-shaped overlay patches the component's run.
            let mut rp = Map::new();
            if let Some(run) = m.remove("run") {
                rp.insert("run".into(), run);
            }
            let mut op = op;
            op["component"] = crate::patch::merge(
                op["component"].clone(),
                Value::Object(rp),
                crate::patch::Strategy::PostMerge,
            );
            return crate::patch::merge(op, patch, crate::patch::Strategy::PostMerge);
        }
    }
    crate::patch::merge(op, patch, crate::patch::Strategy::PostMerge)
}

/// A uuid (32 hex) derived from the input, so the same file always compiles to the same names.
pub fn derived_uuid(seed: &str) -> String {
    let mut h1: u64 = 0xcbf29ce484222325;
    let mut h2: u64 = 0x84222325cbf29ce4;
    for b in seed.bytes() {
        h1 = (h1 ^ b as u64).wrapping_mul(0x100000001b3);
        h2 = (h2 ^ b as u64).wrapping_mul(0x1000193).rotate_left(5);
    }
    format!("{h1:016x}{h2:016x}")
}

/// Io declarations of a component.
pub(crate) fn ios(component: &Value, key: &str) -> Result<Vec<Io>, (String, String)> {
    match component.get(key) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| Io::from_value(v).map_err(|e| (format!("{key}[{i}]"), e)))
            .collect(),
        Some(_) => Err((key.into(), format!("`{key}` must be a list"))),
    }
}
