//! What the Kubernetes executor applies for one attempt of a run: the compiled manifests exactly as `spec`
//! built them (`Retries::Myelin`: the Job policy is the compiler's), plus only what an attempt adds:
//!   - `metadata.name` (`run-<uuid>`, `-r<N>` for retries) and `metadata.namespace`;
//!   - the labels `myelin.io/run`, `myelin.io/project`, `myelin.io/attempt` on every object and pod template,
//!     and the run and attempt in Service / Deployment selectors;
//!   - an `envFrom` reference to the attempt's Secret (`run-<uuid>[-r<N>]-env`) in every container;
//!   - Polyaxon's artifacts context: an `emptyDir` at `/plx-context/artifacts` in every container, so init steps
//!     and the job read and write where `globals` say (`{{ globals.run_outputs_path }}`);
//!   - the server's init image (`--init-image`) for the init containers of declarative steps (`myelin-init-*`),
//!     which run `myelin init` (`cli::init`).
//!
//! And it builds the Secret itself (the run token and `MLFLOW_*` settings). Pure: JSON in, JSON out.

use serde_json::{json, Map, Value};
use uuid::Uuid;

/// Label keys (the compiler sets `RUN` and `MANAGED_BY` on every object and pod template).
pub const RUN: &str = "myelin.io/run";
pub const PROJECT: &str = "myelin.io/project";
pub const ATTEMPT: &str = "myelin.io/attempt";
/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "myelin";

/// One attempt of a run. Attempt 0 keeps the compiled name (`run-<uuid>`); retries get `-r<N>`, because a Job's
/// pod template is immutable and a finished Job cannot run again.
pub struct Attempt<'a> {
    pub run: Uuid,
    pub project: Uuid,
    pub attempt: i32,
    pub namespace: &'a str,
    /// The image with the `myelin` binary (and git) that runs declarative init steps.
    pub init_image: &'a str,
}

/// The init image unless the server is told another (`--init-image`): `deploy/Dockerfile`, built and pushed to a
/// registry the cluster pulls from.
pub const DEFAULT_INIT_IMAGE: &str = concat!("myelin/myelin:", env!("CARGO_PKG_VERSION"));

impl Attempt<'_> {
    pub fn name(&self) -> String {
        name(self.run, self.attempt)
    }

    pub fn secret_name(&self) -> String {
        format!("{}-env", self.name())
    }

    fn labels(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(RUN.into(), json!(self.run.to_string()));
        m.insert(PROJECT.into(), json!(self.project.to_string()));
        m.insert(ATTEMPT.into(), json!(self.attempt.to_string()));
        m
    }

    /// The workload objects for this attempt. The first is the one whose status decides the run's.
    pub fn objects(&self, manifests: &[Value]) -> Vec<Value> {
        manifests
            .iter()
            .map(|m| {
                let mut o = m.clone();
                o["metadata"]["name"] = json!(self.name());
                o["metadata"]["namespace"] = json!(self.namespace);
                merge(&mut o["metadata"]["labels"], self.labels());
                let kind = o["kind"].as_str().unwrap_or_default().to_string();
                // Selectors follow the run and attempt, so a retry's pods are never mixed with the last one's.
                let selector = match kind.as_str() {
                    "Service" => Some(&mut o["spec"]["selector"]),
                    "Deployment" => Some(&mut o["spec"]["selector"]["matchLabels"]),
                    _ => None,
                };
                if let Some(sel) = selector {
                    sel[RUN] = json!(self.run.to_string());
                    sel[ATTEMPT] = json!(self.attempt.to_string());
                }
                for_each_template(&mut o["spec"], &mut |t| {
                    merge(&mut t["metadata"]["labels"], self.labels());
                    for list in ["containers", "initContainers"] {
                        // `get_mut`, not indexing: indexing would add `list: null`, which schemas refuse.
                        let containers = t["spec"].get_mut(list).and_then(Value::as_array_mut);
                        for c in containers.into_iter().flatten() {
                            if c["name"].as_str().is_some_and(|n| n.starts_with("myelin-init-")) {
                                c["image"] = json!(self.init_image);
                                c["command"] = json!(["myelin"]);
                            }
                            let mut from = c["envFrom"].as_array().cloned().unwrap_or_default();
                            from.push(json!({"secretRef": {"name": self.secret_name()}}));
                            c["envFrom"] = Value::Array(from);
                        }
                    }
                    artifacts_context(&mut t["spec"]);
                });
                o
            })
            .collect()
    }

    /// The Secret the pods read the run token and tracking settings from; owned by the workload so it goes
    /// with it.
    pub fn secret(&self, env: &[(&str, String)], owner: &Value) -> Value {
        let data: Map<String, Value> = env.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        json!({
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {
                "name": self.secret_name(), "namespace": self.namespace, "labels": self.labels(),
                "ownerReferences": [{
                    "apiVersion": owner["apiVersion"], "kind": owner["kind"],
                    "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                    "blockOwnerDeletion": true,
                }],
            },
            "stringData": data,
        })
    }
}

