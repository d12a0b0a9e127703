//! The editor tab: CodeMirror 6 (the `editor/` bundle, served as `/pkg/editor.js`) with `spec` compiling every
//! change in the browser (WASM, no server round-trip): diagnostics underlined at their line and column and listed
//! in a problems pane, the compiled manifests, the resolved params and, for DAGs, the graph. Run submits the text
//! as the CLI would and opens the run.

use leptos::prelude::*;

use super::pipeline::Drawing;
use super::runs::project_key;
use crate::components::forms::{action_error, FormError};
use crate::server::components::{preflight, project_components, save_component, SavedComponent};
use crate::server::pipelines::{GraphEdge, GraphNode, GraphView};
use crate::server::runs::SubmitRun;

fn library_of(saved: &[SavedComponent]) -> spec::library::Library {
    spec::library::Library::new(saved.iter().map(|c| (c.name.clone(), c.version.clone(), c.content.clone())))
}

const EXAMPLE: &str = "kind: component\nname: train\ninputs:\n- {name: lr, type: float, value: 0.01, isOptional: true}\nrun:\n  kind: job\n  container:\n    image: python:3.12-slim\n    command: [python, -c]\n    args: [\"print('training with lr={{ lr }}')\"]\n";

/// A diagnostic as the editor shows it (1-based line and column; 0 when unknown).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    pub line: u32,
    pub column: u32,
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
}

/// What the compiler says of the text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Checked {
    pub problems: Vec<Problem>,
    pub manifest: String,
    pub params: Vec<(String, String)>,
    pub graph: Option<GraphView>,
}

/// A declared input, for the params form: `(name, type, default, required)`.
pub type Field = (String, String, String, bool);

