//! Cases outside the public conformance kit, each with Polyaxon 2.18's verdict from its oracle
//! (`tests/oracle/NAME.oracle.json`, made by `../shared/conformance/oracle/px_compile.py NAME.yaml --no-k8s`):
//! Myelin must find the same files valid and invalid.

use std::path::{Path, PathBuf};

use spec::{compile, Options, Refs, Source};

struct Dir(PathBuf);

impl Refs for Dir {
    fn hub(&self, _: &str) -> Option<Source> {
        None
    }
    fn url(&self, _: &str) -> Option<Source> {
        None
    }
    fn path(&self, _from: &str, path: &str) -> Option<Source> {
        let text = std::fs::read_to_string(self.0.join(path)).ok()?;
        Some(Source { name: path.into(), text })
    }
}

#[test]
fn myelin_finds_valid_what_polyaxon_finds_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle");
    let refs = Dir(dir.clone());
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".oracle.json"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 17, "the cases are there: {cases:?}");
    let mut wrong = Vec::new();
    for oracle in cases {
        let verdict: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&oracle).unwrap()).unwrap();
        let yaml = PathBuf::from(oracle.to_string_lossy().replace(".oracle.json", ".yaml"));
        let name = yaml.file_name().unwrap().to_string_lossy().to_string();
        let c = compile(&Options {
            limits: Default::default(),
            policy: None,
            files: vec![Source { name: name.clone(), text: std::fs::read_to_string(&yaml).unwrap() }],
            params: Default::default(),
            catalog: Default::default(),
            refs: &refs,
            run_uuid: None,
            execution: Default::default(),
        });
        if Some(c.valid) != verdict["valid"].as_bool() {
            wrong.push(format!("{name}: Polyaxon {} / Myelin {} {:?}", verdict["valid"], c.valid, c.errors));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
