//! What an operator decides per project: its pod policy (looser or tighter than the server's), and the
//! artifact quota its runs' uploads count against.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::artifacts::{Artifacts, Quota, Usage};
use crate::entities::{project, user};
use crate::error::{Error, Result};

/// A project's limits as site admins see and set them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProjectLimits {
    /// The profile set for this project; `null`: the server's.
    pub pod_policy: Option<String>,
    /// What runs of this project are checked against now.
    pub effective_pod_policy: String,
    pub artifact_bytes: u64,
    pub artifact_files: u64,
    pub quota_bytes: u64,
    pub quota_files: u64,
}

/// The change a site admin asks for.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PodPolicyChange {
    /// `privileged`, `baseline` or `restricted`; `null` returns the project to the server's policy.
    pub pod_policy: Option<String>,
}

pub fn view(p: &project::Model, quota: Quota) -> ProjectLimits {
    ProjectLimits {
        pod_policy: p.pod_policy.clone(),
        effective_pod_policy: crate::compiling::policy_for(p).profile.as_str().into(),
        artifact_bytes: p.artifact_bytes.max(0) as u64,
        artifact_files: p.artifact_files.max(0) as u64,
        quota_bytes: quota.bytes,
        quota_files: quota.files,
    }
}

/// A project by `owner/name`, for site admins (who need not be members).
async fn by_path(db: &DatabaseConnection, owner: &str, name: &str) -> Result<project::Model> {
    let owner = super::accounts::user_by_name(db, owner).await?.ok_or(Error::NotFound("project"))?;
    project::Entity::find()
        .filter(project::Column::OwnerId.eq(owner.id))
        .filter(project::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or(Error::NotFound("project"))
}

pub async fn get(
    db: &DatabaseConnection,
    admin: &user::Model,
    owner: &str,
    name: &str,
    quota: Quota,
) -> Result<ProjectLimits> {
    super::accounts::require_site_admin(admin)?;
    Ok(view(&by_path(db, owner, name).await?, quota))
}

/// Sets (or clears) a project's pod policy; recorded in the audit log as `project.pod_policy`.
pub async fn set_pod_policy(
    db: &DatabaseConnection,
    admin: &user::Model,
    owner: &str,
    name: &str,
    change: &PodPolicyChange,
    quota: Quota,
    ip: Option<std::net::IpAddr>,
) -> Result<ProjectLimits> {
    super::accounts::require_site_admin(admin)?;
    let profile = match change.pod_policy.as_deref() {
        None => None,
        Some(s) => Some(spec::policy::Profile::parse(s).ok_or_else(|| {
            Error::invalid("pod_policy", format!("{s:?} is not privileged, baseline or restricted"))
        })?),
    };
    let p = by_path(db, owner, name).await?;
    project::Entity::update_many()
        .col_expr(project::Column::PodPolicy, Expr::value(profile.map(|p| p.as_str().to_string())))
        .filter(project::Column::Id.eq(p.id))
        .exec(db)
        .await?;
    let detail = serde_json::json!({"from": p.pod_policy, "to": profile.map(|p| p.as_str())});
    super::audit::record(db, &admin.into(), "project.pod_policy", &format!("{owner}/{name}"), detail, ip)
        .await;
    Ok(view(&project::Entity::find_by_id(p.id).one(db).await?.ok_or(Error::NotFound("project"))?, quota))
}

/// Stores an upload of the project's runs as `key`, within what is left of its quota (an overwrite gives back
/// the old file's bytes first), and counts it; past the quota nothing is kept.
pub async fn store_upload<S, E>(
    db: &DatabaseConnection,
    artifacts: &Artifacts,
    project_id: Uuid,
    key: &object_store::path::Path,
    body: S,
) -> Result<crate::artifacts::Stored>
where
    S: futures_util::Stream<Item = std::result::Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let p = project::Entity::find_by_id(project_id).one(db).await?.ok_or(Error::NotFound("project"))?;
    let quota = artifacts.quota();
    let replaced = artifacts.size_of(key).await?;
    let room = room(&p, quota, replaced)?;
    let written = artifacts.put_stream_within(key, body, room.min(artifacts.max_upload)).await.map_err(
        |e| match e {
            Error::PayloadTooLarge if room < artifacts.max_upload => over_bytes(quota),
            other => other,
        },
    )?;
    charge(db, project_id, written.size, replaced).await?;
    Ok(written)
}

