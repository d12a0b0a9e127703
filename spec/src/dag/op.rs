//! One op of a DAG, compiled with what the pipeline pushes down (on whichever thread `each_in_parallel` gives
//! it).

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::edge;
use crate::compile::{derived_uuid, join, At, Compiler, Inherited, Op};
use crate::io::normalize_params;

/// What each op of a DAG is compiled with.
pub(super) struct Plan<'p> {
    pub ops: &'p [Value],
    pub names: &'p [String],
    pub upstream: &'p HashMap<String, BTreeSet<String>>,
    pub ops_path: &'p str,
    pub doc: usize,
    /// What the pipeline pushes down to every op.
    pub child: &'p Inherited,
    /// The pipeline's uuid, which each op's derives from.
    pub uuid: &'p str,
}

impl Compiler<'_> {
    /// Op `i` of a DAG, compiled with what the pipeline pushes down.
    pub(super) fn dag_op(&mut self, i: usize, plan: &Plan) -> Option<Op> {
        let (name, child) = (&plan.names[i], plan.child);
        let p = join(plan.ops_path, &format!("[{i}]"));
        let at = At { doc: plan.doc, path: &p };
        let mut op = plan.ops[i].clone();
        crate::sections::shape(self, &op, "params", crate::sections::Shape::Mapping, at);
        op["params"] = Value::Object(normalize_params(op.get("params")));
        if !self.opts.execution.upstream.is_empty() {
            let ctx = serde_json::json!({"ops": crate::pipeline::with_globals(&self.opts.execution.upstream),
                "dag": {"inputs": child.dag_inputs.as_deref().cloned().unwrap_or_default()}});
            op["params"] = Value::Object(self.resolve_upstream(&op["params"], &ctx));
        }
        let feeds = normalize_params(plan.ops[i].get("params"))
            .into_iter()
            .filter_map(|(param, v)| edge(&v).map(|(up, key)| (param, up, key)))
            .collect();
        let inh = Inherited { uuid: derived_uuid(&format!("{}op-{name}", plan.uuid)), ..child.clone() };
        let run = self.operation(&mut op, at, &inh)?;
        Some(Op {
            name: name.clone(),
            upstream: plan.upstream[name].iter().cloned().collect(),
            trigger: op.get("trigger").and_then(Value::as_str).unwrap_or("all_succeeded").to_string(),
            conditions: op.get("conditions").and_then(Value::as_str).map(str::to_string),
            skip_on_upstream_skip: op.get("skipOnUpstreamSkip").and_then(crate::scalars::lax_bool)
                == Some(true),
            feeds,
            run,
        })
    }
}
