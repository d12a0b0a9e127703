//! Params: resolved against the component's inputs and outputs in declaration order, the template context
//! built from them, and the env vars they expose.

use serde_json::{json, Map, Value};

use crate::compile::{ios, join, At, Compiler, Inherited, CONTEXT_PATH};
use crate::io::{normalize_params, Io};

mod to_init;

/// An operation's params once resolved.
pub(crate) struct Resolved {
    /// Declared inputs and outputs with their values (null when unset or only known at run time).
    pub params: Vec<(Io, Value)>,
    /// Params that match no input/output: available to templates only.
    pub ctx_params: Map<String, Value>,
    /// Names whose values are only known at run time (upstream outputs, joins).
    pub runtime: Vec<String>,
    pub globals: Value,
}

impl Compiler<'_> {
    /// Resolves params against the component's inputs and outputs, in declaration order (a value may refer to
    /// an earlier one).
    pub(crate) fn resolve_params(
        &mut self,
        op: &Value,
        component: &Value,
        at: At,
        comp_at: At,
        from_matrix: &[String],
        inh: &Inherited,
    ) -> Option<Resolved> {
        let name = op.get("name").or_else(|| component.get("name")).and_then(Value::as_str).unwrap_or("run");
        let globals = self.globals(inh, name);
        let (inputs, outputs) = match (ios(component, "inputs"), ios(component, "outputs")) {
            (Ok(i), Ok(o)) => (i, o),
            (Err((p, e)), _) | (_, Err((p, e))) => {
                self.error(At { doc: comp_at.doc, path: &join(comp_at.path, &p) }, "invalid_io", e);
                return None;
            }
        };
        let params = normalize_params(op.get("params"));
        let strict = [op, component]
            .iter()
            .find_map(|v| v.get("strictParams").filter(|s| !s.is_null()))
            .and_then(crate::scalars::lax_bool)
            == Some(true);
        let mut runtime: Vec<String> = joins_params(op);
        let mut given: Map<String, Value> = Map::new();
        let mut ctx_params = Map::new();
        // A join's params are known at run time; one no input or output declares is for templates only.
        for name in runtime.iter().filter(|n| !inputs.iter().chain(&outputs).any(|io| &io.name == *n)) {
            ctx_params.insert(name.clone(), json!(format!("{{{{ {name} }}}}")));
        }
        for (name, p) in &params {
            let ppath = join(&join(at.path, "params"), name);
            let pat = At { doc: at.doc, path: &ppath };
            let is_io = inputs.iter().chain(&outputs).any(|io| &io.name == name);
            if !is_io {
                // Polyaxon: `contextOnly: false` demands an input/output; `strictParams` demands one unless the
                // param says it is for templates only (`contextOnly: true`).
                let context_only = p.get("contextOnly").and_then(Value::as_bool);
                if context_only == Some(false) || (strict && context_only != Some(true)) {
                    let why = if context_only == Some(false) {
                        "matches no input or output of the component".to_string()
                    } else {
                        "matches no input or output of the component, and `strictParams` is on: declare \
                         it, or set `contextOnly: true` to use it in templates only"
                            .to_string()
                    };
                    self.error(pat, "unknown_param", format!("param `{name}` {why}"));
                    continue;
                }
            }
            // Some(value) when known now; None when only known at run time (ops.X / runs.<uuid>).
            let value = match p.get("ref").and_then(Value::as_str) {
                Some("dag") => {
                    let key = p["value"].as_str().unwrap_or_default();
                    let key = key.trim_start_matches("inputs.").trim_start_matches("outputs.").to_string();
                    match inh.dag_inputs.as_ref().map(|d| d.get(&key)) {
                        Some(Some(v)) => Some(v.clone()),
                        Some(None) => {
                            self.error(pat, "unknown_reference", format!("param `{name}` refers to dag input `{key}`, which the pipeline does not have"));
                            continue;
                        }
                        None => None,
                    }
                }
                Some(_) => None,
                None => Some(p.get("value").cloned().unwrap_or(Value::Null)),
            };
            match value {
                None => {
                    runtime.push(name.clone());
                    if !is_io {
                        ctx_params.insert(name.clone(), json!(format!("{{{{ {name} }}}}")));
                    }
                }
                Some(v) if is_io => {
                    given.insert(name.clone(), v);
                }
                Some(v) => {
                    ctx_params.insert(name.clone(), v);
                }
            }
        }
        // The context a param's own template sees: globals and the params resolved before it. A pipeline's inputs
        // reach an op only as params (`{ref: dag, value: inputs.x}`): Polyaxon has no `dag` in templates.
        // `parsed`: the indexes in `out` of values given or defaulted (not those left for run time).
        let ctx = |out: &[(Io, Value)], parsed: &[usize]| {
            let mut c = Map::new();
            c.insert("globals".into(), globals.clone());
            c.extend(parsed.iter().map(|&i| (out[i].0.name.clone(), out[i].1.clone())));
            Value::Object(c)
        };
        let (mut out, mut parsed) = (Vec::new(), Vec::new());
        for (i, io) in inputs.iter().chain(&outputs).enumerate() {
            // By position: an output may share an input's name.
            let is_input = i < inputs.len();
            let ppath = join(&join(at.path, "params"), &io.name);
            let pat = At { doc: at.doc, path: &ppath };
            if runtime.contains(&io.name) {
                out.push((io.clone(), Value::Null));
                continue;
            }
            let raw = given.get(&io.name).cloned().filter(|v| !v.is_null()).or_else(|| io.value.clone());
            let raw = match raw {
                Some(Value::String(s)) if s.contains("{{") => {
                    if s.contains("ops.") || s.contains("runs.") {
                        runtime.push(io.name.clone());
                        out.push((io.clone(), Value::Null));
                        continue;
                    }
                    match self.render.render(&s, &ctx(&out, &parsed)) {
                        Ok(r) => Some(Value::String(r)),
                        Err(e) => {
                            self.error(pat, "template_error", format!("param `{}`: {e}", io.name));
                            continue;
                        }
                    }
                }
                // A matrix gives each child its value; the matrix itself may leave it unset.
                None if from_matrix.contains(&io.name) => Some(Value::Null),
                other => other,
            };
            match raw {
                Some(v) => match io.parse(&v) {
                    Ok(v) => {
                        parsed.push(out.len());
                        out.push((io.clone(), v));
                    }
                    Err(e) => self.error(pat, "invalid_param", e),
                },
                None if is_input && !io.optional => self.error(
                    At { doc: at.doc, path: if params.is_empty() { at.path } else { &ppath } },
                    "required_input",
                    format!("input `{}` is required and no param was passed", io.name),
                ),
                None => out.push((io.clone(), Value::Null)),
            }
        }
        for (name, v) in ctx_params.iter_mut().filter(|(n, _)| !runtime.contains(n)) {
            if let Value::String(s) = v {
                if s.contains("{{") && !s.contains("ops.") && !s.contains("runs.") {
                    match self.render.render(s, &ctx(&out, &parsed)) {
                        Ok(r) => *s = r,
                        Err(e) => {
                            let ppath = join(&join(at.path, "params"), name);
                            self.error(
                                At { doc: at.doc, path: &ppath },
                                "template_error",
                                format!("param `{name}`: {e}"),
                            );
                        }
                    }
                }
            }
        }
        if self.diags.has_errors() {
            return None;
        }
        Some(Resolved { params: out, ctx_params, runtime, globals })
    }

    /// Polyaxon's `globals`: the run's uuid and `name` (the operation's over its component's), and who submits
    /// it where (`Execution::context`; placeholders when compiling to show). The paths are Polyaxon's context
    /// paths: the executors mount them and keep what a run writes there as its artifacts.
    fn globals(&self, inh: &Inherited, name: &str) -> Value {
        let uuid = &inh.uuid;
        let s = |v: &str| Value::String(v.to_string());
        let placeholder = crate::compile::RunContext {
            owner: "owner".into(),
            project: "project".into(),
            username: "user".into(),
            created_at: "1970-01-01T00:00:00+00:00".into(),
        };
        let c = self.opts.execution.context.as_ref().unwrap_or(&placeholder);
        let (owner, project) = (&c.owner, &c.project);
        crate::pod::object([
            ("uuid", s(uuid)),
            ("name", s(name)),
            ("owner_name", s(owner)),
            ("project_name", s(project)),
            ("project_unique_name", Value::String(format!("{owner}.{project}"))),
            ("username", s(&c.username)),
            ("namespace", s("myelin")),
            ("context_path", s(CONTEXT_PATH)),
            ("artifacts_path", Value::String(format!("{CONTEXT_PATH}/artifacts"))),
            ("run_artifacts_path", Value::String(format!("{CONTEXT_PATH}/artifacts/{uuid}"))),
            ("run_outputs_path", Value::String(format!("{CONTEXT_PATH}/artifacts/{uuid}/outputs"))),
            ("run_relative_outputs_path", Value::String(format!("{uuid}/outputs"))),
            ("store_path", Value::String(format!("{CONTEXT_PATH}/artifacts"))),
            ("iteration", Value::Null),
            ("base_url", Value::String(format!("/services/v1/{owner}/{project}/runs/{uuid}"))),
            ("created_at", s(&c.created_at)),
            ("compiled_at", s(&c.created_at)),
            ("is_independent", Value::Bool(inh.dag_inputs.is_none())),
            ("cloning_kind", Value::Null),
            ("original_uuid", Value::Null),
        ])
    }

    /// The template context: globals, params by name, `params.*`, `inputs`/`outputs`, connections.
    pub(crate) fn context(
        &self,
        component: &Value,
        params: &[(Io, Value)],
        ctx_params: &Map<String, Value>,
        runtime: &[String],
        mut globals: Value,
    ) -> Value {
        let n = params.len() + ctx_params.len();
        let mut c = Map::with_capacity(n + 6);
        let mut p = Map::with_capacity(n + 1);
        let (mut inputs, mut outputs) = (Map::with_capacity(params.len()), Map::new());
        let mut args = Vec::new();
        for (io, v) in params {
            // Values only known at run time stay as Polyaxon leaves them: an unrendered reference.
            let v =
                if runtime.contains(&io.name) { json!(format!("{{{{ {} }}}}", io.name)) } else { v.clone() };
            // A flag prints as `--name` when true and as nothing when false.
            let arg = match &io.arg_format {
                // Polyaxon renders `argFormat` as a template of the param alone (`--lr={{ lr }}`).
                Some(f) if !v.is_null() && !runtime.contains(&io.name) => {
                    let own = crate::pod::object([(io.name.as_str(), v.clone())]);
                    self.render.render(f, &own).ok().or_else(|| io.as_arg(&v))
                }
                _ => io.as_arg(&v),
            };
            let as_arg = arg.clone().unwrap_or_default();
            let shown = if io.is_flag { Value::String(as_arg.clone()) } else { v.clone() };
            c.insert(io.name.clone(), shown);
            let as_str = crate::render::param_text(&v);
            let entry = crate::pod::object([
                ("value", v.clone()),
                ("as_arg", Value::String(as_arg)),
                ("as_str", Value::String(as_str)),
                ("connection", io.connection.clone().map_or(Value::Null, Value::String)),
                ("type", Value::String(io.kind.clone())),
            ]);
            p.insert(io.name.clone(), entry);
            args.extend(arg);
            let is_output = component["outputs"]
                .as_array()
                .is_some_and(|o| o.iter().any(|x| x["name"] == io.name.as_str()));
            if is_output { &mut outputs } else { &mut inputs }.insert(io.name.clone(), v);
        }
        for (k, v) in ctx_params {
            c.insert(k.clone(), v.clone());
            let text = crate::render::param_text(v);
            p.insert(k.clone(), json!({"value": v, "as_arg": format!("--{k}={text}"), "as_str": text}));
        }
        // A list, as in Polyaxon: inside a longer string it prints as one (`['--a=1', '--b=x']`).
        p.insert("as_args".into(), json!(args));
        c.insert("params".into(), Value::Object(p));
        c.insert("inputs".into(), Value::Object(inputs));
        c.insert("outputs".into(), Value::Object(outputs));

        globals["ports"] = match &component["run"]["ports"] {
            Value::Array(a) => Value::Array(a.clone()),
            Value::Null => json!([]),
            other => json!([other]),
        };
        c.insert("globals".into(), globals);
        c.insert(
            "connections".into(),
            self.catalog_ctx.get_or_init(|| self.opts.catalog.template_context()).clone(),
        );
        c.insert("_as_args_list".into(), Value::Array(args.into_iter().map(Value::String).collect()));
        Value::Object(c)
    }
}

