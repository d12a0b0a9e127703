//! Model versions: registered from a source (a run's artifacts: `runs:/RUN/path`, or the run's artifact URI),
//! numbered from 1, with MLflow's stages, tags, and a download URI the artifact proxy serves.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, TransactionTrait,
};
use uuid::Uuid;

use super::{check_tag, filter, find, now_ms, readable, Caller, Found};
use crate::domain::Role;
use crate::entities::{
    model_alias, model_version as mv, model_version_tag as tag, registered_model as rm, run,
};
use crate::error::{Error, Result};

/// MLflow's stages, as it still accepts them.
pub const STAGES: [&str; 4] = ["None", "Staging", "Production", "Archived"];

/// A stage as MLflow spells it, whatever the case it was given in.
pub fn stage(s: &str) -> Result<&'static str> {
    STAGES
        .iter()
        .find(|x| x.eq_ignore_ascii_case(s))
        .copied()
        .ok_or_else(|| Error::invalid("stage", format!("invalid stage {s:?}: one of {}", STAGES.join(", "))))
}

/// The run a source names (`runs:/RUN/…`, or an artifact URI of Myelin's `mlflow-artifacts:/PROJECT/RUN/…`).
pub fn run_of_source(source: &str) -> Option<Uuid> {
    if let Some(rest) = source.strip_prefix("runs:/") {
        return Uuid::parse_str(rest.split('/').next()?).ok();
    }
    let rest = source.strip_prefix("mlflow-artifacts:/")?;
    Uuid::parse_str(rest.trim_start_matches('/').split('/').nth(1)?).ok()
}

/// Where a `runs:/RUN/path` source's files are: its run's artifacts behind the proxy.
fn run_storage(source: &str, project: Uuid, run: Uuid) -> Option<String> {
    let rest = source.strip_prefix("runs:/")?;
    let path = rest.split_once('/').map_or("", |(_, p)| p).trim_matches('/');
    let base = format!("mlflow-artifacts:/{}/{}/artifacts", project.simple(), run.simple());
    Some(if path.is_empty() { base } else { format!("{base}/{path}") })
}

/// The logged model a `models:/m-…` source names.
fn logged_of_source(source: &str) -> Option<&str> {
    source.strip_prefix("models:/").filter(|id| id.starts_with("m-") && !id.contains('/'))
}

pub struct NewVersion<'a> {
    pub source: &'a str,
    pub run_id: Option<Uuid>,
    /// MLflow 3's logged model (`m-…`) the version registers.
    pub model_id: Option<&'a str>,
    pub run_link: &'a str,
    pub description: &'a str,
    pub tags: &'a [(String, String)],
}

