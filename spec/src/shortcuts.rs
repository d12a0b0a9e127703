//! The root shortcuts' values as Polyaxon's polyaxonfile checks them (`_flow/polyaxonfile.py`): `env` values
//! are strings, `resources` names `cpu`, `memory`, `gpu` or an extended resource with quantities Kubernetes
//! reads the same way (a request no greater than its limit; counts whole), `cmd` is not blank.

use serde_json::Value;

use crate::compile::{join, At, Compiler};

pub(crate) fn check(c: &mut Compiler, v: &Value, at: At) {
    if let Some(env) = v.get("env").filter(|e| !e.is_null()) {
        match env.as_object() {
            None => c.error(
                At { doc: at.doc, path: &join(at.path, "env") },
                "invalid_value",
                "env must be a mapping of names to string values",
            ),
            Some(m) => {
                for (name, value) in m.iter().filter(|(_, x)| x.is_boolean() || x.is_number()) {
                    let path = join(&join(at.path, "env"), name);
                    c.error(
                        At { doc: at.doc, path: &path },
                        "invalid_value",
                        format!("env.{name} must be a string; quote it: \"{value}\""),
                    );
                }
            }
        }
    }
    if let Some(res) = v.get("resources").filter(|r| !r.is_null()) {
        let Some(m) = res.as_object() else {
            let path = join(at.path, "resources");
            c.error(
                At { doc: at.doc, path: &path },
                "invalid_value",
                "resources must be a mapping of names to values",
            );
            return;
        };
        for (key, value) in m {
            if let Err(why) = resource(key, value) {
                let path = join(&join(at.path, "resources"), key);
                c.error(At { doc: at.doc, path: &path }, "invalid_value", why);
            }
        }
    }
    let blank = match v.get("cmd") {
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(lines)) => {
            lines.is_empty() || lines.iter().any(|l| l.as_str().is_none_or(|l| l.trim().is_empty()))
        }
        _ => false,
    };
    if blank {
        let path = join(at.path, "cmd");
        c.error(At { doc: at.doc, path: &path }, "invalid_value", "cmd must not be blank or empty");
    }
}

/// One `resources` entry; why it is refused.
fn resource(key: &str, value: &Value) -> Result<(), String> {
    if key == "nvidia.com/gpu" {
        return Err("resources.nvidia.com/gpu is spelled gpu".into());
    }
    if !matches!(key, "cpu" | "memory" | "gpu") && !key.contains('/') {
        return Err(format!(
            "unknown resource `{key}`; use cpu, memory, gpu, or an extended resource such as google.com/tpu"
        ));
    }
    let count = !matches!(key, "cpu" | "memory");
    let text = match value {
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(-1.0);
            if f < 0.0 {
                return Err(format!("resources.{key} must be a finite non-negative number"));
            }
            if count && !(n.is_u64()) {
                return Err(format!("resources.{key} must be an integer count"));
            }
            return Ok(());
        }
        Value::String(s) => s.trim(),
        _ => return Err(format!("resources.{key} must be a number or a range such as 1..2")),
    };
    let (low, high) = text.split_once("..").map_or((text, ""), |(a, b)| (a.trim(), b.trim()));
    if low.is_empty() && high.is_empty() {
        return Err(format!("resources.{key} needs a request, a limit, or both"));
    }
    let mut sides = [None, None];
    for (i, part) in [low, high].into_iter().enumerate().filter(|(_, p)| !p.is_empty()) {
        sides[i] = Some(quantity(key, part).ok_or_else(|| {
            format!("resources.{key} has an unsupported value `{part}`; use container.resources for other quantities or templates")
        })?);
    }
    if let [Some(l), Some(h)] = sides {
        if l > h {
            return Err(format!("resources.{key} has a request greater than its limit"));
        }
    }
    Ok(())
}

/// The value of a quantity string as Polyaxon accepts it for `key` (cpu: `500m`; memory: `1Gi`, `512M`;
/// counts: digits).
fn quantity(key: &str, s: &str) -> Option<f64> {
    let digits = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, suffix) = s.split_at(digits);
    let valid_number = !number.is_empty()
        && number != "."
        && number.matches('.').count() <= 1
        && (number.starts_with(|c: char| c.is_ascii_digit()) || number.len() > 1);
    if !valid_number {
        return None;
    }
    let n: f64 = number.parse().ok()?;
    let scale = match (key, suffix) {
        (_, "") => 1.0,
        ("cpu", "m") => 1e-3,
        ("cpu", "u") => 1e-6,
        ("cpu", "n") => 1e-9,
        ("memory", s) => {
            let binary = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"].iter().position(|x| *x == s);
            let decimal = ["k", "M", "G", "T", "P", "E"].iter().position(|x| *x == s);
            match (binary, decimal) {
                (Some(i), _) => 1024f64.powi(i as i32 + 1),
                (_, Some(i)) => 1000f64.powi(i as i32 + 1),
                _ => return None,
            }
        }
        _ => return None,
    };
    if !matches!(key, "cpu" | "memory") && (number.contains('.') || !suffix.is_empty()) {
        return None;
    }
    Some(n * scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resources_as_polyaxon_checks_them() {
        for (key, v) in [
            ("cpu", json!(1)),
            ("cpu", json!("500m")),
            ("memory", json!("1Gi..2Gi")),
            ("memory", json!("..2G")),
            ("gpu", json!(2)),
            ("google.com/tpu", json!("4")),
            ("cpu", json!("0.5")),
        ] {
            assert_eq!(resource(key, &v), Ok(()), "{key}: {v}");
        }
        for (key, v, why) in [
            ("cpus", json!(1), "unknown resource"),
            ("nvidia.com/gpu", json!(1), "spelled gpu"),
            ("memory", json!("2Gi..1Gi"), "greater than its limit"),
            ("gpu", json!(0.5), "integer count"),
            ("memory", json!("1GB"), "unsupported value"),
            ("cpu", json!(-1), "non-negative"),
            ("cpu", json!(true), "a number or a range"),
            ("gpu", json!("1.5"), "unsupported value"),
        ] {
            let e = resource(key, &v).unwrap_err();
            assert!(e.contains(why), "{key}: {v}: {e}");
        }
    }
}
