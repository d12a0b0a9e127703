//! YAML to JSON values with the position of every node, resolving plain scalars as PyYAML's `safe_load`
//! does (YAML 1.1: `yes`/`no`/`on`/`off` are booleans, `1e-3` without a dot is a string), because
//! polyaxonfiles are written against Polyaxon's Python loader.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use libyaml_safer::EventData;
use serde_json::Value;

use builder::Builder;

mod builder;
mod emit;
mod plain;

pub use emit::to_string;

/// A parsed file: its value, and where each path starts.
#[derive(Debug, Clone)]
pub struct Doc {
    pub file: String,
    /// The file's value (the compiler takes it once it has read it: its positions stay).
    pub value: Value,
    /// A component file the compiler wrapped as `{kind: operation, component: <file>}`: paths under
    /// `component.` refer to the file's root.
    pub wrapped: bool,
    /// The text as parsed, for `positions`.
    text: Option<Arc<str>>,
    /// Where each path starts: found when first asked (a diagnostic, an edit), by parsing the text again.
    /// Most compiles never ask, and naming every node's path was a tenth of a typical job's compile. Shared by
    /// the copies the threads compiling a large DAG hold.
    positions: Arc<OnceLock<HashMap<String, (u32, u32)>>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl Doc {
    /// `path` as written in this file.
    pub fn local<'p>(&self, path: &'p str) -> &'p str {
        if !self.wrapped {
            return path;
        }
        match path.strip_prefix("component") {
            Some("") => "",
            Some(rest) if rest.starts_with('.') => &rest[1..],
            _ => path,
        }
    }

    /// The position of `path`, or of its nearest ancestor that has one.
    pub fn pos(&self, path: &str) -> (u32, u32) {
        let positions = self.positions.get_or_init(|| self.locate());
        let mut p = path;
        loop {
            if let Some(at) = positions.get(p) {
                return *at;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return positions.get("").copied().unwrap_or((1, 1)),
            }
        }
    }

    /// Every node's position: the text parsed again, naming paths this time. It parsed once within its
    /// limits, so it does again.
    fn locate(&self) -> HashMap<String, (u32, u32)> {
        let Some(text) = &self.text else { return HashMap::new() };
        let mut b = Builder::new(usize::MAX, usize::MAX, true);
        let _ = build(&mut b, text);
        b.positions
    }

    /// A document built in code (no positions), e.g. a wrapped component.
    pub fn synthetic(file: &str, value: Value) -> Self {
        Self { file: file.into(), value, wrapped: false, text: None, positions: Default::default() }
    }
}

/// Parses a file within the default limits (`crate::limits`).
pub fn parse(file: &str, text: &str) -> Result<Doc, YamlError> {
    parse_within(file, text, &crate::limits::Limits::default())
}

/// Parses a file; one too large, too deep, or whose aliases expand past `limits.yaml_nodes` values is refused
/// with the limit's name, before it is built.
pub fn parse_within(file: &str, text: &str, limits: &crate::limits::Limits) -> Result<Doc, YamlError> {
    if text.len() > limits.yaml_bytes {
        return Err(YamlError {
            line: 1,
            column: 1,
            message: format!(
                "the file is {} bytes; the limit is {} (yaml_bytes)",
                text.len(),
                limits.yaml_bytes
            ),
        });
    }
    let mut b = Builder::new(limits.yaml_nodes, limits.yaml_depth, false);
    let built = build(&mut b, text);
    // A limit the builder hit comes first: parsing stopped there.
    if let Some(e) = b.error {
        return Err(e);
    }
    built?;
    let value = b.root.unwrap_or(Value::Null);
    Ok(Doc {
        file: file.into(),
        value,
        wrapped: false,
        text: Some(Arc::from(text)),
        positions: Default::default(),
    })
}

