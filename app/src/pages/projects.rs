//! The projects list: search, sort, paging, and creating a project.

use leptos::prelude::*;

use crate::components::page_data::page_resource;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::components::forms::{action_error, EmptyState, ErrorBox, FormError};
use crate::server::projects::{list_projects, CreateProject, ProjectList, PAGE_SIZE};

#[component]
pub fn Home() -> impl IntoView {
    view! { <Redirect path="/projects" /> }
}

#[component]
pub fn Projects() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let sort = move || query.read().get("sort").unwrap_or_else(|| "updated".into());
    let page = move || query.read().get("page").and_then(|p| p.parse::<u64>().ok()).unwrap_or(0);
    let create = ServerAction::<CreateProject>::new();
    let create_error = action_error(move || create.value().get());
    let list = page_resource(move || (q(), sort(), page()), |(q, s, p)| list_projects(q, s, p));

    view! {
        <Title text="Projects · Myelin" />
        <div class="page-head">
            <h1>"Projects"</h1>
            <details class="create" id="new-project">
                <summary class="button primary">"New project"</summary>
                <div class="popover card">
                    <ActionForm action=create>
                        <label>
                            "Name"
                            <input name="name" id="project-name" required maxlength="64" placeholder="e.g. resnet-sweeps" />
                            <small class="muted">"Lowercase letters, digits, - and _."</small>
                        </label>
                        <label>
                            "Description" <textarea name="description" id="project-description" maxlength="2000" rows="3"></textarea>
                        </label>
                        <button type="submit" class="primary" id="create-project">
                            "Create project"
                        </button>
                    </ActionForm>
                    <FormError error=create_error />
                </div>
            </details>
        </div>
        <form method="get" action="/projects" class="toolbar">
            <input type="search" name="q" placeholder="Search by name or description" prop:value=q />
            <select name="sort" aria-label="Sort by">
                <option value="updated" selected=move || sort() == "updated">"Recently updated"</option>
                <option value="created" selected=move || sort() == "created">"Newest"</option>
                <option value="name" selected=move || sort() == "name">"Name"</option>
            </select>
            <button type="submit">"Apply"</button>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) if e.code == "unauthenticated" => {
                        view! { <Redirect path="/login?next=/projects" /> }.into_any()
                    }
                    Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                    Ok(l) if l.items.is_empty() && q().is_empty() => {
                        view! {
                            <EmptyState title="No projects yet">
                                "Create a project to run polyaxonfiles, track experiments and share them with your team."
                            </EmptyState>
                        }
                            .into_any()
                    }
                    Ok(l) if l.items.is_empty() => {
                        view! { <EmptyState title="No matching projects">"Try another search."</EmptyState> }.into_any()
                    }
                    Ok(l) => view! { <ProjectTable list=l q=q() sort=sort() page=page() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ProjectTable(list: ProjectList, q: String, sort: String, page: u64) -> impl IntoView {
    let pages = list.total.div_ceil(PAGE_SIZE).max(1);
    let link = move |p: u64| format!("/projects?q={}&sort={}&page={p}", q.replace('&', "%26"), sort);
    let (prev, next) = (link(page.saturating_sub(1)), link(page + 1));
    view! {
        <table class="table" id="projects">
            <thead>
                <tr>
                    <th>"Project"</th>
                    <th>"Description"</th>
                    <th>"Your role"</th>
                    <th>"Updated"</th>
                </tr>
            </thead>
            <tbody>
                {list
                    .items
                    .into_iter()
                    .map(|p| {
                        view! {
                            <tr>
                                <td>
                                    <a href=p.path()>
                                        <span class="muted">{p.owner.clone()} " / "</span>
                                        <strong>{p.name.clone()}</strong>
                                    </a>
                                </td>
                                <td class="muted">{p.description.clone()}</td>
                                <td>
                                    <span class=format!("badge role-{}", p.role)>{p.role.clone()}</span>
                                </td>
                                <td class="muted">{p.updated.clone()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <div class="pager">
            <span class="muted">{format!("{} projects · page {} of {pages}", list.total, page + 1)}</span>
            {(page > 0).then(|| view! { <a class="button small" href=prev>"← Previous"</a> })}
            {(page + 1 < pages).then(|| view! { <a class="button small" href=next>"Next →"</a> })}
        </div>
    }
}
