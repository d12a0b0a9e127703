//! The model registry (MLflow's, on its wire format): registered models, their versions, tags and aliases.
//!
//! A model belongs to one project and its name is unique there; who may do what follows the project's roles
//! (viewer reads; member registers, tags, aliases; admin deletes a model). MLflow's API names models without a
//! project, so a name is looked up among the projects the caller can read (a run token: its run's project
//! only); a name in two of them is refused as ambiguous. A model is created in the caller's `default` project
//! (MLflow's experiment 0) and moves, with its first version, to the project of that version's source run:
//! `mlflow.register_model("runs:/…")` puts the model beside the run. Protected aliases (the project's
//! `policy`) never move through these calls: they move through an approved promotion request (`review`).
//! Every alias move is in the project's audit trail (`audit`).

pub mod audit;
pub mod catalog;
pub mod filter;
pub mod inbox;
pub mod logged;
pub mod policy;
pub mod review;
pub mod versions;

use std::collections::HashMap;

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    Set, TransactionTrait,
};
use uuid::Uuid;

use crate::domain::Role;
use crate::entities::{
    member, model_alias, model_version, registered_model as rm, registered_model_tag, user,
};
use crate::error::{Error, Result};

/// MLflow's limits on names and tag values.
pub const MAX_NAME: usize = 256;
pub const MAX_TAG_VALUE: usize = 5000;

/// Who calls: a user, or a run token (`only`: the run's project, the only one it reaches).
#[derive(Clone, Copy)]
pub struct Caller<'a> {
    pub user: &'a user::Model,
    pub only: Option<Uuid>,
    /// A run token's run: the only run whose logged models it writes.
    pub run: Option<Uuid>,
}

/// A model with the caller's role in its project.
#[derive(Debug, Clone)]
pub struct Found {
    pub model: rm::Model,
    pub role: Role,
}