/// The file's declared inputs (a component's, or an operation's component's).
pub fn inputs_of(text: &str) -> Vec<Field> {
    let Ok(doc) = spec::yaml::parse("f", text) else { return vec![] };
    let v = doc.value;
    let list = v.get("inputs").or_else(|| v.get("component").and_then(|c| c.get("inputs")));
    list.and_then(|l| l.as_array())
        .into_iter()
        .flatten()
        .filter_map(|i| spec::io::Io::from_value(i).ok())
        .map(|io| {
            let default = match &io.value {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            (io.name, io.kind, default, !io.optional)
        })
        .collect()
}

/// Compiles `text` as the server would (without its connections catalog), `hubRef`s resolved against the
/// project's components, with the params set in the form.
pub fn check(text: &str, library: &spec::library::Library, params: &[(String, String)]) -> Checked {
    let out = spec::compile(&spec::Options {
        files: vec![spec::Source { name: "polyaxonfile.yaml".into(), text: text.into() }],
        params: params
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
        catalog: Default::default(),
        refs: library,
        run_uuid: None,
        execution: Default::default(),
    });
    let problems = out
        .errors
        .iter()
        .map(|d| (d, "error"))
        .chain(out.warnings.iter().map(|d| (d, "warning")))
        .map(|(d, severity)| Problem {
            line: d.line,
            column: d.column,
            severity,
            code: d.code,
            message: d.message.clone(),
        })
        .collect();
    let mut docs: Vec<String> = out.run.manifests.iter().map(spec::yaml::to_string).collect();
    for op in &out.run.ops {
        docs.extend(
            op.run.manifests.iter().map(|m| format!("# op {}\n{}", op.name, spec::yaml::to_string(m))),
        );
    }
    if let Some(m) = &out.run.matrix {
        for (i, c) in m.children.iter().enumerate() {
            docs.extend(
                c.manifests.iter().map(|x| format!("# matrix child {i}\n{}", spec::yaml::to_string(x))),
            );
        }
    }
    let params = out.run.params.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
    let graph = (!out.run.ops.is_empty()).then(|| graph_of(&out.run.ops));
    Checked { problems, manifest: docs.join("---\n"), params, graph }
}

fn graph_of(ops: &[spec::compile::Op]) -> GraphView {
    let index = |n: &str| ops.iter().position(|o| o.name == n);
    let links: Vec<(usize, usize)> = ops
        .iter()
        .enumerate()
        .flat_map(|(i, o)| o.upstream.iter().filter_map(move |u| index(u).map(|j| (j, i))))
        .collect();
    let placed = spec::layout::layout(ops.len(), &links, 80.0);
    let edges = links
        .iter()
        .map(|&(j, i)| {
            let feeds: Vec<String> = ops[i]
                .feeds
                .iter()
                .filter(|(_, up, _)| *up == ops[j].name)
                .map(|(param, _, key)| format!("{param} <- {key}"))
                .collect();
            GraphEdge { from: placed.positions[j], to: placed.positions[i], label: feeds.join(", ") }
        })
        .collect();
    let nodes = ops
        .iter()
        .zip(&placed.positions)
        .map(|(o, (x, y))| GraphNode {
            name: o.name.clone(),
            run: String::new(),
            status: "created".into(),
            cache_hit: false,
            cache_why: String::new(),
            detail: o.trigger.replace("all_succeeded", ""),
            x: *x,
            y: *y,
        })
        .collect();
    GraphView {
        kind: "dag".into(),
        status: "created".into(),
        done: false,
        progress: format!("{} ops", ops.len()),
        nodes,
        edges,
        width: placed.width,
        height: placed.height,
    }
}

#[component]
pub fn EditorTab() -> impl IntoView {
    let (owner, name) = project_key();
    let (text, set_text) = signal(EXAMPLE.to_string());
    let (checked, set_checked) = signal(check(EXAMPLE, &Default::default(), &[]));
    // Values set in the params form (name, value); empty means the file's default.
    let values = StoredValue::new(Vec::<(String, String)>::new());
    // The project's saved components: `hubRef`s resolve against them, and the DAG pane adds ops from them.
    let saved = Resource::new(move || (owner.get(), name.get()), |(o, n)| project_components(o, n));
    let library = StoredValue::new(spec::library::Library::default());
    let recheck = move || {
        let c = library.with_value(|l| values.with_value(|v| check(&text.get_untracked(), l, v)));
        set_checked.set(c);
    };
    let fields = Memo::new(move |_| inputs_of(&text.get()));
    // The cluster's word on the file (a Kubernetes server's pre-flight check), asked once typing pauses.
    let cluster = Action::new(move |content: &String| {
        preflight(owner.get_untracked(), name.get_untracked(), content.clone())
    });
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let t = text.get();
        set_timeout(
            move || {
                // The page may be gone by now.
                let clean = checked.try_with_untracked(|c| c.problems.iter().all(|p| p.severity != "error"));
                if clean == Some(true) && text.try_with_untracked(|now| *now == t) == Some(true) {
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
        if let Some(Ok(list)) = saved.get() {
            library.set_value(library_of(&list));
            let mut latest: Vec<(String, String)> = Vec::new();
            for c in &list {
                if !latest.iter().any(|(n, _)| *n == c.name) {
                    latest.push((c.name.clone(), c.version[..spec::library::SHORT].to_string()));
                }
            }
            set_versions.set(latest);
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
            browser::mount(el.into(), text.get_untracked(), set_text, set_checked, jump, library, values);
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (set_text, set_checked);
    let problems = move || checked.with(|c| c.problems.clone());
    // Graph editing: click an op, then another to make the first its upstream; or delete the selected op.
    let selected = RwSignal::new(None::<String>);
    let edit_note = RwSignal::new(String::new());
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
            let t = text.get_untracked();
            if spec::edit::depends_on(&t, &op, &up) {
                apply(spec::edit::remove_dependency(&t, &op, &up));
            } else {
                apply(spec::edit::add_dependency(&t, &op, &up));
            }
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
            apply(spec::edit::remove_op(&text.get_untracked(), &op));
        }
    };
    let (param_name, set_param_name) = signal(String::new());
    let (param_value, set_param_value) = signal(String::new());
    let set_op_param = move |_| {
        if let Some(op) = selected.get_untracked() {
            apply(spec::edit::set_param(
                &text.get_untracked(),
                &op,
                &param_name.get_untracked(),
                &param_value.get_untracked(),
            ));
        }
    };
    let op_params = move || {
        let op = selected.get()?;
        let list: Vec<(String, String)> = spec::edit::params_of(&text.get(), &op)
            .into_iter()
            .map(|(k, v)| (k, v.get("value").map(|x| x.to_string()).unwrap_or_else(|| v.to_string())))
            .collect();
        Some((op, list))
    };
    let add_op = move |_| {
        let (from, op) = (add_from.get_untracked(), add_name.get_untracked());
        if from.is_empty() || op.is_empty() {
            edit_note.set("pick a component and name the op".into());
            return;
        }
        apply(spec::edit::add_op(&text.get_untracked(), &op, &from));
    };
    let errors = move || checked.with(|c| c.problems.iter().filter(|p| p.severity == "error").count());
    let head = view! {
        <div class="run-head">
            <h3>"Polyaxonfile"</h3>
            <span class="muted" id="editor-status">
                {move || match errors() {
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
                <button type="submit" class="primary" id="editor-run" prop:disabled=move || { errors() > 0 }>"Run"</button>
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
        <script src="/pkg/editor.js"></script>
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
                            Some(Err(e)) => crate::server::error_message(&e),
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

/// The CodeMirror side, in the browser.
mod browser {
    /// The mounted editor (`window.MyelinEditor.mount`'s answer).
    #[derive(Clone)]
    pub struct Handle(#[cfg(feature = "hydrate")] send_wrapper::SendWrapper<wasm_bindgen::JsValue>);

    impl Handle {
        pub fn jump_to(&self, _line: u32, _column: u32) {
            #[cfg(feature = "hydrate")]
            call(&self.0, "jumpTo", &[_line.into(), _column.into()]);
        }

        /// Replaces the text (an edit made in the graph); the editor reports it as a change.
        pub fn set_text(&self, _text: &str) {
            #[cfg(feature = "hydrate")]
            call(&self.0, "setText", &[_text.into()]);
        }
    }

    #[cfg(feature = "hydrate")]
    fn call(
        target: &wasm_bindgen::JsValue,
        method: &str,
        args: &[wasm_bindgen::JsValue],
    ) -> Option<wasm_bindgen::JsValue> {
        use wasm_bindgen::JsCast;
        use web_sys::js_sys::{Array, Function, Reflect};
        let f: Function = Reflect::get(target, &method.into()).ok()?.dyn_into().ok()?;
        f.apply(target, &args.iter().collect::<Array>()).ok()
    }

    /// UTF-16 offset (CodeMirror's positions) -> byte offset, and back.
    #[cfg(feature = "hydrate")]
    fn byte_of(text: &str, utf16: usize) -> usize {
        let mut units = 0;
        for (i, c) in text.char_indices() {
            if units >= utf16 {
                return i;
            }
            units += c.len_utf16();
        }
        text.len()
    }

    #[cfg(feature = "hydrate")]
    fn utf16_of(text: &str, byte: usize) -> usize {
        text[..byte.min(text.len())].encode_utf16().count()
    }

    /// Mounts the editor once `/pkg/editor.js` has loaded; every change is compiled here and its diagnostics
    /// handed back. Each keystroke's cost (compile + diagnostics) goes to `window.__myelinEditorTimings`.
    #[cfg(feature = "hydrate")]
    pub fn mount(
        host: web_sys::HtmlElement,
        text: String,
        set_text: leptos::prelude::WriteSignal<String>,
        set_checked: leptos::prelude::WriteSignal<super::Checked>,
        handle: leptos::prelude::StoredValue<Option<Handle>>,
        library: leptos::prelude::StoredValue<spec::library::Library>,
        values: leptos::prelude::StoredValue<Vec<(String, String)>>,
    ) {
        use leptos::prelude::*;
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::{JsCast, JsValue};
        use web_sys::js_sys::{Array, Reflect, JSON};
        let Some(win) = web_sys::window() else { return };
        let api = Reflect::get(&win, &"MyelinEditor".into()).unwrap_or(JsValue::UNDEFINED);
        if api.is_undefined() {
            // The script is still loading: try again shortly.
            let retry = Closure::once_into_js(move || {
                mount(host, text, set_text, set_checked, handle, library, values)
            });
            let _ = win.set_timeout_with_callback_and_timeout_and_arguments_0(retry.unchecked_ref(), 30);
            return;
        }
        host.set_inner_html("");
        let timings = Array::new();
        let _ = Reflect::set(&win, &"__myelinEditorTimings".into(), &timings);
        let push = move |h: &JsValue, checked: &super::Checked| {
            let json = serde_json::to_string(&checked.problems).unwrap_or_else(|_| "[]".into());
            if let Ok(list) = JSON::parse(&json) {
                call(h, "setDiagnostics", &[list]);
            }
        };
        let latest = StoredValue::new_local(None::<JsValue>);
        let on_change = Closure::<dyn FnMut(String)>::new(move |t: String| {
            let perf = web_sys::window().and_then(|w| w.performance());
            let t0 = perf.as_ref().map_or(0.0, |p| p.now());
            // The page may be gone (the editor outlives it until collected).
            let Some(checked) =
                library.try_with_value(|l| values.try_with_value(|v| super::check(&t, l, v))).flatten()
            else {
                return;
            };
            latest.with_value(|h| {
                if let Some(h) = h {
                    push(h, &checked)
                }
            });
            if let Some(p) = &perf {
                timings.push(&JsValue::from_f64(p.now() - t0));
            }
            set_text.try_set(t);
            set_checked.try_set(checked);
        });
        let complete = Closure::<dyn FnMut(String, u32) -> JsValue>::new(move |t: String, pos: u32| {
            let Some((from, options)) = spec::schema::complete(&t, byte_of(&t, pos as usize)) else {
                return JsValue::NULL;
            };
            let options: Vec<serde_json::Value> =
                options.into_iter().map(|o| serde_json::json!({"label": o, "type": "property"})).collect();
            let answer = serde_json::json!({"from": utf16_of(&t, from), "options": options});
            JSON::parse(&answer.to_string()).unwrap_or(JsValue::NULL)
        });
        let args =
            [host.into(), JsValue::from_str(&text), on_change.as_ref().clone(), complete.as_ref().clone()];
        if let Some(h) = call(&api, "mount", &args) {
            let Some(checked) =
                library.try_with_value(|l| values.try_with_value(|v| super::check(&text, l, v))).flatten()
            else {
                return;
            };
            push(&h, &checked);
            latest.set_value(Some(h.clone()));
            handle.try_set_value(Some(Handle(send_wrapper::SendWrapper::new(h))));
        }
        on_change.forget();
        complete.forget();
    }
}
