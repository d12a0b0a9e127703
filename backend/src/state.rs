//! What every request handler and server function can reach.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::limit::LoginLimiter;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub limiter: Arc<LoginLimiter>,
    pub secure_cookies: bool,
}

impl AppState {
    pub fn new(db: DatabaseConnection, secure_cookies: bool) -> Self {
        Self { db, limiter: Arc::new(LoginLimiter::default()), secure_cookies }
    }
}
