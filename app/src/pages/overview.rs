//! The project's front page: what it is about, where its runs stand, what runs and waits now (in queue order),
//! the latest runs and pipelines, and the best runs by a metric chosen in the URL (`?metric=loss&goal=min`).

use leptos::prelude::*;

use crate::components::page_data::page_resource;
use leptos_router::hooks::use_query_map;

use super::project::ProjectResource;
use super::runs::{poll, project_key, StatusBadge};
use crate::components::forms::ErrorBox;
use crate::server::overview::{project_overview, BestView, OverviewView};
use crate::server::projects::ProjectView;
use crate::server::runs::RunRow;

#[component]
pub fn Overview() -> impl IntoView {
    let project = expect_context::<ProjectResource>();
    let (owner, name) = project_key();
    let query = use_query_map();
    let metric = Memo::new(move |_| query.read().get("metric").unwrap_or_default());
    let goal = Memo::new(move |_| query.read().get("goal").unwrap_or_default());
    let overview = page_resource(
        move || (owner.get(), name.get(), metric.get(), goal.get()),
        |(o, n, m, g)| project_overview(o, n, m, g),
    );
    // While something runs or waits, the page follows it.
    let busy = move || {
        overview.get().and_then(|o| o.ok()).is_some_and(|v| !v.running.is_empty() || !v.queued.is_empty())
    };
    poll(overview, 3000, busy);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let p = project.await;
                let o = overview.await;
                match (p, o) {
                    (Ok(p), Ok(o)) => view! { <About p=p.clone() /> <Body p o /> }.into_any(),
                    (Err(e), _) | (_, Err(e)) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn About(p: ProjectView) -> impl IntoView {
    let read_only = !p.can("member");
    view! {
        <section class="card">
            <h2>"About"</h2>
            <p id="project-description">
                {if p.description.is_empty() { "No description.".to_string() } else { p.description.clone() }}
            </p>
            {read_only.then(|| view! {
                <p class="notice" id="read-only">"You have read-only access to this project (viewer)."</p>
            })}
        </section>
    }
}

#[component]
fn Body(p: ProjectView, o: OverviewView) -> impl IntoView {
    let base = p.path();
    let runs = format!("{base}/runs");
    if o.total == 0 {
        return view! {
            <section class="card" id="overview-empty">
                <h3>"No runs yet"</h3>
                <p class="muted">"Write one in the " <a href=format!("{base}/editor")>"editor"</a>
                    ", or submit a file: " <code>{format!("myelin run -f train.yaml -p {}", p.name)}</code></p>
            </section>
        }
        .into_any();
    }
    let counts = o.by_status.iter().map(|(status, n)| {
        let href = format!("{runs}?q=status:{status}");
        view! { <a class="count" href=href data-status=status.clone()><StatusBadge status=status.clone() /> " " <strong>{*n}</strong></a> }
    }).collect_view();
    let queued_note = (o.queued_total > o.queued.len() as u64)
        .then(|| format!("the first {} of {} waiting", o.queued.len(), o.queued_total));
    view! {
        <section class="card">
            <h3>"Runs"</h3>
            <p id="overview-counts" class="counts">{counts} <span class="muted">{format!("{} in all", o.total)}</span></p>
        </section>
        <div class="grid2">
            <section class="card" id="overview-running">
                <h3>"Running now"</h3>
                <Rows base=base.clone() rows=o.running empty="Nothing is running." rank=false />
            </section>
            <section class="card" id="overview-queued">
                <h3>"Queued"</h3>
                {queued_note.map(|n| view! { <p class="muted">{n}</p> })}
                <Rows base=base.clone() rows=o.queued empty="Nothing is waiting." rank=true />
            </section>
        </div>
        <section class="card" id="overview-best">
            <Best base=base.clone() keys=o.metric_keys best=o.best />
        </section>
        <div class="grid2">
            <section class="card" id="overview-latest">
                <h3>"Latest runs"</h3>
                <Rows base=base.clone() rows=o.latest empty="No runs." rank=false />
                <p><a href=runs>"All runs →"</a></p>
            </section>
            <section class="card" id="overview-pipelines">
                <h3>"Recent pipelines"</h3>
                <Rows base=base.clone() rows=o.pipelines empty="No DAG or matrix runs yet." rank=false />
            </section>
        </div>
    }
    .into_any()
}

/// A short table of runs; `rank` numbers them (queue positions: 1 is next).
#[component]
fn Rows(base: String, rows: Vec<RunRow>, empty: &'static str, rank: bool) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted">{empty}</p> }.into_any();
    }
    view! {
        <table class="table compact">
            <tbody>
                {rows.into_iter().enumerate().map(|(i, r)| view! {
                    <tr data-run=r.uuid.clone()>
                        {rank.then(|| view! { <td class="num queue-position">{format!("#{}", i + 1)}</td> })}
                        <td><StatusBadge status=r.status.clone() /></td>
                        <td><a href=format!("{base}/runs/{}", r.uuid)>{r.name.clone()}</a></td>
                        <td class="muted">{r.user.clone()}</td>
                        <td class="muted">{r.created.clone()}</td>
                        <td class="muted">{r.duration.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The best runs by a metric; the metric and its direction are chosen with a form that sets the URL.
#[component]
fn Best(base: String, keys: Vec<String>, best: Option<BestView>) -> impl IntoView {
    let Some(best) = best else {
        return view! {
            <h3>"Best runs"</h3>
            <p class="muted">"No metric logged yet. Jobs log with MLflow: " <code>"mlflow.log_metric(\"loss\", v)"</code></p>
        }
        .into_any();
    };
    let options = keys
        .into_iter()
        .map(|k| {
            let selected = k == best.key;
            view! { <option value=k.clone() selected=selected>{k.clone()}</option> }
        })
        .collect_view();
    let min = best.goal == "min";
    view! {
        <form method="get" class="row" id="best-form">
            <h3>"Best runs by"</h3>
            <select name="metric" id="best-metric">{options}</select>
            <select name="goal" id="best-goal">
                <option value="min" selected=min>"lowest first"</option>
                <option value="max" selected=!min>"highest first"</option>
            </select>
            <button type="submit" class="small">"Show"</button>
        </form>
        {if best.rows.is_empty() {
            view! { <p class="muted">{format!("No run has a value of {} yet.", best.key)}</p> }.into_any()
        } else {
            view! {
                <table class="table compact" id="best-runs">
                    <thead><tr><th>"#"</th><th>"Run"</th><th>{best.key.clone()}</th><th>"Step"</th><th>"Status"</th><th>"User"</th></tr></thead>
                    <tbody>
                        {best.rows.into_iter().enumerate().map(|(i, (r, value, step))| view! {
                            <tr data-run=r.uuid.clone()>
                                <td class="num">{i + 1}</td>
                                <td><a href=format!("{base}/runs/{}", r.uuid)>{r.name.clone()}</a></td>
                                <td class="num best-value">{value}</td>
                                <td class="num">{step}</td>
                                <td><StatusBadge status=r.status.clone() /></td>
                                <td class="muted">{r.user.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
    .into_any()
}
