//! What the integration tests share: compiling one file with the default options, and reading its diagnostics.
#![allow(dead_code)] // each test file uses its own part

use spec::{compile, Execution, NoRefs, Options, Source};

/// Compiles `yaml` (as `f.yaml`) with the default options and a fixed run uuid.
pub fn run(yaml: &str) -> spec::Compiled {
    run_with(yaml, Execution::default())
}

/// As [`run`], executed as `execution` says (the op, its upstream results, its run context).
pub fn run_with(yaml: &str, execution: Execution) -> spec::Compiled {
    compile_with(yaml, execution, Default::default())
}

/// As [`run`], against `catalog` (its connections).
pub fn run_in(yaml: &str, catalog: spec::catalog::Catalog) -> spec::Compiled {
    compile_with(yaml, Execution::default(), catalog)
}

fn compile_with(yaml: &str, execution: Execution, catalog: spec::catalog::Catalog) -> spec::Compiled {
    compile(&Options {
        limits: Default::default(),
        policy: None,
        files: vec![Source { name: "f.yaml".into(), text: yaml.into() }],
        params: Default::default(),
        catalog,
        refs: &NoRefs,
        run_uuid: Some("0123456789abcdef0123456789abcdef".into()),
        execution,
    })
}

/// The errors as `(code, path)`.
pub fn errors(c: &spec::Compiled) -> Vec<(&str, &str)> {
    c.errors.iter().map(|e| (e.code, e.path.as_str())).collect()
}

/// The paths of the warnings with `code`.
pub fn warned(c: &spec::Compiled, code: &str) -> Vec<String> {
    c.warnings.iter().filter(|w| w.code == code).map(|w| w.path.clone()).collect()
}
