//! Cache keys: what changes them, what does not, and the explanation of a miss.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use spec::cache::{expired, explain, never_hits, CacheSpec, KeyInputs, Subject};

fn compiled(params: &[(&str, Value)], image: &str) -> spec::Compiled {
    let text = format!(
        "version: 1.1\nkind: component\nname: train\ninputs:\n- {{name: lr, type: float, value: 0.1, isOptional: true}}\n- {{name: epochs, type: int, value: 3, isOptional: true}}\nrun:\n  kind: job\n  container:\n    image: {image}\n    command: [python, train.py]\n    args: ['--lr={{{{ lr }}}}', '--epochs={{{{ epochs }}}}']\n"
    );
    let out = spec::compile(&spec::Options {
        limits: Default::default(),
        policy: None,
        files: vec![spec::Source { name: "f.yaml".into(), text }],
        params: params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        catalog: Default::default(),
        refs: &spec::NoRefs,
        run_uuid: None,
        execution: Default::default(),
    });
    assert!(out.valid, "{:?}", out.errors);
    out
}

fn inputs(c: &spec::Compiled, spec: &CacheSpec, digests: &BTreeMap<String, String>) -> KeyInputs {
    let pods = spec::placement::pod_specs(&c.run.manifests);
    KeyInputs::of(
        &Subject {
            uuid: &c.run.uuid,
            kind: c.run.kind.map(|k| k.as_str()).unwrap_or_default(),
            params: &c.run.params,
            pods,
            connections: vec![],
            upstream: BTreeMap::new(),
            digests,
        },
        spec,
    )
}

#[test]
fn the_same_run_has_the_same_key_and_a_param_change_is_named() {
    let none = BTreeMap::new();
    let all = CacheSpec::default();
    let a = inputs(&compiled(&[], "python:3.11"), &all, &none);
    let again = inputs(&compiled(&[], "python:3.11"), &all, &none);
    assert_eq!(a.key(), again.key());
    assert_eq!(a.key().len(), 64);
    let b = inputs(&compiled(&[("lr", json!(0.01))], "python:3.11"), &all, &none);
    assert_ne!(a.key(), b.key());
    assert_eq!(
        explain(Some(&a), &b),
        ["param lr 0.1 -> 0.01", "args \"--lr=0.1 --epochs=3\" -> \"--lr=0.01 --epochs=3\""]
    );
    let c = inputs(&compiled(&[], "python:3.12"), &all, &none);
    assert_eq!(explain(Some(&a), &c), ["image python:3.11 -> python:3.12"]);
    assert_eq!(explain(None, &a), ["first run of this op: nothing to reuse"]);
}

#[test]
fn cache_io_and_sections_choose_what_counts() {
    let none = BTreeMap::new();
    // Only `epochs` counts, and containers do not: a different lr is the same result by the user's word.
    let narrow = CacheSpec {
        io: Some(vec!["epochs".into()]),
        sections: Some(vec!["init".into()]),
        ..Default::default()
    };
    let a = inputs(&compiled(&[], "python:3.11"), &narrow, &none);
    let b = inputs(&compiled(&[("lr", json!(0.5))], "python:3.12"), &narrow, &none);
    assert_eq!(a.key(), b.key());
    let c = inputs(&compiled(&[("epochs", json!(9))], "python:3.11"), &narrow, &none);
    assert_eq!(explain(Some(&a), &c), ["param epochs 3 -> 9"]);
}

#[test]
fn beyond_polyaxon_a_new_digest_for_the_same_tag_is_a_miss() {
    let all = CacheSpec::default();
    let old = BTreeMap::from([("python:3.11".to_string(), "sha256:aaaaaaaaaaaaaaaa".to_string())]);
    let new = BTreeMap::from([("python:3.11".to_string(), "sha256:bbbbbbbbbbbbbbbb".to_string())]);
    let a = inputs(&compiled(&[], "python:3.11"), &all, &old);
    let b = inputs(&compiled(&[], "python:3.11"), &all, &new);
    assert_ne!(a.key(), b.key());
    assert_eq!(
        explain(Some(&a), &b),
        ["image python:3.11 now resolves to another digest (aaaaaaaaaaaa -> bbbbbbbbbbbb)"]
    );
}

