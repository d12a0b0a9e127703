//! The component an operation runs: inline, or found by its reference (`hubRef`, `urlRef`, `pathRef`, or `dagRef`
//! in a DAG), with the operation's own component fields and root shortcuts patched onto it.

use serde_json::{Map, Value};

use crate::compile::{join, At, Compiler, Inherited};
use crate::patch::{by_name, merge, patch_run, Strategy};
use crate::schema;

/// A component with where it was written.
#[derive(Clone)]
pub(crate) struct Component {
    pub value: Value,
    pub doc: usize,
    pub path: String,
}

impl Compiler<'_> {
    /// The component an operation runs: inline, `hubRef`, `urlRef`, `pathRef` or (in a DAG) `dagRef`. `taken` is
    /// the op's inline `component` when the caller has already moved it out of `op`.
    pub(crate) fn component_of(
        &mut self,
        op: &Value,
        at: At,
        inh: &Inherited,
        taken: Option<Value>,
    ) -> Option<Component> {
        let taken = taken.filter(|v| !v.is_null());
        let refs: Vec<&str> = schema::REFERENCES
            .iter()
            .copied()
            .filter(|k| op.get(*k).is_some_and(|v| !v.is_null()) || (*k == "component" && taken.is_some()))
            .collect();
        let inline: Map<String, Value> = schema::COMPONENT
            .iter()
            .filter_map(|k| op.get(*k).filter(|v| !v.is_null()).map(|v| (k.to_string(), v.clone())))
            .collect();
        let strategy =
            Strategy::parse(op.get("patchStrategy").and_then(Value::as_str)).unwrap_or(Strategy::PostMerge);
        if inline.is_empty() {
            let mut comp = self.referenced(op, at, inh, &refs, taken)?;
            crate::shortcuts::check(self, op, at);
            crate::shortcuts::patch_from_root(&mut comp.value, op, strategy);
            return Some(comp);
        }
        if refs.is_empty() {
            // The operation's root is its component (Polyaxon 2.x): its fields and the root shortcuts.
            let mut comp = inline;
            comp.insert("kind".into(), Value::from("component"));
            for k in crate::shortcuts::SHORTCUTS {
                if let Some(v) = op.get(*k).filter(|v| !v.is_null()) {
                    comp.insert(k.to_string(), v.clone());
                }
            }
            return Some(Component { value: Value::Object(comp), doc: at.doc, path: at.path.to_string() });
        }
        // A reference with component fields beside it: they patch what it refers to.
        let mut comp = self.referenced(op, at, inh, &refs, taken)?;
        crate::shortcuts::check(self, op, at);
        for (k, v) in inline {
            let base = comp.value.get(&k).cloned().unwrap_or(Value::Null);
            comp.value[&k] = match k.as_str() {
                "run" if base.is_object() => patch_run(base, v, strategy),
                "inputs" | "outputs" => by_name(base, v),
                _ => merge(base, v, strategy),
            };
        }
        crate::shortcuts::patch_from_root(&mut comp.value, op, strategy);
        Some(comp)
    }

    /// The component an operation refers to (`component`, `hubRef`, `urlRef`, `pathRef`, `dagRef`).
    fn referenced(
        &mut self,
        op: &Value,
        at: At,
        inh: &Inherited,
        refs: &[&str],
        taken: Option<Value>,
    ) -> Option<Component> {
        // As Polyaxon: at most one of the references; an inline `component` beside one is what runs.
        let others: Vec<&str> = refs.iter().copied().filter(|r| *r != "component").collect();
        if others.len() > 1 {
            self.error(
                at,
                "invalid_reference",
                format!(
                    "an operation takes at most one of hubRef, dagRef, urlRef, pathRef; found {}",
                    others.join(", ")
                ),
            );
            return None;
        }
        if refs.contains(&"component") {
            for other in &others {
                let p = join(at.path, other);
                let message = format!(
                    "`{other}` is not used: the operation's inline `component` runs (as in Polyaxon)"
                );
                self.warn(At { doc: at.doc, path: &p }, "not_honoured", message);
            }
        }
        let which = if refs.contains(&"component") { Some("component") } else { others.first().copied() };
        let Some(which) = which else {
            self.error(
                at,
                "missing_component",
                "the operation has no component (`component`, `hubRef`, `urlRef`, `pathRef` or `dagRef`)",
            );
            return None;
        };
        let path = join(at.path, which);
        let here = At { doc: at.doc, path: &path };
        if which == "component" {
            let value = taken.unwrap_or_else(|| op["component"].clone());
            return Some(Component { value, doc: at.doc, path });
        }
        let Some(name) = op[which].as_str().map(str::to_string) else {
            self.error(here, "invalid_reference", format!("`{which}` must be a string"));
            return None;
        };
        if which == "dagRef" {
            return match inh
                .dag_components
                .iter()
                .find(|(c, _, _)| c.get("name").and_then(Value::as_str) == Some(name.as_str()))
            {
                Some((c, d, p)) => Some(Component { value: c.clone(), doc: *d, path: p.clone() }),
                None => {
                    self.error(
                        here,
                        "missing_component",
                        format!("the pipeline has no component named `{name}` (dagRef)"),
                    );
                    None
                }
            };
        }
        let from = self.docs[at.doc].file.clone();
        let src = match which {
            "hubRef" => self.opts.refs.hub(&name),
            "urlRef" => self.opts.refs.url(&name),
            _ => self.opts.refs.path(&from, &name),
        };
        let Some(src) = src else {
            self.error(here, "unresolved_reference", format!("cannot resolve {which} `{name}`"));
            return None;
        };
        let d = self.load(&src, Some(here))?;
        let v = std::mem::take(&mut self.docs[d].value); // read once, here
        match v.get("kind").and_then(Value::as_str) {
            Some("component") | None => Some(Component { value: v, doc: d, path: String::new() }),
            Some(k) => {
                self.error(
                    here,
                    "invalid_reference",
                    format!("{which} `{name}` is a `{k}`, not a component"),
                );
                None
            }
        }
    }
}
