//! One operation: find its component, check the schema, resolve params, render templates, and build the
//! workload; DAGs, matrices and schedules branch off to their modules.

use serde_json::{Map, Value};

use crate::compile::{join, At, Compiler, Inherited, Run, Termination};
use crate::io::{normalize_params, Io};
use crate::lifecycle::RunKind;
use crate::params::{expose_env, Resolved};
use crate::patch::{merge, patch_run, Strategy};
use crate::schema;
use crate::unheeded::Written;

mod component;
mod gates;

impl Compiler<'_> {
    /// Compiles an operation (already in long form) found at `at`. Its inline `component` is moved out of `op`
    /// (not copied) unless a matrix or a schedule makes its runs from the whole operation.
    pub(crate) fn operation(&mut self, op: &mut Value, at: At, inh: &Inherited) -> Option<Run> {
        let errors_before = self.diags.errors().count();
        schema::check_operation(self, op, at);
        let whole = ["matrix", "schedule"].iter().any(|k| op.get(*k).is_some_and(|v| !v.is_null()));
        let inline = if whole { None } else { op.get_mut("component").map(Value::take) };
        let op = &*op;
        let mut comp = self.component_of(op, at, inh, inline)?;
        crate::shortcuts::check(self, &comp.value, At { doc: comp.doc, path: &comp.path });
        let mut component = crate::shortcuts::apply_shortcuts(std::mem::take(&mut comp.value));
        let comp_at = At { doc: comp.doc, path: &comp.path };
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
        for key in ["queue", "namespace", "build", "hooks", "name", "description", "tags", "isApproved"] {
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
        let approval = component.get("isApproved").cloned().unwrap_or(Value::Null);
        let name = component.get("name").and_then(Value::as_str).map(str::to_string);
        let labelled = |run: Run| Run {
            uuid: inh.uuid.clone(),
            tags: tags_of(&component["tags"]),
            description: component.get("description").and_then(Value::as_str).map(str::to_string),
            ..run
        };
        self.unheeded(&component, &Written { op, at, comp_at }, &kind);
        self.unheeded_triggers(op, at);

        if op.get("schedule").is_some_and(|s| !s.is_null()) {
            let mut tick = op.clone();
            tick.as_object_mut()?.remove("schedule");
            let mut run = self.operation(&mut tick, at, inh)?;
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
            let run = self.matrix(op, &m, at, inh, &kind, params)?;
            return Some(labelled(Run { name, ..run }));
        }
        let mut ctx = self.context(&component, &params, &ctx_params, &runtime, globals);
        for (name, p) in normalize_params(op.get("params")) {
            if let Some(conn) = p.get("connection").filter(|c| !c.is_null()) {
                if ctx["params"].get(&name).is_some() {
                    ctx["params"][name.as_str()]["connection"] = conn.clone();
                }
            }
        }
        let conditions_met = self.conditions(op, at, &ctx, &runtime)?;
        let termination = self.termination(&component, at, &ctx)?;
        if kind == "dag" {
            if component.get("build").is_some_and(|b| !b.is_null()) {
                self.error(
                    At { doc: comp.doc, path: &join(&comp.path, "build") },
                    "dag_with_build",
                    "operations with a dag run do not support the `build` section",
                );
                return None;
            }
            // `isApproved: false` on a DAG holds the whole pipeline: none of its ops starts until approved.
            let needs_approval = self.approval(&approval, &ctx, &Written { op, at, comp_at }, &component)?;
            return self.dag(&component, comp_at, &params, inh).map(|ops| {
                labelled(Run {
                    needs_approval,
                    conditions_met,
                    kind: Some(RunKind::Dag),
                    name,
                    pipeline: Some("dag".into()),
                    params: public_params(&params, &runtime),
                    ops,
                    concurrency: component["run"]["concurrency"].as_u64(),
                    early_stopping: component["run"]["earlyStopping"].clone(),
                    ..Default::default()
                })
            });
        }
        let ctx = std::sync::Arc::new(ctx);
        let needs_approval = self.approval(&approval, &ctx, &Written { op, at, comp_at }, &component)?;
        let mut run = self.render_run(&component, &params, &ctx, comp_at)?;
        crate::typed::check_run(self, &run, &kind, At { doc: comp.doc, path: &join(&comp.path, "run") });
        self.params_to_init(&mut run, &kind, (op, &component), &params, &runtime, (at, comp_at))?;
        expose_env(&mut run, op, &params, &runtime);
        let w = crate::manifests::Workload {
            uuid: &inh.uuid,
            run: &run,
            termination,
            retries: self.opts.execution.retries,
            catalog: &self.opts.catalog,
            built: component.get("build").is_some_and(|b| !b.is_null()),
            shm: crate::scalars::lax_bool(&component["plugins"]["shm"]) != Some(false),
        };
        match w.build(&kind) {
            Ok(manifests) => {
                crate::lint::run(self, &run, comp_at);
                crate::lint::as_args_in_text(self, &component["run"]["container"], comp_at);
                crate::lint::cache_never_hits(self, (op, at), (&component, comp_at), inh.in_pipeline);
                if let Some(policy) = self.opts.policy.clone() {
                    let run_at = join(&comp.path, "run");
                    for pod in crate::placement::pod_specs(&manifests) {
                        for v in crate::policy::check(pod, &policy, &self.opts.catalog) {
                            let path = join(&run_at, &v.run_path);
                            let message = format!("{} (pod policy rule `{}`)", v.message, v.rule);
                            self.error(At { doc: comp.doc, path: &path }, "policy_violation", message);
                        }
                    }
                }
                let declared = crate::compile::ios(&component, "outputs").unwrap_or_default();
                Some(labelled(Run {
                    needs_approval,
                    conditions_met,
                    kind: RunKind::parse(&kind),
                    pipeline: None,
                    name,
                    termination,
                    params: public_params(&params, &runtime),
                    manifests,
                    cache: component.get("cache").cloned().unwrap_or(Value::Null),
                    connections: component["run"]["connections"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c.as_str().map(str::to_string))
                        .collect(),
                    outputs: declared.iter().map(|io| io.name.clone()).collect(),
                    artifact_outputs: declared
                        .iter()
                        .filter(|io| matches!(io.kind.as_str(), "path" | "artifacts"))
                        .map(|io| io.name.clone())
                        .collect(),
                    ..Default::default()
                }))
            }
            Err(e) => {
                self.error(At { doc: comp.doc, path: &join(&comp.path, "run") }, "invalid_run", e);
                None
            }
        }
    }

    /// The run's `termination`, once the operation and its pipeline have layered theirs on the component's.
    /// The component's own values were checked with it; a bad value here came from the operation. A value may be
    /// a template of the params (`maxRetries: "{{ retries }}"`), rendered as Polyaxon renders it.
    fn termination(&mut self, component: &Value, at: At, ctx: &Value) -> Option<Termination> {
        let mut t = component.get("termination").cloned().unwrap_or(Value::Null);
        for key in ["maxRetries", "timeout", "ttl"] {
            let Some(text) = t.get(key).and_then(Value::as_str).filter(|s| s.contains("{{")) else {
                continue;
            };
            match self.render.render(text, ctx) {
                Ok(r) => t[key] = r.trim().parse::<i64>().map(Value::from).unwrap_or(Value::String(r)),
                Err(e) => {
                    let path = join(&join(at.path, "termination"), key);
                    self.error(
                        At { doc: at.doc, path: &path },
                        "template_error",
                        format!("termination.{key}: {e}"),
                    );
                    return None;
                }
            }
        }
        schema::check_termination(self, &t, at).then(|| Termination::from_value(&t))
    }

    /// Renders the run section; `{{ params.as_args }}` as a whole `command`/`args` becomes one entry per arg.
    fn render_run(
        &mut self,
        component: &Value,
        params: &[(Io, Value)],
        ctx: &std::sync::Arc<Value>,
        at: At,
    ) -> Option<Value> {
        let _ = params;
        let mut run = component["run"].clone();
        crate::container_text::splice_as_args(&mut run, &ctx["_as_args_list"]);
        let templated = crate::container_text::templated_items(&mut run);
        let wholes = crate::pyliteral::whole_templates(&run);
        match self.render.render_deep(run, ctx) {
            Ok(mut v) => {
                crate::container_text::settle(&mut v, &templated);
                for path in &wholes {
                    crate::pyliteral::literal_value(&mut v, path);
                }
                Some(v)
            }
            Err((p, e)) => {
                let path = join(&join(at.path, "run"), &p);
                self.error(At { doc: at.doc, path: &path }, "template_error", e);
                None
            }
        }
    }
}

/// The params a run reports: declared inputs/outputs with a known value.
fn public_params(params: &[(Io, Value)], runtime: &[String]) -> Map<String, Value> {
    // Later wins: an output that shares an input's name and has no value leaves the param unset, as in Polyaxon.
    let mut out: Map<String, Value> = params
        .iter()
        .filter(|(io, _)| !runtime.contains(&io.name))
        .map(|(io, v)| (io.name.clone(), v.clone()))
        .collect();
    out.retain(|_, v| !v.is_null());
    out
}

/// `tags` as Polyaxon reads them: a list, or a comma-separated string; blank ones and repeats dropped.
fn tags_of(v: &Value) -> Vec<String> {
    let raw: Vec<&str> = match v {
        Value::String(s) => s.split(',').collect(),
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let mut tags: Vec<String> = Vec::new();
    for t in raw.into_iter().map(str::trim).filter(|t| !t.is_empty()) {
        if !tags.iter().any(|x| x == t) {
            tags.push(t.to_string());
        }
    }
    tags
}
