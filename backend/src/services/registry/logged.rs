//! MLflow 3's logged models: a model a run logged, with its own tags and params. Its files are in the run's
//! artifacts under `logged_models/<id>` (so the run's files show it and the artifact proxy's rules guard it);
//! a model is always logged by a run. Registering one (`runs:/RUN/NAME` or `models:/m-…`) makes a version.

use std::collections::HashMap;

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::{check_tag, filter, now_ms, readable, Caller};
use crate::domain::Role;
use crate::entities::{
    logged_model as lm, logged_model_param as param, logged_model_tag as tag, run, run_model_output,
};
use crate::error::{Error, Result};

/// MLflow's statuses; a new model is pending until its files are up.
pub const STATUSES: [&str; 3] = ["LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"];
/// Tags or params in one request (MLflow's client sends params 100 at a time).
pub const MAX_BATCH: usize = 1000;

/// Where a logged model's files are, for the artifact proxy.
pub fn artifact_uri(m: &lm::Model) -> String {
    format!(
        "mlflow-artifacts:/{}/{}/artifacts/logged_models/{}",
        m.project_id.simple(),
        m.run_id.simple(),
        m.id
    )
}

fn check_id(id: &str) -> Result<()> {
    let ok = id.strip_prefix("m-").is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("model_id", format!("{id:?} is not a logged model id (m- and 32 hex digits)")))
    }
}

fn check_batch(what: &'static str, kv: &[(String, String)]) -> Result<()> {
    if kv.len() > MAX_BATCH {
        return Err(Error::invalid(what, format!("at most {MAX_BATCH} {what} in one request")));
    }
    kv.iter().try_for_each(|(k, v)| check_tag(k, v))
}

/// A new logged model of `r`, which the caller must be allowed to write to (checked by the caller's route).
pub async fn create(
    db: &DatabaseConnection,
    c: Caller<'_>,
    r: &run::Model,
    name: Option<&str>,
    model_type: &str,
    tags: &[(String, String)],
    params: &[(String, String)],
) -> Result<lm::Model> {
    check_batch("tags", tags)?;
    check_batch("params", params)?;
    let id = Uuid::new_v4().simple().to_string();
    let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) if n.len() <= super::MAX_NAME => n.to_string(),
        Some(_) => {
            return Err(Error::invalid("name", format!("a name has at most {} characters", super::MAX_NAME)))
        }
        None => format!("model-{}", &id[..8]),
    };
    let now = now_ms();
    let m = lm::ActiveModel {
        id: Set(format!("m-{id}")),
        project_id: Set(r.project_id),
        run_id: Set(r.id),
        name: Set(name),
        model_type: Set(model_type.chars().take(256).collect()),
        status: Set(STATUSES[0].into()),
        status_message: Set(String::new()),
        created_by: Set(c.user.id),
        created_ms: Set(now),
        updated_ms: Set(now),
    }
    .insert(db)
    .await?;
    put(db, &m.id, tags, Kind::Tag).await?;
    put(db, &m.id, params, Kind::Param).await?;
    Ok(m)
}

#[derive(Clone, Copy)]
enum Kind {
    Tag,
    Param,
}

