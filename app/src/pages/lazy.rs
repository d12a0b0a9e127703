//! Each page's code loads with the page: in the browser the routes below are wasm chunks of their own
//! (`#[lazy_route]` / `#[lazy]`, split out by `scripts/build.sh`), so the bundle every page downloads holds the
//! router, the shell and what the pages share, not every page. The server renders them as usual and names the
//! chunks a page needs in its head (`<link rel=preload>`), so a page opened by its link fetches them alongside the
//! main module.
//!
//! Every split point multiplies the chunks (the splitter makes one per set of split points that share code, and
//! the browser fetches and compiles each): pages often visited together and small share one point (the projects
//! list and a project's overview; the account, cluster, settings and pipelines pages), the large ones (a run,
//! the runs table, compare, the editor) have their own.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

/// A route whose view is `$page` (a component without props), loaded on demand as a split point of its own.
macro_rules! lazy_page {
    ($route:ident => $page:path) => {
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    };
}

/// Routes whose views share one split point, `$split`: one chunk set for all of them. `$preload` is the name
/// `#[lazy]` gives the function that loads `$split`'s chunks (`__preload_<split>`): the router calls it before
/// hydrating the route, which must then render without waiting (as `#[lazy_route]` arranges for its own).
macro_rules! lazy_group {
    ($split:ident, $preload:ident, $which:ident { $($route:ident => $page:path),+ $(,)? }) => {
        #[derive(Clone, Copy)]
        enum $which {
            $($route),+
        }

        #[lazy]
        fn $split(which: $which) -> AnyView {
            match which {
                $($which::$route => view! { <$page /> }.into_any()),+
            }
        }

        $(
            pub struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                async fn view(_this: Self) -> AnyView {
                    $split($which::$route).await
                }

                async fn preload() {
                    #[cfg(feature = "hydrate")]
                    $preload().await;
                }
            }
        )+
    };
}

lazy_page!(Run => super::run::RunPage);
lazy_page!(Runs => super::runs::RunsTab);
lazy_page!(Compare => super::compare::CompareTab);
lazy_page!(Editor => super::editor::EditorTab);
lazy_group!(browse_pages, __preload_browse_pages, Browse {
    Projects => super::projects::Projects,
    Overview => super::overview::Overview,
});
lazy_group!(admin_pages, __preload_admin_pages, Admin {
    Account => super::account::Account,
    Cluster => super::cluster::Cluster,
    Settings => super::settings::ProjectSettings,
    Pipelines => super::pipeline::PipelinesTab,
});
lazy_group!(artifact_pages, __preload_artifact_pages, ArtifactPages {
    Artifacts => super::artifacts::ArtifactsTab,
    Artifact => super::artifacts::ArtifactPage,
});
lazy_group!(registry_pages, __preload_registry_pages, Registry {
    Models => super::models::ModelsTab,
    Model => super::models::ModelPage,
    Version => super::models::VersionPage,
    Reviews => super::reviews::Inbox,
    Request => super::reviews::RequestView,
});
