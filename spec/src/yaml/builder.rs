//! libyaml's events built into a JSON value, within the limits, noting positions when asked.

use std::collections::HashMap;

use libyaml_safer::{Event, EventData, ScalarStyle};
use serde_json::{Map, Value};

use super::plain::resolve_plain;
use super::YamlError;

enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: Option<String>,
        path: String,
        first_node: usize,
    },
    Map {
        /// Its entries in order, made a map once complete (sized once, not grown key by key).
        entries: Vec<(String, Value)>,
        key: Option<String>,
        anchor: Option<String>,
        path: String,
        merges: Vec<Value>,
        first_node: usize,
    },
}

#[derive(Default)]
pub(super) struct Builder {
    stack: Vec<Frame>,
    pub(super) root: Option<Value>,
    /// Anchored values and how many values each holds.
    anchors: HashMap<String, (Value, usize)>,
    /// Whether to name paths and note their positions (`Doc::locate`).
    track: bool,
    pub(super) positions: HashMap<String, (u32, u32)>,
    pub(super) error: Option<YamlError>,
    /// Values built so far, aliases counted at their full size.
    nodes: usize,
    max_nodes: usize,
    max_depth: usize,
}

impl Builder {
    /// A builder that refuses more than `max_nodes` values or nesting deeper than `max_depth`; `track` names
    /// every node's path and notes where it starts (`positions`).
    pub(super) fn new(max_nodes: usize, max_depth: usize, track: bool) -> Self {
        Self { max_nodes, max_depth, track, ..Self::default() }
    }

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

    fn push_value(&mut self, v: Value, anchor: Option<String>, size: usize) {
        if let Some(name) = anchor {
            self.anchors.insert(name, (v.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.root = Some(v),
            Some(Frame::Seq { items, .. }) => items.push(v),
            Some(Frame::Map { entries, key, merges, .. }) => match key.take() {
                None => *key = Some(scalar_key(v)),
                Some(k) if k == "<<" => merges.push(v),
                Some(k) => {
                    entries.push((k, v));
                }
            },
        }
    }

    /// Builds one event into the value.
    pub(super) fn event(&mut self, ev: Event) {
        if self.error.is_some() {
            return; // refused: build nothing more
        }
        let mark = ev.start_mark;
        let at = (mark.line as u32 + 1, mark.column as u32 + 1);
        match ev.data {
            EventData::Scalar { value: text, style, anchor, tag, .. } => {
                if !self.count(1, at) {
                    return;
                }
                let v = if style == ScalarStyle::Plain && tag.is_none() {
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
                    let key = scalar_key(v.clone());
                    let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                    self.positions.insert(child, at);
                } else {
                    self.positions.entry(path).or_insert(at);
                }
                self.push_value(v, anchor, 1);
            }
            EventData::Alias { anchor } => {
                let Some((v, size)) = self.anchors.get(&anchor).map(|(v, n)| (v, *n)) else {
                    // PyYAML's composer refuses it too.
                    self.error = Some(YamlError {
                        line: at.0,
                        column: at.1,
                        message: format!("invalid YAML: found undefined alias `{anchor}`"),
                    });
                    return;
                };
                let v =
                    if self.nodes.saturating_add(size) <= self.max_nodes { v.clone() } else { Value::Null };
                if self.count(size, at) {
                    self.push_value(v, None, size);
                }
            }
            EventData::SequenceStart { anchor, .. } => {
                if !self.enter(at) {
                    return;
                }
                let (path, _) = self.next_path();
                if self.track {
                    self.positions.entry(path.clone()).or_insert(at);
                }
                self.stack.push(Frame::Seq { items: Vec::new(), anchor, path, first_node: self.nodes });
            }
            EventData::MappingStart { anchor, .. } => {
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
                    entries: Vec::new(),
                    key: None,
                    anchor,
                    path,
                    merges: Vec::new(),
                    first_node,
                });
            }
            EventData::SequenceEnd => {
                if let Some(Frame::Seq { items, anchor, first_node, .. }) = self.stack.pop() {
                    let size = self.nodes - first_node + 1;
                    self.push_value(Value::Array(items), anchor, size);
                }
            }
            EventData::MappingEnd => {
                if let Some(Frame::Map { entries, anchor, merges, first_node, .. }) = self.stack.pop() {
                    // A key given twice keeps its first place and its last value, as a Python dict does.
                    let mut map: Map<String, Value> = entries.into_iter().collect();
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

fn scalar_key(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Null => "null".into(),
        Value::Bool(b) => if b { "True" } else { "False" }.into(),
        other => other.to_string(),
    }
}
