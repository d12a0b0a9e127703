//! Compile speed: a typical job file, a 100-op DAG, a 1,000-child grid.
//! `cargo bench -p spec --bench compile` (issue #19: ≥ 100× Polyaxon for the job; the 500-op DAG with keys < 10 ms).

use criterion::{criterion_group, criterion_main, Criterion};

// The allocator the server binary uses (`app/src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use serde_json::json;
use spec::{compile, NoRefs, Options, Source};

const JOB: &str = r#"
version: 1.1
kind: component
name: train
inputs:
- {name: lr, type: float, value: 0.01, isOptional: true}
- {name: epochs, type: int}
- {name: optimizer, type: str, value: adam, isOptional: true}
run:
  kind: job
  environment:
    nodeSelector: {gpu: a100}
    tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
    labels: {team: vision}
  init:
  - git: {url: "https://github.com/org/repo", revision: main}
  container:
    image: pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime
    command: [python, train.py]
    args: ["--lr={{ lr }}", "--epochs={{ epochs }}", "--optimizer={{ optimizer }}", "--out={{ globals.run_outputs_path }}"]
    resources: {limits: {nvidia.com/gpu: 1, memory: 16Gi}, requests: {cpu: 4}}
"#;

fn dag(n: usize) -> String {
    let mut s = String::from("kind: component\ninputs:\n- {name: lr, type: float, value: 0.1, isOptional: true}\nrun:\n  kind: dag\n  operations:\n");
    for i in 0..n {
        let deps = if i == 0 { String::new() } else { format!(", dependencies: [op{}]", (i - 1) / 2) };
        s.push_str(&format!("  - {{name: op{i}, dagRef: step{deps}, params: {{lr: {{ref: dag, value: inputs.lr}}, i: {{value: {i}}}}}}}\n"));
    }
    s.push_str("  components:\n  - name: step\n    inputs:\n    - {name: lr, type: float}\n    - {name: i, type: int}\n    run:\n      kind: job\n      container: {image: 'busybox:1.36', command: [sh, -c], args: ['echo {{ i }} {{ lr }}']}\n");
    s
}

const GRID: &str = r#"
kind: operation
matrix:
  kind: grid
  params:
    a: {kind: range, value: "0:10:1"}
    b: {kind: linspace, value: "0.1:1:10"}
    c: {kind: choice, value: [relu, tanh, gelu, silu, elu, selu, mish, swish, sigmoid, softplus]}
component:
  run: {kind: job, container: {image: 'busybox:1.36', command: ['echo {{ a }} {{ b }} {{ c }}']}}
"#;

fn options(text: &str, params: Vec<(String, serde_json::Value)>) -> Options<'static> {
    Options {
        limits: Default::default(),
        policy: None,
        files: vec![Source { name: "bench.yaml".into(), text: text.into() }],
        params,
        catalog: Default::default(),
        refs: &NoRefs,
        run_uuid: Some("0123456789abcdef0123456789abcdef".into()),
        execution: Default::default(),
    }
}

fn benches(c: &mut Criterion) {
    // The same texts for Polyaxon's side (`scripts/bench/table`).
    if let Ok(dir) = std::env::var("MYELIN_BENCH_FILES") {
        for (name, text) in
            [("job.yaml", JOB.to_string()), ("dag100.yaml", dag(100)), ("grid.yaml", GRID.into())]
        {
            std::fs::write(std::path::Path::new(&dir).join(name), text).expect("write a bench file");
        }
    }
    let job = options(JOB, vec![("epochs".into(), json!("10"))]);
    assert!(compile(&job).valid);
    c.bench_function("compile typical job", |b| b.iter(|| compile(&job)));

    let dag_text = dag(100);
    let dag_opts = options(&dag_text, vec![]);
    let out = compile(&dag_opts);
    assert!(out.valid && out.run.ops.len() == 100, "{:?}", out.errors);
    c.bench_function("compile 100-op DAG", |b| b.iter(|| compile(&dag_opts)));

    // Planning with cache keys: a 500-op DAG compiled, then every op keyed (issue #7 asks < 20 ms for both).
    let dag500 = dag(500);
    let dag500_opts = options(&dag500, vec![]);
    let out = compile(&dag500_opts);
    assert!(out.valid && out.run.ops.len() == 500, "{:?}", out.errors);
    let keys = |out: &spec::Compiled| -> Vec<String> {
        let digests = std::collections::BTreeMap::new();
        out.run
            .ops
            .iter()
            .map(|op| {
                let subject = spec::cache::Subject {
                    uuid: &op.run.uuid,
                    kind: op.run.kind.map(|k| k.as_str()).unwrap_or_default(),
                    params: &op.run.params,
                    pods: spec::placement::pod_specs(&op.run.manifests),
                    connections: vec![],
                    upstream: Default::default(),
                    digests: &digests,
                };
                spec::cache::KeyInputs::of(&subject, &spec::cache::CacheSpec::default()).key()
            })
            .collect()
    };
    assert_eq!(keys(&out).len(), 500);
    c.bench_function("cache keys of a 500-op DAG", |b| b.iter(|| keys(&out)));
    c.bench_function("compile + cache keys of a 500-op DAG", |b| b.iter(|| keys(&compile(&dag500_opts))));

    let grid = options(GRID, vec![]);
    let out = compile(&grid);
    assert_eq!(out.run.matrix.as_ref().map(|m| m.suggestions.len()), Some(1000));
    c.bench_function("compile 1000-child grid", |b| b.iter(|| compile(&grid)));
    let matrix = spec::yaml::parse("grid.yaml", GRID).unwrap().value["matrix"].clone();
    c.bench_function("expand 1000-child grid (suggestions only)", |b| {
        b.iter(|| spec::matrix::suggestions(&matrix))
    });
}

criterion_group!(compile_benches, benches);
criterion_main!(compile_benches);
