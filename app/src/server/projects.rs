//! Projects and members for the browser.

use leptos::prelude::*;

use super::AppError;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ctx::{err, require_user, state, user};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectView {
    pub owner: String,
    pub name: String,
    pub description: String,
    pub role: String,
    pub updated: String,
    pub concurrency: i32,
}

impl ProjectView {
    pub fn path(&self) -> String {
        format!("/{}/{}", self.owner, self.name)
    }
    pub fn can(&self, min: &str) -> bool {
        rank(&self.role) >= rank(min)
    }
}

/// Role order, for enabling controls in the UI (the server decides for real).
pub fn rank(role: &str) -> u8 {
    match role {
        "owner" => 3,
        "admin" => 2,
        "member" => 1,
        _ => 0,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectList {
    pub items: Vec<ProjectView>,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub username: String,
    pub role: String,
    pub added: String,
}

pub const PAGE_SIZE: u64 = 50;

#[cfg(feature = "ssr")]
impl From<backend::services::projects::Project> for ProjectView {
    fn from(p: backend::services::projects::Project) -> Self {
        Self {
            owner: p.owner,
            name: p.name,
            description: p.description,
            role: p.role.as_str().into(),
            updated: p.updated_at.format("%Y-%m-%d %H:%M").to_string(),
            concurrency: p.concurrency,
        }
    }
}

#[server]
pub async fn list_projects(q: String, sort: String, page: u64) -> Result<ProjectList, AppError> {
    use backend::services::projects::{list, ListQuery, ProjectSort};
    let st = state()?;
    let u = require_user().await?;
    let sort = match sort.as_str() {
        "name" => ProjectSort::Name,
        "created" => ProjectSort::Created,
        _ => ProjectSort::Updated,
    };
    let query = ListQuery {
        q: Some(q),
        sort: Some(sort),
        asc: None,
        limit: Some(PAGE_SIZE),
        offset: Some(page * PAGE_SIZE),
    };
    let p = list(&st.db, &u, &query).await.map_err(err)?;
    Ok(ProjectList { items: p.items.into_iter().map(Into::into).collect(), total: p.total })
}

#[server]
pub async fn create_project(name: String, description: String) -> Result<(), AppError> {
    let st = state()?;
    let u = require_user().await?;
    let p = backend::services::projects::create(&st.db, &u, &name, &description).await.map_err(err)?;
    leptos_axum::redirect(&format!("/{}/{}", p.owner, p.name));
    Ok(())
}

/// The caller's access to `owner/name` (shared by the project and run server functions).
#[cfg(feature = "ssr")]
pub(crate) async fn access(
    owner: &str,
    name: &str,
) -> Result<backend::services::projects::ProjectAccess, AppError> {
    let st = state()?;
    let u = user().await?;
    backend::services::projects::access(&st.db, u.as_ref(), owner, name).await.map_err(err)
}

#[server]
pub async fn get_project(owner: String, name: String) -> Result<ProjectView, AppError> {
    Ok(access(&owner, &name).await?.view().into())
}

#[server]
pub async fn update_project(
    owner: String,
    name: String,
    new_name: String,
    description: String,
    concurrency: i32,
) -> Result<(), AppError> {
    let st = state()?;
    let a = access(&owner, &name).await?;
    let change = backend::services::projects::ProjectUpdate {
        name: Some(new_name),
        description: Some(description),
        concurrency: Some(concurrency),
    };
    let p = backend::services::projects::update(&st.db, &a, &change).await.map_err(err)?;
    if p.name != name {
        leptos_axum::redirect(&format!("/{}/{}/settings", p.owner, p.name));
    }
    Ok(())
}

#[server]
pub async fn delete_project(owner: String, name: String, confirm: String) -> Result<(), AppError> {
    let st = state()?;
    let a = access(&owner, &name).await?;
    backend::services::projects::delete(&st.db, &a, &confirm).await.map_err(err)?;
    st.artifacts.delete_project(a.project.id).await.map_err(err)?;
    leptos_axum::redirect("/projects");
    Ok(())
}

#[server]
pub async fn list_members(owner: String, name: String) -> Result<Vec<MemberView>, AppError> {
    let st = state()?;
    let a = access(&owner, &name).await?;
    let rows = backend::services::members::list(&st.db, &a).await.map_err(err)?;
    Ok(rows
        .into_iter()
        .map(|m| MemberView {
            username: m.username,
            role: m.role.as_str().into(),
            added: m.added_at.format("%Y-%m-%d").to_string(),
        })
        .collect())
}

#[cfg(feature = "ssr")]
fn parse_role(role: &str) -> Result<backend::domain::Role, AppError> {
    backend::domain::Role::parse(role).map_err(err)
}

#[server]
pub async fn add_member(owner: String, name: String, username: String, role: String) -> Result<(), AppError> {
    let st = state()?;
    let a = access(&owner, &name).await?;
    backend::services::members::add(&st.db, &a, &username, parse_role(&role)?).await.map_err(err)?;
    Ok(())
}

#[server]
pub async fn change_member_role(
    owner: String,
    name: String,
    username: String,
    role: String,
) -> Result<(), AppError> {
    let st = state()?;
    let a = access(&owner, &name).await?;
    backend::services::members::set_role(&st.db, &a, &username, parse_role(&role)?).await.map_err(err)?;
    Ok(())
}

#[server]
pub async fn remove_member(owner: String, name: String, username: String) -> Result<(), AppError> {
    let st = state()?;
    // The project first: strangers, signed in or not, learn only that it does not exist.
    let a = access(&owner, &name).await?;
    let me = require_user().await?;
    backend::services::members::remove(&st.db, &a, &me, &username).await.map_err(err)
}
