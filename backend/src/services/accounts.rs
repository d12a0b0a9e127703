//! Users: sign-up, credentials, passwords.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use uuid::Uuid;

use crate::auth::password;
use crate::domain::{NewPassword, Username};
use crate::entities::user;
use crate::error::{Error, Result};

pub use api_types::UserInfo;

impl From<&user::Model> for UserInfo {
    fn from(u: &user::Model) -> Self {
        Self { id: u.id, username: u.username.clone(), is_admin: u.is_admin, created_at: u.created_at }
    }
}

pub async fn user_by_id(db: &DatabaseConnection, id: Uuid) -> Result<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id).one(db).await?)
}

pub async fn user_by_name(db: &DatabaseConnection, name: &str) -> Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Username.eq(name.trim().to_ascii_lowercase()))
        .one(db)
        .await?)
}

/// Creates a user (operators and sign-up both come through here).
pub async fn create_user(
    db: &DatabaseConnection,
    username: &str,
    pass: &str,
    admin: bool,
) -> Result<user::Model> {
    let name = Username::parse(username)?;
    let pass = NewPassword::parse(pass)?;
    if user_by_name(db, name.as_str()).await?.is_some() {
        return Err(Error::AlreadyExists(format!("username {:?} is taken", name.as_str())));
    }
    let row = user::ActiveModel {
        id: Set(Uuid::new_v4()),
        username: Set(name.as_str().to_string()),
        password_hash: Set(password::hash(pass.as_str()).await?),
        is_admin: Set(admin),
        created_at: Set(Utc::now()),
    };
    row.insert(db).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            Error::AlreadyExists(format!("username {:?} is taken", name.as_str()))
        }
        _ => e.into(),
    })
}

/// Self-service sign-up: the first user becomes site admin; later ones need sign-up to be open.
pub async fn sign_up(db: &DatabaseConnection, username: &str, pass: &str) -> Result<user::Model> {
    let first = user::Entity::find().count(db).await? == 0;
    if !first && !super::settings::get(db).await?.signup_open {
        return Err(Error::SignupClosed);
    }
    create_user(db, username, pass, first).await
}

/// Checks credentials; unknown users and wrong passwords give the same error after the same work.
pub async fn verify_login(db: &DatabaseConnection, username: &str, pass: &str) -> Result<user::Model> {
    let found = if username.len() > 64 { None } else { user_by_name(db, username).await? };
    let ok = password::verify(pass, found.as_ref().map(|u| u.password_hash.clone())).await;
    match found {
        Some(u) if ok => Ok(u),
        _ => Err(Error::BadCredentials),
    }
}

pub async fn change_password(
    db: &DatabaseConnection,
    u: &user::Model,
    current: &str,
    new: &str,
) -> Result<user::Model> {
    if !password::verify(current, Some(u.password_hash.clone())).await {
        return Err(Error::invalid("current_password", "current password is wrong"));
    }
    let new = NewPassword::parse(new)?;
    let mut row: user::ActiveModel = u.clone().into();
    row.password_hash = Set(password::hash(new.as_str()).await?);
    Ok(row.update(db).await?)
}
