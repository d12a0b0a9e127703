//! Browser sessions: tower-sessions with its records in the application database (SQLite or PostgreSQL,
//! sharing sea-orm's pool). Cookies are HttpOnly + SameSite=Lax, expire after a week without use, and get a
//! new id at login.

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use sha2::{Digest, Sha256};
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};
use uuid::Uuid;

use crate::entities::user;
use crate::error::Result;

pub const COOKIE: &str = "myelin_session";
const USER_ID: &str = "user_id";
const AUTH_EPOCH: &str = "auth_epoch";

#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Store {
    /// The store on the same pool as `db`, with its table created.
    pub async fn for_db(db: &DatabaseConnection) -> Result<Self> {
        let store = match db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                Store::Postgres(PostgresStore::new(db.get_postgres_connection_pool().clone()))
            }
            _ => Store::Sqlite(SqliteStore::new(db.get_sqlite_connection_pool().clone())),
        };
        let migrated = match &store {
            Store::Sqlite(s) => s.migrate().await,
            Store::Postgres(s) => s.migrate().await,
        };
        migrated.map_err(|e| crate::Error::Internal(format!("session store: {e}")))?;
        Ok(store)
    }

    /// Deletes expired sessions every hour, for as long as the server runs.
    pub fn spawn_cleanup(&self) {
        let store = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                tick.tick().await;
                if let Err(e) = store.delete_expired().await {
                    tracing::warn!("deleting expired sessions: {e}");
                }
            }
        });
    }

    pub fn layer(&self, secure: bool) -> SessionManagerLayer<Store> {
        SessionManagerLayer::new(self.clone())
            .with_name(COOKIE)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(secure)
            .with_expiry(Expiry::OnInactivity(time::Duration::days(7)))
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s) => s.create(record).await,
            Store::Postgres(s) => s.create(record).await,
        }
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s) => s.save(record).await,
            Store::Postgres(s) => s.save(record).await,
        }
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Store::Sqlite(s) => s.load(id).await,
            Store::Postgres(s) => s.load(id).await,
        }
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s) => s.delete(id).await,
            Store::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Store {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s) => s.delete_expired().await,
            Store::Postgres(s) => s.delete_expired().await,
        }
    }
}

/// A fingerprint of the password hash: changing the password invalidates every other session.
fn auth_epoch(u: &user::Model) -> String {
    hex::encode(&Sha256::digest(u.password_hash.as_bytes())[..8])
}

/// Logs `u` in on this session, with a fresh session id (no fixation).
pub async fn log_in(session: &Session, u: &user::Model) -> Result<()> {
    session.cycle_id().await?;
    session.insert(USER_ID, u.id).await?;
    session.insert(AUTH_EPOCH, auth_epoch(u)).await?;
    Ok(())
}

pub async fn log_out(session: &Session) -> Result<()> {
    session.flush().await?;
    Ok(())
}

/// The user this session belongs to, if it is still valid.
pub async fn user(session: &Session, db: &DatabaseConnection) -> Result<Option<user::Model>> {
    let Some(id) = session.get::<Uuid>(USER_ID).await? else { return Ok(None) };
    let Some(u) = crate::services::accounts::active_user_by_id(db, id).await? else { return Ok(None) };
    let epoch = session.get::<String>(AUTH_EPOCH).await?;
    Ok((epoch.as_deref() == Some(auth_epoch(&u).as_str())).then_some(u))
}
