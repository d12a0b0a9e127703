//! The database schema, for SQLite and PostgreSQL alike. Migrations run at start-up.

pub use sea_orm_migration::prelude::*;

mod m0001_accounts_projects;
mod m0002_runs;
mod m0003_tracking;
mod m0004_dispatch;
mod m0005_cache;
mod m0006_pipelines;
mod m0007_components;
mod m0008_invitations;
mod m0009_disable_and_expiry;
mod m0010_audit;
mod m0011_project_limits;
mod m0012_overview_indexes;
mod m0013_metric_summaries;
mod m0014_registry;
mod m0015_reviews;
mod m0016_artifacts;
mod m0017_experiment_tags;
mod m0018_upload_sessions;
mod m0019_chunk_compression;
mod m0020_upload_parts;
mod m0021_cheaper_metric_writes;
mod m0022_tracking_journal;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_accounts_projects::Migration),
            Box::new(m0002_runs::Migration),
            Box::new(m0003_tracking::Migration),
            Box::new(m0004_dispatch::Migration),
            Box::new(m0005_cache::Migration),
            Box::new(m0006_pipelines::Migration),
            Box::new(m0007_components::Migration),
            Box::new(m0008_invitations::Migration),
            Box::new(m0009_disable_and_expiry::Migration),
            Box::new(m0010_audit::Migration),
            Box::new(m0011_project_limits::Migration),
            Box::new(m0012_overview_indexes::Migration),
            Box::new(m0013_metric_summaries::Migration),
            Box::new(m0014_registry::Migration),
            Box::new(m0015_reviews::Migration),
            Box::new(m0016_artifacts::Migration),
            Box::new(m0017_experiment_tags::Migration),
            Box::new(m0018_upload_sessions::Migration),
            Box::new(m0019_chunk_compression::Migration),
            Box::new(m0020_upload_parts::Migration),
            Box::new(m0021_cheaper_metric_writes::Migration),
            Box::new(m0022_tracking_journal::Migration),
        ]
    }
}
