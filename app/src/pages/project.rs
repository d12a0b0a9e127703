//! The project page: header, tabs, and the tab pages that later features fill.

use leptos::prelude::*;

use crate::components::page_data::page_resource;
use leptos_meta::Title;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::use_params_map;

use super::not_found::NotFound;
use crate::components::forms::ErrorBox;
use crate::server::projects::{get_project, ProjectView};
use crate::server::AppError;

pub type ProjectResource = Resource<Result<ProjectView, AppError>>;

const TABS: [(&str, &str); 8] = [
    ("", "Overview"),
    ("runs", "Runs"),
    ("editor", "Editor"),
    ("pipelines", "Pipelines"),
    ("compare", "Compare"),
    ("artifacts", "Artifacts"),
    ("models", "Models"),
    ("settings", "Settings"),
];

#[component]
pub fn ProjectShell() -> impl IntoView {
    let params = use_params_map();
    let owner = move || params.read().get("owner").unwrap_or_default();
    let name = move || params.read().get("project").unwrap_or_default();
    let project: ProjectResource = page_resource(move || (owner(), name()), |(o, n)| get_project(o, n));
    provide_context(project);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match project.await {
                    Ok(p) => view! { <ProjectHeader p /> <Outlet /> }.into_any(),
                    Err(e) if e.code == "not_found" => view! { <NotFound what="project" /> }.into_any(),
                    Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ProjectHeader(p: ProjectView) -> impl IntoView {
    let base = p.path();
    view! {
        <Title text=crate::page_title(format!("{}/{} · Myelin", p.owner, p.name)) />
        <div class="project-head">
            <h1 id="project-title">
                <span class="muted">{p.owner.clone()} " / "</span>
                {p.name.clone()}
            </h1>
            <span class=format!("badge role-{}", p.role) id="project-role">
                {p.role.clone()}
            </span>
        </div>
        <nav class="tabs">
            {TABS
                .iter()
                .map(|(path, label)| {
                    let href = if path.is_empty() { base.clone() } else { format!("{base}/{path}") };
                    view! {
                        <A href=href exact=true>
                            {*label}
                        </A>
                    }
                })
                .collect_view()}
        </nav>
    }
}
