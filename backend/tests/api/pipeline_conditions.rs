//! `conditions` on a whole pipeline: a DAG whose conditions are false is skipped with every op (Polyaxon skips
//! it before expanding it), one whose conditions hold runs; a matrix's conditions are each child's own, read
//! with its suggested params, so they filter the grid.

use serde_json::{json, Value};

use crate::both_dbs;
use crate::helpers::TestApp;
use crate::pipelines::{drive_until, op};
use crate::runs::{get, setup, submit};

both_dbs!(false_conditions_skip_a_whole_dag, a_matrix_child_runs_only_where_its_conditions_hold,);

fn dag(go: bool) -> String {
    format!(
        r#"kind: operation
name: gated-flow
params:
  go: {{value: {go}}}
conditions: '{{{{ go }}}}'
component:
  inputs: [{{name: go, type: bool}}]
  run:
    kind: dag
    operations:
    - {{name: first, component: {{run: {{kind: job, container: {{image: busybox:1.36, command: [echo, one]}}}}}}}}
    - {{name: second, dependencies: [first], component: {{run: {{kind: job, container: {{image: busybox:1.36, command: [echo, two]}}}}}}}}
"#
    )
}

fn status(r: &Value) -> (String, String) {
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    (s("status"), s("status_reason"))
}

async fn false_conditions_skip_a_whole_dag(app: TestApp) {
    let ann = setup(&app).await;
    let p = submit(&app, &ann, &dag(false), json!({})).await;
    let id = p["uuid"].as_str().unwrap().to_string();
    let skipped = get(&app, &ann, &id).await;
    assert_eq!(status(&skipped), ("skipped".into(), "ConditionsCheckFailed".into()), "{skipped}");
    assert!(skipped["finished_at"].is_string(), "a skipped pipeline is finished: {skipped}");
    for name in ["first", "second"] {
        let o = op(&app, &ann, &id, name).await;
        assert_eq!(status(&o), ("skipped".into(), "ConditionsCheckFailed".into()), "{o}");
    }
    // The driver leaves it as it is: nothing is started.
    let again = drive_until(&app, &ann, &id, &["skipped"], |_| {}).await;
    assert_eq!(status(&again).0, "skipped");
    assert_eq!(status(&op(&app, &ann, &id, "first").await).0, "skipped");

    let p = submit(&app, &ann, &dag(true), json!({})).await;
    let id = p["uuid"].as_str().unwrap().to_string();
    let done = drive_until(&app, &ann, &id, &["succeeded", "failed", "skipped"], |_| {}).await;
    assert_eq!(done["status"], "succeeded", "conditions that hold run the pipeline: {done}");
}

async fn a_matrix_child_runs_only_where_its_conditions_hold(app: TestApp) {
    let ann = setup(&app).await;
    let grid = r#"kind: operation
name: filtered
conditions: '{{ x > 2 }}'
matrix:
  kind: grid
  params:
    x: {kind: choice, value: [1, 2, 3, 4]}
component:
  inputs: [{name: x, type: int}]
  run:
    kind: job
    container: {image: busybox:1.36, command: [sh, -c, 'echo x={{ x }}']}
"#;
    let p = submit(&app, &ann, grid, json!({})).await;
    let id = p["uuid"].as_str().unwrap().to_string();
    let done = drive_until(&app, &ann, &id, &["succeeded", "failed"], |_| {}).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    for (i, want) in [(0, "skipped"), (1, "skipped"), (2, "succeeded"), (3, "succeeded")] {
        let child = op(&app, &ann, &id, &format!("filtered-{i}")).await;
        assert_eq!(child["status"], want, "x = {}: {child}", child["params"]["x"]);
        if want == "skipped" {
            assert_eq!(child["status_reason"], "ConditionsCheckFailed", "{child}");
        }
    }
}
