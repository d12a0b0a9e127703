//! The account page: password and personal API tokens.

use leptos::prelude::*;

use crate::components::page_data::page_resource;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::components::forms::{action_error, EmptyState, ErrorBox, FormError};
use crate::server::accounts::{
    audit_events, list_invitations, list_tokens, list_users, site_signup_open, ChangePassword,
    CreateInvitation, CreateToken, RevokeInvitation, RevokeToken, SessionActions, SetSignup, SetUserDisabled,
};

#[component]
pub fn Account() -> impl IntoView {
    let session = SessionActions::get();
    let password = ServerAction::<ChangePassword>::new();
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = page_resource(move || (create.version().get(), revoke.version().get()), |_| list_tokens());
    let new_token = move || create.value().get().and_then(|r| r.ok());
    let password_ok = move || matches!(password.value().get(), Some(Ok(())));
    let set_signup = ServerAction::<SetSignup>::new();
    let signup = page_resource(move || set_signup.version().get(), |_| site_signup_open());
    view! {
        <Title text="Account · Myelin" />
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match session.me.await {
                    Ok(Some(me)) => view! { <h1>{format!("Account: {}", me.username)}</h1> }.into_any(),
                    _ => view! { <Redirect path="/login?next=/account" /> }.into_any(),
                }
            })}
        </Transition>
        <section class="card">
            <h2>"Personal API tokens"</h2>
            <p class="muted">
                "Use a token with the CLI (" <code>"myelin login --token …"</code> ") or as "
                <code>"Authorization: Bearer …"</code> "."
            </p>
            <ActionForm action=create>
                <div class="row">
                    <input name="name" id="token-name" placeholder="token name, e.g. laptop" required maxlength="100" />
                    <select name="expires" id="token-expires" title="when the token stops working">
                        <option value="">"Never expires"</option>
                        <option value="30">"Expires in 30 days"</option>
                        <option value="90">"Expires in 90 days"</option>
                        <option value="365">"Expires in a year"</option>
                    </select>
                    <button type="submit" class="primary" id="create-token">"Create token"</button>
                </div>
            </ActionForm>
            <FormError error=action_error(move || create.value().get()) />
            {move || {
                new_token()
                    .map(|t| {
                        view! {
                            <div class="notice" id="new-token">
                                <p>"Copy this token now; it will not be shown again."</p>
                                <code class="secret">{t}</code>
                            </div>
                        }
                    })
            }}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) if list.is_empty() => {
                            view! { <EmptyState title="No tokens">"Create one for the CLI or scripts."</EmptyState> }.into_any()
                        }
                        Ok(list) => {
                            view! {
                                <table class="table" id="tokens">
                                    <thead>
                                        <tr>
                                            <th>"Name"</th>
                                            <th>"Token"</th>
                                            <th>"Created"</th>
                                            <th>"Last used"</th>
                                            <th>"Expires"</th>
                                            <th></th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list
                                            .into_iter()
                                            .map(|t| {
                                                view! {
                                                    <tr>
                                                        <td>{t.name}</td>
                                                        <td><code>{format!("{}…", t.prefix)}</code></td>
                                                        <td class="muted">{t.created_at}</td>
                                                        <td class="muted">{t.last_used_at.unwrap_or_else(|| "never".into())}</td>
                                                        <td class="muted">{t.expires_at.unwrap_or_else(|| "never".into())}</td>
                                                        <td>
                                                            <ActionForm action=revoke>
                                                                <input type="hidden" name="id" value=t.id />
                                                                <button type="submit" class="small danger">"Revoke"</button>
                                                            </ActionForm>
                                                        </td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }
                        Err(e) if e.code == "unauthenticated" => ().into_any(),
                        Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <section class="card">
            <h2>"Change password"</h2>
            <ActionForm action=password>
                <label>
                    "Current password"
                    <input type="password" name="current_password" autocomplete="current-password" required />
                </label>
                <label>
                    "New password"
                    <input type="password" name="new_password" autocomplete="new-password" required minlength="8" />
                </label>
                <button type="submit" class="primary">"Change password"</button>
            </ActionForm>
            <FormError error=action_error(move || password.value().get()) />
            {move || password_ok().then(|| view! { <p class="notice">"Password changed. Other sessions were signed out."</p> })}
        </section>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                signup
                    .await
                    .ok()
                    .flatten()
                    .map(|open| {
                        view! {
                            <section class="card" id="site-settings">
                                <h2>"Site settings"</h2>
                                <p class="muted">"You are a site administrator."</p>
                                <ActionForm action=set_signup>
                                    <div class="row">
                                        <label for="signup">"New accounts"</label>
                                        <select name="signup" id="signup">
                                            <option value="open" selected=open>"Anyone may sign up"</option>
                                            <option value="closed" selected=!open>"Sign-up closed (admins create accounts)"</option>
                                        </select>
                                        <button type="submit">"Save"</button>
                                    </div>
                                </ActionForm>
                                <FormError error=action_error(move || set_signup.value().get()) />
                                <Invitations />
                                <Users />
                                <AuditLog />
                            </section>
                        }
                    })
            })}
        </Transition>
    }
}

