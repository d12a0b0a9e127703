//! Assembling the HTTP service: state, sessions, CSRF. The `app` crate adds the UI routes on top.

use axum::middleware;
use axum::Router;

use crate::auth::{csrf, session::Store};
use crate::error::Result;
use crate::services::tracking::ingest::Ingest;
use crate::state::AppState;

/// Connects the database (migrating it), and prepares the session store on the same pool.
use crate::config::ExecutorKind;

pub async fn prepare(
    database_url: &str,
    secure_cookies: bool,
    data_dir: &std::path::Path,
    public_url: &str,
    artifacts_url: Option<&str>,
) -> Result<(AppState, Store)> {
    prepare_with(database_url, secure_cookies, data_dir, public_url, artifacts_url, ExecutorKind::Local, None)
        .await
}

/// As `prepare`, with the executor chosen (`kubernetes` connects to the cluster and starts its watchers).
pub async fn prepare_with(
    database_url: &str,
    secure_cookies: bool,
    data_dir: &std::path::Path,
    public_url: &str,
    artifacts_url: Option<&str>,
    executor: ExecutorKind,
    namespace: Option<String>,
) -> Result<(AppState, Store)> {
    let db = crate::db::connect(database_url).await?;
    let store = Store::for_db(&db).await?;
    let artifacts = std::sync::Arc::new(crate::artifacts::Artifacts::open(artifacts_url, data_dir)?);
    let mut state =
        AppState::new(db, secure_cookies, data_dir.to_path_buf(), public_url.to_string(), artifacts);
    if executor == ExecutorKind::Kubernetes {
        let k = crate::executor::KubeExecutor::with_config(
            crate::executor::KubeExecutor::infer_config().await?,
            state.db.clone(),
            data_dir,
            public_url.to_string(),
            state.artifacts.clone(),
            namespace,
            state.wake.clone(),
        )?;
        state.executor = crate::executor::Executor::Kubernetes(k);
    }
    Ok((state, store))
}

/// Wraps a complete router with sessions, CSRF protection, the allowed hosts and security headers.
pub fn finish(
    router: Router,
    store: &Store,
    web: &std::sync::Arc<crate::auth::web::WebPolicy>,
    ingest: &Ingest,
) -> Router {
    use crate::auth::web;
    router
        .layer(middleware::from_fn_with_state(ingest.clone(), settled))
        .layer(middleware::from_fn(csrf::protect))
        .layer(store.layer(web.secure_cookies))
        .layer(middleware::from_fn_with_state(web.clone(), web::check_host))
        .layer(middleware::from_fn(web::security_headers))
}

/// The API alone (tests, headless deployments).
pub fn api_only(state: AppState, store: &Store) -> Router {
    let (web, ingest) = (state.web.clone(), state.ingest.clone());
    finish(crate::api::router().with_state(state), store, &web, &ingest)
}

/// Every request but one that logs metrics sees every batch of metrics answered before it arrived: journaled
/// batches are written to the database just after their answer (`Ingest::settled`, at most one group's wait).
async fn settled(
    axum::extract::State(ingest): axum::extract::State<Ingest>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    if !logs_metrics(&req) {
        ingest.settled().await;
    }
    next.run(req).await
}

/// MLflow's `log-batch` and `log-metric`, and Myelin's own tracking endpoint.
fn logs_metrics(req: &axum::extract::Request) -> bool {
    let path = req.uri().path();
    req.method() == axum::http::Method::POST
        && (path.ends_with("/runs/log-batch")
            || path.ends_with("/runs/log-metric")
            || (path.starts_with("/api/v1/projects/") && path.ends_with("/tracking")))
}

/// The server's listener: every accepted connection sends at once (`TCP_NODELAY`). With Nagle's algorithm a
/// reply's last small segment waited for the client's acknowledgement of the one before.
pub fn listener(
    l: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    l.tap_io(no_delay)
}

fn no_delay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!("TCP_NODELAY: {e}");
    }
}
