//! Params with `toInit` become the run's first init steps, as Polyaxon 2.18 makes them (probes e02–e07, e09 in
//! `spec/tests/probes`, checked against its oracle); `delayValidation` and `validation.delay` defer nothing there,
//! so values are checked as they compile and a warning says so (probes e08, e10).

mod common;

use common::{errors, run, warned};
use serde_json::{json, Value};

/// The init steps of the compiled run's first pod, in order, as its init containers carry them.
fn steps(c: &spec::Compiled, replica: Option<&str>) -> Vec<Value> {
    let m = &c.run.manifests[0];
    let pod = match replica {
        None => &m["spec"]["template"]["spec"],
        Some(r) => &m["spec"]["tfReplicaSpecs"][r]["template"]["spec"],
    };
    pod["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["args"][2].as_str())
        .map(|s| serde_json::from_str(s).unwrap())
        .collect()
}

const RUN: &str = "run: {kind: job, container: {image: 'busybox:1.36', command: [ls]}}";

#[test]
fn git_artifacts_and_dockerfile_params_become_init_steps_first() {
    let c = run(
        "kind: operation\nparams:\n  repo: {value: {url: 'https://github.com/a/b', revision: main}, toInit: true}\n  data: {value: {files: [a.txt]}}\n  df: {value: {image: 'base:1'}, toInit: true}\ncomponent:\n  inputs: [{name: repo, type: git}, {name: data, type: artifacts, toInit: true}, {name: df, type: dockerfile}]\n  run: {kind: job, init: [{file: {filename: a.sh, content: hi}}], container: {image: 'busybox:1.36', command: [ls]}}\n",
    );
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(
        steps(&c, None),
        [
            json!({"git": {"url": "https://github.com/a/b", "revision": "main"}}),
            json!({"artifacts": {"files": ["a.txt"]}}),
            json!({"dockerfile": {"image": "base:1"}}),
            json!({"file": {"filename": "a.sh", "content": "hi"}}),
        ]
    );
}

#[test]
fn an_inputs_default_with_to_init_is_a_step_and_a_param_may_turn_it_off() {
    let comp = format!(
        "inputs: [{{name: repo, type: git, value: {{url: 'https://github.com/a/b'}}, toInit: true}}]\n{RUN}\n"
    );
    let c = run(&format!("kind: component\n{comp}"));
    assert_eq!(steps(&c, None), [json!({"git": {"url": "https://github.com/a/b"}})]);
    let indented = comp.lines().map(|l| format!("  {l}\n")).collect::<String>();
    let c = run(&format!(
        "kind: operation\nparams: {{repo: {{value: {{url: 'https://x/y'}}, toInit: false}}}}\ncomponent:\n{indented}"
    ));
    assert!(c.valid, "{:?}", c.errors);
    assert!(steps(&c, None).is_empty(), "{:?}", steps(&c, None));
}

#[test]
fn a_connection_makes_any_param_a_step_and_paths_read_from_it() {
    let connections =
        json!({"connections": [{"name": "data1", "kind": "s3", "schema": {"bucket": "s3://b"}}]});
    let catalog = spec::catalog::Catalog::from_value(&connections).expect("a catalog");
    let yaml = "kind: operation\nparams:\n  name: {value: abc, toInit: true, connection: data1}\n  p: {value: a/b, toInit: true, connection: data1}\ncomponent:\n  inputs: [{name: name, type: str}, {name: p, type: path}]\n  run: {kind: job, container: {image: 'busybox:1.36', command: [ls]}}\n";
    let c = common::run_in(yaml, catalog);
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(
        steps(&c, None),
        [json!({"connection": "data1"}), json!({"paths": ["a/b"], "connection": "data1"})]
    );
}

#[test]
fn what_cannot_become_a_step_is_refused_where_it_is_asked() {
    let c = run(&format!(
        "kind: operation\nparams: {{name: {{value: abc, toInit: true}}}}\ncomponent:\n  inputs: [{{name: name, type: str}}]\n  {RUN}\n"
    ));
    assert_eq!(errors(&c), [("invalid_to_init", "params.name.toInit")]);
    assert!(c.errors[0].message.contains("type `str`"), "{}", c.errors[0].message);
    let c = run(&format!(
        "kind: operation\nparams: {{y: {{value: abc, toInit: true, contextOnly: true}}}}\ncomponent:\n  {RUN}\n"
    ));
    assert_eq!(errors(&c), [("invalid_to_init", "params.y.toInit")]);
    let c =
        run(&format!("kind: component\ninputs: [{{name: n, type: int, value: 1, toInit: true}}]\n{RUN}\n"));
    assert_eq!(errors(&c), [("invalid_to_init", "inputs[0].toInit")]);
}

#[test]
fn each_tfjob_replica_takes_the_steps_and_other_kinds_say_they_do_not() {
    let c = run(
        "kind: operation\nparams: {repo: {value: {url: 'https://github.com/a/b'}, toInit: true}}\ncomponent:\n  inputs: [{name: repo, type: git}]\n  run:\n    kind: tfjob\n    chief: {replicas: 1, container: {image: 'tf:1', command: [python]}}\n    worker: {replicas: 2, container: {image: 'tf:1', command: [python]}}\n",
    );
    assert!(c.valid, "{:?}", c.errors);
    for r in ["Chief", "Worker"] {
        assert_eq!(steps(&c, Some(r)), [json!({"git": {"url": "https://github.com/a/b"}})], "{r}");
    }
    let c = run(
        "kind: operation\nparams: {repo: {value: {url: 'https://github.com/a/b'}, toInit: true}}\ncomponent:\n  inputs: [{name: repo, type: git}]\n  run:\n    kind: daskcluster\n    scheduler: {container: {image: 'dask:1', command: [dask]}}\n    worker: {replicas: 1, container: {image: 'dask:1', command: [dask]}}\n",
    );
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(warned(&c, "not_honoured"), ["params.repo.toInit"]);
}

#[test]
fn delay_defers_no_check_and_says_so() {
    for rules in ["delayValidation: true, validation: {ge: 10}", "validation: {delay: true, ge: 10}"] {
        let c = run(&format!(
            "kind: operation\nparams: {{x: {{value: 5}}}}\ncomponent:\n  inputs: [{{name: x, type: int, {rules}}}]\n  {RUN}\n"
        ));
        assert!(!c.valid, "{rules}: 5 passed `ge: 10`");
        let c = run(&format!(
            "kind: operation\nparams: {{x: {{value: 12}}}}\ncomponent:\n  inputs: [{{name: x, type: int, {rules}}}]\n  {RUN}\n"
        ));
        assert!(c.valid, "{rules}: {:?}", c.errors);
        let at = if rules.starts_with("delay") {
            "inputs[0].delayValidation"
        } else {
            "inputs[0].validation.delay"
        };
        assert_eq!(warned(&c, "not_honoured"), [format!("component.{at}")], "{rules}");
    }
}