/// The volume of Polyaxon's artifacts context.
const CONTEXT_VOLUME: &str = "myelin-artifacts-context";

/// Mounts an `emptyDir` at `/plx-context/artifacts` in every container of a pod that does not mount something
/// there itself.
fn artifacts_context(pod: &mut Value) {
    let path = crate::executor::context::ARTIFACTS_PATH;
    let mut used = false;
    for list in ["containers", "initContainers"] {
        for c in pod.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
            let mounts = c["volumeMounts"].as_array().cloned().unwrap_or_default();
            if mounts.iter().any(|m| m["mountPath"] == path) {
                continue;
            }
            let mut mounts = mounts;
            mounts.push(json!({"name": CONTEXT_VOLUME, "mountPath": path}));
            c["volumeMounts"] = Value::Array(mounts);
            used = true;
        }
    }
    if used {
        let mut volumes = pod["volumes"].as_array().cloned().unwrap_or_default();
        volumes.push(json!({"name": CONTEXT_VOLUME, "emptyDir": {}}));
        pod["volumes"] = Value::Array(volumes);
    }
}

/// Whether a pod's containers name the artifacts context (their command, args, env or working directory):
/// what they write there stays in the pod.
pub fn uses_artifacts_context(manifests: &[Value]) -> bool {
    let path = crate::executor::context::ARTIFACTS_PATH;
    spec::placement::pod_specs(manifests).iter().any(|pod| {
        pod["containers"].as_array().into_iter().flatten().any(|c| {
            ["command", "args", "env", "workingDir"].iter().any(|k| c[*k].to_string().contains(path))
        })
    })
}

pub fn name(run: Uuid, attempt: i32) -> String {
    if attempt == 0 {
        format!("run-{run}")
    } else {
        format!("run-{run}-r{attempt}")
    }
}

fn merge(target: &mut Value, add: Map<String, Value>) {
    if !target.is_object() {
        *target = json!({});
    }
    for (k, v) in add {
        target[k] = v;
    }
}

