//! The controller loop, in kube-rs' `controller-rs` shape: a change the watchers see marks its run dirty;
//! workers `reconcile` each dirty run from what the watchers hold into the database, and `error_policy`
//! requeues a run whose reconcile failed (a busy database, a bad stored row) with a growing backoff instead of
//! leaving it until the cluster happens to change again. User-visible transitions are also recorded as
//! Kubernetes Events on the run's workload (`kubectl describe job run-…`).
//!
//! Not `kube::runtime::Controller` itself: the object reconciled is a run (a database row), whose workload is
//! one of several kinds (Job, Deployment, Kubeflow, Ray, Dask) plus its pods and their events, while a
//! `Controller` keys on one primary Kubernetes kind. The queue (`queue.rs`) gives the same guarantees: a run is
//! never reconciled by two workers at once, and changes that arrive while it waits coalesce.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use spec::lifecycle::Status;
use uuid::Uuid;

use super::assess::{assess, Seen};
use super::objects::ATTEMPT;
use super::watch::run_of;
use super::{resource, KubeExecutor, EXECUTOR};
use crate::entities::run;
use crate::store::status::transition_with;

/// Reconcile workers: enough to overlap database round trips (SQLite still writes one at a time).
const WORKERS: usize = 4;

/// What to do with a run after a reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing more until the watchers see the run's objects change.
    AwaitChange,
    /// Look again after this long even if nothing changes.
    RequeueAfter(Duration),
}

/// The reconcile workers, for the executor's task list.
pub fn workers(exec: Arc<KubeExecutor>) -> Vec<tokio::task::AbortHandle> {
    let failures = Arc::new(std::sync::Mutex::new(HashMap::<Uuid, u32>::new()));
    (0..WORKERS)
        .map(|_| {
            let (me, failures) = (exec.clone(), failures.clone());
            tokio::spawn(async move {
                loop {
                    let id = me.dirty.pop().await;
                    let action = match me.reconcile(id).await {
                        Ok(action) => {
                            failures.lock().expect("lock").remove(&id);
                            action
                        }
                        Err(e) => {
                            let n = {
                                let mut f = failures.lock().expect("lock");
                                let n = f.entry(id).or_default();
                                *n += 1;
                                *n
                            };
                            error_policy(id, &e, n)
                        }
                    };
                    me.dirty.done(id);
                    if let Action::RequeueAfter(wait) = action {
                        let me = me.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(wait).await;
                            me.dirty.push(id);
                        });
                    }
                }
            })
            .abort_handle()
        })
        .collect()
}

/// A failed reconcile is retried: after 1 s, doubling with each failure in a row, at most a minute.
pub fn error_policy(id: Uuid, e: &crate::Error, failures: u32) -> Action {
    let wait = Duration::from_secs(1 << failures.saturating_sub(1).min(6)).min(Duration::from_secs(60));
    tracing::warn!(run = %id, error = ?e, failures, "cannot update the run from the cluster; again in {wait:?}");
    Action::RequeueAfter(wait)
}

/// The Events recorder: reports as `myelin`.
pub fn recorder(client: kube::Client) -> Recorder {
    Recorder::new(client, Reporter { controller: "myelin".into(), instance: None })
}

