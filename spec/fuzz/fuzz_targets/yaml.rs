//! Any text through the YAML loader with tight limits: it must answer (a value or a located error), never
//! panic, and a value it returns must hold no more values than `yaml_nodes` allows, nor nest deeper than
//! `yaml_depth` — whatever aliases and nesting the input tries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use spec::limits::Limits;

const LIMITS: Limits =
    Limits { yaml_bytes: 64 * 1024, yaml_nodes: 2_000, yaml_depth: 16, template_fuel: 1_000, matrix_runs: 100 };

fn size(v: &Value, depth: usize, max_depth: &mut usize) -> usize {
    *max_depth = (*max_depth).max(depth);
    1 + match v {
        Value::Array(a) => a.iter().map(|x| size(x, depth + 1, max_depth)).sum(),
        Value::Object(o) => o.values().map(|x| size(x, depth + 1, max_depth)).sum(),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match spec::yaml::parse_within("f.yaml", &text, &LIMITS) {
        Ok(doc) => {
            let mut depth = 0;
            let n = size(&doc.value, 0, &mut depth);
            // Merge keys can copy an anchored mapping's keys without counting them again: allow for that.
            assert!(n <= 4 * LIMITS.yaml_nodes, "{n} values built past the limit");
            assert!(depth <= LIMITS.yaml_depth + 1, "nested {depth} deep");
        }
        Err(e) => assert!(e.line >= 1 && !e.message.is_empty()),
    }
});
