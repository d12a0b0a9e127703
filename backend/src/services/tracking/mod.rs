//! Tracking: metrics, params and tags logged by a run (through the MLflow API or Myelin's own), and reads of
//! them. Params are immutable once logged, as in MLflow; a run's Polyaxon params are logged at submission.

pub mod chunks;
pub mod filter;
pub mod history;
pub mod ingest;
mod latest;
pub mod lines;
pub mod pages;
pub mod pql;
pub mod search;

use std::collections::{BTreeMap, HashMap};

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::entities::{latest_metric, run, run_param, run_tag};
use crate::error::{Error, Result};
use crate::services::runs::access::RunRef;

/// MLflow's limits, so clients see the same refusals.
pub const MAX_METRICS: usize = 1000;
pub const MAX_PARAMS: usize = 100;
pub const MAX_TAGS: usize = 100;
pub use crate::domain::MAX_KEY;
pub const MAX_PARAM_VALUE: usize = 6000;
pub const MAX_TAG_VALUE: usize = 8000;
/// The tag MLflow clients read and write a run's name through.
pub const RUN_NAME_TAG: &str = "mlflow.runName";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Point {
    pub key: String,
    pub value: f64,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub step: i64,
}

pub use api_types::MetricSummary;

/// What a run logged, in MLflow's terms.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunData {
    pub metrics: Vec<MetricSummary>,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

pub use crate::domain::{validate_key, MetricKey};

fn check_value(what: &'static str, key: &str, value: &str, max: usize) -> Result<()> {
    if value.len() > max {
        return Err(Error::invalid(
            what,
            format!("the value of {what} {key:?} is longer than {max} characters"),
        ));
    }
    Ok(())
}

/// One batch as logged: points (grouped into one chunk per key), params (immutable) and tags.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub run: Uuid,
    pub metrics: Vec<Point>,
    pub params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
}

impl Batch {
    /// A batch for `r`, checked against MLflow's limits and key rules (nothing is written yet).
    pub fn new(
        r: &RunRef,
        metrics: Vec<Point>,
        params: Vec<(String, String)>,
        tags: Vec<(String, String)>,
    ) -> Result<Self> {
        if r.deleted {
            return Err(Error::Conflict(format!(
                "run {} is deleted; restore it before logging to it",
                r.id.simple()
            )));
        }
        if metrics.len() > MAX_METRICS || params.len() > MAX_PARAMS || tags.len() > MAX_TAGS {
            return Err(Error::invalid(
                "batch",
                format!(
                    "a batch holds at most {MAX_METRICS} metrics, {MAX_PARAMS} params and {MAX_TAGS} tags"
                ),
            ));
        }
        for p in &metrics {
            validate_key("metric", &p.key)?;
        }
        let mut seen = HashMap::new();
        for (k, v) in &params {
            validate_key("param", k)?;
            check_value("param", k, v, MAX_PARAM_VALUE)?;
            if seen.insert(k.as_str(), v.as_str()).is_some_and(|old| old != v) {
                return Err(Error::invalid(
                    "param",
                    format!("param {k:?} appears twice in the batch with different values"),
                ));
            }
        }
        for (k, v) in &tags {
            validate_key("tag", k)?;
            check_value("tag", k, v, MAX_TAG_VALUE)?;
        }
        Ok(Self { run: r.id, metrics, params, tags })
    }
}

/// Records one batch in a transaction of its own, and merges the chunks it made due at once. The server logs
/// through its writer instead (`ingest::Ingest`); this is for seeding and tools.
pub async fn log(
    db: &DatabaseConnection,
    r: &run::Model,
    metrics: &[Point],
    params: &[(String, String)],
    tags: &[(String, String)],
) -> Result<()> {
    let r = RunRef::from(r);
    let batch = Batch::new(&r, metrics.to_vec(), params.to_vec(), tags.to_vec())?;
    let txn = db.begin().await?;
    let due = write(&txn, &[&batch]).await?;
    txn.commit().await?;
    chunks::compact(db, &due).await?;
    let git = crate::services::lineage::sources::git_tags(&batch.tags);
    logged(db, r, git).await
}

/// What follows a batch once it is stored: a git commit among its tags (`lineage::sources::git_tags`) becomes
/// the run's lineage input.
pub(crate) async fn logged(
    db: &DatabaseConnection,
    r: RunRef,
    git: Option<crate::services::lineage::Input>,
) -> Result<()> {
    if let Some(git) = git {
        crate::services::lineage::record(db, r, vec![git]).await?;
    }
    Ok(())
}

