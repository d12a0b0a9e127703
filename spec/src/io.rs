//! Component inputs/outputs and the values given to them: Polyaxon's IO types, parsed and checked.

use serde_json::{Map, Value};

pub(crate) mod rules;

/// One declared input or output.
#[derive(Debug, Clone)]
pub struct Io {
    pub name: String,
    pub kind: String,
    pub value: Option<Value>,
    pub optional: bool,
    pub is_flag: bool,
    pub arg_format: Option<String>,
    pub options: Option<Vec<Value>>,
    pub to_env: Option<String>,
    /// `toInit`: the value becomes an init step of the run (`params::init_steps`).
    pub to_init: Option<bool>,
    pub connection: Option<String>,
    pub validation: Option<Value>,
}

impl Io {
    pub fn from_value(v: &Value) -> Result<Self, String> {
        let m = v.as_object().ok_or("each input/output must be a mapping with a `name`")?;
        let name = m.get("name").and_then(Value::as_str).ok_or("an input/output needs a `name`")?.to_string();
        let mut kind = m.get("type").and_then(Value::as_str).unwrap_or("any").to_string();
        if m.get("isList").and_then(Value::as_bool) == Some(true) {
            kind = format!("List[{kind}]");
        }
        let value = m.get("value").filter(|v| !v.is_null()).cloned();
        let options = m
            .get("options")
            .or_else(|| m.get("validation").and_then(|v| v.get("options")))
            .and_then(Value::as_array)
            .cloned();
        Ok(Self {
            optional: m.get("isOptional").and_then(Value::as_bool).unwrap_or(false) || value.is_some(),
            is_flag: m.get("isFlag").and_then(Value::as_bool).unwrap_or(false),
            arg_format: m.get("argFormat").and_then(Value::as_str).map(str::to_string),
            to_env: m.get("toEnv").and_then(Value::as_str).map(str::to_string),
            to_init: m.get("toInit").and_then(crate::scalars::lax_bool),
            connection: m.get("connection").and_then(Value::as_str).map(str::to_string),
            validation: m.get("validation").filter(|v| v.is_object()).cloned(),
            name,
            kind,
            value,
            options,
        })
    }

    /// Parses `v` as this IO's type.
    pub fn parse(&self, v: &Value) -> Result<Value, String> {
        let parsed = parse_type(&self.kind, v).map_err(|why| {
            format!("could not parse value {} for `{}` as {}: {why}", short(v), self.name, self.kind)
        })?;
        if let Some(rules) = &self.validation {
            rules::check(&self.name, &parsed, rules)?;
        }
        if let Some(options) = &self.options {
            if !parsed.is_null() && !options.contains(&parsed) {
                return Err(format!(
                    "value {} for `{}` is not one of the options {}",
                    short(v),
                    self.name,
                    Value::Array(options.clone())
                ));
            }
        }
        Ok(parsed)
    }

    /// `--name=value` as `params.name.as_arg` and `params.as_args` print it.
    pub fn as_arg(&self, v: &Value) -> Option<String> {
        if v.is_null() {
            return None;
        }
        if self.is_flag {
            return (v.as_bool() == Some(true)).then(|| format!("--{}", self.name));
        }
        let text = crate::render::param_text(v);
        Some(match &self.arg_format {
            Some(f) => f.replace("{{ value }}", &text).replace("{{value}}", &text),
            None => format!("--{}={text}", self.name),
        })
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

fn parse_type(kind: &str, v: &Value) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    if let Some(inner) = kind.strip_prefix("List[").and_then(|k| k.strip_suffix(']')) {
        let items = match v {
            Value::Array(a) => a.clone(),
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Array(a)) => a,
                _ => s.split(',').map(|x| Value::String(x.trim().to_string())).collect(),
            },
            other => vec![other.clone()],
        };
        return items.iter().map(|i| parse_type(inner, i)).collect::<Result<Vec<_>, _>>().map(Value::Array);
    }
    // Polyaxon reads a number given as text as JSON (orjson), then as the type: `"5.0"` is an int, `"1e-3"` a
    // float; `".5"`, `"+1"`, `"NaN"`, `"inf"` and `"1_000"` are not numbers.
    let json_number = |s: &str| match serde_json::from_str::<Value>(s) {
        // JSON's `-0` is the integer 0 to Python (serde_json keeps the sign as a float).
        Ok(Value::Number(n)) if n.as_f64() == Some(0.0) && !s.contains(['.', 'e', 'E']) => {
            Some(Value::from(0))
        }
        Ok(n @ Value::Number(_)) => Some(n),
        _ => None,
    };
    match kind {
        "int" => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
            Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
                Ok(Value::from(n.as_f64().unwrap() as i64))
            }
            Value::String(s) => match json_number(s) {
                Some(n) => parse_type("int", &n),
                None => Err("not an integer".into()),
            },
            _ => Err("not an integer".into()),
        },
        "float" => match v {
            Value::Number(n) => Ok(Value::from(n.as_f64().unwrap_or_default())),
            Value::String(s) => {
                json_number(s).map_or(Err("not a number".into()), |n| parse_type("float", &n))
            }
            _ => Err("not a number".into()),
        },
        "bool" => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::Number(n) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
                Ok(Value::Bool(n.as_i64() == Some(1)))
            }
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "on" | "1" | "t" => Ok(Value::Bool(true)),
                "false" | "no" | "n" | "off" | "0" | "f" => Ok(Value::Bool(false)),
                _ => Err("not a boolean".into()),
            },
            _ => Err("not a boolean".into()),
        },
        "str" => match v {
            Value::String(_) => Ok(v.clone()),
            Value::Number(_) | Value::Bool(_) => Ok(Value::String(crate::render::json_python_str(v))),
            _ => Err("not a string".into()),
        },
        "dict" | "dict_of_dicts" | "auth" => match v {
            Value::Object(_) => Ok(v.clone()),
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(o @ Value::Object(_)) => Ok(o),
                _ => Err("not a mapping".into()),
            },
            _ => Err("not a mapping".into()),
        },
        "list" => match v {
            Value::Array(_) => Ok(v.clone()),
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(a @ Value::Array(_)) => Ok(a),
                _ => Ok(Value::Array(s.split(',').map(|x| Value::String(x.trim().into())).collect())),
            },
            other => Ok(Value::Array(vec![other.clone()])),
        },
        "uuid" => match v {
            Value::String(s) if is_uuid(s) => Ok(v.clone()),
            _ => Err("not a uuid".into()),
        },
        "email" => match v {
            Value::String(s) if s.contains('@') && !s.starts_with('@') && !s.ends_with('@') => Ok(v.clone()),
            _ => Err("not an email address".into()),
        },
        "metric" => match v {
            Value::Number(_) => Ok(v.clone()),
            Value::String(s) => s.trim().parse::<f64>().map(Value::from).map_err(|_| "not a number".into()),
            _ => Err("not a number".into()),
        },
        "date" | "datetime" => match v {
            Value::String(s) if s.len() >= 8 && s.as_bytes()[0].is_ascii_digit() => Ok(v.clone()),
            _ => Err(format!("not a {kind} (expected ISO 8601 text)")),
        },
        // uri, path, image, git, artifacts, dockerfile, s3/gcs/wasb, event, metadata, any: kept as given.
        _ => Ok(v.clone()),
    }
}

