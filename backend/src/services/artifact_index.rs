//! Files stored before the artifacts index existed (or written to the store by something other than the server)
//! indexed after the fact: each run's files in the store that the index lacks are read once, hashed and recorded,
//! so search, digests and lineage see them too (not a run's log archive, `logs/main.log`, which is its Logs tab's).
//! `myelin admin reindex-artifacts`.

use futures_util::StreamExt;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sha2::Digest;
use uuid::Uuid;

use crate::artifacts::{Artifacts, Stored};
use crate::entities::{artifact, run};
use crate::error::Result;

/// What a reindex found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reindexed {
    pub runs: u64,
    /// Files the index already held.
    pub known: u64,
    /// Files recorded now, and their bytes.
    pub added: u64,
    pub bytes: u64,
}

/// Indexes every run's stored files the index lacks (of one project, or of all); `progress` hears each file
/// recorded. Files are streamed through sha256, never held whole.
pub async fn reindex(
    db: &DatabaseConnection,
    store: &Artifacts,
    project: Option<Uuid>,
    mut progress: impl FnMut(&run::Model, &str, u64),
) -> Result<Reindexed> {
    let mut done = Reindexed::default();
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = run::Entity::find().order_by_asc(run::Column::Id).limit(200);
        if let Some(p) = project {
            q = q.filter(run::Column::ProjectId.eq(p));
        }
        if let Some(a) = after {
            q = q.filter(run::Column::Id.gt(a));
        }
        let runs = q.all(db).await?;
        let Some(last) = runs.last() else { break };
        after = Some(last.id);
        for r in &runs {
            done.runs += 1;
            let stored = store.walk(r.project_id, r.id, "").await?;
            if stored.is_empty() {
                continue;
            }
            let known: std::collections::HashSet<String> = artifact::Entity::find()
                .select_only()
                .column(artifact::Column::Path)
                .filter(artifact::Column::RunId.eq(r.id))
                .into_tuple::<String>()
                .all(db)
                .await?
                .into_iter()
                .collect();
            for (path, _) in stored {
                // The run's log archive is its Logs tab's, not one of its artifacts.
                if path == crate::executor::logs::LOG_KEY {
                    continue;
                }
                if known.contains(&path) {
                    done.known += 1;
                    continue;
                }
                let key = Artifacts::run_key(r.project_id, r.id, &path)?;
                let (_, mut body) = store.get(&key).await?;
                let (mut size, mut digest) = (0u64, sha2::Sha256::new());
                while let Some(chunk) = body.next().await {
                    let chunk = chunk.map_err(crate::artifacts::store_err)?;
                    size += chunk.len() as u64;
                    digest.update(&chunk);
                }
                let s = Stored { size, sha256: hex::encode(digest.finalize()) };
                super::artifacts::record(db, r, &path, &s).await?;
                progress(r, &path, size);
                done.added += 1;
                done.bytes += size;
            }
        }
    }
    Ok(done)
}
