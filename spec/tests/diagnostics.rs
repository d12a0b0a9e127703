//! Errors and warnings point at the YAML: code, path and line:column, for what users get wrong most.

use serde_json::json;
use spec::{compile, NoRefs, Options, Source};

fn run(yaml: &str, params: &[(&str, &str)]) -> spec::Compiled {
    compile(&Options {
        limits: Default::default(),
        policy: None,
        files: vec![Source { name: "f.yaml".into(), text: yaml.into() }],
        params: params.iter().map(|(k, v)| (k.to_string(), json!(v))).collect(),
        catalog: Default::default(),
        refs: &NoRefs,
        run_uuid: Some("0123456789abcdef0123456789abcdef".into()),
        execution: Default::default(),
    })
}

/// (code, path, line, column) of the first error.
fn first_error(c: &spec::Compiled) -> (&str, &str, u32, u32) {
    let e = c.errors.first().unwrap_or_else(|| panic!("expected an error, got {:?}", c.run));
    (e.code, e.path.as_str(), e.line, e.column)
}

#[test]
fn a_misspelt_run_key_is_located() {
    let c = run("kind: component\nrun:\n  kind: job\n  contianer:\n    image: x:1\n", &[]);
    assert!(!c.valid);
    assert_eq!(first_error(&c), ("unknown_key", "run.contianer", 4, 3));
}

#[test]
fn a_missing_required_input_names_the_input() {
    let c = run(
        "kind: component\ninputs:\n- {name: lr, type: float}\nrun: {kind: job, container: {image: 'x:1'}}\n",
        &[],
    );
    let (code, ..) = first_error(&c);
    assert_eq!(code, "required_input");
    assert!(c.errors[0].message.contains("`lr`"));
}

#[test]
fn a_param_of_the_wrong_type_says_what_was_expected() {
    let c = run("kind: component\ninputs:\n- {name: epochs, type: int}\nrun: {kind: job, container: {image: 'x:1'}}\n", &[("epochs", "two")]);
    let e = &c.errors[0];
    assert_eq!((e.code, e.path.as_str()), ("invalid_param", "params.epochs"));
    assert!(e.message.contains("could not parse value \"two\" for `epochs` as int"), "{}", e.message);
}

#[test]
fn yaml_syntax_errors_carry_the_line() {
    let c = run("kind: component\nrun:\n  kind: job\n  container: {image: [x\n", &[]);
    let (code, _, line, _) = first_error(&c);
    assert_eq!(code, "yaml_syntax");
    assert!(line >= 4, "line {line}");
}

#[test]
fn dag_cycles_and_unknown_components_are_refused() {
    let cycle = "kind: component\nrun:\n  kind: dag\n  operations:\n  - {name: a, dagRef: c, dependencies: [b]}\n  - {name: b, dagRef: c, dependencies: [a]}\n  components:\n  - {name: c, run: {kind: job, container: {image: 'x:1'}}}\n";
    assert_eq!(first_error(&run(cycle, &[])).0, "dag_cycle");
    let missing = "kind: component\nrun:\n  kind: dag\n  operations:\n  - {name: a, dagRef: nope}\n";
    let c = run(missing, &[]);
    assert_eq!(first_error(&c), ("missing_component", "run.operations[0].dagRef", 5, 15));
}

#[test]
fn an_unknown_matrix_kind_is_located() {
    let c = run("kind: operation\nmatrix:\n  kind: hyperopt\n  params: {}\ncomponent:\n  run: {kind: job, container: {image: 'x:1'}}\n", &[]);
    assert_eq!(first_error(&c), ("invalid_matrix_kind", "matrix.kind", 3, 3));
}

#[test]
fn production_pitfalls_are_warned_about() {
    let c = run(
        "kind: component\nrun:\n  kind: job\n  container:\n    image: pytorch/pytorch\n    resources: {limits: {nvidia.com/gpu: 1}}\n",
        &[],
    );
    assert!(c.valid);
    let codes: Vec<&str> = c.warnings.iter().map(|w| w.code).collect();
    assert_eq!(codes, ["unpinned_image", "gpu_without_placement"]);
    assert_eq!((c.warnings[0].line, c.warnings[0].column), (5, 5));
}

