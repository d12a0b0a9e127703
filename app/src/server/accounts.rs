//! Sign-up, log-in, log-out, password and API tokens for the browser.

use leptos::prelude::*;

use super::AppError;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ctx::{err, require_user, session, state};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub username: String,
    pub is_admin: bool,
    /// Promotion requests awaiting this user's review (the count beside "Reviews").
    pub awaiting_reviews: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
}

#[server]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    let st = state()?;
    let Some(u) = super::ctx::user().await? else { return Ok(None) };
    let awaiting_reviews =
        backend::services::registry::inbox::awaiting_count(&st.db, &u).await.map_err(err)?;
    Ok(Some(Me { username: u.username, is_admin: u.is_admin, awaiting_reviews }))
}

/// Where to go after signing in: only local paths, never another site.
#[cfg(feature = "ssr")]
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/projects"
    }
}

#[server]
pub async fn log_in(username: String, password: String, next: String) -> Result<(), AppError> {
    let st = state()?;
    let backend::api::extract::ClientIp(ip) =
        leptos_axum::extract().await.map_err(|e| err(backend::Error::Internal(e.to_string())))?;
    if !st.limiter.allow(&username.trim().to_ascii_lowercase(), ip) {
        return Err(err(backend::Error::RateLimited));
    }
    let u = backend::services::accounts::log_in(&st.db, &username, &password, ip).await.map_err(err)?;
    backend::auth::session::log_in(&session().await?, &u).await.map_err(err)?;
    leptos_axum::redirect(safe_next(&next));
    Ok(())
}

#[server]
pub async fn sign_up(username: String, password: String, invitation: String) -> Result<(), AppError> {
    let st = state()?;
    let invitation = Some(invitation.as_str()).filter(|i| !i.is_empty());
    let u =
        backend::services::accounts::sign_up(&st.db, &username, &password, invitation).await.map_err(err)?;
    backend::auth::session::log_in(&session().await?, &u).await.map_err(err)?;
    leptos_axum::redirect("/projects");
    Ok(())
}

#[server]
pub async fn log_out() -> Result<(), AppError> {
    backend::auth::session::log_out(&session().await?).await.map_err(err)?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    let st = state()?;
    let u = require_user().await?;
    let u = backend::services::accounts::change_password(&st.db, &u, &current_password, &new_password)
        .await
        .map_err(err)?;
    backend::auth::session::log_in(&session().await?, &u).await.map_err(err)?;
    Ok(())
}

#[server]
pub async fn list_tokens() -> Result<Vec<Token>, AppError> {
    let st = state()?;
    let u = require_user().await?;
    let rows = backend::services::tokens::list(&st.db, &u).await.map_err(err)?;
    Ok(rows
        .into_iter()
        .map(|t| Token {
            id: t.id.to_string(),
            name: t.name,
            prefix: t.prefix,
            created_at: t.created_at.format("%Y-%m-%d %H:%M").to_string(),
            last_used_at: t.last_used_at.map(|d| d.format("%Y-%m-%d %H:%M").to_string()),
            expires_at: t.expires_at.map(|d| d.format("%Y-%m-%d %H:%M").to_string()),
        })
        .collect())
}

/// Returns the new token's secret: the only time it is shown.
/// A new token; `expires` is a number of days, or empty for "until revoked".
#[server]
pub async fn create_token(name: String, expires: String) -> Result<String, AppError> {
    let st = state()?;
    let u = require_user().await?;
    let days = match expires.trim() {
        "" => None,
        d => {
            Some(d.parse().map_err(|_| err(backend::Error::invalid("expires_in_days", "a number of days")))?)
        }
    };
    Ok(backend::services::tokens::create_expiring(&st.db, &u, &name, days).await.map_err(err)?.token)
}

#[server]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    let st = state()?;
    let u = require_user().await?;
    let id = id.parse().map_err(|_| err(backend::Error::NotFound("token")))?;
    backend::services::tokens::revoke(&st.db, &u, id).await.map_err(err)
}

/// The session-changing actions, shared so the navigation bar refreshes when any of them completes.
#[derive(Clone, Copy)]
pub struct SessionActions {
    pub log_in: ServerAction<LogIn>,
    pub sign_up: ServerAction<SignUp>,
    pub log_out: ServerAction<LogOut>,
    pub me: Resource<Result<Option<Me>, AppError>>,
}