/// Registers a version (the next number). Its source run must be one the caller reads in the model's project;
/// a model without versions yet that the caller made moves to its first version's project.
pub async fn create(
    db: &DatabaseConnection,
    c: Caller<'_>,
    name: &str,
    n: NewVersion<'_>,
) -> Result<(Found, mv::Model)> {
    let mut f = find(db, c, name).await?;
    f.require(Role::Member)?;
    let logged = match n.model_id.filter(|m| !m.is_empty()).or_else(|| logged_of_source(n.source)) {
        Some(id) => Some(super::logged::get(db, c, id).await?),
        None => None,
    };
    let run_id = logged.as_ref().map(|l| l.run_id).or(n.run_id).or_else(|| run_of_source(n.source));
    if let Some(id) = run_id {
        let r = run::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("run"))?;
        let projects = readable(db, c).await?;
        let Some(role) = projects.get(&r.project_id).copied() else { return Err(Error::NotFound("run")) };
        if r.project_id != f.model.project_id {
            let empty =
                mv::Entity::find().filter(mv::Column::ModelId.eq(f.model.id)).one(db).await?.is_none();
            let clash = rm::Entity::find()
                .filter(rm::Column::ProjectId.eq(r.project_id))
                .filter(rm::Column::Name.eq(name))
                .one(db)
                .await?
                .is_some();
            if !(empty && f.model.created_by == c.user.id && role >= Role::Member && !clash) {
                return Err(Error::invalid(
                    "run_id",
                    format!("run {id} is in another project than the model {name}: register it in a model of its project"),
                ));
            }
            let mut m: rm::ActiveModel = f.model.clone().into();
            m.project_id = Set(r.project_id);
            f.model = m.update(db).await?;
            f.role = role;
        }
    }
    for (k, v) in n.tags {
        check_tag(k, v)?;
    }
    let txn = db.begin().await?;
    // Claim the model first (a write): concurrent registrations take their turns for the next number.
    rm::Entity::update_many()
        .col_expr(rm::Column::UpdatedMs, Expr::value(now_ms()))
        .filter(rm::Column::Id.eq(f.model.id))
        .exec(&txn)
        .await?;
    let last: Option<i32> = mv::Entity::find()
        .select_only()
        .column_as(mv::Column::Version.max(), "v")
        .filter(mv::Column::ModelId.eq(f.model.id))
        .into_tuple::<Option<i32>>()
        .one(&txn)
        .await?
        .flatten();
    let now = now_ms();
    let storage = match (&logged, run_id) {
        (Some(l), _) => super::logged::artifact_uri(l),
        (None, Some(run)) => {
            run_storage(n.source, f.model.project_id, run).unwrap_or_else(|| n.source.to_string())
        }
        (None, None) => n.source.to_string(),
    };
    let v = mv::ActiveModel {
        id: Set(Uuid::new_v4()),
        model_id: Set(f.model.id),
        version: Set(last.unwrap_or(0) + 1),
        source: Set(n.source.to_string()),
        storage: Set(storage),
        logged_model_id: Set(logged.map(|l| l.id)),
        run_id: Set(run_id),
        run_link: Set(n.run_link.to_string()),
        description: Set(n.description.to_string()),
        stage: Set("None".into()),
        status: Set("READY".into()),
        created_by: Set(c.user.id),
        created_ms: Set(now),
        updated_ms: Set(now),
    }
    .insert(&txn)
    .await?;
    for (k, val) in n.tags {
        tag::ActiveModel { version_id: Set(v.id), key: Set(k.clone()), value: Set(val.clone()) }
            .insert(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok((f, v))
}

/// Version `version` of the model.
pub async fn get(
    db: &DatabaseConnection,
    c: Caller<'_>,
    name: &str,
    version: i32,
) -> Result<(Found, mv::Model)> {
    let f = find(db, c, name).await?;
    let v = mv::Entity::find()
        .filter(mv::Column::ModelId.eq(f.model.id))
        .filter(mv::Column::Version.eq(version))
        .one(db)
        .await?
        .ok_or(Error::NotFound("model version"))?;
    Ok((f, v))
}

pub fn parse_version(s: &str) -> Result<i32> {
    s.trim()
        .parse::<i32>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| Error::invalid("version", format!("version {s:?} is not a positive integer")))
}

pub async fn by_alias(
    db: &DatabaseConnection,
    c: Caller<'_>,
    name: &str,
    alias: &str,
) -> Result<(Found, mv::Model)> {
    let f = find(db, c, name).await?;
    let a = model_alias::Entity::find_by_id((f.model.id, alias.to_string()))
        .one(db)
        .await?
        .ok_or(Error::NotFound("alias"))?;
    let v = mv::Entity::find_by_id(a.version_id).one(db).await?.ok_or(Error::NotFound("model version"))?;
    Ok((f, v))
}

pub async fn update(
    db: &DatabaseConnection,
    c: Caller<'_>,
    name: &str,
    version: i32,
    description: &str,
) -> Result<(Found, mv::Model)> {
    let (f, v) = get(db, c, name, version).await?;
    f.require(Role::Member)?;
    let mut m: mv::ActiveModel = v.into();
    m.description = Set(description.to_string());
    m.updated_ms = Set(now_ms());
    let v = m.update(db).await?;
    Ok((f, v))
}

