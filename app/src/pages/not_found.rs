use leptos::prelude::*;
use leptos_meta::Title;

/// Shown for unknown addresses and for projects the caller may not see (the same answer, so private names
/// don't leak).
#[component]
pub fn NotFound(#[prop(into)] what: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found · Myelin" />
        <div class="empty not-found">
            <h1>"Not found"</h1>
            <p class="muted">{format!("This {what} does not exist, or you do not have access to it.")}</p>
            <a class="button" href="/projects">
                "Back to projects"
            </a>
        </div>
    }
}
