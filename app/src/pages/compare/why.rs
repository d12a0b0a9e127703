//! "Why different": the baseline against one other run in everything that decides a result — params, command and
//! environment, image and code, datasets, upstream values — and what differs in their cache keys' inputs. The
//! other run is the URL's `why` (default: the first run that is not the baseline).

use leptos::prelude::*;

use super::Settings;
use crate::components::browser_data::BrowserData;
use crate::components::forms::ErrorBox;
use crate::components::lines_chart::css;
use crate::server::compare::{explain_difference, Comparison};

#[component]
pub(super) fn WhyDifferent(
    c: StoredValue<Comparison>,
    settings: Memo<Settings>,
    set: Callback<Settings>,
) -> impl IntoView {
    let (owner, name) = super::super::runs::project_key();
    let runs =
        c.with_value(|c| c.runs.iter().map(|r| (r.uuid.to_string(), r.name.clone())).collect::<Vec<_>>());
    if runs.len() < 2 {
        return ().into_any();
    }
    let base = c.with_value(|c| c.baseline);
    let other = Memo::new(move |_| {
        let chosen = settings.with(|s| s.get("why").to_string());
        c.with_value(|c| {
            let ok = |i: usize| i != c.baseline;
            let found = c.runs.iter().position(|r| r.uuid.to_string() == chosen).filter(|i| ok(*i));
            found.or_else(|| (0..c.runs.len()).find(|i| ok(*i))).unwrap_or(0)
        })
    });
    // Loaded in the browser (`components::browser_data`): this part is drawn inside the compare page's `Suspend`.
    let answer = BrowserData::new(move || {
        let (o, n, b) = (owner.get(), name.get(), other.get());
        let (a, b) = c.with_value(|c| (c.runs[c.baseline].uuid.to_string(), c.runs[b].uuid.to_string()));
        explain_difference(o, n, a, b)
    });
    let options = runs
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != base)
        .map(|(i, (uuid, name))| view! { <option value=uuid.clone() selected=move || other.get() == i>{name.clone()}</option> })
        .collect_view();
    view! {
        <section class="card" id="compare-why">
            <div class="row">
                <h3>"Why different"</h3>
                <span class="muted">{format!(" the baseline, {}, against ", runs[base].1)}</span>
                <select id="compare-why-run" on:change=move |e| {
                    let mut s = settings.get_untracked();
                    s.set("why", event_target_value(&e));
                    set.run(s);
                }>{options}</select>
            </div>
            {move || {
                    match answer.get() {
                        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                        Some(Err(e)) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                        Some(Ok(w)) => {
                            let all = settings.with(|s| s.flag("all"));
                            let b = other.get_untracked();
                            let cache = if w.same_key {
                                view! { <p id="why-cache" class="muted">"Their cache keys are the same: one would reuse the other's results."</p> }.into_any()
                            } else {
                                view! {
                                    <div id="why-cache"><strong>"Cache key inputs"</strong>
                                        <ul>{w.cache.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}</ul></div>
                                }.into_any()
                            };
                            let differing: usize = w.sections.iter().map(|s| s.rows.iter().filter(|r| r.differs).count()).sum();
                            view! {
                                <p class="muted" id="why-count">{format!("{differing} differences.")}</p>
                                <table class="table compare" id="why-table">
                                    <thead><tr><th></th>
                                        <th><span class="swatch" style=format!("background:{}", css(base))></span>{w.a.name.clone()}</th>
                                        <th><span class="swatch" style=format!("background:{}", css(b))></span>{w.b.name.clone()}</th>
                                    </tr></thead>
                                    <tbody>
                                        {w.sections.into_iter().map(|s| {
                                            // A file's row opens the two files side by side (the URL's `file`).
                                            let files = (s.title == "Artifacts").then(|| {
                                                let base = format!("/{}/{}", owner.get_untracked(), name.get_untracked());
                                                move |path: &str| {
                                                    let mut s = settings.get_untracked();
                                                    s.set("file", path);
                                                    s.href(&base)
                                                }
                                            });
                                            let rows: Vec<_> = s.rows.into_iter().filter(|r| all || r.differs).collect();
                                            let empty = rows.is_empty().then(|| view! { <tr class="same"><td colspan="3" class="muted">"the same"</td></tr> });
                                            view! {
                                                <tr class="section"><th colspan="3">{s.title.clone()}</th></tr>
                                                {empty}
                                                {rows.into_iter().map(|r| {
                                                    let cell = |v: Option<&Option<String>>| super::table::cell(&v.cloned().flatten());
                                                    view! {
                                                        <tr data-key=r.key.clone() class=if r.differs { "differs" } else { "same" }>
                                                            <th>{match &files {
                                                                Some(href) => view! { <a href=href(&r.key)>{r.key.clone()}</a> }.into_any(),
                                                                None => r.key.clone().into_any(),
                                                            }}</th><td><code>{cell(r.values.first())}</code></td><td><code>{cell(r.values.get(1))}</code></td>
                                                        </tr>
                                                    }
                                                }).collect_view()}
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                {cache}
                                {settings.with(|s| s.get("file").to_string()).chars().next().is_some().then(|| {
                                    let (mut rest, base) = (settings.get_untracked(), format!("/{}/{}", owner.get_untracked(), name.get_untracked()));
                                    let path = rest.get("file").to_string();
                                    rest.set("file", "");
                                    view! { <super::files::FileCompare a=w.a.uuid.to_string() b=w.b.uuid.to_string() path close=rest.href(&base) /> }
                                })}
                            }.into_any()
                        }
                    }
            }}
        </section>
    }
    .into_any()
}
