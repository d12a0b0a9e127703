//! Personal API tokens: created (shown once), listed by prefix, revoked.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::token;
use crate::domain::bounded_text;
use crate::entities::{api_token, user};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    pub created_at: chrono::DateTime<Utc>,
    pub last_used_at: Option<chrono::DateTime<Utc>>,
    /// When the token stops working (`None`: until revoked).
    pub expires_at: Option<chrono::DateTime<Utc>>,
}

impl From<api_token::Model> for TokenInfo {
    fn from(t: api_token::Model) -> Self {
        Self {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_at: t.expires_at,
        }
    }
}

/// A freshly created token: the only time its secret is returned.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    pub token: String,
}

/// The longest a token may be made to last, in days (`expires_in_days`).
pub const MAX_DAYS: u32 = 3650;

pub async fn create(db: &DatabaseConnection, u: &user::Model, name: &str) -> Result<NewToken> {
    create_expiring(db, u, name, None).await
}

/// A token that stops working after `days` (none: until revoked).
pub async fn create_expiring(
    db: &DatabaseConnection,
    u: &user::Model,
    name: &str,
    days: Option<u32>,
) -> Result<NewToken> {
    if days.is_some_and(|d| !(1..=MAX_DAYS).contains(&d)) {
        return Err(Error::invalid("expires_in_days", format!("a token lasts 1 to {MAX_DAYS} days")));
    }
    let name = bounded_text("name", name, 100)?;
    if name.is_empty() {
        return Err(Error::invalid("name", "name: give the token a name, e.g. \"laptop cli\""));
    }
    let held = api_token::Entity::find().filter(api_token::Column::UserId.eq(u.id)).count(db).await?;
    crate::domain::room_for_one("API tokens of an account", held)?;
    let secret = token::generate();
    let row = api_token::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(u.id),
        name: Set(name),
        prefix: Set(token::display_prefix(&secret)),
        token_hash: Set(token::hash(&secret)),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        expires_at: Set(days.map(|d| Utc::now() + chrono::Duration::days(d.into()))),
    }
    .insert(db)
    .await?;
    let detail = serde_json::json!({"name": row.name, "prefix": row.prefix, "expires_at": row.expires_at});
    super::audit::record(db, &super::audit::Actor::from(u), "token.create", &u.username, detail, None).await;
    Ok(NewToken { info: row.into(), token: secret })
}

pub async fn list(db: &DatabaseConnection, u: &user::Model) -> Result<Vec<TokenInfo>> {
    let rows = api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(u.id))
        .order_by_desc(api_token::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn revoke(db: &DatabaseConnection, u: &user::Model, id: Uuid) -> Result<()> {
    let res = api_token::Entity::delete_many()
        .filter(api_token::Column::Id.eq(id))
        .filter(api_token::Column::UserId.eq(u.id))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(Error::NotFound("token"));
    }
    crate::auth::cache::revoke();
    super::audit::record(
        db,
        &super::audit::Actor::from(u),
        "token.revoke",
        &u.username,
        serde_json::json!({"id": id}),
        None,
    )
    .await;
    Ok(())
}

/// The owner of a valid token. `last_used_at` is refreshed at most once a minute to keep reads cheap.
pub async fn user_for_token(db: &DatabaseConnection, secret: &str) -> Result<Option<user::Model>> {
    if !secret.starts_with(token::PREFIX) || secret.len() > 128 {
        return Ok(None);
    }
    // One query for the token and its owner: this is on every API call's path.
    let owner =
        api_token::Entity::belongs_to(user::Entity).from(api_token::Column::UserId).to(user::Column::Id);
    let Some((t, Some(u))) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(token::hash(secret)))
        .select_also(user::Entity)
        .join(sea_orm::JoinType::InnerJoin, owner.into())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    if t.expires_at.is_some_and(|e| e <= now) {
        return Ok(None);
    }
    if t.last_used_at.is_none_or(|at| now - at > chrono::Duration::seconds(60)) {
        let mut row: api_token::ActiveModel = t.clone().into();
        row.last_used_at = Set(Some(now));
        row.update(db).await?;
    }
    Ok(Some(u).filter(|u| u.disabled_at.is_none()))
}
