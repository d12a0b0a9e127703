//! Values printed as Python prints them (`str`, `repr`, floats) and as Polyaxon prints a param (`as_str`).

use minijinja::value::{Value as JValue, ValueKind};
use serde_json::Value;

/// Python's `str()` of a value.
pub fn python_str(v: &JValue) -> String {
    match v.kind() {
        ValueKind::String => v.as_str().unwrap_or_default().to_string(),
        _ => python_repr(v, false),
    }
}

fn python_repr(v: &JValue, quote: bool) -> String {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => "None".into(),
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number => match f64::try_from(v.clone()) {
            Ok(f) if !v.is_integer() => python_float(f),
            _ => v.to_string(),
        },
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default();
            if quote {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            } else {
                s.to_string()
            }
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> =
                v.try_iter().map(|it| it.map(|x| python_repr(&x, true)).collect()).unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let mut parts = Vec::new();
            if let Ok(keys) = v.try_iter() {
                for k in keys {
                    let val = v.get_item(&k).unwrap_or_default();
                    parts.push(format!("{}: {}", python_repr(&k, true), python_repr(&val, true)));
                }
            }
            format!("{{{}}}", parts.join(", "))
        }
        _ => v.to_string(),
    }
}

/// A param's `as_str` (and what `as_arg` prints after `--name=`), as Polyaxon prints it (`clipped`'s
/// `to_string`): a string as it is; a number, a boolean, a list or a dict as compact JSON (`orjson`), its floats
/// as Python prints them (`[1,2.5,"a"]`, `true`, `1e-05`).
pub fn param_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        _ => {
            let mut out = String::new();
            crate::pyliteral::python_json(v, &mut out);
            out
        }
    }
}

/// `repr(float)`: shortest round-trip digits, `.0` on integral values, exponent outside [1e-4, 1e16).
pub fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    if f.fract() == 0.0 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// Python's `str()` of a JSON value (what `python_str` prints for it, without converting it first).
pub fn json_python_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        _ => {
            let mut out = String::new();
            json_python_repr(v, &mut out);
            out
        }
    }
}

fn quoted(s: &str, out: &mut String) {
    out.push('\'');
    out.push_str(&s.replace('\\', "\\\\").replace('\'', "\\'"));
    out.push('\'');
}

fn json_python_repr(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::Number(n) if n.is_f64() => out.push_str(&python_float(n.as_f64().unwrap_or_default())),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => quoted(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_python_repr(x, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, x)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                quoted(k, out);
                out.push_str(": ");
                json_python_repr(x, out);
            }
            out.push('}');
        }
    }
}
