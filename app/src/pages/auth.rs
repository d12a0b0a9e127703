//! Log in and sign up.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::forms::{action_error, FormError};
use crate::server::accounts::SessionActions;

#[component]
pub fn Login() -> impl IntoView {
    let s = SessionActions::get();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/projects".into());
    let error = action_error(move || s.log_in.value().get());
    view! {
        <Title text="Log in · Myelin" />
        <section class="card narrow">
            <h1>"Log in"</h1>
            <ActionForm action=s.log_in>
                <label>
                    "Username" <input name="username" id="username" autocomplete="username" required />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" id="password" autocomplete="current-password" required />
                </label>
                <input type="hidden" name="next" prop:value=next />
                <button type="submit" class="primary" id="submit">
                    "Log in"
                </button>
            </ActionForm>
            <FormError error />
            <p class="muted">"No account yet? " <a href="/signup">"Sign up"</a></p>
        </section>
    }
}

#[component]
pub fn Signup() -> impl IntoView {
    let s = SessionActions::get();
    let error = action_error(move || s.sign_up.value().get());
    let query = use_query_map();
    let invitation = move || query.read().get("invitation").unwrap_or_default();
    view! {
        <Title text="Sign up · Myelin" />
        <section class="card narrow">
            <h1>"Create your account"</h1>
            {move || if invitation().is_empty() {
                view! { <p class="muted">"The first account on a server becomes its administrator. After that, sign-up is open only if an administrator opened it; otherwise ask one for an invitation link."</p> }.into_any()
            } else {
                view! { <p class="notice" id="invited">"You were invited: choose a username and password. The link works once."</p> }.into_any()
            }}
            <ActionForm action=s.sign_up>
                <label>
                    "Username"
                    <input name="username" id="username" autocomplete="username" required maxlength="64"
                        pattern="[a-zA-Z0-9][a-zA-Z0-9_\\-]*" title="letters, digits, - and _" />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" id="password" autocomplete="new-password" required minlength="8" />
                    <small class="muted">"At least 8 characters."</small>
                </label>
                <input type="hidden" name="invitation" prop:value=invitation />
                <button type="submit" class="primary" id="submit">
                    "Sign up"
                </button>
            </ActionForm>
            <FormError error />
            <p class="muted">"Already have an account? " <a href="/login">"Log in"</a></p>
        </section>
    }
}
