//! Matrices: grid, random, mapping (expanded exactly, in Polyaxon's order) and the tuner kinds (hyperband,
//! bayes, tpe, iterative: checked, and their first iteration's suggestions drawn).

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use crate::compile::{derived_uuid, join, At, Compiler, Inherited, Matrix, Run};
use crate::io::Io;

mod check;

pub(crate) use check::check;

const KINDS: &[&str] = &["grid", "random", "mapping", "hyperband", "bayes", "tpe", "iterative"];
const DISCRETE: &[&str] = &["choice", "range", "linspace", "logspace", "geomspace"];
const CONTINUOUS: &[&str] = &[
    "pchoice",
    "uniform",
    "quniform",
    "loguniform",
    "qloguniform",
    "normal",
    "qnormal",
    "lognormal",
    "qlognormal",
    "daterange",
    "datetimerange",
];
/// Children compiled in full (the rest differ only by their params).
pub const CHILDREN: usize = 3;
/// The most values one dimension of a search may list (a search is also capped by `limits.matrix_runs`).
pub const MAX_SUGGESTIONS: usize = 100_000;

fn too_many(n: f64) -> Result<(), String> {
    too_many_for(n, MAX_SUGGESTIONS)
}

/// Larger searches are refused: they would not fit in memory, and no scheduler would run them.
fn too_many_for(n: f64, cap: usize) -> Result<(), String> {
    if n.is_finite() && n <= cap as f64 {
        Ok(())
    } else {
        Err(format!("the search has more than {cap} runs; the limit is matrix_runs"))
    }
}

