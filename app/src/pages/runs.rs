//! The runs tab: the table (sort, paging, bulk actions, live status) and the new-run form.

use leptos::prelude::*;

use crate::components::page_data::page_resource;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::project::ProjectResource;
use crate::components::forms::{action_error, EmptyState, ErrorBox, FormError};
use crate::server::runs::{
    describe_inputs, get_run, list_runs, BulkRuns, Listing, RunList, SubmitRun, RUNS_PER_PAGE,
};

pub(crate) fn project_key() -> (Memo<String>, Memo<String>) {
    let params = use_params_map();
    (
        Memo::new(move |_| params.read().get("owner").unwrap_or_default()),
        Memo::new(move |_| params.read().get("project").unwrap_or_default()),
    )
}

/// Refetches `r` every `ms` milliseconds while `active()` holds (browser only).
pub(crate) fn poll<T: Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static>(
    r: Resource<T>,
    ms: u64,
    active: impl Fn() -> bool + Copy + Send + Sync + 'static,
) {
    crate::components::browser_data::every(ms, move || {
        if active() {
            r.refetch();
        }
    });
}

#[component]
pub fn StatusBadge(status: String) -> impl IntoView {
    view! { <span class=format!("status status-{status}")>{status.replace('_', " ")}</span> }
}

#[component]
pub fn RunsTab() -> impl IntoView {
    let project = expect_context::<ProjectResource>();
    let (owner, name) = project_key();
    let query = use_query_map();
    let view_state = move || {
        let q = query.read();
        Listing {
            page: q.get("page").and_then(|p| p.parse::<u64>().ok()).unwrap_or(0),
            sort: q.get("sort").unwrap_or_default(),
            asc: q.get("asc").and_then(|a| a.parse().ok()),
            q: q.get("q").unwrap_or_default(),
            cols: q.get("cols").unwrap_or_default(),
            children: q.get("children").is_some_and(|c| c == "1" || c == "true"),
        }
    };
    let submit = ServerAction::<SubmitRun>::new();
    let bulk = ServerAction::<BulkRuns>::new();
    let runs = page_resource(
        move || (owner.get(), name.get(), view_state(), bulk.version().get()),
        |(o, n, l, _)| list_runs(o, n, l),
    );
    // "Copy and edit" from a run page: its polyaxonfile prefills the form.
    let copy = move || query.read().get("copy");
    let copied = page_resource(
        move || (owner.get(), name.get(), copy()),
        |(o, n, c)| async move {
            match c {
                Some(u) => get_run(o, n, u).await.ok().map(|r| r.content),
                None => None,
            }
        },
    );
    let any_active =
        move || runs.get().and_then(|r| r.ok()).is_some_and(|l| l.items.iter().any(|r| !is_done(&r.status)));
    poll(runs, 1500, any_active);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let can_submit = project.await.map(|p| p.can("member")).unwrap_or(false);
                let list = runs.await;
                let initial = copied.await;
                let listing = view_state();
                let filtered = !listing.q.trim().is_empty();
                view! {
                    {can_submit.then(|| view! { <SubmitForm submit owner=owner.get_untracked() name=name.get_untracked() initial /> })}
                    <QueryBar listing=listing.clone() base=format!("/{}/{}/runs", owner.get_untracked(), name.get_untracked()) />
                    {match list {
                        Ok(l) if l.total == 0 && filtered => view! { <p class="muted" id="no-match">"No run matches this query."</p> }.into_any(),
                        Ok(l) if l.total == 0 => view! {
                            <EmptyState title="No runs yet">
                                "Paste a polyaxonfile above, or run " <code>"myelin run -f file.yaml -p PROJECT"</code> "."
                            </EmptyState>
                        }.into_any(),
                        Ok(l) => view! { <RunTable list=l owner=owner.get_untracked() name=name.get_untracked() listing bulk can_act=can_submit /> }.into_any(),
                        Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                    }}
                }
            })}
        </Transition>
    }
}

