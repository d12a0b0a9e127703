//! The registry's audit trail: append-only, one chain per project. Each entry's hash covers the previous
//! entry's hash and its own fields, and the project's policy row holds the last hash and the count, so a
//! rewritten, inserted or removed row shows (`verify`). Appending takes the policy row first (a write), so
//! concurrent appends to one project take turns.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::entities::{registered_model as rm, registry_audit as row, registry_policy, user};
use crate::error::{Error, Result};

pub struct Entry<'a> {
    pub actor: &'a user::Model,
    pub action: &'a str,
    pub model: &'a rm::Model,
    pub alias: Option<&'a str>,
    pub version: Option<i32>,
    pub request: Option<Uuid>,
    pub detail: Value,
}

/// sha256 over the previous hash and every field, as one JSON array (unambiguous where fields meet).
pub fn digest(r: &row::Model) -> String {
    let fields = json!([
        r.prev_hash,
        r.project_id,
        r.seq,
        r.at_ms,
        r.actor_id,
        r.actor,
        r.action,
        r.model_id,
        r.model_name,
        r.alias,
        r.version,
        r.request_id,
        r.detail
    ]);
    hex::encode(Sha256::digest(fields.to_string().as_bytes()))
}

/// Appends an entry to the project's chain, inside the caller's transaction.
pub async fn append<C: ConnectionTrait>(txn: &C, e: Entry<'_>) -> Result<row::Model> {
    let project = e.model.project_id;
    super::policy::ensure(txn, project).await?;
    registry_policy::Entity::update_many()
        .col_expr(registry_policy::Column::AuditCount, Expr::col(registry_policy::Column::AuditCount).add(1))
        .filter(registry_policy::Column::ProjectId.eq(project))
        .exec(txn)
        .await?;
    let head =
        registry_policy::Entity::find_by_id(project).one(txn).await?.ok_or(Error::NotFound("project"))?;
    let mut r = row::Model {
        project_id: project,
        seq: head.audit_count,
        at_ms: super::now_ms(),
        actor_id: Some(e.actor.id),
        actor: e.actor.username.chars().take(64).collect(),
        action: e.action.into(),
        model_id: e.model.id,
        model_name: e.model.name.clone(),
        alias: e.alias.map(str::to_string),
        version: e.version,
        request_id: e.request,
        detail: e.detail.to_string(),
        prev_hash: head.audit_head.clone(),
        hash: String::new(),
    };
    r.hash = digest(&r);
    let active: row::ActiveModel = r.clone().into();
    active.insert(txn).await?;
    let mut h: registry_policy::ActiveModel = head.into();
    h.audit_head = Set(r.hash.clone());
    h.update(txn).await?;
    Ok(r)
}

/// The project's entries, oldest first.
pub async fn entries<C: ConnectionTrait>(db: &C, project: Uuid) -> Result<Vec<row::Model>> {
    Ok(row::Entity::find()
        .filter(row::Column::ProjectId.eq(project))
        .order_by_asc(row::Column::Seq)
        .all(db)
        .await?)
}

/// A page of the project's trail, oldest first: the `limit` entries before sequence number `before` (the
/// latest when `None`).
pub async fn page<C: ConnectionTrait>(
    db: &C,
    project: Uuid,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<row::Model>> {
    use sea_orm::QuerySelect;
    let mut q = row::Entity::find().filter(row::Column::ProjectId.eq(project));
    if let Some(b) = before {
        q = q.filter(row::Column::Seq.lt(b));
    }
    let mut rows = q.order_by_desc(row::Column::Seq).limit(limit).all(db).await?;
    rows.reverse();
    Ok(rows)
}

/// The first entry (by sequence number) where the chain breaks, `None` when it is intact: a row whose hash
/// does not match its fields, a gap, a row out of its chain, or a chain shorter than the head says.
pub async fn verify<C: ConnectionTrait>(db: &C, project: Uuid) -> Result<Option<i64>> {
    let rows = entries(db, project).await?;
    let mut prev = super::policy::GENESIS.to_string();
    for (i, r) in rows.iter().enumerate() {
        let seq = i as i64 + 1;
        if r.seq != seq || r.prev_hash != prev || digest(r) != r.hash {
            return Ok(Some(seq));
        }
        prev = r.hash.clone();
    }
    let head = registry_policy::Entity::find_by_id(project).one(db).await?;
    let (count, last) = head.map(|h| (h.audit_count, h.audit_head)).unwrap_or((0, prev.clone()));
    if count != rows.len() as i64 || last != prev {
        return Ok(Some(rows.len() as i64 + 1));
    }
    Ok(None)
}

/// Every move of `alias` of a model (`alias.set` with its version, `alias.delete` with none), oldest first.
pub async fn moves<C: ConnectionTrait>(db: &C, model: Uuid, alias: &str) -> Result<Vec<row::Model>> {
    Ok(row::Entity::find()
        .filter(row::Column::ModelId.eq(model))
        .filter(row::Column::Alias.eq(alias))
        .filter(row::Column::Action.is_in(["alias.set", "alias.delete"]))
        .order_by_asc(row::Column::AtMs)
        .order_by_asc(row::Column::Seq)
        .all(db)
        .await?)
}

/// The version `alias` pointed at, at `at_ms` (`None`: nowhere then).
pub fn at(moves: &[row::Model], at_ms: i64) -> Option<i32> {
    moves.iter().take_while(|m| m.at_ms <= at_ms).last().and_then(|m| m.version)
}
