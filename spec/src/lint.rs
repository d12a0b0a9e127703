//! Warnings beyond Polyaxon, for the failure modes users hit in production.

use serde_json::Value;

use crate::compile::{join, At, Compiler};

pub(crate) fn run(c: &mut Compiler, run: &Value, at: At) {
    let containers = [("container", &run["container"])];
    for (key, ctr) in containers {
        let Some(image) = ctr["image"].as_str() else { continue };
        let path = join(&join(&join(at.path, "run"), key), "image");
        let tag = image.rsplit('/').next().and_then(|last| last.split_once(':')).map(|(_, t)| t);
        if !image.contains('@') && tag.is_none_or(|t| t == "latest") {
            c.warn(At { doc: at.doc, path: &path }, "unpinned_image", format!("image `{image}` has no fixed tag: reruns may use a different image (pin a tag or digest)"));
        }
        let gpu = crate::pod::requests_gpu(ctr);
        let env = &run["environment"];
        let placed = ["nodeSelector", "node_selector", "tolerations", "affinity"]
            .iter()
            .any(|k| env.get(*k).is_some_and(|v| !v.is_null()));
        if gpu && !placed {
            c.warn(At { doc: at.doc, path: &join(at.path, "run") }, "gpu_without_placement", "GPUs are requested but no nodeSelector, tolerations or affinity is set: on clusters whose GPU nodes are tainted the run will stay pending");
        }
    }
}

/// `as_args_in_text`: `{{ params.as_args }}` gives one item per arg only as a whole `command` or `args`
/// (`args: "{{ params.as_args }}"`); inside an item it prints as a Python list, as it does in Polyaxon. Read
/// from the run as written (before rendering).
pub(crate) fn as_args_in_text(c: &mut Compiler, container: &Value, at: At) {
    for key in ["command", "args"] {
        let whole =
            |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>() == "{{params.as_args}}";
        let named = |t: &&str| t.contains("params.as_args");
        // Named only where found: most files never write it.
        let items: Vec<(String, &str)> = match &container[key] {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.as_str().filter(named).map(|t| (format!("{key}[{i}]"), t)))
                .collect(),
            Value::String(s) if named(&s.as_str()) && !whole(s) => vec![(key.to_string(), s.as_str())],
            _ => Vec::new(),
        };
        for (field, text) in items {
            let path = join(&join(&join(at.path, "run"), "container"), &field);
            c.warn(
                At { doc: at.doc, path: &path },
                "as_args_in_text",
                format!(
                    "`{text}` prints the args as one Python list (`['--a=1', '--b=x']`), as in Polyaxon: write \
                     `{key}: \"{{{{ params.as_args }}}}\"` for one item per arg"
                ),
            );
        }
    }
}

/// `cache_never_hits`: a cached run (an op of a pipeline, unless its `cache` says otherwise; any run whose
/// `cache` turns it on) whose cache key is made of something that changes on every run — a param's or an
/// output's value, or a main container's command or args, as written — can never reuse a result. Said where
/// the culprit is written.
pub(crate) fn cache_never_hits(
    c: &mut Compiler,
    (op, at): (&Value, At),
    (component, comp_at): (&Value, At),
    in_pipeline: bool,
) {
    let cache = crate::cache::CacheSpec::from_value(&component["cache"]);
    if !cache.enabled(in_pipeline) {
        return;
    }
    let mut found: Vec<(usize, String, &'static str)> = Vec::new();
    // Params the operation gives, then the values inputs and outputs declare.
    let params = crate::io::normalize_params(op.get("params"));
    for (name, p) in &params {
        if let Some(m) =
            cache.counts(name).then(|| crate::cache::never_hits(&p["value"].to_string())).flatten()
        {
            found.push((at.doc, join(&join(at.path, "params"), name), m));
        }
    }
    for key in ["inputs", "outputs"] {
        for (i, io) in component[key].as_array().into_iter().flatten().enumerate() {
            let name = io["name"].as_str().unwrap_or_default();
            let given = params.contains_key(name);
            if let Some(m) = (cache.counts(name) && !given)
                .then(|| crate::cache::never_hits(&io["value"].to_string()))
                .flatten()
            {
                found.push((comp_at.doc, join(&join(comp_at.path, &format!("{key}[{i}]")), "value"), m));
            }
        }
    }
    if cache.section("containers") {
        let run = &component["run"];
        let mut containers = vec![("container".to_string(), &run["container"])];
        // Replicas (Kubeflow, Ray, Dask) carry their own main container.
        if let Some(m) = run.as_object() {
            containers.extend(
                m.iter()
                    .filter(|(_, v)| v.get("container").is_some())
                    .map(|(k, v)| (format!("{k}.container"), &v["container"])),
            );
        }
        for (path, ctr) in containers {
            for field in ["command", "args"] {
                if let Some(m) = ctr.get(field).and_then(|v| crate::cache::never_hits(&v.to_string())) {
                    found.push((comp_at.doc, join(&join(&join(comp_at.path, "run"), &path), field), m));
                }
            }
        }
    }
    for (doc, path, marker) in found {
        c.warn(At { doc, path: &path }, "cache_never_hits", format!("`{marker}` changes on every run and is part of this run's cache key: it can never reuse a result (drop it, leave it out with `cache.io`/`cache.sections`, or set `cache.disable: true`)"));
    }
}
