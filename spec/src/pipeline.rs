//! Executing pipelines, the pure part (Polyaxon's semantics, `notes/polyaxon.md` §3): when an op may start
//! (its trigger against its upstream statuses), `conditions`, `skipOnUpstreamSkip`, how many children may be
//! queued under `concurrency`, early stopping, and the pipeline's own status from its children's.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::lifecycle::Status;

/// What a child of a pipeline needs to know to be started: stored beside the child run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The op's name (DAG) or `<pipeline name>-<i>` (matrix child).
    pub name: String,
    /// Ops this one waits for.
    #[serde(default)]
    pub upstream: Vec<String>,
    /// `all_succeeded` (default), `all_failed`, `all_done`, `one_succeeded`, `one_failed`, `one_done`.
    #[serde(default = "default_trigger")]
    pub trigger: String,
    /// A Jinja expression; false -> `skipped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    #[serde(default)]
    pub skip_on_upstream_skip: bool,
    /// Params fed by upstream ops: `(param, upstream op, output)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feeds: Vec<(String, String, String)>,
    /// Position among the pipeline's children (topological order for a DAG, suggestion order for a matrix).
    #[serde(default)]
    pub index: usize,
}

fn default_trigger() -> String {
    "all_succeeded".into()
}

pub const TRIGGERS: &[&str] =
    &["all_succeeded", "all_failed", "all_done", "one_succeeded", "one_failed", "one_done"];

/// What to do with a child that has not started.
#[derive(Debug, Clone, PartialEq)]
pub enum Readiness {
    /// Its upstream is not done enough to decide.
    Wait,
    /// Start it (then check its conditions).
    Start,
    /// Its trigger can no longer be met.
    UpstreamFailed(String),
    /// An upstream op was skipped and the op asks to be skipped too.
    Skip(String),
}

/// Polyaxon's `_check_upstream_trigger`: `one_*` triggers decide as soon as one upstream op is done; `all_*`
/// once all are.
pub fn readiness(step: &Step, upstream: &[(String, Status)]) -> Readiness {
    if upstream.is_empty() {
        return Readiness::Start;
    }
    if step.skip_on_upstream_skip {
        if let Some((name, _)) = upstream.iter().find(|(_, s)| *s == Status::Skipped) {
            return Readiness::Skip(format!("upstream op {name} was skipped (skipOnUpstreamSkip)"));
        }
    }
    let done: Vec<&(String, Status)> = upstream.iter().filter(|(_, s)| s.is_done()).collect();
    let all_done = done.len() == upstream.len();
    let succeeded = |s: &Status| *s == Status::Succeeded;
    let failed = |s: &Status| matches!(s, Status::Failed | Status::UpstreamFailed);
    let names = |f: &dyn Fn(&Status) -> bool| -> String {
        upstream
            .iter()
            .filter(|(_, s)| s.is_done() && f(s))
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let not = |what: &str| Readiness::UpstreamFailed(format!("trigger {}: {what}", step.trigger));
    match step.trigger.as_str() {
        "one_done" if !done.is_empty() => Readiness::Start,
        "one_succeeded" if done.iter().any(|(_, s)| succeeded(s)) => Readiness::Start,
        "one_failed" if done.iter().any(|(_, s)| failed(s)) => Readiness::Start,
        "one_succeeded" if all_done => not("no upstream op succeeded"),
        "one_failed" if all_done => not("no upstream op failed"),
        _ if !all_done => Readiness::Wait,
        "all_done" => Readiness::Start,
        "all_failed" if upstream.iter().all(|(_, s)| failed(s)) => Readiness::Start,
        "all_failed" => not(&format!("{} did not fail", names(&|s| !failed(s)))),
        _ if upstream.iter().all(|(_, s)| succeeded(s)) => Readiness::Start,
        _ => not(&format!("{} did not succeed", names(&|s| !succeeded(s)))),
    }
}

/// The context `conditions` and upstream references are rendered with: the op's params by name, `params`,
/// `ops.<name>.{outputs,inputs,status}`, `dag.inputs`.
pub fn context(
    params: &Map<String, Value>,
    ops: &Map<String, Value>,
    dag_inputs: &Map<String, Value>,
) -> Value {
    let mut ctx = Map::new();
    for (k, v) in params {
        ctx.insert(k.clone(), v.clone());
    }
    ctx.insert("params".into(), json!(params));
    ctx.insert("ops".into(), json!(ops));
    ctx.insert("dag".into(), json!({"inputs": dag_inputs}));
    Value::Object(ctx)
}

/// Polyaxon renders `conditions` and reads the result as a boolean; anything else is an error.
pub fn conditions_hold(expr: &str, ctx: &Value) -> Result<bool, String> {
    conditions_hold_with(&crate::render::Renderer::default(), expr, ctx)
}

/// As [`conditions_hold`], with the compile's renderer (its limits).
pub(crate) fn conditions_hold_with(
    r: &crate::render::Renderer,
    expr: &str,
    ctx: &Value,
) -> Result<bool, String> {
    let text = if expr.contains("{{") {
        r.render(expr, ctx)?
    } else {
        let v = r.eval(expr, ctx)?;
        match v {
            Value::Bool(b) => return Ok(b),
            Value::String(s) => s,
            other => other.to_string(),
        }
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "on" => Ok(true),
        "false" | "0" | "no" | "n" | "off" | "" | "none" => Ok(false),
        other => Err(format!("conditions `{}` gave `{other}`, not a boolean", expr.trim())),
    }
}

/// How many more children may be queued: `concurrency` minus those already queued or running.
pub fn room(concurrency: Option<u64>, in_flight: usize) -> usize {
    match concurrency {
        Some(c) => (c as usize).saturating_sub(in_flight),
        None => usize::MAX,
    }
}

/// A finished child as early stopping sees it.
pub struct Finished<'a> {
    pub name: &'a str,
    pub status: Status,
    /// Its outputs and last metric values.
    pub outputs: &'a Map<String, Value>,
}