async fn put(db: &DatabaseConnection, id: &str, kv: &[(String, String)], kind: Kind) -> Result<()> {
    // The last value of a key given twice wins, as one upsert each.
    let mut last: Vec<(String, String)> = Vec::new();
    for (k, v) in kv {
        last.retain(|(x, _)| x != k);
        last.push((k.clone(), v.clone()));
    }
    if last.is_empty() {
        return Ok(());
    }
    match kind {
        Kind::Tag => {
            let rows = last.into_iter().map(|(k, v)| tag::ActiveModel {
                model_id: Set(id.to_string()),
                key: Set(k),
                value: Set(v),
            });
            tag::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([tag::Column::ModelId, tag::Column::Key])
                        .update_column(tag::Column::Value)
                        .to_owned(),
                )
                .exec(db)
                .await?;
        }
        Kind::Param => {
            let rows = last.into_iter().map(|(k, v)| param::ActiveModel {
                model_id: Set(id.to_string()),
                key: Set(k),
                value: Set(v),
            });
            param::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([param::Column::ModelId, param::Column::Key])
                        .update_column(param::Column::Value)
                        .to_owned(),
                )
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

/// The logged model `id` if the caller reads its project.
pub async fn get(db: &DatabaseConnection, c: Caller<'_>, id: &str) -> Result<lm::Model> {
    Ok(access(db, c, id).await?.0)
}

async fn access(db: &DatabaseConnection, c: Caller<'_>, id: &str) -> Result<(lm::Model, Role)> {
    check_id(id)?;
    let m = lm::Entity::find_by_id(id.to_string()).one(db).await?.ok_or(Error::NotFound("logged model"))?;
    let role = readable(db, c).await?.get(&m.project_id).copied().ok_or(Error::NotFound("logged model"))?;
    Ok((m, role))
}

/// The logged model `id` if the caller may change it: a member of its project; a run token, its own run's only.
async fn writable(db: &DatabaseConnection, c: Caller<'_>, id: &str) -> Result<lm::Model> {
    let (m, role) = access(db, c, id).await?;
    if role < Role::Member {
        return Err(Error::Forbidden("this needs the member role in the model's project".into()));
    }
    if c.run.is_some_and(|r| r != m.run_id) {
        return Err(Error::Forbidden("a run token may only change its own run's models".into()));
    }
    Ok(m)
}

async fn touch(db: &DatabaseConnection, m: lm::Model, status: Option<&str>) -> Result<lm::Model> {
    let mut a: lm::ActiveModel = m.into();
    if let Some(s) = status {
        a.status = Set(s.to_string());
    }
    a.updated_ms = Set(now_ms());
    Ok(a.update(db).await?)
}

/// Marks the model's upload done (`LOGGED_MODEL_READY`) or failed.
pub async fn finalize(db: &DatabaseConnection, c: Caller<'_>, id: &str, status: &str) -> Result<lm::Model> {
    let m = writable(db, c, id).await?;
    let Some(s) = STATUSES.iter().find(|s| **s == status) else {
        return Err(Error::invalid(
            "status",
            format!("invalid status {status:?}: one of {}", STATUSES.join(", ")),
        ));
    };
    touch(db, m, Some(s)).await
}

pub async fn set_tags(
    db: &DatabaseConnection,
    c: Caller<'_>,
    id: &str,
    tags: &[(String, String)],
) -> Result<()> {
    check_batch("tags", tags)?;
    let m = writable(db, c, id).await?;
    put(db, &m.id, tags, Kind::Tag).await?;
    touch(db, m, None).await?;
    Ok(())
}

pub async fn delete_tag(db: &DatabaseConnection, c: Caller<'_>, id: &str, key: &str) -> Result<()> {
    let m = writable(db, c, id).await?;
    if tag::Entity::delete_by_id((m.id.clone(), key.to_string())).exec(db).await?.rows_affected == 0 {
        return Err(Error::NotFound("tag"));
    }
    touch(db, m, None).await?;
    Ok(())
}

pub async fn log_params(
    db: &DatabaseConnection,
    c: Caller<'_>,
    id: &str,
    params: &[(String, String)],
) -> Result<()> {
    check_batch("params", params)?;
    let m = writable(db, c, id).await?;
    put(db, &m.id, params, Kind::Param).await?;
    touch(db, m, None).await?;
    Ok(())
}

/// Deletes the record (its files stay with the run); a registered version keeps its files.
pub async fn delete(db: &DatabaseConnection, c: Caller<'_>, id: &str) -> Result<()> {
    let m = writable(db, c, id).await?;
    lm::Entity::delete_by_id(m.id).exec(db).await?;
    Ok(())
}

/// A logged model with its tags and params, as MLflow shows it.
#[derive(Debug, Clone)]
pub struct View {
    pub model: lm::Model,
    pub tags: Vec<(String, String)>,
    pub params: Vec<(String, String)>,
}

pub async fn views(db: &DatabaseConnection, models: Vec<lm::Model>) -> Result<Vec<View>> {
    let ids: Vec<String> = models.iter().map(|m| m.id.clone()).collect();
    let mut tags: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for t in tag::Entity::find()
        .filter(tag::Column::ModelId.is_in(ids.clone()))
        .order_by_asc(tag::Column::Key)
        .all(db)
        .await?
    {
        tags.entry(t.model_id).or_default().push((t.key, t.value));
    }
    let mut params: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for p in param::Entity::find()
        .filter(param::Column::ModelId.is_in(ids))
        .order_by_asc(param::Column::Key)
        .all(db)
        .await?
    {
        params.entry(p.model_id).or_default().push((p.key, p.value));
    }
    Ok(models
        .into_iter()
        .map(|m| View {
            tags: tags.remove(&m.id).unwrap_or_default(),
            params: params.remove(&m.id).unwrap_or_default(),
            model: m,
        })
        .collect())
}

/// Logged models of `projects` (experiments; all the caller reads when empty) passing `filter`, newest first
/// unless ordered (`name`, `creation_timestamp`, `last_updated_timestamp`), from `offset`; at most `max`.
pub async fn search(
    db: &DatabaseConnection,
    c: Caller<'_>,
    projects: &[Uuid],
    filter: &str,
    order: Option<(&str, bool)>,
    offset: usize,
    max: usize,
) -> Result<(Vec<lm::Model>, bool)> {
    let f = filter::parse(filter, &["name", "source_run_id", "model_id", "status", "model_type", "tags"])?;
    let readable = readable(db, c).await?;
    if projects.iter().any(|p| !readable.contains_key(p)) {
        return Err(Error::NotFound("experiment"));
    }
    let scope: Vec<Uuid> =
        if projects.is_empty() { readable.keys().copied().collect() } else { projects.to_vec() };
    let mut q = lm::Entity::find().filter(lm::Column::ProjectId.is_in(scope));
    if let Some(names) = f.exact(&filter::Field::Name) {
        q = q.filter(lm::Column::Name.is_in(names));
    }
    if let Some(runs) = f.exact(&filter::Field::Attr("source_run_id")) {
        q = q.filter(lm::Column::RunId.is_in(runs.iter().filter_map(|r| Uuid::parse_str(r).ok())));
    }
    let models = q.all(db).await?;
    let mut tags: HashMap<String, HashMap<String, String>> = HashMap::new();
    if filter.contains("tag") {
        for t in tag::Entity::find()
            .filter(tag::Column::ModelId.is_in(models.iter().map(|m| m.id.clone())))
            .all(db)
            .await?
        {
            tags.entry(t.model_id).or_default().insert(t.key, t.value);
        }
    }
    let mut hits: Vec<lm::Model> = models
        .into_iter()
        .filter(|m| {
            f.matches(|field| match field {
                filter::Field::Name => Some(m.name.clone()),
                filter::Field::Attr("source_run_id") => Some(m.run_id.simple().to_string()),
                filter::Field::Attr("model_id") => Some(m.id.clone()),
                filter::Field::Attr("status") => Some(m.status.clone()),
                filter::Field::Attr("model_type") => Some(m.model_type.clone()),
                filter::Field::Tag(k) => tags.get(&m.id).and_then(|t| t.get(k).cloned()),
                _ => None,
            })
        })
        .collect();
    let (key, asc) = order.unwrap_or(("creation_timestamp", false));
    hits.sort_by(|a, b| {
        let o = match key {
            "name" => a.name.cmp(&b.name),
            "last_updated_timestamp" => a.updated_ms.cmp(&b.updated_ms),
            "creation_timestamp" => a.created_ms.cmp(&b.created_ms),
            _ => std::cmp::Ordering::Equal,
        }
        .then(a.id.cmp(&b.id));
        if asc {
            o
        } else {
            o.reverse()
        }
    });
    let more = hits.len() > offset + max;
    Ok((hits.into_iter().skip(offset).take(max).collect(), more))
}

/// Records that run `r` output these logged models (each of its project), at a step.
pub async fn record_outputs(db: &DatabaseConnection, r: &run::Model, models: &[(String, i64)]) -> Result<()> {
    if models.len() > MAX_BATCH {
        return Err(Error::invalid("models", format!("at most {MAX_BATCH} models in one request")));
    }
    for (id, step) in models {
        check_id(id)?;
        let m = lm::Entity::find_by_id(id.clone()).one(db).await?;
        if m.is_none_or(|m| m.project_id != r.project_id) {
            return Err(Error::NotFound("logged model"));
        }
        run_model_output::Entity::insert(run_model_output::ActiveModel {
            run_id: Set(r.id),
            model_id: Set(id.clone()),
            step: Set(*step),
        })
        .on_conflict(
            OnConflict::columns([run_model_output::Column::RunId, run_model_output::Column::ModelId])
                .update_column(run_model_output::Column::Step)
                .to_owned(),
        )
        .exec(db)
        .await?;
    }
    Ok(())
}

/// The logged models a run output, with their steps.
pub async fn outputs_of(db: &DatabaseConnection, run: Uuid) -> Result<Vec<(String, i64)>> {
    Ok(run_model_output::Entity::find()
        .filter(run_model_output::Column::RunId.eq(run))
        .order_by_asc(run_model_output::Column::Step)
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.model_id, o.step))
        .collect())
}