fn is_uuid(s: &str) -> bool {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// `params` in their long form: `{name: {value, ref, contextOnly, ...}}` (the 2.x short form `name: 1` is
/// normalised to `{value: 1}`).
pub fn normalize_params(v: Option<&Value>) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(Value::Object(m)) = v {
        for (k, p) in m {
            let long = match p {
                Value::Object(o)
                    if o.contains_key("value")
                        || o.contains_key("ref")
                        || o.contains_key("contextOnly")
                        || o.contains_key("connection")
                        || o.contains_key("toInit")
                        || o.contains_key("toEnv") =>
                {
                    p.clone()
                }
                other => serde_json::json!({"value": other}),
            };
            out.insert(k.clone(), long);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn io(kind: &str) -> Io {
        Io::from_value(&json!({"name": "x", "type": kind})).unwrap()
    }

    #[test]
    fn values_parse_by_type() {
        assert_eq!(io("int").parse(&json!("3")).unwrap(), json!(3));
        assert!(io("int")
            .parse(&json!("two"))
            .unwrap_err()
            .contains("could not parse value \"two\" for `x`"));
        assert_eq!(io("float").parse(&json!(1)).unwrap(), json!(1.0));
        // Numbers given as text read as Polyaxon reads them (JSON), each checked with the oracle.
        for (kind, given, read) in [
            ("int", "5.0", Some(json!(5))),
            ("int", " 7", Some(json!(7))),
            ("float", "1E3", Some(json!(1000.0))),
            ("float", " 2.5", Some(json!(2.5))),
            ("int", "+5", None),
            ("float", "5.", None),
            ("float", ".5", None),
            ("float", "+1", None),
            ("float", "NaN", None),
            ("float", "inf", None),
            ("int", "1_000", None),
            ("int", "0x10", None),
        ] {
            assert_eq!(io(kind).parse(&json!(given)).ok(), read, "{kind} {given:?}");
        }
        // `-0` is Python's integer 0, so the float is 0.0, not -0.0 (oracle: spec/tests/probes/x12.yaml).
        assert_eq!(io("float").parse(&json!("-0")).unwrap().to_string(), "0.0");
        assert_eq!(io("float").parse(&json!("-0.0")).unwrap().to_string(), "-0.0");
        assert_eq!(io("bool").parse(&json!("true")).unwrap(), json!(true));
        assert_eq!(io("List[int]").parse(&json!("[1, 2]")).unwrap(), json!([1, 2]));
        assert_eq!(io("str").parse(&json!(0.5)).unwrap(), json!("0.5"));
    }

    #[test]
    fn long_non_ascii_values_are_shortened_on_char_boundaries() {
        // Found by `scripts/fuzz`: a 61-byte value with a multi-byte char at byte 60 panicked.
        let v = json!(format!("{}é", "x".repeat(59)).repeat(2));
        assert!(io("int").parse(&v).unwrap_err().contains('…'));
    }

    #[test]
    fn validation_rules_bound_values() {
        let io = Io::from_value(&json!({"name": "lr", "type": "float", "validation": {"gt": 0, "le": 1}}))
            .unwrap();
        assert!(io.parse(&json!(0.5)).is_ok());
        assert!(io.parse(&json!(0)).unwrap_err().contains("must be greater than 0"));
        assert!(io.parse(&json!(2)).unwrap_err().contains("must be less than or equal to 1"));
    }

    #[test]
    fn args_render_like_polyaxon() {
        let flag = Io::from_value(&json!({"name": "fast", "type": "bool", "isFlag": true})).unwrap();
        assert_eq!(flag.as_arg(&json!(true)).as_deref(), Some("--fast"));
        assert_eq!(flag.as_arg(&json!(false)), None);
        assert_eq!(io("float").as_arg(&json!(0.01)).as_deref(), Some("--x=0.01"));
    }
}
