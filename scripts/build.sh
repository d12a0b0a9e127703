#!/usr/bin/env bash
# Builds the site (the hydration bundle: wasm + JS glue + CSS, the editor bundle) under $CARGO_TARGET_DIR/site,
# then the server binary. Usage: scripts/build.sh [dev|release]  (release: optimised, stripped, site embedded).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
mode="${1:-dev}"
site="$CARGO_TARGET_DIR/site"
pkg="$site/pkg"

want=$(wasm_bindgen_version)
have=$(wasm-bindgen --version | awk '{print $2}')
[ "$have" = "$want" ] || { echo "wasm-bindgen CLI $have != crate $want: run scripts/setup" >&2; exit 1; }

toolchain=$(cat "$MYELIN_TOOLS/wasm-toolchain" 2>/dev/null || echo rustup)
# Two wasm modules: the app's hydration bundle (every page) and the editor's compiler (the editor page only).
# Two cargo runs: in one, editor-core's `wasm` exports would be unified into the app's bundle too.
wasm_build() {
  if [ "$toolchain" = debian ]; then
    env PATH=/usr/bin:$PATH RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$wasm_target" \
      /usr/bin/cargo build "$@" --lib --target wasm32-unknown-unknown --profile wasm-release -Zbuild-std=std,panic_abort
  else
    cargo build "$@" --lib --target wasm32-unknown-unknown --profile wasm-release
  fi
}
# Both builds take `--cfg erase_components` from .cargo/config.toml, as the server does.
case " ${RUSTFLAGS:-} " in *" --cfg erase_components "*|"  ") ;; *) echo "RUSTFLAGS replaces .cargo/config.toml's flags: add --cfg erase_components" >&2; exit 1 ;; esac
wasm_target="$CARGO_TARGET_DIR"
[ "$toolchain" = debian ] && wasm_target="$MYELIN_CACHE/target-wasm-debian"
wasm_build -p frontend
wasm_build -p editor-core --features wasm

rm -rf "$pkg.tmp" && mkdir -p "$pkg.tmp/raw"
for m in frontend:myelin editor_core:editor_core; do
  crate=${m%%:*} out=${m##*:}
  wasm-bindgen --target web --no-typescript --out-dir "$pkg.tmp/raw" --out-name "$out" \
    "$wasm_target/wasm32-unknown-unknown/wasm-release/$crate.wasm"
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$pkg.tmp/raw/${out}_bg.wasm" -o "$pkg.tmp/raw/${out}_bg.wasm"
done
cp style/main.css "$pkg.tmp/raw/myelin.css"
# The editor: CodeMirror 6 bundled with esbuild (served by Myelin itself: no CDN, works air-gapped).
editor/node_modules/.bin/esbuild editor/src/main.js --bundle --minify --format=iife --target=es2020 \
  --log-level=error --outfile="$pkg.tmp/raw/editor.js"

# Content-hashed names, served `immutable` (app/src/assets.rs); pkg/assets.json maps plain names to them. A
# wasm-bindgen pair (glue + wasm) shares one hash: Leptos asks for `<name>.js` and `<name>_bg.wasm`.
short_hash() { cat "$@" | sha256sum | cut -c1-16; }
declare -A names
for out in myelin editor_core; do
  h=$(short_hash "$pkg.tmp/raw/$out.js" "$pkg.tmp/raw/${out}_bg.wasm")
  names[$out.js]="$out.$h.js"
  names[${out}_bg.wasm]="$out.${h}_bg.wasm"
done
for f in myelin.css editor.js; do
  names[$f]="${f%.*}.$(short_hash "$pkg.tmp/raw/$f").${f##*.}"
done
manifest="{"
for f in "${!names[@]}"; do
  mv "$pkg.tmp/raw/$f" "$pkg.tmp/${names[$f]}"
  manifest+="\"$f\": \"${names[$f]}\","
done
echo "${manifest%,}}" > "$pkg.tmp/assets.json"
leftover=$(ls "$pkg.tmp/raw")
[ -z "$leftover" ] || { echo "build.sh: unexpected build outputs (name them in assets.json): $leftover" >&2; exit 1; }
rmdir "$pkg.tmp/raw"
# Stored gzipped too (-9, once, here): the server sends these to browsers that take gzip.
for f in "${names[@]}"; do gzip -9 -n -k "$pkg.tmp/$f"; done
rm -rf "$pkg" && mv "$pkg.tmp" "$pkg"
cp -r public/. "$site/"

# What a page downloads. Every page: the hydration glue + wasm; the editor page adds CodeMirror and the compiler.
gz() { stat -c %s "$pkg/${names[$1]}.gz"; }
page=$(( $(gz myelin.js) + $(gz myelin_bg.wasm) ))
editor=$(( $(gz editor.js) + $(gz editor_core.js) + $(gz editor_core_bg.wasm) ))
echo "site built in $site: every page $page bytes gzipped (wasm $(stat -c %s "$pkg/${names[myelin_bg.wasm]}") raw);" \
  "the editor adds $editor bytes gzipped"
# A regression guard at today's size (788 KB with the compare page) plus 4%; issue 15's target is 600 KB (route-level splitting is next).
budget=880000
[ "$page" -le "$budget" ] || {
  echo "build.sh: the bundle every page downloads is $page bytes gzipped, over its $budget budget:" \
    "did a page start using the compiler, layout or editing code? (they belong in editor-core)" >&2
  exit 1
}

# The server last: an optimised build embeds the site just built (app/src/assets.rs); a debug build reads it
# from $site at run time. scripts/test sets MYELIN_SERVER_BUILT: `cargo test` has just built target/debug/myelin
# (with the features the tests unify), and a second build with other features would only recompile it.
if [ -z "${MYELIN_SERVER_BUILT:-}" ]; then
  if [ "$mode" = release ]; then
    cargo build -p app --bin myelin --release   # app/build.rs points the embed at $CARGO_TARGET_DIR/site
    bin="$CARGO_TARGET_DIR/release/myelin"
    strip "$bin"
    echo "release binary $bin: $(stat -c %s "$bin") bytes, site included"
  else
    cargo build -p app --bin myelin
  fi
fi
