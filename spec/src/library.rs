//! Components saved in a project, as the compiler resolves them: `hubRef: NAME` is the newest version,
//! `hubRef: NAME:VERSION` a version by its hash (at least 6 leading hex digits). The server and the browser
//! editor resolve the same way.

use std::collections::HashMap;

use crate::compile::{Refs, Source};

/// Versions are shown by their first 12 hex digits.
pub const SHORT: usize = 12;

#[derive(Debug, Clone, Default)]
pub struct Library {
    /// name -> (version, text), newest first.
    by_name: HashMap<String, Vec<(String, String)>>,
}

impl Library {
    /// From `(name, version, text)`, newest first.
    pub fn new(items: impl IntoIterator<Item = (String, String, String)>) -> Self {
        let mut by_name: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for (name, version, text) in items {
            by_name.entry(name).or_default().push((version, text));
        }
        Self { by_name }
    }
}

impl Refs for Library {
    fn hub(&self, reference: &str) -> Option<Source> {
        let (name, version) = reference.split_once(':').unwrap_or((reference, ""));
        let versions = self.by_name.get(name)?;
        let (v, text) = versions
            .iter()
            .find(|(v, _)| version.is_empty() || (version.len() >= 6 && v.starts_with(version)))?;
        Some(Source { name: format!("{name}:{}", &v[..SHORT.min(v.len())]), text: text.clone() })
    }
    fn url(&self, _: &str) -> Option<Source> {
        None
    }
    fn path(&self, _: &str, _: &str) -> Option<Source> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_to_the_newest_or_a_given_version() {
        let lib = Library::new([
            ("greet".to_string(), "bbbbbbbbbbbbbbbb".to_string(), "new".to_string()),
            ("greet".to_string(), "aaaaaaaaaaaaaaaa".to_string(), "old".to_string()),
        ]);
        assert_eq!(lib.hub("greet").unwrap().text, "new");
        assert_eq!(lib.hub("greet:aaaaaaaa").unwrap().text, "old");
        assert!(lib.hub("greet:aaa").is_none(), "too short a prefix is ambiguous");
        assert!(lib.hub("other").is_none());
    }
}