/// Writes batches (checked by `Batch::new`) in the caller's transaction: each batch's params and tags in
/// order, then every run's and key's points as one chunk and one `latest_metrics` upsert. Returns the keys due
/// for compaction.
pub(crate) async fn write<C: ConnectionTrait>(db: &C, batches: &[&Batch]) -> Result<Vec<(Uuid, MetricKey)>> {
    // Every branch starts with a write, as SQLite's WAL mode needs.
    for b in batches {
        if !b.params.is_empty() {
            insert_params(db, b.run, &b.params).await?;
        }
        if !b.tags.is_empty() {
            set_tags(db, b.run, &b.tags).await?;
        }
    }
    let by_key = by_key(batches)?;
    if by_key.is_empty() {
        return Ok(Vec::new());
    }
    let rows = by_key.iter().map(|((run, k), pts)| chunks::row(*run, k, pts)).collect();
    chunks::insert_rows(db, rows).await?;
    latest::upsert(db, &by_key).await
}

/// Points of each run and key, in the order logged.
pub(crate) type ByKey<'a> = BTreeMap<(Uuid, MetricKey), Vec<&'a Point>>;

pub(crate) fn by_key<'a>(batches: &[&'a Batch]) -> Result<ByKey<'a>> {
    let mut by_key = ByKey::new();
    for b in batches {
        for p in &b.metrics {
            by_key.entry((b.run, MetricKey::parse(&p.key)?)).or_default().push(p);
        }
    }
    Ok(by_key)
}

pub(crate) async fn insert_params<C: ConnectionTrait>(
    db: &C,
    run: Uuid,
    params: &[(String, String)],
) -> Result<()> {
    let rows = params.iter().map(|(k, v)| run_param::ActiveModel {
        run_id: Set(run),
        key: Set(k.clone()),
        value: Set(v.clone()),
    });
    run_param::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([run_param::Column::RunId, run_param::Column::Key]).do_nothing().to_owned(),
        )
        .do_nothing()
        .exec_without_returning(db)
        .await?;
    let stored = run_param::Entity::find()
        .filter(run_param::Column::RunId.eq(run))
        .filter(run_param::Column::Key.is_in(params.iter().map(|(k, _)| k.clone())))
        .all(db)
        .await?;
    for s in stored {
        if let Some((_, v)) = params.iter().find(|(k, v)| *k == s.key && *v != s.value) {
            return Err(Error::invalid(
                "param",
                format!(
                    "changing param values is not allowed: param {:?} was already logged with value {:?} for run \
                     {}; attempted to log {v:?}",
                    s.key,
                    s.value,
                    run.simple()
                ),
            ));
        }
    }
    Ok(())
}

async fn set_tags<C: ConnectionTrait>(db: &C, run: Uuid, tags: &[(String, String)]) -> Result<()> {
    // The last value of a key in the batch wins.
    let last: BTreeMap<&str, &str> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let rows = last.iter().map(|(k, v)| run_tag::ActiveModel {
        run_id: Set(run),
        key: Set(k.to_string()),
        value: Set(v.to_string()),
    });
    run_tag::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([run_tag::Column::RunId, run_tag::Column::Key])
                .update_column(run_tag::Column::Value)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if let Some(name) = last.get(RUN_NAME_TAG) {
        let name = crate::domain::bounded_text("name", name, 128)?;
        run::Entity::update_many()
            .col_expr(run::Column::Name, Expr::value(name))
            .filter(run::Column::Id.eq(run))
            .exec(db)
            .await?;
    }
    Ok(())
}

pub async fn delete_tag(db: &DatabaseConnection, r: &run::Model, key: &str) -> Result<()> {
    let gone = run_tag::Entity::delete_many()
        .filter(run_tag::Column::RunId.eq(r.id))
        .filter(run_tag::Column::Key.eq(key))
        .exec(db)
        .await?;
    if gone.rows_affected == 0 {
        return Err(Error::NotFound("tag"));
    }
    Ok(())
}

/// Params, tags and metric summaries of several runs at once.
pub async fn data_of(db: &DatabaseConnection, runs: &[Uuid]) -> Result<HashMap<Uuid, RunData>> {
    let mut out: HashMap<Uuid, RunData> = runs.iter().map(|id| (*id, RunData::default())).collect();
    for chunk in runs.chunks(1000) {
        let ids = chunk.to_vec();
        for p in run_param::Entity::find().filter(run_param::Column::RunId.is_in(ids.clone())).all(db).await?
        {
            out.entry(p.run_id).or_default().params.insert(p.key, p.value);
        }
        for t in run_tag::Entity::find().filter(run_tag::Column::RunId.is_in(ids.clone())).all(db).await? {
            out.entry(t.run_id).or_default().tags.insert(t.key, t.value);
        }
        for m in latest_metric::Entity::find().filter(latest_metric::Column::RunId.is_in(ids)).all(db).await?
        {
            out.entry(m.run_id).or_default().metrics.push(summary(m));
        }
    }
    for d in out.values_mut() {
        d.metrics.sort_by(|a, b| a.key.cmp(&b.key));
    }
    Ok(out)
}