/// The query box (Polyaxon's query language), the extra columns and the scope (top-level runs, or pipelines'
/// ops and matrix children too); a plain GET form and links, so it works before the page hydrates.
#[component]
fn QueryBar(listing: Listing, base: String) -> impl IntoView {
    let toggle = Listing { page: 0, children: !listing.children, ..listing.clone() }.href(&base);
    let (scope, switch) = if listing.children {
        ("Listing every run, pipelines' ops and matrix children included.", "Hide pipelines' ops")
    } else {
        (
            "Listing top-level runs: a pipeline's ops and matrix children are on its page.",
            "Show pipelines' ops too",
        )
    };
    view! {
        <form method="get" action=base class="card query-bar" id="runs-filter">
            <input type="hidden" name="sort" value=listing.sort.clone() />
            {listing.children.then(|| view! { <input type="hidden" name="children" value="1" /> })}
            <label>
                "Filter " <span class="muted">"(e.g. " <code>"status:running|queued, metrics.loss:<0.2, params.lr:0.01, tags:baseline, name:%resnet%, created_at:>2026-01-01"</code> ")"</span>
                <input type="search" name="q" id="runs-query" value=listing.q.clone() placeholder="status:succeeded, metrics.loss:<0.2" />
            </label>
            <label>
                "Columns " <span class="muted">"(comma-separated: " <code>"metrics.loss, metrics.loss:min, params.lr, tags.team"</code> ")"</span>
                <input type="text" name="cols" id="runs-columns" value=listing.cols.clone() placeholder="metrics.loss, params.lr" />
            </label>
            <button type="submit" class="small" id="apply-query">"Apply"</button>
            <p class="muted" id="runs-scope">{scope} " " <a href=toggle id="runs-children">{switch}</a></p>
        </form>
    }
}

fn is_done(status: &str) -> bool {
    matches!(status, "succeeded" | "failed" | "stopped" | "skipped" | "upstream_failed")
}

#[component]
fn SubmitForm(
    submit: ServerAction<SubmitRun>,
    owner: String,
    name: String,
    initial: Option<String>,
) -> impl IntoView {
    let example = "kind: component\nname: hello\ninputs:\n- {name: who, type: str, value: world, isOptional: true}\nrun:\n  kind: job\n  container:\n    image: python:3.11-slim\n    command: [python, -c, \"print('hello {{ who }}')\"]\n";
    let open = initial.is_some();
    let content = initial.unwrap_or_else(|| example.to_string());
    let (text, set_text) = signal(content.clone());
    // The params form: one field per declared input, generated from the file on request.
    let describe = Action::new(|text: &String| describe_inputs(text.clone()));
    let (values, set_values) = signal(Vec::<(String, String)>::new());
    let (extra, set_extra) = signal(String::new());
    Effect::new(move |_| {
        if let Some(Ok(fields)) = describe.value().get() {
            set_values.set(fields.iter().map(|f| (f.name.clone(), f.default.clone())).collect());
        }
    });
    let params_text = move || {
        let mut lines: Vec<String> =
            values.get().iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={v}")).collect();
        lines.push(extra.get());
        lines.join("\n")
    };
    view! {
        <details class="card" id="new-run" open=open>
            <summary><strong>"New run"</strong> <span class="muted">" — paste a polyaxonfile"</span></summary>
            <ActionForm action=submit>
                <input type="hidden" name="owner" value=owner />
                <input type="hidden" name="name" value=name />
                <label>
                    "Polyaxonfile"
                    <textarea name="content" id="run-content" class="code" rows="12" prop:value=move || text.get() on:input=move |e| set_text.set(event_target_value(&e))></textarea>
                </label>
                <div class="row">
                    <label class="inline">
                        "Or upload a file: "
                        <input type="file" id="run-file" accept=".yaml,.yml,.json" on:change=move |_e| {
                            #[cfg(feature = "hydrate")]
                            load_file(_e, set_text);
                        } />
                    </label>
                    <button type="button" class="small" id="load-params" on:click=move |_| { describe.dispatch(text.get_untracked()); }>"Params form from the file's inputs"</button>
                </div>
                {move || match describe.value().get() {
                    None => ().into_any(),
                    Some(Err(e)) => view! { <p class="form-error">{e.message.clone()}</p> }.into_any(),
                    Some(Ok(fields)) if fields.is_empty() => view! { <p class="muted">"This file declares no inputs."</p> }.into_any(),
                    Some(Ok(fields)) => {
                        view! {
                            <div class="params-form" id="params-form">
                                {fields.into_iter().map(|f| {
                                    let field = f.name.clone();
                                    view! {
                                        <label>
                                            {format!("{} ({}{})", f.name, f.kind, if f.required { ", required" } else { "" })}
                                            <input name=format!("param-{}", f.name) prop:value=f.default.clone() required=f.required
                                                on:input=move |e| { let v = event_target_value(&e); set_values.update(|vals| { for (k, x) in vals.iter_mut() { if *k == field { *x = v.clone(); } } }); } />
                                            {(!f.description.is_empty()).then(|| view! { <small class="muted">{f.description.clone()}</small> })}
                                        </label>
                                    }
                                }).collect_view()}
                            </div>
                        }.into_any()
                    }
                }}
                <label>
                    "Other params (one name=value per line)"
                    <textarea id="run-params" class="code" rows="2" on:input=move |e| set_extra.set(event_target_value(&e))></textarea>
                </label>
                <input type="hidden" name="params" prop:value=params_text />
                <label class="inline">
                    <input type="checkbox" name="force" value="true" id="run-force" />
                    " Queue even if no node of the cluster could ever take it (skip the pre-flight check)"
                </label>
                <p class="muted">"The server's executor runs it: locally as a process (the image is recorded, not pulled), or on Kubernetes as its workload."</p>
                <button type="submit" class="primary" id="submit-run">"Run"</button>
            </ActionForm>
            <FormError error=action_error(move || submit.value().get()) />
        </details>
    }
}