/// Parses `text` event by event into `b`, stopping at the first limit it hits. libyaml is the parser PyYAML
/// was ported from, so a file reads here as Polyaxon's `yaml.safe_load` reads it. One document only, as
/// `safe_load` demands.
fn build(b: &mut Builder, text: &str) -> Result<(), YamlError> {
    let mut input = text.as_bytes();
    let mut parser = libyaml_safer::Parser::new();
    parser.set_input_string(&mut input);
    let mut documents = 0;
    for event in parser {
        let event = event.map_err(|e| {
            let mark = e.problem_mark().unwrap_or_default();
            let context = e.context().map(|c| format!(" {c}")).unwrap_or_default();
            YamlError {
                line: mark.line as u32 + 1,
                column: mark.column as u32 + 1,
                message: format!("invalid YAML: {}{context}", e.problem()),
            }
        })?;
        if matches!(event.data, EventData::DocumentStart { .. }) {
            documents += 1;
            if documents > 1 {
                return Err(YamlError {
                    line: event.start_mark.line as u32 + 1,
                    column: event.start_mark.column as u32 + 1,
                    message:
                        "invalid YAML: expected a single document in the stream, but found another document"
                            .into(),
                });
            }
        }
        b.event(event);
        if b.error.is_some() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_resolve_like_pyyaml() {
        let d = parse("f", "a: yes\nb: 1e-3\nc: 1.0e-3\nd: 010\ne: ~\nf: '1'\ng: 0.5\nh: 1_000\n").unwrap();
        assert_eq!(
            d.value,
            json!({"a": true, "b": "1e-3", "c": 0.001, "d": 8, "e": null, "f": "1", "g": 0.5, "h": 1000})
        );
    }

    #[test]
    fn positions_point_at_keys_and_items() {
        let d = parse("f", "run:\n  kind: job\n  init:\n  - git: {url: x}\n").unwrap();
        assert_eq!(d.pos("run.kind"), (2, 3));
        assert_eq!(d.pos("run.init[0]"), (4, 5));
        assert_eq!(d.pos("run.init[0].git.url"), (4, 11));
        assert_eq!(d.pos("run.nothing.here"), (1, 1));
    }

    #[test]
    fn anchors_and_merge_keys_work() {
        let d = parse("f", "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n").unwrap();
        assert_eq!(d.value["other"], json!({"x": 1, "y": 3}));
        // A key given twice: its first place, its last value (a Python dict's assignment).
        let d = parse("f", "a: 1\nb: 2\na: 3\n").unwrap();
        assert_eq!(d.value, json!({"a": 3, "b": 2}));
        assert_eq!(d.value.as_object().unwrap().keys().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn flow_collections_may_close_at_the_key_indentation_like_pyyaml() {
        let d = parse("f", "a:\n  \"pip\": [\n      \"x\",\n      \"y\"\n  ]\n  env: {\n    c: d\n  }\n")
            .unwrap();
        assert_eq!(d.value, json!({"a": {"pip": ["x", "y"], "env": {"c": "d"}}}));
    }

    #[test]
    fn aliases_that_expand_past_the_limit_are_refused_before_they_are_built() {
        let mut lol = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, c) in ('b'..='j').enumerate() {
            let prev = (b'a' + i as u8) as char;
            lol.push_str(&format!("{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let e = parse("laughs.yaml", &lol).unwrap_err();
        assert!(e.message.contains("yaml_nodes"), "{e:?}");
        assert!(e.line >= 4, "located where the limit was crossed: {e:?}");
        // The same shape within the limit still parses, aliases and all.
        let small = "a: &a [1, 2]\nb: [*a, *a]\n";
        assert_eq!(parse("ok.yaml", small).unwrap().value["b"], serde_json::json!([[1, 2], [1, 2]]));
    }

    #[test]
    fn deep_nesting_and_huge_files_are_refused_with_the_limit() {
        let deep = format!("a: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        let e = parse("deep.yaml", &deep).unwrap_err();
        assert!(e.message.contains("yaml_depth"), "{e:?}");
        let block: String = (0..100).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect();
        let e = parse("block.yaml", &block).unwrap_err();
        assert_eq!((e.line, e.message.contains("yaml_depth")), (65, true), "{e:?}");
        let limits = crate::limits::Limits { yaml_bytes: 10, ..Default::default() };
        let e = parse_within("big.yaml", "name: longer than ten bytes", &limits).unwrap_err();
        assert!(e.message.contains("yaml_bytes") && e.message.contains("27 bytes"), "{e:?}");
        let nested = format!("a: {}1{}", "[".repeat(60), "]".repeat(60));
        assert!(parse("fine.yaml", &nested).is_ok(), "60 levels are within the default");
    }

    #[test]
    fn a_stream_of_two_documents_and_an_undefined_alias_are_refused_like_safe_load() {
        // Polyaxon 2.18 refuses both (spec/tests/probes/yaml_two_documents.yaml, yaml_undefined_alias.yaml).
        let e = parse("f", "a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!((e.line, e.message.contains("single document")), (2, true), "{e:?}");
        let e = parse("f", "a: 1\nb: *nowhere\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 4), "{e:?}");
        assert!(e.message.contains("undefined alias `nowhere`"), "{e:?}");
        // Directives and an explicit document end are one document.
        assert_eq!(parse("f", "%YAML 1.1\n---\na: 1\n...\n").unwrap().value, json!({"a": 1}));
    }

    #[test]
    fn syntax_errors_are_located() {
        let e = parse("f", "a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.line >= 1 && e.message.starts_with("invalid YAML"), "{e:?}");
        let e = parse("f", "a:\n  b: 1\n c: 2\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 2), "{e:?}");
        assert!(e.message.contains("did not find expected key"), "{e:?}");
    }
}