/// Every pod template under a workload's spec (`template` of Jobs and Deployments, of each Kubeflow replica,
/// of Ray groups).
fn for_each_template(v: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "template" && x["spec"].get("containers").is_some() {
                    f(x);
                } else {
                    for_each_template(x, f);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| for_each_template(x, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Value {
        json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "run-x", "labels": {"myelin.io/run": "x"}},
            "spec": {"backoffLimit": 3, "activeDeadlineSeconds": 60,
                "template": {"metadata": {"labels": {"myelin.io/run": "x"}},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox",
                        "envFrom": [{"configMapRef": {"name": "cm"}}]}]}}}})
    }

    #[test]
    fn a_job_attempt_is_named_and_labelled_and_keeps_the_compiled_spec() {
        let run = Uuid::nil();
        let a =
            Attempt { run, project: Uuid::max(), attempt: 2, namespace: "ml", init_image: "reg/myelin:1" };
        let o = &a.objects(&[job()])[0];
        assert_eq!(o["metadata"]["name"], format!("run-{run}-r2"));
        assert_eq!(o["metadata"]["namespace"], "ml");
        assert_eq!(o["metadata"]["labels"][ATTEMPT], "2");
        assert_eq!(
            o["spec"],
            {
                let mut s = job()["spec"].clone();
                s["template"] = o["spec"]["template"].clone();
                s
            },
            "only the pod template changes"
        );
        assert_eq!(o["spec"]["backoffLimit"], 3, "the compiler decides the Job's policy");
        let t = &o["spec"]["template"];
        assert_eq!(t["metadata"]["labels"][PROJECT], Uuid::max().to_string());
        let from = t["spec"]["containers"][0]["envFrom"].as_array().unwrap();
        assert_eq!(from[0]["configMapRef"]["name"], "cm", "the compiled env sources stay");
        assert_eq!(from[1]["secretRef"]["name"], format!("run-{run}-r2-env"));
        let mounts = &t["spec"]["containers"][0]["volumeMounts"];
        assert_eq!(mounts, &json!([{"name": CONTEXT_VOLUME, "mountPath": "/plx-context/artifacts"}]));
        assert_eq!(t["spec"]["volumes"], json!([{"name": CONTEXT_VOLUME, "emptyDir": {}}]));
        assert!(!uses_artifacts_context(&[job()]));
        let mut writes = job();
        writes["spec"]["template"]["spec"]["containers"][0]["args"] =
            json!(["/plx-context/artifacts/u/outputs"]);
        assert!(uses_artifacts_context(&[writes]));
    }

    #[test]
    fn kubeflow_replicas_and_services_follow_the_attempt() {
        let a =
            Attempt { run: Uuid::nil(), project: Uuid::nil(), attempt: 1, namespace: "d", init_image: "i" };
        let tf = json!({"apiVersion": "kubeflow.org/v1", "kind": "TFJob", "metadata": {"name": "n"},
            "spec": {"tfReplicaSpecs": {"Worker": {"replicas": 2, "template": {"spec": {"containers": [{"name": "tensorflow"}]}}}}}});
        let o = &a.objects(&[tf])[0];
        let t = &o["spec"]["tfReplicaSpecs"]["Worker"]["template"];
        assert_eq!(t["metadata"]["labels"][ATTEMPT], "1");
        assert!(t["spec"]["containers"][0]["envFrom"][0]["secretRef"].is_object());
        assert!(o["spec"].get("backoffLimit").is_none(), "only Jobs get Job fields");
        assert!(t["spec"].get("initContainers").is_none(), "no null lists added");
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "n"},
            "spec": {"selector": {"myelin.io/run": "x"}}});
        let sel = &a.objects(&[svc])[0]["spec"]["selector"];
        assert_eq!(sel[ATTEMPT], "1");
        assert_eq!(sel[RUN], Uuid::nil().to_string(), "the compiler's placeholder uuid is replaced");
    }

    #[test]
    fn declarative_init_steps_run_myelin_init_from_the_servers_image() {
        let a = Attempt {
            run: Uuid::nil(),
            project: Uuid::nil(),
            attempt: 0,
            namespace: "d",
            init_image: "reg/m:2",
        };
        let mut j = job();
        j["spec"]["template"]["spec"]["initContainers"] = json!([
            {"name": "myelin-init-git-0", "image": "myelin/init:latest", "args": ["init", "git", "{}"]},
            {"name": "custom", "image": "busybox", "command": ["echo"]},
        ]);
        let o = &a.objects(&[j])[0];
        let inits = &o["spec"]["template"]["spec"]["initContainers"];
        assert_eq!((&inits[0]["image"], &inits[0]["command"]), (&json!("reg/m:2"), &json!(["myelin"])));
        assert_eq!(inits[0]["args"], json!(["init", "git", "{}"]));
        assert_eq!(
            (&inits[1]["image"], &inits[1]["command"]),
            (&json!("busybox"), &json!(["echo"])),
            "the user's own"
        );
        assert_eq!(
            inits[0]["envFrom"][0]["secretRef"]["name"],
            format!("run-{}-env", Uuid::nil()),
            "the run token"
        );
    }

    #[test]
    fn the_secret_is_owned_by_the_workload() {
        let a =
            Attempt { run: Uuid::nil(), project: Uuid::nil(), attempt: 0, namespace: "d", init_image: "i" };
        let owner =
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "run-0", "uid": "u-1"}});
        let s = a.secret(&[("MYELIN_RUN_TOKEN", "t".into())], &owner);
        assert_eq!(s["stringData"]["MYELIN_RUN_TOKEN"], "t");
        assert_eq!(s["metadata"]["ownerReferences"][0]["uid"], "u-1");
        assert_eq!(s["metadata"]["name"], format!("run-{}-env", Uuid::nil()));
    }
}
