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
  local sub=$1; shift
  if [ "$toolchain" = debian ]; then
    env PATH=/usr/bin:$PATH RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$wasm_target" \
      /usr/bin/cargo "$sub" --lib --target wasm32-unknown-unknown --profile wasm-release -Zbuild-std=std,panic_abort "$@"
  else
    cargo "$sub" --lib --target wasm32-unknown-unknown --profile wasm-release "$@"
  fi
}
# Both builds take `--cfg erase_components` from .cargo/config.toml, as the server does.
case " ${RUSTFLAGS:-} " in *" --cfg erase_components "*|"  ") ;; *) echo "RUSTFLAGS replaces .cargo/config.toml's flags: add --cfg erase_components" >&2; exit 1 ;; esac
wasm_target="$CARGO_TARGET_DIR"
[ "$toolchain" = debian ] && wasm_target="$MYELIN_CACHE/target-wasm-debian"
# The app's bundle is linked with its relocations (`cargo rustc`: for this crate's link only, so the dependencies
# stay shared with the editor's build): scripts/wasm-split needs them to cut it at its lazy routes.
wasm_build rustc -p frontend -- -Clink-args=--emit-relocs
wasm_build build -p editor-core --features wasm

opt() {
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue "$1" -o "$1"
}
rm -rf "$pkg.tmp" && mkdir -p "$pkg.tmp/raw" "$pkg.tmp/app"
# The app's bundle, split at its lazy routes (app/src/pages/lazy.rs) into the main module (every page), one
# chunk per route and chunks the routes share, with the loader `__wasm_split.*.js` and the manifest the server
# reads to preload a page's chunks. They name each other relatively, so they live in one folder named by the
# hash of its content (`pkg/<hash>/`).
app="$pkg.tmp/app"
myelin-wasm-split "$wasm_target/wasm32-unknown-unknown/wasm-release/frontend.wasm" "$app" myelin > "$app.chunks"
wasm-bindgen --target web --no-typescript --keep-lld-exports --no-demangle --out-dir "$app" --out-name myelin \
  "$app/myelin_split.wasm"
rm "$app/myelin_split.wasm"
opt "$app/myelin_bg.wasm"
while read -r chunk; do opt "$chunk"; done < "$app.chunks"
rm "$app.chunks"
# The editor's compiler: one module of its own.
wasm-bindgen --target web --no-typescript --out-dir "$pkg.tmp/raw" --out-name editor_core \
  "$wasm_target/wasm32-unknown-unknown/wasm-release/editor_core.wasm"
opt "$pkg.tmp/raw/editor_core_bg.wasm"
cp style/main.css "$pkg.tmp/raw/myelin.css"
# The editor: CodeMirror 6 bundled with esbuild (served by Myelin itself: no CDN, works air-gapped).
editor/node_modules/.bin/esbuild editor/src/main.js --bundle --minify --format=iife --target=es2020 \
  --log-level=error --outfile="$pkg.tmp/raw/editor.js"
# The PDF preview: pdf.js, loaded only by the sandboxed page a PDF is shown in (backend/src/artifacts/pdf_view.rs).
editor/node_modules/.bin/esbuild editor/src/pdfview.js --bundle --minify --format=iife --target=es2020 \
  --log-level=error --outfile="$pkg.tmp/raw/pdfview.js"

# Content-hashed names, served `immutable` (app/src/assets.rs); pkg/assets.json maps plain names to them. A
# wasm-bindgen pair (glue + wasm) shares one hash: Leptos asks for `<name>.js` and `<name>_bg.wasm`.
short_hash() { cat "$@" | sha256sum | cut -c1-16; }
declare -A names
app_hash=$(cd "$app" && short_hash $(ls | sort))
for f in $(ls "$app"); do names[$f]="$app_hash/$f"; done
mv "$app" "$pkg.tmp/$app_hash"
for out in editor_core; do
  h=$(short_hash "$pkg.tmp/raw/$out.js" "$pkg.tmp/raw/${out}_bg.wasm")
  names[$out.js]="$out.$h.js"
  names[${out}_bg.wasm]="$out.${h}_bg.wasm"
done
for f in myelin.css editor.js pdfview.js; do
  names[$f]="${f%.*}.$(short_hash "$pkg.tmp/raw/$f").${f##*.}"
done
manifest="{"
for f in "${!names[@]}"; do
  [ -e "$pkg.tmp/raw/$f" ] && mv "$pkg.tmp/raw/$f" "$pkg.tmp/${names[$f]}"
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

# What a page downloads (gzipped): every page the main module, its glue and the chunk loader, plus its route's
# chunks (the manifest); the editor page adds CodeMirror and the compiler. Issue 15's budget: 600 KB for the
# projects, runs and run pages (and the overview: browse_pages); the other pages are held to 700 KB.
python3 - "$pkg/$app_hash" "$(( $(stat -c %s "$pkg/${names[editor.js]}.gz") + $(stat -c %s "$pkg/${names[editor_core.js]}.gz") + $(stat -c %s "$pkg/${names[editor_core_bg.wasm]}.gz") ))" <<'PY'
import json, os, sys
folder, editor = sys.argv[1], int(sys.argv[2])
gz = lambda f: os.path.getsize(os.path.join(folder, f + ".gz"))
every = gz("myelin.js") + gz("myelin_bg.wasm") + gz("__wasm_split.______________________.js")
manifest = json.load(open(os.path.join(folder, "__wasm_split_manifest.json")))
over = []
print(f"site built: every page {every} bytes gzipped (main wasm {os.path.getsize(os.path.join(folder, 'myelin_bg.wasm'))} raw); with its route:")
for split, chunks in sorted(manifest.items()):
    # `__run_view_<hash>` (a route of its own), `browse_pages_<hash>` (routes sharing one split point)
    name = split.strip("_")
    route = name.split("_view")[0] if "_view" in name else name.rsplit("_", 1)[0]
    total = every + sum(gz(c + ".wasm") for c in chunks)
    budget = 600_000 if route in ("browse_pages", "runs", "run") else 700_000
    extra = f" + the editor's parts {editor} = {total + editor}" if route == "editor" else ""
    print(f"  {route:12} {total:>8} in {len(chunks) + 3} files{extra} (budget {budget})")
    if total > budget:
        over.append(f"{route}: {total} > {budget}")
if over:
    sys.exit("build.sh: over budget (" + "; ".join(over) + "): did a page start using the compiler, layout or"
             " editing code (they belong in editor-core), or a route stop being lazy (app/src/pages/lazy.rs)?")
PY

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