#[test]
fn output_is_deterministic_and_names_derive_from_the_run_uuid() {
    let yaml = "kind: component\nrun: {kind: job, container: {image: 'x:1', command: [echo]}}\n";
    let (a, b) = (run(yaml, &[]), run(yaml, &[]));
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    let job = &a.run.manifests[0];
    assert_eq!(job["metadata"]["name"], "run-0123456789abcdef0123456789abcdef");
    assert_eq!(job["spec"]["backoffLimit"], 0);
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
    let env = &job["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(env[0], json!({"name": "NVIDIA_VISIBLE_DEVICES", "value": "none"}));
}

#[test]
fn dag_edges_are_type_checked_and_undeclared_outputs_warned() {
    let base = |value: &str, input_type: &str| {
        format!(
            "kind: component\nrun:\n  kind: dag\n  operations:\n  - {{name: train, dagRef: t}}\n  - name: eval\n    dagRef: e\n    params:\n      m: {{ref: ops.train, value: {value}}}\n  components:\n  - {{name: t, outputs: [{{name: loss, type: float}}], run: {{kind: job, container: {{image: 'x:1'}}}}}}\n  - {{name: e, inputs: [{{name: m, type: {input_type}}}], run: {{kind: job, container: {{image: 'x:1'}}}}}}\n"
        )
    };
    let ok = run(&base("outputs.loss", "float"), &[]);
    assert!(ok.valid, "{:?}", ok.errors);
    assert_eq!(ok.run.ops[1].upstream, ["train"]);
    let mismatch = run(&base("outputs.loss", "bool"), &[]);
    assert_eq!(first_error(&mismatch), ("type_mismatch", "run.operations[1].params.m", 9, 7));
    let missing = run(&base("outputs.nothing", "float"), &[]);
    assert!(missing.valid);
    assert_eq!(missing.warnings[0].code, "undeclared_upstream_output");
}

#[test]
fn params_with_to_env_reach_the_container() {
    let c = run(
        "kind: component\ninputs:\n- {name: lr, type: float, toEnv: LEARNING_RATE}\nrun: {kind: job, container: {image: 'x:1', env: [{name: A, value: b}]}}\n",
        &[("lr", "0.5")],
    );
    let env = &c.run.manifests[0]["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(env[0], json!({"name": "A", "value": "b"}));
    assert_eq!(env[1], json!({"name": "LEARNING_RATE", "value": "0.5"}));
}

/// (path, line) of each warning with `code`.
fn warnings_of<'a>(c: &'a spec::Compiled, code: &str) -> Vec<(&'a str, u32)> {
    c.warnings.iter().filter(|w| w.code == code).map(|w| (w.path.as_str(), w.line)).collect()
}

#[test]
fn a_cached_op_whose_key_changes_every_run_is_warned_where_it_is_written() {
    // DAG ops are cached by default: a param, an output's value and a command that change every run.
    let dag = "kind: component
name: flow
run:
  kind: dag
  operations:
  - name: prep
    params:
      seed: {value: '{{ globals.created_at }}'}
    component:
      inputs: [{name: seed, type: str}]
      outputs: [{name: model, type: str, value: 'model-{{ globals.created_at }}'}]
      run: {kind: job, container: {image: 'x:1', command: [sh, -c, 'echo $RANDOM']}}
  - name: plain
    component: {run: {kind: job, container: {image: 'x:1', command: [echo, ok]}}}
  - name: uncached
    cache: {disable: true}
    component: {run: {kind: job, container: {image: 'x:1', command: [sh, -c, 'date +%s']}}}
";
    let c = run(dag, &[]);
    assert!(c.valid, "{:?}", c.errors);
    let w = warnings_of(&c, "cache_never_hits");
    let paths: Vec<&str> = w.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        paths,
        [
            "run.operations[0].params.seed",
            "run.operations[0].component.outputs[0].value",
            "run.operations[0].component.run.container.command"
        ],
        "{:?}",
        c.warnings
    );
    assert_eq!(w.iter().map(|(_, l)| *l).collect::<Vec<_>>(), [8, 11, 12]);
    let m = &c.warnings.iter().find(|w| w.code == "cache_never_hits").unwrap().message;
    assert!(m.contains("`globals.created_at` changes on every run"), "{m}");

    // What the key leaves out cannot spoil it; an independent run is not cached unless asked.
    let narrowed =
        dag.replace("  - name: prep\n", "  - name: prep\n    cache: {io: [other], sections: [init]}\n");
    assert_eq!(warnings_of(&run(&narrowed, &[]), "cache_never_hits"), []);
    let job = "kind: component\nrun: {kind: job, container: {image: 'x:1', command: [sh, -c, 'echo {{ globals.created_at }}']}}\n";
    assert_eq!(warnings_of(&run(job, &[]), "cache_never_hits"), []);
    let cached = job.replace("kind: component\n", "kind: component\ncache: {disable: false}\n");
    assert_eq!(warnings_of(&run(&cached, &[]), "cache_never_hits"), [("run.container.command", 3)]);
    // A matrix's children are cached by default too.
    let sweep = "kind: operation\nmatrix: {kind: grid, params: {lr: {kind: choice, value: [0.1, 0.2]}}}\ncomponent:\n  inputs: [{name: lr, type: float}]\n  run: {kind: job, container: {image: 'x:1', command: [sh, -c, 'echo {{ lr }} {{ globals.created_at }}']}}\n";
    assert_eq!(warnings_of(&run(sweep, &[]), "cache_never_hits"), [("component.run.container.command", 5)]);
}