/// Refuses, before anything is sent, a file of `size` bytes the project's quota (or the store's largest upload)
/// cannot take as `key`; `Some(old size)` when it replaces a file.
pub async fn check_fits(
    db: &DatabaseConnection,
    artifacts: &Artifacts,
    project_id: Uuid,
    key: &object_store::path::Path,
    size: u64,
) -> Result<Option<u64>> {
    if size > artifacts.max_upload {
        return Err(Error::LimitExceeded(format!(
            "the file has {size} bytes; this server takes files of at most {} bytes",
            artifacts.max_upload
        )));
    }
    let p = project::Entity::find_by_id(project_id).one(db).await?.ok_or(Error::NotFound("project"))?;
    let quota = artifacts.quota();
    let replaced = artifacts.size_of(key).await?;
    if size > room(&p, quota, replaced)? {
        return Err(over_bytes(quota));
    }
    Ok(replaced)
}

/// Counts a file stored outside `store_upload` (an upload in parts) against the project.
pub async fn charge_stored(
    db: &DatabaseConnection,
    project_id: Uuid,
    written: u64,
    replaced: Option<u64>,
) -> Result<()> {
    charge(db, project_id, written, replaced).await
}

/// How many more bytes a project may upload now as `key` (an overwrite frees the old object's bytes), or the
/// limit it has reached.
fn room(p: &project::Model, quota: Quota, replaced: Option<u64>) -> Result<u64> {
    let (bytes, files) = (p.artifact_bytes.max(0) as u64, p.artifact_files.max(0) as u64);
    if replaced.is_none() && files >= quota.files {
        return Err(Error::LimitExceeded(format!(
            "the project keeps {files} artifact files, its quota (--artifact-quota-files {}); delete runs to make room",
            quota.files
        )));
    }
    let room = quota.bytes.saturating_sub(bytes).saturating_add(replaced.unwrap_or(0));
    if room == 0 {
        return Err(over_bytes(quota));
    }
    Ok(room)
}

fn over_bytes(quota: Quota) -> Error {
    Error::LimitExceeded(format!(
        "the project's artifacts would pass its quota of {} bytes (--artifact-quota-bytes); delete runs to make room",
        quota.bytes
    ))
}

/// Counts a stored upload of `written` bytes against the project (replacing an object of `replaced` bytes).
async fn charge(db: &DatabaseConnection, project: Uuid, written: u64, replaced: Option<u64>) -> Result<()> {
    let bytes = written as i64 - replaced.unwrap_or(0) as i64;
    let files = i64::from(replaced.is_none());
    adjust(db, project, bytes, files).await
}

/// Gives back what a deleted run's artifacts took.
pub async fn refund(db: &DatabaseConnection, project: Uuid, freed: Usage) -> Result<()> {
    adjust(db, project, -(freed.bytes as i64), -(freed.files as i64)).await
}

async fn adjust(db: &DatabaseConnection, project: Uuid, bytes: i64, files: i64) -> Result<()> {
    // One statement: concurrent uploads add up instead of overwriting each other.
    project::Entity::update_many()
        .col_expr(project::Column::ArtifactBytes, Expr::col(project::Column::ArtifactBytes).add(bytes))
        .col_expr(project::Column::ArtifactFiles, Expr::col(project::Column::ArtifactFiles).add(files))
        .filter(project::Column::Id.eq(project))
        .exec(db)
        .await?;
    Ok(())
}
