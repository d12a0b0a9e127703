//! The browser entry point: hydrates the server-rendered pages.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazy routes (app/src/pages/lazy.rs): a page's chunk loads before its view hydrates, so the page answers
    // clicks only once the whole tree has hydrated. `data-hydrated` on `<body>` says so, then (the browser tests
    // and the benchmarks wait for it); an effect in the app would run as soon as the shell had hydrated.
    // (`hydrate_from_async` sets up Leptos' executor itself.)
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::tachys::dom::body();
        leptos::mount::hydrate_from_async(body.clone(), app::App).await.forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
