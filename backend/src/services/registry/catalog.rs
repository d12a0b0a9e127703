//! The registry as Myelin's API and pages show it, per project: models with their aliases (protected ones
//! marked), a model's versions and reviewers, a version's lineage, alias history and the audit trail.

use std::collections::{BTreeMap, HashMap};

use api_types::{
    AliasHistory, AliasInfo, AliasMove, AuditEntry, AuditTrail, Lineage, ModelDetail, ModelSummary,
    RegistryPolicy, VersionDetail, VersionSummary,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use uuid::Uuid;

use super::review::{model_in, version_in};
use super::{audit, now_ms, policy};
use crate::domain::Role;
use crate::entities::{
    latest_metric, member, model_alias, model_reviewer, model_version as mv, model_version_tag as vtag,
    registered_model as rm, registered_model_tag as mtag, registry_audit, run, user,
};
use crate::error::{Error, Result};
use crate::services::projects::ProjectAccess;

/// Models a page lists at most.
pub const MAX_MODELS: u64 = 1000;

pub fn policy_view(p: &policy::Policy) -> RegistryPolicy {
    RegistryPolicy { protected_aliases: p.protected.clone(), required_approvals: p.approvals }
}

/// The project's models whose name contains `q` (any case), by name.
pub async fn models(db: &DatabaseConnection, a: &ProjectAccess, q: &str) -> Result<Vec<ModelSummary>> {
    use sea_orm::QuerySelect;
    let all = rm::Entity::find()
        .filter(rm::Column::ProjectId.eq(a.project.id))
        .order_by_asc(rm::Column::Name)
        .limit(MAX_MODELS)
        .all(db)
        .await?;
    let q = q.trim().to_lowercase();
    let models: Vec<rm::Model> =
        all.into_iter().filter(|m| q.is_empty() || m.name.to_lowercase().contains(&q)).collect();
    summaries(db, a.project.id, models).await
}

async fn summaries(
    db: &DatabaseConnection,
    project: Uuid,
    models: Vec<rm::Model>,
) -> Result<Vec<ModelSummary>> {
    let p = policy::of(db, project).await?;
    let ids: Vec<Uuid> = models.iter().map(|m| m.id).collect();
    let versions = mv::Entity::find().filter(mv::Column::ModelId.is_in(ids.clone())).all(db).await?;
    let number: HashMap<Uuid, i32> = versions.iter().map(|v| (v.id, v.version)).collect();
    let mut count: HashMap<Uuid, (usize, i32)> = HashMap::new();
    for v in &versions {
        let e = count.entry(v.model_id).or_default();
        e.0 += 1;
        e.1 = e.1.max(v.version);
    }
    let mut aliases: HashMap<Uuid, Vec<AliasInfo>> = HashMap::new();
    for al in model_alias::Entity::find()
        .filter(model_alias::Column::ModelId.is_in(ids.clone()))
        .order_by_asc(model_alias::Column::Alias)
        .all(db)
        .await?
    {
        aliases.entry(al.model_id).or_default().push(AliasInfo {
            protected: p.protects(&al.alias),
            version: number.get(&al.version_id).copied().unwrap_or_default(),
            alias: al.alias,
        });
    }
    let mut tags: HashMap<Uuid, BTreeMap<String, String>> = HashMap::new();
    for t in mtag::Entity::find().filter(mtag::Column::ModelId.is_in(ids)).all(db).await? {
        tags.entry(t.model_id).or_default().insert(t.key, t.value);
    }
    Ok(models
        .into_iter()
        .map(|m| {
            let (n, latest) = count.get(&m.id).copied().unwrap_or_default();
            ModelSummary {
                latest_version: (n > 0).then_some(latest),
                versions: n,
                aliases: aliases.remove(&m.id).unwrap_or_default(),
                tags: tags.remove(&m.id).unwrap_or_default(),
                updated_ms: m.updated_ms,
                description: m.description,
                name: m.name,
            }
        })
        .collect())
}

async fn version_summaries(db: &DatabaseConnection, versions: Vec<mv::Model>) -> Result<Vec<VersionSummary>> {
    let ids: Vec<Uuid> = versions.iter().map(|v| v.id).collect();
    let runs: HashMap<Uuid, run::Model> = run::Entity::find()
        .filter(run::Column::Id.is_in(versions.iter().filter_map(|v| v.run_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let mut metrics: HashMap<Uuid, BTreeMap<String, f64>> = HashMap::new();
    for m in latest_metric::Entity::find()
        .filter(latest_metric::Column::RunId.is_in(runs.keys().copied()))
        .all(db)
        .await?
    {
        if let Some(v) = m.value.filter(|v| v.is_finite()) {
            metrics.entry(m.run_id).or_default().insert(m.key, v);
        }
    }
    let mut aliases: HashMap<Uuid, Vec<String>> = HashMap::new();
    for a in model_alias::Entity::find()
        .filter(model_alias::Column::VersionId.is_in(ids.clone()))
        .order_by_asc(model_alias::Column::Alias)
        .all(db)
        .await?
    {
        aliases.entry(a.version_id).or_default().push(a.alias);
    }
    let mut tags: HashMap<Uuid, BTreeMap<String, String>> = HashMap::new();
    for t in vtag::Entity::find().filter(vtag::Column::VersionId.is_in(ids)).all(db).await? {
        tags.entry(t.version_id).or_default().insert(t.key, t.value);
    }
    let people: Vec<Uuid> = versions.iter().map(|v| v.created_by).collect();
    let names = crate::services::runs::usernames(db, people.into_iter()).await?;
    Ok(versions
        .into_iter()
        .map(|v| {
            let r = v.run_id.and_then(|id| runs.get(&id));
            VersionSummary {
                version: v.version,
                source: v.source.clone(),
                run: r.map(|r| r.id),
                run_name: r.map(|r| r.name.clone()),
                status: v.status.clone(),
                stage: v.stage.clone(),
                aliases: aliases.remove(&v.id).unwrap_or_default(),
                tags: tags.remove(&v.id).unwrap_or_default(),
                description: v.description.clone(),
                created_ms: v.created_ms,
                created_by: names.get(&v.created_by).cloned().unwrap_or_default(),
                metrics: r.and_then(|r| metrics.get(&r.id).cloned()).unwrap_or_default(),
            }
        })
        .collect())
}

pub async fn model(db: &DatabaseConnection, a: &ProjectAccess, name: &str) -> Result<ModelDetail> {
    let m = model_in(db, a, name).await?;
    let versions = mv::Entity::find()
        .filter(mv::Column::ModelId.eq(m.id))
        .order_by_desc(mv::Column::Version)
        .all(db)
        .await?;
    let reviewers =
        model_reviewer::Entity::find().filter(model_reviewer::Column::ModelId.eq(m.id)).all(db).await?;
    let people: Vec<Uuid> = reviewers.iter().map(|r| r.user_id).collect();
    let mut reviewers: Vec<String> =
        crate::services::runs::usernames(db, people.into_iter()).await?.into_values().collect();
    reviewers.sort();
    let requests = super::inbox::of_model(db, m.id, None).await?;
    Ok(ModelDetail {
        model: summaries(db, a.project.id, vec![m]).await?.remove(0),
        versions: version_summaries(db, versions).await?,
        reviewers,
        policy: policy_view(&policy::of(db, a.project.id).await?),
        requests,
    })
}

/// A member edits a model's description.
pub async fn describe(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    name: &str,
    description: &str,
) -> Result<ModelDetail> {
    if a.role < Role::Member {
        return Err(Error::Forbidden("editing a model needs the member role".into()));
    }
    if description.len() > 20_000 {
        return Err(Error::invalid("description", "at most 20,000 characters"));
    }
    let m = model_in(db, a, name).await?;
    let mut am: rm::ActiveModel = m.into();
    am.description = Set(description.to_string());
    am.updated_ms = Set(now_ms());
    am.update(db).await?;
    model(db, a, name).await
}

/// A project admin names the model's reviewers (members of the project) besides its admins and owner.
pub async fn set_reviewers(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    name: &str,
    users: &[String],
) -> Result<ModelDetail> {
    if a.role < Role::Admin {
        return Err(Error::Forbidden("naming reviewers needs the admin role".into()));
    }
    if users.len() > 100 {
        return Err(Error::invalid("reviewers", "at most 100 reviewers"));
    }
    let m = model_in(db, a, name).await?;
    let mut ids = Vec::new();
    for u in users {
        let found = user::Entity::find().filter(user::Column::Username.eq(u.as_str())).one(db).await?;
        let member = match &found {
            Some(f) => member::Entity::find_by_id((a.project.id, f.id)).one(db).await?.is_some(),
            None => false,
        };
        match found {
            Some(f) if member => ids.push(f.id),
            _ => return Err(Error::invalid("reviewers", format!("{u} is not a member of {}", a.path()))),
        }
    }
    let txn = db.begin().await?;
    model_reviewer::Entity::delete_many().filter(model_reviewer::Column::ModelId.eq(m.id)).exec(&txn).await?;
    for id in ids {
        model_reviewer::ActiveModel { model_id: Set(m.id), user_id: Set(id) }.insert(&txn).await?;
    }
    txn.commit().await?;
    model(db, a, name).await
}

pub async fn version(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    name: &str,
    number: i32,
) -> Result<VersionDetail> {
    let m = model_in(db, a, name).await?;
    let v = version_in(db, &m, number).await?;
    let lineage = match v.run_id {
        Some(id) => lineage(db, a, id).await?,
        None => None,
    };
    let mut history = Vec::new();
    let rows = registry_audit::Entity::find()
        .filter(registry_audit::Column::ModelId.eq(m.id))
        .filter(registry_audit::Column::Action.is_in(["alias.set", "alias.delete"]))
        .order_by_asc(registry_audit::Column::Seq)
        .all(db)
        .await?;
    // Moves onto this version, and the move that next took each alias away from it.
    let mut on: HashMap<String, bool> = HashMap::new();
    for r in rows {
        let alias = r.alias.clone().unwrap_or_default();
        let here = r.version == Some(number) && r.action == "alias.set";
        let was = on.get(&alias).copied().unwrap_or(false);
        if here || was {
            history.push(move_of(&r));
        }
        on.insert(alias, here);
    }
    let files_path = v.storage.split("/artifacts/").nth(1).map(|p| format!("artifacts/{p}"));
    let requests = super::inbox::of_model(db, m.id, Some(v.id)).await?;
    Ok(VersionDetail {
        model: m.name,
        storage: v.storage.clone(),
        files_path: files_path.filter(|_| lineage.is_some()),
        version: version_summaries(db, vec![v]).await?.remove(0),
        lineage,
        history,
        requests,
    })
}

async fn lineage(db: &DatabaseConnection, a: &ProjectAccess, id: Uuid) -> Result<Option<Lineage>> {
    let Ok(r) = crate::services::runs::find(db, a, id).await else { return Ok(None) };
    if r.deleted_at.is_some() {
        return Ok(None);
    }
    let data = crate::services::tracking::data_of(db, &[r.id]).await?.remove(&r.id).unwrap_or_default();
    Ok(Some(Lineage {
        run: r.id,
        run_name: r.name.clone(),
        status: r.status.clone(),
        params: data.params,
        metrics: data.metrics.into_iter().filter_map(|m| m.last.map(|v| (m.key, v))).collect(),
        image: r.image.clone(),
        image_digest: r.image_id.clone(),
        git_commit: r.git_commit.clone(),
        datasets: crate::services::compare::datasets(r.inputs.as_ref()),
    }))
}

fn move_of(r: &registry_audit::Model) -> AliasMove {
    AliasMove {
        alias: r.alias.clone().unwrap_or_default(),
        at_ms: r.at_ms,
        version: if r.action == "alias.set" { r.version } else { None },
        actor: r.actor.clone(),
        request: r.request_id,
    }
}

/// What `alias` pointed at, at `at` (now when not given), and all its moves.
pub async fn alias_history(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    name: &str,
    alias: &str,
    at: Option<i64>,
) -> Result<AliasHistory> {
    let m = model_in(db, a, name).await?;
    let moves = audit::moves(db, m.id, alias).await?;
    Ok(AliasHistory {
        alias: alias.to_string(),
        at_ms: at,
        version_at: audit::at(&moves, at.unwrap_or(i64::MAX)),
        moves: moves.iter().map(move_of).collect(),
    })
}

/// Entries an audit page holds at most (and by default).
pub const AUDIT_PAGE: u64 = 500;

/// A page of the project's trail (the `limit` entries before `before`, oldest first) and whether the whole
/// chain holds.
pub async fn audit_trail(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    before: Option<i64>,
    limit: Option<u64>,
) -> Result<AuditTrail> {
    let limit = limit.unwrap_or(AUDIT_PAGE).clamp(1, AUDIT_PAGE);
    let rows = audit::page(db, a.project.id, before, limit).await?;
    let broken_at = audit::verify(db, a.project.id).await?;
    let next_before = rows.first().map(|r| r.seq).filter(|s| *s > 1 && rows.len() as u64 == limit);
    Ok(AuditTrail {
        entries: rows
            .into_iter()
            .map(|r| AuditEntry {
                seq: r.seq,
                at_ms: r.at_ms,
                actor: r.actor,
                action: r.action,
                model: r.model_name,
                alias: r.alias,
                version: r.version,
                request: r.request_id,
                detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
                hash: r.hash,
            })
            .collect(),
        intact: broken_at.is_none(),
        broken_at,
        next_before,
    })
}

/// Sets the project's registry policy: a project admin's call.
pub async fn set_policy(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    p: &RegistryPolicy,
) -> Result<RegistryPolicy> {
    if a.role < Role::Admin {
        return Err(Error::Forbidden("changing the registry policy needs the admin role".into()));
    }
    let p = policy::Policy { protected: p.protected_aliases.clone(), approvals: p.required_approvals };
    Ok(policy_view(&policy::set(db, a.project.id, &p).await?))
}
