//! A run's lineage on its page: the runs whose outputs it consumed above it, the runs that consumed its outputs
//! below (the pipeline view's drawing), then its inputs (datasets with digests, upstream ops) and outputs.

use leptos::prelude::*;

use crate::components::browser_data::BrowserData;
use crate::components::forms::ErrorBox;
use crate::server::artifacts::run_lineage;
use crate::server::tracking::human_size;

#[component]
pub fn Lineage(owner: String, name: String, uuid: String) -> impl IntoView {
    // Loaded in the browser (drawn inside the run page's `Suspend`, as the pipeline graph is).
    let data = BrowserData::new({
        let (o, n, u) = (owner.clone(), name.clone(), uuid.clone());
        move || run_lineage(o.clone(), n.clone(), u.clone())
    });
    let (zoom, _) = signal(1.0_f64);
    let project = format!("{owner}/{name}");
    let runs = format!("/{project}/runs/");
    view! {
        <section class="card" id="lineage">
            <h3>"Lineage"</h3>
            {move || match data.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                Some(Ok(v)) => {
                    let l = v.lineage;
                    let linked = !l.upstream.is_empty() || !l.downstream.is_empty();
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
                    let outputs = l.outputs.iter().map(|o| view! {
                        <li><a href=super::artifacts::artifact_href(&project, &o.run, &o.path)>{o.path.clone()}</a>
                            " " <span class="muted">{human_size(o.size)}</span></li>
                    }).collect_view();
                    view! {
                        {if linked {
                            view! { <crate::pages::pipeline::Drawing g=v.graph base=runs.clone() zoom=zoom /> }.into_any()
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
                        <h4>{format!("Outputs ({} files)", l.output_count)}</h4>
                        <ul id="lineage-outputs">{outputs}</ul>
                        {(!l.models.is_empty()).then(|| view! { <p>"Registered as " {l.models.join(", ")}</p> })}
                    }.into_any()
                }
            }}
        </section>
    }
}
