//! What every request handler and server function can reach.

use std::path::PathBuf;
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::artifacts::Artifacts;
use crate::auth::limit::{LoginLimiter, StreamLimit};
use crate::auth::web::WebPolicy;
use crate::executor::{Executor, LocalExecutor};

/// The tracking writers' journals, under the data dir (`services::tracking::ingest::journal`).
pub const JOURNAL_DIR: &str = "tracking-journal";

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub limiter: Arc<LoginLimiter>,
    /// Open event streams per user (`--max-streams-per-user`).
    pub streams: Arc<StreamLimit>,
    /// How users and jobs reach this server (links in invitations, the tracking URI).
    pub public_url: Arc<str>,
    /// Allowed hosts, trusted proxies, `Secure` cookies (`auth::web`).
    pub web: Arc<WebPolicy>,
    pub executor: Executor,
    /// The connections catalog runs resolve `connections:` and `init[].connection` against (Polyaxon's agent
    /// `connections:` format; `--connections FILE`).
    pub connections: Arc<spec::catalog::Catalog>,
    pub artifacts: Arc<Artifacts>,
    /// Uploads in parts under way (`services::uploads`).
    pub uploads: Arc<crate::services::uploads::Uploads>,
    /// Wakes the scheduler (after a submit) instead of waiting for its next tick.
    pub wake: Arc<Notify>,
    /// The tracking writer every logged batch goes through (`services::tracking::ingest`).
    pub ingest: crate::services::tracking::ingest::Ingest,
    /// Who bearer tokens stand for and which runs they may log to, for a moment (`auth::cache`).
    pub grants: Arc<crate::auth::cache::Grants>,
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
        let web = Arc::new(WebPolicy::for_server(None, &public_url, &[], secure_cookies));
        let public: Arc<str> = Arc::from(public_url.as_str());
        let journal = data_dir.join(JOURNAL_DIR);
        let executor = Executor::Local(Arc::new(LocalExecutor::new(
            db.clone(),
            data_dir,
            public_url,
            artifacts.clone(),
        )));
        Self {
            ingest: crate::services::tracking::ingest::Ingest::start(
                db.clone(),
                Default::default(),
                Some(&journal),
            ),
            uploads: Arc::new(crate::services::uploads::Uploads::new(db.clone(), artifacts.clone())),
            db,
            limiter: Arc::new(LoginLimiter::default()),
            streams: Arc::new(StreamLimit::default()),
            public_url: public,
            web,
            executor,
            connections: Arc::default(),
            artifacts,
            wake: Arc::new(Notify::new()),
            grants: Arc::default(),
        }
    }

    /// Submits a run to this server's executor, compiled against its connections (`services::runs::submit`).
    pub async fn submit(
        &self,
        a: &crate::services::projects::ProjectAccess,
        u: &crate::entities::user::Model,
        sub: &crate::services::runs::Submission,
    ) -> crate::Result<crate::services::runs::RunDetail> {
        crate::services::runs::submit(&self.db, a, u, sub, &self.executor, &self.connections, None).await
    }

    /// A new run with a finished run's spec and params (`services::runs::restart`).
    pub async fn restart(
        &self,
        a: &crate::services::projects::ProjectAccess,
        u: &crate::entities::user::Model,
        id: uuid::Uuid,
    ) -> crate::Result<crate::services::runs::RunDetail> {
        crate::services::runs::restart(&self.db, a, u, &self.executor, &self.connections, id).await
    }

    /// Starts the scheduler loop (the server; tests drive `scheduler::tick` themselves when they want).
    pub fn spawn_scheduler(&self) {
        crate::scheduler::spawn(
            self.db.clone(),
            self.executor.clone(),
            self.wake.clone(),
            self.connections.clone(),
            self.ingest.clone(),
        );
    }
}
