//! Project settings: name and description, members and roles, deletion.

use leptos::prelude::*;

use crate::components::page_data::page_resource;
use leptos_router::hooks::use_params_map;

use super::project::ProjectResource;
use super::registry_settings::RegistrySection;
use crate::components::forms::{action_error, ErrorBox, FormError};
use crate::server::projects::{
    list_members, AddMember, ChangeMemberRole, DeleteProject, MemberView, ProjectView, RemoveMember,
    UpdateProject,
};
use crate::server::registry::{registry_settings, RegistryPage, SetRegistryPolicy};

const ROLES: [&str; 4] = ["viewer", "member", "admin", "owner"];

/// The actions of this page, created once so that the members list can refresh after any of them.
#[derive(Clone, Copy)]
struct Actions {
    update: ServerAction<UpdateProject>,
    delete: ServerAction<DeleteProject>,
    add: ServerAction<AddMember>,
    change: ServerAction<ChangeMemberRole>,
    remove: ServerAction<RemoveMember>,
    policy: ServerAction<SetRegistryPolicy>,
}

#[component]
pub fn ProjectSettings() -> impl IntoView {
    let project = expect_context::<ProjectResource>();
    let params = use_params_map();
    let a = Actions {
        update: ServerAction::new(),
        delete: ServerAction::new(),
        add: ServerAction::new(),
        change: ServerAction::new(),
        remove: ServerAction::new(),
        policy: ServerAction::new(),
    };
    // Created here, not inside a Suspend, so server and browser number their resources alike.
    let members = page_resource(
        move || {
            let p = params.read();
            (
                p.get("owner").unwrap_or_default(),
                p.get("project").unwrap_or_default(),
                a.add.version().get() + a.change.version().get() + a.remove.version().get(),
            )
        },
        |(owner, name, _)| list_members(owner, name),
    );
    let registry = page_resource(
        move || {
            let p = params.read();
            (
                p.get("owner").unwrap_or_default(),
                p.get("project").unwrap_or_default(),
                a.policy.version().get(),
            )
        },
        |(owner, name, _)| registry_settings(owner, name),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let p = project.await;
                let list = members.await;
                let registry = registry.await;
                match (p, list, registry) {
                    (Ok(p), Ok(list), Ok(registry)) => view! { <SettingsBody p list registry a /> }.into_any(),
                    (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                        view! { <ErrorBox message=e.message.clone() /> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn SettingsBody(p: ProjectView, list: Vec<MemberView>, registry: RegistryPage, a: Actions) -> impl IntoView {
    let Actions { update, delete, add, change, remove, policy } = a;
    let is_admin = p.can("admin");
    let is_owner = p.can("owner");
    let member_error = move || {
        action_error(move || add.value().get())()
            .or_else(action_error(move || change.value().get()))
            .or_else(action_error(move || remove.value().get()))
    };
    let role = p.role.clone();
    let description = p.description.clone();
    let concurrency = p.concurrency;
    let key = StoredValue::new((p.owner.clone(), p.name.clone()));
    let owner = move || key.with_value(|k| k.0.clone());
    let name = move || key.with_value(|k| k.1.clone());
    view! {
        {(!is_admin)
            .then(|| {
                view! {
                    <p class="notice" id="read-only">
                        {format!("You have read-only access to these settings ({role}).")}
                    </p>
                }
            })}
        <section class="card">
            <h2>"General"</h2>
            <ActionForm action=update>
                <input type="hidden" name="owner" value=owner() />
                <input type="hidden" name="name" value=name() />
                <fieldset disabled=!is_admin>
                    <label>"Name" <input name="new_name" value=name() required maxlength="64" /></label>
                    <label>
                        "Description" <textarea name="description" maxlength="2000" rows="3" prop:value=description></textarea>
                    </label>
                    <label>
                        "Concurrency"
                        <input type="number" name="concurrency" id="concurrency" min="1" max="100" value=concurrency.to_string() />
                        <small class="muted">"How many runs of this project may run at once; the others wait in the queue."</small>
                    </label>
                    <button type="submit" class="primary">"Save"</button>
                </fieldset>
            </ActionForm>
            <FormError error=action_error(move || update.value().get()) />
        </section>
        <section class="card">
            <h2>"Members"</h2>
            <MemberTable p list is_admin change remove />
            {is_admin
                .then(|| {
                    view! {
                        <h3>"Add a member"</h3>
                        <ActionForm action=add>
                            <input type="hidden" name="owner" value=owner() />
                            <input type="hidden" name="name" value=name() />
                            <div class="row">
                                <input name="username" id="member-username" placeholder="username" required />
                                <select name="role" id="member-role">
                                    {ROLES
                                        .iter()
                                        .filter(|r| is_owner || **r != "owner")
                                        .map(|r| view! { <option value=*r selected=*r == "member">{*r}</option> })
                                        .collect_view()}
                                </select>
                                <button type="submit" id="add-member">"Add"</button>
                            </div>
                        </ActionForm>
                    }
                })}
            <FormError error=member_error />
        </section>
        <RegistrySection owner=owner() name=name() is_admin r=registry action=policy />
        {is_owner
            .then(|| {
                view! {
                    <section class="card danger">
                        <h2>"Delete this project"</h2>
                        <p class="muted">"This removes the project and everything in it. Type its name to confirm."</p>
                        <ActionForm action=delete>
                            <input type="hidden" name="owner" value=owner() />
                            <input type="hidden" name="name" value=name() />
                            <div class="row">
                                <input name="confirm" id="delete-confirm" placeholder=name() required />
                                <button type="submit" class="danger" id="delete-project">"Delete project"</button>
                            </div>
                        </ActionForm>
                        <FormError error=action_error(move || delete.value().get()) />
                    </section>
                }
            })}
    }
}

#[component]
fn MemberTable(
    p: ProjectView,
    list: Vec<MemberView>,
    is_admin: bool,
    change: ServerAction<ChangeMemberRole>,
    remove: ServerAction<RemoveMember>,
) -> impl IntoView {
    let is_owner = p.can("owner");
    view! {
        <table class="table" id="members">
            <thead>
                <tr>
                    <th>"User"</th>
                    <th>"Role"</th>
                    <th>"Since"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|m| {
                        let editable = is_admin && (is_owner || m.role != "owner");
                        let key = StoredValue::new((p.owner.clone(), p.name.clone(), m.username.clone()));
                        let (o, n, u) = (
                            move || key.with_value(|k| k.0.clone()),
                            move || key.with_value(|k| k.1.clone()),
                            move || key.with_value(|k| k.2.clone()),
                        );
                        view! {
                            <tr data-member=m.username.clone()>
                                <td>{m.username.clone()}</td>
                                <td>
                                    {if editable {
                                        view! {
                                            <ActionForm action=change>
                                                <input type="hidden" name="owner" value=o() />
                                                <input type="hidden" name="name" value=n() />
                                                <input type="hidden" name="username" value=u() />
                                                <div class="row">
                                                    <select name="role">
                                                        {ROLES
                                                            .iter()
                                                            .filter(|r| is_owner || **r != "owner")
                                                            .map(|r| view! { <option value=*r selected=*r == m.role>{*r}</option> })
                                                            .collect_view()}
                                                    </select>
                                                    <button type="submit" class="small">"Change"</button>
                                                </div>
                                            </ActionForm>
                                        }
                                            .into_any()
                                    } else {
                                        view! { <span class=format!("badge role-{}", m.role)>{m.role.clone()}</span> }.into_any()
                                    }}
                                </td>
                                <td class="muted">{m.added.clone()}</td>
                                <td>
                                    {editable
                                        .then(|| {
                                            view! {
                                                <ActionForm action=remove>
                                                    <input type="hidden" name="owner" value=o() />
                                                    <input type="hidden" name="name" value=n() />
                                                    <input type="hidden" name="username" value=u() />
                                                    <button type="submit" class="small danger">"Remove"</button>
                                                </ActionForm>
                                            }
                                        })}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
