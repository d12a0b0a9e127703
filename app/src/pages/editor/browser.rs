//! The editor's two browser parts, loaded by this page only and after it has hydrated: CodeMirror
//! (`editor.js`) and the compiler module (`editor_core`, its own wasm). Every change is compiled by the module and
//! its diagnostics handed back to CodeMirror. The other pages' bundle carries neither.

use editor_core::{Checked, Edit};

use crate::server::components::ProjectForEditor;

/// The compiler the page's handlers call. In the browser: the editor's wasm module once loaded. On the server
/// (where no handler runs; the first render calls `editor_core` directly): `editor_core` itself.
#[derive(Clone)]
pub struct Core(
    #[cfg(feature = "hydrate")] send_wrapper::SendWrapper<wasm_bindgen::JsValue>,
    #[cfg(not(feature = "hydrate"))] std::sync::Arc<std::sync::Mutex<editor_core::Session>>,
);

impl Core {
    /// The compiler the page starts with: the server's own; none in the browser until `load` brings it.
    pub fn native() -> Option<Self> {
        #[cfg(not(feature = "hydrate"))]
        return Some(Self(Default::default()));
        #[cfg(feature = "hydrate")]
        None
    }
}

#[cfg(not(feature = "hydrate"))]
impl Core {
    fn session(&self) -> std::sync::MutexGuard<'_, editor_core::Session> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_context(&self, setup: &ProjectForEditor) {
        let components =
            setup.components.iter().map(|c| (c.name.clone(), c.version.clone(), c.content.clone())).collect();
        self.session().set_context(components, setup.policy.clone());
    }

    pub fn check(&self, text: &str, params: &[(String, String)]) -> Checked {
        self.session().check(text, params)
    }

    pub fn edit(&self, text: &str, edit: &Edit) -> Result<String, Vec<String>> {
        self.session().edit(text, edit)
    }

    pub fn params_of(&self, text: &str, op: &str) -> Vec<(String, String)> {
        self.session().params_of(text, op)
    }
}

#[cfg(feature = "hydrate")]
impl Core {
    /// Calls one of the module's functions (JSON strings in and out).
    fn call(&self, method: &str, args: &[wasm_bindgen::JsValue]) -> Result<String, String> {
        let answer = call(&self.0, method, args).map_err(|e| format!("the compiler module failed: {e}"))?;
        answer.as_string().ok_or_else(|| format!("the compiler module's {method} answered no text"))
    }

    fn answer<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        args: &[wasm_bindgen::JsValue],
    ) -> Result<T, String> {
        let text = self.call(method, args)?;
        serde_json::from_str(&text).map_err(|e| format!("the compiler module's {method}: {e}"))
    }

    pub fn set_context(&self, setup: &ProjectForEditor) {
        let components: Vec<(&str, &str, &str)> = setup
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.version.as_str(), c.content.as_str()))
            .collect();
        let components = serde_json::to_string(&components).unwrap_or_default();
        let policy = serde_json::to_string(&setup.policy).unwrap_or_default();
        // It answers nothing; only a throw is news.
        if let Err(e) = call(&self.0, "set_context", &[components.into(), policy.into()]) {
            leptos::logging::error!("the compiler module refused the project's components: {e}");
        }
    }

    pub fn check(&self, text: &str, params: &[(String, String)]) -> Checked {
        let params = serde_json::to_string(params).unwrap_or_default();
        self.answer("check", &[text.into(), params.into()]).unwrap_or_else(|message| Checked {
            problems: vec![editor_core::Problem {
                line: 0,
                column: 0,
                severity: "error".into(),
                code: "editor".into(),
                message,
            }],
            ..Default::default()
        })
    }

    pub fn edit(&self, text: &str, edit: &Edit) -> Result<String, Vec<String>> {
        let edit = serde_json::to_string(edit).unwrap_or_default();
        self.answer("edit", &[text.into(), edit.into()]).unwrap_or_else(|e| Err(vec![e]))
    }

    pub fn params_of(&self, text: &str, op: &str) -> Vec<(String, String)> {
        self.answer("params_of", &[text.into(), op.into()]).unwrap_or_default()
    }
}

