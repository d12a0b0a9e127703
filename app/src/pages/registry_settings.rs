//! The model registry's part of a project's settings: protected aliases and required approvals (admins edit,
//! everyone reads), and the latest entries of the audit trail with whether its hash chain holds.

use leptos::prelude::*;

use super::models::when;
use crate::components::forms::{action_error, FormError};
use crate::server::registry::{RegistryPage, SetRegistryPolicy, AUDIT_SHOWN};

#[component]
pub fn RegistrySection(
    owner: String,
    name: String,
    is_admin: bool,
    r: RegistryPage,
    action: ServerAction<SetRegistryPolicy>,
) -> impl IntoView {
    let protected = r.policy.protected_aliases.join(", ");
    let chain = match (r.audit.intact, r.audit.broken_at) {
        (true, _) => view! { <p class="ok" id="audit-chain">"The hash chain holds: no entry was rewritten or removed."</p> }.into_any(),
        (false, at) => view! {
            <p class="error" id="audit-chain">
                {format!("The hash chain breaks at entry {}: an entry was rewritten or removed there.", at.unwrap_or_default())}
            </p>
        }
        .into_any(),
    };
    let rows = r
        .audit
        .entries
        .iter()
        .rev()
        .map(|e| {
            let target = match (&e.alias, e.version) {
                (Some(a), Some(v)) => format!("{} {a} → v{v}", e.model),
                (Some(a), None) => format!("{} {a}", e.model),
                (None, Some(v)) => format!("{} v{v}", e.model),
                (None, None) => e.model.clone(),
            };
            let request = e.request.map(|id| view! { <a href=format!("/reviews/{id}")>"request"</a> });
            view! {
                <tr>
                    <td class="muted">{e.seq}</td>
                    <td class="muted">{when(e.at_ms)}</td>
                    <td>{e.actor.clone()}</td>
                    <td><code>{e.action.clone()}</code></td>
                    <td>{target}</td>
                    <td>{request}</td>
                </tr>
            }
        })
        .collect_view();
    let empty = r.audit.entries.is_empty();
    view! {
        <section class="card" id="registry-policy">
            <h2>"Model registry"</h2>
            <ActionForm action>
                <input type="hidden" name="owner" value=owner />
                <input type="hidden" name="name" value=name />
                <fieldset disabled=!is_admin>
                    <label>
                        "Protected aliases"
                        <input name="protected" id="policy-protected" value=protected maxlength="5000" />
                        <small class="muted">"Separated by commas. A protected alias moves only through an approved promotion request."</small>
                    </label>
                    <label>
                        "Approvals a request needs"
                        <input type="number" name="approvals" id="policy-approvals" min="1" max="10" value=r.policy.required_approvals.to_string() />
                    </label>
                    <button type="submit" class="primary" id="policy-save">"Save"</button>
                </fieldset>
            </ActionForm>
            <FormError error=action_error(move || action.value().get()) />
            <h3>"Audit trail"</h3>
            {chain}
            {if empty {
                view! { <p class="muted" id="audit-trail">"Nothing recorded yet: requests, reviews and alias moves appear here."</p> }.into_any()
            } else {
                view! {
                    <p class="muted">{format!("The latest {AUDIT_SHOWN} entries, newest first; all of them at /api/v1/…/registry/audit.")}</p>
                    <table class="table compact" id="audit-trail">
                        <thead><tr><th>"#"</th><th>"When"</th><th>"Who"</th><th>"What"</th><th>"Model"</th><th></th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
