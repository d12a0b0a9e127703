//! More of how Polyaxon 2.18 reads a file, found by probes written against its oracle in the seventh session
//! (`spec/tests/probes/a*`, each SAME): event kinds, templated `termination`, a join's params for templates, and
//! an init step's own `path`.

mod common;

use common::{errors, run};

const JOB: &str = "{kind: job, container: {image: 'busybox:1.36', command: [echo, hi]}}";

#[test]
fn event_kinds_are_polyaxons() {
    let dag = |kind: &str| {
        run(&format!(
            "kind: component\nrun:\n  kind: dag\n  operations:\n  - {{name: a, component: {{run: {JOB}}}}}\n  - {{name: b, events: [{{ref: ops.a, kinds: [{kind}]}}], component: {{run: {JOB}}}}}\n"
        ))
    };
    for bad in ["run_status_finished", "run_status_fine", "succeeded"] {
        let c = dag(bad);
        assert_eq!(errors(&c), [("invalid_value", "run.operations[1].events[0].kinds[0]")], "{bad}");
    }
    for good in ["run_status_succeeded", "run_status_done", "run_new_artifacts"] {
        assert!(dag(good).valid, "{good}");
    }
}

#[test]
fn termination_may_be_a_template_of_the_params() {
    let job = |t: &str| {
        run(&format!(
            "kind: component\ninputs: [{{name: retries, type: int, value: 2, isOptional: true}}]\ntermination: {t}\nrun: {JOB}\n"
        ))
    };
    let c = job("{maxRetries: '{{ retries }}', timeout: '{{ retries * 60 }}'}");
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!((c.run.termination.max_retries, c.run.termination.timeout), (Some(2), Some(120)));
    let c = job("{maxRetries: '{{ retries ~ \"x\" }}'}");
    assert_eq!(errors(&c), [("invalid_type", "termination.maxRetries")]);
    let c = job("{maxRetries: '{{ nope }}'}");
    assert_eq!(errors(&c), [("template_error", "termination.maxRetries")]);
    // A string that is not a template is still refused, as Polyaxon refuses it.
    assert_eq!(errors(&job("{maxRetries: '3'}")), [("invalid_type", "termination.maxRetries")]);
}

#[test]
fn a_joins_params_no_input_declares_are_for_templates() {
    let c = run(
        "kind: operation
joins:
- {query: 'metrics.loss:<0.1', limit: 5, params: {uuids: {value: globals.uuid, contextOnly: true}, losses: {value: outputs.loss}}}
component:
  inputs: [{name: losses, type: float, isList: true}]
  run: {kind: job, container: {image: 'busybox:1.36', command: [echo, '{{ uuids }}', '{{ losses }}']}}
",
    );
    assert!(c.valid, "{:?}", c.errors);
}

