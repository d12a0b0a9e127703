//! The model registry and its reviews for the browser (`backend::services::registry`): the API's own types,
//! and Markdown already made safe HTML on the server.

use api_types::{AuditTrail, Inbox, ModelDetail, ModelSummary, RegistryPolicy, RequestDetail, VersionDetail};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ctx::{err, require_user, state};
use super::AppError;

#[server]
pub async fn list_models(owner: String, name: String, q: String) -> Result<Vec<ModelSummary>, AppError> {
    let st = state()?;
    let a = super::projects::access(&owner, &name).await?;
    backend::services::registry::catalog::models(&st.db, &a, &q).await.map_err(err)
}

#[server]
pub async fn get_model(owner: String, name: String, model: String) -> Result<ModelDetail, AppError> {
    let st = state()?;
    let a = super::projects::access(&owner, &name).await?;
    backend::services::registry::catalog::model(&st.db, &a, &model).await.map_err(err)
}

#[server]
pub async fn update_model(
    owner: String,
    name: String,
    model: String,
    description: String,
) -> Result<(), AppError> {
    let st = state()?;
    let a = super::projects::access(&owner, &name).await?;
    backend::services::registry::catalog::describe(&st.db, &a, &model, &description).await.map_err(err)?;
    Ok(())
}

#[server]
pub async fn get_version(
    owner: String,
    name: String,
    model: String,
    version: i32,
) -> Result<VersionDetail, AppError> {
    let st = state()?;
    let a = super::projects::access(&owner, &name).await?;
    backend::services::registry::catalog::version(&st.db, &a, &model, version).await.map_err(err)
}

/// Opens a promotion request and goes to its page.
#[server]
pub async fn request_promotion(
    owner: String,
    name: String,
    model: String,
    version: i32,
    alias: String,
    reason: String,
) -> Result<(), AppError> {
    let st = state()?;
    let a = super::projects::access(&owner, &name).await?;
    let me = require_user().await?;
    let r =
        backend::services::registry::review::open(&st.db, &a, &me, &model, version, alias.trim(), &reason)
            .await
            .map_err(err)?;
    leptos_axum::redirect(&format!("/reviews/{}", r.id));
    Ok(())
}

#[server]
pub async fn review_inbox() -> Result<Inbox, AppError> {
    let st = state()?;
    let me = require_user().await?;
    backend::services::registry::inbox::inbox(&st.db, &me).await.map_err(err)
}

/// A request page's data: the request, and its reason and thread as safe HTML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestPage {
    pub detail: RequestDetail,
    pub reason_html: String,
    pub thread_html: Vec<String>,
}

#[server]
pub async fn get_request(id: String) -> Result<RequestPage, AppError> {
    let st = state()?;
    let me = require_user().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| err(backend::Error::NotFound("promotion request")))?;
    let detail = backend::services::registry::review::detail(&st.db, &me, id).await.map_err(err)?;
    let md = backend::markdown::to_html;
    Ok(RequestPage {
        reason_html: md(&detail.request.reason),
        thread_html: detail.thread.iter().map(|e| md(&e.body)).collect(),
        detail,
    })
}

/// `what`: `approve`, `reject`, `comment` or `cancel`.
#[server]
pub async fn review_request(id: String, what: String, body: String) -> Result<(), AppError> {
    use backend::services::registry::review::{self, Decision};
    let st = state()?;
    let me = require_user().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| err(backend::Error::NotFound("promotion request")))?;
    let db = &st.db;
    match what.as_str() {
        "approve" => review::decide(db, &me, id, Decision::Approve, &body).await,
        "reject" => review::decide(db, &me, id, Decision::Reject, &body).await,
        "comment" => review::comment(db, &me, id, &body).await,
        "cancel" => review::cancel(db, &me, id).await,
        other => {
            Err(backend::Error::invalid("what", format!("{other:?}: approve, reject, comment or cancel")))
        }
    }
    .map_err(err)?;
    Ok(())
}

/// A project admin names a model's reviewers: usernames separated by commas or spaces (empty: none).
#[server]
pub async fn set_model_reviewers(
    owner: String,
    name: String,
    model: String,
    reviewers: String,
) -> Result<(), AppError> {
    let st = state()?;
    let a = super::projects::access(&owner, &name).await?;
    let users: Vec<String> = reviewers
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|u| !u.is_empty())
        .map(String::from)
        .collect();
    backend::services::registry::catalog::set_reviewers(&st.db, &a, &model, &users).await.map_err(err)?;
    Ok(())
}

/// Entries of the audit trail the settings page shows (the latest).
pub const AUDIT_SHOWN: u64 = 50;

/// The registry section of a project's settings: its policy and the latest audit entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistryPage {
    pub policy: RegistryPolicy,
    pub audit: AuditTrail,
}

#[server]
pub async fn registry_settings(owner: String, name: String) -> Result<RegistryPage, AppError> {
    use backend::services::registry::{catalog, policy};
    let st = state()?;
    let a = super::projects::access(&owner, &name).await?;
    let p = policy::of(&st.db, a.project.id).await.map_err(err)?;
    let audit = catalog::audit_trail(&st.db, &a, None, Some(AUDIT_SHOWN)).await.map_err(err)?;
    Ok(RegistryPage { policy: catalog::policy_view(&p), audit })
}

/// Sets the project's protected aliases (separated by commas or spaces) and required approvals (admins).
#[server]
pub async fn set_registry_policy(
    owner: String,
    name: String,
    protected: String,
    approvals: i32,
) -> Result<(), AppError> {
    let st = state()?;
    let a = super::projects::access(&owner, &name).await?;
    let p = RegistryPolicy {
        protected_aliases: protected
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        required_approvals: approvals,
    };
    backend::services::registry::catalog::set_policy(&st.db, &a, &p).await.map_err(err)?;
    Ok(())
}
