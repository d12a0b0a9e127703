#!/usr/bin/env bash
# What the polyaxonfile compiler adds to a browser bundle: a wasm module exporting `compile(text) -> json`,
# built like the site (wasm-release, wasm-bindgen, wasm-opt -Oz), against an empty module built the same way.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/env.sh
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
size() {  # name, lib.rs body
  mkdir -p "$work/$1/src"
  cat > "$work/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2021"
[lib]
crate-type = ["cdylib"]
[dependencies]
wasm-bindgen = "=$(wasm_bindgen_version)"
spec = { path = "$repo/spec" }
serde_json = "1"
[profile.release]
opt-level = "z"
lto = true
codegen-units = 1
panic = "abort"
[workspace]
TOML
  printf '%s\n' "$2" > "$work/$1/src/lib.rs"
  (cd "$work/$1" && CARGO_TARGET_DIR="$MYELIN_CACHE/target-wasm-probe" cargo build -q --release --target wasm32-unknown-unknown)
  wasm-bindgen --target web --out-dir "$work/$1/pkg" "$MYELIN_CACHE/target-wasm-probe/wasm32-unknown-unknown/release/$1.wasm"
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
    --enable-reference-types --enable-multivalue "$work/$1/pkg/$1_bg.wasm" -o "$work/$1/opt.wasm"
  echo "$(stat -c %s "$work/$1/opt.wasm") $(gzip -9 -c "$work/$1/opt.wasm" | wc -c)"
}
empty=$(size probe_empty '#[wasm_bindgen::prelude::wasm_bindgen] pub fn ping() -> u32 { 1 }')
full=$(size probe_spec '#[wasm_bindgen::prelude::wasm_bindgen]
pub fn compile(text: &str) -> String {
    let out = spec::compile(&spec::Options { files: vec![spec::Source { name: "f.yaml".into(), text: text.into() }], params: vec![], catalog: Default::default(), refs: &spec::NoRefs, run_uuid: None });
    serde_json::to_string(&out).unwrap()
}')
read -r e_raw e_gz <<<"$empty"; read -r f_raw f_gz <<<"$full"
echo "spec in wasm: $((f_raw - e_raw)) bytes raw, $((f_gz - e_gz)) bytes gzipped (module: $f_raw raw / $f_gz gz)"
