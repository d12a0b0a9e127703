//! `myelin --version` names the commit it was built from (`unknown` outside a git checkout).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    // Where scripts/build.sh puts the site, for `assets.rs` to embed (or, in debug builds, read).
    let site = std::env::var("MYELIN_SITE_DIR").ok().unwrap_or_else(|| {
        let target =
            std::env::var("CARGO_TARGET_DIR").ok().map(std::path::PathBuf::from).unwrap_or_else(|| {
                let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
                // <target>/<profile>/build/app-<hash>/out
                out.ancestors().nth(4).expect("OUT_DIR is inside the target dir").to_path_buf()
            });
        target.join("site").display().to_string()
    });
    println!("cargo:rustc-env=MYELIN_SITE_DIR={site}");
    println!("cargo:rerun-if-env-changed=MYELIN_SITE_DIR");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=MYELIN_COMMIT={commit}");
    // Rebuilt when the checked-out commit moves: HEAD, and the branch file it points to.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        let dir = std::path::Path::new(&dir);
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            let file = dir.join(&branch);
            if file.exists() {
                println!("cargo:rerun-if-changed={}", file.display());
            }
        }
    }
}
