//! What Myelin accepts but does not act on, said where it is written (a warning), never silently dropped:
//! sections Polyaxon runs that Myelin does not yet (`build`, `hooks`), fields of Polyaxon's own machinery
//! (`queue`, `namespace`, `presets`, `cost`, `mount`), and plugin or termination settings that differ from what
//! Myelin does.

use serde_json::Value;

use crate::compile::{join, At, Compiler};

/// Where a field of a compiled operation is written: the operation's own (`op`) or its component's.
pub(crate) struct Written<'a> {
    pub op: &'a Value,
    pub at: At<'a>,
    pub comp_at: At<'a>,
}

impl Written<'_> {
    /// The path of `key` (dotted) where it is written; `None` when neither the operation nor its component
    /// writes it (a pipeline pushed it down, and said so where it wrote it).
    pub(crate) fn of(&self, component: &Value, key: &str) -> Option<(usize, String)> {
        let get = |v: &Value| key.split('.').try_fold(v, |v, k| v.get(k)).filter(|v| !v.is_null()).is_some();
        if get(self.op) {
            Some((self.at.doc, join(self.at.path, key)))
        } else if get(component) {
            Some((self.comp_at.doc, join(self.comp_at.path, key)))
        } else {
            None
        }
    }
}

/// Plugins whose Polyaxon default is what Myelin does, with the value Myelin cannot honour and why.
const PLUGINS: &[(&str, bool, &str)] = &[
    (
        "auth",
        false,
        "every run gets a token for its own run (tracking, artifacts); `auth: false` does not remove it",
    ),
    ("docker", true, "Myelin does not mount the host's Docker socket into a run"),
    ("tmux", true, "Myelin has no tmux sessions in runs"),
    ("sandbox", true, "Myelin has no sandbox server in runs"),
    ("ssh", true, "Myelin has no SSH access to runs"),
    (
        "mountArtifactsStore",
        true,
        "runs reach the artifact store through the server (MLflow's artifact API), never by a mount",
    ),
    ("collectArtifacts", false, "Myelin keeps what a run logs through MLflow's artifact API either way"),
    ("collectLogs", false, "Myelin collects every run's logs"),
    ("collectResources", true, "Myelin does not sample a run's CPU, memory and GPU use"),
    ("syncStatuses", false, "Myelin follows every run's status"),
    ("autoResume", false, "Myelin does not resume runs from their last artifacts"),
    ("externalHost", true, "Myelin does not expose runs on an external host"),
];