impl Found {
    pub fn require(&self, min: Role) -> Result<()> {
        if self.role >= min {
            Ok(())
        } else {
            Err(Error::Forbidden(format!("this needs the {} role in the model's project", min.as_str())))
        }
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The projects the caller can read, with their role.
pub async fn readable(db: &DatabaseConnection, c: Caller<'_>) -> Result<HashMap<Uuid, Role>> {
    let mut out = HashMap::new();
    for m in member::Entity::find().filter(member::Column::UserId.eq(c.user.id)).all(db).await? {
        if c.only.is_none_or(|p| p == m.project_id) {
            out.insert(m.project_id, Role::parse(&m.role)?);
        }
    }
    Ok(out)
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.len() > MAX_NAME {
        return Err(Error::invalid("name", format!("a model name has 1 to {MAX_NAME} characters")));
    }
    Ok(())
}

/// The model called `name` among the caller's projects.
pub async fn find(db: &DatabaseConnection, c: Caller<'_>, name: &str) -> Result<Found> {
    let projects = readable(db, c).await?;
    let mut hits: Vec<rm::Model> = rm::Entity::find()
        .filter(rm::Column::Name.eq(name))
        .filter(rm::Column::ProjectId.is_in(projects.keys().copied()))
        .all(db)
        .await?;
    match hits.len() {
        0 => Err(Error::NotFound("registered model")),
        1 => {
            let model = hits.remove(0);
            Ok(Found { role: projects[&model.project_id], model })
        }
        n => Err(Error::invalid(
            "name",
            format!("{n} of your projects have a model named {name:?}: use a run token of one of them"),
        )),
    }
}

/// A new model in the caller's `default` project (a run token: its run's project); its first version moves it
/// beside its source run.
pub async fn create(
    db: &DatabaseConnection,
    c: Caller<'_>,
    home: Uuid,
    name: &str,
    description: &str,
    tags: &[(String, String)],
) -> Result<rm::Model> {
    check_name(name)?;
    match find(db, c, name).await {
        Ok(_) => return Err(Error::AlreadyExists(format!("Registered Model (name={name}) already exists"))),
        Err(Error::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    let now = now_ms();
    let m = rm::ActiveModel {
        id: Set(Uuid::new_v4()),
        project_id: Set(home),
        name: Set(name.to_string()),
        description: Set(description.to_string()),
        created_by: Set(c.user.id),
        created_ms: Set(now),
        updated_ms: Set(now),
    }
    .insert(db)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            Error::AlreadyExists(format!("Registered Model (name={name}) already exists"))
        }
        _ => e.into(),
    })?;
    for (k, v) in tags {
        set_tag(db, c, name, k, v).await?;
    }
    Ok(m)
}

pub async fn rename(db: &DatabaseConnection, c: Caller<'_>, name: &str, new_name: &str) -> Result<rm::Model> {
    check_name(new_name)?;
    let f = find(db, c, name).await?;
    f.require(Role::Member)?;
    if new_name != name && find(db, c, new_name).await.is_ok() {
        return Err(Error::AlreadyExists(format!("Registered Model (name={new_name}) already exists")));
    }
    let mut m: rm::ActiveModel = f.model.into();
    m.name = Set(new_name.to_string());
    m.updated_ms = Set(now_ms());
    Ok(m.update(db).await?)
}

pub async fn update(
    db: &DatabaseConnection,
    c: Caller<'_>,
    name: &str,
    description: &str,
) -> Result<rm::Model> {
    let f = find(db, c, name).await?;
    f.require(Role::Member)?;
    let mut m: rm::ActiveModel = f.model.into();
    m.description = Set(description.to_string());
    m.updated_ms = Set(now_ms());
    Ok(m.update(db).await?)
}

/// Deleting a model deletes its versions, tags and aliases: a project admin's call, and never while a protected
/// alias points into it.
pub async fn delete(db: &DatabaseConnection, c: Caller<'_>, name: &str) -> Result<()> {
    let f = find(db, c, name).await?;
    f.require(Role::Admin)?;
    let policy = policy::of(db, f.model.project_id).await?;
    let held =
        model_alias::Entity::find().filter(model_alias::Column::ModelId.eq(f.model.id)).all(db).await?;
    if let Some(a) = held.iter().find(|a| policy.protects(&a.alias)) {
        return Err(Error::Forbidden(format!(
            "{name} has the protected alias {:?}: it moves only through an approved promotion request",
            a.alias
        )));
    }
    rm::Entity::delete_by_id(f.model.id).exec(db).await?;
    Ok(())
}

pub async fn set_tag(
    db: &DatabaseConnection,
    c: Caller<'_>,
    name: &str,
    key: &str,
    value: &str,
) -> Result<()> {
    check_tag(key, value)?;
    let f = find(db, c, name).await?;
    f.require(Role::Member)?;
    registered_model_tag::Entity::insert(registered_model_tag::ActiveModel {
        model_id: Set(f.model.id),
        key: Set(key.to_string()),
        value: Set(value.to_string()),
    })
    .on_conflict(
        OnConflict::columns([registered_model_tag::Column::ModelId, registered_model_tag::Column::Key])
            .update_column(registered_model_tag::Column::Value)
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

pub async fn delete_tag(db: &DatabaseConnection, c: Caller<'_>, name: &str, key: &str) -> Result<()> {
    let f = find(db, c, name).await?;
    f.require(Role::Member)?;
    let r = registered_model_tag::Entity::delete_by_id((f.model.id, key.to_string())).exec(db).await?;
    if r.rows_affected == 0 {
        return Err(Error::NotFound("tag"));
    }
    Ok(())
}

pub fn check_tag(key: &str, value: &str) -> Result<()> {
    if key.is_empty() || key.len() > crate::domain::MAX_KEY {
        return Err(Error::invalid(
            "key",
            format!("a tag key has 1 to {} characters", crate::domain::MAX_KEY),
        ));
    }
    if value.len() > MAX_TAG_VALUE {
        return Err(Error::invalid("value", format!("a tag value has at most {MAX_TAG_VALUE} characters")));
    }
    Ok(())
}

pub(crate) fn check_alias(alias: &str) -> Result<()> {
    let ok = !alias.is_empty()
        && alias.len() <= MAX_NAME
        && alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    // MLflow reserves `latest` and version-like aliases (`v3`): `models:/m@v3` would be ambiguous.
    let reserved = alias.eq_ignore_ascii_case("latest")
        || (alias.len() > 1
            && alias[..1].eq_ignore_ascii_case("v")
            && alias[1..].chars().all(|c| c.is_ascii_digit()));
    if !ok || reserved {
        return Err(Error::invalid(
            "alias",
            format!(
                "invalid alias {alias:?}: letters, digits, '_' and '-'; not 'latest' or a version like 'v3'"
            ),
        ));
    }
    Ok(())
}

async fn protected(db: &DatabaseConnection, model: &rm::Model, alias: &str) -> Result<()> {
    if policy::of(db, model.project_id).await?.protects(alias) {
        let name = &model.name;
        return Err(Error::Forbidden(format!(
            "the alias {alias:?} of {name} is protected: it moves only through an approved promotion request \
             (`myelin models promote {name} VERSION --alias {alias}`)"
        )));
    }
    Ok(())
}

/// Points `alias` at a version (moving it from another): any alias but a protected one.
pub async fn set_alias(
    db: &DatabaseConnection,
    c: Caller<'_>,
    name: &str,
    alias: &str,
    version: i32,
) -> Result<()> {
    check_alias(alias)?;
    let (f, v) = versions::get(db, c, name, version).await?;
    f.require(Role::Member)?;
    protected(db, &f.model, alias).await?;
    let txn = db.begin().await?;
    move_alias(&txn, c.user, &f.model, alias, &v, None).await?;
    txn.commit().await?;
    Ok(())
}

/// Points `alias` at `v` and writes the move to the audit trail, in the caller's transaction.
pub(crate) async fn move_alias<C: ConnectionTrait>(
    txn: &C,
    actor: &user::Model,
    model: &rm::Model,
    alias: &str,
    v: &model_version::Model,
    request: Option<Uuid>,
) -> Result<()> {
    model_alias::Entity::insert(model_alias::ActiveModel {
        model_id: Set(model.id),
        alias: Set(alias.to_string()),
        version_id: Set(v.id),
    })
    .on_conflict(
        OnConflict::columns([model_alias::Column::ModelId, model_alias::Column::Alias])
            .update_column(model_alias::Column::VersionId)
            .to_owned(),
    )
    .exec(txn)
    .await?;
    let e = audit::Entry {
        actor,
        action: "alias.set",
        model,
        alias: Some(alias),
        version: Some(v.version),
        request,
        detail: serde_json::json!({}),
    };
    audit::append(txn, e).await?;
    Ok(())
}

pub async fn delete_alias(db: &DatabaseConnection, c: Caller<'_>, name: &str, alias: &str) -> Result<()> {
    let f = find(db, c, name).await?;
    f.require(Role::Member)?;
    protected(db, &f.model, alias).await?;
    let txn = db.begin().await?;
    let r = model_alias::Entity::delete_by_id((f.model.id, alias.to_string())).exec(&txn).await?;
    if r.rows_affected == 0 {
        return Err(Error::NotFound("alias"));
    }
    let e = audit::Entry {
        actor: c.user,
        action: "alias.delete",
        model: &f.model,
        alias: Some(alias),
        version: None,
        request: None,
        detail: serde_json::json!({}),
    };
    audit::append(&txn, e).await?;
    txn.commit().await?;
    Ok(())
}

/// A model as MLflow shows it: tags, aliases (alias → version number) and the latest version of each stage.
#[derive(Debug, Clone)]
pub struct ModelView {
    pub model: rm::Model,
    pub tags: Vec<(String, String)>,
    pub aliases: Vec<(String, i32)>,
    pub latest: Vec<model_version::Model>,
}

pub async fn views(db: &DatabaseConnection, models: Vec<rm::Model>) -> Result<Vec<ModelView>> {
    let ids: Vec<Uuid> = models.iter().map(|m| m.id).collect();
    let mut tags: HashMap<Uuid, Vec<(String, String)>> = HashMap::new();
    for t in registered_model_tag::Entity::find()
        .filter(registered_model_tag::Column::ModelId.is_in(ids.clone()))
        .order_by_asc(registered_model_tag::Column::Key)
        .all(db)
        .await?
    {
        tags.entry(t.model_id).or_default().push((t.key, t.value));
    }
    let all: Vec<model_version::Model> = model_version::Entity::find()
        .filter(model_version::Column::ModelId.is_in(ids.clone()))
        .order_by_asc(model_version::Column::Version)
        .all(db)
        .await?;
    let number: HashMap<Uuid, i32> = all.iter().map(|v| (v.id, v.version)).collect();
    let mut aliases: HashMap<Uuid, Vec<(String, i32)>> = HashMap::new();
    for a in model_alias::Entity::find()
        .filter(model_alias::Column::ModelId.is_in(ids))
        .order_by_asc(model_alias::Column::Alias)
        .all(db)
        .await?
    {
        aliases
            .entry(a.model_id)
            .or_default()
            .push((a.alias, number.get(&a.version_id).copied().unwrap_or(0)));
    }
    let mut latest: HashMap<(Uuid, String), model_version::Model> = HashMap::new();
    for v in all {
        latest.insert((v.model_id, v.stage.clone()), v);
    }
    Ok(models
        .into_iter()
        .map(|m| {
            let mut l: Vec<model_version::Model> =
                latest.values().filter(|v| v.model_id == m.id).cloned().collect();
            l.sort_by_key(|v| v.version);
            ModelView {
                tags: tags.remove(&m.id).unwrap_or_default(),
                aliases: aliases.remove(&m.id).unwrap_or_default(),
                latest: l,
                model: m,
            }
        })
        .collect())
}

/// Models the caller can read that pass `filter`, ordered (`name` or `last_updated_timestamp`, ASC or DESC;
/// name ASC by default), from `offset`; at most `max`, and whether more follow.
pub async fn search(
    db: &DatabaseConnection,
    c: Caller<'_>,
    filter: &str,
    order_by: &[String],
    offset: usize,
    max: usize,
) -> Result<(Vec<rm::Model>, bool)> {
    let f = filter::parse(filter, &["name", "tags"])?;
    let projects = readable(db, c).await?;
    let mut q = rm::Entity::find().filter(rm::Column::ProjectId.is_in(projects.keys().copied()));
    if let Some(names) = f.exact(&filter::Field::Name) {
        q = q.filter(rm::Column::Name.is_in(names));
    }
    let models = q.all(db).await?;
    let mut tags: HashMap<Uuid, HashMap<String, String>> = HashMap::new();
    for t in registered_model_tag::Entity::find()
        .filter(registered_model_tag::Column::ModelId.is_in(models.iter().map(|m| m.id)))
        .all(db)
        .await?
    {
        tags.entry(t.model_id).or_default().insert(t.key, t.value);
    }
    let mut hits: Vec<rm::Model> = models
        .into_iter()
        .filter(|m| {
            f.matches(|field| match field {
                filter::Field::Name => Some(m.name.clone()),
                filter::Field::Tag(k) => tags.get(&m.id).and_then(|t| t.get(k).cloned()),
                _ => None,
            })
        })
        .collect();
    let (key, desc) = order(order_by, &["name", "last_updated_timestamp", "timestamp"])?;
    hits.sort_by(|a, b| {
        let o = match key {
            "name" => a.name.cmp(&b.name),
            _ => a.updated_ms.cmp(&b.updated_ms).then(a.name.cmp(&b.name)),
        };
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    let more = hits.len() > offset + max;
    Ok((hits.into_iter().skip(offset).take(max).collect(), more))
}

/// The first `order_by` clause (`field [ASC|DESC]`), checked against `fields`; `name ASC` when none.
pub fn order<'a>(order_by: &'a [String], fields: &[&str]) -> Result<(&'a str, bool)> {
    let Some(first) = order_by.first() else { return Ok(("name", false)) };
    let mut words = first.split_whitespace();
    let field = words.next().unwrap_or("name");
    let field = field.strip_prefix("attributes.").unwrap_or(field);
    let desc = match words.next().map(str::to_ascii_uppercase).as_deref() {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(other) => return Err(Error::invalid("order_by", format!("{other} is neither ASC nor DESC"))),
    };
    if !fields.contains(&field) {
        return Err(Error::invalid(
            "order_by",
            format!("cannot order by {field} (fields: {})", fields.join(", ")),
        ));
    }
    Ok((field, desc))
}
