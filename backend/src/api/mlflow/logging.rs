//! What a run logs: metrics, params, tags, dataset inputs.

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::{json, Value};

use super::runs::{pairs, RunReq, KV};
use super::{wire, MResult, Msg, Principal};
use crate::entities::run;
use crate::error::Error;
use crate::services::tracking::{self, Point};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct MetricMsg {
    key: String,
    #[serde(deserialize_with = "wire::f64_any")]
    value: f64,
    #[serde(default, deserialize_with = "wire::opt_i64")]
    timestamp: Option<i64>,
    #[serde(default, deserialize_with = "wire::opt_i64")]
    step: Option<i64>,
}

impl MetricMsg {
    fn point(self) -> Point {
        Point {
            key: self.key,
            value: self.value,
            timestamp: self.timestamp.unwrap_or_else(|| Utc::now().timestamp_millis()),
            step: self.step.unwrap_or(0),
        }
    }
}

#[derive(Deserialize)]
pub struct LogMetricReq {
    #[serde(flatten)]
    run: RunReq,
    #[serde(flatten)]
    metric: MetricMsg,
}

pub async fn log_metric(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<LogMetricReq>,
) -> MResult<Json<Value>> {
    let r = who.run(&app, req.run.id()?, true).await?;
    tracking::log(&app.db, &r, &[req.metric.point()], &[], &[]).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct LogBatchReq {
    #[serde(flatten)]
    run: RunReq,
    #[serde(default)]
    metrics: Vec<MetricMsg>,
    #[serde(default)]
    params: Vec<KV>,
    #[serde(default)]
    tags: Vec<KV>,
}

pub async fn log_batch(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<LogBatchReq>,
) -> MResult<Json<Value>> {
    let r = who.run(&app, req.run.id()?, true).await?;
    let points: Vec<Point> = req.metrics.into_iter().map(MetricMsg::point).collect();
    tracking::log(&app.db, &r, &points, &pairs(req.params), &pairs(req.tags)).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct KVReq {
    #[serde(flatten)]
    run: RunReq,
    key: String,
    #[serde(default)]
    value: String,
}

pub async fn log_parameter(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<KVReq>,
) -> MResult<Json<Value>> {
    let r = who.run(&app, req.run.id()?, true).await?;
    tracking::log(&app.db, &r, &[], &[(req.key, req.value)], &[]).await?;
    Ok(Json(json!({})))
}

pub async fn set_tag(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<KVReq>,
) -> MResult<Json<Value>> {
    let r = who.run(&app, req.run.id()?, true).await?;
    tracking::log(&app.db, &r, &[], &[], &[(req.key, req.value)]).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct DeleteTagReq {
    run_id: String,
    key: String,
}

pub async fn delete_tag(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<DeleteTagReq>,
) -> MResult<Json<Value>> {
    let r = who.run(&app, &req.run_id, true).await?;
    tracking::delete_tag(&app.db, &r, &req.key).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct LogInputsReq {
    run_id: String,
    #[serde(default)]
    datasets: Vec<Value>,
}

/// Datasets are kept as MLflow sent them (`{dataset: {name, digest, source_type, source, ...}, tags}`), once
/// per name and digest.
pub async fn log_inputs(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<LogInputsReq>,
) -> MResult<Json<Value>> {
    let r = who.run(&app, &req.run_id, true).await?;
    let mut all: Vec<Value> = r.inputs.clone().and_then(|v| v.as_array().cloned()).unwrap_or_default();
    let id = |d: &Value| (d["dataset"]["name"].clone(), d["dataset"]["digest"].clone());
    for d in req.datasets {
        if !all.iter().any(|o| id(o) == id(&d)) {
            all.push(d);
        }
    }
    if all.len() > 1000 {
        return Err(Error::invalid("datasets", "a run holds at most 1000 dataset inputs").into());
    }
    run::Entity::update_many()
        .col_expr(run::Column::Inputs, Expr::value(Value::Array(all)))
        .filter(run::Column::Id.eq(r.id))
        .exec(&app.db)
        .await?;
    Ok(Json(json!({})))
}