/// The mounted CodeMirror (`window.MyelinEditor.mount`'s answer).
#[derive(Clone)]
pub struct Handle(#[cfg(feature = "hydrate")] send_wrapper::SendWrapper<wasm_bindgen::JsValue>);

impl Handle {
    pub fn jump_to(&self, _line: u32, _column: u32) {
        #[cfg(feature = "hydrate")]
        let _ = call(&self.0, "jumpTo", &[_line.into(), _column.into()]);
    }

    /// Replaces the text (an edit made in the graph); the editor reports it as a change.
    pub fn set_text(&self, _text: &str) {
        #[cfg(feature = "hydrate")]
        let _ = call(&self.0, "setText", &[_text.into()]);
    }
}

#[cfg(feature = "hydrate")]
fn call(
    target: &wasm_bindgen::JsValue,
    method: &str,
    args: &[wasm_bindgen::JsValue],
) -> Result<wasm_bindgen::JsValue, String> {
    use wasm_bindgen::JsCast;
    use web_sys::js_sys::{Array, Function, Reflect};
    let f: Function = Reflect::get(target, &method.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| format!("no function {method}"))?;
    f.apply(target, &args.iter().collect::<Array>()).map_err(|e| {
        e.dyn_ref::<web_sys::js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|| format!("{e:?}"))
    })
}

/// Waits `ms` milliseconds.
#[cfg(feature = "hydrate")]
async fn sleep(ms: i32) {
    let promise = web_sys::js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Loads CodeMirror (unless an earlier visit did) and the compiler module; answers `MyelinEditor` and the core.
#[cfg(feature = "hydrate")]
pub async fn load() -> Result<(wasm_bindgen::JsValue, Core), String> {
    use wasm_bindgen::JsValue;
    use web_sys::js_sys::{Promise, Reflect};
    let urls = crate::site::EditorAssets::from_page().ok_or("the page names no editor assets")?;
    let win = web_sys::window().ok_or("no window")?;
    let doc = win.document().ok_or("no document")?;
    let api = || Reflect::get(&win, &"MyelinEditor".into()).ok().filter(|v| !v.is_undefined());
    if api().is_none() && doc.get_element_by_id("myelin-editor-js").is_none() {
        let script = doc.create_element("script").map_err(|e| format!("{e:?}"))?;
        let _ = script.set_attribute("id", "myelin-editor-js");
        let _ = script.set_attribute("src", &urls.editor);
        doc.body().ok_or("no body")?.append_child(&script).map_err(|e| format!("{e:?}"))?;
    }
    // The script may be one an earlier visit to this page inserted: wait for what it defines (30 s at most).
    let mut waited = 0;
    let api = loop {
        if let Some(api) = api() {
            break api;
        }
        if waited >= 30_000 {
            return Err(format!("the editor's script ({}) did not load", urls.editor));
        }
        sleep(20).await;
        waited += 20;
    };
    let loading =
        call(&api, "loadCore", &[JsValue::from_str(&urls.core), JsValue::from_str(&urls.core_wasm)])?;
    let module = wasm_bindgen_futures::JsFuture::from(Promise::from(loading))
        .await
        .map_err(|e| format!("the compiler module ({}) did not load: {e:?}", urls.core))?;
    Ok((api, Core(send_wrapper::SendWrapper::new(module))))
}

/// Mounts CodeMirror in `host`; every change is compiled by `core` and its diagnostics handed back. Each
/// keystroke's cost (compile + diagnostics) goes to `window.__myelinEditorTimings`.
#[cfg(feature = "hydrate")]
pub fn mount(
    api: &wasm_bindgen::JsValue,
    host: web_sys::HtmlElement,
    core: Core,
    text: String,
    set_text: leptos::prelude::WriteSignal<String>,
    set_checked: leptos::prelude::WriteSignal<Checked>,
    handle: leptos::prelude::StoredValue<Option<Handle>>,
    values: leptos::prelude::StoredValue<Vec<(String, String)>>,
) {
    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsValue;
    use web_sys::js_sys::{Array, Reflect, JSON};
    let Some(win) = web_sys::window() else { return };
    host.set_inner_html("");
    let timings = Array::new();
    let _ = Reflect::set(&win, &"__myelinEditorTimings".into(), &timings);
    let push = move |h: &JsValue, checked: &Checked| {
        let json = serde_json::to_string(&checked.problems).unwrap_or_else(|_| "[]".into());
        if let Ok(list) = JSON::parse(&json) {
            let _ = call(h, "setDiagnostics", &[list]);
        }
    };
    let latest = StoredValue::new_local(None::<JsValue>);
    let module = core.0.clone();
    let first = values.with_value(|v| core.check(&text, v));
    let on_change = Closure::<dyn FnMut(String)>::new(move |t: String| {
        let perf = web_sys::window().and_then(|w| w.performance());
        let t0 = perf.as_ref().map_or(0.0, |p| p.now());
        // The page may be gone (the editor outlives it until collected).
        let Some(checked) = values.try_with_value(|v| core.check(&t, v)) else { return };
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
    let args = [host.into(), JsValue::from_str(&text), on_change.as_ref().clone(), module.take()];
    if let Ok(h) = call(api, "mount", &args) {
        push(&h, &first);
        latest.set_value(Some(h.clone()));
        handle.try_set_value(Some(Handle(send_wrapper::SendWrapper::new(h))));
    }
    set_checked.set(first);
    on_change.forget();
}