/// Single-use sign-up links for when sign-up is closed (site admins).
#[component]
fn Invitations() -> impl IntoView {
    let create = ServerAction::<CreateInvitation>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let rows =
        page_resource(move || (create.version().get(), revoke.version().get()), |_| list_invitations());
    let link = move || create.value().get().and_then(|r| r.ok());
    view! {
        <h3>"Invitations"</h3>
        <p class="muted">"A link lets one person sign up while sign-up is closed. It works once and expires after 72 hours."</p>
        <ActionForm action=create>
            <div class="row">
                <input name="note" id="invitation-note" placeholder="who it is for (optional)" maxlength="200" />
                <button type="submit" id="create-invitation">"Create invitation link"</button>
            </div>
        </ActionForm>
        <FormError error=action_error(move || create.value().get()) />
        {move || link().map(|l| view! {
            <p class="notice" id="invitation-link">"Send this link (shown once): " <code>{l}</code></p>
        })}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match rows.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No invitations yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table id="invitations">
                            <thead><tr><th>"For"</th><th>"State"</th><th>"Expires"</th><th></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|i| {
                                    let id = i.id.clone();
                                    view! {
                                        <tr data-state=i.state.clone()>
                                            <td>{i.note}</td>
                                            <td>{i.state.clone()}</td>
                                            <td>{i.expires_at}</td>
                                            <td>
                                                {(i.state == "pending").then(|| view! {
                                                    <ActionForm action=revoke>
                                                        <input type="hidden" name="id" value=id />
                                                        <button type="submit" class="small">"Revoke"</button>
                                                    </ActionForm>
                                                })}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Every account, with disable / enable (site admins). A disabled account's sessions and tokens stop at once.
#[component]
fn Users() -> impl IntoView {
    let change = ServerAction::<SetUserDisabled>::new();
    let rows = page_resource(move || change.version().get(), |_| list_users());
    view! {
        <h3>"Accounts"</h3>
        <FormError error=action_error(move || change.value().get()) />
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match rows.await {
                    Ok(list) => view! {
                        <table id="users">
                            <thead><tr><th>"User"</th><th>"Role"</th><th>"State"</th><th></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|u| {
                                    let (name, row) = (u.username.clone(), u.username.clone());
                                    let (label, next) = if u.disabled { ("Enable", "false") } else { ("Disable", "true") };
                                    view! {
                                        <tr data-user=row data-disabled=u.disabled.to_string()>
                                            <td>{u.username}</td>
                                            <td>{if u.is_admin { "site admin" } else { "user" }}</td>
                                            <td>{if u.disabled { "disabled" } else { "active" }}</td>
                                            <td>
                                                <ActionForm action=change>
                                                    <input type="hidden" name="username" value=name />
                                                    <input type="hidden" name="disabled" value=next />
                                                    <button type="submit" class="small">{label}</button>
                                                </ActionForm>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The newest 100 events of the audit log, optionally of one action (site admins).
#[component]
fn AuditLog() -> impl IntoView {
    let (action, set_action) = signal(String::new());
    let rows = page_resource(move || action.get(), audit_events);
    view! {
        <h3>"Audit log"</h3>
        <div class="row">
            <label for="audit-action">"Action"</label>
            <select id="audit-action" on:change=move |ev| set_action.set(event_target_value(&ev))>
                <option value="">"all"</option>
                {["auth.login", "auth.login_failed", "token.create", "token.revoke", "member.add", "member.role",
                  "member.remove", "project.delete", "run.delete", "run.force", "site.settings",
                  "invitation.create", "invitation.revoke", "user.disable", "user.enable"]
                    .into_iter()
                    .map(|a| view! { <option value=a>{a}</option> })
                    .collect_view()}
            </select>
        </div>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match rows.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"Nothing recorded yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table id="audit">
                            <thead><tr><th>"When (UTC)"</th><th>"Who"</th><th>"Action"</th><th>"On"</th><th>"Detail"</th><th>"From"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|e| { let tag = e.action.clone(); view! {
                                    <tr data-action=tag>
                                        <td class="muted">{e.at}</td>
                                        <td>{e.actor}</td>
                                        <td><code>{e.action}</code></td>
                                        <td>{e.target}</td>
                                        <td class="muted">{e.detail}</td>
                                        <td class="muted">{e.ip}</td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                }
            })}
        </Transition>
    }
}
