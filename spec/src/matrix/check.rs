//! A matrix checked as Polyaxon checks it: its kind, the keys it needs, its params' values, and the keys each
//! kind takes as Polyaxon 2.18's models list them (`V1GridSearch`, `V1RandomSearch`, `V1Mapping`, `V1Hyperband`,
//! `V1Bayes`, `V1TPE`, `V1Iterative`, and their early-stopping policies), which refuse any other: a typo there
//! (`concurency: 2`) is refused where it is written instead of being dropped. Keys Polyaxon takes and Myelin does
//! not use are warned about.

use serde_json::Value;

use crate::compile::{join, At, Compiler};
use crate::schema::unknown_keys;

use super::{values, CONTINUOUS, DISCRETE, KINDS};

fn keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "grid" => &["kind", "params", "numRuns", "concurrency", "earlyStopping"],
        "random" => &["kind", "params", "numRuns", "seed", "concurrency", "earlyStopping"],
        "mapping" => &["kind", "values", "concurrency", "earlyStopping"],
        "hyperband" => &[
            "kind",
            "params",
            "maxIterations",
            "eta",
            "resource",
            "metric",
            "resume",
            "seed",
            "concurrency",
            "tuner",
            "earlyStopping",
        ],
        "bayes" => &[
            "kind",
            "utilityFunction",
            "numInitialRuns",
            "maxIterations",
            "metric",
            "params",
            "seed",
            "concurrency",
            "tuner",
            "earlyStopping",
        ],
        "tpe" => &[
            "kind",
            "maxIterations",
            "metric",
            "params",
            "numRuns",
            "seed",
            "concurrency",
            "tuner",
            "earlyStopping",
        ],
        _ => &["kind", "params", "maxIterations", "seed", "concurrency", "tuner", "earlyStopping"],
    }
}

/// Keys Polyaxon takes that Myelin does not use, and why.
const UNUSED: &[(&str, &str)] = &[
    ("tuner", "Myelin makes the suggestions itself; a custom tuner component is not run"),
    ("utilityFunction", "Myelin's Bayesian suggestions use its own acquisition settings"),
    ("resume", "Myelin does not resume hyperband's runs from their earlier iterations"),
];

/// Checks matrix `m`: its kind, what that kind needs and takes, and its params' values.
pub(crate) fn check(c: &mut Compiler, m: &Value, at: At) {
    let kind = m.get("kind").and_then(Value::as_str).unwrap_or_default();
    if !KINDS.contains(&kind) {
        c.error(
            At { doc: at.doc, path: &join(at.path, "kind") },
            "invalid_matrix_kind",
            format!("matrix.kind must be one of {}", KINDS.join(", ")),
        );
        return;
    }
    keys_of(c, m, kind, at);
    let required: &[&str] = match kind {
        "random" => &["numRuns", "params"],
        "mapping" => &["values"],
        "hyperband" => &["maxIterations", "eta", "resource", "metric", "params"],
        "bayes" => &["numInitialRuns", "maxIterations", "metric", "params"],
        "tpe" => &["maxIterations", "metric", "params"],
        _ => &["params"],
    };
    for r in required {
        if m.get(*r).is_none_or(Value::is_null) {
            c.error(
                At { doc: at.doc, path: &join(at.path, r) },
                "missing_field",
                format!("a {kind} matrix needs `{r}`"),
            );
        }
    }
    if let Some(params) = m.get("params").and_then(Value::as_object) {
        for (name, p) in params {
            let path = join(&join(at.path, "params"), name);
            let pk = p.get("kind").and_then(Value::as_str).unwrap_or_default();
            if !DISCRETE.contains(&pk) && !CONTINUOUS.contains(&pk) {
                c.error(At { doc: at.doc, path: &path }, "invalid_matrix_param", format!("`{name}`: unknown kind `{pk}` (choice, range, linspace, logspace, geomspace, uniform, ...)"));
            } else if kind == "grid" && !DISCRETE.contains(&pk) {
                c.error(
                    At { doc: at.doc, path: &path },
                    "invalid_matrix_param",
                    format!("`{name}`: a grid search needs discrete values, `{pk}` is a distribution"),
                );
            } else if let Err(e) = values(pk, &p["value"]).map(|_| ()).or_else(|e| {
                if DISCRETE.contains(&pk) {
                    Err(e)
                } else {
                    Ok(())
                }
            }) {
                c.error(
                    At { doc: at.doc, path: &join(&path, "value") },
                    "invalid_matrix_param",
                    format!("`{name}`: {e}"),
                );
            }
        }
    }
}

