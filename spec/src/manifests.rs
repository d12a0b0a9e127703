//! The Kubernetes objects Myelin submits for each run kind. Names derive from the run uuid, so the same
//! input always gives the same output.

use serde_json::{json, Map, Value};

use crate::catalog::Catalog;
use crate::compile::{Retries, Termination};
use crate::pod::{object, template, PodInput};

pub struct Workload<'a> {
    pub uuid: &'a str,
    pub run: &'a Value,
    pub termination: Termination,
    /// Who retries a failed Job (Myelin's server does it itself, with a new Job per attempt).
    pub retries: Retries,
    pub catalog: &'a Catalog,
    /// The run has a `build` that provides its image.
    pub built: bool,
    /// `plugins.shm`: main containers get a memory-backed `/dev/shm`.
    pub shm: bool,
}

impl Workload<'_> {
    fn name(&self) -> String {
        format!("run-{}", self.uuid)
    }

    fn labels(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("app.kubernetes.io/managed-by".into(), json!("myelin"));
        m.insert("myelin.io/run".into(), json!(self.uuid));
        m
    }

    /// A Kubernetes object of this run: its kind, metadata and `spec` (moved in).
    fn object(&self, api_version: &str, kind: &str, spec: Map<String, Value>) -> Value {
        object([
            ("apiVersion", Value::String(api_version.into())),
            ("kind", Value::String(kind.into())),
            ("metadata", self.metadata()),
            ("spec", Value::Object(spec)),
        ])
    }

    fn metadata(&self) -> Value {
        object([("name", Value::String(self.name())), ("labels", Value::Object(self.labels()))])
    }

    fn pod(&self, section: &Value, main: &str, restart: Option<&str>) -> Result<Value, String> {
        let labels = self.labels();
        template(&PodInput {
            section,
            main_name: main,
            restart_policy: restart,
            catalog: self.catalog,
            run_labels: &labels,
            built: self.built,
            shm: self.shm,
        })
    }

    /// `termination` as the fields batch Jobs, Kubeflow run policies and RayJobs share.
    fn termination_fields(&self) -> Map<String, Value> {
        let t = self.termination;
        let mut m = Map::new();
        m.insert("backoffLimit".into(), json!(t.max_retries.unwrap_or(0)));
        if let Some(v) = t.timeout {
            m.insert("activeDeadlineSeconds".into(), json!(v));
        }
        if let Some(v) = t.ttl {
            m.insert("ttlSecondsAfterFinished".into(), json!(v));
        }
        m
    }

    /// A batch Job's fields: its termination, and when Myelin retries, the fixed policy that leaves retries to
    /// Myelin and replaces pods that were evicted or preempted (not the user's failures).
    fn job_fields(&self) -> Map<String, Value> {
        let mut m = self.termination_fields();
        if self.retries == Retries::Myelin {
            m.insert("backoffLimit".into(), json!(0));
            m.insert(
                "podFailurePolicy".into(),
                json!({"rules": [
                    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}
                ]}),
            );
            m.insert("podReplacementPolicy".into(), json!("Failed"));
        }
        m
    }

    pub fn build(&self, kind: &str) -> Result<Vec<Value>, String> {
        match kind {
            "job" => self.job(),
            "service" => self.service(),
            "tfjob" => self.kubeflow(
                "TFJob",
                "tfReplicaSpecs",
                &[("chief", "Chief"), ("ps", "PS"), ("worker", "Worker"), ("evaluator", "Evaluator")],
                "tensorflow",
            ),
            "pytorchjob" => self.kubeflow(
                "PyTorchJob",
                "pytorchReplicaSpecs",
                &[("master", "Master"), ("worker", "Worker")],
                "pytorch",
            ),
            "mpijob" => self.kubeflow(
                "MPIJob",
                "mpiReplicaSpecs",
                &[("launcher", "Launcher"), ("worker", "Worker")],
                "main",
            ),
            "raycluster" => self.ray(),
            "daskcluster" => self.dask(),
            other => Err(format!("run kind `{other}` has no workload")),
        }
    }

    fn job(&self) -> Result<Vec<Value>, String> {
        let mut spec = self.job_fields();
        spec.insert("template".into(), self.pod(self.run, "main", Some("Never"))?);
        Ok(vec![self.object("batch/v1", "Job", spec)])
    }

    fn service(&self) -> Result<Vec<Value>, String> {
        let ports: Vec<i64> = match &self.run["ports"] {
            Value::Array(a) => {
                a.iter().filter_map(|p| p.as_i64().or_else(|| p.as_str()?.parse().ok())).collect()
            }
            Value::Number(n) => n.as_i64().into_iter().collect(),
            _ => vec![],
        };
        let mut template = self.pod(self.run, "main", None)?;
        // The service's ports are the main container's.
        if let Some(main) = template["spec"]["containers"].get_mut(0) {
            let mut list = main["ports"].as_array().cloned().unwrap_or_default();
            for p in &ports {
                if !list.iter().any(|x| x["containerPort"] == *p) {
                    list.push(json!({"containerPort": p}));
                }
            }
            if !list.is_empty() {
                main["ports"] = Value::Array(list);
            }
        }
        let replicas = self.run.get("replicas").filter(|v| !v.is_null()).cloned().unwrap_or(json!(1));
        let selector = json!({"myelin.io/run": self.uuid});
        let mut spec = Map::new();
        spec.insert("replicas".into(), replicas);
        spec.insert("selector".into(), json!({"matchLabels": selector}));
        spec.insert("template".into(), template);
        let deployment = self.object("apps/v1", "Deployment", spec);
        let service = json!({
            "apiVersion": "v1", "kind": "Service", "metadata": self.metadata(),
            "spec": {"selector": selector, "ports": ports.iter().map(|p| json!({"name": format!("port-{p}"), "port": p, "targetPort": p})).collect::<Vec<_>>()},
        });
        Ok(vec![deployment, service])
    }

    fn kubeflow(
        &self,
        kind: &str,
        field: &str,
        roles: &[(&str, &str)],
        main: &str,
    ) -> Result<Vec<Value>, String> {
        let mut replicas = Map::new();
        for (key, role) in roles {
            let Some(r) = self.run.get(*key).filter(|v| !v.is_null()) else { continue };
            let restart = r["environment"]["restartPolicy"].as_str().unwrap_or("OnFailure").to_string();
            let count = r.get("replicas").filter(|v| !v.is_null()).cloned().unwrap_or(json!(1));
            let template = self.pod(r, main, None).map_err(|e| format!("{key}: {e}"))?;
            replicas.insert(
                (*role).into(),
                object([
                    ("replicas", count),
                    ("restartPolicy", Value::String(restart)),
                    ("template", template),
                ]),
            );
        }
        let mut run_policy = self.termination_fields();
        run_policy.insert(
            "cleanPodPolicy".into(),
            self.run.get("cleanPodPolicy").cloned().filter(|v| !v.is_null()).unwrap_or(json!("None")),
        );
        if let Some(s) = self.run.get("schedulingPolicy").filter(|v| !v.is_null()) {
            run_policy.insert("schedulingPolicy".into(), crate::pod::camel(s));
        }
        let mut spec = Map::new();
        spec.insert("runPolicy".into(), Value::Object(run_policy));
        spec.insert(field.into(), Value::Object(replicas));
        for (from, to) in [
            ("successPolicy", "successPolicy"),
            ("enableDynamicWorker", "enableDynamicWorker"),
            ("slotsPerWorker", "slotsPerWorker"),
            ("nProcPerNode", "nprocPerNode"),
        ] {
            if let Some(v) = self.run.get(from).filter(|v| !v.is_null()) {
                spec.insert(to.into(), crate::pod::camel(v));
            }
        }
        if let Some(Value::Object(p)) = self.run.get("elasticPolicy") {
            spec.insert("elasticPolicy".into(), Value::Object(kubeflow_elastic_policy(p)));
        }
        Ok(vec![self.object("kubeflow.org/v1", kind, spec)])
    }

    fn ray(&self) -> Result<Vec<Value>, String> {
        let mut cluster = Map::new();
        if let Some(v) = self.run.get("rayVersion").filter(|v| !v.is_null()) {
            cluster.insert("rayVersion".into(), v.clone());
        }
        for k in ["enableInTreeAutoscaling", "autoscalerOptions"] {
            if let Some(v) = self.run.get(k).filter(|v| !v.is_null()) {
                cluster.insert(k.into(), v.clone());
            }
        }
        if let Some(head) = self.run.get("head").filter(|v| !v.is_null()) {
            let mut template = self.pod(head, "main", None).map_err(|e| format!("head: {e}"))?;
            // Ray's ports on a head that names none (Polyaxon's and KubeRay's defaults).
            if let Some(main) =
                main_of(&mut template).filter(|m| m["ports"].as_array().is_none_or(Vec::is_empty))
            {
                main["ports"] = json!([
                    {"containerPort": 6379, "name": "gcs-server", "protocol": "TCP"},
                    {"containerPort": 8265, "name": "dashboard", "protocol": "TCP"},
                    {"containerPort": 10001, "name": "client", "protocol": "TCP"},
                    {"containerPort": 8000, "name": "serve", "protocol": "TCP"},
                ]);
            }
            // The dashboard must listen beyond the pod's loopback to be reachable (KubeRay's and Polyaxon's default).
            let mut params =
                head.get("rayStartParams").and_then(Value::as_object).cloned().unwrap_or_default();
            params.entry("dashboard-host").or_insert(json!("0.0.0.0"));
            let head = object([("rayStartParams", Value::Object(params)), ("template", template)]);
            cluster.insert("headGroupSpec".into(), head);
        }
        let mut groups = Vec::new();
        if let Some(Value::Object(workers)) = self.run.get("workers") {
            for (name, w) in workers {
                let mut template = self.pod(w, "main", None).map_err(|e| format!("workers.{name}: {e}"))?;
                // A worker leaves the cluster cleanly when its pod stops, unless it says otherwise.
                if let Some(main) =
                    main_of(&mut template).filter(|m| m.get("lifecycle").is_none_or(Value::is_null))
                {
                    main["lifecycle"] =
                        json!({"preStop": {"exec": {"command": ["/bin/sh", "-c", "ray stop"]}}});
                }
                let mut g = object([
                    ("groupName", Value::String(name.clone())),
                    ("replicas", w.get("replicas").cloned().unwrap_or(json!(1))),
                    ("rayStartParams", w.get("rayStartParams").cloned().unwrap_or(json!({}))),
                    ("template", template),
                ]);
                for k in ["minReplicas", "maxReplicas"] {
                    if let Some(v) = w.get(k).filter(|v| !v.is_null()) {
                        g[k] = v.clone();
                    }
                }
                groups.push(g);
            }
        }
        cluster.insert("workerGroupSpecs".into(), Value::Array(groups));
        match self.run.get("entrypoint").filter(|v| !v.is_null()) {
            Some(entrypoint) => {
                let mut spec = self.termination_fields();
                spec.insert("entrypoint".into(), entrypoint.clone());
                if let Some(env) = self.run.get("runtimeEnv").filter(|v| !v.is_null()) {
                    spec.insert("runtimeEnvYAML".into(), Value::String(env.to_string()));
                }
                if let Some(m) = self.run.get("metadata").filter(|v| !v.is_null()) {
                    spec.insert("metadata".into(), m.clone());
                }
                spec.insert("rayClusterSpec".into(), Value::Object(cluster));
                Ok(vec![self.object("ray.io/v1", "RayJob", spec)])
            }
            None => Ok(vec![self.object("ray.io/v1", "RayCluster", cluster)]),
        }
    }

    fn dask(&self) -> Result<Vec<Value>, String> {
        let mut spec = Map::new();
        for (key, role) in [("scheduler", "scheduler"), ("worker", "worker")] {
            let Some(part) = self.run.get(key).filter(|v| !v.is_null()) else { continue };
            let mut t = self.pod(part, "main", None).map_err(|e| format!("{key}: {e}"))?;
            if let Some(main) = main_of(&mut t) {
                dask_defaults(main, role);
            }
            if role == "scheduler" {
                // The scheduler's Service targets its container's ports by name (the Dask operator's CRD takes
                // `targetPort` as a name); a port without one gets `port-<number>`.
                if let Some(main) = main_of(&mut t) {
                    let ports = main["ports"].as_array().cloned().unwrap_or_default();
                    let named: Vec<Value> = ports
                        .into_iter()
                        .map(|mut p| {
                            if p["name"].as_str().is_none_or(str::is_empty) {
                                p["name"] = json!(format!("port-{}", p["containerPort"]));
                            }
                            p
                        })
                        .collect();
                    main["ports"] = Value::Array(named);
                }
            }
            // The pod template's metadata and spec, as Dask's CRD takes them.
            let mut p = t;
            if role == "worker" {
                p["replicas"] = part.get("replicas").cloned().unwrap_or(json!(1));
            } else {
                let ports: Vec<Value> = main_of(&mut p)
                    .and_then(|m| m["ports"].as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .map(|c| {
                        let protocol = c.get("protocol").cloned().unwrap_or(json!("TCP"));
                        json!({"name": c["name"], "port": c["containerPort"], "protocol": protocol, "targetPort": c["name"]})
                    })
                    .collect();
                p["service"] = json!({"ports": ports});
            }
            spec.insert(role.into(), p);
        }
        let mut out = vec![self.object("kubernetes.dask.org/v1", "DaskCluster", spec)];
        let (min, max) = (
            self.run.get("minReplicas").filter(|v| !v.is_null()),
            self.run.get("maxReplicas").filter(|v| !v.is_null()),
        );
        if min.is_some() || max.is_some() {
            out.push(json!({"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskAutoscaler", "metadata": self.metadata(), "spec": {"cluster": self.name(), "minimum": min, "maximum": max}}));
        }
        Ok(out)
    }
}