#[test]
fn an_init_steps_own_path_is_a_volume_the_main_container_sees() {
    let c = run("kind: component
run:
  kind: job
  init:
  - {git: {url: 'https://github.com/a/b'}, path: /code}
  - {file: {filename: a.sh, content: echo}, path: /code}
  - {file: {filename: b.sh, content: echo}}
  container: {image: 'busybox:1.36', command: [sh, /code/b/run.sh]}
");
    assert!(c.valid, "{:?}", c.errors);
    let pod = &c.run.manifests[0]["spec"]["template"]["spec"];
    let code: Vec<&serde_json::Value> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["name"].as_str().unwrap().contains("init-path"))
        .collect();
    assert_eq!(code.len(), 1, "one volume per path: {pod}");
    let name = code[0]["name"].clone();
    let mounted = |c: &serde_json::Value| {
        c["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| m["name"] == name && m["mountPath"] == "/code")
    };
    assert!(mounted(&pod["containers"][0]), "{pod}");
    let inits = pod["initContainers"].as_array().unwrap();
    assert_eq!(inits.iter().filter(|c| mounted(c)).count(), 2, "{pod}");
}

#[test]
fn an_inline_component_beside_a_reference_runs_and_two_references_are_refused() {
    let c = run(&format!("kind: operation\nhubRef: tensorboard\ncomponent: {{run: {JOB}}}\n"));
    assert!(c.valid, "{:?}", c.errors);
    let warned: Vec<&str> =
        c.warnings.iter().filter(|w| w.code == "not_honoured").map(|w| w.path.as_str()).collect();
    assert_eq!(warned, ["hubRef"]);
    assert_eq!(c.run.main_container().unwrap()["command"], serde_json::json!(["echo", "hi"]));
    let c = run("kind: operation\nhubRef: tensorboard\npathRef: ./comp.yaml\n");
    assert_eq!(errors(&c), [("invalid_reference", "")]);
    assert!(c.errors[0].message.contains("hubRef, pathRef"), "{}", c.errors[0].message);
}

#[test]
fn a_list_of_ports_holds_integers() {
    let service = |ports: &str| {
        run(&format!(
            "kind: component\ninputs: [{{name: port, type: int, value: 8080, isOptional: true}}]\nrun:\n  kind: service\n  ports: {ports}\n  container: {{image: 'nginx:1', command: [nginx]}}\n"
        ))
    };
    assert_eq!(errors(&service("['{{ port }}']")), [("invalid_type", "run.ports[0]")]);
    assert!(service("[8080, '9090']").valid);
    assert!(service("[8080]").valid);
}

#[test]
fn inputs_and_their_validation_refuse_unknown_keys_and_every_rule_is_applied() {
    let job = |input: &str| {
        run(&format!(
            "kind: component\ninputs:\n- {input}\nrun: {{kind: job, container: {{image: 'busybox:1.36', command: [echo, '{{{{ x }}}}']}}}}\n"
        ))
    };
    let c = job("{name: x, type: float, value: 0.5, isOptinal: true}");
    assert_eq!(errors(&c), [("unknown_key", "inputs[0].isOptinal")]);
    assert!(c.errors[0].message.contains("did you mean `isOptional`?"), "{}", c.errors[0].message);
    let c = job("{name: x, type: float, value: 0.5, isOptional: true, validation: {greater: 0}}");
    assert_eq!(errors(&c), [("unknown_key", "inputs[0].validation.greater")]);
    // The default value is checked against its rules, a regex included.
    let c = job("{name: x, type: str, value: ABC, isOptional: true, validation: {regex: '^[a-z]+$'}}");
    assert!(!c.valid && c.errors[0].message.contains("must match the regex"), "{:?}", c.errors);
    assert!(job("{name: x, type: str, value: abc, isOptional: true, validation: {regex: '^[a-z]+$', maxLength: 3}}").valid);
}

#[test]
fn cache_sections_are_polyaxons_and_a_zero_timeout_sets_none() {
    let job = |extra: &str| run(&format!("kind: component\n{extra}\nrun: {JOB}\n"));
    let c = job("cache: {sections: [init, containerz]}");
    assert_eq!(errors(&c), [("invalid_value", "cache.sections[1]")]);
    assert!(job("cache: {sections: [init, containers, connections]}").valid);
    let c = job("termination: {timeout: 0, maxRetries: 1}");
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(c.run.termination.timeout, None);
    assert!(c.run.manifests[0]["spec"].get("activeDeadlineSeconds").is_none(), "{}", c.run.manifests[0]);
}

#[test]
fn a_params_as_arg_prints_lists_dicts_and_booleans_as_json() {
    // Polyaxon 2.18's answer for `spec/tests/probes/e01_as_arg_types.yaml`.
    let c = run("kind: operation
params: {layers: {value: [1, 2.5, a]}, cfg: {value: {a: 1, b: x, c: [true]}}, flag: {value: true}, lr: {value: 0.00001}}
component:
  inputs: [{name: layers, type: list}, {name: cfg, type: dict}, {name: flag, type: bool}, {name: lr, type: float}]
  run: {kind: job, container: {image: 'busybox:1.36', command: [echo], args: ['{{ params.layers.as_arg }}', '{{ params.cfg.as_str }}', '{{ params.flag.as_arg }}', '{{ params.lr.as_arg }}', '{{ layers }}']}}
");
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(
        c.run.main_container().unwrap()["args"],
        serde_json::json!([
            "--layers=[1,2.5,\"a\"]",
            "{\"a\":1,\"b\":\"x\",\"c\":[true]}",
            "--flag=true",
            "--lr=1e-05",
            "[1, 2.5, 'a']"
        ])
    );
}
