//! Accounts: a user as others may see them.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A user as others may see them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct UserInfo {
    pub id: Uuid,
    pub username: String,
    pub is_admin: bool,
    pub created_at: chrono::DateTime<Utc>,
    /// A site admin disabled the account: it cannot log in, its sessions and tokens are dead.
    #[serde(default)]
    pub disabled: bool,
}
