//! Polyaxon 2.18's reading of shapes the public kit does not cover, each checked against its oracle
//! (`../shared/conformance/oracle`): typos inside Kubernetes-typed sections are refused with the nearest field
//! (deeper ones warned about, as Polyaxon lets them through), nested sections refuse unknown keys, an operation's
//! root may be its component, a component may carry operation fields, a build provides a replica's image.

mod common;

use common::run;
use serde_json::json;
use spec::{compile, NoRefs, Options, Source};

fn errors(c: &spec::Compiled) -> Vec<(&str, &str, u32, String)> {
    c.errors.iter().map(|e| (e.code, e.path.as_str(), e.line, e.message.clone())).collect()
}

fn warning<'c>(c: &'c spec::Compiled, code: &str) -> Vec<(&'c str, &'c str)> {
    c.warnings.iter().filter(|w| w.code == code).map(|w| (w.path.as_str(), w.message.as_str())).collect()
}

const JOB: &str = "kind: component\nrun:\n  kind: job\n";

#[test]
fn a_typo_in_the_container_is_refused_with_the_field_it_meant_not_dropped_by_the_cluster() {
    let c = run(&format!(
        "{JOB}  container:\n    image: x:1\n    resourcez: {{limits: {{nvidia.com/gpu: 1}}}}\n"
    ));
    assert_eq!(
        errors(&c),
        [(
            "unknown_field",
            "run.container.resourcez",
            6,
            "`resourcez` is not a field of a Kubernetes Container (did you mean `resources`?): the cluster would drop it"
                .to_string()
        )]
    );
}

#[test]
fn every_kubernetes_typed_section_is_read_against_its_type() {
    let cases = [
        (
            "  container: {image: 'x:1'}\n  sidecars: [{name: s, image: 'x:1', comand: [a]}]\n",
            "run.sidecars[0].comand",
        ),
        (
            "  container: {image: 'x:1'}\n  init: [{container: {image: 'x:1', argz: [a]}}]\n",
            "run.init[0].container.argz",
        ),
        ("  container: {image: 'x:1'}\n  volumes: [{name: v, emptyDirr: {}}]\n", "run.volumes[0].emptyDirr"),
        (
            "  container: {image: 'x:1'}\n  environment: {tolerations: [{key: a, efect: NoSchedule}]}\n",
            "run.environment.tolerations[0].efect",
        ),
        (
            "  container: {image: 'x:1'}\n  environment: {affinity: {nodeAffinityy: {}}}\n",
            "run.environment.affinity.nodeAffinityy",
        ),
        // Polyaxon reads the environment's securityContext as a container's: pod-level fields are refused.
        (
            "  container: {image: 'x:1'}\n  environment: {securityContext: {fsGroup: 1}}\n",
            "run.environment.securityContext.fsGroup",
        ),
    ];
    for (body, path) in cases {
        let c = run(&format!("{JOB}{body}"));
        let got = errors(&c);
        assert!(got.len() == 1 && got[0].0 == "unknown_field" && got[0].1 == path, "{body}: {got:?}");
    }
}

#[test]
fn snake_case_fields_are_fields_and_distributed_replicas_are_read_too() {
    let c = run(&format!("{JOB}  container: {{image: 'x:1', volume_mounts: [{{name: v, mount_path: /d}}]}}\n  volumes: [{{name: v, empty_dir: {{}}}}]\n"));
    assert!(c.valid, "{:?}", c.errors);
    let c = run("kind: component\nrun:\n  kind: tfjob\n  worker:\n    replicas: 2\n    container: {image: 'x:1', imagePulPolicy: Always}\n");
    assert_eq!(errors(&c)[0].1, "run.worker.container.imagePulPolicy");
    assert!(errors(&c)[0].3.contains("did you mean `imagePullPolicy`?"));
}

#[test]
fn deeper_typos_and_wrong_types_are_warned_about_as_polyaxon_lets_them_through() {
    let c = run(&format!(
        "{JOB}  container:\n    image: x:1\n    resources: {{limitz: {{cpu: 1}}}}\n    ports: [{{containerPort: http}}]\n"
    ));
    assert!(c.valid, "{:?}", c.errors);
    let w = warning(&c, "kubernetes_schema");
    assert_eq!(
        w.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        ["run.container.ports[0].containerPort", "run.container.resources.limitz"]
    );
    assert!(w[1].1.contains("did you mean `limits`?"), "{w:?}");
}

