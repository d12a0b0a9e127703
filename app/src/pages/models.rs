//! The Models tab (`/{owner}/{project}/models?q=…`), a model (`…/models/{model}`: versions, aliases, reviewers,
//! requests, a promotion form) and a version (`…/versions/{v}`: lineage, files, alias history, requests).

use api_types::{ModelDetail, ModelSummary, RequestSummary, VersionDetail};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::project::ProjectResource;
use crate::components::files::Files;
use crate::components::forms::{action_error, EmptyState, ErrorBox, FormError};
use crate::components::page_data::page_resource;
use crate::server::projects::ProjectView;
use crate::server::registry::{
    get_model, get_version, list_models, RequestPromotion, SetModelReviewers, UpdateModel,
};

/// `2026-12-03 08:40 UTC`.
pub fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn param(name: &'static str) -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get(name).unwrap_or_default())
}

/// Runs `body` once the project and `data` are in.
macro_rules! with_project {
    ($project:expr, $data:expr, |$p:ident, $d:ident| $body:expr) => {
        view! {
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match ($project.await, $data.await) {
                        (Ok($p), Ok($d)) => $body.into_any(),
                        (Err(e), _) | (_, Err(e)) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                    }
                })}
            </Transition>
        }
    };
}

/// Each alias links to the version it points at (`model` is the model page's path).
fn alias_chips(model: &str, aliases: &[api_types::AliasInfo]) -> impl IntoView {
    aliases
        .iter()
        .map(|a| {
            let title = if a.protected { "protected: moves only through an approved request" } else { "" };
            let href = format!("{model}/versions/{}", a.version);
            view! {
                <a class="badge alias" class:protected=a.protected title=title data-alias=a.alias.clone() href=href>
                    {if a.protected { "🔒 " } else { "" }} {a.alias.clone()} " → v" {a.version}
                </a>
                " "
            }
        })
        .collect_view()
}

#[component]
pub fn ModelsTab() -> impl IntoView {
    let project = expect_context::<ProjectResource>();
    let (owner, name) = (param("owner"), param("project"));
    let query = use_query_map();
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let models = page_resource(move || (owner.get(), name.get(), q.get()), |(o, n, q)| list_models(o, n, q));
    with_project!(project, models, |p, list| view! { <ModelList p list q=q.get_untracked() /> })
}

