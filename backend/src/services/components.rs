//! Project components: a polyaxonfile component saved from the editor under a name, versioned by the sha256
//! of its text (saving the same text again is the same version). Operations use them with
//! `hubRef: NAME` (the newest version) or `hubRef: NAME:VERSION` (a version's first 12 hex digits or more).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Set,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::Role;
use crate::entities::{component, user};
use crate::error::{Error, Result};
use crate::services::projects::ProjectAccess;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComponentVersion {
    pub name: String,
    /// sha256 (hex) of the content.
    pub version: String,
    pub content: String,
    pub created_by: String,
    pub created_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComponentSummary {
    pub name: String,
    pub versions: usize,
    /// The newest version.
    pub latest: String,
    pub updated_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SaveComponent {
    pub name: String,
    pub content: String,
}

fn version_of(content: &str) -> String {
    Sha256::digest(content.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

async fn view(db: &DatabaseConnection, c: component::Model) -> Result<ComponentVersion> {
    let who = user::Entity::find_by_id(c.created_by).one(db).await?.map(|u| u.username).unwrap_or_default();
    Ok(ComponentVersion {
        name: c.name,
        version: c.version,
        content: c.content,
        created_by: who,
        created_at: c.created_at,
    })
}

/// Saves a version (members and above). The text must compile as a component on its own.
pub async fn save(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    u: &user::Model,
    req: &SaveComponent,
) -> Result<ComponentVersion> {
    a.require(Role::Member)?;
    spec::names::check_slug(&req.name, 128)
        .map_err(|e| Error::invalid("name", format!("component name: {e}")))?;
    if req.content.len() > 256 * 1024 {
        return Err(Error::PayloadTooLarge);
    }
    let doc = spec::yaml::parse_within("component.yaml", &req.content, &crate::compiling::limits())
        .map_err(|e| Error::invalid("content", format!("{}:{} {}", e.line, e.column, e.message)))?;
    if !matches!(doc.value.get("kind").and_then(|k| k.as_str()), Some("component") | None) {
        return Err(Error::invalid("content", "save a `kind: component` file (operations use components)"));
    }
    let sub = api_types::Submission { content: req.content.clone(), ..Default::default() };
    let policy = crate::compiling::policy_for(&a.project);
    let out = crate::compiling::off_thread(move || {
        let (catalog, execution) = (Default::default(), spec::Execution::default());
        crate::services::runs::compile_with(&sub, &catalog, &spec::NoRefs, policy, execution, None)
    })
    .await?;
    if let Some(e) = out.errors.iter().find(|e| e.code != "required_input") {
        return Err(Error::invalid("content", format!("{}:{} {}", e.line, e.column, e.message)));
    }
    let version = version_of(&req.content);
    let existing = component::Entity::find()
        .filter(component::Column::ProjectId.eq(a.project.id))
        .filter(component::Column::Name.eq(req.name.clone()))
        .filter(component::Column::Version.eq(version.clone()))
        .one(db)
        .await?;
    let row = match existing {
        Some(row) => row,
        None => {
            let held = component::Entity::find()
                .filter(component::Column::ProjectId.eq(a.project.id))
                .count(db)
                .await?;
            crate::domain::room_for_one("component versions of a project", held)?;
            component::ActiveModel {
                id: Set(Uuid::new_v4()),
                project_id: Set(a.project.id),
                name: Set(req.name.clone()),
                version: Set(version),
                content: Set(req.content.clone()),
                created_by: Set(u.id),
                created_at: Set(Utc::now()),
            }
            .insert(db)
            .await?
        }
    };
    view(db, row).await
}

/// The project's components, each with its newest version.
pub async fn list(db: &DatabaseConnection, a: &ProjectAccess) -> Result<Vec<ComponentSummary>> {
    let rows = component::Entity::find()
        .filter(component::Column::ProjectId.eq(a.project.id))
        .order_by_asc(component::Column::Name)
        .order_by_desc(component::Column::CreatedAt)
        .all(db)
        .await?;
    let mut out: Vec<ComponentSummary> = Vec::new();
    for r in rows {
        match out.last_mut().filter(|s| s.name == r.name) {
            Some(s) => s.versions += 1,
            None => out.push(ComponentSummary {
                name: r.name,
                versions: 1,
                latest: r.version,
                updated_at: r.created_at,
            }),
        }
    }
    Ok(out)
}

/// A component's versions, newest first.
pub async fn versions(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    name: &str,
) -> Result<Vec<ComponentVersion>> {
    let rows = component::Entity::find()
        .filter(component::Column::ProjectId.eq(a.project.id))
        .filter(component::Column::Name.eq(name))
        .order_by_desc(component::Column::CreatedAt)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Err(Error::NotFound("component"));
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(view(db, r).await?);
    }
    Ok(out)
}

/// The project's components for the compiler (`hubRef: NAME[:VERSION]`), all versions read first: the
/// compiler does no I/O.
pub async fn library(db: &DatabaseConnection, project: Uuid) -> Result<spec::library::Library> {
    let rows = component::Entity::find()
        .filter(component::Column::ProjectId.eq(project))
        .order_by_desc(component::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(spec::library::Library::new(rows.into_iter().map(|r| (r.name, r.version, r.content))))
}
