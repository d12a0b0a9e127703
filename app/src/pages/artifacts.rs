//! The Artifacts tab (`/{owner}/{project}/artifacts?q=&kind=&after=`: the project's files across runs, newest
//! first) and a run's file or folder (`/{owner}/{project}/artifacts/{run}/{path}`: a preview, or a listing).

use api_types::{ArtifactDir, ArtifactInfo, ArtifactPage, ArtifactView, ModelSummaryCard, Preview};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::models::when;
use super::project::ProjectResource;
use crate::components::code::Code;
use crate::components::forms::{EmptyState, ErrorBox};
use crate::components::page_data::page_resource;
use crate::server::artifacts::{artifact_at, search_artifacts, PathView};
use crate::server::projects::ProjectView;
use crate::server::tracking::human_size;

const KINDS: [(&str, &str); 10] = [
    ("", "Any type"),
    ("image", "Images"),
    ("svg", "SVG"),
    ("table", "Tables (CSV, TSV, Parquet)"),
    ("text", "Text, logs, JSON, YAML"),
    ("markdown", "Markdown"),
    ("html", "HTML"),
    ("pdf", "PDF"),
    ("mlmodel", "MLflow models"),
    ("other", "Other"),
];

/// Each segment percent-encoded, the slashes kept (for links to a path).
pub fn encode(path: &str) -> String {
    path.split('/').map(pct).collect::<Vec<_>>().join("/")
}

fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The page of `run`'s `path` (file or folder).
pub fn artifact_href(project: &str, run: &impl ToString, path: &str) -> String {
    format!("/{project}/artifacts/{}/{}", run.to_string(), encode(path))
}

fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

