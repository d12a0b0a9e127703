//! A DAG op's `conditions` and what its templates see, as Polyaxon 2.18 reads them (each case checked with
//! `../shared/conformance/oracle`; `spec/tests/probes/z*` hold the files): conditions are rendered with the op's
//! own template context — its params, `params`, `globals` — and a pipeline's inputs or another op's results reach
//! an op only as params. `{{ dag.inputs.x }}` or `{{ ops.a.status }}` in an op fails in Polyaxon (`'dag' is
//! undefined`), so it is refused here, where it is written.

mod common;

use common::{errors, run};

/// A DAG with ops `a` and `b` (after `a`); `b` has `extra` (its params, conditions…) and runs `step2`, whose
/// input `flag` is a bool and whose command is `cmd`.
fn dag(extra: &str, cmd: &str) -> String {
    format!(
        "kind: component
inputs: [{{name: go, type: bool, value: false, isOptional: true}}]
run:
  kind: dag
  operations:
  - {{name: a, dagRef: step}}
  - {{name: b, dagRef: step2, dependencies: [a]{extra}}}
  components:
  - name: step
    outputs: [{{name: loss, type: float}}]
    run: {{kind: job, container: {{image: 'busybox:1.36', command: [echo, hi]}}}}
  - name: step2
    inputs: [{{name: flag, type: bool, value: true, isOptional: true}}]
    run: {{kind: job, container: {{image: 'busybox:1.36', command: {cmd}}}}}
"
    )
}

fn op_b(c: &spec::Compiled) -> &spec::compile::Run {
    &c.run.ops.iter().find(|o| o.name == "b").expect("op b").run
}

#[test]
fn conditions_on_the_ops_params_are_decided_when_compiled() {
    let c =
        run(&dag(", params: {flag: {ref: dag, value: inputs.go}}, conditions: '{{ flag }}'", "[echo, hi]"));
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(op_b(&c).conditions_met, Some(false));
    let c = run(&dag(", conditions: '{{ flag and globals.project_name is defined }}'", "[echo, hi]"));
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(op_b(&c).conditions_met, Some(true));
    // No conditions: nothing to decide.
    assert_eq!(op_b(&run(&dag("", "[echo, hi]"))).conditions_met, None);
}

#[test]
fn conditions_reading_an_upstream_result_wait_for_it() {
    let c = run(&dag(
        ", params: {loss: {ref: ops.a, value: outputs.loss, contextOnly: true}}, conditions: '{{ loss < 0.5 }}'",
        "[echo, hi]",
    ));
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(op_b(&c).conditions_met, None);
    let c = run(&dag(
        ", params: {loss: {ref: ops.a, value: outputs.loss, contextOnly: true}}, conditions: '{{ params.loss.value < 0.5 }}'",
        "[echo, hi]",
    ));
    assert_eq!(op_b(&c).conditions_met, None, "{:?}", c.errors);
}

#[test]
fn conditions_reading_the_pipeline_or_other_ops_directly_are_refused_where_written() {
    for cond in ["{{ dag.inputs.go }}", "{{ ops.a.status == 'succeeded' }}"] {
        let c = run(&dag(&format!(", conditions: \"{cond}\""), "[echo, hi]"));
        assert_eq!(errors(&c), [("invalid_conditions", "run.operations[1].conditions")], "{cond}");
        assert!(c.errors[0].message.contains("pass the value as a param"), "{}", c.errors[0].message);
    }
    // Not a boolean: Polyaxon fails the op.
    let c = run(&dag(", conditions: '{{ \"maybe\" }}'", "[echo, hi]"));
    assert_eq!(errors(&c), [("invalid_conditions", "run.operations[1].conditions")]);
    assert!(c.errors[0].message.contains("not a boolean"), "{}", c.errors[0].message);
}

#[test]
fn an_ops_templates_see_the_pipelines_inputs_only_through_its_params() {
    let c = run(&dag("", "[echo, '{{ dag.inputs.go }}']"));
    assert!(!c.valid);
    assert!(
        c.errors.iter().any(|e| e.code == "template_error" && e.message.contains("dag")),
        "{:?}",
        c.errors
    );
    let c = run(&dag(", params: {flag: {value: '{{ dag.inputs.go }}'}}", "[echo, hi]"));
    assert!(!c.valid, "a param's own template sees no `dag` either");
    // The way Polyaxon passes them.
    let c = run(&dag(", params: {flag: {ref: dag, value: inputs.go}}", "[echo, '{{ flag }}']"));
    assert!(c.valid, "{:?}", c.errors);
}

#[test]
fn a_pipeline_with_decided_conditions_is_read_back_as_stored() {
    // The server stores a compiled pipeline and reads it back for its page: an op's `conditions` (its text) and
    // its run's decision live side by side in one flattened object.
    let c =
        run(&dag(", params: {flag: {ref: dag, value: inputs.go}}, conditions: '{{ flag }}'", "[echo, hi]"));
    let stored = serde_json::to_value(&c.run).unwrap();
    let back: spec::compile::Run = serde_json::from_value(stored).expect("read back");
    let b = back.ops.iter().find(|o| o.name == "b").unwrap();
    assert_eq!((b.conditions.as_deref(), b.run.conditions_met), (Some("{{ flag }}"), Some(false)));
}
