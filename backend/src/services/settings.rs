//! Site-wide settings an administrator can change at run time.

use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseConnection, EntityTrait, Set};
use serde::{Deserialize, Serialize};

use crate::entities::site_setting::{ActiveModel, Column, Entity};
use crate::error::Result;

const SIGNUP_OPEN: &str = "signup_open";

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SiteSettings {
    /// Whether anyone may sign up (the first user always can, and becomes site admin). Closed unless an admin
    /// opened it; while closed, invitations let people in.
    pub signup_open: bool,
}

pub async fn get(db: &DatabaseConnection) -> Result<SiteSettings> {
    let open = Entity::find_by_id(SIGNUP_OPEN).one(db).await?.map(|m| m.value == "true").unwrap_or(false);
    Ok(SiteSettings { signup_open: open })
}

pub async fn set(db: &DatabaseConnection, s: &SiteSettings) -> Result<SiteSettings> {
    let row = ActiveModel { key: Set(SIGNUP_OPEN.into()), value: Set(s.signup_open.to_string()) };
    Entity::insert(row)
        .on_conflict(OnConflict::column(Column::Key).update_column(Column::Value).to_owned())
        .exec(db)
        .await?;
    get(db).await
}

/// `set`, by a site admin, in the audit log.
pub async fn set_by(
    db: &DatabaseConnection,
    admin: &crate::entities::user::Model,
    s: &SiteSettings,
) -> Result<SiteSettings> {
    super::accounts::require_site_admin(admin)?;
    let saved = set(db, s).await?;
    let detail = serde_json::json!({"signup_open": saved.signup_open});
    super::audit::record(db, &super::audit::Actor::from(admin), "site.settings", "site", detail, None).await;
    Ok(saved)
}
