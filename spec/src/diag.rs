//! Diagnostics: every error and warning names a code, a message a user can act on, the YAML path and the
//! line:column in the file it came from. This is what the editor underlines.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Dotted YAML path, e.g. `run.container.image` or `run.init[0].git`.
    pub path: String,
    /// 1-based line and column; 0 when the problem has no single place (e.g. a missing section).
    pub line: u32,
    pub column: u32,
    pub code: &'static str,
    pub message: String,
    /// The file the position refers to.
    pub file: String,
    #[serde(skip)]
    pub severity: Severity,
}

/// Collects diagnostics while compiling.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Adds `item` unless the same diagnostic is already there (a component shared by many ops says it once).
    pub fn add(&mut self, item: Diagnostic) {
        if !self.items.contains(&item) {
            self.items.push(item);
        }
    }
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.severity == Severity::Error)
    }
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.severity == Severity::Warning)
    }
}
