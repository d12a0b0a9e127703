//! Any text, as a polyaxonfile with an overlay and params: the compiler must answer, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spec::{compile, NoRefs, Options, Source};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
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
        run_uuid: Some("0123456789abcdef0123456789abcdef".into()), execution: Default::default()
    });
    // Invalid results always say why.
    assert!(out.valid || !out.errors.is_empty());
});
