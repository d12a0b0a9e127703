//! Form helpers: the error of a server action, shown where the user is looking.

use leptos::prelude::*;

use crate::server::AppError;

/// The latest error of an action's result, as text.
pub fn action_error<T, F>(value: F) -> impl Fn() -> Option<String> + Copy
where
    F: Fn() -> Option<Result<T, AppError>> + Copy,
{
    move || value().and_then(|r| r.err()).map(|e| e.message)
}

/// An alert under a form when its last submission failed.
#[component]
pub fn FormError<F>(error: F) -> impl IntoView
where
    F: Fn() -> Option<String> + Copy + Send + Sync + 'static,
{
    move || error().map(|m| view! { <p class="form-error" role="alert">{m}</p> })
}

/// A page-level error box.
#[component]
pub fn ErrorBox(message: String) -> impl IntoView {
    view! { <div class="error-box" role="alert">{message}</div> }
}

/// What an empty list shows instead of a bare table.
#[component]
pub fn EmptyState(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="empty">
            <h2>{title}</h2>
            <div class="muted">{children()}</div>
        </div>
    }
}