impl Compiler<'_> {
    /// Warns, at each place it is written, about what this operation sets that Myelin will not act on.
    pub(crate) fn unheeded(&mut self, component: &Value, w: &Written, kind: &str) {
        // The message is only written for a field that is there (most compiles have none of them).
        let say = |c: &mut Self, key: &str, code: &'static str, message: &dyn Fn() -> String| {
            if let Some((doc, path)) = w.of(component, key) {
                c.warn(At { doc, path: &path }, code, message());
            }
        };
        if kind != "dag" {
            say(self, "build", "build_not_run", &|| {
                "Myelin does not run `build` yet: nothing builds this run's image, so a container without \
                     `image` cannot start; name an image that exists in `run.container.image`"
                    .into()
            });
        }
        say(self, "hooks", "hooks_not_run", &|| {
            "Myelin does not run `hooks` yet: no operation starts when this run ends".into()
        });
        let fields: [(&str, &str); 4] = [
            ("queue", "a run waits in its project's queue (the project's concurrency limit); Myelin has no agent queues"),
            ("presets", "Myelin has no presets; put their settings in the file or in an overlay (`-f`)"),
            ("cost", "Myelin does not account for the cost of runs"),
            (
                "mount",
                "Myelin does not copy local paths into runs; upload them (`myelin artifacts upload`) and copy them in \
                 with an `init` artifacts step",
            ),
        ];
        for (key, why) in fields {
            say(self, key, "not_honoured", &|| format!("`{key}` is not used: {why}"));
            if key == "queue" {
                self.namespace(component, w);
            }
        }
        for (key, why) in [
            ("culling", "Myelin does not stop idle services"),
            ("probe", "Myelin does not probe runs for liveness"),
            (
                "podFailurePolicy",
                "Myelin decides retries itself (`termination.maxRetries`), evictions and preemptions aside",
            ),
        ] {
            if component["termination"].get(key).is_some() || w.op["termination"].get(key).is_some() {
                let key = format!("termination.{key}");
                say(self, &key, "not_honoured", &|| format!("`{key}` is not used: {why}"));
            }
        }
        let plugins = &component["plugins"];
        for (key, unheeded, why) in PLUGINS {
            if crate::scalars::lax_bool(&plugins[*key]) == Some(*unheeded) {
                let key = format!("plugins.{key}");
                say(self, &key, "not_honoured", &|| format!("`{key}: {unheeded}` is not honoured: {why}"));
            }
        }
        for key in ["logLevel", "sidecar"] {
            if plugins.get(key).is_some() || w.op["plugins"].get(key).is_some() {
                let key = format!("plugins.{key}");
                let why = "it configures Polyaxon's sidecar, which Myelin does not run";
                say(self, &key, "not_honoured", &|| format!("`{key}` is not used: {why}"));
            }
        }
        if plugins["notifications"].as_array().is_some_and(|n| !n.is_empty()) {
            say(self, "plugins.notifications", "not_honoured", &|| {
                "`plugins.notifications` are not sent: Myelin has no notification connections yet".into()
            });
        }
        if kind == "service" {
            for (key, why) in [
                ("rewritePath", "Myelin does not proxy services; reach them through the cluster's Service"),
                ("isExternal", "Myelin does not expose services outside the cluster"),
            ] {
                let key = format!("run.{key}");
                say(self, &key, "not_honoured", &|| format!("`{key}` is not used: {why}"));
            }
        }
    }

    /// An operation's `schedule` and `events`, which Myelin reads only in part.
    pub(crate) fn unheeded_triggers(&mut self, op: &Value, at: At) {
        if op.get("schedule").is_some_and(|s| !s.is_null()) {
            let p = join(at.path, "schedule");
            self.warn(
                At { doc: at.doc, path: &p },
                "schedule_not_repeated",
                "Myelin runs a schedule's first run when it is submitted and does not repeat it: `schedule` starts \
                 nothing later",
            );
        }
        for (i, e) in op.get("events").and_then(Value::as_array).into_iter().flatten().enumerate() {
            if e.get("kinds").is_some_and(|k| !k.is_null()) {
                let p = join(at.path, &format!("events[{i}].kinds"));
                self.warn(
                    At { doc: at.doc, path: &p },
                    "not_honoured",
                    "event `kinds` are not watched: the op waits for the run it names to end, and its `trigger` \
                     decides whether it starts",
                );
            }
        }
    }
}

impl Compiler<'_> {
    /// `namespace:` as Polyaxon's agent reads it: one the server does not run jobs in is refused; with none
    /// known here (a local server, no agent config) it is said not to be used.
    fn namespace(&mut self, component: &Value, w: &Written) {
        let Some((doc, path)) = w.of(component, "namespace") else { return };
        let at = At { doc, path: &path };
        let asked = if w.op.get("namespace").is_some_and(|v| !v.is_null()) {
            &w.op["namespace"]
        } else {
            &component["namespace"]
        };
        let asked = crate::render::json_python_str(asked);
        let known = self.opts.catalog.namespaces().to_vec();
        if known.is_empty() {
            let why = "runs go to the namespace the server was started with (`--namespace`)";
            self.warn(at, "not_honoured", format!("`namespace` is not used: {why}"));
        } else if !known.contains(&asked) {
            self.error(
                at,
                "unmanaged_namespace",
                format!("namespace `{asked}` is not one this server runs jobs in ({})", known.join(", ")),
            );
        }
    }
}
