//! The reviews inbox (requests awaiting the caller, and the caller's own) and requests as the API lists them.

use std::collections::{BTreeMap, HashMap, HashSet};

use api_types::{Inbox, RequestSummary};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::domain::Role;
use crate::entities::{
    member, model_reviewer, model_version as mv, promotion_event as event, promotion_request as req,
    registered_model as rm, user,
};
use crate::error::Result;
use crate::services::projects;

/// Requests an inbox lists at most, newest first.
pub const INBOX_LIMIT: u64 = 200;

/// Open requests the caller may review and has not yet approved (newest first), and the caller's own.
pub async fn inbox(db: &DatabaseConnection, u: &user::Model) -> Result<Inbox> {
    let roles = roles_of(db, u).await?;
    let awaiting = awaiting_rows(db, u, &roles).await?;
    let mine = req::Entity::find()
        .filter(req::Column::RequestedBy.eq(u.id))
        .filter(req::Column::ProjectId.is_in(roles.keys().copied()))
        .order_by_desc(req::Column::CreatedMs)
        .limit(INBOX_LIMIT)
        .all(db)
        .await?;
    Ok(Inbox { awaiting: summaries(db, awaiting).await?, mine: summaries(db, mine).await? })
}

/// How many requests await the caller's review (the count beside "Reviews" in the top bar).
pub async fn awaiting_count(db: &DatabaseConnection, u: &user::Model) -> Result<usize> {
    let roles = roles_of(db, u).await?;
    Ok(awaiting_rows(db, u, &roles).await?.len())
}

async fn roles_of(db: &DatabaseConnection, u: &user::Model) -> Result<HashMap<Uuid, Role>> {
    Ok(member::Entity::find()
        .filter(member::Column::UserId.eq(u.id))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|m| Role::parse(&m.role).ok().map(|r| (m.project_id, r)))
        .collect())
}

/// Open requests of others in the caller's projects that the caller reviews (an admin or owner there, or a
/// listed reviewer of the model) and has not approved yet.
async fn awaiting_rows(
    db: &DatabaseConnection,
    u: &user::Model,
    roles: &HashMap<Uuid, Role>,
) -> Result<Vec<req::Model>> {
    let listed: HashSet<Uuid> = model_reviewer::Entity::find()
        .filter(model_reviewer::Column::UserId.eq(u.id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.model_id)
        .collect();
    let open = req::Entity::find()
        .filter(req::Column::State.eq("open"))
        .filter(req::Column::ProjectId.is_in(roles.keys().copied()))
        .filter(req::Column::RequestedBy.ne(u.id))
        .order_by_desc(req::Column::CreatedMs)
        .limit(INBOX_LIMIT)
        .all(db)
        .await?;
    let mine_approved: HashSet<Uuid> = event::Entity::find()
        .filter(event::Column::UserId.eq(u.id))
        .filter(event::Column::Kind.eq("approve"))
        .filter(event::Column::RequestId.is_in(open.iter().map(|r| r.id)))
        .all(db)
        .await?
        .into_iter()
        .map(|e| e.request_id)
        .collect();
    Ok(open
        .into_iter()
        .filter(|r| {
            let reviewer =
                roles.get(&r.project_id).is_some_and(|x| *x >= Role::Admin) || listed.contains(&r.model_id);
            reviewer && !mine_approved.contains(&r.id)
        })
        .collect())
}

/// Requests of a model (newest first), or of one version.
pub async fn of_model(
    db: &DatabaseConnection,
    model: Uuid,
    version: Option<Uuid>,
) -> Result<Vec<RequestSummary>> {
    let mut q = req::Entity::find().filter(req::Column::ModelId.eq(model));
    if let Some(v) = version {
        q = q.filter(req::Column::VersionId.eq(v));
    }
    summaries(db, q.order_by_desc(req::Column::CreatedMs).all(db).await?).await
}

/// Requests as the API shows them: names for ids, approvals counted.
pub async fn summaries(db: &DatabaseConnection, rows: Vec<req::Model>) -> Result<Vec<RequestSummary>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut approvals: HashMap<Uuid, i32> = HashMap::new();
    for e in event::Entity::find()
        .filter(event::Column::RequestId.is_in(ids))
        .filter(event::Column::Kind.eq("approve"))
        .all(db)
        .await?
    {
        *approvals.entry(e.request_id).or_default() += 1;
    }
    let models: HashMap<Uuid, rm::Model> = rm::Entity::find()
        .filter(rm::Column::Id.is_in(rows.iter().map(|r| r.model_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let versions: HashMap<Uuid, i32> = mv::Entity::find()
        .filter(mv::Column::Id.is_in(rows.iter().map(|r| r.version_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v.version))
        .collect();
    let mut people: Vec<Uuid> = rows.iter().map(|r| r.requested_by).collect();
    people.extend(rows.iter().filter_map(|r| r.closed_by));
    let names = crate::services::runs::usernames(db, people.into_iter()).await?;
    let mut paths: BTreeMap<Uuid, String> = BTreeMap::new();
    let projects: Vec<Uuid> = rows.iter().map(|r| r.project_id).collect();
    for p in projects {
        if let std::collections::btree_map::Entry::Vacant(e) = paths.entry(p) {
            e.insert(projects::path_of(db, p).await?);
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| RequestSummary {
            id: r.id,
            project: paths.get(&r.project_id).cloned().unwrap_or_default(),
            model: models.get(&r.model_id).map(|m| m.name.clone()).unwrap_or_default(),
            version: versions.get(&r.version_id).copied().unwrap_or_default(),
            alias: r.alias,
            reason: r.reason,
            state: r.state,
            required: r.required,
            approvals: approvals.get(&r.id).copied().unwrap_or_default(),
            requested_by: names.get(&r.requested_by).cloned().unwrap_or_default(),
            created_ms: r.created_ms,
            closed_ms: r.closed_ms,
            closed_by: r.closed_by.and_then(|c| names.get(&c).cloned()),
        })
        .collect())
}
