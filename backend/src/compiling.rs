//! Compiling is CPU work: it runs on the blocking pool, a few at a time (one per core), within a time budget,
//! never on the async workers that serve every other request. Its limits (`spec::limits::Limits`) are the
//! server's configuration, set once at start.

use std::sync::OnceLock;
use std::time::Duration;

use spec::limits::Limits;
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

static SETTINGS: OnceLock<(Limits, Duration)> = OnceLock::new();
static POLICY: OnceLock<spec::policy::Policy> = OnceLock::new();

/// Sets the pod policy every submit is checked against (once, at start).
pub fn configure_policy(p: spec::policy::Policy) {
    let _ = POLICY.set(p);
}

/// The server's pod policy (default: baseline, no service accounts).
pub fn policy() -> spec::policy::Policy {
    POLICY.get().cloned().unwrap_or_default()
}

/// The pod policy a project's runs are compiled against: the profile a site admin set for the project, else
/// the server's; the allowed service accounts are the server's.
pub fn policy_for(project: &crate::entities::project::Model) -> spec::policy::Policy {
    let mut p = policy();
    if let Some(profile) = project.pod_policy.as_deref().and_then(spec::policy::Profile::parse) {
        p.profile = profile;
    }
    p
}
static SLOTS: OnceLock<Semaphore> = OnceLock::new();

/// How long one compile may take unless configured (`--max-compile-seconds`).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(10);

/// Sets the server's limits (once, at start; later calls are ignored).
pub fn configure(limits: Limits, budget: Duration) {
    let _ = SETTINGS.set((limits, budget));
}

/// The limits every compile of this server uses.
pub fn limits() -> Limits {
    SETTINGS.get().map(|s| s.0).unwrap_or_default()
}

fn budget() -> Duration {
    SETTINGS.get().map(|s| s.1).unwrap_or(DEFAULT_BUDGET)
}

/// Runs `work` (a compile) on the blocking pool when a slot is free, and gives up waiting for it after the
/// budget: the answer is then an error naming the limit (the work itself is bounded by `limits()`).
pub async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let slots = SLOTS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(1))
    });
    let budget = budget();
    let run = async {
        let _slot = slots.acquire().await.map_err(|e| Error::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(work).await.map_err(|e| Error::Internal(format!("compile task: {e}")))
    };
    tokio::time::timeout(budget, run).await.map_err(|_| {
        Error::LimitExceeded(format!(
            "compiling took longer than {} s; the limit is compile_seconds",
            budget.as_secs_f64()
        ))
    })?
}
