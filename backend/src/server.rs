//! Assembling the HTTP service: state, sessions, CSRF. The `app` crate adds the UI routes on top.

use axum::middleware;
use axum::Router;

use crate::auth::{csrf, session::Store};
use crate::error::Result;
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
pub fn finish(router: Router, store: &Store, web: &std::sync::Arc<crate::auth::web::WebPolicy>) -> Router {
    use crate::auth::web;
    router
        .layer(middleware::from_fn(csrf::protect))
        .layer(store.layer(web.secure_cookies))
        .layer(middleware::from_fn_with_state(web.clone(), web::check_host))
        .layer(middleware::from_fn(web::security_headers))
}

/// The API alone (tests, headless deployments).
pub fn api_only(state: AppState, store: &Store) -> Router {
    let web = state.web.clone();
    finish(crate::api::router().with_state(state), store, &web)
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
