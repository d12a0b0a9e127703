//! YAML to JSON values with the position of every node, resolving plain scalars as PyYAML's `safe_load`
//! does (YAML 1.1: `yes`/`no`/`on`/`off` are booleans, `1e-3` without a dot is a string), because
//! polyaxonfiles are written against Polyaxon's Python loader.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use yaml_rust2::parser::Parser;

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
    /// Most compiles never ask, and naming every node's path was a tenth of a typical job's compile.
    positions: OnceLock<HashMap<String, (u32, u32)>>,
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
        let _ = Parser::new_from_str(text).load(&mut b, false);
        b.positions
    }

    /// A document built in code (no positions), e.g. a wrapped component.
    pub fn synthetic(file: &str, value: Value) -> Self {
        Self { file: file.into(), value, wrapped: false, text: None, positions: OnceLock::new() }
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
    let text = indent_flow_lines(text);
    let mut parser = Parser::new_from_str(&text);
    let loaded = parser.load(&mut b, false);
    // A limit the builder hit comes first: the parser may fail later on the same input (its own recursion cap).
    if let Some(e) = b.error {
        return Err(e);
    }
    loaded.map_err(|e| YamlError {
        line: e.marker().line() as u32,
        column: e.marker().col() as u32 + 1,
        message: if e.info().contains("recursion limit") {
            format!("nesting deeper than {} levels; the limit is yaml_depth", limits.yaml_depth)
        } else {
            format!("invalid YAML: {}", e.info())
        },
    })?;
    let value = b.root.unwrap_or(Value::Null);
    Ok(Doc {
        file: file.into(),
        value,
        wrapped: false,
        text: Some(Arc::from(text)),
        positions: OnceLock::new(),
    })
}

/// PyYAML accepts flow collections (`[...]`, `{...}`) whose continuation lines are indented no deeper than the
/// key that opened them; yaml-rust2 follows YAML 1.2 strictly and refuses them. Such lines are indented a bit
/// more before parsing (flow content does not depend on indentation, so the value is unchanged).
fn indent_flow_lines(text: &str) -> std::borrow::Cow<'_, str> {
    let mut depth = 0i32;
    let mut opener_indent = 0usize;
    let mut changed = false;
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if depth > 0 && !line.trim().is_empty() && indent <= opener_indent + 1 {
            out.extend(std::iter::repeat_n(' ', opener_indent + 2 - indent));
            changed = true;
        }
        out.push_str(line);
        let start_depth = depth;
        let (mut quote, mut prev) = (None::<char>, ' ');
        for ch in line.chars() {
            match (quote, ch) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(ch),
                (None, '#') if prev == ' ' || prev == '\t' => break,
                (None, '[' | '{') => depth += 1,
                (None, ']' | '}') => depth -= 1,
                _ => {}
            }
            prev = ch;
        }
        if start_depth == 0 && depth > 0 {
            opener_indent = indent;
        }
        depth = depth.max(0);
    }
    if changed {
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(text)
    }
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
    fn syntax_errors_are_located() {
        let e = parse("f", "a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.line >= 1 && e.message.starts_with("invalid YAML"), "{e:?}");
    }
}
