//! JSON values written out as YAML.

use serde_json::Value;

/// `value` as a YAML document (key order kept), as Kubernetes manifests are usually read.
pub fn to_string(value: &Value) -> String {
    fn conv(v: &Value) -> yaml_rust2::Yaml {
        use yaml_rust2::Yaml;
        match v {
            Value::Null => Yaml::Null,
            Value::Bool(b) => Yaml::Boolean(*b),
            Value::Number(n) if n.is_i64() => Yaml::Integer(n.as_i64().unwrap_or_default()),
            Value::Number(n) => Yaml::Real(n.to_string()),
            Value::String(s) => Yaml::String(s.clone()),
            Value::Array(a) => Yaml::Array(a.iter().map(conv).collect()),
            Value::Object(o) => {
                Yaml::Hash(o.iter().map(|(k, v)| (Yaml::String(k.clone()), conv(v))).collect())
            }
        }
    }
    let mut out = String::new();
    let mut emitter = yaml_rust2::YamlEmitter::new(&mut out);
    emitter.multiline_strings(true);
    if emitter.dump(&conv(value)).is_err() {
        return String::new();
    }
    out.strip_prefix("---\n").unwrap_or(&out).to_string() + "\n"
}

#[cfg(test)]
mod emit_tests {
    #[test]
    fn emits_yaml_that_parses_back_to_the_same_value() {
        let v = serde_json::json!({"apiVersion": "batch/v1", "spec": {"containers": [{"command": ["sh", "-c", "echo 'a: b'\nexit 1"], "n": 3, "x": 1.5, "t": true, "nil": null}]}});
        let text = super::to_string(&v);
        assert!(text.starts_with("apiVersion: batch/v1\n"), "{text}");
        assert_eq!(crate::yaml::parse("f", &text).unwrap().value, v);
    }
}
