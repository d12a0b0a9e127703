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
/// project): this is on every logging call's path.
pub async fn by_id(db: &DatabaseConnection, u: &user::Model, id: Uuid, need: Role) -> Result<run::Model> {
    let uid = u.id;
    let membership = run::Entity::belongs_to(member::Entity)
        .from(run::Column::ProjectId)
        .to(member::Column::ProjectId)
        .on_condition(move |_, m| Expr::col((m, member::Column::UserId)).eq(uid).into_condition());
    let (r, m) = run::Entity::find_by_id(id)
        .select_also(member::Entity)
        .join(JoinType::LeftJoin, membership.into())
        .one(db)
        .await?
        .ok_or(Error::NotFound("run"))?;
    role_at_least(m, need)?;
    Ok(r)
}

/// A run by id, unauthorized: the caller checks it with `require` (a run token's own scope first), or read it
/// again after a change it was authorized for.
pub async fn load(db: &DatabaseConnection, id: Uuid) -> Result<run::Model> {
    run::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("run"))
}

/// That the caller has at least the `need` role in the project of a run already read (non-members: not found).
pub async fn require(db: &DatabaseConnection, u: &user::Model, r: &run::Model, need: Role) -> Result<()> {
    role_at_least(member::Entity::find_by_id((r.project_id, u.id)).one(db).await?, need)
}

fn role_at_least(m: Option<member::Model>, need: Role) -> Result<()> {
    let m = m.ok_or(Error::NotFound("run"))?;
    if Role::parse(&m.role)? < need {
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
