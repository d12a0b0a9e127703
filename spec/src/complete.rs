//! Autocompletion for the editor: the keys the schema allows in the mapping at the cursor, and the file's
//! input and output names inside `{{ }}`.

use serde_json::Value;

use crate::schema::{run_keys, COMPONENT, OPERATION_ONLY, REFERENCES, SHARED};
use crate::sections::{CACHE, ENVIRONMENT};

const CONTAINER: &[&str] = &[
    "name",
    "image",
    "imagePullPolicy",
    "command",
    "args",
    "env",
    "envFrom",
    "resources",
    "volumeMounts",
    "workingDir",
    "ports",
];
const IO: &[&str] = &[
    "name",
    "type",
    "description",
    "value",
    "isOptional",
    "isList",
    "isFlag",
    "argFormat",
    "delayValidation",
    "options",
    "connection",
    "toInit",
    "toEnv",
];

/// The keys a mapping at `path` (keys from the document's root; list items skipped) may hold, for
/// autocompletion. `kind` is the run's kind when known.
pub fn keys_at(path: &[&str], kind: Option<&str>) -> Vec<&'static str> {
    let tail: Vec<&str> = path.iter().copied().filter(|k| *k != "component").collect();
    let mut keys: Vec<&'static str> = match tail.as_slice() {
        [] => [SHARED, OPERATION_ONLY, REFERENCES, COMPONENT].concat(),
        [.., "run"] => run_keys(kind.unwrap_or("job")).unwrap_or_default(),
        [.., "environment"] => ENVIRONMENT.to_vec(),
        [.., "container"] | [.., "sidecars"] | [.., "init"] => CONTAINER.to_vec(),
        [.., "inputs"] | [.., "outputs"] => IO.to_vec(),
        [.., "cache"] => CACHE.to_vec(),
        [.., "termination"] => vec!["maxRetries", "ttl", "timeout"],
        [.., "resources"] => vec!["limits", "requests"],
        [.., "matrix"] => vec![
            "kind",
            "params",
            "values",
            "numRuns",
            "seed",
            "concurrency",
            "earlyStopping",
            "maxIterations",
            "eta",
            "resource",
            "metric",
        ],
        [.., "operations"] => [SHARED, OPERATION_ONLY, REFERENCES].concat(),
        [.., "components"] => [SHARED, COMPONENT].concat(),
        _ => vec![],
    };
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// What to complete at byte offset `pos` of `text`: `(start of the word, candidates)`. Keys of the mapping the
/// cursor is in, or, inside `{{ }}`, the file's input and output names.
pub fn complete(text: &str, pos: usize) -> Option<(usize, Vec<String>)> {
    let pos = pos.min(text.len());
    let before = text.get(..pos)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let prefix = &before[line_start..];
    let word_len = prefix
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
        .map(char::len_utf8)
        .sum::<usize>();
    let word = &prefix[prefix.len() - word_len..];
    let from = pos - word_len;
    if let Some(open) = prefix.rfind("{{") {
        if !prefix[open..].contains("}}") {
            let doc = crate::yaml::parse("f", text).map(|d| d.value).unwrap_or(Value::Null);
            let mut names: Vec<String> = ["inputs", "outputs"]
                .iter()
                .flat_map(|k| {
                    let list = doc.get(*k).or_else(|| doc.get("component").and_then(|c| c.get(*k)));
                    list.and_then(Value::as_array).cloned().unwrap_or_default()
                })
                .filter_map(|io| io.get("name").and_then(Value::as_str).map(str::to_string))
                .collect();
            names.extend(["globals.uuid", "globals.run_outputs_path", "params.as_args"].map(String::from));
            names.retain(|n| n.starts_with(word));
            return Some((from, names));
        }
    }
    let head = prefix.trim_start();
    let head = head.strip_prefix("- ").unwrap_or(head);
    if head.len() != word_len {
        return None; // not at a key: a value, or after the colon
    }
    let indent =
        prefix.len() - prefix.trim_start().len() + if prefix.trim_start().starts_with("- ") { 2 } else { 0 };
    let mut path = Vec::new();
    // Parents have a smaller indent; inside a list item, the list's key may share the item's indent.
    let mut want = indent;
    let mut item_at: Option<usize> = None;
    let mut kind = None;
    for line in text[..line_start].lines().rev() {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let ind = line.len() - t.len();
        let is_item = t.starts_with("- ") || t == "-";
        let t2 = t.strip_prefix("- ").unwrap_or(t);
        let key = t2.split_once(':').map(|(k, _)| k.trim().to_string());
        if want == indent
            && item_at.is_none()
            && ind + if is_item { 2 } else { 0 } == indent
            && kind.is_none()
        {
            if let Some(k) = t2.strip_prefix("kind:") {
                kind = k.split('#').next().map(|k| k.trim().to_string());
            }
        }
        let parent = match item_at {
            Some(at) => ind <= at && !is_item,
            None => ind < want && !is_item,
        };
        if parent {
            if let Some(k) = key {
                path.push(k);
            }
            want = ind;
            item_at = None;
            if want == 0 {
                break;
            }
        } else if is_item && ind < item_at.unwrap_or(want) {
            item_at = Some(ind);
        }
    }
    path.reverse();
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    // A run's kind is written inside `run:`; read it from the whole file when completing there.
    let kind = kind.or_else(|| {
        let doc = crate::yaml::parse("f", text).ok()?.value;
        let run = doc.get("run").or_else(|| doc.get("component").and_then(|c| c.get("run")))?;
        run.get("kind")?.as_str().map(str::to_string)
    });
    let keys = keys_at(&path, kind.as_deref());
    let present: Vec<&str> = Vec::new();
    Some((
        from,
        keys.into_iter().filter(|k| k.starts_with(word) && !present.contains(k)).map(String::from).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Vec<String> {
        let pos = text.find('|').unwrap();
        let t = text.replace('|', "");
        complete(&t, pos).map(|(_, k)| k).unwrap_or_default()
    }

    #[test]
    fn keys_follow_the_yaml_path_at_the_cursor() {
        let env = at("kind: component\nrun:\n  kind: job\n  environment:\n    node|\n");
        assert_eq!(env, ["nodeName", "nodeSelector"]);
        let run = at("kind: component\nrun:\n  kind: job\n  co|\n");
        assert_eq!(run, ["connections", "container"]);
        let inputs = at("kind: component\ninputs:\n- name: lr\n  ty|\n");
        assert_eq!(inputs, ["type"]);
        let dag = at("kind: component\nrun:\n  kind: dag\n  conc|\n");
        assert_eq!(dag, ["concurrency"]);
        let op = at("kind: component\nrun:\n  kind: dag\n  operations:\n  - name: a\n    trig|\n");
        assert_eq!(op, ["trigger"]);
    }

    #[test]
    fn names_inside_templates() {
        let names = at("kind: component\ninputs:\n- {name: lr, type: float}\n- {name: layers, type: int}\nrun:\n  kind: job\n  container: {image: x, args: ['{{ l|']}\n");
        assert_eq!(names, ["lr", "layers"]);
        assert!(at("kind: component\nname: |\n").is_empty(), "a value is not completed");
    }
}
