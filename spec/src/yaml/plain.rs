//! Plain scalars resolved as PyYAML's `safe_load` resolves them (YAML 1.1).

use serde_json::{Number, Value};

pub(super) fn resolve_plain(text: String) -> Value {
    let s = text.as_str();
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Value::Bool(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        _ => {}
    }
    if let Some(i) = parse_int(s) {
        return Value::Number(i.into());
    }
    if is_float(s) {
        let clean: String = s.chars().filter(|c| *c != '_').collect();
        let f = match clean.trim_start_matches(['+', '-']) {
            ".inf" | ".Inf" | ".INF" => f64::INFINITY * if clean.starts_with('-') { -1.0 } else { 1.0 },
            ".nan" | ".NaN" | ".NAN" => f64::NAN,
            _ => clean.parse().unwrap_or(f64::NAN),
        };
        if let Some(n) = Number::from_f64(f) {
            return Value::Number(n);
        }
    }
    Value::String(text)
}

fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    // Most scalars are words: only digits, `_` and a radix prefix may follow.
    if !body.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let clean: std::borrow::Cow<str> =
        if body.contains('_') { body.chars().filter(|c| *c != '_').collect() } else { body.into() };
    let v = if let Some(hex) = clean.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(bin) = clean.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else if clean.len() > 1 && clean.starts_with('0') {
        i64::from_str_radix(&clean[1..], 8).ok()?
    } else if clean.bytes().all(|b| b.is_ascii_digit()) {
        clean.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -v } else { v })
}

/// `[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?` or `.inf`/`.nan` (PyYAML needs the dot).
fn is_float(s: &str) -> bool {
    let t = s.trim_start_matches(['+', '-']);
    if matches!(t, ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let Some(dot) = mantissa.find('.') else { return false };
    let (int, frac) = (&mantissa[..dot], &mantissa[dot + 1..]);
    let digits = |p: &str| p.chars().all(|c| c.is_ascii_digit() || c == '_');
    let int_ok = int.is_empty() || (int.as_bytes()[0].is_ascii_digit() && digits(int));
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']);
        e.is_some_and(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_digit()))
    });
    int_ok && digits(frac) && !(int.is_empty() && frac.is_empty()) && exp_ok
}