#[component]
fn RunTable(
    list: RunList,
    owner: String,
    name: String,
    listing: Listing,
    bulk: ServerAction<BulkRuns>,
    can_act: bool,
) -> impl IntoView {
    let pages = list.total.div_ceil(RUNS_PER_PAGE).max(1);
    let page = listing.page;
    let base = format!("/{owner}/{name}/runs");
    let (selected, set_selected) = signal(Vec::<String>::new());
    let toggle = move |uuid: String, on: bool| {
        set_selected.update(|s| {
            s.retain(|x| *x != uuid);
            if on {
                s.push(uuid);
            }
        })
    };
    let header = {
        let (base, listing) = (base.clone(), listing.clone());
        move |key: String, label: String| {
            let active = listing.sort == key || (listing.sort.is_empty() && key == "created");
            // A second click on the sorted column flips the order.
            let asc = active.then(|| {
                !listing.asc.unwrap_or(key.starts_with("metrics.") || key == "name" || key == "status")
            });
            let href = Listing { page: 0, sort: key.clone(), asc, ..listing.clone() }.href(&base);
            let arrow = if active {
                if listing.asc.unwrap_or(key.starts_with("metrics.") || key == "name" || key == "status") {
                    " ↑"
                } else {
                    " ↓"
                }
            } else {
                ""
            };
            view! { <th><a class=if active { "sorted" } else { "" } href=href>{label}{arrow}</a></th> }
        }
    };
    let columns = list.columns.clone();
    let confirm_msg = move |verb: &str| format!("{verb} {} selected run(s)?", selected.get().len());
    let key = StoredValue::new((owner.clone(), name.clone()));
    let compare_base = format!("/{owner}/{name}/compare");
    let compare_href = move || {
        let runs = selected.get().join(",");
        format!("{compare_base}?runs={runs}")
    };
    let all_href = format!(
        "/{owner}/{name}/compare?q={}{}",
        form_urlencoded::byte_serialize(listing.q.as_bytes()).collect::<String>(),
        if listing.children { "&children=1" } else { "" }
    );
    view! {
        <div class="row" id="compare-row">
            <a class="button small" id="compare-selected" href=compare_href
                class:disabled=move || selected.get().is_empty()
                on:click=move |ev| if selected.get_untracked().is_empty() { ev.prevent_default() }>
                {move || format!("Compare selected ({})", selected.get().len())}
            </a>
            <a class="small" id="compare-matching" href=all_href>"Compare all matching (up to 1,000)"</a>
        </div>
        {can_act.then(|| view! {
            <div class="row bulk">
                <span class="muted">{move || format!("{} selected", selected.get().len())}</span>
                {["stop", "delete"].into_iter().map(|action| view! {
                    <ActionForm action=bulk on:submit=move |ev| {
                        #[cfg(feature = "hydrate")]
                        {
                            let verb = if action == "stop" { "Stop" } else { "Delete" };
                            let ok = window().confirm_with_message(&confirm_msg(verb)).unwrap_or(false);
                            if !ok || selected.get_untracked().is_empty() { ev.prevent_default(); }
                        }
                        #[cfg(not(feature = "hydrate"))]
                        let _ = (&ev, confirm_msg);
                    }>
                        <input type="hidden" name="owner" value=key.with_value(|k| k.0.clone()) />
                        <input type="hidden" name="name" value=key.with_value(|k| k.1.clone()) />
                        <input type="hidden" name="action" value=action />
                        <input type="hidden" name="uuids" prop:value=move || selected.get().join(",") />
                        <button type="submit" class="small danger" id=format!("bulk-{action}")>{if action == "stop" { "Stop selected" } else { "Delete selected" }}</button>
                    </ActionForm>
                }).collect_view()}
                <span class="muted" id="bulk-result">{move || bulk.value().get().map(|r| r.unwrap_or_else(|e| e.message.clone()))}</span>
            </div>
        })}
        <table class="table" id="runs">
            <thead><tr>
                <th></th>
                {header("status".into(), "Status".into())}
                {header("name".into(), "Name".into())}
                <th>"User"</th>
                {header("created".into(), "Created".into())}
                <th>"Duration"</th>
                {columns.iter().map(|c| header(c.clone(), c.clone())).collect_view()}
            </tr></thead>
            <tbody>
                {list.items.into_iter().map(|r| {
                    let href = format!("{base}/{}", r.uuid);
                    let uuid = r.uuid.clone();
                    view! {
                        <tr data-run=r.uuid.clone()>
                            <td><input type="checkbox" class="pick" on:change=move |e| toggle(uuid.clone(), event_target_checked(&e)) /></td>
                            <td><StatusBadge status=r.status.clone() /></td>
                            <td><a href=href>{r.name.clone()}</a> <span class="muted uuid">{r.uuid[..8].to_string()}</span></td>
                            <td>{r.user.clone()}</td>
                            <td class="muted">{r.created.clone()}</td>
                            <td class="muted">{r.duration.clone()}</td>
                            {r.cells.iter().map(|c| view! { <td class="num">{c.clone()}</td> }).collect_view()}
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <div class="pager">
            <span class="muted">{format!("{} runs · page {} of {pages}", list.total, page + 1)}</span>
            {(page > 0).then(|| view! { <a class="button small" href=Listing { page: page - 1, ..listing.clone() }.href(&base)>"← Previous"</a> })}
            {(page + 1 < pages).then(|| view! { <a class="button small" href=Listing { page: page + 1, ..listing.clone() }.href(&base)>"Next →"</a> })}
        </div>
    }
}

/// Reads the chosen file into the polyaxonfile box (browser only).
#[cfg(feature = "hydrate")]
fn load_file(e: leptos::ev::Event, set_text: WriteSignal<String>) {
    use wasm_bindgen::JsCast;
    let Some(input) = e.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
    let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
            if let Some(t) = text.as_string() {
                set_text.set(t);
            }
        }
    });
}