/// The names a matrix gives values to.
pub fn param_names(m: &Value) -> Vec<String> {
    let mut names: Vec<String> = match m.get("kind").and_then(Value::as_str) {
        Some("mapping") => m["values"]
            .as_array()
            .and_then(|v| v.first())
            .and_then(Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default(),
        _ => m["params"].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default(),
    };
    if m["kind"] == "hyperband" {
        if let Some(r) = m["resource"]["name"].as_str() {
            names.push(r.to_string());
        }
    }
    names
}

fn nums(v: &Value) -> Result<Vec<f64>, String> {
    match v {
        Value::String(s) => s
            .split(':')
            .map(|x| x.trim().parse::<f64>().map_err(|_| format!("`{s}` is not start:stop:step")))
            .collect(),
        Value::Array(a) => {
            a.iter().map(|x| x.as_f64().ok_or_else(|| format!("{x} is not a number"))).collect()
        }
        Value::Object(o) => ["start", "stop", "step", "num", "base"]
            .iter()
            .filter_map(|k| o.get(*k))
            .map(|x| x.as_f64().ok_or("not a number".to_string()))
            .collect(),
        _ => Err("expected a list, a mapping or start:stop:step".into()),
    }
}

fn num_value(f: f64, ints: bool) -> Value {
    if ints && f.fract() == 0.0 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

/// The values of a discrete hyperparameter, in order.
fn values(kind: &str, v: &Value) -> Result<Vec<Value>, String> {
    let all_ints = |v: &Value| match v {
        Value::String(s) => !s.contains('.'),
        Value::Array(a) => a.iter().all(|x| x.is_i64()),
        Value::Object(o) => o.values().all(|x| x.is_i64()),
        _ => false,
    };
    match kind {
        "choice" => v.as_array().cloned().ok_or_else(|| "choice needs a list of values".into()),
        "range" => {
            let n = nums(v)?;
            let (start, stop, step) = match n.as_slice() {
                [stop] => (0.0, *stop, 1.0),
                [a, b] => (*a, *b, 1.0),
                [a, b, s, ..] => (*a, *b, *s),
                _ => return Err("range needs start:stop:step".into()),
            };
            if step == 0.0 {
                return Err("range step cannot be 0".into());
            }
            let count = ((stop - start) / step).ceil().max(0.0);
            too_many(count)?;
            let count = count as usize;
            Ok((0..count).map(|i| num_value(start + i as f64 * step, all_ints(v))).collect())
        }
        "linspace" | "logspace" | "geomspace" => {
            let n = nums(v)?;
            let (start, stop, num) = match n.as_slice() {
                [a, b, c, ..] => {
                    too_many(*c)?;
                    (*a, *b, c.max(0.0) as usize)
                }
                _ => return Err(format!("{kind} needs start:stop:num")),
            };
            let base = n.get(3).copied().unwrap_or(10.0);
            let lin: Vec<f64> = match num {
                0 => vec![],
                1 => vec![start],
                _ => (0..num)
                    .map(|i| {
                        if i + 1 == num {
                            stop
                        } else {
                            start + i as f64 * (stop - start) / (num - 1) as f64
                        }
                    })
                    .collect(),
            };
            Ok(match kind {
                "linspace" => lin.into_iter().map(|x| json!(x)).collect(),
                "logspace" => lin.into_iter().map(|x| json!(base.powf(x))).collect(),
                _ => {
                    let (ls, le) = (start.ln(), stop.ln());
                    (0..num)
                        .map(|i| {
                            json!(if num == 1 {
                                start
                            } else {
                                (ls + i as f64 * (le - ls) / (num - 1) as f64).exp()
                            })
                        })
                        .collect()
                }
            })
        }
        other => Err(format!("`{other}` has no fixed list of values")),
    }
}

/// Draws one value of a hyperparameter.
fn sample(kind: &str, v: &Value, rng: &mut SmallRng) -> Value {
    let n = nums(v).unwrap_or_default();
    let get = |i: usize, d: f64| n.get(i).copied().filter(|x| x.is_finite()).unwrap_or(d);
    // An empty or reversed interval yields its lower end instead of panicking.
    let between = |rng: &mut SmallRng, lo: f64, hi: f64| if lo < hi { rng.gen_range(lo..hi) } else { lo };
    let q = |x: f64, q: f64| if q > 0.0 { (x / q).round() * q } else { x };
    let normal = |rng: &mut SmallRng, mu: f64, sigma: f64| {
        let (u1, u2): (f64, f64) = (rng.gen::<f64>().max(f64::MIN_POSITIVE), rng.gen());
        mu + sigma * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    match kind {
        "pchoice" => {
            let opts: Vec<(Value, f64)> = v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| Some((p.get(0)?.clone(), p.get(1)?.as_f64()?)))
                .collect();
            let total: f64 = opts.iter().map(|(_, w)| w).sum();
            let mut x = rng.gen::<f64>() * total;
            for (val, w) in &opts {
                if x < *w {
                    return val.clone();
                }
                x -= w;
            }
            opts.last().map(|(v, _)| v.clone()).unwrap_or(Value::Null)
        }
        "uniform" => json!(between(rng, get(0, 0.0), get(1, 1.0))),
        "quniform" => json!(q(between(rng, get(0, 0.0), get(1, 1.0)), get(2, 1.0))),
        "loguniform" => json!(between(rng, get(0, 0.0), get(1, 1.0)).exp()),
        "qloguniform" => json!(q(between(rng, get(0, 0.0), get(1, 1.0)).exp(), get(2, 1.0))),
        "normal" => json!(normal(rng, get(0, 0.0), get(1, 1.0))),
        "qnormal" => json!(q(normal(rng, get(0, 0.0), get(1, 1.0)), get(2, 1.0))),
        "lognormal" => json!(normal(rng, get(0, 0.0), get(1, 1.0)).exp()),
        "qlognormal" => json!(q(normal(rng, get(0, 0.0), get(1, 1.0)).exp(), get(2, 1.0))),
        _ => {
            let vals = values(kind, v).unwrap_or_default();
            if vals.is_empty() {
                Value::Null
            } else {
                vals[rng.gen_range(0..vals.len())].clone()
            }
        }
    }
}

/// The suggestions of a matrix (for tuners: their first iteration).
pub fn suggestions(m: &Value) -> Result<Vec<Map<String, Value>>, String> {
    suggestions_within(m, crate::limits::Limits::default().matrix_runs)
}

/// As `suggestions`, refusing searches of more than `cap` runs whatever their algorithm.
pub fn suggestions_within(m: &Value, cap: usize) -> Result<Vec<Map<String, Value>>, String> {
    let kind = m["kind"].as_str().unwrap_or_default();
    let params: Vec<(String, Value)> = m["params"]
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let seed = m["seed"].as_u64().unwrap_or(0);
    let mut rng = SmallRng::seed_from_u64(seed);
    let random = |count: usize, rng: &mut SmallRng| -> Vec<Map<String, Value>> {
        (0..count)
            .map(|_| {
                params
                    .iter()
                    .map(|(k, p)| {
                        (k.clone(), sample(p["kind"].as_str().unwrap_or_default(), &p["value"], rng))
                    })
                    .collect()
            })
            .collect()
    };
    Ok(match kind {
        "mapping" => {
            let values = m["values"].as_array().ok_or("mapping needs `values`")?;
            too_many_for(values.len() as f64, cap)?;
            values.iter().filter_map(|v| v.as_object().cloned()).collect()
        }
        "grid" => {
            let mut out: Vec<Map<String, Value>> = vec![Map::new()];
            for (k, p) in &params {
                let vals = values(p["kind"].as_str().unwrap_or_default(), &p["value"])?;
                too_many_for(out.len() as f64 * vals.len() as f64, cap)?;
                out = out
                    .into_iter()
                    .flat_map(|s| {
                        vals.iter().map(move |v| {
                            let mut s = s.clone();
                            s.insert(k.clone(), v.clone());
                            s
                        })
                    })
                    .collect();
            }
            match m["numRuns"].as_u64() {
                Some(n) => out.into_iter().take(n as usize).collect(),
                None => out,
            }
        }
        "random" => {
            let n = m["numRuns"].as_u64().ok_or("random needs numRuns")? as usize;
            too_many_for(n as f64, cap)?;
            let space: Option<usize> = params
                .iter()
                .map(|(_, p)| {
                    values(p["kind"].as_str().unwrap_or_default(), &p["value"]).ok().map(|v| v.len())
                })
                .product();
            random(space.map_or(n, |s| n.min(s)), &mut rng)
        }
        "hyperband" => {
            let max_iter = m["maxIterations"].as_f64().unwrap_or(1.0).max(1.0);
            let eta = m["eta"].as_f64().unwrap_or(3.0).max(2.0);
            let s_max = (max_iter.ln() / eta.ln()).floor();
            let n = eta.powf(s_max).ceil();
            too_many_for(n, cap)?;
            let n = n as usize;
            let r = max_iter * eta.powf(-s_max);
            let resource = m["resource"]["name"].as_str().unwrap_or("resource").to_string();
            let is_int = m["resource"]["type"] == "int";
            random(n, &mut rng)
                .into_iter()
                .map(|mut s| {
                    s.insert(resource.clone(), if is_int { json!(r.round() as i64) } else { json!(r) });
                    s
                })
                .collect()
        }
        "bayes" => random(capped(m["numInitialRuns"].as_u64().unwrap_or(1), cap)?, &mut rng),
        "tpe" => random(
            capped(m["numRuns"].as_u64().or(m["numInitialRuns"].as_u64()).unwrap_or(1), cap)?,
            &mut rng,
        ),
        _ => random(capped(m["numRuns"].as_u64().unwrap_or(1), cap)?, &mut rng),
    })
}

/// `n` runs, or the error naming the cap.
fn capped(n: u64, cap: usize) -> Result<usize, String> {
    too_many_for(n as f64, cap)?;
    Ok(n as usize)
}

impl Compiler<'_> {
    pub(crate) fn matrix(
        &mut self,
        op: &Value,
        m: &Value,
        at: At,
        inh: &Inherited,
        run_kind: &str,
        params: Vec<(Io, Value)>,
    ) -> Option<Run> {
        let kind = m["kind"].as_str().unwrap_or_default().to_string();
        let suggestions = match suggestions_within(m, self.opts.limits.matrix_runs) {
            Ok(s) => s,
            Err(e) => {
                self.error(At { doc: at.doc, path: &join(at.path, "matrix") }, "invalid_matrix", e);
                return None;
            }
        };
        let mut children = Vec::new();
        if matches!(kind.as_str(), "grid" | "mapping" | "random") {
            let shown = if self.opts.execution.all_children { suggestions.len() } else { CHILDREN };
            for (i, s) in suggestions.iter().take(shown).enumerate() {
                let mut child = op.clone();
                let obj = child.as_object_mut()?;
                obj.remove("matrix");
                let mut p = crate::io::normalize_params(obj.get("params"));
                for (k, v) in s {
                    p.insert(k.clone(), json!({"value": v}));
                }
                obj.insert("params".into(), Value::Object(p));
                let inh = Inherited {
                    uuid: derived_uuid(&format!("{}matrix-{i}", inh.uuid)),
                    in_pipeline: true,
                    ..inh.clone()
                };
                let mut run = self.operation(&mut child, at, &inh)?;
                run.kind = None;
                children.push(run);
            }
        }
        Some(Run {
            kind: crate::lifecycle::RunKind::parse(run_kind),
            pipeline: Some("matrix".into()),
            params: params.into_iter().filter(|(_, v)| !v.is_null()).map(|(io, v)| (io.name, v)).collect(),
            matrix: Some(Matrix { kind, suggestions, children }),
            concurrency: m["concurrency"].as_u64(),
            early_stopping: m["earlyStopping"].clone(),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests;
