//! A run's lineage on its page: the runs whose outputs it consumed above it, the runs that consumed its outputs
//! below (the pipeline view's drawing), then its inputs (datasets, files, git commits, upstream outputs, each by
//! digest). Its files are the Files card's; its outputs' values the overview's.

use leptos::prelude::*;

use crate::components::browser_data::BrowserData;
use crate::components::forms::ErrorBox;
use crate::server::artifacts::run_lineage;

#[component]
pub fn Lineage(owner: String, name: String, uuid: String) -> impl IntoView {
    // Loaded in the browser (drawn inside the run page's `Suspend`, as the pipeline graph is).
    let data = BrowserData::new({
        let (o, n, u) = (owner.clone(), name.clone(), uuid.clone());
        move || run_lineage(o.clone(), n.clone(), u.clone())
    });
    let (zoom, _) = signal(1.0_f64);
    let runs = format!("/{owner}/{name}/runs/");
    view! {
        <section class="card" id="lineage">
            <h3>"Lineage"</h3>
            {move || match data.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                Some(Ok(l)) => {
                    let linked = !l.graph.edges.is_empty();
                    let inputs = l.inputs.iter().map(|i| {
                        let source = i.source.clone().map(|s| view! { <a href=format!("{runs}{}", s.uuid)>{s.name}</a> });
                        view! {
                            <tr data-input=i.name.clone()>
                                <td><span class="badge">{i.kind.clone()}</span></td>
                                <td>{i.name.clone()}</td>
                                <td class="mono">{i.digest.clone().unwrap_or_default()}</td>
                                <td>{source}</td>
                            </tr>
                        }
                    }).collect_view();
                    view! {
                        {if linked {
                            view! { <crate::pages::pipeline::Drawing g=l.graph base=runs.clone() zoom=zoom /> }.into_any()
                        } else {
                            view! { <p class="muted" id="lineage-none">"No links to other runs recorded."</p> }.into_any()
                        }}
                        {(!l.inputs.is_empty()).then(|| view! {
                            <h4>"Inputs"</h4>
                            <table class="table compact" id="lineage-inputs">
                                <thead><tr><th>"Kind"</th><th>"Name"</th><th>"Digest"</th><th>"From"</th></tr></thead>
                                <tbody>{inputs}</tbody>
                            </table>
                        })}
                        {(!l.models.is_empty()).then(|| view! { <p>"Registered as " {l.models.join(", ")}</p> })}
                    }.into_any()
                }
            }}
        </section>
    }
}
