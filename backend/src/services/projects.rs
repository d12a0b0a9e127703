//! Projects: who may see and change them, and the changes themselves.

use chrono::Utc;
use sea_orm::sea_query::{Expr, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, FromQueryResult, JoinType,
    Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationTrait, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{bounded_text, ProjectName, Role};
use crate::entities::{member, project, user};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Project {
    pub id: Uuid,
    pub owner: String,
    pub name: String,
    pub description: String,
    /// How many of its runs may run at once; the rest wait in the queue.
    pub concurrency: i32,
    /// The caller's role in this project.
    pub role: Role,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProjectPage {
    pub items: Vec<Project>,
    pub total: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, utoipa::ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProjectSort {
    #[default]
    Updated,
    Created,
    Name,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Text to find in the project name or description.
    pub q: Option<String>,
    pub sort: Option<ProjectSort>,
    /// Ascending order (default: name ascending, dates newest first).
    pub asc: Option<bool>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

/// A caller's standing in one project, found by `access`.
#[derive(Debug, Clone)]
pub struct ProjectAccess {
    pub project: project::Model,
    pub owner: String,
    pub role: Role,
    /// Who is acting (the audit log names them).
    pub actor: super::audit::Actor,
}

impl ProjectAccess {
    /// `owner/name`.
    pub fn path(&self) -> String {
        format!("{}/{}", self.owner, self.project.name)
    }

    /// Members with too low a role get 403 (they know the project exists); others never reach here.
    pub fn require(&self, min: Role) -> Result<()> {
        if self.role >= min {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "this needs the {} role in {}/{}",
                min.as_str(),
                self.owner,
                self.project.name
            )))
        }
    }

    pub fn view(&self) -> Project {
        let p = &self.project;
        Project {
            id: p.id,
            owner: self.owner.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            concurrency: p.concurrency,
            role: self.role,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// The caller's access to `owner/name`. Anonymous callers and non-members get `404`, so private names
/// don't leak.
pub async fn access(
    db: &DatabaseConnection,
    caller: Option<&user::Model>,
    owner: &str,
    name: &str,
) -> Result<ProjectAccess> {
    let not_found = || Error::NotFound("project");
    let caller = caller.ok_or_else(not_found)?;
    let owner_user = super::accounts::user_by_name(db, owner).await?.ok_or_else(not_found)?;
    let project = project::Entity::find()
        .filter(project::Column::OwnerId.eq(owner_user.id))
        .filter(project::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or_else(not_found)?;
    let m = member::Entity::find_by_id((project.id, caller.id)).one(db).await?.ok_or_else(not_found)?;
    Ok(ProjectAccess {
        project,
        owner: owner_user.username,
        role: Role::parse(&m.role)?,
        actor: caller.into(),
    })
}

/// The caller's access to a project known by id (MLflow experiment ids); `404` as for `access`.
pub async fn access_by_id(db: &DatabaseConnection, caller: &user::Model, id: Uuid) -> Result<ProjectAccess> {
    let not_found = || Error::NotFound("project");
    let project = project::Entity::find_by_id(id).one(db).await?.ok_or_else(not_found)?;
    let m = member::Entity::find_by_id((project.id, caller.id)).one(db).await?.ok_or_else(not_found)?;
    let owner = user::Entity::find_by_id(project.owner_id).one(db).await?.ok_or_else(not_found)?;
    Ok(ProjectAccess { project, owner: owner.username, role: Role::parse(&m.role)?, actor: caller.into() })
}

/// `owner/name` of a project (grants in the connections catalog are written that way).
pub async fn path_of(db: &DatabaseConnection, id: Uuid) -> Result<String> {
    let project = project::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("project"))?;
    let owner =
        user::Entity::find_by_id(project.owner_id).one(db).await?.ok_or(Error::NotFound("project"))?;
    Ok(format!("{}/{}", owner.username, project.name))
}

/// The projects the user is a member of.
pub async fn member_of(db: &DatabaseConnection, u: &user::Model) -> Result<Vec<Uuid>> {
    Ok(member::Entity::find()
        .filter(member::Column::UserId.eq(u.id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.project_id)
        .collect())
}

/// A project by `owner/name`, or by a bare name: the caller's own project of that name, else the only one
/// of that name among the caller's projects (MLflow names experiments this way). `None` when none or several.
pub async fn find_by_name(
    db: &DatabaseConnection,
    u: &user::Model,
    name: &str,
) -> Result<Option<ProjectAccess>> {
    if let Some((owner, n)) = name.split_once('/') {
        return Ok(access(db, Some(u), owner, n).await.ok());
    }
    if let Ok(a) = access(db, Some(u), &u.username, name).await {
        return Ok(Some(a));
    }
    let same = project::Entity::find()
        .filter(project::Column::Name.eq(name))
        .filter(project::Column::Id.is_in(member_of(db, u).await?))
        .all(db)
        .await?;
    match same.as_slice() {
        [one] => Ok(access_by_id(db, u, one.id).await.ok()),
        _ => Ok(None),
    }
}

/// Soft-deletes (or restores) a project, as MLflow's experiment delete does; owners only.
pub async fn set_deleted(db: &DatabaseConnection, a: &ProjectAccess, deleted: bool) -> Result<()> {
    a.require(Role::Owner)?;
    project::Entity::update_many()
        .col_expr(project::Column::DeletedAt, Expr::value(deleted.then(Utc::now)))
        .filter(project::Column::Id.eq(a.project.id))
        .exec(db)
        .await?;
    crate::auth::cache::revoke();
    let action = if deleted { "project.trash" } else { "project.restore" };
    super::audit::record(db, &a.actor, action, &a.path(), serde_json::json!({}), None).await;
    Ok(())
}

fn conflict(owner: &str, name: &str) -> Error {
    Error::AlreadyExists(format!("{owner} already has a project named {name:?}"))
}

pub async fn create(
    db: &DatabaseConnection,
    u: &user::Model,
    name: &str,
    description: &str,
) -> Result<Project> {
    let name = ProjectName::parse(name)?;
    let description = bounded_text("description", description, 2000)?;
    let exists = project::Entity::find()
        .filter(project::Column::OwnerId.eq(u.id))
        .filter(project::Column::Name.eq(name.as_str()))
        .count(db)
        .await?;
    if exists > 0 {
        return Err(conflict(&u.username, name.as_str()));
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    let p = project::ActiveModel {
        id: Set(Uuid::new_v4()),
        owner_id: Set(u.id),
        name: Set(name.as_str().to_string()),
        description: Set(description),
        created_at: Set(now),
        updated_at: Set(now),
        concurrency: Set(2),
        deleted_at: Set(None),
        pod_policy: Set(None),
        artifact_bytes: Set(0),
        artifact_files: Set(0),
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => conflict(&u.username, name.as_str()),
        _ => e.into(),
    })?;
    member::ActiveModel {
        project_id: Set(p.id),
        user_id: Set(u.id),
        role: Set(Role::Owner.as_str().into()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(ProjectAccess { project: p, owner: u.username.clone(), role: Role::Owner, actor: u.into() }.view())
}

#[derive(Debug, FromQueryResult)]
struct Row {
    id: Uuid,
    name: String,
    description: String,
    concurrency: i32,
    created_at: chrono::DateTime<Utc>,
    updated_at: chrono::DateTime<Utc>,
    role: String,
    owner: String,
}

/// The projects `u` is a member of, filtered, sorted and paged.
pub async fn list(db: &DatabaseConnection, u: &user::Model, q: &ListQuery) -> Result<ProjectPage> {
    let mut query = project::Entity::find()
        .join(JoinType::InnerJoin, project::Relation::Member.def())
        .join(JoinType::InnerJoin, project::Relation::Owner.def())
        .filter(member::Column::UserId.eq(u.id));
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        if text.len() > 200 {
            return Err(Error::invalid("q", "search for at most 200 characters"));
        }
        // The user's text is matched literally: LIKE's wildcards are escaped.
        let escaped: String = text
            .to_lowercase()
            .chars()
            .flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] })
            .collect();
        let like = || LikeExpr::new(format!("%{escaped}%")).escape('\\');
        let description = Expr::expr(Func::lower(Expr::col((project::Entity, project::Column::Description))));
        query = query.filter(
            Condition::any()
                .add(Expr::col((project::Entity, project::Column::Name)).like(like()))
                .add(description.like(like())),
        );
    }
    let total = query.clone().count(db).await?;
    let sort = q.sort.unwrap_or_default();
    let asc = q.asc.unwrap_or(sort == ProjectSort::Name);
    let order = if asc { Order::Asc } else { Order::Desc };
    let column = match sort {
        ProjectSort::Updated => project::Column::UpdatedAt,
        ProjectSort::Created => project::Column::CreatedAt,
        ProjectSort::Name => project::Column::Name,
    };
    let rows = query
        .select_only()
        .columns([
            project::Column::Id,
            project::Column::Name,
            project::Column::Description,
            project::Column::Concurrency,
            project::Column::CreatedAt,
            project::Column::UpdatedAt,
        ])
        .column_as(member::Column::Role, "role")
        .column_as(user::Column::Username, "owner")
        .order_by(column, order)
        .order_by_asc(project::Column::Id)
        .limit(q.limit.unwrap_or(50).clamp(1, 500))
        .offset(q.offset.unwrap_or(0))
        .into_model::<Row>()
        .all(db)
        .await?;
    let items = rows
        .into_iter()
        .map(|r| {
            Ok(Project {
                id: r.id,
                owner: r.owner,
                name: r.name,
                description: r.description,
                concurrency: r.concurrency,
                role: Role::parse(&r.role)?,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
        })
        .collect::<Result<_>>()?;
    Ok(ProjectPage { items, total })
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProjectUpdate {
    /// A new name (renames the project; its address changes).
    pub name: Option<String>,
    pub description: Option<String>,
    /// Runs of the project that may run at once (1-100).
    pub concurrency: Option<i32>,
}

pub async fn update(db: &DatabaseConnection, a: &ProjectAccess, change: &ProjectUpdate) -> Result<Project> {
    a.require(Role::Admin)?;
    let mut row: project::ActiveModel = a.project.clone().into();
    if let Some(name) = &change.name {
        let name = ProjectName::parse(name)?;
        if name.as_str() != a.project.name {
            let taken = project::Entity::find()
                .filter(project::Column::OwnerId.eq(a.project.owner_id))
                .filter(project::Column::Name.eq(name.as_str()))
                .count(db)
                .await?;
            if taken > 0 {
                return Err(conflict(&a.owner, name.as_str()));
            }
            row.name = Set(name.as_str().to_string());
        }
    }
    if let Some(d) = &change.description {
        row.description = Set(bounded_text("description", d, 2000)?);
    }
    if let Some(c) = change.concurrency {
        if !(1..=100).contains(&c) {
            return Err(Error::invalid("concurrency", "concurrency: between 1 and 100 runs at once"));
        }
        row.concurrency = Set(c);
    }
    row.updated_at = Set(Utc::now());
    let p = row.update(db).await?;
    Ok(ProjectAccess { project: p, ..a.clone() }.view())
}

/// Deletes the project; `confirm` must repeat its name.
pub async fn delete(db: &DatabaseConnection, a: &ProjectAccess, confirm: &str) -> Result<()> {
    a.require(Role::Owner)?;
    if confirm != a.project.name {
        return Err(Error::invalid(
            "confirm",
            format!("type the project name ({}) to confirm deletion", a.project.name),
        ));
    }
    let txn = db.begin().await?;
    member::Entity::delete_many().filter(member::Column::ProjectId.eq(a.project.id)).exec(&txn).await?;
    project::Entity::delete_by_id(a.project.id).exec(&txn).await?;
    txn.commit().await?;
    crate::auth::cache::revoke();
    super::audit::record(db, &a.actor, "project.delete", &a.path(), serde_json::json!({}), None).await;
    Ok(())
}
