//! One run: overview, queue position, timeline, live logs, the spec as submitted and compiled, actions.

use leptos::prelude::*;

use crate::components::page_data::page_resource;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::runs::{poll, project_key, StatusBadge};
use crate::components::browser_data::BrowserData;
use crate::components::files::Files;
use crate::components::forms::{action_error, ErrorBox, FormError};
use crate::server::runs::{get_run, ApproveRun, RestartRun, StopRun};
use crate::server::tracking::{run_logs, LogView};

/// The run page lives inside the project's `Suspend` (its header needs the project), and its body inside the
/// run's. The parts below that load data of their own (logs, files, charts, the pipeline graph) load it in the
/// browser once the page has hydrated (`components::browser_data`, which says why a `Suspense` of their own
/// broke hydration of every run page opened by URL). `end2end/tests/routes.spec.mjs` opens every run state by
/// URL and reloads it to keep it so.
#[component]
pub fn RunPage() -> impl IntoView {
    let (owner, name) = project_key();
    let params = use_params_map();
    let uuid = Memo::new(move |_| params.read().get("uuid").unwrap_or_default());
    let stop = ServerAction::<StopRun>::new();
    let restart = ServerAction::<RestartRun>::new();
    let approve = ServerAction::<ApproveRun>::new();
    let run = page_resource(
        move || (owner.get(), name.get(), uuid.get(), stop.version().get() + approve.version().get()),
        |(o, n, u, _)| get_run(o, n, u),
    );
    let running = move || run.get().and_then(|r| r.ok()).is_some_and(|r| !r.done);
    // Live: the server's status stream refetches the run at every change; a slow poll covers a lost stream.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let url = format!("/api/v1/projects/{}/{}/runs/{}/events", owner.get(), name.get(), uuid.get());
        stream(url, "status", move |_| run.refetch());
    });
    poll(run, 5000, running);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match run.await {
                    Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                    Ok(r) => {
                        view! {
                            <Title text=crate::page_title(format!("{} · run · Myelin", r.row.name)) />
                            <div class="run-head">
                                <h2 id="run-name">{r.row.name.clone()}</h2>
                                <StatusBadge status=r.row.status.clone() />
                                <span class="muted uuid">{r.row.uuid.clone()}</span>
                                <div class="spacer"></div>
                                {(r.can_act && !r.done).then(|| view! {
                                    <ActionForm action=stop>
                                        <input type="hidden" name="owner" value=owner.get_untracked() />
                                        <input type="hidden" name="name" value=name.get_untracked() />
                                        <input type="hidden" name="uuid" value=uuid.get_untracked() />
                                        <button type="submit" class="danger" id="stop-run">"Stop"</button>
                                    </ActionForm>
                                })}
                                {r.can_act.then(|| view! {
                                    <a class="button" id="copy-run" href=format!("/{}/{}/runs?copy={}", owner.get_untracked(), name.get_untracked(), uuid.get_untracked())>
                                        "Copy and edit"
                                    </a>
                                })}
                                {r.can_act.then(|| view! {
                                    <ActionForm action=restart>
                                        <input type="hidden" name="owner" value=owner.get_untracked() />
                                        <input type="hidden" name="name" value=name.get_untracked() />
                                        <input type="hidden" name="uuid" value=uuid.get_untracked() />
                                        <button type="submit" id="restart-run">"Restart"</button>
                                    </ActionForm>
                                })}
                            </div>
                            {r.waiting_for_approval.then(|| view! {
                                <div class="notice row" id="approval">
                                    <span>"Waiting for approval (" <code>"isApproved: false"</code> "): it starts once a project member approves it."</span>
                                    {r.can_act.then(|| view! {
                                        <ActionForm action=approve>
                                            <input type="hidden" name="owner" value=owner.get_untracked() />
                                            <input type="hidden" name="name" value=name.get_untracked() />
                                            <input type="hidden" name="uuid" value=uuid.get_untracked() />
                                            <button type="submit" class="primary" id="approve-run">"Approve"</button>
                                        </ActionForm>
                                    })}
                                </div>
                            })}
                            <FormError error=action_error(move || approve.value().get()) />
                            <FormError error=action_error(move || stop.value().get()) />
                            <FormError error=action_error(move || restart.value().get()) />
                            {matches!(r.kind.as_str(), "dag" | "matrix").then(|| view! {
                                <super::pipeline::PipelineGraph owner=owner.get_untracked() name=name.get_untracked() uuid=uuid.get_untracked() />
                            })}
                            <RunOverview r=r.clone() />
                            <Metrics owner=owner.get_untracked() name=name.get_untracked() uuid=uuid.get_untracked() r=r.clone() />
                            <Files owner=owner.get_untracked() name=name.get_untracked() uuid=uuid.get_untracked() />
                            <super::lineage::Lineage owner=owner.get_untracked() name=name.get_untracked() uuid=uuid.get_untracked() />
                            <LiveLogs owner=owner.get_untracked() name=name.get_untracked() uuid=uuid.get_untracked() done=r.done />
                            <details class="card">
                                <summary><strong>"Spec"</strong> <span class="muted">" — as submitted and as compiled"</span></summary>
                                <h3>"Polyaxonfile"</h3>
                                <pre class="code" id="run-content">{r.content.clone()}</pre>
                                <h3>"Kubernetes manifest (what a cluster would run)"</h3>
                                <pre class="code">{r.manifest.clone()}</pre>
                            </details>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// Subscribes to the server-sent events `kind` of `url` until the stream ends or the page goes. The stream
/// opens once the page has hydrated: an early event would re-render a part that is still hydrating.
#[cfg(feature = "hydrate")]
fn stream(url: String, kind: &'static str, on_event: impl Fn(String) + 'static) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let source = StoredValue::new(None::<send_wrapper::SendWrapper<web_sys::EventSource>>);
    let on_event = send_wrapper::SendWrapper::new(on_event);
    set_timeout(
        move || {
            let Ok(es) = web_sys::EventSource::new(&url) else { return };
            let on_message =
                Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                    let data = e.data().as_string().unwrap_or_default();
                    // A line still being redrawn (a progress bar): marked with the `\r` that redrew it.
                    on_event(if e.type_() == "progress" { format!("\r{data}") } else { data })
                });
            let es2 = es.clone();
            let on_end = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| es2.close());
            let _ = es.add_event_listener_with_callback(kind, on_message.as_ref().unchecked_ref());
            let _ = es.add_event_listener_with_callback("progress", on_message.as_ref().unchecked_ref());
            let _ = es.add_event_listener_with_callback("end", on_end.as_ref().unchecked_ref());
            on_message.forget();
            on_end.forget();
            // The page may be gone already.
            if source.try_set_value(Some(send_wrapper::SendWrapper::new(es.clone()))).is_some() {
                es.close();
            }
        },
        std::time::Duration::from_millis(200),
    );
    on_cleanup(move || {
        if let Some(Some(es)) = source.try_get_value() {
            es.close();
        }
    });
}

