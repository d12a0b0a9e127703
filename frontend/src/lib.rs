//! The browser entry point: hydrates the server-rendered pages.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazy: a page's route chunk (app/src/pages/lazy.rs) loads before its view hydrates.
    leptos::mount::hydrate_lazy(app::App);
}
