//! Nothing accepted and silently ignored: every field the compiler accepts is honoured, or warned about where it
//! is written; fields of the wrong type are refused as Polyaxon refuses them (each case checked against
//! Polyaxon 2.18's own answer with `../shared/conformance/oracle`).

mod common;

use common::{errors, run, warned};
use serde_json::json;

const RUN: &str = "run: {kind: job, container: {image: 'x:1'}}\n";

#[test]
fn strict_params_refuse_a_param_no_input_declares_unless_it_is_for_templates_only() {
    let op = |strict: &str, param: &str| {
        run(&format!("kind: operation\n{strict}params: {{extra: {param}}}\ncomponent:\n  {}", RUN.trim_end()))
    };
    let c = op("strictParams: true\n", "{value: 1}");
    assert_eq!(errors(&c), [("unknown_param", "params.extra")]);
    assert!(c.errors[0].message.contains("contextOnly: true"), "{}", c.errors[0].message);
    // As Polyaxon reads booleans: `yes` is true.
    assert_eq!(errors(&op("strictParams: 'yes'\n", "{value: 1}")), [("unknown_param", "params.extra")]);
    assert!(op("strictParams: true\n", "{value: 1, contextOnly: true}").valid);
    assert!(op("", "{value: 1}").valid);
    // `contextOnly: false` demands an input, whether the value is known now or only at run time.
    assert_eq!(
        errors(&op("", "{ref: runs.0123456789abcdef0123456789abcdef, value: outputs.x, contextOnly: false}")),
        [("unknown_param", "params.extra")]
    );
    // On the component too.
    let c = run(&format!(
        "kind: operation\nparams: {{extra: {{value: 1}}}}\ncomponent:\n  strictParams: true\n  {}",
        RUN.trim_end()
    ));
    assert_eq!(errors(&c), [("unknown_param", "params.extra")]);
}

#[test]
fn scalar_fields_of_the_wrong_type_are_refused_where_they_are_written() {
    for (field, path) in [
        ("isApproved: 3", "isApproved"),
        ("strictParams: 3", "strictParams"),
        ("cost: abc", "cost"),
        ("presets: 3", "presets"),
        ("queue: [1]", "queue"),
        ("namespace: 3", "namespace"),
        ("description: 3", "description"),
        ("version: abc", "version"),
        ("tags: {a: 1}", "tags"),
        ("mount: [3]", "mount"),
        ("mount: [{pathFrom: x}]", "mount"),
    ] {
        let c = run(&format!("kind: component\n{field}\n{RUN}"));
        assert_eq!(errors(&c), [("invalid_type", path)], "{field}");
    }
    let c = run(&format!(
        "kind: operation\nskipOnUpstreamSkip: maybe\nconditions: 3\ncomponent:\n  {}",
        RUN.trim_end()
    ));
    assert_eq!(errors(&c), [("invalid_type", "skipOnUpstreamSkip"), ("invalid_type", "conditions")]);
    // What Polyaxon's lax reading accepts, Myelin accepts.
    for field in [
        "cost: '2.5'",
        "tags: 'a,b'",
        "presets: gpu",
        "mount: [a, 'b:/c', {from: d, to: /e}]",
        "version: '1.1'",
    ] {
        let c = run(&format!("kind: component\n{field}\n{RUN}"));
        assert!(c.valid, "{field}: {:?}", c.errors);
    }
}

#[test]
fn is_approved_is_read_as_polyaxon_reads_a_boolean_and_may_be_a_template_of_the_params() {
    for (v, waits) in
        [("false", true), ("'no'", true), ("0", true), ("'off'", true), ("true", false), ("'yes'", false)]
    {
        let c = run(&format!("kind: component\nisApproved: {v}\n{RUN}"));
        assert!(c.valid, "{v}: {:?}", c.errors);
        assert_eq!(c.run.needs_approval, waits, "isApproved: {v}");
    }
    let templated = |value: &str| {
        run(&format!(
            "kind: operation\nisApproved: '{{{{ approve }}}}'\nparams: {{approve: {{value: {value}}}}}\ncomponent:\n  inputs: [{{name: approve, type: bool}}]\n  {}",
            RUN.trim_end()
        ))
    };
    assert!(templated("false").run.needs_approval);
    assert!(!templated("true").run.needs_approval);
    // On a DAG it holds the whole pipeline (none of its ops needs approval of its own).
    let dag = run("kind: component\nisApproved: false\nrun:\n  kind: dag\n  operations:\n  - name: a\n    \
                   component: {run: {kind: job, container: {image: 'busybox:1.36'}}}\n");
    assert!(dag.valid && dag.warnings.is_empty(), "{:?} {:?}", dag.errors, dag.warnings);
    assert!(dag.run.needs_approval && !dag.run.ops[0].run.needs_approval);
}

