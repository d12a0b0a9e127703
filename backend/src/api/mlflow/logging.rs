//! What a run logs: metrics, params, tags, dataset inputs.

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::runs::{pairs, RunReq, KV};
use super::{wire, MResult, Msg, Principal};
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
    let r = who.log_to(&app, req.run.id()?).await?;
    app.ingest.log(&r, vec![req.metric.point()], vec![], vec![]).await?;
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
    let r = who.log_to(&app, req.run.id()?).await?;
    let points: Vec<Point> = req.metrics.into_iter().map(MetricMsg::point).collect();
    app.ingest.log(&r, points, pairs(req.params), pairs(req.tags)).await?;
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
    let r = who.log_to(&app, req.run.id()?).await?;
    app.ingest.log(&r, vec![], vec![(req.key, req.value)], vec![]).await?;
    Ok(Json(json!({})))
}

pub async fn set_tag(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<KVReq>,
) -> MResult<Json<Value>> {
    let r = who.log_to(&app, req.run.id()?).await?;
    app.ingest.log(&r, vec![], vec![], vec![(req.key, req.value)]).await?;
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

/// MLflow's `log-inputs`: the run's datasets (`tracking::log_inputs`).
pub async fn log_inputs(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<LogInputsReq>,
) -> MResult<Json<Value>> {
    let r = who.run(&app, &req.run_id, true).await?;
    tracking::log_inputs(&app.db, &r, req.datasets).await?;
    Ok(Json(json!({})))
}
