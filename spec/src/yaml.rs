//! YAML to JSON values with the position of every node, resolving plain scalars as PyYAML's `safe_load`
//! does (YAML 1.1: `yes`/`no`/`on`/`off` are booleans, `1e-3` without a dot is a string), because
//! polyaxonfiles are written against Polyaxon's Python loader.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

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
        let mut b =
            Builder { track: true, max_nodes: usize::MAX, max_depth: usize::MAX, ..Builder::default() };
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
    let mut b = Builder { max_nodes: limits.yaml_nodes, max_depth: limits.yaml_depth, ..Builder::default() };
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

enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        path: String,
        first_node: usize,
    },
    Map {
        map: Map<String, Value>,
        key: Option<String>,
        anchor: usize,
        path: String,
        merges: Vec<Value>,
        first_node: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    /// Anchored values and how many values each holds.
    anchors: HashMap<usize, (Value, usize)>,
    /// Whether to name paths and note their positions (`Doc::locate`).
    track: bool,
    positions: HashMap<String, (u32, u32)>,
    error: Option<YamlError>,
    /// Values built so far, aliases counted at their full size.
    nodes: usize,
    max_nodes: usize,
    max_depth: usize,
}

impl Builder {
    /// Whether the node about to be pushed is a mapping key.
    fn next_is_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    /// The path of the node about to be pushed (empty unless tracking), and whether it is a mapping key.
    fn next_path(&self) -> (String, bool) {
        if !self.track {
            return (String::new(), self.next_is_key());
        }
        match self.stack.last() {
            None => (String::new(), false),
            Some(Frame::Seq { items, path, .. }) => (format!("{path}[{}]", items.len()), false),
            Some(Frame::Map { key: None, path, .. }) => (path.clone(), true),
            Some(Frame::Map { key: Some(k), path, .. }) => {
                (if path.is_empty() { k.clone() } else { format!("{path}.{k}") }, false)
            }
        }
    }

    /// Counts `n` more values; false (with the error set) past the limit.
    fn count(&mut self, n: usize, at: (u32, u32)) -> bool {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.max_nodes && self.error.is_none() {
            self.error = Some(YamlError {
                line: at.0,
                column: at.1,
                message: format!(
                    "the file expands to more than {} values (aliases counted in full); the limit is yaml_nodes",
                    self.max_nodes
                ),
            });
        }
        self.error.is_none()
    }

    fn push_value(&mut self, v: Value, anchor: usize, size: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, (v.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.root = Some(v),
            Some(Frame::Seq { items, .. }) => items.push(v),
            Some(Frame::Map { map, key, merges, .. }) => match key.take() {
                None => *key = Some(scalar_key(&v)),
                Some(k) if k == "<<" => merges.push(v),
                Some(k) => {
                    map.insert(k, v);
                }
            },
        }
    }
}

fn scalar_key(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        other => other.to_string(),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return; // refused: build nothing more
        }
        let at = (mark.line() as u32, mark.col() as u32 + 1);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                if !self.count(1, at) {
                    return;
                }
                let v = if style == TScalarStyle::Plain && tag.is_none() {
                    resolve_plain(text)
                } else {
                    Value::String(text)
                };
                if !self.track {
                    self.push_value(v, anchor, 1);
                    return;
                }
                let (path, is_key) = self.next_path();
                if is_key {
                    // A mapping is placed at its first key (block mappings report their start late).
                    self.positions.entry(path.clone()).or_insert(at);
                    let key = scalar_key(&v);
                    let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                    self.positions.insert(child, at);
                } else {
                    self.positions.entry(path).or_insert(at);
                }
                self.push_value(v, anchor, 1);
            }
            Event::Alias(id) => {
                let (v, size) = self.anchors.get(&id).map(|(v, n)| (v, *n)).unwrap_or((&Value::Null, 1));
                let v =
                    if self.nodes.saturating_add(size) <= self.max_nodes { v.clone() } else { Value::Null };
                if self.count(size, at) {
                    self.push_value(v, 0, size);
                }
            }
            Event::SequenceStart(anchor, _) => {
                if !self.enter(at) {
                    return;
                }
                let (path, _) = self.next_path();
                if self.track {
                    self.positions.entry(path.clone()).or_insert(at);
                }
                self.stack.push(Frame::Seq { items: Vec::new(), anchor, path, first_node: self.nodes });
            }
            Event::MappingStart(anchor, _) => {
                if !self.enter(at) {
                    return;
                }
                let (path, is_key) = self.next_path();
                if is_key && self.error.is_none() {
                    self.error = Some(YamlError {
                        line: at.0,
                        column: at.1,
                        message: "mapping keys must be scalars".into(),
                    });
                }
                let first_node = self.nodes;
                self.stack.push(Frame::Map {
                    map: Map::new(),
                    key: None,
                    anchor,
                    path,
                    merges: Vec::new(),
                    first_node,
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { items, anchor, first_node, .. }) = self.stack.pop() {
                    let size = self.nodes - first_node + 1;
                    self.push_value(Value::Array(items), anchor, size);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map { mut map, anchor, merges, first_node, .. }) = self.stack.pop() {
                    // `<<: *base` merges keys the mapping does not set itself.
                    for m in merges.into_iter().flat_map(|m| match m {
                        Value::Array(list) => list,
                        other => vec![other],
                    }) {
                        if let Value::Object(base) = m {
                            for (k, v) in base {
                                map.entry(k).or_insert(v);
                            }
                        }
                    }
                    let size = self.nodes - first_node + 1;
                    self.push_value(Value::Object(map), anchor, size);
                }
            }
            _ => {}
        }
    }
}

impl Builder {
    /// Opens a collection: counted, and refused past the nesting limit.
    fn enter(&mut self, at: (u32, u32)) -> bool {
        if self.stack.len() >= self.max_depth {
            self.error = Some(YamlError {
                line: at.0,
                column: at.1,
                message: format!("nesting deeper than {} levels; the limit is yaml_depth", self.max_depth),
            });
            return false;
        }
        self.count(1, at)
    }
}

fn resolve_plain(text: String) -> Value {
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
        assert_eq!(super::parse("f", &text).unwrap().value, v);
    }
}
