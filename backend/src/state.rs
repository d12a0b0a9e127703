//! What every request handler and server function can reach.

use std::path::PathBuf;
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::artifacts::Artifacts;
use crate::auth::limit::LoginLimiter;
use crate::executor::{Executor, LocalExecutor};

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub limiter: Arc<LoginLimiter>,
    pub secure_cookies: bool,
    pub executor: Executor,
    /// The connections catalog runs resolve `connections:` and `init[].connection` against (Polyaxon's agent
    /// `connections:` format; `--connections FILE`).
    pub connections: Arc<spec::catalog::Catalog>,
    pub artifacts: Arc<Artifacts>,
    /// Wakes the scheduler (after a submit) instead of waiting for its next tick.
    pub wake: Arc<Notify>,
}

impl AppState {
    /// `public_url` is how jobs reach this server (tracking URI).
    pub fn new(
        db: DatabaseConnection,
        secure_cookies: bool,
        data_dir: PathBuf,
        public_url: String,
        artifacts: Arc<Artifacts>,
    ) -> Self {
        let executor = Executor::Local(Arc::new(LocalExecutor::new(
            db.clone(),
            data_dir,
            public_url,
            artifacts.clone(),
        )));
        Self {
            db,
            limiter: Arc::new(LoginLimiter::default()),
            secure_cookies,
            executor,
            connections: Arc::default(),
            artifacts,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Starts the scheduler loop (the server; tests drive `scheduler::tick` themselves when they want).
    pub fn spawn_scheduler(&self) {
        crate::scheduler::spawn(self.db.clone(), self.executor.clone(), self.wake.clone());
    }
}
