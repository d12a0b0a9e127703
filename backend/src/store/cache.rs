//! A run's cache record (the `cache` column): its shape, how it is read, and an image digest the executor
//! learns joining its key (later runs of the same tag are then keyed with the digest).

pub use api_types::CacheInfo;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entities::run;
use crate::error::Result;

pub fn info_of(r: &run::Model) -> Option<CacheInfo> {
    r.cache.clone().and_then(|c| serde_json::from_value(c).ok())
}

/// An executor learnt the digest the run's image resolved to: from now on the run's key includes it, so a
/// later run of the same tag matches it only while the tag still resolves there.
pub async fn learn_digest(db: &DatabaseConnection, id: Uuid, digest: &str) -> Result<()> {
    let Some(r) = run::Entity::find_by_id(id).one(db).await? else { return Ok(()) };
    let Some(mut info) = info_of(&r).filter(|i| !i.hit) else { return Ok(()) };
    let mut changed = false;
    for c in
        info.inputs.containers.iter_mut().filter(|c| c.digest.is_none() && Some(&c.image) == r.image.as_ref())
    {
        c.digest = Some(digest.to_string());
        changed = true;
    }
    if !changed {
        return Ok(());
    }
    info.key = info.inputs.key();
    run::Entity::update_many()
        .col_expr(run::Column::CacheKey, sea_orm::sea_query::Expr::value(info.key.clone()))
        .col_expr(
            run::Column::Cache,
            sea_orm::sea_query::Expr::value(serde_json::to_value(&info).unwrap_or_default()),
        )
        .filter(run::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
