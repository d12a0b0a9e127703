//! A pipeline run's picture: its ops as a layered graph (matrix children in rows), coloured by live status,
//! reused results marked, edges labelled with the values passed; each op links to its run. Zoom with the
//! buttons, pan by scrolling.

use leptos::prelude::*;

use crate::components::page_data::page_resource;

use super::runs::{poll, project_key, StatusBadge};
use crate::components::forms::{EmptyState, ErrorBox};
use crate::server::pipelines::{get_graph, GraphView};
use crate::server::runs::{list_runs, Listing};

/// The project's pipelines: its DAG and matrix runs, newest first, with live status.
#[component]
pub fn PipelinesTab() -> impl IntoView {
    let (owner, name) = project_key();
    let list = page_resource(
        move || (owner.get(), name.get()),
        |(o, n)| {
            list_runs(o, n, Listing { q: "kind:dag|matrix".into(), children: true, ..Default::default() })
        },
    );
    let going = move || {
        list.get()
            .and_then(|l| l.ok())
            .is_some_and(|l| l.items.iter().any(|r| matches!(r.status.as_str(), "running" | "stopping")))
    };
    poll(list, 3000, going);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                    Ok(l) if l.items.is_empty() => view! {
                        <EmptyState title="No pipelines yet">"DAG and matrix runs of this project appear here. Submit one from the Runs tab (`kind: dag` operations, or an operation with a `matrix`)."</EmptyState>
                    }.into_any(),
                    Ok(l) => view! {
                        <table class="table" id="pipelines">
                            <thead><tr><th>"Name"</th><th>"Status"</th><th>"User"</th><th>"Created"</th><th>"Duration"</th></tr></thead>
                            <tbody>
                                {l.items.into_iter().map(|r| view! {
                                    <tr>
                                        <td><a href=format!("/{}/{}/runs/{}", owner.get_untracked(), name.get_untracked(), r.uuid)>{r.name.clone()}</a></td>
                                        <td><StatusBadge status=r.status.clone() /></td>
                                        <td>{r.user.clone()}</td>
                                        <td>{r.created.clone()}</td>
                                        <td>{r.duration.clone()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Node box size and the margin around the drawing, in the layout's units.
const W: f64 = 120.0;
const H: f64 = 36.0;
const PAD: f64 = 70.0;

#[component]
pub fn PipelineGraph(owner: String, name: String, uuid: String) -> impl IntoView {
    // Loaded in the browser (`components::browser_data`: it is drawn inside the run page's `Suspend`).
    let graph = crate::components::browser_data::BrowserData::new({
        let (o, n, u) = (owner.clone(), name.clone(), uuid.clone());
        move || get_graph(o.clone(), n.clone(), u.clone())
    });
    let going = move || graph.value.with(|g| matches!(g, Some(Ok(g)) if !g.done));
    graph.poll(1500, going);
    let (zoom, set_zoom) = signal(1.0_f64);
    let base = format!("/{owner}/{name}/runs/");
    view! {
        <section class="card" id="pipeline">
            <div class="run-head">
                <h3>"Pipeline"</h3>
                <div class="spacer"></div>
                <button type="button" id="dag-zoom-out" on:click=move |_| set_zoom.update(|z| *z = (*z / 1.25).max(0.2))>"−"</button>
                <button type="button" id="dag-zoom-reset" on:click=move |_| set_zoom.set(1.0)>"100%"</button>
                <button type="button" id="dag-zoom-in" on:click=move |_| set_zoom.update(|z| *z = (*z * 1.25).min(4.0))>"+"</button>
            </div>
            {move || match graph.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                Some(Ok(g)) => view! { <Drawing g=g base=base.clone() zoom=zoom /> }.into_any(),
            }}
        </section>
    }
}

/// The drawing; with `base` (a runs URL prefix) each op links to its run and a table lists the ops.
#[component]
pub(crate) fn Drawing(
    g: GraphView,
    base: String,
    zoom: ReadSignal<f64>,
    /// Without links: clicking an op hands its name here (the editor's graph editing).
    #[prop(optional)]
    on_pick: Option<Callback<String>>,
) -> impl IntoView {
    let links = !base.is_empty();
    let (w, h) = (g.width + W + 2.0 * PAD, g.height + H + 2.0 * PAD);
    let at = |x: f64, y: f64| (x + PAD + W / 2.0, y + PAD + H / 2.0);
    let edges = g.edges.iter().map(|e| {
        let (x1, y1) = at(e.from.0, e.from.1);
        let (x2, y2) = at(e.to.0, e.to.1);
        let (y1, y2) = (y1 + H / 2.0, y2 - H / 2.0);
        let mid = (y1 + y2) / 2.0;
        let path = format!("M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2}");
        let label = e.label.clone();
        view! {
            <g class="dag-edge">
                <path d=path marker-end="url(#dag-arrow)" />
                {(!label.is_empty()).then(|| view! { <text x=(x1 + x2) / 2.0 + 4.0 y=mid class="dag-label">{label}</text> })}
            </g>
        }
    }).collect_view();
    let nodes = g.nodes.iter().map(|n| {
        let (cx, cy) = at(n.x, n.y);
        let href = format!("{base}{}", n.run);
        let title = format!("{} {}: {}{}", n.name, n.detail, n.status.replace('_', " "), if n.cache_hit { " (reused results)" } else { "" });
        let detail: String = if n.detail.chars().count() > 22 { format!("{}…", n.detail.chars().take(21).collect::<String>()) } else { n.detail.clone() };
        // An SVG group, not <a>: elements the browser creates at a refresh would be HTML anchors, which SVG
        // does not draw.
        let navigate = leptos_router::hooks::use_navigate();
        let op = n.name.clone();
        let label: String = if n.name.chars().count() > 16 { format!("{}…", n.name.chars().take(15).collect::<String>()) } else { n.name.clone() };
        view! {
            <g class="dag-node" role="link" data-href=href.clone() aria-label=title data-op=n.name.clone() data-status=n.status.clone() data-cached=n.cache_hit.to_string()
                on:click=move |_| if links { navigate(&href, Default::default()) } else if let Some(pick) = on_pick { pick.run(op.clone()) }>
                <rect x=cx - W / 2.0 y=cy - H / 2.0 width=W height=H rx="6" class=format!("status-{}", n.status) />
                {if detail.is_empty() {
                    view! { <text x=cx y=cy + 4.0 text-anchor="middle">{label}</text> }.into_any()
                } else {
                    view! {
                        <text x=cx y=cy - 3.0 text-anchor="middle">{label}</text>
                        <text x=cx y=cy + 11.0 text-anchor="middle" class="dag-detail">{detail}</text>
                    }.into_any()
                }}
                {n.cache_hit.then(|| view! { <text x=cx + W / 2.0 - 4.0 y=cy - H / 2.0 + 11.0 text-anchor="end" class="dag-cached">"cached"</text> })}
            </g>
        }
    }).collect_view();
    let rows = g
        .nodes
        .iter()
        .map(|n| {
            view! {
                <tr data-op=n.name.clone()>
                    <td><a href=format!("{base}{}", n.run)>{n.name.clone()}</a></td>
                    <td><StatusBadge status=n.status.clone() /></td>
                    <td class="muted">{n.detail.clone()}</td>
                    <td class="cache-why">{n.cache_why.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    // Its ops (or matrix children) side by side on the compare page.
    let ran: Vec<String> = g.nodes.iter().filter(|n| !n.run.is_empty()).map(|n| n.run.clone()).collect();
    let compare = base
        .strip_suffix("runs/")
        .filter(|_| links && ran.len() > 1)
        .map(|project| format!("{project}compare?runs={}", ran.join(",")));
    view! {
        <p class="muted" id="pipeline-progress">{g.progress.clone()} " "
            {compare.map(|href| view! { <a id="pipeline-compare" href=href>"Compare these runs"</a> })}
        </p>
        <div class="dag-view">
            <svg id=if g.kind == "lineage" { "lineage-graph" } else { "dag" } viewBox=format!("0 0 {w} {h}") width=move || w * zoom.get() height=move || h * zoom.get() data-kind=g.kind.clone()>
                <defs>
                    <marker id="dag-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
                        <path d="M 0 0 L 10 5 L 0 10 z" />
                    </marker>
                </defs>
                {edges}
                {nodes}
            </svg>
        </div>
        <details class="ops" id="pipeline-ops" open={g.nodes.len() <= 20} hidden={!links}>
            <summary>"Runs and their cache"</summary>
            <table class="table">
                <thead><tr><th>"Op"</th><th>"Status"</th><th>"Params"</th><th>"Cache"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </details>
    }
}
