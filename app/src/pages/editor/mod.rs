//! The editor tab: CodeMirror 6 (the `editor/` bundle) with the compiler (`editor_core`, its own wasm module)
//! compiling every change in the browser, no server round-trip: diagnostics underlined at their line and column
//! and listed in a problems pane, the compiled manifests, the resolved params and, for DAGs, the graph. Both
//! parts load on this page only, after it has hydrated. Run submits the text as the CLI would and opens the run.

use leptos::prelude::*;

use crate::components::page_data::{page_resource, page_value};

use super::pipeline::Drawing;
use super::runs::project_key;
use crate::components::forms::{action_error, FormError};
use crate::server::components::{editor_setup, preflight, save_component, ProjectForEditor};
use crate::server::runs::SubmitRun;
use editor_core::{Checked, Edit, EXAMPLE};

mod browser;

/// What the page first shows of the example: the server compiles it, and the browser takes the server's answer
/// while hydrating (it has no compiler until the editor's module loads). A page reached by a link inside the app
/// starts pending.
fn first_check() -> Checked {
    #[cfg(feature = "ssr")]
    return editor_core::check(EXAMPLE, &Default::default(), &[]);
    #[cfg(not(feature = "ssr"))]
    Checked { pending: true, ..Default::default() }
}

#[component]
pub fn EditorTab() -> impl IntoView {
    let (owner, name) = project_key();
    let (text, set_text) = signal(EXAMPLE.to_string());
    let (checked, set_checked) = signal(page_value(first_check));
    // Values set in the params form (name, value); empty means the file's default.
    let values = StoredValue::new(Vec::<(String, String)>::new());
    // The project's saved components (`hubRef`s resolve against them, and the DAG pane adds ops from them) and
    // its pod policy.
    let saved = page_resource(move || (owner.get(), name.get()), |(o, n)| editor_setup(o, n));
    let setup = StoredValue::new(None::<ProjectForEditor>);
    // The compiler: the browser's once loaded; on the server, its own.
    let core = StoredValue::new(browser::Core::native());
    let recheck = move || {
        let c =
            core.with_value(|c| c.as_ref().map(|c| values.with_value(|v| c.check(&text.get_untracked(), v))));
        if let Some(c) = c {
            set_checked.set(c);
        }
    };
    let fields = Memo::new(move |_| checked.with(|c| c.inputs.clone()));
    // The cluster's word on the file (a Kubernetes server's pre-flight check), asked once typing pauses.
    let cluster = Action::new(move |content: &String| {
        let params = values.with_value(|v| serde_json::to_string(v).unwrap_or_default());
        preflight(owner.get_untracked(), name.get_untracked(), content.clone(), params)
    });
    // Bumped when a param changes: the cluster is asked again with the form's values.
    let (asked, set_asked) = signal(0u32);
    #[cfg(not(feature = "hydrate"))]
    let _ = asked;
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let t = text.get();
        let n = asked.get();
        set_timeout(
            move || {
                // The page may be gone by now.
                let clean = checked.try_with_untracked(|c| c.problems.iter().all(|p| p.severity != "error"));
                let same = text.try_with_untracked(|now| *now == t) == Some(true)
                    && asked.try_get_untracked() == Some(n);
                if clean == Some(true) && same {
                    cluster.dispatch(t);
                }
            },
            std::time::Duration::from_millis(600),
        );
    });
    let cluster_note = move || match cluster.value().get() {
        Some(Ok(Some((code, message)))) => Some((code, message)),
        _ => None,
    };
    let (versions, set_versions) = signal(Vec::<(String, String)>::new());
    Effect::new(move |_| {
        if let Some(Ok(project)) = saved.get() {
            core.with_value(|c| c.as_ref().map(|c| c.set_context(&project)));
            let mut latest: Vec<(String, String)> = Vec::new();
            for c in &project.components {
                if !latest.iter().any(|(n, _)| *n == c.name) {
                    latest.push((c.name.clone(), c.version[..spec::library::SHORT].to_string()));
                }
            }
            set_versions.set(latest);
            setup.set_value(Some(project));
            recheck();
        }
    });
    let save = Action::new(move |(component, content): &(String, String)| {
        save_component(owner.get_untracked(), name.get_untracked(), component.clone(), content.clone())
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            saved.refetch();
        }
    });
    let (save_name, set_save_name) = signal(String::new());
    let (add_from, set_add_from) = signal(String::new());
    let (add_name, set_add_name) = signal(String::new());
    let submit = ServerAction::<SubmitRun>::new();
    let host = NodeRef::<leptos::html::Div>::new();
    // Thread-safe storage (the server renders this page on any worker thread): the browser-only handle inside
    // is wrapped in a SendWrapper, and on the server it stays `None`.
    let jump = StoredValue::new(None::<browser::Handle>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(el) = host.get() {
            leptos::task::spawn_local(async move {
                match browser::load().await {
                    Ok((api, c)) => {
                        setup.with_value(|s| s.as_ref().map(|s| c.set_context(s)));
                        // The page may be gone by now.
                        if core.try_set_value(Some(c.clone())).is_none() {
                            browser::mount(
                                &api,
                                el.into(),
                                c,
                                text.get_untracked(),
                                set_text,
                                set_checked,
                                jump,
                                values,
                            );
                        }
                    }
                    Err(why) => {
                        set_checked.try_set(Checked {
                            problems: vec![editor_core::Problem {
                                line: 0,
                                column: 0,
                                severity: "error".into(),
                                code: "editor".into(),
                                message: why,
                            }],
                            ..Default::default()
                        });
                    }
                }
            });
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (set_text, host);
    let problems = move || checked.with(|c| c.problems.clone());
    // Graph editing: click an op, then another to make the first its upstream; or delete the selected op.
    let selected = RwSignal::new(None::<String>);
    let edit_note = RwSignal::new(String::new());
    let edit = move |e: Edit| {
        let t = text.get_untracked();
        core.with_value(|c| c.as_ref().map(|c| c.edit(&t, &e)))
            .unwrap_or_else(|| Err(vec!["the editor is still loading".into()]))
    };
    let apply = move |result: Result<String, Vec<String>>| match result {
        Ok(new) => {
            jump.with_value(|h| {
                if let Some(h) = h {
                    h.set_text(&new)
                }
            });
            edit_note.set(String::new());
        }
        Err(why) => edit_note.set(format!("refused: {}", why.join("; "))),
    };
    let pick = Callback::new(move |op: String| match selected.get_untracked() {
        Some(up) if up != op => {
            selected.set(None);
            // Clicking an existing edge's ends again removes it.
            apply(edit(Edit::ToggleDependency { op, upstream: up }));
        }
        Some(_) => selected.set(None),
        None => {
            edit_note.set(format!("{op} selected: click the op that should run after it (again to disconnect), set its params, or delete it"));
            selected.set(Some(op));
        }
    });
    let delete = move |_| {
        if let Some(op) = selected.get_untracked() {
            selected.set(None);
            apply(edit(Edit::RemoveOp { op }));
        }
    };
    let (param_name, set_param_name) = signal(String::new());
    let (param_value, set_param_value) = signal(String::new());
    let set_op_param = move |_| {
        if let Some(op) = selected.get_untracked() {
            apply(edit(Edit::SetParam {
                op,
                name: param_name.get_untracked(),
                value: param_value.get_untracked(),
            }));
        }
    };
    let op_params = move || {
        let op = selected.get()?;
        let t = text.get();
        let list = core.with_value(|c| c.as_ref().map(|c| c.params_of(&t, &op))).unwrap_or_default();
        Some((op, list))
    };
    let add_op = move |_| {
        let (from, op) = (add_from.get_untracked(), add_name.get_untracked());
        if from.is_empty() || op.is_empty() {
            edit_note.set("pick a component and name the op".into());
            return;
        }
        apply(edit(Edit::AddOp { name: op, hub_ref: from }));
    };
    let errors = move || checked.with(|c| c.problems.iter().filter(|p| p.severity == "error").count());
    let head = view! {
        <div class="run-head">
            <h3>"Polyaxonfile"</h3>
            <span class="muted" id="editor-status">
                {move || match errors() {
                    _ if checked.with(|c| c.pending) => "loading the compiler…".to_string(),
                    0 => "compiles".to_string(),
                    n => format!("{n} error(s)"),
                }}
            </span>
            <div class="spacer"></div>
            <ActionForm action=submit>
                <input type="hidden" name="owner" value=move || owner.get() />
                <input type="hidden" name="name" value=move || name.get() />
                <input type="hidden" name="content" prop:value=move || text.get() />
                <input type="hidden" name="params" prop:value=move || {
                    checked.track();
                    values.with_value(|v| v.iter().filter(|(_, x)| !x.is_empty()).map(|(k, x)| format!("{k}={x}")).collect::<Vec<_>>().join("\n"))
                } />
                <button type="submit" class="primary" id="editor-run" prop:disabled=move || { errors() > 0 || checked.with(|c| c.pending) }>"Run"</button>
            </ActionForm>
        </div>
        <FormError error=action_error(move || submit.value().get()) />
    }
    .into_any();
    let problem_list = move || {
        let list = problems();
        if list.is_empty() {
            return view! { <li class="muted">"No problems."</li> }.into_any();
        }
        list.into_iter()
            .map(|p| {
                let (line, column) = (p.line, p.column);
                view! {
                    <li class=format!("problem {}", p.severity) data-line=line.to_string()
                        on:click=move |_| jump.with_value(|h| if let Some(h) = h { h.jump_to(line, column) })>
                        <code>{format!("{line}:{column}")}</code> " " <strong>{p.code}</strong> " " {p.message.clone()}
                    </li>
                }
            })
            .collect_view()
            .into_any()
    };
    let side = view! {
        <section class="card editor-side">
            <h3>"Params"</h3>
            <div class="params-form" id="editor-params-form">
                {move || fields.get().into_iter().map(|(field, kind, default, required)| {
                    let f = field.clone();
                    view! {
                        <label>
                            {format!("{field} ({kind}{})", if required { ", required" } else { "" })}
                            <input name=format!("param-{field}") placeholder=default
                                on:input=move |e| {
                                    let v = event_target_value(&e);
                                    values.update_value(|vals| match vals.iter_mut().find(|(k, _)| *k == f) {
                                        Some(slot) => slot.1 = v,
                                        None => vals.push((f.clone(), v)),
                                    });
                                    recheck();
                                    set_asked.update(|n| *n += 1);
                                } />
                        </label>
                    }
                }).collect_view()}
            </div>
            <dl class="facts" id="editor-params">
                {move || checked.with(|c| c.params.iter().map(|(k, v)| view! { <dt>{k.clone()}</dt><dd><code>{v.clone()}</code></dd> }).collect_view())}
            </dl>
            {move || checked.with(|c| c.graph.clone()).map(|g| {
                // Fit the pane's width (about 360 px); never enlarge.
                let (fit, _) = signal((360.0 / (g.width + 260.0)).min(1.0));
                view! {
                    <h3>"DAG"</h3>
                    <p class="muted" id="editor-dag-note">
                        {move || edit_note.get()} " "
                        {move || selected.get().map(|_| view! { <button type="button" class="small danger" id="editor-delete-op" on:click=delete>"Delete op"</button> })}
                    </p>
                    <div class="row">
                        <select id="editor-add-component" on:change=move |e| set_add_from.set(event_target_value(&e))>
                            <option value="">"add an op from a component…"</option>
                            {move || versions.get().into_iter().map(|(n, v)| {
                                let r = format!("{n}:{v}");
                                view! { <option value=r.clone()>{r.clone()}</option> }
                            }).collect_view()}
                        </select>
                        <input id="editor-add-name" placeholder="op name" on:input=move |e| set_add_name.set(event_target_value(&e)) />
                        <button type="button" class="small" id="editor-add-op" on:click=add_op>"Add op"</button>
                    </div>
                    {move || op_params().map(|(op, list)| view! {
                        <div class="card op-panel" id="editor-op-panel" data-op=op.clone()>
                            <strong>{format!("Params of {op}")}</strong>
                            <dl class="facts">
                                {list.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd><code>{v}</code></dd> }).collect_view()}
                            </dl>
                            <div class="row">
                                <input id="editor-op-param" placeholder="param" on:input=move |e| set_param_name.set(event_target_value(&e)) />
                                <input id="editor-op-value" placeholder="value" on:input=move |e| set_param_value.set(event_target_value(&e)) />
                                <button type="button" class="small" id="editor-op-set" on:click=set_op_param>"Set"</button>
                            </div>
                        </div>
                    })}
                    <div id="editor-dag"><Drawing g=g base=String::new() zoom=fit on_pick=pick /></div>
                }
            })}
            <h3>"Kubernetes manifests"</h3>
            <pre class="code" id="editor-manifest">{move || checked.with(|c| c.manifest.clone())}</pre>
        </section>
    }
    .into_any();
    view! {
        <div class="editor-layout">
            <section class="card editor-main">
                {head}
                <div id="editor" node_ref=host>
                    // Before the script loads (and without JavaScript) the text is still here.
                    <pre class="code editor-fallback">{move || text.get()}</pre>
                </div>
                <div class="row" id="editor-save-row">
                    <input id="editor-save-name" placeholder="component name" prop:value=move || save_name.get() on:input=move |e| set_save_name.set(event_target_value(&e)) />
                    <button type="button" id="editor-save" on:click=move |_| { save.dispatch((save_name.get_untracked(), text.get_untracked())); }>"Save as component"</button>
                    <span class="muted" id="editor-saved">
                        {move || match save.value().get() {
                            Some(Ok(v)) => format!("saved {v}"),
                            Some(Err(e)) => e.message.clone(),
                            None => String::new(),
                        }}
                    </span>
                </div>
                <h3>"Problems"</h3>
                <ul class="problems" id="editor-problems">
                    {problem_list}
                    {move || cluster_note().map(|(code, message)| {
                        let label = code.clone();
                        view! {
                            <li class="problem warning" id="editor-cluster" data-code=code>
                                <code>"cluster"</code> " " <strong>{label}</strong> " " {message}
                            </li>
                        }
                    })}
                </ul>
            </section>
            {side}
        </div>
    }
}
