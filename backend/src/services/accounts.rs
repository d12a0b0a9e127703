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
        Self {
            id: u.id,
            username: u.username.clone(),
            is_admin: u.is_admin,
            created_at: u.created_at,
            disabled: u.disabled_at.is_some(),
        }
    }
}

pub async fn user_by_id(db: &DatabaseConnection, id: Uuid) -> Result<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id).one(db).await?)
}

/// Site-wide actions (settings, invitations, accounts, the audit log) are site administrators' only.
pub fn require_site_admin(u: &user::Model) -> Result<()> {
    if u.is_admin {
        Ok(())
    } else {
        Err(Error::Forbidden("site administrators only".into()))
    }
}

/// The user, unless a site admin disabled the account (then sessions and tokens find no one).
pub async fn active_user_by_id(db: &DatabaseConnection, id: Uuid) -> Result<Option<user::Model>> {
    Ok(user_by_id(db, id).await?.filter(|u| u.disabled_at.is_none()))
}

/// Disables or re-enables an account (site admins; never their own). A disabled account's sessions, API tokens
/// and run tokens stop working at once: every check reads `disabled_at`.
pub async fn set_disabled(
    db: &DatabaseConnection,
    admin: &user::Model,
    username: &str,
    disabled: bool,
) -> Result<UserInfo> {
    require_site_admin(admin)?;
    let u = user_by_name(db, username).await?.ok_or(Error::NotFound("user"))?;
    if u.id == admin.id {
        return Err(Error::Conflict("you cannot disable your own account".into()));
    }
    let mut row: user::ActiveModel = u.into();
    row.disabled_at = Set(disabled.then(Utc::now));
    let changed = row.update(db).await?;
    crate::auth::cache::revoke();
    let action = if disabled { "user.disable" } else { "user.enable" };
    super::audit::record(
        db,
        &super::audit::Actor::from(admin),
        action,
        &changed.username,
        serde_json::json!({}),
        None,
    )
    .await;
    Ok(UserInfo::from(&changed))
}

/// Every account, for site admins (at most 1,000, by name).
pub async fn list_users(db: &DatabaseConnection, admin: &user::Model) -> Result<Vec<UserInfo>> {
    use sea_orm::{QueryOrder, QuerySelect};
    require_site_admin(admin)?;
    let rows = user::Entity::find().order_by_asc(user::Column::Username).limit(1000).all(db).await?;
    Ok(rows.iter().map(UserInfo::from).collect())
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
        disabled_at: Set(None),
    };
    row.insert(db).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            Error::AlreadyExists(format!("username {:?} is taken", name.as_str()))
        }
        _ => e.into(),
    })
}

/// Self-service sign-up. The very first account becomes site admin (claimed once, even under racing
/// sign-ups); later ones need sign-up to be open, or a pending invitation.
pub async fn sign_up(
    db: &DatabaseConnection,
    username: &str,
    pass: &str,
    invitation: Option<&str>,
) -> Result<user::Model> {
    // Refuse bad input before claiming anything.
    Username::parse(username)?;
    NewPassword::parse(pass)?;
    if claim_first_admin(db).await? {
        let made = create_user(db, username, pass, true).await;
        if made.is_err() {
            crate::entities::site_setting::Entity::delete_by_id(FIRST_ADMIN).exec(db).await?;
        }
        return made;
    }
    if super::settings::get(db).await?.signup_open {
        return create_user(db, username, pass, false).await;
    }
    let Some(secret) = invitation.filter(|i| !i.trim().is_empty()) else { return Err(Error::SignupClosed) };
    let Some(id) = super::invitations::redeem(db, secret).await? else {
        return Err(Error::Forbidden(
            "this invitation link is not valid: it was used, revoked or has expired".into(),
        ));
    };
    let made = create_user(db, username, pass, false).await;
    super::invitations::settle(db, id, made.as_ref().ok().map(|u| u.id)).await?;
    made
}

/// The site-settings key whose insertion makes its inserter the first admin.
const FIRST_ADMIN: &str = "first_admin_claimed";

/// Whether this sign-up is the site's first: only one caller ever gets `true` (a unique insert decides).
async fn claim_first_admin(db: &DatabaseConnection) -> Result<bool> {
    use crate::entities::site_setting;
    if user::Entity::find().count(db).await? > 0 {
        return Ok(false);
    }
    let claim =
        site_setting::ActiveModel { key: Set(FIRST_ADMIN.into()), value: Set(Utc::now().to_rfc3339()) };
    match site_setting::Entity::insert(claim).exec(db).await {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A log-in from `ip`: the credentials checked, and the attempt written to the audit log either way.
pub async fn log_in(
    db: &DatabaseConnection,
    username: &str,
    pass: &str,
    ip: Option<std::net::IpAddr>,
) -> Result<user::Model> {
    let checked = verify_login(db, username, pass).await;
    let (actor, action) = match &checked {
        Ok(u) => (super::audit::Actor::from(u), "auth.login"),
        Err(_) => {
            let tried: String = username.trim().to_ascii_lowercase().chars().take(64).collect();
            (super::audit::Actor { id: None, name: tried }, "auth.login_failed")
        }
    };
    super::audit::record(db, &actor, action, &actor.name.clone(), serde_json::json!({}), ip).await;
    checked
}

/// Checks credentials; unknown users and wrong passwords give the same error after the same work.
pub async fn verify_login(db: &DatabaseConnection, username: &str, pass: &str) -> Result<user::Model> {
    let found = if username.len() > 64 { None } else { user_by_name(db, username).await? };
    let ok = password::verify(pass, found.as_ref().map(|u| u.password_hash.clone())).await;
    match found {
        Some(u) if ok && u.disabled_at.is_some() => {
            Err(Error::Forbidden("this account is disabled; ask a site administrator".into()))
        }
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