/// Whether the run reused an earlier run's results, under which key, and why (or what changed).
#[component]
fn CacheNote(hit: bool, key: String, why: Vec<String>) -> impl IntoView {
    view! {
        <dt>"Cache"</dt>
        <dd id="run-cache" data-hit=hit.to_string()>
            {if hit { "reused" } else { "computed" }} " "
            {(!key.is_empty()).then(|| view! { <code title=key.clone()>{key.chars().take(12).collect::<String>()}</code> })}
            <ul class="muted">{why.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
        </dd>
    }
}

/// Why the run waits or died, with the scheduler's own words beside Myelin's.
#[component]
fn Diagnosis(d: api_types::Diagnosis) -> impl IntoView {
    let more: Vec<api_types::Reason> = d.findings.iter().skip(1).cloned().collect();
    view! {
        <section class="card diagnosis" id="run-diagnosis" data-code=d.code.clone()>
            <h3>"Why " <code>{d.code.clone()}</code></h3>
            <p class="why">{d.message.clone()}</p>
            {(!more.is_empty()).then(|| view! {
                <ul>{more.into_iter().map(|f| view! { <li><code>{f.code}</code> " " {f.message}</li> }).collect_view()}</ul>
            })}
            {d.scheduler_message.clone().map(|m| view! {
                <p class="muted">"The scheduler said: " <q id="run-scheduler-message">{m}</q></p>
            })}
        </section>
    }
}

#[component]
fn RunOverview(r: crate::server::runs::RunView) -> impl IntoView {
    let reused = r.cache.as_ref().is_some_and(|c| c.hit);
    let image_note =
        if r.executor == "local" { " (recorded; the local executor does not pull images)" } else { "" };
    view! {
        {r.diagnosis.clone().map(|d| view! { <Diagnosis d=d /> })}
        <div class="grid2">
            <section class="card">
                <h3>"Overview"</h3>
                <dl class="facts">
                    <dt>"Status"</dt><dd id="run-status">{r.row.status.clone()}{(!r.message.is_empty()).then(|| format!(" — {}", r.message))}</dd>
                    {r.queue.clone().map(|q| view! { <dt>"Queue"</dt><dd id="run-queue">{q}</dd> })}
                    {r.exit_code.map(|c| view! { <dt>"Exit code"</dt><dd id="run-exit">{c}</dd> })}
                    <dt>"User"</dt><dd>{r.row.user.clone()}</dd>
                    <dt>"Created"</dt><dd>{r.row.created.clone()}</dd>
                    <dt>"Duration"</dt><dd>{r.row.duration.clone()}</dd>
                    <dt>"Image"</dt><dd><code>{r.image.clone()}</code> <span class="muted">{image_note}</span></dd>
                    {r.image_id.clone().map(|d| view! { <dt>"Digest"</dt><dd><code id="run-digest">{d}</code></dd> })}
                    <dt>"Executor"</dt><dd>{r.executor.clone()}</dd>
                    {r.pipeline.clone().map(|p| view! {
                        <dt>"Pipeline"</dt>
                        <dd id="run-pipeline">"op " <code>{p.op}</code> " of " <a href=p.pipeline.clone()>{p.pipeline[..8].to_string()}</a></dd>
                    })}
                    {r.node.clone().map(|n| view! { <dt>"Node"</dt><dd id="run-node">{n}</dd> })}
                    {r.cache.clone().map(|c| view! { <CacheNote hit=c.hit key=c.key why=c.explanation /> }.into_any())}
                    {(r.retries > 0).then(|| view! { <dt>"Retries"</dt><dd>{r.retries}</dd> })}
                    {r.original.clone().map(|o| view! { <dt>{if reused { "Results of" } else { "Restart of" }}</dt><dd><a href=o.clone()>{o[..8].to_string()}</a></dd> })}
                </dl>
                <h3>"Params"</h3>
                <KeyValues id="run-params" items=r.params.clone() />
                <h3>"Outputs"</h3>
                <KeyValues id="run-outputs" items=r.outputs.clone() />
                <h3>"Logged params"</h3>
                <KeyValues id="run-logged-params" items=r.logged_params.clone() />
                <h3>"Tags"</h3>
                <KeyValues id="run-tags" items=r.tags.clone() />
            </section>
            <section class="card">
                <h3>"Timeline"</h3>
                <ol class="timeline" id="timeline">
                    {r.timeline.iter().map(|s| view! {
                        <li><StatusBadge status=s.status.clone() /> <span class="muted">{s.at.clone()}</span> " " {s.message.clone()}</li>
                    }).collect_view()}
                </ol>
            </section>
        </div>
    }
}

/// The run's log: what is stored, then live lines from the server's event stream while it runs.
#[component]
fn LiveLogs(owner: String, name: String, uuid: String, done: bool) -> impl IntoView {
    let stored = BrowserData::new({
        let (o, n, u) = (owner.clone(), name.clone(), uuid.clone());
        move || run_logs(o.clone(), n.clone(), u.clone())
    });
    let (live, set_live) = signal(Vec::<String>::new());
    let (filter, set_filter) = signal(String::new());
    let stream_url = format!("/api/v1/projects/{owner}/{name}/runs/{uuid}/logs/stream");
    let download = format!("/api/v1/projects/{owner}/{name}/runs/{uuid}/logs");
    #[cfg(feature = "hydrate")]
    if !done {
        Effect::new(move |_| {
            // The stream replays stored lines first; start clean so nothing shows twice.
            set_live.set(Vec::new());
            // A progress bar's line (marked `\r`) is replaced by the next line, as on a terminal.
            stream(stream_url.clone(), "log", move |line| {
                set_live.update(|l| {
                    if l.last().is_some_and(|p| p.starts_with('\r')) {
                        l.pop();
                    }
                    l.push(line)
                })
            });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (stream_url, done, set_live);
    view! {
        <section class="card">
            <div class="row">
                <h3>"Logs"</h3>
                <div class="spacer"></div>
                <input type="search" placeholder="Search logs" id="log-search" on:input=move |e| set_filter.set(event_target_value(&e)) />
                <a class="button small" href=download download="logs.txt">"Download"</a>
            </div>
            {move || match stored.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(got) => {
                    let LogView { text: stored, skipped } = got.unwrap_or_default();
                    let skipped = (skipped > 0).then(|| view! {
                        <p class="muted" id="logs-skipped">
                            "The last MiB of the log; " {crate::server::tracking::human_size(skipped)} " before it are in the download."
                        </p>
                    });
                    view! {
                        {skipped}
                        <pre class="logs" id="logs">
                            {move || {
                                let lines = live.get();
                                let text = if lines.is_empty() { stored.clone() } else { lines.join("\n").replace('\r', "") };
                                let f = filter.get();
                                if f.is_empty() { text } else { text.lines().filter(|l| l.contains(&f)).collect::<Vec<_>>().join("\n") }
                            }}
                        </pre>
                    }
                    .into_any()
                }
            }}
        </section>
    }
}

#[component]
fn KeyValues(id: &'static str, items: Vec<(String, String)>) -> impl IntoView {
    if items.is_empty() {
        return view! { <p class="muted" id=id>"None."</p> }.into_any();
    }
    view! {
        // Rows always inside `<tbody>`: the browser's parser adds one when the server's HTML lacks it, and the
        // page then no longer matches what hydration walks (a panic, and a page whose buttons do nothing).
        <table class="table compact" id=id>
            <tbody>
                {items.into_iter().map(|(k, v)| view! { <tr><td>{k}</td><td><code>{v}</code></td></tr> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The run's metrics: a summary table, then a chart per metric (the first eight; pick others from the table).
#[component]
fn Metrics(owner: String, name: String, uuid: String, r: crate::server::runs::RunView) -> impl IntoView {
    if r.metrics.is_empty() {
        return view! { <section class="card"><h3>"Metrics"</h3><p class="muted" id="run-metrics">"Nothing logged yet. Jobs log with MLflow: "<code>"mlflow.log_metric(\"loss\", v, step=i)"</code>"."</p></section> }.into_any();
    }
    let keys: Vec<String> = r.metrics.iter().map(|m| m.key.clone()).collect();
    let (shown, set_shown) = signal(keys.iter().take(8).cloned().collect::<Vec<_>>());
    let live = !r.done;
    view! {
        <section class="card">
            <h3>"Metrics"</h3>
            <table class="table compact" id="run-metrics">
                <thead><tr><th>"Metric"</th><th>"Last"</th><th>"Min"</th><th>"Max"</th><th>"Step"</th><th>"Points"</th><th></th></tr></thead>
                <tbody>
                {r.metrics.into_iter().map(|m| {
                    let key = m.key.clone();
                    view! { <tr><td>{m.key}</td><td>{m.last}</td><td>{m.min}</td><td>{m.max}</td><td>{m.step}</td><td>{m.points}</td>
                        <td><button class="small" on:click=move |_| set_shown.update(|s| if let Some(i) = s.iter().position(|x| *x == key) { s.remove(i); } else { s.push(key.clone()); })>"chart"</button></td></tr> }
                }).collect_view()}
                </tbody>
            </table>
        </section>
        <div class="charts">
            <For each=move || shown.get() key=|k| k.clone() let:k>
                <crate::components::chart::MetricChart owner=owner.clone() name=name.clone() uuid=uuid.clone() key=k live=live />
            </For>
        </div>
    }
    .into_any()
}
