//! Who may reach a run known only by its id (MLflow's run ids): the caller's role in the run's project.
//! Non-members get "not found", so private runs don't leak.

use std::collections::HashSet;

use sea_orm::sea_query::{Expr, IntoCondition};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, JoinType, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::domain::Role;
use crate::entities::{member, run, user};
use crate::error::{Error, Result};

/// A run the caller has at least the `need` role for. One query (the run and the caller's membership of its
/// project).
pub async fn by_id(db: &DatabaseConnection, u: &user::Model, id: Uuid, need: Role) -> Result<run::Model> {
    let (r, m) = run::Entity::find_by_id(id)
        .select_also(member::Entity)
        .join(JoinType::LeftJoin, membership(u.id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("run"))?;
    role_at_least(m.as_ref().map(|m| m.role.as_str()), need)?;
    Ok(r)
}

/// As much of a run as logging to it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunRef {
    pub id: Uuid,
    pub project_id: Uuid,
    /// Deleted through the MLflow API (restorable).
    pub deleted: bool,
}

impl From<&run::Model> for RunRef {
    fn from(r: &run::Model) -> Self {
        Self { id: r.id, project_id: r.project_id, deleted: r.deleted_at.is_some() }
    }
}

/// A run the caller may write to (the member role in its project), as a `RunRef`: one query of four columns,
/// on every logging call's path (behind `auth::cache`).
pub async fn writable(db: &DatabaseConnection, u: &user::Model, id: Uuid) -> Result<RunRef> {
    // The run's id, project, deletion, and the caller's role there.
    type Row = (Uuid, Uuid, Option<chrono::DateTime<chrono::Utc>>, Option<String>);
    let row: Option<Row> = run::Entity::find_by_id(id)
        .select_only()
        .column(run::Column::Id)
        .column(run::Column::ProjectId)
        .column(run::Column::DeletedAt)
        .column_as(Expr::col((member::Entity, member::Column::Role)), "role")
        .join(JoinType::LeftJoin, membership(u.id))
        .into_tuple()
        .one(db)
        .await?;
    let (id, project_id, deleted_at, role) = row.ok_or(Error::NotFound("run"))?;
    role_at_least(role.as_deref(), Role::Member)?;
    Ok(RunRef { id, project_id, deleted: deleted_at.is_some() })
}

/// The caller's membership of a run's project, to join to runs.
fn membership(uid: Uuid) -> sea_orm::RelationDef {
    run::Entity::belongs_to(member::Entity)
        .from(run::Column::ProjectId)
        .to(member::Column::ProjectId)
        .on_condition(move |_, m| Expr::col((m, member::Column::UserId)).eq(uid).into_condition())
        .into()
}

/// A run by id, unauthorized: the caller checks it with `require` (a run token's own scope first), or read it
/// again after a change it was authorized for.
pub async fn load(db: &DatabaseConnection, id: Uuid) -> Result<run::Model> {
    run::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("run"))
}

/// That the caller has at least the `need` role in the project of a run already read (non-members: not found).
pub async fn require(db: &DatabaseConnection, u: &user::Model, r: &run::Model, need: Role) -> Result<()> {
    let m = member::Entity::find_by_id((r.project_id, u.id)).one(db).await?;
    role_at_least(m.as_ref().map(|m| m.role.as_str()), need)
}

fn role_at_least(role: Option<&str>, need: Role) -> Result<()> {
    let role = role.ok_or(Error::NotFound("run"))?;
    if Role::parse(role)? < need {
        return Err(Error::Forbidden(format!("this needs the {} role in the run's project", need.as_str())));
    }
    Ok(())
}

/// Checks that every run of `ids` exists in a project the caller belongs to (and, with `scope`, in that
/// project); any other is "not found". Two queries whatever the number of runs.
pub async fn check_readable(
    db: &DatabaseConnection,
    u: &user::Model,
    ids: &[Uuid],
    scope: Option<Uuid>,
) -> Result<()> {
    let runs = run::Entity::find().filter(run::Column::Id.is_in(ids.to_vec())).all(db).await?;
    let member_of: HashSet<Uuid> = member::Entity::find()
        .filter(member::Column::UserId.eq(u.id))
        .filter(member::Column::ProjectId.is_in(runs.iter().map(|r| r.project_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.project_id)
        .collect();
    for id in ids {
        let ok = runs
            .iter()
            .find(|r| r.id == *id)
            .is_some_and(|r| member_of.contains(&r.project_id) && scope.is_none_or(|p| p == r.project_id));
        if !ok {
            return Err(Error::NotFound("run"));
        }
    }
    Ok(())
}
