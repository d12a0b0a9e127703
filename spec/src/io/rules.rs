//! An input's `validation`, as Polyaxon 2.18 applies it (`V1Validation.run_validation`): the value's own
//! constraints on a scalar, on each item of a list and on each value of a dict; then `minItems`/`maxItems` on a
//! list or dict, and `keys`/`containsKeys`/`excludesKeys` on a dict. A rule that cannot apply to a value (a
//! regex on a number) fails, as it does in Polyaxon. `delay` (and an input's `delayValidation`, which Polyaxon moves
//! there) changes nothing in Polyaxon 2.18, which checks a value as it compiles either way; so does Myelin, and
//! says so where `delay` is written (`schema::check_component`).

use serde_json::Value;

/// The keys `validation` takes (`V1Validation`).
pub(crate) const KEYS: &[&str] = &[
    "delay",
    "gt",
    "ge",
    "lt",
    "le",
    "multipleOf",
    "minDigits",
    "maxDigits",
    "decimalPlaces",
    "regex",
    "minLength",
    "maxLength",
    "contains",
    "excludes",
    "options",
    "minItems",
    "maxItems",
    "keys",
    "containsKeys",
    "excludesKeys",
];

pub(crate) fn check(name: &str, v: &Value, rules: &Value) -> Result<(), String> {
    if v.is_null() {
        return Ok(());
    }
    let fail = |why: String| format!("value {} for `{name}` {why}", shown(v));
    match v {
        Value::Array(items) => items.iter().try_for_each(|x| each(x, rules)),
        Value::Object(m) => m.values().try_for_each(|x| each(x, rules)),
        _ => each(v, rules),
    }
    .map_err(fail)?;
    let count = match v {
        Value::Array(a) => Some(a.len()),
        Value::Object(m) => Some(m.len()),
        _ => None,
    };
    if let Some(n) = count {
        if rules["minItems"].as_u64().is_some_and(|m| (n as u64) < m) {
            return Err(fail(format!("must have at least {} items", rules["minItems"])));
        }
        if rules["maxItems"].as_u64().is_some_and(|m| (n as u64) > m) {
            return Err(fail(format!("must have at most {} items", rules["maxItems"])));
        }
    }
    if let Value::Object(m) = v {
        let names =
            |k: &str| rules[k].as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>());
        if let Some(keys) = names("keys") {
            if keys.len() != m.len() || !keys.iter().all(|k| m.contains_key(*k)) {
                return Err(fail(format!("must have exactly the keys {}", rules["keys"])));
            }
        }
        if names("containsKeys").is_some_and(|keys| !keys.iter().all(|k| m.contains_key(*k))) {
            return Err(fail(format!("must contain all the keys {}", rules["containsKeys"])));
        }
        if names("excludesKeys").is_some_and(|keys| keys.iter().any(|k| m.contains_key(*k))) {
            return Err(fail(format!("must not contain any of the keys {}", rules["excludesKeys"])));
        }
    }
    Ok(())
}

/// The constraints on one value (a scalar, or one item).
fn each(x: &Value, rules: &Value) -> Result<(), String> {
    let rule = |k: &str| rules.get(k).filter(|r| !r.is_null());
    let number = |k: &str| -> Result<Option<(f64, f64)>, String> {
        let Some(r) = rule(k) else { return Ok(None) };
        match (x.as_f64(), r.as_f64()) {
            (Some(a), Some(b)) => Ok(Some((a, b))),
            _ => Err(format!("cannot be checked against `{k}: {r}` (a number is needed)")),
        }
    };
    for (k, holds, word) in [
        ("gt", (|a, b| a > b) as fn(f64, f64) -> bool, "greater than"),
        ("ge", |a, b| a >= b, "greater than or equal to"),
        ("lt", |a, b| a < b, "less than"),
        ("le", |a, b| a <= b, "less than or equal to"),
        ("multipleOf", |a, b| b != 0.0 && (a % b) == 0.0, "a multiple of"),
    ] {
        if let Some((a, b)) = number(k)? {
            if !holds(a, b) {
                return Err(format!("must be {word} {}", rules[k]));
            }
        }
    }
    let text = crate::render::json_python_str(x);
    let digits = text.chars().filter(|c| *c != '.').count() as u64;
    if rule("minDigits").and_then(Value::as_u64).is_some_and(|m| digits < m) {
        return Err(format!("must have at least {} digits", rules["minDigits"]));
    }
    if rule("maxDigits").and_then(Value::as_u64).is_some_and(|m| digits > m) {
        return Err(format!("must have at most {} digits", rules["maxDigits"]));
    }
    if let Some(places) = rule("decimalPlaces").and_then(Value::as_u64) {
        let have = text.split_once('.').map_or(0, |(_, d)| d.chars().count()) as u64;
        if have > places {
            return Err(format!("must have at most {places} decimal places"));
        }
    }
    let s = x.as_str();
    if let Some(pattern) = rule("regex") {
        let pattern = pattern.as_str().unwrap_or_default();
        // Python's `re.match`: anchored at the start only.
        let re = regex_lite::Regex::new(&format!("^(?:{pattern})"))
            .map_err(|e| format!("cannot be checked: the regex `{pattern}` is invalid ({e})"))?;
        if !s.is_some_and(|s| re.is_match(s)) {
            return Err(format!("must match the regex `{pattern}`"));
        }
    }
    for (k, holds, word) in [
        ("minLength", (|n, m| n >= m) as fn(u64, u64) -> bool, "at least"),
        ("maxLength", |n, m| n <= m, "at most"),
    ] {
        if let Some(m) = rule(k).and_then(Value::as_u64) {
            let Some(n) = s.map(|s| s.chars().count() as u64) else {
                return Err(format!("cannot be checked against `{k}` (a string is needed)"));
            };
            if !holds(n, m) {
                return Err(format!("must have {word} {m} characters"));
            }
        }
    }
    for (k, present) in [("contains", true), ("excludes", false)] {
        let Some(r) = rule(k) else { continue };
        let found = match (x, r) {
            (Value::String(s), Value::String(part)) => s.contains(part.as_str()),
            (Value::Array(a), r) => a.contains(r),
            _ => return Err(format!("cannot be checked against `{k}: {r}`")),
        };
        if found != present {
            let word = if present { "must contain" } else { "must not contain" };
            return Err(format!("{word} {r}"));
        }
    }
    if let Some(options) = rule("options").and_then(Value::as_array) {
        if !options.contains(x) {
            return Err(format!("must be one of {}", rules["options"]));
        }
    }
    Ok(())
}

fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::check;

    fn err(v: serde_json::Value, rules: serde_json::Value) -> String {
        check("x", &v, &rules).unwrap_err()
    }

    #[test]
    fn bounds_and_multiples() {
        assert!(check("x", &json!(0.5), &json!({"gt": 0, "le": 1})).is_ok());
        assert!(err(json!(0), json!({"gt": 0})).contains("must be greater than 0"));
        assert!(err(json!(2), json!({"le": 1})).contains("less than or equal to 1"));
        assert!(err(json!(7), json!({"multipleOf": 2})).contains("multiple of 2"));
        assert!(err(json!("a"), json!({"gt": 0})).contains("a number is needed"));
    }

    #[test]
    fn strings_match_from_their_start_as_pythons_re_match() {
        assert!(
            check("x", &json!("abc"), &json!({"regex": "[a-z]+", "minLength": 2, "maxLength": 5})).is_ok()
        );
        assert!(check("x", &json!("abc1"), &json!({"regex": "[a-z]+"})).is_ok(), "re.match is not fullmatch");
        assert!(err(json!("ABC"), json!({"regex": "^[a-z]+$"})).contains("must match the regex"));
        assert!(err(json!("abcdef"), json!({"maxLength": 5})).contains("at most 5 characters"));
        assert!(err(json!(5), json!({"regex": "5"})).contains("must match"));
        assert!(err(json!("a"), json!({"regex": "("})).contains("invalid"));
    }

    #[test]
    fn lists_and_dicts_are_checked_item_by_item_then_as_a_whole() {
        let rules = json!({"ge": 1, "minItems": 2, "maxItems": 3});
        assert!(check("x", &json!([1, 2]), &rules).is_ok());
        assert!(err(json!([0, 2]), rules.clone()).contains("greater than or equal to 1"));
        assert!(err(json!([1]), rules.clone()).contains("at least 2 items"));
        assert!(err(json!([1, 1, 1, 1]), rules).contains("at most 3 items"));
        // A list of strings: the length rules are each item's, as in Polyaxon.
        assert!(check("x", &json!(["ab", "cd", "ef"]), &json!({"maxLength": 2})).is_ok());
        let d = json!({"a": 1, "b": 2});
        assert!(check("x", &d, &json!({"keys": ["a", "b"], "containsKeys": ["a"], "excludesKeys": ["c"]}))
            .is_ok());
        assert!(err(d.clone(), json!({"keys": ["a"]})).contains("exactly the keys"));
        assert!(err(d.clone(), json!({"containsKeys": ["c"]})).contains("contain all the keys"));
        assert!(err(d, json!({"excludesKeys": ["b"]})).contains("not contain any of the keys"));
    }

    #[test]
    fn digits_contains_options_and_delay() {
        assert!(err(json!(12.345), json!({"decimalPlaces": 2})).contains("2 decimal places"));
        assert!(err(json!(12345), json!({"maxDigits": 4})).contains("at most 4 digits"));
        assert!(err(json!(1), json!({"minDigits": 2})).contains("at least 2 digits"));
        assert!(err(json!("s3://x"), json!({"contains": "gs://"})).contains("must contain"));
        assert!(err(json!("a-b"), json!({"excludes": "-"})).contains("must not contain"));
        assert!(err(json!("c"), json!({"options": ["a", "b"]})).contains("one of"));
        // `delay` defers nothing, as in Polyaxon 2.18 (probes e08, e10).
        assert!(err(json!("c"), json!({"options": ["a"], "delay": true})).contains("one of"));
    }
}
