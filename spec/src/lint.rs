//! Warnings beyond Polyaxon, for the failure modes users hit in production.

use serde_json::Value;

use crate::compile::{join, At, Compiler};

pub(crate) fn run(c: &mut Compiler, component: &Value, run: &Value, at: At) {
    let containers = [("container", &run["container"])];
    for (key, ctr) in containers {
        let Some(image) = ctr["image"].as_str() else { continue };
        let path = join(&join(&join(at.path, "run"), key), "image");
        let tag = image.rsplit('/').next().and_then(|last| last.split_once(':')).map(|(_, t)| t);
        if !image.contains('@') && tag.is_none_or(|t| t == "latest") {
            c.warn(At { doc: at.doc, path: &path }, "unpinned_image", format!("image `{image}` has no fixed tag: reruns may use a different image (pin a tag or digest)"));
        }
        let gpu = crate::pod::requests_gpu(&crate::pod::container(ctr, "main"));
        let env = &run["environment"];
        let placed = ["nodeSelector", "node_selector", "tolerations", "affinity"]
            .iter()
            .any(|k| env.get(*k).is_some_and(|v| !v.is_null()));
        if gpu && !placed {
            c.warn(At { doc: at.doc, path: &join(at.path, "run") }, "gpu_without_placement", "GPUs are requested but no nodeSelector, tolerations or affinity is set: on clusters whose GPU nodes are tainted the run will stay pending");
        }
    }
    let cache_on = component["cache"]["disable"] != Value::Bool(true) && !component["cache"].is_null();
    if cache_on {
        let text = run["container"].to_string();
        for marker in crate::cache::NEVER_HITS {
            if text.contains(marker) {
                c.warn(At { doc: at.doc, path: &join(at.path, "cache") }, "cache_never_hits", format!("the command uses `{marker}`, which changes on every run: its cache key can never match"));
            }
        }
    }
}