#[component]
fn ModelList(p: ProjectView, list: Vec<ModelSummary>, q: String) -> impl IntoView {
    let base = format!("{}/models", p.path());
    let search = view! {
        <form method="get" class="row" id="model-search">
            <input name="q" value=q.clone() placeholder="Search models by name" aria-label="Search models" />
            <button type="submit">"Search"</button>
        </form>
    };
    if list.is_empty() {
        let body = if q.is_empty() {
            view! {
                <EmptyState title="No models yet">
                    "Register one from a run: " <code>"mlflow.register_model(\"runs:/RUN_ID/model\", \"my-model\")"</code>
                    " (with MLFLOW_TRACKING_URI pointing here)."
                </EmptyState>
            }
            .into_any()
        } else {
            view! { <p class="muted" id="models-none">"No model matches."</p> }.into_any()
        };
        return view! { {search} {body} }.into_any();
    }
    let rows = list
        .into_iter()
        .map(|m| {
            let href = format!("{base}/{}", m.name);
            view! {
                <tr data-model=m.name.clone()>
                    <td><a href=href.clone()>{m.name.clone()}</a></td>
                    <td>{m.latest_version.map(|v| format!("v{v}")).unwrap_or_else(|| "-".into())}</td>
                    <td>{m.versions}</td>
                    <td>{alias_chips(&href, &m.aliases)}</td>
                    <td class="muted">{when(m.updated_ms)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        {search}
        <table class="table" id="models">
            <thead><tr><th>"Model"</th><th>"Latest"</th><th>"Versions"</th><th>"Aliases"</th><th>"Updated"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="muted">"🔒 protected aliases move only through an approved promotion request ("
            <a href="/reviews">"reviews"</a> ")."</p>
    }
    .into_any()
}

/// Requests as a short table linking to their pages.
#[component]
pub fn RequestRows(list: Vec<RequestSummary>, empty: &'static str) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted">{empty}</p> }.into_any();
    }
    let rows = list
        .into_iter()
        .map(|r| {
            view! {
                <tr data-request=r.id.to_string() data-state=r.state.clone()>
                    <td><a href=format!("/reviews/{}", r.id)>{format!("{} v{} → {}", r.model, r.version, r.alias)}</a></td>
                    <td>{r.project.clone()}</td>
                    <td><span class=format!("badge state-{}", r.state)>{r.state.clone()}</span></td>
                    <td>{format!("{}/{}", r.approvals, r.required)}</td>
                    <td>{r.requested_by.clone()}</td>
                    <td class="muted">{when(r.created_ms)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table requests">
            <thead><tr><th>"Request"</th><th>"Project"</th><th>"State"</th><th>"Approvals"</th><th>"By"</th><th>"Opened"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
pub fn ModelPage() -> impl IntoView {
    let project = expect_context::<ProjectResource>();
    let (owner, name, model) = (param("owner"), param("project"), param("model"));
    let update = ServerAction::<UpdateModel>::new();
    let promote = ServerAction::<RequestPromotion>::new();
    let reviewers = ServerAction::<SetModelReviewers>::new();
    let detail = page_resource(
        move || (owner.get(), name.get(), model.get(), update.version().get() + reviewers.version().get()),
        |(o, n, m, _)| get_model(o, n, m),
    );
    with_project!(project, detail, |p, d| view! { <ModelBody p d update promote reviewers /> })
}

#[component]
fn ModelBody(
    p: ProjectView,
    d: ModelDetail,
    update: ServerAction<UpdateModel>,
    promote: ServerAction<RequestPromotion>,
    reviewers: ServerAction<SetModelReviewers>,
) -> impl IntoView {
    let base = format!("{}/models/{}", p.path(), d.model.name);
    let member = p.can("member");
    let admin = p.can("admin");
    let listed = d.reviewers.join(", ");
    let set_reviewers = reviewers;
    let no_versions = d.versions.is_empty();
    let protected = d.policy.protected_aliases.join(", ");
    let reviewers_text = if d.reviewers.is_empty() {
        "the project's admins and owner".to_string()
    } else {
        format!("the project's admins and owner, and {}", d.reviewers.join(", "))
    };
    let versions = d
        .versions
        .iter()
        .map(|v| {
            let run = match (v.run, &v.run_name) {
                (Some(id), Some(n)) => view! { <a href=format!("{}/runs/{id}", p.path())>{n.clone()}</a> }.into_any(),
                _ => view! { <code>{v.source.clone()}</code> }.into_any(),
            };
            let metrics = v.metrics.iter().take(4).map(|(k, x)| format!("{k} {x:.4}")).collect::<Vec<_>>().join(" · ");
            let tags = v.tags.iter().map(|(k, x)| format!("{k}={x}")).collect::<Vec<_>>().join(", ");
            view! {
                <tr data-version=v.version>
                    <td><a href=format!("{base}/versions/{}", v.version)>{format!("v{}", v.version)}</a></td>
                    <td>{v.aliases.iter().map(|a| view! { <span class="badge alias">{a.clone()}</span> " " }).collect_view()}</td>
                    <td>{run}</td>
                    <td>{metrics}</td>
                    <td>{tags}</td>
                    <td class="muted">{format!("{} by {}", when(v.created_ms), v.created_by)}</td>
                </tr>
            }
        })
        .collect_view();
    let options = d
        .versions
        .iter()
        .map(|v| view! { <option value=v.version>{format!("v{}", v.version)}</option> })
        .collect_view();
    let (owner, project, model) = (p.owner.clone(), p.name.clone(), d.model.name.clone());
    let description = d.model.description.clone();
    let (o2, p2, m2) = (owner.clone(), project.clone(), model.clone());
    let (o3, p3, m3) = (owner.clone(), project.clone(), model.clone());
    view! {
        <h2 id="model-name">{d.model.name.clone()} " " {alias_chips(&base, &d.model.aliases)}</h2>
        <section class="card">
            <ActionForm action=update>
                <input type="hidden" name="owner" value=owner.clone() />
                <input type="hidden" name="name" value=project.clone() />
                <input type="hidden" name="model" value=model.clone() />
                <fieldset disabled=!member>
                    <label>"Description"
                        <textarea name="description" id="model-description" rows="2" maxlength="20000" prop:value=description></textarea>
                    </label>
                    <button type="submit">"Save description"</button>
                </fieldset>
            </ActionForm>
            <FormError error=action_error(move || update.value().get()) />
            {admin.then(|| view! {
                <ActionForm action=set_reviewers attr:id="reviewers-form">
                    <input type="hidden" name="owner" value=o3 />
                    <input type="hidden" name="name" value=p3 />
                    <input type="hidden" name="model" value=m3 />
                    <div class="row">
                        <label>"Reviewers of this model " <input name="reviewers" id="model-reviewers" value=listed placeholder="usernames, separated by commas" maxlength="5000" /></label>
                        <button type="submit" id="save-reviewers">"Save reviewers"</button>
                    </div>
                </ActionForm>
                <FormError error=action_error(move || set_reviewers.value().get()) />
            })}
            <p class="muted" id="review-rule">{format!("Protected aliases: {protected}. A request needs {} approval(s) from {reviewers_text}.", d.policy.required_approvals)}</p>
        </section>
        <section class="card">
            <h3>"Versions"</h3>
            {if no_versions {
                view! {
                    <p class="muted" id="no-versions">
                        "No versions yet. Register one from a run: " <code>{format!("mlflow.register_model(\"runs:/<run id>/model\", \"{}\")", d.model.name)}</code>
                    </p>
                }.into_any()
            } else {
                view! {
                    <table class="table" id="versions">
                        <thead><tr><th>"Version"</th><th>"Aliases"</th><th>"Source run"</th><th>"Metrics"</th><th>"Tags"</th><th>"Registered"</th></tr></thead>
                        <tbody>{versions}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
        {(member && !no_versions).then(|| view! {
            <section class="card">
                <h3>"Request a promotion"</h3>
                <ActionForm action=promote attr:id="promote-form">
                    <input type="hidden" name="owner" value=o2 />
                    <input type="hidden" name="name" value=p2 />
                    <input type="hidden" name="model" value=m2 />
                    <div class="row">
                        <label>"Version " <select name="version" id="promote-version">{options}</select></label>
                        <label>"Alias " <input name="alias" id="promote-alias" value="production" required maxlength="256" /></label>
                    </div>
                    <label>"Reason (Markdown)" <textarea name="reason" id="promote-reason" rows="3" required maxlength="20000"></textarea></label>
                    <button type="submit" class="primary">"Request review"</button>
                </ActionForm>
                <FormError error=action_error(move || promote.value().get()) />
            </section>
        })}
        <section class="card" id="model-requests">
            <h3>"Promotion requests"</h3>
            <RequestRows list=d.requests empty="No requests yet." />
        </section>
    }
}

#[component]
pub fn VersionPage() -> impl IntoView {
    let project = expect_context::<ProjectResource>();
    let (owner, name, model, version) = (param("owner"), param("project"), param("model"), param("version"));
    let detail = page_resource(
        move || (owner.get(), name.get(), model.get(), version.get()),
        |(o, n, m, v)| get_version(o, n, m, v.parse().unwrap_or(0)),
    );
    with_project!(project, detail, |p, d| view! { <VersionBody p d /> })
}

fn pairs<T: std::fmt::Display>(map: &std::collections::BTreeMap<String, T>) -> impl IntoView {
    map.iter().map(|(k, v)| view! { <tr><th>{k.clone()}</th><td>{v.to_string()}</td></tr> }).collect_view()
}

#[component]
fn VersionBody(p: ProjectView, d: VersionDetail) -> impl IntoView {
    let model_href = format!("{}/models/{}", p.path(), d.model);
    let v = &d.version;
    let lineage = match &d.lineage {
        None => view! { <p class="muted">"The source run is gone or outside this project: " <code>{v.source.clone()}</code></p> }.into_any(),
        Some(l) => {
            let run_href = format!("{}/runs/{}", p.path(), l.run);
            let files = d.files_path.clone().map(|f| {
                view! {
                    <div id="version-files">
                        <Files owner=p.owner.clone() name=p.name.clone() uuid=l.run.to_string() root=f />
                    </div>
                }
            });
            view! {
                <p>"Produced by run " <a href=run_href.clone() id="lineage-run">{l.run_name.clone()}</a> " (" {l.status.clone()} ")"</p>
                {files}
                <div class="grid2">
                    <table class="table kv" id="lineage-params"><caption>"Params"</caption><tbody>{pairs(&l.params)}</tbody></table>
                    <table class="table kv" id="lineage-metrics"><caption>"Metrics (last)"</caption><tbody>{pairs(&l.metrics)}</tbody></table>
                </div>
                <table class="table kv" id="lineage-facts"><tbody>
                    <tr><th>"Image"</th><td>{l.image.clone().unwrap_or_else(|| "-".into())}</td></tr>
                    <tr><th>"Image digest"</th><td>{l.image_digest.clone().unwrap_or_else(|| "-".into())}</td></tr>
                    <tr><th>"Git commit"</th><td>{l.git_commit.clone().unwrap_or_else(|| "-".into())}</td></tr>
                    {pairs(&l.datasets)}
                </tbody></table>
            }
            .into_any()
        }
    };
    let history = d
        .history
        .iter()
        .map(|m| {
            let to = m.version.map(|v| format!("→ v{v}")).unwrap_or_else(|| "removed".into());
            let via = m.request.map(|r| view! { " via " <a href=format!("/reviews/{r}")>"request"</a> });
            view! { <li>{format!("{} {} {to} by {}", when(m.at_ms), m.alias, m.actor)} {via}</li> }
        })
        .collect_view();
    view! {
        <h2 id="version-title"><a href=model_href>{d.model.clone()}</a> {format!(" v{}", v.version)}
            " " {v.aliases.iter().map(|a| view! { <span class="badge alias">{a.clone()}</span> " " }).collect_view()}</h2>
        <p class="muted">{format!("Registered {} by {} · stage {} · {}", when(v.created_ms), v.created_by, v.stage, v.status)}</p>
        <section class="card" id="lineage"><h3>"Lineage"</h3>{lineage}</section>
        <section class="card" id="version-history"><h3>"Alias history"</h3>
            {if d.history.is_empty() { view! { <p class="muted">"No alias has pointed here."</p> }.into_any() } else { view! { <ul>{history}</ul> }.into_any() }}
        </section>
        <section class="card"><h3>"Promotion requests"</h3><RequestRows list=d.requests empty="None for this version." /></section>
    }
}
