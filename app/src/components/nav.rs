//! The top bar: brand, main links, and who is signed in.

use leptos::prelude::*;

use crate::server::accounts::SessionActions;

#[component]
pub fn Nav(session: SessionActions) -> impl IntoView {
    view! {
        <header class="topbar">
            <a class="brand" href="/projects">
                <span class="logo">"◆"</span>
                "Myelin"
            </a>
            <nav class="topnav">
                <a href="/projects">"Projects"</a>
                <a href="/cluster" id="nav-cluster">"Cluster"</a>
                <a href="/reviews" id="nav-reviews">"Reviews"</a>
            </nav>
            <div class="spacer"></div>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.me.await {
                        Ok(Some(me)) => {
                            let n = me.awaiting_reviews;
                            view! {
                                {(n > 0)
                                    .then(|| {
                                        view! {
                                            <a class="badge count" href="/reviews" id="nav-awaiting" title="Promotion requests awaiting your review">
                                                {format!("{n} to review")}
                                            </a>
                                        }
                                    })}
                                <a class="user" href="/account" id="nav-user">
                                    {me.username}
                                </a>
                                <ActionForm action=session.log_out>
                                    <button class="link" type="submit" id="logout">
                                        "Log out"
                                    </button>
                                </ActionForm>
                            }
                                .into_any()
                        }
                        _ => {
                            view! {
                                <a href="/login">"Log in"</a>
                                <a class="button small" href="/signup">
                                    "Sign up"
                                </a>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </header>
    }
}