#[test]
fn nested_sections_refuse_keys_polyaxon_does_not_know() {
    let cases = [
        ("kind: operation\ncache: {disable: false, ttll: 10}\ncomponent: {run: {kind: job, container: {image: 'x:1'}}}\n", "cache.ttll", "ttl"),
        (&format!("{JOB}  container: {{image: 'x:1'}}\n  environment: {{nodeSelectr: {{a: b}}}}\n"), "run.environment.nodeSelectr", "nodeSelector"),
        (&format!("{JOB}  container: {{image: 'x:1'}}\n  init: [{{contaner: {{image: 'x:1'}}}}]\n"), "run.init[0].contaner", "container"),
        ("kind: component\ntermination: {maxRetry: 1}\nrun: {kind: job, container: {image: 'x:1'}}\n", "termination.maxRetry", "maxRetries"),
        ("kind: component\nplugins: {colectLogs: false}\nrun: {kind: job, container: {image: 'x:1'}}\n", "plugins.colectLogs", "collectLogs"),
        ("kind: operation\nschedule: {kind: cron, cron: '* * * * *', maxRun: 2}\ncomponent: {run: {kind: job, container: {image: 'x:1'}}}\n", "schedule.maxRun", "maxRuns"),
    ];
    for (yaml, path, near) in cases {
        let c = run(yaml);
        let got = errors(&c);
        assert!(
            got.len() == 1
                && got[0].0 == "unknown_key"
                && got[0].1 == path
                && got[0].3.contains(&format!("`{near}`")),
            "{yaml}: {got:?}"
        );
    }
}

#[test]
fn an_operations_root_may_be_its_component() {
    let c = run("kind: operation\nparams: {lr: {value: 0.05}}\ninputs: [{name: lr, type: float}]\nrun:\n  kind: job\n  container: {image: 'python:3.11', command: [python, -c, 'print({{ lr }})']}\n");
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(c.run.params.get("lr"), Some(&json!(0.05)));
    assert_eq!(c.run.main_container().unwrap()["command"], json!(["python", "-c", "print(0.05)"]));
}

#[test]
fn a_component_may_carry_an_operations_params() {
    let c = run("kind: component\nparams: {lr: {value: 0.05}}\ninputs: [{name: lr, type: float}]\nrun:\n  kind: job\n  container: {image: 'python:3.11', command: ['{{ lr }}']}\n");
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(c.run.main_container().unwrap()["command"], json!(["0.05"]));
}

#[test]
fn a_join_limit_may_be_a_template_of_a_param() {
    let c = run("kind: operation\nparams: {top: {value: 3}}\njoins: [{query: 'metrics.loss:<0.5', limit: '{{ top }}', params: {losses: {value: outputs.loss}}}]\ncomponent:\n  inputs: [{name: top, type: int}, {name: losses, type: float, isList: true, isOptional: true}]\n  run: {kind: job, container: {image: 'x:1'}}\n");
    assert!(c.valid, "{:?}", c.errors);
    let c = run("kind: operation\njoins: [{query: 'a', limit: lots}]\ncomponent: {run: {kind: job, container: {image: 'x:1'}}}\n");
    assert_eq!(errors(&c)[0].1, "joins[0].limit");
}

#[test]
fn a_build_provides_the_image_of_replicas_that_name_none_and_says_it_is_not_run() {
    let c = run("kind: component\nbuild: {hubRef: kaniko, params: {destination: {value: 'reg/img:1'}}}\nrun:\n  kind: tfjob\n  chief: {container: {command: [python, train.py]}}\n  ps: {replicas: 1, container: {command: [python, ps.py]}}\n");
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(warning(&c, "build_not_run").len(), 1, "{:?}", c.warnings);
}

#[test]
fn hooks_are_said_to_be_not_run_yet_wherever_the_file_is_compiled() {
    let c = run("kind: component\nhooks: [{hubRef: slack, trigger: failed}]\nrun: {kind: job, container: {image: 'x:1'}}\n");
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(warning(&c, "hooks_not_run").iter().map(|w| w.0).collect::<Vec<_>>(), ["hooks"]);
}

