//! The audit log: log-ins (and failed ones), tokens made and revoked, role changes, deletes, policy overrides
//! and every site-admin action. Recording never fails the action it records (a failed write is logged).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::entities::{audit_event, user};
use crate::error::Result;

/// Who acted: a signed-in user, or (failed log-ins) the name someone tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub name: String,
}

impl From<&user::Model> for Actor {
    fn from(u: &user::Model) -> Self {
        Actor { id: Some(u.id), name: u.username.clone() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub actor: String,
    /// `auth.login`, `auth.login_failed`, `token.create`, `token.revoke`, `member.add`, `member.role`,
    /// `member.remove`, `project.delete`, `project.trash`, `project.restore`, `run.delete`, `run.force`,
    /// `site.settings`, `invitation.create`, `invitation.revoke`, `user.disable`, `user.enable`.
    pub action: String,
    pub target: String,
    pub detail: Value,
    pub ip: Option<String>,
}

/// Appends an event.
pub async fn record(
    db: &DatabaseConnection,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: Value,
    ip: Option<IpAddr>,
) {
    let row = audit_event::ActiveModel {
        id: Set(Uuid::new_v4()),
        at: Set(Utc::now()),
        actor_id: Set(actor.id),
        actor: Set(actor.name.chars().take(64).collect()),
        action: Set(action.into()),
        target: Set(target.chars().take(300).collect()),
        detail: Set(detail.to_string()),
        ip: Set(ip.map(|i| i.to_string())),
    };
    if let Err(e) = row.insert(db).await {
        tracing::error!(error = %e, action, target, "could not write the audit log");
    }
}

/// Which events to read: newest first, before `before`, of one action or actor; at most 500.
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub before: Option<DateTime<Utc>>,
    pub limit: Option<u64>,
}

pub async fn list(db: &DatabaseConnection, admin: &user::Model, q: &AuditQuery) -> Result<Vec<AuditEvent>> {
    super::accounts::require_site_admin(admin)?;
    let mut find = audit_event::Entity::find().order_by_desc(audit_event::Column::At);
    if let Some(a) = q.action.as_deref().filter(|a| !a.is_empty()) {
        find = find.filter(audit_event::Column::Action.eq(a));
    }
    if let Some(a) = q.actor.as_deref().filter(|a| !a.is_empty()) {
        find = find.filter(audit_event::Column::Actor.eq(a.to_ascii_lowercase()));
    }
    if let Some(b) = q.before {
        find = find.filter(audit_event::Column::At.lt(b));
    }
    let rows = find.limit(q.limit.unwrap_or(100).clamp(1, 500)).all(db).await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditEvent {
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            detail: serde_json::from_str(&r.detail).unwrap_or(Value::Null),
            ip: r.ip,
        })
        .collect())
}
