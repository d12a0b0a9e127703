//! Inputs `scripts/fuzz` once crashed the compiler with: each must now compile to an answer.

use spec::{compile, NoRefs, Options, Source};

#[test]
fn past_fuzz_crashes_get_an_answer() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let (main, overlay) = text.split_once("\n---8<---\n").unwrap_or((&text, ""));
        let mut files = vec![Source { name: "f.yaml".into(), text: main.into() }];
        if !overlay.is_empty() {
            files.push(Source { name: "o.yaml".into(), text: overlay.into() });
        }
        let out = compile(&Options {
            limits: Default::default(),
            policy: None,
            files,
            params: vec![("epochs".into(), serde_json::json!("3")), ("lr".into(), serde_json::json!("x"))],
            catalog: Default::default(),
            refs: &NoRefs,
            run_uuid: None,
            execution: Default::default(),
        });
        assert!(out.valid || !out.errors.is_empty());
        n += 1;
    }
    assert!(n >= 2);
}
