//! Run statuses and the transitions between them, as Polyaxon defines them (`V1Statuses`, haupt's
//! `new_status`): done statuses are final, `created` is never re-entered, from `stopping` only a done status.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Created,
    Compiled,
    Queued,
    Scheduled,
    Starting,
    Running,
    Succeeded,
    Failed,
    Stopping,
    Stopped,
    Skipped,
    UpstreamFailed,
    Retrying,
    Warning,
    Unschedulable,
}

pub const ALL: [Status; 15] = [
    Status::Created,
    Status::Compiled,
    Status::Queued,
    Status::Scheduled,
    Status::Starting,
    Status::Running,
    Status::Succeeded,
    Status::Failed,
    Status::Stopping,
    Status::Stopped,
    Status::Skipped,
    Status::UpstreamFailed,
    Status::Retrying,
    Status::Warning,
    Status::Unschedulable,
];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Compiled => "compiled",
            Status::Queued => "queued",
            Status::Scheduled => "scheduled",
            Status::Starting => "starting",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Stopping => "stopping",
            Status::Stopped => "stopped",
            Status::Skipped => "skipped",
            Status::UpstreamFailed => "upstream_failed",
            Status::Retrying => "retrying",
            Status::Warning => "warning",
            Status::Unschedulable => "unschedulable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Final: nothing changes a done run.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            Status::Succeeded | Status::Failed | Status::Stopped | Status::Skipped | Status::UpstreamFailed
        )
    }

    /// Holding or about to hold resources (counts against concurrency).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Status::Scheduled
                | Status::Starting
                | Status::Running
                | Status::Retrying
                | Status::Stopping
                | Status::Warning
                | Status::Unschedulable
        )
    }

    /// Whether a run in `self` may move to `next`.
    pub fn can_become(self, next: Status) -> bool {
        if self.is_done() || next == Status::Created || self == next {
            return false;
        }
        if self == Status::Stopping {
            return next.is_done();
        }
        true
    }
}

/// What a run is: the kind its component's `run` compiles to, or one of Myelin's own (a matrix sweep's parent,
/// a run logged by an MLflow client outside Myelin). Stored as its lowercase name; parsing is strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    Job,
    Service,
    Dag,
    TfJob,
    PyTorchJob,
    MpiJob,
    RayCluster,
    DaskCluster,
    /// A matrix sweep: its children are the runs.
    Matrix,
    /// Started by an MLflow client outside Myelin: no spec, no executor.
    External,
}

/// Every kind, Myelin's own included.
pub const ALL_KINDS: [RunKind; 10] = [
    RunKind::Job,
    RunKind::Service,
    RunKind::Dag,
    RunKind::TfJob,
    RunKind::PyTorchJob,
    RunKind::MpiJob,
    RunKind::RayCluster,
    RunKind::DaskCluster,
    RunKind::Matrix,
    RunKind::External,
];

/// The kinds a component's `run.kind` may name, in Polyaxon's words (the others are Myelin's own).
pub const COMPONENT_KINDS: &[RunKind] = ALL_KINDS.split_at(8).0;

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Job => "job",
            RunKind::Service => "service",
            RunKind::Dag => "dag",
            RunKind::TfJob => "tfjob",
            RunKind::PyTorchJob => "pytorchjob",
            RunKind::MpiJob => "mpijob",
            RunKind::RayCluster => "raycluster",
            RunKind::DaskCluster => "daskcluster",
            RunKind::Matrix => "matrix",
            RunKind::External => "external",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ALL_KINDS.into_iter().find(|k| k.as_str() == s)
    }

    /// A pipeline: its ops or children are the runs that execute.
    pub fn is_pipeline(self) -> bool {
        matches!(self, RunKind::Dag | RunKind::Matrix)
    }

    /// Kinds no executor runs (they take no slot): external runs and pipelines.
    pub fn is_dispatched(self) -> bool {
        !matches!(self, RunKind::Dag | RunKind::Matrix | RunKind::External)
    }
}

impl std::fmt::Display for RunKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_kinds_round_trip_and_unknown_ones_are_refused() {
        for k in ALL_KINDS {
            assert_eq!(RunKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(RunKind::parse("Job"), None);
        assert_eq!(RunKind::parse("notebook"), None);
        assert!(!RunKind::Dag.is_dispatched() && RunKind::TfJob.is_dispatched());
    }

    #[test]
    fn done_is_final_and_stopping_only_ends() {
        assert!(!Status::Succeeded.can_become(Status::Running));
        assert!(!Status::Running.can_become(Status::Created));
        assert!(Status::Stopping.can_become(Status::Stopped));
        assert!(!Status::Stopping.can_become(Status::Running));
        assert!(Status::Queued.can_become(Status::Stopped));
        assert!(ALL.iter().all(|s| Status::parse(s.as_str()) == Some(*s)));
    }
}
