//! Dispatch: a scheduled run's attempt applied to the cluster (workload, then its Secret), and what happens
//! when the API refuses it (the run fails with the API's words) or cannot be reached (back to the queue, with
//! backoff).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use spec::lifecycle::Status;

use super::objects::{Attempt, FIELD_MANAGER};
use super::{resource, system_line, watch, Diagnosis, KubeExecutor, EXECUTOR};
use crate::entities::run;
use crate::executor::logs::append;
use crate::store::status::{report, report_note};

/// Failures talking to the cluster: the API refused (the run fails with its words) or could not be reached
/// (the run goes back to the queue).
enum ApiError {
    Refused(String),
    Unreachable(String),
}

impl From<kube::Error> for ApiError {
    fn from(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(s) if s.code < 500 && s.code != 429 => ApiError::Refused(s.message.clone()),
            other => ApiError::Unreachable(other.to_string()),
        }
    }
}

impl KubeExecutor {
    /// Dispatches a scheduled run's current attempt.
    pub fn start(self: &Arc<Self>, r: run::Model) {
        let me = self.clone();
        tokio::spawn(async move { me.dispatch(r).await });
    }

    async fn dispatch(self: Arc<Self>, r: run::Model) {
        let id = r.id;
        match self.apply(&r).await {
            Ok(name) => {
                self.clear_backoff();
                let msg = format!("{name} applied in namespace {}", self.namespace);
                self.record_inputs(&r).await;
                if r.manifests().is_ok_and(|m| super::objects::uses_artifacts_context(&m)) {
                    let note = format!(
                        "this run writes under {} (globals.run_outputs_path): pods have it, but the Kubernetes \
                         executor does not keep its files yet; log them with mlflow.log_artifact or \
                         `myelin artifacts upload`",
                        crate::executor::context::ARTIFACTS_PATH
                    );
                    append(&self.logs.path(id), &system_line(&note)).await;
                }
                report_note(&self.db, id, Status::Scheduled, "Dispatched", Some(&msg)).await;
                self.dirty.push(id);
            }
            Err(ApiError::Refused(why)) => {
                let msg = format!("the Kubernetes API refused the run: {why}");
                append(&self.logs.path(id), &system_line(&msg)).await;
                self.set_diagnosis(
                    id,
                    Some(&Diagnosis {
                        code: "rejected".into(),
                        message: msg.clone(),
                        scheduler_message: None,
                        findings: vec![],
                    }),
                )
                .await;
                report(&self.db, id, Status::Failed, "DispatchRefused", Some(&msg)).await;
                self.logs.archive(r.project_id, id).await;
            }
            Err(ApiError::Unreachable(why)) => {
                let wait = self.extend_backoff();
                let msg = format!(
                    "cannot reach the Kubernetes API ({why}); the run stays queued, next attempt in {} s",
                    wait.as_secs()
                );
                tracing::warn!(run = %id, "{msg}");
                report(&self.db, id, Status::Queued, "ClusterUnreachable", Some(&msg)).await;
                let wake = self.wake.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    wake.notify_one();
                });
            }
        }
    }

    /// What the run's init steps will bring in (the revision asked for; artifacts by the index's digests).
    async fn record_inputs(&self, r: &run::Model) {
        let Ok(manifests) = r.manifests() else { return };
        let Some(pod) = spec::placement::pod_specs(&manifests).first().copied().cloned() else { return };
        let recorded = async {
            let inputs = crate::services::lineage::sources::init_inputs(&self.db, &pod, None).await?;
            crate::services::lineage::record(&self.db, r.into(), inputs).await
        };
        if let Err(e) = recorded.await {
            tracing::warn!(run = %r.id, "lineage of the init steps not recorded: {e}");
        }
    }

    /// Applies the attempt's objects, then its Secret (owned by the first object). Returns the workload's name.
    async fn apply(&self, r: &run::Model) -> Result<String, ApiError> {
        let init_image = self.init_image();
        let attempt = Attempt {
            run: r.id,
            project: r.project_id,
            attempt: r.retries,
            namespace: &self.namespace,
            init_image: &init_image,
        };
        let manifests = r.manifests().map_err(|e| ApiError::Refused(e.to_string()))?;
        if manifests.is_empty() {
            return Err(ApiError::Refused("the compiled run has no manifests".into()));
        }
        let token = crate::store::tokens::issue(&self.db, r.id)
            .await
            .map_err(|e| ApiError::Unreachable(e.to_string()))?;
        run::Entity::update_many()
            .col_expr(run::Column::Executor, Expr::value(EXECUTOR))
            .filter(run::Column::Id.eq(r.id))
            .exec(&self.db)
            .await
            .map_err(|e| ApiError::Unreachable(e.to_string()))?;
        let mut owner = None;
        for o in attempt.objects(&manifests) {
            let applied = self.apply_one(&o).await?;
            owner.get_or_insert(applied);
        }
        let owner = owner.expect("at least one manifest");
        let env = super::super::tracking_env(r, &self.server_url, &token);
        let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, v.clone())).collect();
        self.apply_one(&attempt.secret(&env, &owner)).await?;
        let note = format!("run {} ({}), attempt {}", r.id, r.name, r.retries);
        self.record(&owner, kube::runtime::events::EventType::Normal, "Dispatched", &note).await;
        Ok(format!("{} {}", owner["kind"].as_str().unwrap_or_default(), attempt.name()))
    }

    async fn apply_one(&self, o: &Value) -> Result<Value, ApiError> {
        let ar = resource(o);
        if !matches!(ar.group.as_str(), "" | "batch" | "apps") {
            watch::ensure(self, &ar);
        }
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), &self.namespace, &ar);
        let name = o["metadata"]["name"].as_str().unwrap_or_default();
        let obj: DynamicObject =
            serde_json::from_value(o.clone()).map_err(|e| ApiError::Refused(format!("{name}: {e}")))?;
        let applied = api
            .patch(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&obj))
            .await
            .map_err(|e| match ApiError::from(e) {
                ApiError::Refused(m) if m.contains("could not find the requested resource") => {
                    ApiError::Refused(format!(
                        "{} ({}) is not installed in the cluster: {m}",
                        ar.kind, ar.api_version
                    ))
                }
                other => other,
            })?;
        let mut v = serde_json::to_value(&applied).unwrap_or_default();
        v["apiVersion"] = Value::String(ar.api_version.clone());
        v["kind"] = Value::String(ar.kind.clone());
        Ok(v)
    }

    fn extend_backoff(&self) -> Duration {
        let mut b = self.backoff.lock().expect("lock");
        let wait = b.map_or(Duration::from_secs(1), |(_, w)| (w * 2).min(Duration::from_secs(60)));
        *b = Some((Instant::now() + wait, wait));
        wait
    }

    fn clear_backoff(&self) {
        *self.backoff.lock().expect("lock") = None;
    }
}
