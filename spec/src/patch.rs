//! Polyaxon's patch strategies for layering specs (`runPatch`, overlays, pipeline settings pushed to ops).

use serde_json::{Map, Value};

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

/// Fields that are free-form maps in Polyaxon's models (not models themselves): `replace` replaces them whole.
const FREE_FORM: &[&str] = &[
    "nodeSelector",
    "node_selector",
    "labels",
    "annotations",
    "limits",
    "requests",
    "matchLabels",
    "params",
    "runtimeEnv",
    "rayStartParams",
    "data",
];

pub fn merge(base: Value, patch: Value, s: Strategy) -> Value {
    match (base, patch) {
        (b, Value::Null) => b,
        (Value::Null, p) => p,
        (Value::Object(mut b), Value::Object(p)) => {
            for (k, pv) in p {
                let merged = match b.remove(&k) {
                    None => pv,
                    Some(bv) => match s {
                        // Polyaxon replaces field by field inside its models (a container keeps its image when
                        // a patch sets its env); a free-form map is a value of its own, replaced whole.
                        Strategy::Replace
                            if bv.is_object() && pv.is_object() && !FREE_FORM.contains(&k.as_str()) =>
                        {
                            merge(bv, pv, s)
                        }
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

/// Inputs or outputs: the patch's replace those of the same name, the others are added.
pub(crate) fn by_name(base: Value, patch: Value) -> Value {
    let Value::Array(mut list) = base else { return patch };
    for io in patch.as_array().into_iter().flatten() {
        let name = io.get("name");
        match list.iter_mut().find(|x| x.get("name") == name) {
            Some(x) => *x = io.clone(),
            None => list.push(io.clone()),
        }
    }
    Value::Array(list)
}

/// `runPatch` onto a run. For distributed kinds, pod-level keys (`container`, `environment`, ...) patch every
/// replica, as Polyaxon does.
pub(crate) fn patch_run(run: Value, patch: Value, s: Strategy) -> Value {
    const POD_KEYS: &[&str] = &["container", "environment", "init", "sidecars", "connections", "volumes"];
    let replicas = crate::schema::replica_keys(run["kind"].as_str().unwrap_or_default());
    let Value::Object(mut p) = patch else { return merge(run, patch, s) };
    let mut run = run;
    if !replicas.is_empty() {
        let pod: Map<String, Value> =
            POD_KEYS.iter().filter_map(|k| p.remove(*k).map(|v| (k.to_string(), v))).collect();
        if !pod.is_empty() {
            for r in replicas {
                if run.get(*r).is_some_and(|v| !v.is_null()) {
                    run[*r] = merge(run[*r].clone(), Value::Object(pod.clone()), s);
                }
            }
            if let Some(Value::Object(workers)) = run.get_mut("workers") {
                for w in workers.values_mut() {
                    *w = merge(w.clone(), Value::Object(pod.clone()), s);
                }
            }
        }
    }
    merge(run, Value::Object(p), s)
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
            json!({"a": 2, "m": {"x": 1, "y": 2}, "l": [2]})
        );
        assert_eq!(merge(base, patch, Strategy::IsNull), json!({"a": 1, "m": {"x": 1}, "l": [1]}));
    }

    /// The oracle's answer (polyaxon 2.18) for `patchStrategy: replace` with a `runPatch` of the container's
    /// env, args and limits and the environment's nodeSelector and labels.
    #[test]
    fn replace_goes_field_by_field_into_models_and_replaces_maps_whole() {
        let run = json!({"environment": {"nodeSelector": {"a": "1"}, "labels": {"x": "b"}},
            "container": {"image": "busybox", "command": ["echo"], "args": ["b"], "env": [{"name": "Y", "value": "2"}],
                "resources": {"limits": {"memory": "1Gi", "cpu": "2"}}}});
        let patch = json!({"environment": {"nodeSelector": {"b": "2"}, "labels": {"x": "p"}},
            "container": {"resources": {"limits": {"cpu": "1"}}, "env": [{"name": "X", "value": "1"}], "args": ["p"]}});
        assert_eq!(
            merge(run, patch, Strategy::Replace),
            json!({"environment": {"nodeSelector": {"b": "2"}, "labels": {"x": "p"}},
                "container": {"image": "busybox", "command": ["echo"], "args": ["p"], "env": [{"name": "X", "value": "1"}],
                    "resources": {"limits": {"cpu": "1"}}}})
        );
    }
}
