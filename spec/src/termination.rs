//! A run's `termination` (retries, timeout, ttl) and who retries a failed attempt: Kubernetes, as Polyaxon
//! has it, or Myelin's server.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who retries a failed attempt of a batch Job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Retries {
    /// Polyaxon's semantics (the `myelin compile` contract): `backoffLimit` is `termination.maxRetries`.
    #[default]
    Kubernetes,
    /// Myelin's server: each retry is a new Job (a Job's pod template is immutable), so the Job itself never
    /// retries (`backoffLimit: 0`), and evictions and preemptions, not the user's failures, make the Job
    /// replace the pod (`podFailurePolicy`, `podReplacementPolicy: Failed`). What the editor previews too.
    Myelin,
}

/// A run's `termination` (the component's, under what its operation and pipeline set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Termination {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// Seconds a run may take before it is failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Seconds the finished workload is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
}

impl Termination {
    /// From a `termination` section the schema has checked (integers); negative values mean none.
    pub(crate) fn from_value(v: &Value) -> Self {
        let int = |k: &str| v.get(k).and_then(Value::as_i64).filter(|n| *n >= 0);
        Termination {
            max_retries: int("maxRetries").map(|n| n.min(u32::MAX as i64) as u32),
            // As Polyaxon: a timeout of 0 sets none (Kubernetes refuses an `activeDeadlineSeconds` of 0).
            timeout: int("timeout").filter(|n| *n > 0).map(|n| n as u64),
            ttl: int("ttl").map(|n| n as u64),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Termination::default()
    }
}