impl SessionActions {
    pub fn provide() -> Self {
        let log_in = ServerAction::<LogIn>::new();
        let sign_up = ServerAction::<SignUp>::new();
        let log_out = ServerAction::<LogOut>::new();
        let me = Resource::new(
            move || (log_in.version().get(), sign_up.version().get(), log_out.version().get()),
            |_| current_user(),
        );
        let s = Self { log_in, sign_up, log_out, me };
        provide_context(s);
        s
    }

    pub fn get() -> Self {
        expect_context::<Self>()
    }
}

/// Whether sign-up is open; `None` for callers who are not site administrators.
#[server]
pub async fn site_signup_open() -> Result<Option<bool>, AppError> {
    let st = state()?;
    let u = require_user().await?;
    if !u.is_admin {
        return Ok(None);
    }
    Ok(Some(backend::services::settings::get(&st.db).await.map_err(err)?.signup_open))
}

#[server]
pub async fn set_signup(signup: String) -> Result<(), AppError> {
    let st = state()?;
    let u = require_user().await?;
    let settings = backend::services::settings::SiteSettings { signup_open: signup == "open" };
    backend::services::settings::set_by(&st.db, &u, &settings).await.map_err(err)?;
    Ok(())
}

/// An account as the site admin's list shows it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct UserRow {
    pub username: String,
    pub is_admin: bool,
    pub disabled: bool,
}

/// Every account (site admins only).
#[server]
pub async fn list_users() -> Result<Vec<UserRow>, AppError> {
    let st = state()?;
    let u = require_user().await?;
    let rows = backend::services::accounts::list_users(&st.db, &u).await.map_err(err)?;
    Ok(rows
        .into_iter()
        .map(|i| UserRow { username: i.username, is_admin: i.is_admin, disabled: i.disabled })
        .collect())
}

/// Disables (`disabled = "true"`) or re-enables an account; its sessions and tokens die at once.
#[server]
pub async fn set_user_disabled(username: String, disabled: String) -> Result<(), AppError> {
    let st = state()?;
    let u = require_user().await?;
    backend::services::accounts::set_disabled(&st.db, &u, &username, disabled == "true")
        .await
        .map_err(err)?;
    Ok(())
}

/// One event of the audit log as the admin's page shows it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
}

/// The newest audit events (site admins only).
#[server]
pub async fn audit_events(action: String) -> Result<Vec<AuditRow>, AppError> {
    let st = state()?;
    let u = require_user().await?;
    let q = backend::services::audit::AuditQuery {
        action: Some(action).filter(|a| !a.is_empty()),
        limit: Some(100),
        ..Default::default()
    };
    let rows = backend::services::audit::list(&st.db, &u, &q).await.map_err(err)?;
    Ok(rows
        .into_iter()
        .map(|e| AuditRow {
            at: e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail: if e.detail == serde_json::json!({}) { String::new() } else { e.detail.to_string() },
            ip: e.ip.unwrap_or_default(),
        })
        .collect())
}

/// An invitation as the admin's list shows it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct InvitationRow {
    pub id: String,
    pub note: String,
    pub state: String,
    pub expires_at: String,
}

/// A new single-use sign-up link (shown once).
#[server]
pub async fn create_invitation(note: String) -> Result<String, AppError> {
    let st = state()?;
    let u = require_user().await?;
    let made = backend::services::invitations::create(&st.db, &u, &note, None).await.map_err(err)?;
    Ok(format!("{}/signup?invitation={}", st.public_url.trim_end_matches('/'), made.token))
}

/// The site's invitations (site admins only).
#[server]
pub async fn list_invitations() -> Result<Vec<InvitationRow>, AppError> {
    let st = state()?;
    let u = require_user().await?;
    let rows = backend::services::invitations::list(&st.db, &u).await.map_err(err)?;
    Ok(rows
        .into_iter()
        .map(|i| InvitationRow {
            id: i.id.to_string(),
            note: i.note,
            state: i.state,
            expires_at: i.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        })
        .collect())
}

#[server]
pub async fn revoke_invitation(id: String) -> Result<(), AppError> {
    let st = state()?;
    let u = require_user().await?;
    let id = id.parse().map_err(|_| err(backend::Error::NotFound("invitation")))?;
    backend::services::invitations::revoke(&st.db, &u, id).await.map_err(err)
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    #[test]
    fn after_login_only_local_paths_are_followed() {
        assert_eq!(super::safe_next("/alice/p/settings"), "/alice/p/settings");
        for evil in ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)"] {
            assert_eq!(super::safe_next(evil), "/projects", "{evil}");
        }
    }
}
