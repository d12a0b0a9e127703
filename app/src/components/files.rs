//! A run's stored files (artifacts, logs), one directory at a time, with downloads: the run page's and a model
//! version's file list.

use leptos::prelude::*;

use crate::components::browser_data::BrowserData;

/// The run's stored files (artifacts, logs), one directory at a time, with downloads.
#[component]
pub fn Files(
    owner: String,
    name: String,
    uuid: String,
    /// Where the listing starts, and above which "Up" does not go (`""`: the run's root).
    #[prop(optional)]
    root: String,
) -> impl IntoView {
    let (dir, set_dir) = signal(root.clone());
    let top = StoredValue::new(root);
    let files = BrowserData::new({
        let (o, n, u) = (owner.clone(), name.clone(), uuid.clone());
        move || crate::server::tracking::run_files(o.clone(), n.clone(), u.clone(), dir.get())
    });
    let base = format!("/api/v1/projects/{owner}/{name}/runs/{uuid}/artifacts");
    let (project, run) = (format!("{owner}/{name}"), uuid.clone());
    view! {
        <section class="card">
            <div class="row">
                <h3>"Files"</h3>
                <span class="muted" id="files-dir">{move || format!("/{}", dir.get())}</span>
                <div class="spacer"></div>
                {move || (dir.get() != top.get_value()).then(|| view! {
                    <button class="small" id="files-up" on:click=move |_| set_dir.update(|d| *d = d.rsplit_once('/').map(|(p, _)| p.to_string()).unwrap_or_default())>"Up"</button>
                })}
            </div>
            {move || {
                    let (base, project, run) = (base.clone(), project.clone(), run.clone());
                        match files.get() {
                            None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                            Some(Err(e)) => view! { <p class="error">{e.message.clone()}</p> }.into_any(),
                            Some(Ok(list)) if list.is_empty() => view! { <p class="muted" id="files">"No files yet."</p> }.into_any(),
                            Some(Ok(list)) => view! {
                                <table class="table compact" id="files"><tbody>
                                    {list.into_iter().map(|f| {
                                        let label = f.path.rsplit('/').next().unwrap_or(&f.path).to_string();
                                        if f.is_dir {
                                            let p = f.path.clone();
                                            view! { <tr><td><a href="#" class="dir" on:click=move |e| { e.prevent_default(); set_dir.set(p.clone()); }>{label}"/"</a></td><td></td><td></td></tr> }.into_any()
                                        } else {
                                            let page = crate::pages::artifacts::artifact_href(&project, &run, &f.path);
                                            view! {
                                                <tr>
                                                    <td><a class="preview" href=page>{label.clone()}</a></td>
                                                    <td class="muted">{f.size}</td>
                                                    <td><a class="download" href=format!("{base}/{}", crate::pages::artifacts::encode(&f.path)) download=label.clone() title="Download">"↓"</a></td>
                                                </tr>
                                            }.into_any()
                                        }
                                    }).collect_view()}
                                </tbody></table>
                            }.into_any(),
                        }
                }}
        </section>
    }
}
