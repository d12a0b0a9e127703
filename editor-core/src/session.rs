//! One editor's state (the project's components and pod policy) and what it asks of the compiler.

use serde::{Deserialize, Serialize};

use crate::check::{check, Checked, Context};

/// A graph edit, as the DAG pane asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Edit {
    /// Make `upstream` an upstream of `op`, or, when it already is one, disconnect them.
    ToggleDependency {
        op: String,
        upstream: String,
    },
    RemoveOp {
        op: String,
    },
    /// A new op `name` running the component `hub_ref` (`name:version`).
    AddOp {
        name: String,
        hub_ref: String,
    },
    SetParam {
        op: String,
        name: String,
        value: String,
    },
}

/// Completion candidates, in CodeMirror's terms: `from` is a UTF-16 offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub from: usize,
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Session {
    context: Context,
}

impl Session {
    /// The project's saved components `(name, version, text)`, newest first, and its pod policy.
    pub fn set_context(&mut self, components: Vec<(String, String, String)>, policy: spec::policy::Policy) {
        self.context = Context { library: spec::library::Library::new(components), policy };
    }

    /// `params` are the values set in the params form (`(name, value)`; empty means the default).
    pub fn check(&self, text: &str, params: &[(String, String)]) -> Checked {
        check(text, &self.context, params)
    }

    /// The edited text, or why the edit is refused.
    pub fn edit(&self, text: &str, edit: &Edit) -> Result<String, Vec<String>> {
        use spec::edit as e;
        match edit {
            Edit::ToggleDependency { op, upstream } if e::depends_on(text, op, upstream) => {
                e::remove_dependency(text, op, upstream)
            }
            Edit::ToggleDependency { op, upstream } => e::add_dependency(text, op, upstream),
            Edit::RemoveOp { op } => e::remove_op(text, op),
            Edit::AddOp { name, hub_ref } => e::add_op(text, name, hub_ref),
            Edit::SetParam { op, name, value } => e::set_param(text, op, name, value),
        }
    }

    /// An op's params as shown: `(name, value)`.
    pub fn params_of(&self, text: &str, op: &str) -> Vec<(String, String)> {
        spec::edit::params_of(text, op)
            .into_iter()
            .map(|(k, v)| (k, v.get("value").map(|x| x.to_string()).unwrap_or_else(|| v.to_string())))
            .collect()
    }

    /// What to complete at `utf16` (CodeMirror's position) in `text`.
    pub fn complete(&self, text: &str, utf16: usize) -> Option<Completion> {
        let (from, options) = spec::complete::complete(text, byte_of(text, utf16))?;
        Some(Completion { from: utf16_of(text, from), options })
    }
}

/// UTF-16 offset (CodeMirror's positions) -> byte offset, and back.
fn byte_of(text: &str, utf16: usize) -> usize {
    let mut units = 0;
    for (i, c) in text.char_indices() {
        if units >= utf16 {
            return i;
        }
        units += c.len_utf16();
    }
    text.len()
}

fn utf16_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAG: &str = "kind: component\nname: p\nrun:\n  kind: dag\n  operations:\n  - name: a\n    component: {run: {kind: job, container: {image: busybox}}}\n  - name: b\n    component: {run: {kind: job, container: {image: busybox}}}\n";

    #[test]
    fn checks_the_example_clean_and_reports_errors_where_they_are() {
        let s = Session::default();
        let ok = s.check(crate::EXAMPLE, &[]);
        assert!(ok.problems.is_empty(), "{:?}", ok.problems);
        assert!(!ok.pending);
        assert!(ok.manifest.contains("kind: Job"), "{}", ok.manifest);
        assert_eq!(ok.inputs, vec![("lr".into(), "float".into(), "0.01".into(), false)]);
        let bad = s.check("kind: component\nrun:\n  kind: job\n  contaner: {}\n", &[]);
        let p = bad.problems.iter().find(|p| p.severity == "error").expect("an error");
        assert_eq!(p.line, 4, "{p:?}");
    }

    #[test]
    fn params_from_the_form_reach_the_manifest() {
        let s = Session::default();
        let c = s.check(crate::EXAMPLE, &[("lr".into(), "0.5".into())]);
        assert!(c.manifest.contains("lr=0.5"), "{}", c.manifest);
    }

    #[test]
    fn toggling_a_dependency_adds_then_removes_it() {
        let s = Session::default();
        let edit = Edit::ToggleDependency { op: "b".into(), upstream: "a".into() };
        let once = s.edit(DAG, &edit).expect("added");
        let graph = s.check(&once, &[]).graph.expect("a DAG");
        assert_eq!(graph.edges.len(), 1);
        let twice = s.edit(&once, &edit).expect("removed");
        assert_eq!(s.check(&twice, &[]).graph.expect("a DAG").edges.len(), 0);
        assert!(s.edit(DAG, &Edit::RemoveOp { op: "nope".into() }).is_err());
    }

    #[test]
    fn completion_offsets_are_utf16() {
        let s = Session::default();
        // "é" is 2 bytes and 1 UTF-16 unit: the word starts at unit 17 of the second line's text.
        let text = "# é\nkind: component\nru";
        let c = s.complete(text, text.encode_utf16().count()).expect("candidates");
        assert_eq!(c.from, text.encode_utf16().count() - 2);
        assert!(c.options.iter().any(|o| o == "run"), "{:?}", c.options);
    }
}
