//! The cluster: each Node with its GPUs (allocated of allocatable), CPUs and memory, taints and the runs on it;
//! then the queue, each waiting run with why it waits.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::forms::{EmptyState, ErrorBox};
use crate::server::cluster::{get_cluster, ClusterView};

#[component]
pub fn Cluster() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_cluster());
    view! {
        <Title text="Cluster · Myelin" />
        <div class="page-head"><h1>"Cluster"</h1></div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(c) => view! { <ClusterBody c=c /> }.into_any(),
                    Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ClusterBody(c: ClusterView) -> impl IntoView {
    let total_gpus: f64 = c.nodes.iter().map(|n| n.gpus).sum();
    let used_gpus: f64 = c.nodes.iter().map(|n| n.gpus_used).sum();
    let heading = match &c.namespace {
        Some(ns) => format!(
            "Kubernetes, namespace {ns}: {} nodes, {used_gpus} of {total_gpus} GPUs allocated",
            c.nodes.len()
        ),
        None => "Runs execute on this machine (the local executor); there are no nodes to show.".to_string(),
    };
    let queue = c.queue.clone();
    view! {
        <p class="muted" id="cluster-summary">{heading}</p>
        {(!c.synced).then(|| view! { <p class="error">"The node list has not loaded: the Kubernetes API may be unreachable."</p> })}
        {(!c.nodes.is_empty()).then(|| view! {
            <table class="table" id="cluster-nodes">
                <thead><tr><th>"Node"</th><th>"GPUs"</th><th>"CPUs"</th><th>"Memory (GiB)"</th><th>"Taints"</th><th>"Runs"</th></tr></thead>
                <tbody>
                    {c.nodes.into_iter().map(|n| {
                        let state = if !n.ready { " (not ready)" } else if n.unschedulable { " (cordoned)" } else { "" };
                        view! {
                            <tr data-node=n.name.clone()>
                                <td>{n.name.clone()}<span class="muted">{state}</span></td>
                                <td class="gpus">{if n.gpus > 0.0 { format!("{} / {}", n.gpus_used, n.gpus) } else { "—".into() }}</td>
                                <td>{format!("{} / {}", n.cpus_used, n.cpus)}</td>
                                <td>{format!("{} / {}", n.memory_used, n.memory)}</td>
                                <td>{n.taints.join(", ")}</td>
                                <td>
                                    {n.runs.into_iter().map(|r| view! { <a href=r.link>{r.label}</a>" " }).collect_view()}
                                    {(n.other_runs > 0).then(|| view! { <span class="muted">{format!("+{} of other projects", n.other_runs)}</span> })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        })}
        <h2>"Queue"</h2>
        {if queue.is_empty() {
            view! { <EmptyState title="No run is waiting">"Runs you submit that wait to start, or to be placed on a node, show here with why."</EmptyState> }.into_any()
        } else {
            view! {
                <table class="table" id="cluster-queue">
                    <thead><tr><th>"Run"</th><th>"Status"</th><th>"Since"</th><th>"Why"</th></tr></thead>
                    <tbody>
                        {queue.into_iter().map(|w| view! {
                            <tr>
                                <td><a href=w.link>{w.label}</a></td>
                                <td>{w.status}</td>
                                <td class="muted">{w.since}</td>
                                <td>{w.why.map(|why| view! { {(!why.code.is_empty()).then(|| view! { <code>{why.code}</code>" " })}{why.message} })}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}