#[test]
fn key_order_and_upstream_values() {
    let digests = BTreeMap::new();
    let mut p1 = Map::new();
    p1.insert("a".into(), json!(1));
    p1.insert("b".into(), json!({"y": 1, "x": 2}));
    let mut p2 = Map::new();
    p2.insert("b".into(), json!({"x": 2, "y": 1}));
    p2.insert("a".into(), json!(1));
    let subject = |params, up: BTreeMap<String, Value>| {
        KeyInputs::of(
            &Subject {
                uuid: "",
                kind: "job",
                params,
                pods: vec![],
                connections: vec![],
                upstream: up,
                digests: &digests,
            },
            &CacheSpec::default(),
        )
    };
    assert_eq!(
        subject(&p1, BTreeMap::new()).key(),
        subject(&p2, BTreeMap::new()).key(),
        "insertion order does not count"
    );
    let before = subject(&p1, BTreeMap::from([("prepare.dataset".to_string(), json!("s3://d/v1"))]));
    let after = subject(&p1, BTreeMap::from([("prepare.dataset".to_string(), json!("s3://d/v2"))]));
    assert_eq!(explain(Some(&before), &after), ["upstream output prepare.dataset s3://d/v1 -> s3://d/v2"]);
}

#[test]
fn defaults_ttl_and_what_can_never_hit() {
    assert!(CacheSpec::default().enabled(true), "on inside pipelines");
    assert!(!CacheSpec::default().enabled(false), "off for independent runs");
    assert!(!CacheSpec::from_value(&json!({"disable": true})).enabled(true));
    assert!(CacheSpec::from_value(&json!({"disable": false})).enabled(false));
    assert_eq!(CacheSpec::from_value(&json!({"ttl": 3600, "io": ["lr"]})).io, Some(vec!["lr".to_string()]));
    assert_eq!(expired(Some(3600), 0, 3 * 3600 + 3600), Some("ttl of 3600 s expired 3 h ago".into()));
    assert_eq!(expired(Some(3600), 0, 10), None);
    assert_eq!(expired(None, 0, 1_000_000), None);
    assert_eq!(never_hits("python train.py --at {{ globals.created_at }}"), Some("globals.created_at"));
    // The run's own uuid is keyed as `{{ globals.uuid }}` (`Subject::uuid`): it spoils nothing.
    assert_eq!(never_hits("python train.py --out {{ globals.run_outputs_path }}"), None);
    assert_eq!(never_hits("python train.py"), None);
}

#[test]
fn a_command_that_names_its_run_keys_the_same_on_every_run() {
    let key = |uuid: &str| {
        let out = spec::compile(&spec::Options {
            limits: Default::default(),
            policy: None,
            files: vec![spec::Source {
                name: "f.yaml".into(),
                text: "kind: component\ninputs: [{name: out, type: str, value: '{{ globals.run_artifacts_path }}', isOptional: true}]\nrun: {kind: job, container: {image: 'x:1', command: [sh, -c, 'train > {{ globals.run_outputs_path }}/m']}}\n".into(),
            }],
            params: Default::default(),
            catalog: Default::default(),
            refs: &spec::NoRefs,
            run_uuid: Some(uuid.into()),
            execution: Default::default(),
        });
        assert!(out.valid, "{:?}", out.errors);
        let i = inputs(&out, &CacheSpec::default(), &BTreeMap::new());
        assert!(!i.key().is_empty() && !serde_json::to_string(&i).unwrap().contains(uuid), "{i:?}");
        i.key()
    };
    assert_eq!(key("0123456789abcdef0123456789abcdef"), key("fedcba9876543210fedcba9876543210"));
}
