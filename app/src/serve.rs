//! `myelin serve`: the UI routes, server functions and REST API on one axum router.

use std::net::SocketAddr;

use axum::extract::FromRef;
use axum::Router;
use backend::auth::session::Store;
use backend::config::ServeArgs;
use backend::AppState;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

use crate::{shell, App};

/// The state the UI routes need: the backend's, and Leptos' options.
#[derive(Clone, FromRef)]
pub struct UiState {
    pub app: AppState,
    pub leptos: LeptosOptions,
}

pub fn leptos_options(site_root: &str, addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("myelin")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

/// The whole HTTP service.
pub fn router(state: AppState, store: &Store, leptos: LeptosOptions) -> Router {
    let (web, ingest) = (state.web.clone(), state.ingest.clone());
    let routes = generate_route_list(App);
    let ui = UiState { app: state.clone(), leptos: leptos.clone() };
    // Static files are routed before the UI: `/pkg/x.js` would otherwise match `/{owner}/{project}`. The site
    // is the binary's own unless a directory is given (`--site-root`, development).
    let static_files = if leptos.site_root.is_empty() {
        Router::new()
            .route("/pkg/{*file}", axum::routing::get(crate::assets::pkg))
            .route("/favicon.ico", axum::routing::get(crate::assets::favicon))
    } else {
        let site = std::path::PathBuf::from(leptos.site_root.as_ref());
        Router::new()
            .nest_service("/pkg", ServeDir::new(site.join("pkg")))
            .route_service("/favicon.ico", ServeFile::new(site.join("favicon.ico")))
    }
    .layer(CompressionLayer::new());
    let router = Router::new()
        .merge(static_files)
        .leptos_routes_with_context(
            &ui,
            routes,
            move || provide_context(state.clone()),
            move || shell(leptos.clone()),
        )
        .merge(backend::api::router())
        .fallback(leptos_axum::file_and_error_handler::<UiState, _>(shell))
        .with_state(ui);
    backend::server::finish(router, store, &web, &ingest)
}

const LAYOUT_LOG_TARGETS: &[&str] = &[
    "connected_components",
    "coordinate_calculation",
    "crossing_reduction",
    "crossings_reduction",
    "cut_values",
    "initialization",
    "initializing",
    "layouting",
    "low_lim",
    "ranking",
    "reduce_crossings",
];

pub async fn serve(args: ServeArgs) -> Result<(), String> {
    let mut filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into());
    // rust-sugiyama logs every layout phase at info, under targets of its own.
    for target in LAYOUT_LOG_TARGETS {
        if let Ok(d) = format!("{target}=warn").parse() {
            filter = filter.add_directive(d);
        }
    }
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let addr: SocketAddr = args.listen.parse().map_err(|e| format!("--listen {}: {e}", args.listen))?;
    backend::compiling::configure_policy(args.policy());
    backend::compiling::configure(
        args.limits(),
        std::time::Duration::from_secs(args.max_compile_seconds.max(1)),
    );
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let (state, store) = backend::server::prepare_with(
        &args.db().url(),
        args.secure_cookies,
        &args.data_dir,
        &public_url,
        args.artifacts_url.as_deref(),
        args.executor,
        args.namespace.clone(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut state = state;
    // Charts read chunks without a summary whole: summarising older ones only makes them faster.
    tokio::spawn(backend::services::tracking::chunks::backfill(state.db.clone()));
    state.web = std::sync::Arc::new(args.web_policy(addr, &public_url));
    state.streams.set_per_user(args.max_streams_per_user);
    // With `disk`, batches wait for the database's disk and no journal is kept (the default writers, dropped
    // here, still write what an earlier process left in theirs).
    if args.metrics_durability != backend::config::MetricsDurability::default() {
        state.ingest = backend::services::tracking::ingest::Ingest::start(
            state.db.clone(),
            args.metrics_durability,
            None,
        );
    }
    state.artifacts.set_quota(backend::artifacts::Quota {
        bytes: args.artifact_quota_bytes,
        files: args.artifact_quota_files,
    });
    let mut connections = backend::config::connections(args.connections.as_deref())?;
    // A run may ask for the namespace runs go to (`namespace:`); any other is refused, as Polyaxon's agent does.
    if let Some(kube) = state.executor.kubernetes() {
        connections = connections.with_namespace(kube.namespace());
        kube.set_init_image(&args.init_image);
    }
    state.connections = std::sync::Arc::new(connections);
    let ungranted = state.connections.ungranted();
    if !ungranted.is_empty() {
        tracing::warn!(
            "connections granted to no project (add `projects: [owner/name, owner/*, \"*\"]` in the catalog): {}",
            ungranted.join(", ")
        );
    }
    if let Some(local) = state.executor.local() {
        let sandbox = backend::executor::sandbox::Sandbox::detect(&args.isolation());
        if sandbox.isolated() {
            tracing::info!("{}", sandbox.describe());
        } else {
            tracing::warn!("{}", sandbox.describe());
        }
        local.set_sandbox(sandbox);
    }
    store.spawn_cleanup();
    let orphans = state.executor.recover().await.map_err(|e| e.to_string())?;
    if orphans > 0 {
        tracing::warn!("{orphans} run(s) left by the previous server process were brought to a true status");
    }
    state.spawn_scheduler();
    let site_root = args.site_root.clone().unwrap_or_default();
    crate::assets::init(&site_root);
    if site_root.is_empty() && !crate::assets::present() {
        tracing::warn!("this binary carries no site (built before scripts/build.sh): pages will not load");
    }
    let app = router(state, &store, leptos_options(&site_root, addr));
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!("myelin serving on http://{addr}");
    axum::serve(backend::server::listener(listener), app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| e.to_string())
}

/// Ctrl-C or SIGTERM (what `kill`, systemd and Kubernetes send).
async fn shutdown() {
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
