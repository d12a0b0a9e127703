//! One file in the two runs of "Why different", side by side (the URL's `file`, a path both runs may hold): images
//! next to each other, text as a numbered line diff, anything else by size and digest.

use api_types::{ArtifactDiff, ArtifactSide};
use leptos::prelude::*;

use crate::components::browser_data::BrowserData;
use crate::components::forms::ErrorBox;
use crate::server::compare::compare_artifact;

#[component]
pub(super) fn FileCompare(a: String, b: String, path: String, close: String) -> impl IntoView {
    let (owner, name) = super::super::runs::project_key();
    let answer = BrowserData::new(move || {
        compare_artifact(owner.get(), name.get(), a.clone(), b.clone(), path.clone())
    });
    let project = move || format!("{}/{}", owner.get_untracked(), name.get_untracked());
    view! {
        <section class="card" id="artifact-diff-card">
            <div class="row"><h3>"Files side by side"</h3><a class="muted" href=close id="artifact-diff-close">"close"</a></div>
            {move || match answer.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                Some(Ok(d)) => diff_view(&project(), d).into_any(),
            }}
        </section>
    }
}

fn side(project: &str, path: &str, s: &ArtifactSide) -> impl IntoView {
    let facts = match s.size {
        Some(size) if s.sha256.is_empty() => format!("{size} bytes · sha256 not recorded"),
        Some(size) => format!("{size} bytes · {}", s.sha256.get(..12).unwrap_or_default()),
        None => "not in this run".to_string(),
    };
    // The browser encodes spaces and non-ASCII in a link; what would end the path is encoded here.
    let path = path.replace('%', "%25").replace('#', "%23").replace('?', "%3F");
    let file = s.size.map(|_| format!("/{project}/artifacts/{}/{path}", s.run));
    view! {
        <div class="side">
            <h4><a href=format!("/{project}/runs/{}", s.run)>{s.run_name.clone()}</a></h4>
            <p class="muted">{facts}" "{file.map(|f| view! { <a href=f>"open"</a> })}</p>
        </div>
    }
}

fn diff_view(project: &str, d: ArtifactDiff) -> impl IntoView {
    let verdict = if d.same {
        "The same file: their sha256 are equal."
    } else if d.a.size.is_none() || d.b.size.is_none() {
        "Only one of the runs has this file."
    } else {
        "The files differ."
    };
    let body = match d.kind.as_str() {
        "image" => view! {
            <div class="side-by-side" id="diff-images">
                {[&d.a, &d.b].into_iter().map(|s| view! {
                    <figure>{s.src.clone().map(|src| view! { <img class="artifact-image" src=src alt=s.run_name.clone() /> })}</figure>
                }).collect_view()}
            </div>
        }.into_any(),
        "text" if !d.same => view! {
            <table class="diff" id="diff-lines">
                <tbody>{d.lines.iter().map(|l| {
                    let n = |x: Option<u32>| x.map(|v| v.to_string()).unwrap_or_default();
                    let sign = match l.tag.as_str() { "removed" => "-", "added" => "+", "gap" => "⋯", _ => " " };
                    view! { <tr class=l.tag.clone()><td class="ln">{n(l.a)}</td><td class="ln">{n(l.b)}</td><td>{sign}" "{l.text.clone()}</td></tr> }
                }).collect_view()}</tbody>
            </table>
            {d.truncated.then(|| view! { <p class="muted" id="diff-truncated">"The beginning of each file only: download them for the rest."</p> })}
        }.into_any(),
        _ => ().into_any(),
    };
    view! {
        <div id="artifact-diff" data-kind=d.kind.clone() data-same=d.same.to_string()>
            <p><code>{d.path.clone()}</code>" · "<span id="diff-verdict">{verdict}</span></p>
            <div class="side-by-side">{side(project, &d.path, &d.a)}{side(project, &d.path, &d.b)}</div>
            {body}
        </div>
    }
}