/// The main container of a pod template.
/// What Polyaxon's converter gives a Dask container that leaves them out (`_k8s/custom_resources/
/// dask_cluster.py`): a worker runs `dask-worker` named by the operator with its dashboard on 8788; the scheduler
/// runs `dask-scheduler` (Polyaxon's `--dashboard-prefix` is for its own proxy, which Myelin has not), with its
/// ports, and is probed on its dashboard's `/health`.
fn dask_defaults(main: &mut Value, role: &str) {
    let args: &[&str] = match role {
        "worker" => {
            &["dask-worker", "--name", "$(DASK_WORKER_NAME)", "--dashboard", "--dashboard-address", "8788"]
        }
        _ => &["dask-scheduler"],
    };
    if main.get("args").is_none_or(Value::is_null) {
        main["args"] = json!(args);
    }
    if main["ports"].as_array().is_none_or(Vec::is_empty) {
        main["ports"] = match role {
            "worker" => json!([{"containerPort": 8788, "name": "http-dashboard", "protocol": "TCP"}]),
            _ => json!([{"containerPort": 8786, "name": "tcp-comm", "protocol": "TCP"},
                        {"containerPort": 8787, "name": "http-dashboard", "protocol": "TCP"}]),
        };
    }
    let dashboard =
        main["ports"].as_array().is_some_and(|ps| ps.iter().any(|p| p["name"] == "http-dashboard"));
    if role == "scheduler" && dashboard {
        for (probe, delay, period) in [("readinessProbe", 5, 5), ("livenessProbe", 15, 15)] {
            if main.get(probe).is_none_or(Value::is_null) {
                main[probe] = json!({"httpGet": {"path": "/health", "port": "http-dashboard"},
                    "initialDelaySeconds": delay, "periodSeconds": period});
            }
        }
    }
}

fn main_of(template: &mut Value) -> Option<&mut Value> {
    template["spec"]["containers"].as_array_mut()?.iter_mut().find(|c| c["name"] == "main")
}

/// A PyTorchJob's `elasticPolicy` as Kubeflow names its keys: Polyaxon's `rdvzBackend`, `rdvzPort`, … are
/// Kubeflow's `rdzvBackend`, `rdzvPort`, … and `Metrics` is `metrics` (Polyaxon passes its spelling on, and
/// the cluster drops the keys it does not know).
fn kubeflow_elastic_policy(p: &Map<String, Value>) -> Map<String, Value> {
    p.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let key = match k.strip_prefix("rdvz") {
                Some(rest) => format!("rdzv{rest}"),
                None if k == "Metrics" => "metrics".to_string(),
                None => k.clone(),
            };
            (key, v.clone())
        })
        .collect()
}