#[component]
pub fn ArtifactsTab() -> impl IntoView {
    let project = expect_context::<ProjectResource>();
    let params = use_params_map();
    let query = use_query_map();
    let source = move || {
        let p = params.read();
        let q = query.read();
        (
            p.get("owner").unwrap_or_default(),
            p.get("project").unwrap_or_default(),
            q.get("q").unwrap_or_default(),
            q.get("kind").unwrap_or_default(),
            q.get("after"),
        )
    };
    let page = page_resource(source, |(o, n, q, k, a)| search_artifacts(o, n, q, k, a));
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (project.await, page.await) {
                    (Ok(p), Ok(list)) => {
                        let (q, kind, after) = untrack(|| {
                            let q = query.read();
                            (q.get("q").unwrap_or_default(), q.get("kind").unwrap_or_default(), q.get("after"))
                        });
                        view! { <ArtifactList p list q kind paged=after.is_some() /> }.into_any()
                    }
                    (Err(e), _) | (_, Err(e)) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ArtifactList(p: ProjectView, list: ArtifactPage, q: String, kind: String, paged: bool) -> impl IntoView {
    let path = format!("{}/{}", p.owner, p.name);
    let base = format!("/{path}/artifacts");
    let options = KINDS
        .iter()
        .map(|(value, label)| view! { <option value=*value selected=*value == kind>{*label}</option> })
        .collect_view();
    let search = view! {
        <form method="get" class="row" id="artifact-search">
            <input name="q" value=q.clone() placeholder="Search files by name" aria-label="Search artifacts by name" />
            <select name="kind" aria-label="Type">{options}</select>
            <button type="submit">"Search"</button>
        </form>
    };
    if list.items.is_empty() && !paged {
        let body = if q.is_empty() && kind.is_empty() {
            view! {
                <EmptyState title="No artifacts yet">
                    "Files runs log appear here: " <code>"mlflow.log_artifact(\"plot.png\")"</code> " in a job, or "
                    <code>"myelin artifacts upload RUN ./results"</code> "."
                </EmptyState>
            }
            .into_any()
        } else {
            view! { <p class="muted" id="artifacts-none">"No artifact matches."</p> }.into_any()
        };
        return view! { {search} {body} }.into_any();
    }
    let rows = list
        .items
        .iter()
        .map(|a| {
            let href = artifact_href(&path, &a.run, &a.path);
            let run_href = format!("/{path}/runs/{}", a.run);
            let folder = a.path.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
            let folder_href = artifact_href(&path, &a.run, &folder);
            view! {
                <tr data-artifact=a.path.clone()>
                    <td><a href=href>{a.name.clone()}</a></td>
                    <td class="muted"><a href=folder_href>{folder}</a></td>
                    <td><a href=run_href>{a.run_name.clone()}</a></td>
                    <td><span class="badge">{a.kind.clone()}</span></td>
                    <td>{human_size(a.size)}</td>
                    <td class="muted">{when(a.created_ms)}</td>
                    <td class="muted mono" title=a.sha256.clone()>{short(&a.sha256)}</td>
                </tr>
            }
        })
        .collect_view();
    let next = list.next.map(|n| {
        let mut url = form_query(&[("q", &q), ("kind", &kind), ("after", &n)]);
        url.insert_str(0, &base);
        view! { <a class="button" id="artifacts-next" href=url>"Next page →"</a> }
    });
    let first = paged.then(|| {
        let url = format!("{base}{}", form_query(&[("q", &q), ("kind", &kind)]));
        view! { <a id="artifacts-first" href=url>"← First page"</a> }
    });
    view! {
        {search}
        <table class="table" id="artifacts">
            <thead><tr><th>"File"</th><th>"Folder"</th><th>"Run"</th><th>"Type"</th><th>"Size"</th><th>"Stored"</th><th>"sha256"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <div class="row">{first}<div class="spacer"></div>{next}</div>
    }
    .into_any()
}

/// `?a=1&b=2` of the non-empty pairs (`""` when none).
fn form_query(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", pct(v))).collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

#[component]
pub fn ArtifactPage() -> impl IntoView {
    let project = expect_context::<ProjectResource>();
    let params = use_params_map();
    let query = use_query_map();
    let source = move || {
        let p = params.read();
        (
            p.get("owner").unwrap_or_default(),
            p.get("project").unwrap_or_default(),
            p.get("uuid").unwrap_or_default(),
            p.get("path").unwrap_or_default(),
            query.read().get("after"),
        )
    };
    let at = page_resource(source, |(o, n, u, p, a)| artifact_at(o, n, u, p, a));
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (project.await, at.await) {
                    (Ok(p), Ok(PathView::File(v, graph))) => view! { <FileView p v=*v graph=graph.map(|g| *g) /> }.into_any(),
                    (Ok(p), Ok(PathView::Folder(d))) => view! { <FolderView p d=*d /> }.into_any(),
                    (_, Err(e)) if e.code == "not_found" => view! { <super::not_found::NotFound what="artifact" /> }.into_any(),
                    (Err(e), _) | (_, Err(e)) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// `run / artifacts / model / MLmodel`, each folder a link.
fn crumbs(project: &str, run: String, run_name: &str, path: &str) -> impl IntoView {
    let mut acc = String::new();
    let parts: Vec<(String, String)> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(s);
            (s.to_string(), acc.clone())
        })
        .collect();
    let last = parts.len().saturating_sub(1);
    view! {
        <nav class="crumbs" id="artifact-crumbs">
            <a href=format!("/{project}/artifacts")>"Artifacts"</a>
            " / "
            <a href=format!("/{project}/runs/{run}")>{run_name.to_string()}</a>
            {parts.into_iter().enumerate().map(|(i, (label, at))| {
                let href = artifact_href(project, &run, &at);
                view! { " / " {if i == last { view! { <strong>{label}</strong> }.into_any() } else { view! { <a href=href data-path=at>{label}</a> }.into_any() }} }
            }).collect_view()}
        </nav>
    }
}

#[component]
fn FolderView(p: ProjectView, d: ArtifactDir) -> impl IntoView {
    let path = format!("{}/{}", p.owner, p.name);
    let zip = format!("/api/v1/projects/{path}/runs/{}/artifacts/{}", d.run, encode(&d.path));
    let empty = d.dirs.is_empty() && d.files.is_empty();
    let dirs = d
        .dirs
        .iter()
        .map(|sub| {
            let label = sub.rsplit('/').next().unwrap_or(sub).to_string();
            view! { <tr class="dir"><td><a href=artifact_href(&path, &d.run, sub)>{label}"/"</a></td><td></td><td></td><td></td></tr> }
        })
        .collect_view();
    let files = d.files.iter().map(|f| file_row(&path, f)).collect_view();
    let next = d.next.clone().map(|n| {
        let href = format!("{}?after={}", artifact_href(&path, &d.run, &d.path), pct(&n));
        view! { <a class="button" id="folder-next" href=href>"Next files →"</a> }
    });
    view! {
        {crumbs(&path, d.run.to_string(), &d.run_name, &d.path)}
        {d.model.clone().map(|card| view! { <ModelCard card /> })}
        <section class="card">
            <div class="row">
                <h3>{if d.path.is_empty() { "Files".to_string() } else { format!("{}/", d.path) }}</h3>
                <div class="spacer"></div>
                {(!empty && !d.path.is_empty()).then(|| view! { <a class="button" id="folder-zip" href=zip download="">"Download as zip"</a> })}
            </div>
            {if empty {
                view! { <p class="muted" id="folder-empty">"No files here. Files a run logs (" <code>"mlflow.log_artifact"</code> ", " <code>"myelin artifacts upload"</code> ") appear under " <code>"artifacts/"</code> "."</p> }.into_any()
            } else {
                view! {
                    <table class="table compact" id="folder">
                        <thead><tr><th>"Name"</th><th>"Size"</th><th>"Stored"</th><th>"sha256"</th></tr></thead>
                        <tbody>{dirs}{files}</tbody>
                    </table>
                }.into_any()
            }}
            <div class="row"><div class="spacer"></div>{next}</div>
        </section>
    }
}

fn file_row(project: &str, f: &ArtifactInfo) -> impl IntoView {
    view! {
        <tr data-file=f.name.clone()>
            <td><a href=artifact_href(project, &f.run, &f.path)>{f.name.clone()}</a></td>
            <td>{human_size(f.size)}</td>
            <td class="muted">{when(f.created_ms)}</td>
            <td class="muted mono" title=f.sha256.clone()>{short(&f.sha256)}</td>
        </tr>
    }
}

#[component]
fn ModelCard(card: ModelSummaryCard) -> impl IntoView {
    let list = |items: Vec<String>| {
        if items.is_empty() {
            view! { <span class="muted">"not recorded"</span> }.into_any()
        } else {
            items.into_iter().map(|i| view! { <code>{i}</code> " " }).collect_view().into_any()
        }
    };
    view! {
        <section class="card" id="model-card">
            <h3>"MLflow model"</h3>
            <dl class="facts">
                <dt>"Flavours"</dt><dd id="model-flavors">{list(card.flavors)}</dd>
                <dt>"Inputs"</dt><dd id="model-inputs">{list(card.inputs)}</dd>
                <dt>"Outputs"</dt><dd>{list(card.outputs)}</dd>
                {card.created.map(|c| view! { <dt>"Created"</dt><dd>{c}</dd> })}
                {card.mlflow_version.map(|v| view! { <dt>"MLflow"</dt><dd>{v}</dd> })}
            </dl>
        </section>
    }
}

#[component]
fn FileView(p: ProjectView, v: ArtifactView, graph: Option<api_types::GraphView>) -> impl IntoView {
    let path = format!("{}/{}", p.owner, p.name);
    let i = v.info.clone();
    let preview = match v.preview.clone() {
        Preview::Image { src } => view! { <img class="artifact-image" id="preview-image" src=src alt=i.name.clone() /> }.into_any(),
        Preview::Table { header, rows, truncated, note } => view! {
            {note.map(|n| view! { <p class="muted" id="preview-note">{n}</p> })}
            <div class="scroll-x">
                <table class="table compact" id="preview-table">
                    <thead><tr>{header.into_iter().map(|h| view! { <th>{h}</th> }).collect_view()}</tr></thead>
                    <tbody>{rows.into_iter().map(|r| view! { <tr>{r.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr> }).collect_view()}</tbody>
                </table>
            </div>
            {truncated.then(|| view! { <p class="muted" id="preview-truncated">"The first rows only: download the file for all of it."</p> })}
        }.into_any(),
        Preview::Text { language, text, truncated } => view! {
            <div id="preview-text"><Code language text /></div>
            {truncated.then(|| view! { <p class="muted" id="preview-truncated">"The beginning only: download the file for all of it."</p> })}
        }.into_any(),
        Preview::Markdown { html, truncated } => view! {
            <div class="markdown" id="preview-markdown" inner_html=html></div>
            {truncated.then(|| view! { <p class="muted">"The beginning only."</p> })}
        }.into_any(),
        Preview::Frame { src, mime } => view! {
            <p class="muted">"Shown in a sandbox: its scripts run apart from Myelin and cannot reach your session."</p>
            <iframe class="artifact-frame" id="preview-frame" sandbox="allow-scripts" src=src title=i.name.clone() data-mime=mime></iframe>
        }.into_any(),
        Preview::Model { card } => view! { <ModelCard card /> }.into_any(),
        Preview::Download { reason } => view! { <p class="muted" id="preview-none">{format!("No preview: {reason}.")}</p> }.into_any(),
    };
    let consumers = v.consumers.clone();
    view! {
        {crumbs(&path, i.run.to_string(), &i.run_name, &i.path)}
        <section class="card">
            <div class="row">
                <h3 id="artifact-name">{i.name.clone()}</h3>
                <span class="badge">{i.kind.clone()}</span>
                <div class="spacer"></div>
                <a class="button" id="artifact-download" href=v.download.clone() download=i.name.clone()>"Download"</a>
            </div>
            <dl class="facts">
                <dt>"Size"</dt><dd>{human_size(i.size)}</dd>
                <dt>"sha256"</dt><dd class="mono" id="artifact-sha">{if i.sha256.is_empty() { "not recorded (stored before digests were kept)".to_string() } else { i.sha256.clone() }}</dd>
                <dt>"Produced by"</dt><dd><a id="artifact-run" href=format!("/{path}/runs/{}", i.run)>{i.run_name.clone()}</a></dd>
                {(i.created_ms > 0).then(|| view! { <dt>"Stored"</dt><dd>{when(i.created_ms)}</dd> })}
            </dl>
        </section>
        <section class="card" id="preview">{preview}</section>
        <section class="card" id="consumers">
            <h3>"Used by"</h3>
            {graph.map(|g| {
                let (zoom, _) = signal(1.0_f64);
                view! { <crate::pages::pipeline::Drawing g base=format!("/{path}/runs/") zoom /> }
            })}
            {if consumers.is_empty() {
                view! { <p class="muted">"No run has recorded this file (by its digest) as an input."</p> }.into_any()
            } else {
                view! { <ul>{consumers.into_iter().map(|c| view! { <li><a href=format!("/{path}/runs/{}", c.uuid)>{c.name}</a> " " <span class="muted">{c.what}</span></li> }).collect_view()}</ul> }.into_any()
            }}
        </section>
    }
}
