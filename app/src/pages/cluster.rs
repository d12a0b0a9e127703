//! The cluster: each Node with its GPUs (allocated of allocatable), CPUs and memory, taints and the runs on it;
//! then the queue, each waiting run with why it waits.

use leptos::prelude::*;

use crate::components::page_data::page_resource;
use leptos_meta::Title;

use crate::components::forms::{EmptyState, ErrorBox};
use api_types::{ClusterPage, RunRef};

use crate::server::cluster::get_cluster;

#[component]
pub fn Cluster() -> impl IntoView {
    let data = page_resource(|| (), |_| get_cluster());
    // While runs wait, the page follows the queue (a scheduler's verdict can come a moment later).
    let waiting = move || data.get().and_then(|r| r.ok()).is_some_and(|c| !c.queue.is_empty());
    super::runs::poll(data, 3000, waiting);
    view! {
        <Title text="Cluster · Myelin" />
        <div class="page-head"><h1>"Cluster"</h1></div>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(c) => view! { <ClusterBody c=c /> }.into_any(),
                    Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// `-0` (a sum of nothing) shows as `0`.
fn count(v: f64) -> f64 {
    if v == 0.0 {
        0.0
    } else {
        v
    }
}

#[component]
fn ClusterBody(c: ClusterPage) -> impl IntoView {
    let total_gpus: f64 = c.nodes.iter().map(|n| n.node.gpus).sum();
    let used_gpus = count(c.nodes.iter().map(|n| n.node.gpus_used).sum());
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
                    {c.nodes.into_iter().map(|c| {
                        let (n, runs, other_runs) = (c.node, c.runs, c.other_runs);
                        let state = if !n.ready { " (not ready)" } else if n.unschedulable { " (cordoned)" } else { "" };
                        view! {
                            <tr data-node=n.name.clone()>
                                <td>{n.name.clone()}<span class="muted">{state}</span></td>
                                <td class="gpus">{if n.gpus > 0.0 { format!("{} / {}", count(n.gpus_used), n.gpus) } else { "—".into() }}</td>
                                <td>{format!("{} / {}", (n.cpus_used * 100.0).round() / 100.0, n.cpus)}</td>
                                <td>{format!("{} / {}", gib(n.memory_used), gib(n.memory))}</td>
                                <td>{n.taints.join(", ")}</td>
                                <td>
                                    {runs.iter().map(|r| view! { <a href=link(r)>{label(r)}</a>" " }).collect_view()}
                                    {(other_runs > 0).then(|| view! { <span class="muted">{format!("+{other_runs} of other projects")}</span> })}
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
                                <td><a href=link(&w.run)>{label(&w.run)}</a></td>
                                <td>{w.run.status.to_string()}</td>
                                <td class="muted">{w.created_at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                <td>{match w.diagnosis {
                                    Some(d) => view! { <code>{d.code}</code>" "{d.message} }.into_any(),
                                    None => w.status_message.unwrap_or_default().into_any(),
                                }}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}

fn link(r: &RunRef) -> String {
    format!("/{}/runs/{}", r.project, r.uuid)
}

fn label(r: &RunRef) -> String {
    format!("{}/{}", r.project, r.name)
}

/// Bytes as GiB with one decimal.
fn gib(bytes: f64) -> f64 {
    (bytes / 1024f64.powi(3) * 10.0).round() / 10.0
}
