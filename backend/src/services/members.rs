//! Project members and their roles. Admins manage members; only owners grant or take away ownership; a
//! project always keeps at least one owner.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Set,
};
use serde::{Deserialize, Serialize};

use super::projects::ProjectAccess;
use crate::domain::Role;
use crate::entities::{member, user};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Member {
    pub username: String,
    pub role: Role,
    pub added_at: chrono::DateTime<Utc>,
}

pub async fn list(db: &DatabaseConnection, a: &ProjectAccess) -> Result<Vec<Member>> {
    let rows: Vec<(member::Model, Option<user::Model>)> = member::Entity::find()
        .filter(member::Column::ProjectId.eq(a.project.id))
        .find_also_related(user::Entity)
        .order_by_asc(member::Column::CreatedAt)
        .all(db)
        .await?;
    rows.into_iter()
        .filter_map(|(m, u)| u.map(|u| (m, u)))
        .map(|(m, u)| {
            Ok(Member { username: u.username, role: Role::parse(&m.role)?, added_at: m.created_at })
        })
        .collect()
}

async fn target(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    username: &str,
) -> Result<(user::Model, Option<member::Model>)> {
    let u = super::accounts::user_by_name(db, username).await?.ok_or(Error::NotFound("user"))?;
    let m = member::Entity::find_by_id((a.project.id, u.id)).one(db).await?;
    Ok((u, m))
}

async fn owners(db: &DatabaseConnection, a: &ProjectAccess) -> Result<u64> {
    Ok(member::Entity::find()
        .filter(member::Column::ProjectId.eq(a.project.id))
        .filter(member::Column::Role.eq(Role::Owner.as_str()))
        .count(db)
        .await?)
}

fn last_owner() -> Error {
    Error::Conflict("a project needs at least one owner; make someone else owner first".into())
}

pub async fn add(db: &DatabaseConnection, a: &ProjectAccess, username: &str, role: Role) -> Result<Member> {
    a.require(if role == Role::Owner { Role::Owner } else { Role::Admin })?;
    let (u, existing) = target(db, a, username).await?;
    if existing.is_some() {
        return Err(Error::AlreadyExists(format!("{} is already a member", u.username)));
    }
    let held = member::Entity::find().filter(member::Column::ProjectId.eq(a.project.id)).count(db).await?;
    crate::domain::room_for_one("members of a project", held)?;
    let m = member::ActiveModel {
        project_id: Set(a.project.id),
        user_id: Set(u.id),
        role: Set(role.as_str().into()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    let detail = serde_json::json!({"user": u.username, "role": role.as_str()});
    super::audit::record(db, &a.actor, "member.add", &a.path(), detail, None).await;
    Ok(Member { username: u.username, role, added_at: m.created_at })
}

pub async fn set_role(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    username: &str,
    role: Role,
) -> Result<Member> {
    let (u, existing) = target(db, a, username).await?;
    let m = existing.ok_or(Error::NotFound("member"))?;
    let current = Role::parse(&m.role)?;
    a.require(if role == Role::Owner || current == Role::Owner { Role::Owner } else { Role::Admin })?;
    if current == Role::Owner && role != Role::Owner && owners(db, a).await? <= 1 {
        return Err(last_owner());
    }
    let added_at = m.created_at;
    let mut row: member::ActiveModel = m.into();
    row.role = Set(role.as_str().into());
    row.update(db).await?;
    crate::auth::cache::revoke();
    let detail = serde_json::json!({"user": u.username, "from": current.as_str(), "to": role.as_str()});
    super::audit::record(db, &a.actor, "member.role", &a.path(), detail, None).await;
    Ok(Member { username: u.username, role, added_at })
}

/// Removes a member; anyone may leave a project themselves.
pub async fn remove(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    caller: &user::Model,
    username: &str,
) -> Result<()> {
    let (u, existing) = target(db, a, username).await?;
    let m = existing.ok_or(Error::NotFound("member"))?;
    let current = Role::parse(&m.role)?;
    if u.id != caller.id {
        a.require(if current == Role::Owner { Role::Owner } else { Role::Admin })?;
    }
    if current == Role::Owner && owners(db, a).await? <= 1 {
        return Err(last_owner());
    }
    member::Entity::delete_by_id((a.project.id, u.id)).exec(db).await?;
    crate::auth::cache::revoke();
    let detail = serde_json::json!({"user": u.username, "role": current.as_str()});
    super::audit::record(db, &a.actor, "member.remove", &a.path(), detail, None).await;
    Ok(())
}