#[test]
fn a_ray_head_gets_rays_ports_and_workers_stop_ray_before_their_pod_ends() {
    let c = run("kind: component\nrun:\n  kind: raycluster\n  head: {container: {image: 'ray:2'}}\n  workers:\n    small: {replicas: 1, container: {image: 'ray:2'}}\n    own: {replicas: 1, container: {image: 'ray:2', lifecycle: {postStart: {exec: {command: [a]}}}}}\n");
    assert!(c.valid, "{:?}", c.errors);
    let spec = &c.run.manifests[0]["spec"];
    let head = &spec["headGroupSpec"]["template"]["spec"]["containers"][0];
    let ports: Vec<(i64, &str)> = head["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["containerPort"].as_i64().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    assert_eq!(ports, [(6379, "gcs-server"), (8265, "dashboard"), (10001, "client"), (8000, "serve")]);
    let main = |g: usize| spec["workerGroupSpecs"][g]["template"]["spec"]["containers"][0].clone();
    assert_eq!(main(0)["lifecycle"]["preStop"]["exec"]["command"], json!(["/bin/sh", "-c", "ray stop"]));
    assert_eq!(
        main(1)["lifecycle"],
        json!({"postStart": {"exec": {"command": ["a"]}}}),
        "its own lifecycle stays"
    );
    // A head that names its ports keeps them.
    let c = run("kind: component\nrun:\n  kind: raycluster\n  head: {container: {image: 'ray:2', ports: [{containerPort: 1}]}}\n");
    assert_eq!(
        c.run.manifests[0]["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 1}])
    );
}

/// The main container's args as the Job has them.
fn job_args(c: &spec::Compiled) -> serde_json::Value {
    c.run.manifests[0]["spec"]["template"]["spec"]["containers"][0]["args"].clone()
}

const PARAMS: &str = r#"kind: operation
params:
  verbose: {value: true}
  quiet: {value: false}
  lr: {value: 0.1}
component:
  inputs:
  - {name: verbose, type: bool, isFlag: true}
  - {name: quiet, type: bool, isFlag: true}
  - {name: lr, type: float, argFormat: '--learning-rate={{ lr }}'}
  - {name: opt, type: str, isOptional: true}
  run:
    kind: job
    container:
      image: busybox:1.36
"#;

/// Each answer is the oracle's (polyaxon 2.18): `argFormat` is a template of the param, a false flag's empty
/// `as_arg` and an unset optional param's lone template are left out, `--x={{ opt }}` keeps `None`.
#[test]
fn args_are_rendered_and_left_out_as_polyaxon_does() {
    let c = run(&format!(
        "{PARAMS}      args: ['{{{{ params.verbose.as_arg }}}}', '{{{{ params.quiet.as_arg }}}}', \
         '{{{{ params.lr.as_arg }}}}', '{{{{ opt }}}}', '--x={{{{ opt }}}}']\n"
    ));
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(job_args(&c), json!(["--verbose", "--learning-rate=0.1", "--x=None"]));
}

/// `{{ params.as_args }}` is one item per arg as a whole field; inside an item it is a Python list, as in
/// Polyaxon, and said so.
#[test]
fn params_as_args_splits_only_as_a_whole_field() {
    let whole = run(&format!("{PARAMS}      args: '{{{{ params.as_args }}}}'\n"));
    assert_eq!(job_args(&whole), json!(["--verbose", "--learning-rate=0.1"]));
    assert!(warning(&whole, "as_args_in_text").is_empty());
    let item = run(&format!("{PARAMS}      args: ['python train.py {{{{ params.as_args }}}}']\n"));
    assert_eq!(job_args(&item), json!(["python train.py ['--verbose', '--learning-rate=0.1']"]));
    assert_eq!(warning(&item, "as_args_in_text").len(), 1, "{:?}", item.warnings);
}

/// `namespace:` as Polyaxon's agent takes it (oracle: "The provided namespace `other` is not managed by the
/// agent."): refused unless it is one the server runs jobs in; with none known, said not to be used.
#[test]
fn a_namespace_the_server_does_not_run_jobs_in_is_refused() {
    let file = |ns: &str| {
        format!("kind: operation\nnamespace: {ns}\ncomponent:\n  run:\n    kind: job\n    container: {{image: 'busybox:1.36'}}\n")
    };
    let with = |ns: &str| {
        let catalog =
            spec::catalog::Catalog::from_value(&json!({"namespace": "polyaxon", "connections": []}))
                .unwrap()
                .with_namespace("ml");
        compile(&Options {
            limits: Default::default(),
            policy: None,
            files: vec![Source { name: "f.yaml".into(), text: file(ns) }],
            params: Default::default(),
            catalog,
            refs: &NoRefs,
            run_uuid: None,
            execution: Default::default(),
        })
    };
    let other = with("other");
    assert_eq!(
        errors(&other).iter().map(|e| (e.0, e.1, e.2)).collect::<Vec<_>>(),
        [("unmanaged_namespace", "namespace", 2)]
    );
    assert!(errors(&other)[0].3.contains("polyaxon, ml"), "{:?}", other.errors);
    for ns in ["polyaxon", "ml"] {
        let ok = with(ns);
        assert!(
            ok.valid && warning(&ok, "not_honoured").is_empty(),
            "{ns}: {:?} {:?}",
            ok.errors,
            ok.warnings
        );
    }
    let unknown = run(&file("other"));
    assert!(unknown.valid);
    assert_eq!(warning(&unknown, "not_honoured").len(), 1, "{:?}", unknown.warnings);
}

/// The oracle's answers (polyaxon 2.18): an operation root's run shortcuts patch the component it names
/// (`environment` over the component's, `container` merged, `cmd` replacing the command), and the `resources`
/// shortcut makes `cpu`/`memory` a request unless given as a range, `gpu` both.
#[test]
fn an_operations_shortcuts_patch_the_component_it_names() {
    let c = run(r#"kind: operation
environment: {nodeSelector: {pool: x}}
container: {args: [x]}
resources: {cpu: 1, memory: "1Gi..2Gi", gpu: 1}
component:
  run:
    kind: job
    environment: {nodeSelector: {pool: y}}
    container: {image: 'busybox:1.36', command: [echo], args: [y]}
"#);
    assert!(c.valid, "{:?}", c.errors);
    let pod = &c.run.manifests[0]["spec"]["template"]["spec"];
    assert_eq!(pod["nodeSelector"]["pool"], "x");
    assert_eq!(pod["containers"][0]["args"], json!(["y", "x"]));
    assert_eq!(
        pod["containers"][0]["resources"],
        json!({"requests": {"cpu": 1, "memory": "1Gi", "nvidia.com/gpu": 1}, "limits": {"memory": "2Gi", "nvidia.com/gpu": 1}})
    );
    let cmd = run("kind: operation\ncmd: echo hi\ncomponent:\n  run:\n    kind: job\n    container: {image: 'busybox:1.36', command: [python, x.py]}\n");
    let main = &cmd.run.manifests[0]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!((&main["command"], &main["args"]), (&json!(["/bin/sh", "-c"]), &json!(["set -e\necho hi"])));
}

#[test]
fn an_output_may_share_an_optional_input_s_name_and_leaves_it_unset() {
    // Polyaxon 2.18 (oracle, spec/tests/probes/w05_io_name_conflict.yaml): valid, and `a` has no value.
    let c = run("kind: component\ninputs: [{name: a, type: int, value: 1, isOptional: true}]\noutputs: [{name: a, type: int}]\nrun: {kind: job, container: {image: busybox}}\n");
    assert!(c.valid, "{:?}", c.errors);
    assert_eq!(c.run.params.get("a"), None);
}

#[test]
fn tensorboard_init_uuids_are_run_uuids() {
    // Polyaxon 2.18 (oracle): `abc` is "badly formed hexadecimal UUID string"; a dashed uuid is fine.
    let step = |uuids: &str| {
        run(&format!("kind: component\nrun:\n  kind: service\n  init: [{{tensorboard: {{uuids: {uuids}}}}}]\n  container: {{image: x}}\n"))
    };
    let bad = step("[abc, 8a7f1c0e-2b5d-4e6f-9a0b-1c2d3e4f5a6b]");
    assert_eq!(
        errors(&bad),
        [(
            "invalid_value",
            "run.init[0].tensorboard.uuids[0]",
            4,
            "TensorBoard init `uuids` are run uuids; \"abc\" is not a uuid".to_string()
        )]
    );
    assert!(step("['8a7f1c0e2b5d4e6f9a0b1c2d3e4f5a6b']").valid);
}

#[test]
fn a_whole_template_that_renders_to_a_list_or_dict_is_that_list_or_dict() {
    // Polyaxon 2.18 (oracle; spec/tests/probes/y_li2.yaml, y_env3_whole.yaml): its parser reads what a template
    // renders to with `ast.literal_eval`, so a list param gives init a list of files and a dict param a whole
    // environment. Before, the files were one name (`['a.csv', 'b.csv']`) and the environment was dropped.
    let c = run("kind: component\ninputs:\n- {name: files, type: str, isList: true, value: [a.csv, b.csv], isOptional: true}\n- {name: env, type: dict, value: {nodeSelector: {pool: gpu}}, isOptional: true}\nrun:\n  kind: job\n  init: [{artifacts: {files: '{{ files }}'}}]\n  environment: '{{ env }}'\n  container: {image: busybox, command: [ls, '{{ files }}']}\n");
    assert!(c.valid, "{:?}", c.errors);
    let pod = &c.run.manifests[0]["spec"]["template"]["spec"];
    assert_eq!(pod["nodeSelector"], json!({"pool": "gpu"}));
    let step: serde_json::Value =
        serde_json::from_str(pod["initContainers"][0]["args"][2].as_str().unwrap()).unwrap();
    assert_eq!(step["artifacts"]["files"], json!(["a.csv", "b.csv"]));
    assert_eq!(
        pod["containers"][0]["command"],
        json!(["ls", "['a.csv', 'b.csv']"]),
        "container text stays text"
    );
}

#[test]
fn the_environment_s_mappings_and_lists_are_not_templates() {
    // Polyaxon 2.18 (oracle; y_env_labels.yaml, y_env2_imagePullSecrets.yaml): refused at the check. Before,
    // Myelin dropped the value without a word.
    let c = run("kind: component\ninputs: [{name: v, type: dict, value: {a: b}, isOptional: true}]\nrun:\n  kind: job\n  environment:\n    labels: '{{ v }}'\n    tolerations: x\n  container: {image: busybox}\n");
    let e = errors(&c);
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!((e[0].0, e[0].1, e[0].2), ("invalid_type", "run.environment.labels", 6));
    assert!(
        e[0].3.starts_with("`labels` must be a mapping (a template cannot stand for it here"),
        "{}",
        e[0].3
    );
    assert_eq!((e[1].1, e[1].3.as_str()), ("run.environment.tolerations", "`tolerations` must be a list"));
}

#[test]
fn a_pod_s_lists_are_lists() {
    // Polyaxon 2.18 (oracle; spec/tests/probes/y_r_volumes.yaml, y_t_*.yaml): `volumes`, `sidecars` and `init`
    // refuse a string, a template included; `ports` refuses a string unless it is a template. Before, Myelin
    // dropped such a value without a word.
    let job = |field: &str, value: &str| {
        run(&format!("kind: component\ninputs: [{{name: v, type: list, value: [], isOptional: true}}]\nrun:\n  kind: service\n  {field}: {value}\n  container: {{image: busybox}}\n"))
    };
    for field in ["volumes", "sidecars", "init"] {
        for value in ["abc", "'{{ v }}'"] {
            let c = job(field, value);
            assert_eq!(
                errors(&c).first().map(|e| (e.0, e.1.to_string())),
                Some(("invalid_type", format!("run.{field}"))),
                "{field}: {value}"
            );
        }
    }
    assert_eq!(errors(&job("ports", "abc"))[0].3, "`ports` must be a list");
    assert!(job("ports", "'{{ v }}'").valid);
}

#[test]
fn sections_are_mappings_or_lists_as_polyaxon_reads_them() {
    // Polyaxon 2.18 (oracle): each refused at its check (a `termination` template fails when it is resolved).
    // Before, Myelin dropped each without a word: the run went without its retries, its cache settings, its
    // environment, its params.
    for (file, path, what) in [
        ("kind: component\ntermination: abc\nrun: {kind: job, container: {image: x}}\n", "termination", "a mapping"),
        ("kind: component\ninputs: [{name: t, type: dict, value: {maxRetries: 2}, isOptional: true}]\ntermination: '{{ t }}'\nrun: {kind: job, container: {image: x}}\n", "termination", "a mapping"),
        ("kind: component\ncache: abc\nrun: {kind: job, container: {image: x}}\n", "cache", "a mapping"),
        ("kind: component\nplugins: abc\nrun: {kind: job, container: {image: x}}\n", "plugins", "a mapping"),
        ("kind: component\nhooks: abc\nrun: {kind: job, container: {image: x}}\n", "hooks", "a list"),
        ("kind: component\nrun: {kind: job, environment: abc, container: {image: x}}\n", "run.environment", "a mapping"),
        ("kind: operation\nparams: abc\ncomponent: {run: {kind: job, container: {image: x}}}\n", "params", "a mapping"),
        ("kind: operation\njoins: abc\ncomponent: {run: {kind: job, container: {image: x}}}\n", "joins", "a list"),
        ("kind: component\nrun:\n  kind: dag\n  operations:\n  - {name: a, params: abc, component: {run: {kind: job, container: {image: x}}}}\n", "run.operations[0].params", "a mapping"),
    ] {
        let c = run(file);
        let e = errors(&c);
        assert!(
            e.iter().any(|e| e.0 == "invalid_type" && e.1.ends_with(path) && e.3.contains(what)),
            "{file}: {e:?}"
        );
    }
}
