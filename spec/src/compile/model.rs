//! What the compiler is given (sources, references, options, the execution it compiles for) and what it answers
//! (a run, its ops or matrix, diagnostics).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::diag::Diagnostic;
use crate::lifecycle::RunKind;
use crate::termination::{Retries, Termination};

/// A file given to the compiler.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

/// How the caller resolves `hubRef`, `urlRef` and `pathRef` (the compiler itself does no I/O). Shared by the
/// threads a large DAG is compiled on.
pub trait Refs: Sync {
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
    /// Whether the run's `conditions` hold, decided when compiled: `Some(false)` skips it. `None` when it has none,
    /// or they read a value known only once its upstream ops end (decided when it is compiled again with them).
    /// (Not `conditions`: an `Op` carries its own text under that name beside its flattened run.)
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub conditions_met: Option<bool>,
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
