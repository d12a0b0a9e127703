//! The run store, beneath both the services and the executors: a run's status moves (with its timeline),
//! run tokens, its cache record and learnt digests, and the nudge that wakes the scheduler. Executors report
//! here; nothing here knows of services, executors or HTTP.

pub mod cache;
pub mod runs;
pub mod status;
pub mod tokens;

use spec::lifecycle::{RunKind, Status};
use uuid::Uuid;

use crate::error::{Error, Result};

/// Bumped whenever a run ends (or a pipeline is created or stopped): schedulers look again at once, so a
/// freed slot or a pipeline's next op does not wait for the next poll.
static NUDGE: std::sync::LazyLock<tokio::sync::watch::Sender<u64>> =
    std::sync::LazyLock::new(|| tokio::sync::watch::channel(0).0);

pub fn nudge() {
    NUDGE.send_modify(|n| *n = n.wrapping_add(1));
}

/// What the scheduler waits on besides its poll.
pub fn nudges() -> tokio::sync::watch::Receiver<u64> {
    NUDGE.subscribe()
}

/// A stored status, parsed strictly: a value this version does not know is an error (logged with the run),
/// never a silent default.
pub fn status_of(run: Uuid, s: &str) -> Result<Status> {
    Status::parse(s).ok_or_else(|| Error::Internal(format!("run {run} has an unknown status {s:?}")))
}

/// A stored run kind, parsed strictly.
pub fn kind_of(run: Uuid, s: &str) -> Result<RunKind> {
    RunKind::parse(s).ok_or_else(|| Error::Internal(format!("run {run} has an unknown kind {s:?}")))
}
