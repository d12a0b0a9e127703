//! A project's tags: MLflow's experiment tags (`set-experiment-tag`, `delete-experiment-tag`, tags given to
//! `experiments/create`), read back with the experiment. `mlflow.note.content` is the project's description, as
//! MLflow's UI writes it there.

use std::collections::HashMap;

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::projects::{ProjectAccess, ProjectUpdate};
use crate::domain::{validate_key, Role};
use crate::entities::project_tag;
use crate::error::{Error, Result};

/// The tag MLflow keeps an experiment's description in.
pub const NOTE: &str = "mlflow.note.content";
/// Tags one project holds, and the longest value (MLflow guarantees 5,000 bytes).
pub const MAX_TAGS: u64 = 1000;
pub const MAX_VALUE: usize = 5000;

/// Sets `key` on the project (members and up; its description, for `mlflow.note.content`, admins and up).
pub async fn set(db: &DatabaseConnection, a: &ProjectAccess, key: &str, value: &str) -> Result<()> {
    validate_key("tag", key)?;
    if key == NOTE {
        let change = ProjectUpdate { description: Some(value.to_string()), ..Default::default() };
        super::projects::update(db, a, &change).await?;
        return Ok(());
    }
    a.require(Role::Member)?;
    if value.len() > MAX_VALUE {
        return Err(Error::invalid(
            "tag",
            format!("the value of tag {key:?} is longer than {MAX_VALUE} bytes"),
        ));
    }
    let id = a.project.id;
    let exists = project_tag::Entity::find_by_id((id, key.to_string())).one(db).await?.is_some();
    if !exists
        && project_tag::Entity::find().filter(project_tag::Column::ProjectId.eq(id)).count(db).await?
            >= MAX_TAGS
    {
        return Err(Error::invalid("tag", format!("an experiment holds at most {MAX_TAGS} tags")));
    }
    let row =
        project_tag::ActiveModel { project_id: Set(id), key: Set(key.into()), value: Set(value.into()) };
    project_tag::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([project_tag::Column::ProjectId, project_tag::Column::Key])
                .update_column(project_tag::Column::Value)
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Removes `key` from the project (members and up); `404` when it has no such tag.
pub async fn delete(db: &DatabaseConnection, a: &ProjectAccess, key: &str) -> Result<()> {
    a.require(Role::Member)?;
    let gone = project_tag::Entity::delete_by_id((a.project.id, key.to_string())).exec(db).await?;
    if gone.rows_affected == 0 {
        return Err(Error::NotFound("experiment tag"));
    }
    Ok(())
}

/// The tags of each of `projects`, by key.
pub async fn of(db: &DatabaseConnection, projects: &[Uuid]) -> Result<HashMap<Uuid, Vec<(String, String)>>> {
    let mut out: HashMap<Uuid, Vec<(String, String)>> = HashMap::new();
    if projects.is_empty() {
        return Ok(out);
    }
    for chunk in projects.chunks(500) {
        let rows = project_tag::Entity::find()
            .filter(project_tag::Column::ProjectId.is_in(chunk.to_vec()))
            .order_by_asc(project_tag::Column::Key)
            .all(db)
            .await?;
        for t in rows {
            out.entry(t.project_id).or_default().push((t.key, t.value));
        }
    }
    Ok(out)
}
