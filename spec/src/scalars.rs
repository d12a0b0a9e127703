//! The types of an operation's and a component's scalar fields, as Polyaxon's models read them (pydantic in
//! lax mode: `"yes"` is a boolean, `"2.5"` a number, a comma-separated string a list of tags).

use serde_json::Value;

use crate::compile::{join, At, Compiler};
use crate::render::is_template;

/// A boolean as pydantic's lax mode reads one: `true`/`false`, 0/1, and the strings it knows.
pub(crate) fn lax_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(0.0) => Some(false),
            Some(1.0) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "1" | "on" | "t" | "true" | "y" | "yes" => Some(true),
            "0" | "off" | "f" | "false" | "n" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

enum Ty {
    Str,
    /// A string or a list of strings (Polyaxon splits a string on commas).
    StrList,
    Bool,
    /// A boolean or a template (`{{ … }}`) resolved with the params.
    BoolOrRef,
    /// A number, a string that parses as one, or a template.
    NumberOrRef,
    Number,
    /// `mount`: `from:to` strings or `{from, to}` mappings.
    Mounts,
}

const SHARED: &[(&str, Ty)] = &[
    ("version", Ty::Number),
    ("description", Ty::Str),
    ("tags", Ty::StrList),
    ("presets", Ty::StrList),
    ("queue", Ty::Str),
    ("namespace", Ty::Str),
    ("isApproved", Ty::BoolOrRef),
    ("cost", Ty::NumberOrRef),
    ("strictParams", Ty::Bool),
    ("mount", Ty::Mounts),
];
const OPERATION: &[(&str, Ty)] =
    &[("skipOnUpstreamSkip", Ty::Bool), ("isPreset", Ty::Bool), ("conditions", Ty::Str)];

fn fits(ty: &Ty, v: &Value) -> bool {
    let number = |v: &Value| v.is_number() || v.as_str().is_some_and(|s| s.trim().parse::<f64>().is_ok());
    match ty {
        Ty::Str => v.is_string(),
        Ty::StrList => v.is_string() || v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
        Ty::Bool => lax_bool(v).is_some(),
        Ty::BoolOrRef => lax_bool(v).is_some() || is_template(v),
        Ty::NumberOrRef => number(v) || is_template(v),
        Ty::Number => number(v),
        Ty::Mounts => v.as_array().is_some_and(|a| {
            a.iter().all(|m| {
                m.is_string()
                    || m.as_object().is_some_and(|o| {
                        o.iter().all(|(k, v)| {
                            matches!(k.as_str(), "from" | "to") && (v.is_string() || v.is_null())
                        })
                    })
            })
        }),
    }
}

fn expected(ty: &Ty) -> &'static str {
    match ty {
        Ty::Str => "a string",
        Ty::StrList => "a list of strings",
        Ty::Bool => "a boolean",
        Ty::BoolOrRef => "a boolean (or a `{{ … }}` template)",
        Ty::NumberOrRef => "a number (or a `{{ … }}` template)",
        Ty::Number => "a number",
        Ty::Mounts => "a list of `from:to` strings or `{from, to}` mappings",
    }
}

/// Checks the scalar fields of an operation (`op`) or a component, each error located at its field.
pub(crate) fn check(c: &mut Compiler, v: &Value, at: At, op: bool) {
    let fields = SHARED.iter().chain(if op { OPERATION } else { &[] });
    for (key, ty) in fields {
        let Some(x) = v.get(*key).filter(|x| !x.is_null()) else { continue };
        if !fits(ty, x) {
            let p = join(at.path, key);
            c.error(
                At { doc: at.doc, path: &p },
                "invalid_type",
                format!("`{key}` must be {}, found {}", expected(ty), crate::scalars::shown(x)),
            );
        }
    }
}

fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}