#[test]
fn what_myelin_does_not_act_on_is_warned_about_where_it_is_written() {
    let c = run(&format!(
        "kind: component\nqueue: agent/gpus\nnamespace: other\npresets: [gpu]\ncost: 2.5\nmount: [data]\n\
         termination: {{culling: {{timeout: 100}}, probe: {{}}, podFailurePolicy: {{rules: []}}}}\n\
         plugins: {{docker: true, auth: false, collectLogs: true, syncStatuses: true, logLevel: DEBUG, notifications: [{{connections: [slack], trigger: failed}}]}}\n{RUN}"
    ));
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(
        warned(&c, "not_honoured"),
        [
            "queue",
            "namespace",
            "presets",
            "cost",
            "mount",
            "termination.culling",
            "termination.probe",
            "termination.podFailurePolicy",
            "plugins.auth",
            "plugins.docker",
            "plugins.logLevel",
            "plugins.notifications",
        ],
        "plugins set to what Myelin does (collectLogs, syncStatuses: true) are not warned about"
    );
    assert!(c.warnings.iter().all(|w| w.line > 0), "each warning is located: {:?}", c.warnings);

    // An operation's own field is warned about at the operation; its component's at the component.
    let c = run("kind: operation\nqueue: q\ncomponent:\n  cost: 1\n  run: {kind: service, ports: [80], rewritePath: true, container: {image: 'x:1'}}\n");
    assert_eq!(warned(&c, "not_honoured"), ["queue", "component.cost", "component.run.rewritePath"]);
}

#[test]
fn hooks_schedules_and_event_kinds_of_a_pipelines_ops_are_warned_about_too() {
    let c = run(
        "kind: component\nhooks: [{hubRef: slack}]\nrun:\n  kind: dag\n  operations:\n  - name: a\n    hooks: [{hubRef: slack, trigger: failed}]\n    component: {run: {kind: job, container: {image: 'x:1'}}}\n  - name: b\n    events: [{kinds: [run_status_failed], ref: ops.a}]\n    component: {run: {kind: job, container: {image: 'x:1'}}}\n",
    );
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(warned(&c, "hooks_not_run"), ["hooks", "run.operations[0].hooks"]);
    assert_eq!(warned(&c, "not_honoured"), ["run.operations[1].events[0].kinds"]);
    let c = run(&format!(
        "kind: operation\nschedule: {{kind: cron, cron: '0 * * * *'}}\ncomponent:\n  {}",
        RUN.trim_end()
    ));
    assert_eq!(warned(&c, "schedule_not_repeated"), ["schedule"]);
}

#[test]
fn main_containers_get_a_memory_backed_dev_shm_unless_the_shm_plugin_is_off() {
    let pod = |c: &spec::Compiled| c.run.manifests[0]["spec"]["template"]["spec"].clone();
    let c = run(&format!("kind: component\n{RUN}"));
    let spec = pod(&c);
    assert_eq!(spec["volumes"], json!([{"name": "myelin-shm", "emptyDir": {"medium": "Memory"}}]));
    assert_eq!(
        spec["containers"][0]["volumeMounts"],
        json!([{"name": "myelin-shm", "mountPath": "/dev/shm"}])
    );
    let c = run(&format!("kind: component\nplugins: {{shm: false}}\n{RUN}"));
    assert!(pod(&c)["volumes"].is_null(), "{}", pod(&c));
    // A user's own /dev/shm is left as they wrote it.
    let c = run("kind: component\nrun:\n  kind: job\n  volumes: [{name: s, emptyDir: {medium: Memory, sizeLimit: 1Gi}}]\n  container: {image: 'x:1', volumeMounts: [{name: s, mountPath: /dev/shm}]}\n");
    assert_eq!(pod(&c)["volumes"].as_array().unwrap().len(), 1);
    assert_eq!(pod(&c)["containers"][0]["volumeMounts"], json!([{"name": "s", "mountPath": "/dev/shm"}]));
}
