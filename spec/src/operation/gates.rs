//! Whether a compiled run may start: `isApproved` (it waits for a person) and, for a DAG's ops, `conditions`
//! (it is skipped when they are false).

use serde_json::Value;

use crate::compile::{join, At, Compiler};
use crate::unheeded::Written;

impl Compiler<'_> {
    /// Whether the run waits for approval: `isApproved: false`, in any spelling Polyaxon reads as false, or a
    /// template of the params that renders to one.
    pub(super) fn approval(
        &mut self,
        v: &Value,
        ctx: &Value,
        w: &Written,
        component: &Value,
    ) -> Option<bool> {
        let value = match v.as_str().filter(|s| s.contains("{{")) {
            Some(t) => match self.render.render(t, ctx) {
                Ok(r) => Value::String(r),
                Err(e) => {
                    let (doc, path) =
                        w.of(component, "isApproved").unwrap_or((w.at.doc, w.at.path.to_string()));
                    self.error(At { doc, path: &path }, "template_error", format!("isApproved: {e}"));
                    return None;
                }
            },
            None => v.clone(),
        };
        if value.is_null() {
            return Some(false);
        }
        match crate::scalars::lax_bool(&value) {
            Some(approved) => Some(!approved),
            None => {
                let (doc, path) = w.of(component, "isApproved").unwrap_or((w.at.doc, w.at.path.to_string()));
                self.error(
                    At { doc, path: &path },
                    "invalid_type",
                    format!("isApproved must be a boolean, found {value}"),
                );
                None
            }
        }
    }

    /// An op's `conditions`, read as Polyaxon reads them: rendered with the op's own template context (its params
    /// by name, `params`, `globals`, `inputs`, `outputs`, `connections` — not `dag` or `ops`, which reach an op
    /// only as params), then read as a boolean. `Some(None)` when there are none, or when they read a param only
    /// known at run time (an upstream op's output, a join): they are decided when the op is compiled again with
    /// it. `None`: they cannot be read (an error is reported), as Polyaxon fails the op.
    pub(super) fn conditions(
        &mut self,
        op: &Value,
        at: At,
        ctx: &Value,
        runtime: &[String],
    ) -> Option<Option<bool>> {
        let Some(expr) = op.get("conditions").and_then(Value::as_str).filter(|s| !s.trim().is_empty()) else {
            return Some(None);
        };
        let path = join(at.path, "conditions");
        let here = At { doc: at.doc, path: &path };
        let reads = match self.render.reads(expr) {
            Ok(r) => r,
            Err(e) => {
                self.error(here, "template_error", format!("conditions: {e}"));
                return None;
            }
        };
        let names: Vec<Vec<&str>> = reads.iter().map(|r| r.split('.').collect()).collect();
        let later = |n: &[&str]| {
            runtime.iter().any(|p| {
                n.first() == Some(&p.as_str())
                    || (n.first() == Some(&"params") && n.get(1) == Some(&p.as_str()))
            })
        };
        if names.iter().any(|n| later(n)) {
            return Some(None);
        }
        match crate::pipeline::conditions_hold_with(&self.render, expr, ctx) {
            Ok(holds) => Some(Some(holds)),
            Err(e) => {
                let outside = names.iter().filter_map(|n| n.first()).find(|n| matches!(**n, "dag" | "ops"));
                let hint = match outside {
                    Some(n) => format!(
                        "; `{n}` is not seen by conditions: pass the value as a param of the op \
                         (`params: {{name: {{ref: {}, value: …}}}}`) and use `{{{{ name }}}}`",
                        if *n == "dag" { "dag" } else { "ops.<op>" }
                    ),
                    None => String::new(),
                };
                self.error(here, "invalid_conditions", format!("conditions: {e}{hint}"));
                None
            }
        }
    }
}
