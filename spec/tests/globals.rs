//! `globals` name the run being executed: its uuid (the one the server stores it under), who submitted it, in
//! which project, and the context paths under that uuid. Ops and matrix children carry uuids of their own,
//! derived from their pipeline's, which the server stores them under too.

mod common;

use serde_json::{json, Value};
use spec::compile::RunContext;
use spec::Execution;

const UUID: &str = "0123456789abcdef0123456789abcdef";

fn run(yaml: &str, execution: Execution) -> spec::Compiled {
    let c = common::run_with(yaml, execution);
    assert!(c.valid, "{:?}", c.errors);
    c
}

fn context() -> Execution {
    Execution {
        context: Some(RunContext {
            owner: "ana".into(),
            project: "vision".into(),
            username: "bo".into(),
            created_at: "2026-12-05T08:00:00+00:00".into(),
        }),
        ..Default::default()
    }
}

fn args(manifests: &[Value]) -> Value {
    manifests[0]["spec"]["template"]["spec"]["containers"][0]["args"].clone()
}

const JOB: &str = r#"
kind: component
name: train
run:
  kind: job
  container:
    image: python:3.12
    args:
      - "{{ globals.uuid }}"
      - "{{ globals.run_outputs_path }}"
      - "{{ globals.run_artifacts_path }}"
      - "{{ globals.project_unique_name }}"
      - "{{ globals.username }}"
      - "{{ globals.created_at }}"
      - "{{ globals.base_url }}"
"#;

#[test]
fn a_job_s_globals_name_the_run_its_submitter_and_project() {
    let c = run(JOB, context());
    assert_eq!(c.run.uuid, UUID);
    assert_eq!(
        args(&c.run.manifests),
        json!([
            UUID,
            format!("/plx-context/artifacts/{UUID}/outputs"),
            format!("/plx-context/artifacts/{UUID}"),
            "ana.vision",
            "bo",
            "2026-12-05T08:00:00+00:00",
            format!("/services/v1/ana/vision/runs/{UUID}"),
        ])
    );
}

#[test]
fn without_a_context_the_globals_are_placeholders_that_say_so() {
    let c = run(JOB, Execution::default());
    let a = args(&c.run.manifests);
    assert_eq!(a[3], "owner.project");
    assert_eq!(a[4], "user");
}

#[test]
fn each_op_and_matrix_child_has_its_own_uuid_in_its_globals() {
    let dag = r#"
kind: component
run:
  kind: dag
  operations:
    - name: a
      component: {run: {kind: job, container: {image: x, args: ["{{ globals.run_outputs_path }}"]}}}
    - name: b
      dependencies: [a]
      component: {run: {kind: job, container: {image: x, args: ["{{ globals.uuid }}"]}}}
"#;
    let c = run(dag, context());
    let (a, b) = (&c.run.ops[0].run, &c.run.ops[1].run);
    assert_eq!(c.run.uuid, UUID);
    assert!(a.uuid.len() == 32 && a.uuid != UUID && a.uuid != b.uuid, "{} {}", a.uuid, b.uuid);
    assert_eq!(args(&a.manifests), json!([format!("/plx-context/artifacts/{}/outputs", a.uuid)]));
    assert_eq!(args(&b.manifests), json!([b.uuid]));
    // Compiling one op again (the driver, with its upstream's results) gives it the same uuid.
    let again = run(dag, Execution { op: Some("b".into()), ..context() });
    assert_eq!(again.run.ops[0].run.uuid, b.uuid);

    let matrix = r#"
kind: operation
matrix: {kind: grid, params: {lr: {kind: choice, value: [1, 2]}}}
component:
  inputs: [{name: lr, type: int}]
  run: {kind: job, container: {image: x, args: ["{{ globals.uuid }}", "{{ lr }}"]}}
"#;
    let c = run(matrix, Execution { all_children: true, ..context() });
    let children = &c.run.matrix.as_ref().expect("a matrix").children;
    assert_eq!(children.len(), 2);
    for (i, child) in children.iter().enumerate() {
        assert_ne!(child.uuid, UUID);
        assert_eq!(args(&child.manifests), json!([child.uuid, (i + 1).to_string()]));
    }
    assert_ne!(children[0].uuid, children[1].uuid);
}

#[test]
fn an_op_reads_its_upstream_s_globals_when_the_upstream_has_run() {
    let dag = r#"
kind: component
run:
  kind: dag
  operations:
    - name: make
      component: {run: {kind: job, container: {image: x, command: ["true"]}}}
    - name: use
      params:
        up: {ref: ops.make, value: globals.uuid}
        out: {value: "{{ ops.make.globals.run_outputs_path }}/best.pt"}
      component:
        inputs: [{name: up, type: str}, {name: out, type: str}]
        run: {kind: job, init: [{artifacts: {files: ["{{ up }}/outputs/best.pt"]}}], container: {image: x, command: [cat, "{{ out }}"]}}
"#;
    let made = "fedcba9876543210fedcba9876543210";
    let mut upstream = serde_json::Map::new();
    upstream.insert("make".into(), json!({"uuid": made, "outputs": {}, "inputs": {}}));
    let c = run(dag, Execution { op: Some("use".into()), upstream, ..context() });
    let used = &c.run.ops[0].run;
    assert_eq!(used.params["up"], made);
    let pod = &used.manifests[0]["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["command"],
        json!(["cat", format!("/plx-context/artifacts/{made}/outputs/best.pt")])
    );
    let init = pod["initContainers"][0]["args"][2].as_str().unwrap();
    assert!(init.contains(&format!("{made}/outputs/best.pt")), "{init}");
}
