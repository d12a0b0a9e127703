//! `myelin-wasm-split INPUT.wasm OUT_DIR NAME`: splits INPUT (linked with `--emit-relocs`) at its `#[lazy]`
//! split points. Writes `OUT_DIR/NAME_split.wasm` (the main module, for wasm-bindgen), one wasm per chunk, the
//! loader `__wasm_split.______________________.js` and `__wasm_split_manifest.json` (split point → the chunks
//! it needs, which the server preloads). Prints the chunk paths, one per line.

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out_dir, name] = args.as_slice() else {
        eprintln!("usage: myelin-wasm-split INPUT.wasm OUT_DIR NAME");
        std::process::exit(2);
    };
    if let Err(e) = split(input, &PathBuf::from(out_dir), name) {
        eprintln!("myelin-wasm-split: {e}");
        std::process::exit(1);
    }
}

fn split(input: &str, out_dir: &std::path::Path, name: &str) -> Result<(), String> {
    let wasm = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
    let main_out = out_dir.join(format!("{name}_split.wasm"));
    let main_module = format!("./{name}.js");
    let mut opts = wasm_split_cli_support::Options::new(&wasm);
    opts.output_dir = out_dir;
    opts.main_out_path = &main_out;
    opts.main_module = &main_module;
    opts.link_name = "./__wasm_split.______________________.js";
    let split = wasm_split_cli_support::transform(opts).map_err(|e| format!("{e:?}"))?;
    let manifest = serde_json::to_string_pretty(&split.prefetch_map).map_err(|e| e.to_string())?;
    std::fs::write(out_dir.join("__wasm_split_manifest.json"), manifest).map_err(|e| e.to_string())?;
    for path in split.split_modules {
        println!("{}", path.display());
    }
    Ok(())
}
