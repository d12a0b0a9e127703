//! The CodeMirror side, in the browser: mounting `window.MyelinEditor`, compiling each change, completion.

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
    set_checked: leptos::prelude::WriteSignal<super::check::Checked>,
    handle: leptos::prelude::StoredValue<Option<Handle>>,
    library: leptos::prelude::StoredValue<super::check::Context>,
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
        let retry =
            Closure::once_into_js(move || mount(host, text, set_text, set_checked, handle, library, values));
        let _ = win.set_timeout_with_callback_and_timeout_and_arguments_0(retry.unchecked_ref(), 30);
        return;
    }
    host.set_inner_html("");
    let timings = Array::new();
    let _ = Reflect::set(&win, &"__myelinEditorTimings".into(), &timings);
    let push = move |h: &JsValue, checked: &super::check::Checked| {
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
            library.try_with_value(|l| values.try_with_value(|v| super::check::check(&t, l, v))).flatten()
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
        let Some((from, options)) = spec::complete::complete(&t, byte_of(&t, pos as usize)) else {
            return JsValue::NULL;
        };
        let options: Vec<serde_json::Value> =
            options.into_iter().map(|o| serde_json::json!({"label": o, "type": "property"})).collect();
        let answer = serde_json::json!({"from": utf16_of(&t, from), "options": options});
        JSON::parse(&answer.to_string()).unwrap_or(JsValue::NULL)
    });
    let args = [host.into(), JsValue::from_str(&text), on_change.as_ref().clone(), complete.as_ref().clone()];
    if let Some(h) = call(&api, "mount", &args) {
        let Some(checked) =
            library.try_with_value(|l| values.try_with_value(|v| super::check::check(&text, l, v))).flatten()
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
