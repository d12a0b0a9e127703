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

#[cfg(test)]
mod tests {
    use super::*;

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
