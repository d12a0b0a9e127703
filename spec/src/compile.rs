//! From polyaxonfiles to what Myelin runs: the operation, its resolved params, the Kubernetes objects, and for
//! pipelines their ops (DAG) or children (matrix) or first tick (schedule).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::catalog::Catalog;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::io::{normalize_params, Io};
use crate::lifecycle::RunKind;
use crate::render::Renderer;
pub use crate::termination::{Retries, Termination};
use crate::yaml::Doc;

/// A file given to the compiler.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

/// How the caller resolves `hubRef`, `urlRef` and `pathRef` (the compiler itself does no I/O).
pub trait Refs {
    fn hub(&self, reference: &str) -> Option<Source>;
    fn url(&self, url: &str) -> Option<Source>;
    /// `path` relative to the file `from`.
    fn path(&self, from: &str, path: &str) -> Option<Source>;
}

/// For the browser and tests: no external references.
pub struct NoRefs;

impl Refs for NoRefs {
    fn hub(&self, _: &str) -> Option<Source> {
        None
    }
    fn url(&self, _: &str) -> Option<Source> {
        None
    }
    fn path(&self, _: &str, _: &str) -> Option<Source> {
        None
    }
}

pub struct Options<'a> {
    /// The file, then overlays (`-f a.yaml -f b.yaml`).
    pub files: Vec<Source>,
    /// `-P name=value`, in order (later wins).
    pub params: Vec<(String, Value)>,
    pub catalog: Catalog,
    pub refs: &'a dyn Refs,
    /// The run's uuid (32 hex); derived from the input when absent so output is deterministic.
    pub run_uuid: Option<String>,
    /// What executing a pipeline adds: one op to compile, its upstream's results, every matrix child.
    pub execution: Execution,
    /// Bounds on the work this compile may do.
    pub limits: crate::limits::Limits,
    /// The pod policy to enforce (a server's, the editor's, `myelin lint`'s); `None` for Polyaxon's own
    /// semantics (`myelin compile`).
    pub policy: Option<crate::policy::Policy>,
}

/// For executing a pipeline (the server's pipeline driver); the default compiles for showing.
#[derive(Debug, Clone, Default)]
pub struct Execution {
    /// Compile only this op of a DAG (the others are still checked).
    pub op: Option<String>,
    /// Per upstream op name: `{"outputs": {..}, "inputs": {..}, "uuid": ..}`. `ref: ops.X` params and
    /// `{{ ops.X.outputs.y }}` templates of the compiled op are resolved from it.
    pub upstream: Map<String, Value>,
    /// Compile every matrix child (otherwise the first few, enough to show).
    pub all_children: bool,
    /// Who retries a failed attempt: what the Job manifests say about retries depends on it.
    pub retries: Retries,
    /// Who submits the run, in which project, and when (`globals`); placeholders when absent.
    pub context: Option<RunContext>,
}

/// Where a run's context is mounted (Polyaxon's): what the run writes under `artifacts/<uuid>/` there
/// (`globals.run_artifacts_path`, `globals.run_outputs_path`) is kept as the run's artifacts.
pub const CONTEXT_PATH: &str = "/plx-context";

/// What Polyaxon's `globals` say about a run beyond its uuid and name.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    pub owner: String,
    pub project: String,
    pub username: String,
    /// When the run was created, RFC 3339.
    pub created_at: String,
}

