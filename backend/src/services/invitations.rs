//! Invitations: while sign-up is closed, a site admin sends a single-use link that expires. The token is shown
//! once (in the link); only its SHA-256 is stored.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::token;
use crate::entities::{invitation, user};
use crate::error::{Error, Result};

/// How long a link is valid unless the admin says otherwise, and at most.
pub const DEFAULT_HOURS: u32 = 72;
pub const MAX_HOURS: u32 = 24 * 30;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Invitation {
    pub id: Uuid,
    pub note: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// `pending`, `used` or `expired`.
    pub state: String,
    pub used_at: Option<DateTime<Utc>>,
}

/// A new invitation and its token (shown this once).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewInvitation {
    #[serde(flatten)]
    pub invitation: Invitation,
    pub token: String,
}

impl From<invitation::Model> for Invitation {
    fn from(m: invitation::Model) -> Self {
        let state = if m.used_at.is_some() {
            "used"
        } else if m.expires_at <= Utc::now() {
            "expired"
        } else {
            "pending"
        };
        Invitation {
            id: m.id,
            note: m.note,
            created_at: m.created_at,
            expires_at: m.expires_at,
            state: state.into(),
            used_at: m.used_at,
        }
    }
}

pub async fn create(
    db: &DatabaseConnection,
    admin: &user::Model,
    note: &str,
    valid_hours: Option<u32>,
) -> Result<NewInvitation> {
    super::accounts::require_site_admin(admin)?;
    let note = crate::domain::bounded_text("note", note.trim(), 200)?;
    let hours = valid_hours.unwrap_or(DEFAULT_HOURS);
    if !(1..=MAX_HOURS).contains(&hours) {
        return Err(Error::invalid("valid_hours", format!("an invitation is valid 1 to {MAX_HOURS} hours")));
    }
    let secret = token::generate();
    let now = Utc::now();
    let row = invitation::ActiveModel {
        id: Set(Uuid::new_v4()),
        token_hash: Set(token::hash(&secret)),
        note: Set(note),
        created_by: Set(admin.id),
        created_at: Set(now),
        expires_at: Set(now + Duration::hours(hours.into())),
        used_at: Set(None),
        used_by: Set(None),
    }
    .insert(db)
    .await?;
    let detail = serde_json::json!({"note": row.note, "expires_at": row.expires_at});
    super::audit::record(
        db,
        &super::audit::Actor::from(admin),
        "invitation.create",
        &row.id.to_string(),
        detail,
        None,
    )
    .await;
    Ok(NewInvitation { invitation: row.into(), token: secret })
}

/// The site's invitations, newest first (at most 500).
pub async fn list(db: &DatabaseConnection, admin: &user::Model) -> Result<Vec<Invitation>> {
    super::accounts::require_site_admin(admin)?;
    use sea_orm::QuerySelect;
    let rows =
        invitation::Entity::find().order_by_desc(invitation::Column::CreatedAt).limit(500).all(db).await?;
    Ok(rows.into_iter().map(Invitation::from).collect())
}

pub async fn revoke(db: &DatabaseConnection, admin: &user::Model, id: Uuid) -> Result<()> {
    super::accounts::require_site_admin(admin)?;
    let done = invitation::Entity::delete_by_id(id).exec(db).await?;
    if done.rows_affected == 0 {
        return Err(Error::NotFound("invitation"));
    }
    super::audit::record(
        db,
        &super::audit::Actor::from(admin),
        "invitation.revoke",
        &id.to_string(),
        serde_json::json!({}),
        None,
    )
    .await;
    Ok(())
}

/// Uses a pending invitation for `user`: exactly once, before it expires. `None` when the token is no
/// pending invitation's (the caller answers as for closed sign-up).
pub(crate) async fn redeem(db: &DatabaseConnection, secret: &str) -> Result<Option<Uuid>> {
    if secret.len() > 100 {
        return Ok(None);
    }
    let hash = token::hash(secret.trim());
    let Some(row) = invitation::Entity::find().filter(invitation::Column::TokenHash.eq(hash)).one(db).await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    // Conditional: of two sign-ups racing with one link, one wins.
    let took = invitation::Entity::update_many()
        .col_expr(invitation::Column::UsedAt, Expr::value(now))
        .filter(invitation::Column::Id.eq(row.id))
        .filter(invitation::Column::UsedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok((took.rows_affected == 1).then_some(row.id))
}

/// Records who signed up with the invitation (or gives it back when the sign-up failed).
pub(crate) async fn settle(db: &DatabaseConnection, id: Uuid, user: Option<Uuid>) -> Result<()> {
    let mut q = invitation::Entity::update_many().filter(invitation::Column::Id.eq(id));
    q = match user {
        Some(u) => q.col_expr(invitation::Column::UsedBy, Expr::value(u)),
        None => q.col_expr(invitation::Column::UsedAt, Expr::value(Option::<DateTime<Utc>>::None)),
    };
    q.exec(db).await?;
    Ok(())
}
