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
if [ "$toolchain" = debian ]; then
  wasm_target="$MYELIN_CACHE/target-wasm-debian"
  env PATH=/usr/bin:$PATH RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$wasm_target" \
    /usr/bin/cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release -Zbuild-std=std,panic_abort
else
  wasm_target="$CARGO_TARGET_DIR"
  cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
fi

rm -rf "$pkg.tmp" && mkdir -p "$pkg.tmp"
wasm-bindgen --target web --out-dir "$pkg.tmp" --out-name myelin \
  "$wasm_target/wasm32-unknown-unknown/wasm-release/frontend.wasm"
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$pkg.tmp/myelin_bg.wasm" -o "$pkg.tmp/myelin_bg.wasm"
cp "$pkg.tmp/myelin_bg.wasm" "$pkg.tmp/myelin.wasm"   # leptos asks for either name (toolchain note, pitfall 9)
cp style/main.css "$pkg.tmp/myelin.css"
# The editor: CodeMirror 6 bundled with esbuild (served by Myelin itself: no CDN, works air-gapped).
editor/node_modules/.bin/esbuild editor/src/main.js --bundle --minify --format=iife --target=es2020 \
  --log-level=warning --outfile="$pkg.tmp/editor.js"
rm -rf "$pkg" && mv "$pkg.tmp" "$pkg"
cp -r public/. "$site/"
raw=$(stat -c %s "$pkg/myelin_bg.wasm"); gz=$(gzip -9 -c "$pkg/myelin_bg.wasm" | wc -c)
ed=$(stat -c %s "$pkg/editor.js"); edgz=$(gzip -9 -c "$pkg/editor.js" | wc -c)
echo "site built in $site: wasm ${raw} bytes, ${gz} gzipped; editor.js ${ed} bytes, ${edgz} gzipped"

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