impl KubeExecutor {
    /// Brings one run up to date from what the watchers hold.
    pub(super) async fn reconcile(&self, id: Uuid) -> crate::Result<Action> {
        let Some(r) = run::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(Action::AwaitChange);
        };
        let status = r.status()?;
        if r.executor != EXECUTOR
            || status.is_done()
            || matches!(status, Status::Stopping | Status::Queued | Status::Created | Status::Compiled)
        {
            return Ok(Action::AwaitChange);
        }
        let name = super::objects::name(id, r.retries);
        let Some(first) = r.manifests()?.into_iter().next() else { return Ok(Action::AwaitChange) };
        let ar = resource(&first);
        let Some(top) = self.cache.get(&ar.plural, &name) else {
            tracing::debug!(plural = %ar.plural, %name, "reconcile: no workload seen");
            return Ok(Action::AwaitChange);
        };
        let attempt = r.retries.to_string();
        let pods = self.cache.all("pods", |p| {
            run_of(p) == Some(id) && p["metadata"]["labels"][ATTEMPT].as_str() == Some(attempt.as_str())
        });
        let names: HashSet<&str> = pods.iter().filter_map(|p| p["metadata"]["name"].as_str()).collect();
        let mut warnings = self
            .cache
            .all("events", |e| e["involvedObject"]["name"].as_str().is_some_and(|n| names.contains(n)));
        if pods.is_empty() && top["kind"] == "Job" {
            warnings.extend(
                self.cache.all(super::watch::JOB_EVENTS, |e| e["involvedObject"]["name"] == name.as_str()),
            );
        }
        if pods.is_empty() && top["kind"] == "Deployment" {
            warnings.extend(self.cache.all(super::watch::REPLICA_SET_EVENTS, |e| {
                e["involvedObject"]["name"].as_str().map(super::assess::deployment_of) == Some(name.as_str())
            }));
        }
        // The Nodes matter only to explain a pod no node took; building their view is the costly part.
        let unplaced = pods.iter().any(|p| p["spec"]["nodeName"].is_null());
        let nodes = if unplaced { self.node_views() } else { Vec::new() };
        let o = assess(&Seen {
            top: &top,
            pods: pods.iter().collect(),
            warnings: warnings.iter().collect(),
            nodes: &nodes,
        });
        let diagnosis = match o.status {
            Status::Running | Status::Succeeded | Status::Starting => None,
            _ => o.diagnosis.as_ref().map(|d| serde_json::to_value(d).unwrap_or_default()),
        };
        // What changed besides the status, written with the transition so no reader sees one without the other.
        let mut also: Vec<(run::Column, SimpleExpr)> = Vec::new();
        if diagnosis != r.diagnosis {
            also.push((run::Column::Diagnosis, Expr::value(diagnosis)));
        }
        if o.node.is_some() && o.node != r.node {
            also.push((run::Column::Node, Expr::value(o.node.clone())));
        }
        let learnt = o.image_id.clone().filter(|i| Some(i) != r.image_id.as_ref());
        if let Some(digest) = &learnt {
            also.push((run::Column::ImageId, Expr::value(Some(digest.clone()))));
        }
        if o.exit_code.is_some() && o.exit_code != r.exit_code {
            also.push((run::Column::ExitCode, Expr::value(o.exit_code)));
        }
        if o.status == Status::Failed && r.retries < r.max_retries {
            let retries = r.retries + 1;
            also.push((run::Column::Retries, Expr::value(retries)));
            let msg = format!("{}; retry {retries} of {}", o.message, r.max_retries);
            if transition_with(&self.db, id, Status::Retrying, "Retrying", Some(&msg), also).await? {
                self.record(&top, EventType::Warning, "Retrying", &msg).await;
                if let Some(next) = run::Entity::find_by_id(id).one(&self.db).await? {
                    if let Some(me) = self.this() {
                        me.start(next);
                    }
                }
            }
            return Ok(Action::AwaitChange);
        }
        let moved = o.status != status
            && transition_with(&self.db, id, o.status, &o.reason, Some(&o.message), also.clone()).await?;
        if moved {
            let kind = if matches!(o.status, Status::Failed | Status::Unschedulable | Status::Warning) {
                EventType::Warning
            } else {
                EventType::Normal
            };
            self.record(&top, kind, &o.reason, &o.message).await;
        }
        if !moved && !also.is_empty() {
            let mut u = run::Entity::update_many().filter(run::Column::Id.eq(id));
            for (column, value) in also {
                u = u.col_expr(column, value);
            }
            u.exec(&self.db).await?;
        }
        if let Some(digest) = &learnt {
            crate::store::cache::learn_digest(&self.db, id, digest).await?;
        }
        if matches!(o.status, Status::Running) || o.status.is_done() {
            if let (Some(me), Some(pod)) = (
                self.this(),
                pods.iter().max_by_key(|p| p["metadata"]["creationTimestamp"].as_str().map(str::to_string)),
            ) {
                me.follow(id, r.retries, pod);
            }
        }
        if moved && o.status.is_done() {
            if let Some(me) = self.this() {
                tokio::spawn(async move { me.finish(id).await });
            }
        }
        Ok(Action::AwaitChange)
    }

    /// Records a Kubernetes Event on a run's workload (`top`, as the watchers hold it). Events are for people
    /// reading the cluster; failing to write one is logged, never fatal to the run.
    pub(super) async fn record(&self, top: &Value, type_: EventType, reason: &str, note: &str) {
        let meta = &top["metadata"];
        let reference = ObjectReference {
            api_version: top["apiVersion"].as_str().map(str::to_string),
            kind: top["kind"].as_str().map(str::to_string),
            name: meta["name"].as_str().map(str::to_string),
            namespace: meta["namespace"]
                .as_str()
                .map(str::to_string)
                .or_else(|| Some(self.namespace.clone())),
            uid: meta["uid"].as_str().map(str::to_string),
            resource_version: None,
            field_path: None,
        };
        // Kubernetes bounds an Event's reason (128) and note (1 kB).
        let event = Event {
            type_,
            reason: reason.chars().take(128).collect(),
            note: Some(note.chars().take(1000).collect()),
            action: "Reconcile".into(),
            secondary: None,
        };
        if let Err(e) = self.events.publish(&event, &reference).await {
            tracing::warn!(object = ?reference.name, error = %e, "cannot record a Kubernetes Event");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_reconciles_back_off_to_a_minute() {
        let e = crate::Error::Internal("db busy".into());
        let waits: Vec<u64> = [1, 2, 3, 7, 50]
            .into_iter()
            .map(|n| match error_policy(Uuid::nil(), &e, n) {
                Action::RequeueAfter(d) => d.as_secs(),
                Action::AwaitChange => 0,
            })
            .collect();
        assert_eq!(waits, [1, 2, 4, 60, 60]);
    }
}
