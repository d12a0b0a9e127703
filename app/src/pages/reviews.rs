//! The reviews inbox (`/reviews`: awaiting me, opened by me) and a promotion request (`/reviews/{id}`: the
//! evidence against the alias's current version, the thread, approve / reject / comment / cancel).

use api_types::{Comparison, Evidence, Goal};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::models::{when, RequestRows};
use crate::components::forms::{action_error, ErrorBox, FormError};
use crate::components::page_data::page_resource;
use crate::server::registry::{get_request, review_inbox, RequestPage, ReviewRequest};

#[component]
pub fn Inbox() -> impl IntoView {
    let inbox = page_resource(|| (), |_| review_inbox());
    view! {
        <Title text="Reviews · Myelin" />
        <h1>"Reviews"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match inbox.await {
                    Ok(i) => view! {
                        <section class="card" id="awaiting"><h2>"Awaiting my review"</h2>
                            <RequestRows list=i.awaiting empty="Nothing awaits your review." /></section>
                        <section class="card" id="mine"><h2>"Opened by me"</h2>
                            <RequestRows list=i.mine empty="You have opened no requests." /></section>
                    }.into_any(),
                    Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn RequestView() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let act = ServerAction::<ReviewRequest>::new();
    let page = page_resource(move || (id.get(), act.version().get()), |(id, _)| get_request(id));
    // A decision changes how many requests await the caller: the top bar's count follows.
    let session = expect_context::<crate::server::accounts::SessionActions>();
    Effect::new(move |_| {
        if act.version().get() > 0 {
            session.me.refetch();
        }
    });
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => view! { <RequestBody p act /> }.into_any(),
                    Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn RequestBody(p: RequestPage, act: ServerAction<ReviewRequest>) -> impl IntoView {
    let d = p.detail;
    let r = d.request.clone();
    let title = format!("{} v{} → {}", r.model, r.version, r.alias);
    let model_href = format!("/{}/models/{}", r.project, r.model);
    let thread = d
        .thread
        .iter()
        .zip(p.thread_html)
        .map(|(e, html)| {
            view! {
                <li class=format!("entry {}", e.kind) data-kind=e.kind.clone()>
                    <p class="muted"><strong>{e.user.clone()}</strong> {format!(" {} · {}", verb(&e.kind), when(e.created_ms))}</p>
                    <div class="markdown" inner_html=html></div>
                </li>
            }
        })
        .collect_view();
    let id = r.id.to_string();
    let button = move |what: &'static str, label: &'static str, class: &'static str| {
        let id = id.clone();
        view! {
            <ActionForm action=act attr:class="inline">
                <input type="hidden" name="id" value=id />
                <input type="hidden" name="what" value=what />
                <input type="hidden" name="body" value="" />
                <button type="submit" class=class id=format!("{what}-button")>{label}</button>
            </ActionForm>
        }
    };
    let closed =
        r.closed_by.clone().map(|by| format!(" by {by} on {}", when(r.closed_ms.unwrap_or_default())));
    view! {
        <Title text=crate::page_title(format!("{title} · Myelin")) />
        <h1 id="request-title"><a href=model_href>{r.model.clone()}</a> {format!(" v{} → {}", r.version, r.alias)}</h1>
        <p>
            <span class=format!("badge state-{}", r.state) id="request-state">{r.state.clone()}</span>
            {format!(" {}/{} approvals · asked by {} on {}", r.approvals, r.required, r.requested_by, when(r.created_ms))}
            {closed}
        </p>
        <section class="card"><h3>"Reason"</h3><div class="markdown" id="request-reason" inner_html=p.reason_html></div></section>
        <EvidenceView e=d.evidence.clone() project=r.project.clone() alias=r.alias.clone() />
        <section class="card" id="thread">
            <h3>"Thread"</h3>
            {if d.thread.is_empty() { view! { <p class="muted">"No reviews or comments yet."</p> }.into_any() } else { view! { <ul class="thread">{thread}</ul> }.into_any() }}
            {(r.state == "open").then(|| view! {
                <ActionForm action=act attr:id="comment-form">
                    <input type="hidden" name="id" value=r.id.to_string() />
                    <input type="hidden" name="what" value="comment" />
                    <label>"Comment (Markdown)" <textarea name="body" id="comment-body" rows="3" required maxlength="20000"></textarea></label>
                    <button type="submit">"Comment"</button>
                </ActionForm>
            })}
            <div class="row">
                {d.can_review.then(|| view! { {button("approve", "Approve", "primary")} {button("reject", "Reject", "danger")} })}
                {d.can_cancel.then(|| button("cancel", "Cancel request", ""))}
            </div>
            <FormError error=action_error(move || act.value().get()) />
        </section>
    }
}

fn verb(kind: &str) -> &'static str {
    match kind {
        "approve" => "approved",
        "reject" => "rejected",
        _ => "commented",
    }
}

/// The candidate against the alias's current version: metrics with their direction, then what differs.
#[component]
fn EvidenceView(e: Evidence, project: String, alias: String) -> impl IntoView {
    let head = match e.current_version {
        Some(v) => format!("Against v{v}, which {alias} points at now."),
        None => format!("{alias} points at no version yet: the candidate alone."),
    };
    let metrics =
        e.comparison.as_ref().map(|c| metric_table(c, e.current_run.is_some() && c.runs.len() == 2));
    let why = e.why.as_ref().map(|w| {
        w.sections
            .iter()
            .map(|s| {
                let rows = s
                    .rows
                    .iter()
                    .filter(|r| r.differs)
                    .map(|r| {
                        let cell =
                            |i: usize| r.values.get(i).cloned().flatten().unwrap_or_else(|| "-".into());
                        view! { <tr><th>{r.key.clone()}</th><td>{cell(0)}</td><td>{cell(1)}</td></tr> }
                    })
                    .collect_view();
                view! { <tbody><tr><th colspan="3" class="section">{s.title.clone()}</th></tr>{rows}</tbody> }
            })
            .collect_view()
    });
    let links = [("current", e.current_run), ("candidate", e.candidate_run)]
        .into_iter()
        .filter_map(|(label, run)| run.map(|r| view! { <a href=format!("/{project}/runs/{r}") data-run=label>{format!("{label} run")}</a> " " }))
        .collect_view();
    view! {
        <section class="card" id="evidence">
            <h3>"Evidence"</h3>
            <p class="muted">{head} " " {links}</p>
            {metrics}
            {why.map(|rows| view! {
                <table class="table" id="evidence-diff">
                    <thead><tr><th>"What differs"</th><th>"current"</th><th>"candidate"</th></tr></thead>
                    {rows}
                </table>
            })}
        </section>
    }
}

fn metric_table(c: &Comparison, two: bool) -> impl IntoView {
    let rows = c
        .metrics
        .iter()
        .map(|m| {
            let last = |i: usize| m.last.get(i).copied().flatten();
            let (cur, cand) = if two { (last(0), last(1)) } else { (None, last(0)) };
            let fmt = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_else(|| "-".into());
            let (delta, verdict) = match (cur, cand) {
                (Some(a), Some(b)) => {
                    let better = match m.goal {
                        Goal::Max => b > a,
                        Goal::Min => b < a,
                    };
                    let word = if a == b { "same" } else if better { "better" } else { "worse" };
                    (format!("{:+.6}", b - a), word)
                }
                _ => ("-".into(), ""),
            };
            let goal = if m.goal == Goal::Max { "↑ higher is better" } else { "↓ lower is better" };
            view! {
                <tr data-metric=m.key.clone() data-verdict=verdict>
                    <th>{m.key.clone()}</th><td class="muted">{goal}</td><td>{fmt(cur)}</td><td>{fmt(cand)}</td>
                    <td class=format!("delta {verdict}")>{delta} " " {verdict}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table" id="evidence-metrics">
            <thead><tr><th>"Metric"</th><th>"Direction"</th><th>"current"</th><th>"candidate"</th><th>"Δ"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
