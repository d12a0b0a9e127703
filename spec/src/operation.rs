//! One operation: find its component, check the schema, resolve params, render templates, and build the
//! workload; DAGs, matrices and schedules branch off to their modules.

use serde_json::{json, Map, Value};

use crate::compile::{ios, join, At, Compiler, Inherited, Run};
use crate::io::{normalize_params, Io};
use crate::patch::{merge, Strategy};
use crate::schema;

/// An operation's params once resolved.
struct Resolved {
    /// Declared inputs and outputs with their values (null when unset or only known at run time).
    params: Vec<(Io, Value)>,
    /// Params that match no input/output: available to templates only.
    ctx_params: Map<String, Value>,
    /// Names whose values are only known at run time (upstream outputs, joins).
    runtime: Vec<String>,
    globals: Value,
}

/// A component with where it was written.
#[derive(Clone)]
pub(crate) struct Component {
    pub value: Value,
    pub doc: usize,
    pub path: String,
}

impl Compiler<'_> {
    /// Compiles an operation (already in long form) found at `at`.
    pub(crate) fn operation(&mut self, op: &Value, at: At, inh: &Inherited) -> Option<Run> {
        let errors_before = self.diags.errors().count();
        schema::check_operation(self, op, at);
        let comp = self.component_of(op, at, inh)?;
        let comp_at = At { doc: comp.doc, path: &comp.path };
        let mut component = schema::apply_shortcuts(comp.value.clone());
        schema::check_component(self, &component, comp_at);
        if self.diags.errors().count() > errors_before {
            return None;
        }
        // The operation's own settings (over what its pipeline pushes down) override the component's.
        for (key, pushed) in
            [("termination", &inh.termination), ("plugins", &inh.plugins), ("cache", &inh.cache)]
        {
            let own = op.get(key).filter(|v| !v.is_null()).cloned().unwrap_or(Value::Null);
            let op_level = merge(pushed.clone().unwrap_or(Value::Null), own, Strategy::PostMerge);
            if !op_level.is_null() {
                component[key] = merge(component[key].clone(), op_level, Strategy::PostMerge);
            }
        }
        for key in ["queue", "namespace", "build", "hooks", "name", "tags"] {
            if let Some(v) = op.get(key).filter(|v| !v.is_null()) {
                component[key] = v.clone();
            }
        }
        if let Some(patch) = op.get("runPatch").filter(|v| !v.is_null()) {
            let Some(s) = Strategy::parse(op.get("patchStrategy").and_then(Value::as_str)) else {
                self.error(
                    At { doc: at.doc, path: &join(at.path, "patchStrategy") },
                    "invalid_value",
                    "patchStrategy must be replace, isnull, post_merge or pre_merge",
                );
                return None;
            };
            component["run"] = patch_run(component["run"].clone(), patch.clone(), s);
        }
        if let Some(env) = &inh.environment {
            component["run"]["environment"] =
                merge(component["run"]["environment"].clone(), env.clone(), Strategy::PreMerge);
        }
        let kind = component["run"]["kind"].as_str().unwrap_or_default().to_string();

        if op.get("schedule").is_some_and(|s| !s.is_null()) {
            let mut tick = op.clone();
            tick.as_object_mut()?.remove("schedule");
            let mut run = self.operation(&tick, at, inh)?;
            run.pipeline = Some("schedule".into());
            return Some(run);
        }
        let matrix = op.get("matrix").filter(|m| !m.is_null()).cloned();
        let matrix_params = match &matrix {
            Some(m) => crate::matrix::param_names(m),
            None => vec![],
        };
        let Resolved { params, ctx_params, runtime, globals } =
            self.resolve_params(op, &component, at, comp_at, &matrix_params, inh)?;

        if let Some(m) = matrix {
            return self.matrix(op, &m, at, inh, &kind, params);
        }
        let mut ctx = self.context(&component, &params, &ctx_params, &runtime, inh, globals);
        for (name, p) in normalize_params(op.get("params")) {
            if let Some(conn) = p.get("connection").filter(|c| !c.is_null()) {
                if ctx["params"].get(&name).is_some() {
                    ctx["params"][name.as_str()]["connection"] = conn.clone();
                }
            }
        }
        if kind == "dag" {
            if component.get("build").is_some_and(|b| !b.is_null()) {
                self.error(
                    At { doc: comp.doc, path: &join(&comp.path, "build") },
                    "dag_with_build",
                    "operations with a dag run do not support the `build` section",
                );
                return None;
            }
            return self.dag(&component, comp_at, &params, inh).map(|ops| Run {
                kind: Some(kind),
                pipeline: Some("dag".into()),
                params: public_params(&params, &runtime),
                ops,
                ..Default::default()
            });
        }
        let mut run = self.render_run(&component, &params, &ctx, comp_at)?;
        expose_env(&mut run, op, &params, &runtime);
        let termination = component.get("termination").cloned().unwrap_or(Value::Null);
        let w = crate::manifests::Workload {
            uuid: &inh.uuid,
            run: &run,
            termination: &termination,
            catalog: &self.opts.catalog,
        };
        match w.build(&kind) {
            Ok(manifests) => {
                crate::lint::run(self, &component, &run, comp_at);
                Some(Run {
                    kind: Some(kind),
                    pipeline: None,
                    params: public_params(&params, &runtime),
                    manifests,
                    ..Default::default()
                })
            }
            Err(e) => {
                self.error(At { doc: comp.doc, path: &join(&comp.path, "run") }, "invalid_run", e);
                None
            }
        }
    }

    /// The component an operation runs: inline, `hubRef`, `urlRef`, `pathRef` or (in a DAG) `dagRef`.
    pub(crate) fn component_of(&mut self, op: &Value, at: At, inh: &Inherited) -> Option<Component> {
        let refs: Vec<&str> = ["component", "hubRef", "urlRef", "pathRef", "dagRef"]
            .into_iter()
            .filter(|k| op.get(*k).is_some_and(|v| !v.is_null()))
            .collect();
        if refs.len() > 1 {
            self.error(
                at,
                "invalid_reference",
                format!("an operation takes one component reference, found {}", refs.join(", ")),
            );
            return None;
        }
        let Some(which) = refs.first().copied() else {
            self.error(
                at,
                "missing_component",
                "the operation has no component (`component`, `hubRef`, `urlRef`, `pathRef` or `dagRef`)",
            );
            return None;
        };
        let path = join(at.path, which);
        let here = At { doc: at.doc, path: &path };
        if which == "component" {
            return Some(Component { value: op["component"].clone(), doc: at.doc, path });
        }
        let Some(name) = op[which].as_str().map(str::to_string) else {
            self.error(here, "invalid_reference", format!("`{which}` must be a string"));
            return None;
        };
        if which == "dagRef" {
            return match inh
                .dag_components
                .iter()
                .find(|(c, _, _)| c.get("name").and_then(Value::as_str) == Some(name.as_str()))
            {
                Some((c, d, p)) => Some(Component { value: c.clone(), doc: *d, path: p.clone() }),
                None => {
                    self.error(
                        here,
                        "missing_component",
                        format!("the pipeline has no component named `{name}` (dagRef)"),
                    );
                    None
                }
            };
        }
        let from = self.docs[at.doc].file.clone();
        let src = match which {
            "hubRef" => self.opts.refs.hub(&name),
            "urlRef" => self.opts.refs.url(&name),
            _ => self.opts.refs.path(&from, &name),
        };
        let Some(src) = src else {
            self.error(here, "unresolved_reference", format!("cannot resolve {which} `{name}`"));
            return None;
        };
        let d = self.load(&src, Some(here))?;
        let v = self.docs[d].value.clone();
        match v.get("kind").and_then(Value::as_str) {
            Some("component") | None => Some(Component { value: v, doc: d, path: String::new() }),
            Some(k) => {
                self.error(
                    here,
                    "invalid_reference",
                    format!("{which} `{name}` is a `{k}`, not a component"),
                );
                None
            }
        }
    }

    /// Resolves params against the component's inputs and outputs, in declaration order (a value may refer to
    /// an earlier one).
    fn resolve_params(
        &mut self,
        op: &Value,
        component: &Value,
        at: At,
        comp_at: At,
        from_matrix: &[String],
        inh: &Inherited,
    ) -> Option<Resolved> {
        let globals = self.globals(inh);
        let (inputs, outputs) = match (ios(component, "inputs"), ios(component, "outputs")) {
            (Ok(i), Ok(o)) => (i, o),
            (Err((p, e)), _) | (_, Err((p, e))) => {
                self.error(At { doc: comp_at.doc, path: &join(comp_at.path, &p) }, "invalid_io", e);
                return None;
            }
        };
        let params = normalize_params(op.get("params"));
        let mut runtime: Vec<String> = joins_params(op);
        let mut given: Map<String, Value> = Map::new();
        let mut ctx_params = Map::new();
        for (name, p) in &params {
            let ppath = join(&join(at.path, "params"), name);
            let pat = At { doc: at.doc, path: &ppath };
            let is_io = inputs.iter().chain(&outputs).any(|io| &io.name == name);
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
                Some(_) if p.get("contextOnly").and_then(Value::as_bool) == Some(false) => self.error(
                    pat,
                    "unknown_param",
                    format!("param `{name}` matches no input or output of the component"),
                ),
                Some(v) => {
                    ctx_params.insert(name.clone(), v);
                }
            }
        }
        let mut ctx = json!({"globals": &globals});
        if let Some(d) = &inh.dag_inputs {
            ctx["dag"] = json!({"inputs": d});
        }
        let mut out = Vec::new();
        for io in inputs.iter().chain(&outputs) {
            let is_input = inputs.iter().any(|i| i.name == io.name);
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
                    match self.render.render(&s, &ctx) {
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
                        ctx[io.name.as_str()] = v.clone();
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
                    match self.render.render(s, &ctx) {
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

    fn globals(&self, inh: &Inherited) -> Value {
        let uuid = &inh.uuid;
        json!({
            "uuid": uuid, "name": "run", "owner_name": "owner", "project_name": "project",
            "project_unique_name": "owner.project", "username": "user", "namespace": "myelin",
            "context_path": "/plx-context", "artifacts_path": "/plx-context/artifacts",
            "run_artifacts_path": format!("/plx-context/artifacts/{uuid}"),
            "run_outputs_path": format!("/plx-context/artifacts/{uuid}/outputs"),
            "run_relative_outputs_path": format!("{uuid}/outputs"),
            "store_path": "/plx-context/artifacts", "iteration": null, "base_url": format!("/services/v1/owner/project/runs/{uuid}"),
            "created_at": "1970-01-01T00:00:00+00:00", "compiled_at": "1970-01-01T00:00:00+00:00",
            "is_independent": inh.dag_inputs.is_none(), "cloning_kind": null, "original_uuid": null,
        })
    }

    /// The template context: globals, params by name, `params.*`, `inputs`/`outputs`, connections.
    fn context(
        &self,
        component: &Value,
        params: &[(Io, Value)],
        ctx_params: &Map<String, Value>,
        runtime: &[String],
        inh: &Inherited,
        mut globals: Value,
    ) -> Value {
        let mut c = Map::new();
        let mut p = Map::new();
        let (mut inputs, mut outputs) = (Map::new(), Map::new());
        let mut args = Vec::new();
        for (io, v) in params {
            // Values only known at run time stay as Polyaxon leaves them: an unrendered reference.
            let v =
                if runtime.contains(&io.name) { json!(format!("{{{{ {} }}}}", io.name)) } else { v.clone() };
            // A flag prints as `--name` when true and as nothing when false.
            let shown = if io.is_flag { json!(io.as_arg(&v).unwrap_or_default()) } else { v.clone() };
            c.insert(io.name.clone(), shown);
            p.insert(
                io.name.clone(),
                json!({"value": v, "as_arg": io.as_arg(&v).unwrap_or_default(), "as_str": crate::render::json_python_str(&v), "connection": io.connection, "type": io.kind}),
            );
            if let Some(a) = io.as_arg(&v) {
                args.push(a);
            }
            let is_output = component["outputs"]
                .as_array()
                .is_some_and(|o| o.iter().any(|x| x["name"] == io.name.as_str()));
            if is_output { &mut outputs } else { &mut inputs }.insert(io.name.clone(), v);
        }
        for (k, v) in ctx_params {
            c.insert(k.clone(), v.clone());
            p.insert(k.clone(), json!({"value": v, "as_arg": format!("--{k}={}", crate::render::json_python_str(v)), "as_str": crate::render::json_python_str(v)}));
        }
        p.insert("as_args".into(), json!(args.join(" ")));
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
        if let Some(d) = &inh.dag_inputs {
            c.insert("dag".into(), json!({"inputs": d}));
        }
        c.insert("_as_args_list".into(), Value::Array(args.into_iter().map(Value::String).collect()));
        Value::Object(c)
    }

    /// Renders the run section; `{{ params.as_args }}` alone in a command/args entry becomes one entry per arg.
    fn render_run(
        &mut self,
        component: &Value,
        params: &[(Io, Value)],
        ctx: &Value,
        at: At,
    ) -> Option<Value> {
        let _ = params;
        let mut run = component["run"].clone();
        splice_as_args(&mut run, &ctx["_as_args_list"]);
        match self.render.render_deep(&run, ctx) {
            Ok(v) => Some(v),
            Err((p, e)) => {
                let path = join(&join(at.path, "run"), &p);
                self.error(At { doc: at.doc, path: &path }, "template_error", e);
                None
            }
        }
    }
}

fn is_as_args(s: &str) -> bool {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    t == "{{params.as_args}}"
}

fn splice_as_args(v: &mut Value, args: &Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if (k == "args" || k == "command") && x.as_str().is_some_and(is_as_args) {
                    *x = args.clone();
                } else if let (true, Value::Array(items)) = (k == "args" || k == "command", &mut *x) {
                    let mut out = Vec::new();
                    for i in items.drain(..) {
                        match i.as_str() {
                            Some(s) if is_as_args(s) => {
                                out.extend(args.as_array().cloned().unwrap_or_default())
                            }
                            _ => out.push(i),
                        }
                    }
                    *items = out;
                } else {
                    splice_as_args(x, args);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| splice_as_args(x, args)),
        _ => {}
    }
}

/// The params a run reports: declared inputs/outputs with a known value.
fn public_params(params: &[(Io, Value)], runtime: &[String]) -> Map<String, Value> {
    params
        .iter()
        .filter(|(io, v)| !v.is_null() && !runtime.contains(&io.name))
        .map(|(io, v)| (io.name.clone(), v.clone()))
        .collect()
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

/// `runPatch` onto a run. For distributed kinds, pod-level keys (`container`, `environment`, ...) patch every
/// replica, as Polyaxon does.
fn patch_run(run: Value, patch: Value, s: Strategy) -> Value {
    const POD_KEYS: &[&str] = &["container", "environment", "init", "sidecars", "connections", "volumes"];
    let replicas = crate::schema::replica_keys(run["kind"].as_str().unwrap_or_default());
    let Value::Object(mut p) = patch else { return merge(run, patch, s) };
    let mut run = run;
    if !replicas.is_empty() {
        let pod: Map<String, Value> =
            POD_KEYS.iter().filter_map(|k| p.remove(*k).map(|v| (k.to_string(), v))).collect();
        if !pod.is_empty() {
            for r in replicas {
                if run.get(*r).is_some_and(|v| !v.is_null()) {
                    run[*r] = merge(run[*r].clone(), Value::Object(pod.clone()), s);
                }
            }
            if let Some(Value::Object(workers)) = run.get_mut("workers") {
                for w in workers.values_mut() {
                    *w = merge(w.clone(), Value::Object(pod.clone()), s);
                }
            }
        }
    }
    merge(run, Value::Object(p), s)
}

/// Params with `toEnv` (on the input or the param) become env vars of the main container.
fn expose_env(run: &mut Value, op: &Value, params: &[(Io, Value)], runtime: &[String]) {
    let op_params = normalize_params(op.get("params"));
    let mut vars = Vec::new();
    for (io, v) in params {
        let name = op_params
            .get(&io.name)
            .and_then(|p| p.get("toEnv"))
            .and_then(Value::as_str)
            .or(io.to_env.as_deref());
        if let Some(name) = name {
            let value = if runtime.contains(&io.name) {
                String::new()
            } else if let Value::String(s) = v {
                s.clone()
            } else {
                crate::render::json_python_str(v)
            };
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
