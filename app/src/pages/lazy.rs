//! Each page's code loads with the page: in the browser every route below is its own wasm chunk (`#[lazy_route]`,
//! split out by `scripts/build.sh`), so the bundle every page downloads holds the router, the shell and what the
//! pages share, not every page. The server renders them as usual and names the chunks a page needs in its head
//! (`<link rel=preload>`), so a page opened by its link fetches them alongside the main module.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

/// A route whose view is `$page` (a component without props), loaded on demand.
macro_rules! lazy_page {
    ($(#[$doc:meta])* $route:ident => $page:path) => {
        $(#[$doc])*
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

lazy_page!(Projects => super::projects::Projects);
lazy_page!(Account => super::account::Account);
lazy_page!(Cluster => super::cluster::Cluster);
lazy_page!(Overview => super::overview::Overview);
lazy_page!(Runs => super::runs::RunsTab);
lazy_page!(Run => super::run::RunPage);
lazy_page!(Editor => super::editor::EditorTab);
lazy_page!(Pipelines => super::pipeline::PipelinesTab);
lazy_page!(Compare => super::compare::CompareTab);
lazy_page!(Settings => super::settings::ProjectSettings);