/// What one run (or op, or matrix child) compiles to.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Run {
    /// The run's uuid (32 hex): `Options::run_uuid`, or derived from its parent's for an op or matrix child.
    /// `globals.uuid` and the context paths (`globals.run_outputs_path`) name it.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub uuid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<RunKind>,
    pub pipeline: Option<String>,
    /// The run's `name` (the operation's over its component's). Serialized as `run_name`: a DAG op already
    /// carries its name in the DAG under `name`.
    #[serde(rename = "run_name", skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Termination::is_empty", default)]
    pub termination: Termination,
    pub params: Map<String, Value>,
    pub manifests: Vec<Value>,
    pub ops: Vec<Op>,
    pub matrix: Option<Matrix>,
    /// The effective `cache` section (the component's, with what its pipeline pushed down).
    #[serde(skip_serializing_if = "Value::is_null", default)]
    pub cache: Value,
    /// Connections the run mounts (`run.connections`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub connections: Vec<String>,
    /// Names of the component's declared outputs.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub outputs: Vec<String>,
    /// Those of type `path` or `artifacts`: their values are relative to the run's artifacts, and reach
    /// downstream ops prefixed with the run's uuid, as Polyaxon does.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub artifact_outputs: Vec<String>,
    /// A pipeline's `concurrency` (DAG `run.concurrency`, `matrix.concurrency`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub concurrency: Option<u64>,
    /// A pipeline's `earlyStopping` policies.
    #[serde(skip_serializing_if = "Value::is_null", default)]
    pub early_stopping: Value,
    /// `isApproved: false`: the run waits, compiled, until a project member approves it.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub needs_approval: bool,
    /// The run's `tags` (the operation's over its component's; a string is a comma-separated list).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub tags: Vec<String>,
    /// The run's `description` (the operation's over its component's).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Op {
    pub name: String,
    pub upstream: Vec<String>,
    pub trigger: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub conditions: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub skip_on_upstream_skip: bool,
    /// Params fed by upstream ops: `(param, upstream op, its output or input)`.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub feeds: Vec<(String, String, String)>,
    #[serde(flatten)]
    pub run: Run,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Matrix {
    pub kind: String,
    pub suggestions: Vec<Map<String, Value>>,
    pub children: Vec<Run>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Compiled {
    pub valid: bool,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    #[serde(flatten)]
    pub run: Run,
}

impl Run {
    /// The main container of the first pod (a job's `main`, a Kubeflow job's first replica's), if any.
    pub fn main_container(&self) -> Option<&Value> {
        crate::placement::pod_specs(&self.manifests).first().and_then(|p| p.get("containers")?.get(0))
    }

    /// The image of the main container, as written.
    pub fn main_image(&self) -> Option<&str> {
        self.main_container()?.get("image")?.as_str()
    }

    /// The run kinds a pipeline will start (its ops', or its matrix children's).
    /// This run and every run it holds (a DAG's ops, a matrix's children, recursively), each named by where
    /// it is: `""` for this run, ``op `train` `` for an op, `matrix child 3 (lr=0.1)` for a child.
    pub fn each_run(&self) -> Vec<(String, &Run)> {
        fn walk<'a>(at: String, run: &'a Run, out: &mut Vec<(String, &'a Run)>) {
            let within = |what: String| if at.is_empty() { what } else { format!("{at}, {what}") };
            for op in &run.ops {
                walk(within(format!("op `{}`", op.name)), &op.run, out);
            }
            if let Some(m) = &run.matrix {
                for (i, child) in m.children.iter().enumerate() {
                    let params = m.suggestions.get(i).map(|s| {
                        s.iter()
                            .map(|(k, v)| {
                                format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_string))
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    });
                    let what = format!("matrix child {} ({})", i + 1, params.unwrap_or_default());
                    walk(within(what), child, out);
                }
            }
            out.push((at, run));
        }
        let mut out = Vec::new();
        walk(String::new(), self, &mut out);
        out
    }

    pub fn children_kinds(&self) -> std::collections::BTreeSet<RunKind> {
        let mut kinds: std::collections::BTreeSet<RunKind> =
            self.ops.iter().filter_map(|o| o.run.kind).filter(|k| *k != RunKind::Dag).collect();
        for o in &self.ops {
            kinds.extend(o.run.children_kinds());
        }
        if self.matrix.is_some() {
            kinds.extend(self.kind);
        }
        kinds
    }
}

/// Compiles a polyaxonfile (and its overlays) with params.
pub fn compile(opts: &Options) -> Compiled {
    let mut c = Compiler {
        diags: Diagnostics::default(),
        render: Renderer::with_fuel(opts.limits.template_fuel),
        opts,
        docs: Vec::new(),
        catalog_ctx: std::cell::OnceCell::new(),
    };
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
    pub dag_inputs: Option<std::rc::Rc<Map<String, Value>>>,
    /// Components a DAG declares, for `dagRef`.
    pub dag_components: std::rc::Rc<Vec<(Value, usize, String)>>,
    pub uuid: String,
    /// A DAG's op or a matrix's child: cached unless its `cache` says otherwise (Polyaxon's default).
    pub in_pipeline: bool,
}

impl<'a> Compiler<'a> {
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
        let item = Diagnostic { path, line, column, code, message, file, severity };
        if !self.diags.items.contains(&item) {
            self.diags.items.push(item);
        }
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
        self.operation(&op, At { doc: d, path: "" }, &Inherited { uuid, ..Default::default() })
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