const POLICY_KINDS: &[&str] = &["median", "truncation", "diff"];

/// Checks the keys of matrix `m` (of a known `kind`), its params, metric, resource and early stopping.
fn keys_of(c: &mut Compiler, m: &Value, kind: &str, at: At) {
    let what = format!("a {kind} matrix");
    unknown_keys(c, m, keys(kind), at, &what);
    for (key, why) in UNUSED {
        if m.get(*key).is_some_and(|v| !v.is_null()) && keys(kind).contains(key) {
            let p = join(at.path, key);
            c.warn(At { doc: at.doc, path: &p }, "not_honoured", format!("`{key}` is not used: {why}"));
        }
    }
    let under = |key: &str| join(at.path, key);
    for (name, p) in m.get("params").and_then(Value::as_object).into_iter().flatten() {
        let path = join(&under("params"), name);
        unknown_keys(c, p, &["kind", "value"], At { doc: at.doc, path: &path }, "a matrix param");
    }
    let metric = under("metric");
    unknown_keys(c, &m["metric"], &["name", "optimization"], At { doc: at.doc, path: &metric }, "`metric`");
    let resource = under("resource");
    unknown_keys(c, &m["resource"], &["name", "type"], At { doc: at.doc, path: &resource }, "`resource`");
    for (i, e) in m.get("earlyStopping").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let path = format!("{}[{i}]", under("earlyStopping"));
        early_stopping(c, e, At { doc: at.doc, path: &path });
    }
}

fn early_stopping(c: &mut Compiler, e: &Value, at: At) {
    let kind = e.get("kind").and_then(Value::as_str).unwrap_or_default();
    let allowed: &[&str] = match kind {
        "metric_early_stopping" => &["kind", "metric", "value", "optimization", "policy"],
        "failure_early_stopping" => &["kind", "percent"],
        _ => {
            let p = join(at.path, "kind");
            let message = format!(
                "early stopping `kind` must be metric_early_stopping or failure_early_stopping, not `{kind}`"
            );
            c.error(At { doc: at.doc, path: &p }, "invalid_value", message);
            return;
        }
    };
    unknown_keys(c, e, allowed, at, &format!("a {kind} policy"));
    let Some(policy) = e.get("policy").filter(|p| !p.is_null()) else { return };
    let p = join(at.path, "policy");
    let here = At { doc: at.doc, path: &p };
    let pk = policy.get("kind").and_then(Value::as_str).unwrap_or_default();
    let allowed: &[&str] = match pk {
        "median" => &["kind", "evaluationInterval", "minInterval", "minSamples"],
        "truncation" => {
            &["kind", "percent", "evaluationInterval", "minInterval", "minSamples", "includeSucceeded"]
        }
        "diff" => &["kind", "percent", "evaluationInterval", "minInterval", "minSamples"],
        _ => {
            let message =
                format!("a stopping policy's `kind` must be one of {}, not `{pk}`", POLICY_KINDS.join(", "));
            c.error(At { doc: at.doc, path: &join(&p, "kind") }, "invalid_value", message);
            return;
        }
    };
    unknown_keys(c, policy, allowed, here, &format!("a {pk} stopping policy"));
    c.warn(
        here,
        "not_honoured",
        format!(
            "the {pk} stopping `policy` is not used: Myelin stops the matrix once a child reaches `value`; it does \
             not stop running children by comparing them"
        ),
    );
}
