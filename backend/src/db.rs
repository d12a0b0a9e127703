//! Connects to SQLite or PostgreSQL and applies the migrations.

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::error::{Error, Result};

/// From now on, files and directories this process creates are its user's alone (umask 077).
pub fn private_files() {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
}

/// Creates `dir` readable by this user only (the database and session ids live there); an existing one open
/// to others is reported, not changed (it may be a directory the operator shares on purpose).
pub fn private_dir(dir: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::Internal(format!("cannot create {}: {e}", dir.display())))?;
    } else if let Ok(m) = std::fs::metadata(dir) {
        if m.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "{} is readable by other users of this machine; `chmod 700` it (it holds the database)",
                dir.display()
            );
        }
    }
    Ok(())
}

pub async fn connect(url: &str) -> Result<DatabaseConnection> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or(path);
        if let Some(dir) = std::path::Path::new(file).parent().filter(|d| !d.as_os_str().is_empty()) {
            private_dir(dir)?;
        }
    }
    let sqlite = url.starts_with("sqlite");
    let mut opts = ConnectOptions::new(url.to_string());
    // A SQLite connection is a file handle that cannot go away: pinging it before each use (sqlx's default)
    // only adds a round trip to its worker thread to every query. PostgreSQL's are still checked (a restarted
    // server).
    opts.sqlx_logging(false).max_connections(if sqlite { 8 } else { 16 }).test_before_acquire(!sqlite);
    // On every SQLite connection: WAL lets readers proceed while the single writer commits; busy_timeout
    // queues writers instead of failing them; synchronous=NORMAL is WAL's recommended setting (no corruption on
    // a crash, one fsync per checkpoint instead of per commit).
    opts.map_sqlx_sqlite_opts(|o| {
        use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
        o.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(5))
            .foreign_keys(true)
    });
    let db = Database::connect(opts).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}
