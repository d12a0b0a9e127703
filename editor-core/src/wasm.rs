//! The browser module's surface: JSON strings in and out (the page keeps its own types; this module is loaded
//! by the editor page only, after the page has hydrated).

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::{Edit, Session};

thread_local! {
    static SESSION: RefCell<Session> = RefCell::new(Session::default());
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
}

/// `components`: `[[name, version, text], …]` newest first; `policy`: the project's pod policy.
#[wasm_bindgen]
pub fn set_context(components: &str, policy: &str) -> Result<(), JsError> {
    let components = serde_json::from_str(components)?;
    let policy = serde_json::from_str(policy)?;
    SESSION.with_borrow_mut(|s| s.set_context(components, policy));
    Ok(())
}

/// `params`: `[[name, value], …]`. Answers a `Checked`.
#[wasm_bindgen]
pub fn check(text: &str, params: &str) -> Result<String, JsError> {
    let params: Vec<(String, String)> = serde_json::from_str(params)?;
    Ok(SESSION.with_borrow(|s| json(&s.check(text, &params))))
}

/// `edit`: an `Edit`. Answers `{"Ok": text}` or `{"Err": [reason, …]}`.
#[wasm_bindgen]
pub fn edit(text: &str, edit: &str) -> Result<String, JsError> {
    let edit: Edit = serde_json::from_str(edit)?;
    Ok(SESSION.with_borrow(|s| json(&s.edit(text, &edit))))
}

/// `[[name, value], …]`.
#[wasm_bindgen]
pub fn params_of(text: &str, op: &str) -> String {
    SESSION.with_borrow(|s| json(&s.params_of(text, op)))
}

/// A `Completion`, or `null`.
#[wasm_bindgen]
pub fn complete(text: &str, utf16: u32) -> String {
    SESSION.with_borrow(|s| json(&s.complete(text, utf16 as usize)))
}
