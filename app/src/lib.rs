//! Myelin's UI: routes, pages, components and the server functions behind them. Rendered on the server and
//! hydrated in the browser.
// Leptos views nest deep types; the editor page needs more than the default 128.
#![recursion_limit = "256"]

#[cfg(feature = "ssr")]
mod assets;
pub mod components;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod serve;
pub mod server;
pub mod site;

use leptos::prelude::*;
#[cfg(feature = "ssr")]
use leptos_meta::MetaTags;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, Lazy, SsrMode};

use components::nav::Nav;
use pages::{auth, lazy, not_found::NotFound, project, projects};

/// Sends the links MLflow's client prints (`/#/experiments/E[/runs/R]`, on any page) to the server's `/go/…`.
#[cfg(feature = "ssr")]
const MLFLOW_LINKS: &str =
    "(function(m){if(m)location.replace('/go/experiments/'+m[1]+(m[2]?'/runs/'+m[2]:''))})\
(/^#\\/experiments\\/([0-9A-Za-z-]{1,64})(?:\\/runs\\/([0-9A-Za-z-]{1,64}))?/.exec(location.hash))";

/// The HTML document around the app (server side). Its Content-Security-Policy names the nonce Leptos puts on
/// the page's inline scripts (`auth::web::page_policy`). Pages are never cached (they are per user and link
/// the current asset names); the assets they link are (`assets.rs`).
#[cfg(feature = "ssr")]
pub fn shell(mut options: LeptosOptions) -> impl IntoView {
    use axum::http::{header, HeaderValue};
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(nonce) = leptos::nonce::use_nonce() {
            if let Ok(v) = HeaderValue::from_str(&backend::auth::web::page_policy(&nonce)) {
                resp.insert_header(header::CONTENT_SECURITY_POLICY, v);
            }
        }
    }
    options.output_name = assets::output_name().into();
    // The chunks of the lazy routes this page renders are preloaded with the main module (leptos_axum adds
    // their `<link rel=preload>` when this is in context).
    if let Some(split) = assets::split_manifest() {
        provide_context(leptos::WasmSplitManifest(ArcStoredValue::new(split)));
    }
    let editor = serde_json::to_string(&site::EditorAssets::of_site()).unwrap_or_default();
    let nonce = leptos::nonce::use_nonce().map(|n| n.to_string()).unwrap_or_default();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.ico" />
                <link rel="stylesheet" id="myelin" href=assets::url("myelin.css") />
                <meta name=site::EDITOR_META content=editor />
                // MLflow's client prints `{uri}/#/experiments/E/runs/R`: the fragment never reaches the server.
                <script nonce=nonce inner_html=MLFLOW_LINKS></script>
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// A page title: as is in the browser (`document.title`), HTML-escaped in the server's `<title>` (leptos_meta
/// 0.8 writes the text there unescaped, so a run named `</title><script>` would be markup).
pub fn page_title(text: impl Into<String>) -> String {
    let text = text.into();
    if cfg!(feature = "ssr") {
        text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
    } else {
        text
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(components::page_data::RenderCache::default());
    let session = server::accounts::SessionActions::provide();
    view! {
        <Title text="Myelin" />
        <Router>
            <Nav session />
            <main class="page">
                <Routes fallback=|| view! { <NotFound what="page" /> }>
                    <Route path=path!("/") view=projects::Home />
                    <Route path=path!("/login") view=auth::Login />
                    <Route path=path!("/signup") view=auth::Signup />
                    <Route path=path!("/projects") view={Lazy::<lazy::Projects>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/account") view={Lazy::<lazy::Account>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/cluster") view={Lazy::<lazy::Cluster>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/reviews") view={Lazy::<lazy::Reviews>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/reviews/:id") view={Lazy::<lazy::Request>::new()} ssr=SsrMode::Async />
                    <ParentRoute path=path!("/:owner/:project") view=project::ProjectShell ssr=SsrMode::Async>
                        <Route path=path!("") view={Lazy::<lazy::Overview>::new()} />
                        <Route path=path!("runs") view={Lazy::<lazy::Runs>::new()} />
                        <Route path=path!("runs/:uuid") view={Lazy::<lazy::Run>::new()} />
                        <Route path=path!("editor") view={Lazy::<lazy::Editor>::new()} />
                        <Route path=path!("pipelines") view={Lazy::<lazy::Pipelines>::new()} />
                        <Route path=path!("compare") view={Lazy::<lazy::Compare>::new()} />
                        <Route path=path!("artifacts") view={Lazy::<lazy::Artifacts>::new()} />
                        <Route path=path!("artifacts/:uuid") view={Lazy::<lazy::Artifact>::new()} />
                        <Route path=path!("artifacts/:uuid/*path") view={Lazy::<lazy::Artifact>::new()} />
                        <Route path=path!("models") view={Lazy::<lazy::Models>::new()} />
                        <Route path=path!("models/:model") view={Lazy::<lazy::Model>::new()} />
                        <Route path=path!("models/:model/versions/:version") view={Lazy::<lazy::Version>::new()} />
                        <Route path=path!("settings") view={Lazy::<lazy::Settings>::new()} />
                    </ParentRoute>
                </Routes>
            </main>
        </Router>
    }
}
