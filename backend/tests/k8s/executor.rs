//! The Kubernetes executor end to end: dispatch (SSA, the Secret, RBAC), status from the real Job controller
//! and scheduler, logs through the API server, and a diagnosis for every way a run waits or dies.

use backend::error::Error;
use sea_orm::EntityTrait;
use serde_json::Value;
use spec::lifecycle::Status;
use uuid::Uuid;

use crate::fixture::{gpus, job, Fixture, TOLERATE_GPU};

fn status(r: &backend::services::runs::RunDetail) -> Status {
    r.summary.status
}

fn code(r: &backend::services::runs::RunDetail) -> &str {
    r.diagnosis.as_ref().map_or("", |d| d.code.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_to_success_with_its_secret_logs_node_and_digest() {
    let Some(fx) = Fixture::start().await else { return };
    let id = fx.submit(&job("myelin.test/succeed:1", "", "", "timeout: 600"), false).await.unwrap();
    let running = fx.wait(id, "running", |r| status(r) == Status::Running).await;
    assert!(running.node.as_deref().is_some_and(|n| n.contains("-cpu-")), "{:?}", running.node);

    // What was applied: the Job (server-side apply, Myelin's retry policy, labels) and its Secret.
    let name = format!("run-{id}");
    let j = fx.api.get(&format!("/apis/batch/v1/namespaces/{}/jobs/{name}", fx.ns)).await;
    assert_eq!(j["spec"]["backoffLimit"], 0);
    assert_eq!(j["spec"]["activeDeadlineSeconds"], 600);
    assert_eq!(j["spec"]["podFailurePolicy"]["rules"][0]["action"], "Ignore");
    assert_eq!(j["metadata"]["labels"]["myelin.io/project"], fx.access.project.id.to_string());
    let managers: Vec<&str> = j["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["operation"] == "Apply")
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["myelin"], "applied server-side by the field manager `myelin`");
    let s = fx.api.get(&format!("/api/v1/namespaces/{}/secrets/{name}-env", fx.ns)).await;
    assert_eq!(s["metadata"]["ownerReferences"][0]["uid"], j["metadata"]["uid"], "the Job owns the Secret");
    let token = s["data"]["MYELIN_RUN_TOKEN"].as_str().expect("run token in the Secret");
    assert!(!token.is_empty());
    let env_from = &j["spec"]["template"]["spec"]["containers"][0]["envFrom"];
    assert!(env_from.as_array().unwrap().iter().any(|e| e["secretRef"]["name"] == format!("{name}-env")));

    let done = fx.wait(id, "succeeded", |r| status(r) == Status::Succeeded).await;
    assert_eq!(done.exit_code, Some(0));
    assert!(done.diagnosis.is_none());
    let digest = done.reproducibility.image_id.clone().expect("image digest recorded");
    assert!(digest.contains("myelin.test/succeed@sha256:"), "{digest}");
    assert_eq!(done.reproducibility.executor, "kubernetes");

    // The container log came through the API server from the node's kubelet, and is stored like a local run's.
    let spool = fx.data.join(format!("spool/{id}.log"));
    fx.until("the log is archived", || async { !spool.exists() }).await;
    let log = fx.state.executor.logs().tail(fx.access.project.id, id, 1 << 20).await.text;
    assert!(log.contains("stdout hello from run-"), "{log}");
    assert!(log.contains("stdout step=1 loss=0.5"), "{log}");
    assert!(log.contains("stdout done"), "followed to the end: {log}");
    fx.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_runs_say_why_and_the_scheduler_words_stay_beside() {
    let Some(fx) = Fixture::start().await else { return };

    // 1. GPUs without a toleration: the GPU nodes' taint. The pre-flight check says so before queueing; forced,
    // the run waits and says the same.
    let spec = job("myelin.test/run:1", &gpus(1), "", "");
    assert!(matches!(
        fx.submit(&spec, false).await,
        Err(Error::Unplaceable { code: "untolerated_taint", .. })
    ));
    let id = fx.submit(&spec, true).await.unwrap();
    let r =
        fx.wait(id, "unschedulable", |r| status(r) == Status::Unschedulable && r.diagnosis.is_some()).await;
    let d = r.diagnosis.clone().unwrap();
    assert_eq!(d.code, "untolerated_taint", "{d:?}");
    assert_eq!(
        d.message,
        "2 nvidia.com/gpu nodes exist but carry taint nvidia.com/gpu=present:NoSchedule; add a toleration"
    );
    assert!(d.scheduler_message.as_deref().unwrap().contains("untolerated taint"), "{d:?}");
    // `myelin ops get -o json` prints this document.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["diagnosis"]["code"], "untolerated_taint");
    fx.stop(id).await;

    // 2. A selector no node has: refused before queueing, unless forced; then diagnosed as pending.
    let a100 = format!("{TOLERATE_GPU}\nnodeSelector: {{gpu-type: a100}}");
    let spec = job("myelin.test/run:1", &gpus(1), &a100, "");
    match fx.submit(&spec, false).await {
        Err(Error::Unplaceable { code, message }) => {
            assert_eq!(code, "node_selector_mismatch");
            assert_eq!(message, "nodeSelector gpu-type=a100 matches no node");
        }
        other => panic!("expected the pre-flight check to refuse: {other:?}"),
    }
    let too_big = job("myelin.test/run:1", &gpus(16), TOLERATE_GPU, "");
    assert!(matches!(
        fx.submit(&too_big, false).await,
        Err(Error::Unplaceable { code: "insufficient_gpu", .. })
    ));
    let id = fx.submit(&spec, true).await.unwrap();
    let r = fx.wait(id, "unschedulable", |r| code(r) == "node_selector_mismatch").await;
    assert!(r
        .diagnosis
        .unwrap()
        .scheduler_message
        .unwrap()
        .contains("didn't match Pod's node affinity/selector"));
    fx.stop(id).await;

    // 3. All 16 GPUs taken by 2 runs: the third waits, and starts when one of them stops.
    let eight = job("myelin.test/run:1", &gpus(8), TOLERATE_GPU, "");
    let a = fx.submit(&eight, false).await.unwrap();
    let b = fx.submit(&eight, false).await.unwrap();
    for id in [a, b] {
        fx.wait(id, "running", |r| status(r) == Status::Running).await;
    }
    let c = fx.submit(&job("myelin.test/run:1", &gpus(2), TOLERATE_GPU, ""), false).await.unwrap();
    let r = fx.wait(c, "waiting for GPUs", |r| code(r) == "insufficient_gpu").await;
    let d = r.diagnosis.unwrap();
    assert!(d.message.starts_with("16 of 16 nvidia.com/gpu are in use by 2 pods"), "{d:?}");
    assert!(d.message.ends_with("this run waits"), "{d:?}");
    assert!(d.scheduler_message.unwrap().contains("Insufficient nvidia.com/gpu"));

    // The cluster page: GPU allocation, the runs on each node, the queue with its reasons.
    let page = backend::services::cluster::page(&fx.state.db, &fx.state.executor, &fx.user).await.unwrap();
    let gpu_nodes: Vec<_> =
        page.nodes.iter().filter(|n| n.node.name.starts_with(&fx.ns) && n.node.gpus > 0.0).collect();
    assert_eq!(gpu_nodes.len(), 2);
    assert!(
        gpu_nodes.iter().all(|n| n.node.gpus == 8.0 && n.node.gpus_used == 8.0 && n.runs.len() == 1),
        "{gpu_nodes:?}"
    );
    assert!(gpu_nodes.iter().all(|n| n.node.taints == ["nvidia.com/gpu=present:NoSchedule"]));
    let waiting = page.queue.iter().find(|w| w.run.uuid == c).expect("the waiting run is in the queue");
    assert_eq!(waiting.diagnosis.as_ref().unwrap().code, "insufficient_gpu");
    // Someone outside the project sees the same Nodes and allocation, its runs counted but not named, and
    // nothing of its queue.
    let outsider = backend::services::accounts::create_user(
        &fx.state.db,
        &format!("out{}", &Uuid::new_v4().simple().to_string()[..8]),
        "correct horse battery",
        false,
    )
    .await
    .unwrap();
    let theirs = backend::services::cluster::page(&fx.state.db, &fx.state.executor, &outsider).await.unwrap();
    let seen: Vec<_> =
        theirs.nodes.iter().filter(|n| n.node.name.starts_with(&fx.ns) && n.node.gpus > 0.0).collect();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter().all(|n| n.node.gpus_used == 8.0 && n.runs.is_empty() && n.other_runs == 1),
        "{seen:?}"
    );
    assert!(theirs.queue.iter().all(|w| w.run.uuid != c), "another project's queue is not shown");

    fx.stop(a).await;
    fx.wait(a, "stopped", |r| status(r) == Status::Stopped).await;
    let r = fx.wait(c, "running once GPUs are free", |r| status(r) == Status::Running).await;
    assert!(r.diagnosis.is_none(), "a running run has nothing to explain");
    fx.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_pull_oom_eviction_and_deadline_are_diagnosed() {
    let Some(fx) = Fixture::start().await else { return };
    failures_are_diagnosed(fx).await;
}

/// The same on PostgreSQL: the executor's writes (diagnosis JSON, node, digest, exit code, transitions).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_pull_oom_eviction_and_deadline_are_diagnosed_on_postgres() {
    let Some(fx) = Fixture::start_on_postgres().await else { return };
    failures_are_diagnosed(fx).await;
}

async fn failures_are_diagnosed(fx: Fixture) {
    let pull = fx.submit(&job("myelin.test/missing:2", "", "", ""), false).await.unwrap();
    let limit = "resources: {limits: {memory: 1Gi}, requests: {memory: 1Gi}}";
    let oom = fx.submit(&job("myelin.test/oom:1", limit, "", ""), false).await.unwrap();
    let evict = fx.submit(&job("myelin.test/evict:1", "", "", ""), false).await.unwrap();
    let slow = fx.submit(&job("myelin.test/run:1", "", "", "timeout: 2"), false).await.unwrap();

    let r = fx.wait(pull, "warned about the image", |r| code(r) == "image_pull").await;
    assert_eq!(status(&r), Status::Warning);
    let d = r.diagnosis.unwrap();
    assert!(d.message.starts_with("cannot pull image myelin.test/missing:2 (ErrImagePull)"), "{d:?}");

    // A private image whose pull secret is not in the namespace: the kubelet says so first, and the diagnosis
    // names the secret. Once the secret exists, the same file runs.
    let private = job("myelin.test/private:1", "", "imagePullSecrets: [regcred]", "");
    let locked = fx.submit(&private, false).await.unwrap();
    let r = fx.wait(locked, "told the pull secret is missing", |r| code(r) == "missing_pull_secret").await;
    assert_eq!(status(&r), Status::Warning);
    let d = r.diagnosis.unwrap();
    assert!(d.message.contains("the pull secret `regcred` the pod names does not exist"), "{d:?}");
    assert!(d.message.contains("myelin.test/private:1"), "{d:?}");
    fx.api
        .post(
            &format!("/api/v1/namespaces/{}/secrets", fx.ns),
            serde_json::json!({
            "metadata": {"name": "regcred"}, "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": "eyJhdXRocyI6e319"}}),
        )
        .await;
    let unlocked = fx.submit(&private, false).await.unwrap();
    fx.wait(unlocked, "running with its pull secret", |r| status(r) == Status::Running).await;

    let r = fx.wait(oom, "failed", |r| status(r) == Status::Failed).await;
    assert_eq!(code(&r), "oom_killed");
    assert!(r.diagnosis.as_ref().unwrap().message.contains("memory limit 1Gi"), "{:?}", r.diagnosis);
    assert_eq!(r.exit_code, Some(137));

    // An eviction is not the user's failure: the Job replaces the pod, and the run goes on.
    let r = fx
        .wait(evict, "evicted, then running again", |r| {
            status(r) == Status::Running && r.timeline.iter().any(|e| e.reason.as_deref() == Some("Evicted"))
        })
        .await;
    assert!(r.timeline.iter().any(|e| e.status == Status::Warning));
    // The replacement runs. The run may read `running` again from the Job's own status a moment before the
    // replacement pod is listed, so wait for it. (The evicted pod is usually still listed, but may be gone.)
    let pods_path = format!("/api/v1/namespaces/{}/pods?labelSelector=myelin.io/run={evict}", fx.ns);
    fx.until("a replacement pod runs", || async {
        let pods = fx.api.get(&pods_path).await;
        pods["items"].as_array().unwrap().iter().any(|p| p["status"]["phase"] == "Running")
    })
    .await;
    let pods = fx.api.get(&pods_path).await;
    let pods = pods["items"].as_array().unwrap();
    assert!(pods.iter().all(|p| p["status"]["phase"] != "Failed" || p["status"]["reason"] == "Evicted"));
    let job = fx.api.get(&format!("/apis/batch/v1/namespaces/{}/jobs/run-{evict}", fx.ns)).await;
    assert_eq!(job["status"]["failed"].as_i64().unwrap_or(0), 0, "an eviction is not counted as a failure");

    let r = fx.wait(slow, "past its deadline", |r| status(r) == Status::Failed).await;
    assert_eq!(code(&r), "deadline_exceeded");
    assert!(r.diagnosis.unwrap().message.contains("time limit of 2 s"));
    fx.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn myelin_retries_a_failed_job_as_a_new_attempt() {
    let Some(fx) = Fixture::start().await else { return };
    let id = fx.submit(&job("myelin.test/fail:1", "", "", "maxRetries: 1"), false).await.unwrap();
    let r = fx.wait(id, "failed after its retry", |r| status(r) == Status::Failed).await;
    assert_eq!(r.retries, 1);
    assert_eq!(r.exit_code, Some(1));
    assert!(r.timeline.iter().any(|e| e.status == Status::Retrying));
    let jobs = fx
        .api
        .get(&format!("/apis/batch/v1/namespaces/{}/jobs?labelSelector=myelin.io/run={id}", fx.ns))
        .await;
    let mut names: Vec<&str> =
        jobs["items"].as_array().unwrap().iter().filter_map(|j| j["metadata"]["name"].as_str()).collect();
    names.sort();
    assert_eq!(names, [format!("run-{id}"), format!("run-{id}-r1")]);
    let failed: Vec<&Value> = jobs["items"].as_array().unwrap().iter().collect();
    assert!(failed.iter().all(|j| j["spec"]["backoffLimit"] == 0), "Kubernetes never retries on its own");

    // What users see with `kubectl describe job`: Events recorded by `myelin` on each attempt's Job.
    let events = || async {
        let all = fx.api.get(&format!("/apis/events.k8s.io/v1/namespaces/{}/events", fx.ns)).await;
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["reportingController"] == "myelin")
            .map(|e| {
                let on = e["regarding"]["name"].as_str().unwrap_or_default().to_string();
                (
                    on,
                    e["reason"].as_str().unwrap_or_default().to_string(),
                    e["type"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let (first, second) = (format!("run-{id}"), format!("run-{id}-r1"));
    let has = |ev: &[(String, String, String)], on: &str, reason: &str, kind: &str| {
        ev.iter().any(|(o, r, k)| o == on && r == reason && k == kind)
    };
    fx.until("the attempts' Events are recorded", || async {
        let ev = events().await;
        has(&ev, &first, "Dispatched", "Normal")
            && has(&ev, &first, "Retrying", "Warning")
            && has(&ev, &second, "Dispatched", "Normal")
            && ev.iter().any(|(o, _, k)| *o == second && k == "Warning")
    })
    .await;
    fx.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_loses_duplicates_and_strands_no_run() {
    let Some(mut fx) = Fixture::start().await else { return };
    let spec = job("myelin.test/run:1", "", "", "");
    let (keeps, ends, vanishes) = (
        fx.submit(&spec, false).await.unwrap(),
        fx.submit(&spec, false).await.unwrap(),
        fx.submit(&spec, false).await.unwrap(),
    );
    for id in [keeps, ends, vanishes] {
        fx.wait(id, "running", |r| status(r) == Status::Running).await;
    }
    let uid = |j: Value| j["metadata"]["uid"].as_str().unwrap_or_default().to_string();
    let ns = fx.ns.clone();
    let job_path = |id| format!("/apis/batch/v1/namespaces/{ns}/jobs/run-{id}");
    let before = uid(fx.api.get(&job_path(keeps)).await);

    // The server goes down. Meanwhile one run's pod succeeds, another's Job is deleted, and a fourth run was
    // claimed but never applied (the crash came between the two).
    fx.exec.shutdown();
    let pods =
        fx.api.get(&format!("/api/v1/namespaces/{}/pods?labelSelector=myelin.io/run={ends}", fx.ns)).await;
    let pod = pods["items"][0]["metadata"]["name"].as_str().unwrap().to_string();
    fx.api
        .patch(
            &format!("/api/v1/namespaces/{}/pods/{pod}/status", fx.ns),
            serde_json::json!({"status": {"phase": "Succeeded", "containerStatuses": [{"name": "main", "image": "myelin.test/run:1",
                "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": "2026-11-28T00:00:00Z", "finishedAt": "2026-11-28T00:00:01Z"}}}]}}),
        )
        .await;
    fx.api.delete(&job_path(vanishes)).await;
    let stranded = fx.submit(&spec, false).await.unwrap();
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    backend::entities::run::Entity::update_many()
        .col_expr(backend::entities::run::Column::Status, sea_orm::sea_query::Expr::value("scheduled"))
        .col_expr(backend::entities::run::Column::Executor, sea_orm::sea_query::Expr::value("kubernetes"))
        .filter(backend::entities::run::Column::Id.eq(stranded))
        .exec(&fx.state.db)
        .await
        .unwrap();

    // A new server process on the same database.
    let exec = fx.restart().await;
    let touched = exec.recover().await.unwrap();
    assert_eq!(touched, 2, "the stranded run is applied again and the vanished one failed");
    fx.wait(ends, "succeeded", |r| status(r) == Status::Succeeded).await;
    let r = fx.wait(vanishes, "failed", |r| status(r) == Status::Failed).await;
    assert_eq!(r.status_reason.as_deref(), Some("WorkloadLost"));
    fx.wait(stranded, "running", |r| status(r) == Status::Running).await;
    let r = fx.run(keeps).await;
    assert_eq!(status(&r), Status::Running, "untouched");
    assert_eq!(uid(fx.api.get(&job_path(keeps)).await), before, "the same Job, not a second one");
    for id in [keeps, stranded] {
        let jobs = fx
            .api
            .get(&format!("/apis/batch/v1/namespaces/{}/jobs?labelSelector=myelin.io/run={id}", fx.ns))
            .await;
        assert_eq!(jobs["items"].as_array().unwrap().len(), 1, "one Job per run");
    }
    fx.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_server_keeps_runs_queued_with_the_reason_then_dispatches() {
    let Some(dir) = crate::support::dir() else { return };
    let proxy = crate::support::Proxy::start(&dir).await;
    let Some(fx) = Fixture::start_with(Some(&proxy.url()), false).await else { return };
    let id = fx.submit(&job("myelin.test/run:1", "", "", ""), false).await.unwrap();
    let r =
        fx.wait(id, "back in the queue", |r| r.status_reason.as_deref() == Some("ClusterUnreachable")).await;
    assert_eq!(status(&r), Status::Queued);
    assert!(r.status_message.as_deref().unwrap().starts_with("cannot reach the Kubernetes API"), "{r:?}");
    assert!(!fx.exec.accepting(), "dispatch backs off");

    proxy.set_up(true);
    fx.wait(id, "running once the API server answers", |r| status(r) == Status::Running).await;
    let jobs = fx
        .api
        .get(&format!("/apis/batch/v1/namespaces/{}/jobs?labelSelector=myelin.io/run={id}", fx.ns))
        .await;
    assert_eq!(jobs["items"].as_array().unwrap().len(), 1);
    fx.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeflow_jobs_and_services_are_dispatched_as_their_objects() {
    let Some(fx) = Fixture::start().await else { return };
    // A TFJob: validated by the real Kubeflow CRD schema; no operator runs here, so the test plays it.
    let tf = "version: 1.1\nkind: component\nname: dist\nrun:\n  kind: tfjob\n  chief:\n    replicas: 1\n    container: {image: myelin.test/run:1, command: [python, train.py]}\n  worker:\n    replicas: 2\n    container: {image: myelin.test/run:1, command: [python, train.py]}\n";
    let id = fx.submit(tf, false).await.unwrap();
    let r = fx
        .wait(id, "applied", |r| r.status_message.as_deref().is_some_and(|m| m.starts_with("TFJob run-")))
        .await;
    assert_eq!(status(&r), Status::Scheduled);
    let path = format!("/apis/kubeflow.org/v1/namespaces/{}/tfjobs/run-{id}", fx.ns);
    let o = fx.api.get(&path).await;
    let worker = &o["spec"]["tfReplicaSpecs"]["Worker"];
    assert_eq!(worker["replicas"], 2);
    assert_eq!(worker["template"]["metadata"]["labels"]["myelin.io/run"], id.to_string());
    assert!(worker["template"]["spec"]["containers"][0]["envFrom"][0]["secretRef"]["name"].is_string());
    let s = fx.api.get(&format!("/api/v1/namespaces/{}/secrets/run-{id}-env", fx.ns)).await;
    assert_eq!(s["metadata"]["ownerReferences"][0]["kind"], "TFJob");
    let cond = |t: &str| serde_json::json!({"status": {"conditions": [{"type": t, "status": "True", "reason": "TFJob".to_string() + t, "message": format!("TFJob is {t}"), "lastTransitionTime": "2026-11-28T00:00:00Z", "lastUpdateTime": "2026-11-28T00:00:00Z"}]}});
    fx.api.patch(&format!("{path}/status"), cond("Running")).await;
    fx.wait(id, "running", |r| status(r) == Status::Running).await;
    fx.api.patch(&format!("{path}/status"), cond("Succeeded")).await;
    fx.wait(id, "succeeded", |r| status(r) == Status::Succeeded).await;

    // PyTorchJob and MPIJob: accepted by their CRDs' schemas as compiled.
    for (kind, roles) in [("pytorchjob", ["master", "worker"]), ("mpijob", ["launcher", "worker"])] {
        let mut y = format!("version: 1.1\nkind: component\nname: {kind}\nrun:\n  kind: {kind}\n");
        for role in roles {
            y.push_str(&format!("  {role}:\n    replicas: 1\n    container: {{image: myelin.test/run:1, command: [python, train.py]}}\n"));
        }
        let id = fx.submit(&y, false).await.unwrap();
        let r = fx
            .wait(id, "applied", |r| {
                r.status_message.as_deref().is_some_and(|m| m.contains(" applied in namespace"))
            })
            .await;
        assert_eq!(status(&r), Status::Scheduled, "{kind}: {:?}", r.status_message);
        let plural = format!("{kind}s");
        let o = fx.api.get(&format!("/apis/kubeflow.org/v1/namespaces/{}/{plural}/run-{id}", fx.ns)).await;
        assert_eq!(o["metadata"]["labels"]["myelin.io/run"], id.to_string(), "{kind}: {o}");
    }

    // A service: a Deployment and a Service; it runs until stopped, which deletes both.
    let svc = "version: 1.1\nkind: component\nname: board\nrun:\n  kind: service\n  ports: [6006]\n  container: {image: myelin.test/run:1, command: [tensorboard]}\n";
    let id = fx.submit(svc, false).await.unwrap();
    let r = fx.wait(id, "running", |r| status(r) == Status::Running).await;
    assert!(r.node.is_some());
    let service = fx.api.get(&format!("/api/v1/namespaces/{}/services/run-{id}", fx.ns)).await;
    assert_eq!(service["spec"]["ports"][0]["port"], 6006);
    assert_eq!(service["spec"]["selector"]["myelin.io/run"], id.to_string());
    fx.stop(id).await;
    fx.wait(id, "stopped", |r| status(r) == Status::Stopped).await;
    let gone = fx.api.get(&format!("/apis/apps/v1/namespaces/{}/deployments/run-{id}", fx.ns)).await;
    assert!(gone["metadata"]["deletionTimestamp"].is_string() || gone["code"] == 404, "{gone}");
    fx.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_reach_the_pod_as_compiled_and_an_unbound_claim_is_explained() {
    let Some(mut fx) = Fixture::start().await else { return };
    let catalog = "connections:\n\
        - {name: datasets, kind: volume_claim, schema: {volumeClaim: datasets-pvc, mountPath: /data, readOnly: true}, projects: ['*']}\n\
        - {name: s3-creds, kind: s3, schema: {bucket: 's3://ml'}, secret: {name: aws-creds}, projects: ['*']}\n\
        - {name: gcs, kind: gcs, secret: {name: gcs-key, mountPath: /var/secrets/gcs}, projects: ['*']}\n";
    let path = fx.data.join("connections.yaml");
    std::fs::write(&path, catalog).unwrap();
    fx.state.connections = std::sync::Arc::new(backend::config::connections(Some(&path)).unwrap());
    fx.api
        .post(
            &format!("/api/v1/namespaces/{}/persistentvolumeclaims", fx.ns),
            serde_json::json!({"metadata": {"name": "datasets-pvc"},
                "spec": {"accessModes": ["ReadOnlyMany"], "resources": {"requests": {"storage": "1Gi"}}}}),
        )
        .await;
    let spec = "version: 1.1\nkind: component\nname: reader\nrun:\n  kind: job\n  connections: [datasets, s3-creds, gcs]\n  container: {image: myelin.test/run:1, command: [python, read.py]}\n";
    let id = fx.submit(spec, false).await.unwrap();
    let r = fx.wait(id, "waiting on its volume", |r| code(r) == "volume").await;
    let d = r.diagnosis.unwrap();
    let verbatim = d.scheduler_message.unwrap();
    assert!(verbatim.contains("PersistentVolumeClaim"), "{verbatim}");
    assert!(
        d.message.contains("`datasets-pvc` to be bound to a volume: give the claim a StorageClass"),
        "{} ({verbatim})",
        d.message
    );

    let j = fx.api.get(&format!("/apis/batch/v1/namespaces/{}/jobs/run-{id}", fx.ns)).await;
    let pod = &j["spec"]["template"]["spec"];
    let volumes = pod["volumes"].as_array().unwrap();
    assert!(volumes.iter().any(|v| v["persistentVolumeClaim"]["claimName"] == "datasets-pvc"), "{volumes:?}");
    assert!(volumes.iter().any(|v| v["secret"]["secretName"] == "gcs-key"), "{volumes:?}");
    let main = &pod["containers"][0];
    let mounts: Vec<&str> =
        main["volumeMounts"].as_array().unwrap().iter().filter_map(|m| m["mountPath"].as_str()).collect();
    assert!(mounts.contains(&"/data") && mounts.contains(&"/var/secrets/gcs"), "{mounts:?}");
    let env_from: Vec<&str> =
        main["envFrom"].as_array().unwrap().iter().filter_map(|e| e["secretRef"]["name"].as_str()).collect();
    assert_eq!(env_from, ["aws-creds".to_string(), format!("run-{id}-env")]);

    // A connection the catalog does not have is a located error at submit, not a stuck pod.
    let unknown = spec.replace("gcs]", "nope]");
    assert!(matches!(fx.submit(&unknown, false).await, Err(Error::InvalidSpec(_))));
    fx.end().await;
}

/// A DAG on Kubernetes: each op is its own Job, started when its upstream succeeded; the second run of the
/// same pipeline reuses every op, its key now carrying the image digest the nodes resolved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_runs_its_ops_as_jobs_in_order_and_reuses_them_by_digest() {
    let Some(fx) = Fixture::start().await else { return };
    let dag = "kind: component\nname: flow\nrun:\n  kind: dag\n  operations:\n  - {name: first, component: {run: {kind: job, container: {image: 'myelin.test/succeed:1', command: [python, a.py]}}}}\n  - {name: second, dependencies: [first], component: {run: {kind: job, container: {image: 'myelin.test/succeed:1', command: [python, b.py]}}}}\n";
    let ops = |id: Uuid| {
        let db = fx.state.db.clone();
        async move { backend::services::pipelines::children(&db, id).await.unwrap() }
    };
    let first = fx.submit(dag, false).await.unwrap();
    let done = fx.wait(first, "the pipeline succeeded", |r| r.summary.status == Status::Succeeded).await;
    assert_eq!(done.summary.kind, spec::lifecycle::RunKind::Dag);
    let kids = ops(first).await;
    let (a, b) = (fx.run(kids[0].id).await, fx.run(kids[1].id).await);
    assert!(
        a.summary.finished_at.unwrap() <= b.summary.started_at.unwrap(),
        "second started after first ended"
    );
    let jobs = fx.api.get(&format!("/apis/batch/v1/namespaces/{}/jobs", fx.ns)).await;
    let names: Vec<&str> =
        jobs["items"].as_array().unwrap().iter().filter_map(|j| j["metadata"]["name"].as_str()).collect();
    for k in &kids {
        assert!(names.contains(&format!("run-{}", k.id).as_str()), "a Job per op: {names:?}");
    }
    assert!(a.reproducibility.image_id.is_some(), "the digest the node resolved");
    let key = a.cache.as_ref().unwrap();
    assert!(key.inputs.containers[0].digest.is_some(), "the learnt digest joined the key: {key:?}");

    let again = fx.submit(dag, false).await.unwrap();
    fx.wait(again, "the second pipeline succeeded", |r| r.summary.status == Status::Succeeded).await;
    for k in ops(again).await {
        let r = fx.run(k.id).await;
        assert_eq!(r.status_reason.as_deref(), Some("CacheHit"), "{}: {:?}", k.name, r.cache);
    }
    fx.end().await;
}

/// On a cluster the initializer does the cloning, so the lineage records the revision the run asked for (and an
/// init file by its content's digest) once the run is dispatched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_steps_are_lineage_inputs_when_dispatched() {
    let Some(fx) = Fixture::start().await else { return };
    let rev = "0123456789abcdef0123456789abcdef01234567";
    let yaml = format!(
        "version: 1.1\nkind: component\nname: train\nrun:\n  kind: job\n  init:\n  - git: {{url: 'https://git.example/team/model.git', revision: {rev}}}\n  - file: {{filename: conf.json, content: x}}\n  container: {{image: myelin.test/succeed:1, command: [python, train.py]}}\n"
    );
    let id = fx.submit(&yaml, false).await.unwrap();
    fx.wait(id, "dispatched", |r| {
        r.status_reason.as_deref() == Some("Dispatched") || status(r) != Status::Queued
    })
    .await;
    let run = backend::entities::run::Entity::find_by_id(id).one(&fx.state.db).await.unwrap().unwrap();
    let db = &fx.state.db;
    fx.until("the init steps are recorded", || async {
        backend::services::lineage::of_run(db, &run).await.unwrap().inputs.len() == 2
    })
    .await;
    let inputs = backend::services::lineage::of_run(db, &run).await.unwrap().inputs;
    let git = inputs.iter().find(|i| i.kind == "git").expect("a git input");
    assert_eq!((git.name.as_str(), git.digest.as_deref()), ("https://git.example/team/model.git", Some(rev)));
    let file = inputs.iter().find(|i| i.kind == "file").expect("a file input");
    assert_eq!(
        file.digest.as_deref(),
        Some("2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881")
    );
    fx.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_or_limit_range_that_refuses_the_pod_is_diagnosed_with_the_fix() {
    let Some(fx) = Fixture::start().await else { return };
    let ns = fx.ns.clone();
    // The apiserver enforces both itself (its ResourceQuota and LimitRanger admission), the Job controller says so
    // on the Job (FailedCreate).
    fx.api
        .post(
            &format!("/api/v1/namespaces/{ns}/resourcequotas"),
            serde_json::json!({"metadata": {"name": "team-cpu"}, "spec": {"hard": {"requests.cpu": "500m"}}}),
        )
        .await;
    let small = "resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 100m, memory: 64Mi}}";
    let big = "resources: {requests: {cpu: 2, memory: 64Mi}, limits: {cpu: 2, memory: 64Mi}}";
    // Wait until the quota controller has counted what the namespace uses: before that, admission refuses all.
    for _ in 0..100 {
        let q = fx.api.get(&format!("/api/v1/namespaces/{ns}/resourcequotas/team-cpu")).await;
        if q["status"]["hard"].is_object() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let id = fx.submit(&job("myelin.test/run:1", big, "", ""), false).await.unwrap();
    let r = fx.wait(id, "refused by the quota", |r| code(r) == "resource_quota").await;
    assert_eq!(status(&r), Status::Unschedulable);
    let d = r.diagnosis.clone().unwrap();
    assert!(d.message.contains("ResourceQuota `team-cpu`"), "{d:?}");
    assert!(d.message.contains("requests.cpu=2") && d.message.contains("requests.cpu=500m"), "{d:?}");
    assert!(d.message.contains("request less in `resources`"), "{d:?}");
    assert!(d.scheduler_message.as_deref().unwrap().contains("exceeded quota"), "{d:?}");
    fx.stop(id).await;
    // A service's pod is its Deployment's ReplicaSet's to create: the refusal is read there.
    let svc = format!("version: 1.1\nkind: component\nname: board\nrun:\n  kind: service\n  ports: [6006]\n  container: {{image: myelin.test/run:1, command: [tensorboard], {big}}}\n");
    let id = fx.submit(&svc, false).await.unwrap();
    let r = fx.wait(id, "the service refused by the quota", |r| code(r) == "resource_quota").await;
    assert!(r.diagnosis.unwrap().message.contains("ResourceQuota `team-cpu`"));
    fx.stop(id).await;
    // A run that fits the quota is not held by it, Myelin's own init container included (a quota on requests
    // demands them of every container).
    let with_init = job("myelin.test/run:1", small, "", "")
        .replace("  container:\n", "  init:\n  - git: {url: 'https://github.com/org/repo'}\n  container:\n");
    let id = fx.submit(&with_init, false).await.unwrap();
    let r =
        fx.wait(id, "past admission", |r| code(r) != "resource_quota" && status(r) != Status::Queued).await;
    assert_ne!(code(&r), "resource_quota", "{:?}", r.diagnosis);
    fx.stop(id).await;
    fx.api.delete(&format!("/api/v1/namespaces/{ns}/resourcequotas/team-cpu")).await;

    fx.api
        .post(
            &format!("/api/v1/namespaces/{ns}/limitranges"),
            serde_json::json!({"metadata": {"name": "per-container"},
                "spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}}]}}),
        )
        .await;
    let id = fx.submit(&job("myelin.test/run:1", big, "", ""), false).await.unwrap();
    let r = fx.wait(id, "refused by the limit range", |r| code(r) == "limit_range").await;
    let d = r.diagnosis.unwrap();
    assert!(d.message.contains("maximum cpu usage per Container is 1"), "{d:?}");
    assert!(d.message.contains("Change the run's `resources`"), "{d:?}");
    fx.stop(id).await;
    fx.api.delete(&format!("/api/v1/namespaces/{ns}/limitranges/per-container")).await;
    fx.end().await;
}

/// The pre-flight check covers every pod a file makes: a pipeline's GPU op on tainted GPU nodes gets the answer
/// a single job gets, named by its op; a matrix's children by their params; a placeable pipeline is queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelines_ops_and_matrix_children_get_the_pre_flight_answer() {
    let Some(fx) = Fixture::start().await else { return };
    let dag = |environment: &str| {
        format!(
            "kind: component\nname: flow\nrun:\n  kind: dag\n  operations:\n  - {{name: prepare, component: {{run: {{kind: job, container: {{image: 'myelin.test/succeed:1', command: [python, a.py]}}}}}}}}\n  - name: train\n    dependencies: [prepare]\n    component:\n      run:\n        kind: job\n        environment: {{{environment}}}\n        container: {{image: 'myelin.test/succeed:1', command: [python, b.py], {}}}\n",
            gpus(1)
        )
    };
    match fx.submit(&dag(""), false).await {
        Err(Error::Unplaceable { code, message }) => {
            assert_eq!(code, "untolerated_taint");
            assert_eq!(
                message,
                "op `train`: 2 nvidia.com/gpu nodes exist but carry taint nvidia.com/gpu=present:NoSchedule; add a toleration"
            );
        }
        other => panic!("expected the pre-flight check to refuse the DAG: {other:?}"),
    }
    let sweep = format!(
        "kind: operation\nname: sweep\nmatrix:\n  kind: grid\n  params:\n    lr: {{kind: choice, value: [0.1, 0.01]}}\ncomponent:\n  inputs: [{{name: lr, type: float}}]\n  run:\n    kind: job\n    environment: {{{TOLERATE_GPU}, nodeSelector: {{gpu-type: a100}}}}\n    container: {{image: 'myelin.test/succeed:1', command: [python, train.py], {}}}\n",
        gpus(1)
    );
    match fx.submit(&sweep, false).await {
        Err(Error::Unplaceable { code, message }) => {
            assert_eq!(code, "node_selector_mismatch");
            assert_eq!(message, "matrix child 1 (lr=0.1): nodeSelector gpu-type=a100 matches no node");
        }
        other => panic!("expected the pre-flight check to refuse the matrix: {other:?}"),
    }
    // Nothing was created by a refusal; tolerated, the same DAG is queued and runs.
    let listed = backend::services::runs::list(&fx.state.db, &fx.access, &Default::default()).await.unwrap();
    assert_eq!(listed.total, 0, "a refused pipeline leaves no run behind");
    let id = fx.submit(&dag(TOLERATE_GPU), false).await.unwrap();
    fx.wait(id, "the pipeline succeeded", |r| r.summary.status == Status::Succeeded).await;
    fx.end().await;
}

/// Ray and Dask runs become their operators' objects, validated by KubeRay's and the Dask operator's real CRDs
/// (scripts/k8s-control-plane installs them; no operator runs, so the test plays their status).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ray_and_dask_runs_are_dispatched_as_their_objects() {
    let Some(fx) = Fixture::start().await else { return };
    let ns = fx.ns.clone();
    let applied = |what: &'static str| {
        move |r: &backend::services::runs::RunDetail| {
            r.status_message
                .as_deref()
                .is_some_and(|m| m.starts_with(what) && m.contains(" applied in namespace"))
        }
    };
    // A Ray job: a RayJob whose cluster has the head's ports and workers that leave with `ray stop`.
    let ray = "version: 1.1\nkind: component\nname: rl\nrun:\n  kind: raycluster\n  entrypoint: python /app/main.py\n  rayVersion: '2.9.0'\n  head:\n    container: {image: myelin.test/run:1}\n  workers:\n    small:\n      replicas: 2\n      minReplicas: 1\n      maxReplicas: 3\n      container: {image: myelin.test/run:1}\n";
    let id = fx.submit(ray, false).await.unwrap();
    let r = fx.wait(id, "the RayJob applied", applied("RayJob run-")).await;
    assert_eq!(status(&r), Status::Scheduled, "{:?}", r.diagnosis);
    let path = format!("/apis/ray.io/v1/namespaces/{ns}/rayjobs/run-{id}");
    let o = fx.api.get(&path).await;
    assert_eq!(o["spec"]["entrypoint"], "python /app/main.py", "{o}");
    let cluster = &o["spec"]["rayClusterSpec"];
    let head = &cluster["headGroupSpec"]["template"]["spec"]["containers"][0];
    let ports: Vec<i64> =
        head["ports"].as_array().unwrap().iter().filter_map(|p| p["containerPort"].as_i64()).collect();
    assert_eq!(ports, [6379, 8265, 10001, 8000]);
    let worker = &cluster["workerGroupSpecs"][0];
    assert_eq!(
        (worker["groupName"].as_str(), worker["replicas"].as_i64(), worker["maxReplicas"].as_i64()),
        (Some("small"), Some(2), Some(3))
    );
    assert_eq!(
        worker["template"]["spec"]["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][2],
        "ray stop"
    );
    assert!(head["envFrom"][0]["secretRef"]["name"].is_string(), "the run's tracking env: {head}");
    fx.api
        .patch(
            &format!("{path}/status"),
            serde_json::json!({"status": {"jobStatus": "RUNNING", "jobDeploymentStatus": "Running"}}),
        )
        .await;
    fx.wait(id, "running", |r| status(r) == Status::Running).await;
    fx.api
        .patch(
            &format!("{path}/status"),
            serde_json::json!({"status": {"jobStatus": "SUCCEEDED", "jobDeploymentStatus": "Complete"}}),
        )
        .await;
    fx.wait(id, "succeeded", |r| status(r) == Status::Succeeded).await;

    // Without an entrypoint, a RayCluster: running once ready, until stopped.
    let id = fx.submit(&ray.replace("  entrypoint: python /app/main.py\n", ""), false).await.unwrap();
    fx.wait(id, "the RayCluster applied", applied("RayCluster run-")).await;
    let path = format!("/apis/ray.io/v1/namespaces/{ns}/rayclusters/run-{id}");
    assert_eq!(fx.api.get(&path).await["spec"]["workerGroupSpecs"][0]["groupName"], "small");
    fx.api.patch(&format!("{path}/status"), serde_json::json!({"status": {"state": "ready"}})).await;
    fx.wait(id, "running", |r| status(r) == Status::Running).await;
    fx.stop(id).await;
    fx.wait(id, "stopped", |r| status(r) == Status::Stopped).await;

    // Dask: a DaskCluster (scheduler with its service ports, workers) and its DaskAutoscaler.
    let dask = "version: 1.1\nkind: component\nname: dd\nrun:\n  kind: daskcluster\n  minReplicas: 1\n  maxReplicas: 4\n  worker:\n    replicas: 2\n    container: {image: myelin.test/run:1, args: [dask-worker]}\n  scheduler:\n    container: {image: myelin.test/run:1, args: [dask-scheduler]}\n";
    let id = fx.submit(dask, false).await.unwrap();
    let r = fx.wait(id, "the DaskCluster applied", applied("DaskCluster run-")).await;
    assert_eq!(status(&r), Status::Scheduled, "{:?}", r.diagnosis);
    let path = format!("/apis/kubernetes.dask.org/v1/namespaces/{ns}/daskclusters/run-{id}");
    let o = fx.api.get(&path).await;
    assert_eq!(o["spec"]["worker"]["replicas"], 2, "{o}");
    let ports: Vec<i64> = o["spec"]["scheduler"]["service"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["port"].as_i64())
        .collect();
    assert_eq!(ports, [8786, 8787]);
    let auto =
        fx.api.get(&format!("/apis/kubernetes.dask.org/v1/namespaces/{ns}/daskautoscalers/run-{id}")).await;
    assert_eq!(
        (auto["spec"]["minimum"].as_i64(), auto["spec"]["maximum"].as_i64()),
        (Some(1), Some(4)),
        "{auto}"
    );
    fx.api.patch(&path, serde_json::json!({"status": {"phase": "Running"}})).await;
    fx.wait(id, "running", |r| status(r) == Status::Running).await;
    fx.stop(id).await;
    fx.wait(id, "stopped", |r| status(r) == Status::Stopped).await;
    fx.end().await;
}
