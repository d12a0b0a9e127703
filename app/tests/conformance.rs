//! The conformance kit (`../shared/conformance`: Polyaxon 2.18's own compiler output) run against the
//! `myelin compile` binary: every case must match.

use std::path::PathBuf;
use std::process::Command;

fn kit() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let candidates = [
        std::env::var_os("MYELIN_CONFORMANCE_DIR").map(PathBuf::from),
        Some(root.join("shared/conformance")),
    ];
    candidates.into_iter().flatten().find(|p| p.join("conformance.py").exists())
}

#[test]
fn every_public_conformance_case_matches_polyaxon() {
    let Some(dir) = kit() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but the conformance kit (../shared/conformance) is missing"
        );
        eprintln!("skipping: no conformance kit next to the repository");
        return;
    };
    let results = std::env::temp_dir().join(format!("myelin-conformance-{}", std::process::id()));
    let out = Command::new("python3")
        .arg(dir.join("conformance.py"))
        .arg("--myelin")
        .arg(env!("CARGO_BIN_EXE_myelin"))
        .arg("--results")
        .arg(&results)
        .arg("--verbose")
        .current_dir(&dir)
        .output()
        .expect("python3 runs the kit");
    let text = String::from_utf8_lossy(&out.stdout);
    let score = text.lines().rev().find_map(|l| l.strip_prefix("conformance: ")).expect("a score line");
    let (passed, total) =
        score.split_once(" passed").map(|(s, _)| s).and_then(|s| s.split_once('/')).expect("P/T");
    let failures: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(passed, total, "conformance {score}\n{}", failures.join("\n"));
    std::fs::remove_dir_all(&results).ok();
}
