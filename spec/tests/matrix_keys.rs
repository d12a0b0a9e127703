//! Typos Polyaxon 2.18 refuses inside a matrix, its early stopping, hooks and notifications are refused here
//! too, where they are written, with the key meant; keys Polyaxon takes and Myelin does not use are warned about
//! (each case checked with `../shared/conformance/oracle`; the files are `spec/tests/probes/z*`).

mod common;

use common::{errors, run, warned};

/// An operation with `matrix` (its lines, indented under it) over a component reading `lr`.
fn matrix(lines: &str) -> spec::Compiled {
    run(&format!(
        "kind: operation\nmatrix:\n{lines}\ncomponent:\n  inputs: [{{name: lr, type: float}}]\n  run: {{kind: job, container: {{image: 'busybox:1.36', command: [echo, '{{{{ lr }}}}']}}}}\n"
    ))
}

const PARAMS: &str = "  params:\n    lr: {kind: choice, value: [0.1, 0.2]}";

#[test]
fn a_misspelt_matrix_key_is_refused_with_the_key_meant() {
    let c = matrix(&format!("  kind: grid\n  concurency: 2\n{PARAMS}"));
    assert_eq!(errors(&c), [("unknown_key", "matrix.concurency")]);
    assert!(c.errors[0].message.contains("did you mean `concurrency`?"), "{}", c.errors[0].message);
    // A key of another kind: `seed` is a random search's, not a grid's.
    assert_eq!(
        errors(&matrix(&format!("  kind: grid\n  seed: 1\n{PARAMS}"))),
        [("unknown_key", "matrix.seed")]
    );
    let c = matrix(
        "  kind: random\n  numRuns: 2\n  params:\n    lr: {kind: uniform, value: [0.1, 0.2], step: 0.1}",
    );
    assert_eq!(errors(&c), [("unknown_key", "matrix.params.lr.step")]);
    let c = matrix(&format!(
        "  kind: tpe\n  numRuns: 2\n  maxIterations: 1\n  metric: {{name: loss, optimisation: minimize}}\n{PARAMS}"
    ));
    assert_eq!(errors(&c), [("unknown_key", "matrix.metric.optimisation")]);
    // Every key a kind takes is accepted.
    let c = matrix(&format!(
        "  kind: random\n  numRuns: 2\n  seed: 3\n  concurrency: 1\n  earlyStopping: []\n{PARAMS}"
    ));
    assert!(c.valid, "{:?}", c.errors);
}

#[test]
fn early_stopping_policies_are_checked_and_the_unused_ones_said() {
    let es = |e: &str| matrix(&format!("  kind: random\n  numRuns: 2\n  earlyStopping:\n  - {e}\n{PARAMS}"));
    let c = es("{kind: metric_early_stop, metric: loss, value: 0.1, optimization: minimize}");
    assert_eq!(errors(&c), [("invalid_value", "matrix.earlyStopping[0].kind")]);
    let c = es("{kind: failure_early_stopping, percent: 50, metric: loss}");
    assert_eq!(errors(&c), [("unknown_key", "matrix.earlyStopping[0].metric")]);
    let policy = |p: &str| {
        es(&format!(
            "{{kind: metric_early_stopping, metric: loss, value: 0.1, optimization: minimize, policy: {p}}}"
        ))
    };
    let c = policy("{kind: median, evaluationIntervall: 1}");
    assert_eq!(errors(&c), [("unknown_key", "matrix.earlyStopping[0].policy.evaluationIntervall")]);
    assert_eq!(
        errors(&policy("{kind: average}")),
        [("invalid_value", "matrix.earlyStopping[0].policy.kind")]
    );
    let c = policy("{kind: truncation, percent: 20, evaluationInterval: 1}");
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(warned(&c, "not_honoured"), ["matrix.earlyStopping[0].policy"]);
    let c = matrix(&format!(
        "  kind: hyperband\n  maxIterations: 9\n  eta: 3\n  resource: {{name: lr, type: float}}\n  metric: {{name: loss, optimization: minimize}}\n  tuner: {{hubRef: my-tuner}}\n  resume: true\n{PARAMS}"
    ));
    assert_eq!(warned(&c, "not_honoured"), ["matrix.tuner", "matrix.resume"], "{:?}", c.errors);
}

#[test]
fn hook_and_notification_triggers_are_run_statuses() {
    let job = "run: {kind: job, container: {image: 'busybox:1.36', command: [echo, hi]}}";
    let c = run(&format!("kind: component\nhooks:\n- {{trigger: sometimes, hubRef: slack}}\n{job}\n"));
    assert_eq!(errors(&c), [("invalid_value", "hooks[0].trigger")]);
    let c = run(&format!("kind: component\nplugins:\n  notifications:\n  - {{connections: [slack], trigger: finished}}\n{job}\n"));
    assert_eq!(errors(&c), [("invalid_value", "plugins.notifications[0].trigger")]);
    let c = run(&format!("kind: component\nhooks:\n- {{trigger: succeeded, hubRef: slack}}\n- {{trigger: done, hubRef: slack}}\n{job}\n"));
    assert!(c.valid, "{:?}", c.errors);
}
