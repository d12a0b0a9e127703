//! Polyaxon's patch strategies for layering specs (`runPatch`, overlays, pipeline settings pushed to ops).

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The patch replaces what it sets.
    Replace,
    /// The patch only fills what is unset.
    IsNull,
    /// Deep merge, the patch wins; lists are concatenated.
    PostMerge,
    /// Deep merge, the original wins; lists are concatenated (patch first).
    PreMerge,
}

impl Strategy {
    pub fn parse(s: Option<&str>) -> Option<Self> {
        match s {
            None | Some("post_merge") => Some(Strategy::PostMerge),
            Some("pre_merge") => Some(Strategy::PreMerge),
            Some("replace") => Some(Strategy::Replace),
            Some("isnull") => Some(Strategy::IsNull),
            _ => None,
        }
    }
}

pub fn merge(base: Value, patch: Value, s: Strategy) -> Value {
    match (base, patch) {
        (b, Value::Null) => b,
        (Value::Null, p) => p,
        (Value::Object(mut b), Value::Object(p)) => {
            for (k, pv) in p {
                let merged = match b.remove(&k) {
                    None => pv,
                    Some(bv) => match s {
                        Strategy::Replace => pv,
                        Strategy::IsNull => {
                            if bv.is_null() {
                                pv
                            } else {
                                bv
                            }
                        }
                        _ => merge(bv, pv, s),
                    },
                };
                b.insert(k, merged);
            }
            Value::Object(b)
        }
        (Value::Array(mut b), Value::Array(p)) => match s {
            Strategy::PostMerge => {
                b.extend(p);
                Value::Array(b)
            }
            Strategy::PreMerge => {
                let mut out = p;
                out.extend(b);
                Value::Array(out)
            }
            Strategy::Replace => Value::Array(p),
            Strategy::IsNull => Value::Array(b),
        },
        (b, p) => match s {
            Strategy::PostMerge | Strategy::Replace => p,
            Strategy::PreMerge | Strategy::IsNull => b,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategies_decide_who_wins() {
        let base = json!({"a": 1, "m": {"x": 1}, "l": [1]});
        let patch = json!({"a": 2, "m": {"y": 2}, "l": [2]});
        assert_eq!(
            merge(base.clone(), patch.clone(), Strategy::PostMerge),
            json!({"a": 2, "m": {"x": 1, "y": 2}, "l": [1, 2]})
        );
        assert_eq!(
            merge(base.clone(), patch.clone(), Strategy::PreMerge),
            json!({"a": 1, "m": {"x": 1, "y": 2}, "l": [2, 1]})
        );
        assert_eq!(
            merge(base.clone(), patch.clone(), Strategy::Replace),
            json!({"a": 2, "m": {"y": 2}, "l": [2]})
        );
        assert_eq!(merge(base, patch, Strategy::IsNull), json!({"a": 1, "m": {"x": 1}, "l": [1]}));
    }
}