pub fn summary(m: latest_metric::Model) -> MetricSummary {
    MetricSummary {
        key: m.key,
        last: m.value,
        step: m.step,
        timestamp: m.ts,
        min: m.min_value,
        max: m.max_value,
        count: m.count,
    }
}

/// Datasets are kept as MLflow sent them (`{dataset: {name, digest, source_type, source, ...}, tags}`), once
/// per name and digest; a run holds at most 1000.
pub async fn log_inputs(
    db: &DatabaseConnection,
    r: &run::Model,
    datasets: Vec<serde_json::Value>,
) -> Result<()> {
    use serde_json::Value;
    let lineage = crate::services::lineage::sources::datasets(&datasets);
    let mut all: Vec<Value> = r.inputs.clone().and_then(|v| v.as_array().cloned()).unwrap_or_default();
    let id = |d: &Value| (d["dataset"]["name"].clone(), d["dataset"]["digest"].clone());
    for d in datasets {
        if !all.iter().any(|o| id(o) == id(&d)) {
            all.push(d);
        }
    }
    if all.len() > 1000 {
        return Err(Error::invalid("datasets", "a run holds at most 1000 dataset inputs"));
    }
    run::Entity::update_many()
        .col_expr(run::Column::Inputs, sea_orm::sea_query::Expr::value(Value::Array(all)))
        .filter(run::Column::Id.eq(r.id))
        .exec(db)
        .await?;
    crate::services::lineage::record(db, r.into(), lineage).await
}

/// MLflow's tag for a run's description (its UI's "Description").
pub const NOTE_TAG: &str = "mlflow.note.content";

/// A submitted run's polyaxonfile `tags` and `description` as its MLflow tags: each tag a key with an empty
/// value (so `tags:baseline` finds it), the description as MLflow's note. A tag MLflow could not hold is
/// refused with the rule it breaks, never dropped.
pub fn spec_tags(run: &spec::compile::Run) -> Result<Vec<(String, String)>> {
    if run.tags.len() > MAX_TAGS {
        return Err(Error::invalid(
            "tag",
            format!("a run has at most {MAX_TAGS} tags; the file gives {}", run.tags.len()),
        ));
    }
    let mut out = Vec::with_capacity(run.tags.len() + 1);
    for t in &run.tags {
        crate::domain::validate_key("tag", t)?;
        out.push((t.clone(), String::new()));
    }
    if let Some(d) = run.description.as_deref().filter(|d| !d.trim().is_empty()) {
        check_value("tag", NOTE_TAG, d, MAX_TAG_VALUE)?;
        out.push((NOTE_TAG.to_string(), d.to_string()));
    }
    Ok(out)
}

/// Records a new run's tags from its file (`spec_tags`), in the transaction that creates it.
pub async fn insert_tags<C: ConnectionTrait>(db: &C, run: Uuid, tags: &[(String, String)]) -> Result<()> {
    if tags.is_empty() {
        return Ok(());
    }
    set_tags(db, run, tags).await
}

/// A submitted run's Polyaxon params, logged as its MLflow params (`params.lr` works in searches).
pub fn params_as_strings(params: &serde_json::Map<String, serde_json::Value>) -> Vec<(String, String)> {
    params
        .iter()
        .filter(|(k, _)| validate_key("param", k).is_ok())
        .map(|(k, v)| {
            let s = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), s.chars().take(MAX_PARAM_VALUE).collect())
        })
        .collect()
}

/// The component's declared outputs, each valued from the run's metric, param or tag of the same name.
pub fn outputs(declared: &[String], data: &RunData) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    for name in declared {
        let name = name.as_str();
        let value = if let Some(m) = data.metrics.iter().find(|m| m.key == name) {
            serde_json::json!(m.last)
        } else if let Some(p) = data.params.get(name) {
            serde_json::Value::String(p.clone())
        } else if let Some(t) = data.tags.get(name) {
            serde_json::Value::String(t.clone())
        } else {
            continue;
        };
        out.insert(name.to_string(), value);
    }
    out
}