/// Deleting a version a protected alias points at is refused (it would move the alias); the other aliases on
/// it go with it, each a move in the audit trail.
pub async fn delete(db: &DatabaseConnection, c: Caller<'_>, name: &str, version: i32) -> Result<()> {
    let (f, v) = get(db, c, name, version).await?;
    f.require(Role::Member)?;
    let policy = super::policy::of(db, f.model.project_id).await?;
    let held = model_alias::Entity::find().filter(model_alias::Column::VersionId.eq(v.id)).all(db).await?;
    if let Some(a) = held.iter().find(|a| policy.protects(&a.alias)) {
        return Err(Error::Forbidden(format!(
            "version {version} of {name} holds the protected alias {:?}: it moves only through an approved promotion request",
            a.alias
        )));
    }
    let txn = db.begin().await?;
    for a in &held {
        let e = super::audit::Entry {
            actor: c.user,
            action: "alias.delete",
            model: &f.model,
            alias: Some(&a.alias),
            version: None,
            request: None,
            detail: serde_json::json!({"reason": format!("version {version} deleted")}),
        };
        super::audit::append(&txn, e).await?;
    }
    mv::Entity::delete_by_id(v.id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

pub async fn set_tag(
    db: &DatabaseConnection,
    c: Caller<'_>,
    name: &str,
    version: i32,
    key: &str,
    value: &str,
) -> Result<()> {
    check_tag(key, value)?;
    let (f, v) = get(db, c, name, version).await?;
    f.require(Role::Member)?;
    tag::Entity::insert(tag::ActiveModel {
        version_id: Set(v.id),
        key: Set(key.to_string()),
        value: Set(value.to_string()),
    })
    .on_conflict(
        OnConflict::columns([tag::Column::VersionId, tag::Column::Key])
            .update_column(tag::Column::Value)
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

pub async fn delete_tag(
    db: &DatabaseConnection,
    c: Caller<'_>,
    name: &str,
    version: i32,
    key: &str,
) -> Result<()> {
    let (f, v) = get(db, c, name, version).await?;
    f.require(Role::Member)?;
    if tag::Entity::delete_by_id((v.id, key.to_string())).exec(db).await?.rows_affected == 0 {
        return Err(Error::NotFound("tag"));
    }
    Ok(())
}

/// MLflow's stage transition; `archive_existing`: the model's other versions in that stage go to `Archived`.
pub async fn transition(
    db: &DatabaseConnection,
    c: Caller<'_>,
    name: &str,
    version: i32,
    to: &str,
    archive_existing: bool,
) -> Result<(Found, mv::Model)> {
    let to = stage(to)?;
    let (f, v) = get(db, c, name, version).await?;
    f.require(Role::Member)?;
    let txn = db.begin().await?;
    let now = now_ms();
    if archive_existing && matches!(to, "Staging" | "Production") {
        mv::Entity::update_many()
            .col_expr(mv::Column::Stage, Expr::value("Archived"))
            .col_expr(mv::Column::UpdatedMs, Expr::value(now))
            .filter(mv::Column::ModelId.eq(f.model.id))
            .filter(mv::Column::Stage.eq(to))
            .filter(mv::Column::Id.ne(v.id))
            .exec(&txn)
            .await?;
    }
    let mut m: mv::ActiveModel = v.into();
    m.stage = Set(to.to_string());
    m.updated_ms = Set(now);
    let v = m.update(&txn).await?;
    txn.commit().await?;
    Ok((f, v))
}

/// The latest version of each of `stages` (every stage when empty).
pub async fn latest(
    db: &DatabaseConnection,
    c: Caller<'_>,
    name: &str,
    stages: &[String],
) -> Result<(Found, Vec<mv::Model>)> {
    let f = find(db, c, name).await?;
    let wanted: Vec<&str> = stages.iter().map(|s| stage(s)).collect::<Result<_>>()?;
    let mut by_stage: HashMap<String, mv::Model> = HashMap::new();
    for v in mv::Entity::find()
        .filter(mv::Column::ModelId.eq(f.model.id))
        .order_by_asc(mv::Column::Version)
        .all(db)
        .await?
    {
        if wanted.is_empty() || wanted.contains(&v.stage.as_str()) {
            by_stage.insert(v.stage.clone(), v);
        }
    }
    let mut out: Vec<mv::Model> = by_stage.into_values().collect();
    out.sort_by_key(|v| v.version);
    Ok((f, out))
}

/// A version as MLflow shows it: its model's name and project, tags and aliases.
#[derive(Debug, Clone)]
pub struct VersionView {
    pub name: String,
    pub project: Uuid,
    pub version: mv::Model,
    pub tags: Vec<(String, String)>,
    pub aliases: Vec<String>,
}

pub async fn views(db: &DatabaseConnection, versions: Vec<mv::Model>) -> Result<Vec<VersionView>> {
    let ids: Vec<Uuid> = versions.iter().map(|v| v.id).collect();
    let models: HashMap<Uuid, rm::Model> = rm::Entity::find()
        .filter(rm::Column::Id.is_in(versions.iter().map(|v| v.model_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let mut tags: HashMap<Uuid, Vec<(String, String)>> = HashMap::new();
    for t in tag::Entity::find()
        .filter(tag::Column::VersionId.is_in(ids.clone()))
        .order_by_asc(tag::Column::Key)
        .all(db)
        .await?
    {
        tags.entry(t.version_id).or_default().push((t.key, t.value));
    }
    let mut aliases: HashMap<Uuid, Vec<String>> = HashMap::new();
    for a in model_alias::Entity::find()
        .filter(model_alias::Column::VersionId.is_in(ids))
        .order_by_asc(model_alias::Column::Alias)
        .all(db)
        .await?
    {
        aliases.entry(a.version_id).or_default().push(a.alias);
    }
    Ok(versions
        .into_iter()
        .filter_map(|v| {
            let m = models.get(&v.model_id)?;
            Some(VersionView {
                name: m.name.clone(),
                project: m.project_id,
                tags: tags.remove(&v.id).unwrap_or_default(),
                aliases: aliases.remove(&v.id).unwrap_or_default(),
                version: v,
            })
        })
        .collect())
}

/// Versions the caller can read that pass `filter` (`name`, `run_id`, `source_path`, `version_number`, tags),
/// ordered (`name`, `version_number`, `creation_timestamp`, `last_updated_timestamp`; name ASC then newest
/// version first by default), from `offset`; at most `max`, and whether more follow.
pub async fn search(
    db: &DatabaseConnection,
    c: Caller<'_>,
    filter: &str,
    order_by: &[String],
    offset: usize,
    max: usize,
) -> Result<(Vec<VersionView>, bool)> {
    let f = filter::parse(filter, &["name", "run_id", "source_path", "version_number", "tags"])?;
    let projects = readable(db, c).await?;
    let mut mq = rm::Entity::find().filter(rm::Column::ProjectId.is_in(projects.keys().copied()));
    if let Some(names) = f.exact(&filter::Field::Name) {
        mq = mq.filter(rm::Column::Name.is_in(names));
    }
    let models: HashMap<Uuid, rm::Model> = mq.all(db).await?.into_iter().map(|m| (m.id, m)).collect();
    let mut vq = mv::Entity::find().filter(mv::Column::ModelId.is_in(models.keys().copied()));
    if let Some(runs) = f.exact(&filter::Field::RunId) {
        let runs: Vec<Uuid> = runs.iter().filter_map(|r| Uuid::parse_str(r).ok()).collect();
        vq = vq.filter(mv::Column::RunId.is_in(runs));
    }
    let versions = vq.all(db).await?;
    // Tags are read only for a filter that names them (the page's own are read for the answer).
    let mut tags: HashMap<Uuid, HashMap<String, String>> = HashMap::new();
    if filter.contains("tag") {
        for t in tag::Entity::find()
            .filter(tag::Column::VersionId.is_in(versions.iter().map(|v| v.id)))
            .all(db)
            .await?
        {
            tags.entry(t.version_id).or_default().insert(t.key, t.value);
        }
    }
    let mut hits: Vec<mv::Model> = versions
        .into_iter()
        .filter(|v| {
            f.matches(|field| match field {
                filter::Field::Name => models.get(&v.model_id).map(|m| m.name.clone()),
                filter::Field::RunId => v.run_id.map(|r| r.simple().to_string()),
                filter::Field::Source => Some(v.source.clone()),
                filter::Field::Version => Some(v.version.to_string()),
                filter::Field::Tag(k) => tags.get(&v.id).and_then(|t| t.get(k).cloned()),
                filter::Field::Attr(_) => None,
            })
        })
        .collect();
    let fields = ["name", "version_number", "creation_timestamp", "last_updated_timestamp", "timestamp"];
    let (key, desc) = super::order(order_by, &fields)?;
    let name = |v: &mv::Model| models.get(&v.model_id).map(|m| m.name.clone()).unwrap_or_default();
    hits.sort_by(|a, b| {
        let o = match key {
            "version_number" => a.version.cmp(&b.version),
            "creation_timestamp" => a.created_ms.cmp(&b.created_ms),
            "last_updated_timestamp" | "timestamp" => a.updated_ms.cmp(&b.updated_ms),
            _ => name(a).cmp(&name(b)).then(b.version.cmp(&a.version)),
        };
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    let more = hits.len() > offset + max;
    let page: Vec<mv::Model> = hits.into_iter().skip(offset).take(max).collect();
    Ok((views(db, page).await?, more))
}