/// Polyaxon's `_should_early_stop`: `failure_early_stopping` (failed + upstream_failed over all children at
/// least `percent`%) and `metric_early_stopping` with an absolute threshold (a child's metric beyond `value`,
/// in the direction of `optimization`). The reason to stop, if any.
pub fn early_stop(policies: &Value, total: usize, done: &[Finished]) -> Option<String> {
    for p in policies.as_array().into_iter().flatten() {
        match p["kind"].as_str().unwrap_or_default() {
            "failure_early_stopping" => {
                let percent = p["percent"].as_f64().unwrap_or(100.0);
                let failed = done
                    .iter()
                    .filter(|f| matches!(f.status, Status::Failed | Status::UpstreamFailed))
                    .count();
                if total > 0 && failed > 0 && (failed as f64) * 100.0 / (total as f64) >= percent {
                    return Some(format!(
                        "early stopping: {failed} of {total} children failed (>= {percent}%)"
                    ));
                }
            }
            "metric_early_stopping" => {
                let (Some(metric), Some(value)) = (p["metric"].as_str(), p["value"].as_f64()) else {
                    continue;
                };
                let maximize = p["optimization"].as_str() == Some("maximize");
                for f in done.iter().filter(|f| f.status == Status::Succeeded) {
                    let Some(got) = f.outputs.get(metric).and_then(number) else { continue };
                    if (maximize && got >= value) || (!maximize && got <= value) {
                        let dir = if maximize { ">=" } else { "<=" };
                        return Some(format!(
                            "early stopping: {} reached {metric} = {got} ({dir} {value})",
                            f.name
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// An artifact output as a downstream op receives it: relative paths (a `path` string, or the `files` and
/// `dirs` of an `artifacts` value) are prefixed with the upstream run's uuid, i.e. made relative to the
/// artifacts root, as Polyaxon does.
pub fn artifact_value(v: &Value, run: &str) -> Value {
    let prefix = |p: &str| {
        if p.starts_with('/') || p.contains("://") || p.starts_with(run) {
            p.to_string()
        } else {
            format!("{run}/{}", p.trim_start_matches("./"))
        }
    };
    match v {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(parsed @ Value::Object(_)) => artifact_value(&parsed, run),
            _ => Value::String(prefix(s)),
        },
        Value::Object(m) => {
            let mut out = m.clone();
            for key in ["files", "dirs"] {
                if let Some(Value::Array(items)) = m.get(key) {
                    let items =
                        items.iter().map(|i| i.as_str().map_or(i.clone(), |s| Value::String(prefix(s))));
                    out.insert(key.into(), Value::Array(items.collect()));
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// The pipeline's status once every child is done (Polyaxon's `runs_check_pipeline`): any failed child ->
/// failed; all stopped -> stopped; otherwise succeeded. `None` while a child is not done.
pub fn outcome(children: &[Status]) -> Option<Status> {
    if !children.iter().all(|s| s.is_done()) {
        return None;
    }
    if children.iter().any(|s| matches!(s, Status::Failed | Status::UpstreamFailed)) {
        Some(Status::Failed)
    } else if !children.is_empty() && children.iter().all(|s| *s == Status::Stopped) {
        Some(Status::Stopped)
    } else {
        Some(Status::Succeeded)
    }
}

/// A param that reads an upstream op's `globals` (`{ref: ops.X, value: globals.uuid}`, `{{ ops.X.globals.Y }}`):
/// the op and the key.
pub(crate) fn globals_ref(p: &Value) -> Option<(String, String)> {
    if let Some(r) = p.get("ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("ops.")) {
        let key = p.get("value").and_then(Value::as_str)?.strip_prefix("globals.")?;
        return Some((r.to_string(), key.to_string()));
    }
    let s = p.get("value").and_then(Value::as_str)?;
    let inner = s.split("{{").nth(1)?.split("}}").next()?.trim();
    let mut parts = inner.strip_prefix("ops.")?.splitn(3, '.');
    let (op, section, key) = (parts.next()?, parts.next()?, parts.next()?);
    (section == "globals").then(|| (op.to_string(), key.to_string()))
}

/// The upstream results with each op's `globals` (its uuid and the context paths under it), which a
/// downstream op may read.
pub(crate) fn with_globals(upstream: &Map<String, Value>) -> Map<String, Value> {
    let mut out = upstream.clone();
    for v in out.values_mut() {
        let Some(uuid) = v.get("uuid").and_then(Value::as_str).map(str::to_string) else { continue };
        let root = format!("{}/artifacts/{uuid}", crate::compile::CONTEXT_PATH);
        v["globals"] = serde_json::json!({
            "uuid": uuid,
            "run_artifacts_path": root,
            "run_outputs_path": format!("{root}/outputs"),
            "run_relative_outputs_path": format!("{uuid}/outputs"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(trigger: &str) -> Step {
        Step {
            name: "c".into(),
            upstream: vec!["a".into(), "b".into()],
            trigger: trigger.into(),
            ..Default::default()
        }
    }

    fn up(a: Status, b: Status) -> Vec<(String, Status)> {
        vec![("a".into(), a), ("b".into(), b)]
    }

    #[test]
    fn triggers_follow_polyaxon() {
        use Status::*;
        assert_eq!(readiness(&step("all_succeeded"), &up(Succeeded, Running)), Readiness::Wait);
        assert_eq!(readiness(&step("all_succeeded"), &up(Succeeded, Succeeded)), Readiness::Start);
        assert!(
            matches!(readiness(&step("all_succeeded"), &up(Succeeded, Failed)), Readiness::UpstreamFailed(m) if m.contains("b did not succeed"))
        );
        assert_eq!(readiness(&step("one_failed"), &up(Failed, Running)), Readiness::Start);
        assert_eq!(readiness(&step("one_failed"), &up(Succeeded, Running)), Readiness::Wait);
        assert!(matches!(
            readiness(&step("one_failed"), &up(Succeeded, Succeeded)),
            Readiness::UpstreamFailed(_)
        ));
        assert_eq!(readiness(&step("one_succeeded"), &up(Succeeded, Running)), Readiness::Start);
        assert_eq!(readiness(&step("one_done"), &up(Stopped, Running)), Readiness::Start);
        assert_eq!(readiness(&step("all_done"), &up(Failed, Skipped)), Readiness::Start);
        assert_eq!(readiness(&step("all_failed"), &up(Failed, UpstreamFailed)), Readiness::Start);
        assert!(matches!(
            readiness(&step("all_failed"), &up(Failed, Succeeded)),
            Readiness::UpstreamFailed(_)
        ));
        let mut s = step("all_succeeded");
        s.skip_on_upstream_skip = true;
        assert!(matches!(readiness(&s, &up(Skipped, Succeeded)), Readiness::Skip(_)));
        assert!(matches!(
            readiness(&step("all_succeeded"), &up(Skipped, Succeeded)),
            Readiness::UpstreamFailed(_)
        ));
    }

    #[test]
    fn conditions_are_booleans() {
        let mut ops = Map::new();
        ops.insert("train".into(), json!({"outputs": {"loss": 0.2}}));
        let mut params = Map::new();
        params.insert("lr".into(), json!(0.1));
        let ctx = context(&params, &ops, &Map::new());
        assert_eq!(conditions_hold("{{ ops.train.outputs.loss < 0.5 }}", &ctx), Ok(true));
        assert_eq!(conditions_hold("{{ lr > 0.5 }}", &ctx), Ok(false));
        assert_eq!(conditions_hold("params.lr == 0.1", &ctx), Ok(true));
        assert!(conditions_hold("{{ lr }}", &ctx).unwrap_err().contains("not a boolean"));
        assert!(conditions_hold("{{ nope > 1 }}", &ctx).is_err());
    }

    #[test]
    fn artifact_outputs_are_relative_to_the_artifacts_root() {
        assert_eq!(artifact_value(&json!("model/best.pt"), "abc"), json!("abc/model/best.pt"));
        assert_eq!(artifact_value(&json!("s3://bucket/m"), "abc"), json!("s3://bucket/m"));
        assert_eq!(
            artifact_value(&json!(r#"{"files": ["a.txt"], "dirs": ["./d"]}"#), "abc"),
            json!({"files": ["abc/a.txt"], "dirs": ["abc/d"]})
        );
    }

    #[test]
    fn early_stopping_and_outcome() {
        use Status::*;
        let none = Map::new();
        let mut good = Map::new();
        good.insert("accuracy".into(), json!(0.97));
        let fin = |name, status, outputs| Finished { name, status, outputs };
        let policies = json!([{"kind": "failure_early_stopping", "percent": 50},
                              {"kind": "metric_early_stopping", "metric": "accuracy", "value": 0.95, "optimization": "maximize"}]);
        assert_eq!(early_stop(&policies, 4, &[fin("a", Failed, &none)]), None);
        assert!(early_stop(&policies, 4, &[fin("a", Failed, &none), fin("b", UpstreamFailed, &none)])
            .unwrap()
            .contains("2 of 4"));
        assert!(early_stop(&policies, 4, &[fin("c", Succeeded, &good)])
            .unwrap()
            .contains("c reached accuracy = 0.97"));
        assert_eq!(outcome(&[Succeeded, Running]), None);
        assert_eq!(outcome(&[Succeeded, Skipped]), Some(Succeeded));
        assert_eq!(outcome(&[Succeeded, UpstreamFailed]), Some(Failed));
        assert_eq!(outcome(&[Stopped, Stopped]), Some(Stopped));
        assert_eq!(room(Some(2), 1), 1);
        assert_eq!(room(Some(2), 3), 0);
    }
}