/// Params filled by `joins` (values from other runs, known at run time).
fn joins_params(op: &Value) -> Vec<String> {
    op.get("joins")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|j| j.get("params").and_then(Value::as_object))
        .flat_map(|p| p.keys().cloned())
        .collect()
}

/// Params with `toEnv` (on the input or the param) become env vars of the main container.
pub(crate) fn expose_env(run: &mut Value, op: &Value, params: &[(Io, Value)], runtime: &[String]) {
    let op_params = normalize_params(op.get("params"));
    let mut vars = Vec::new();
    for (io, v) in params {
        let name = op_params
            .get(&io.name)
            .and_then(|p| p.get("toEnv"))
            .and_then(Value::as_str)
            .or(io.to_env.as_deref());
        if let Some(name) = name {
            // As the agent writes it: a value that is not a string as JSON (`true`, `[1,2]`).
            let value =
                if runtime.contains(&io.name) { String::new() } else { crate::pyliteral::env_text(v) };
            vars.push(json!({"name": name, "value": value}));
        }
    }
    if vars.is_empty() || !run["container"].is_object() {
        return;
    }
    let mut env = match run["container"].get("env") {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Object(m)) => m.iter().map(|(k, v)| json!({"name": k, "value": v})).collect(),
        _ => vec![],
    };
    env.extend(vars);
    run["container"]["env"] = Value::Array(env);
}
