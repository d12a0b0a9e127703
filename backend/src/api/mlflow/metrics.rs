//! Reading metrics back: MLflow's full history (paged) and its bulk-interval sample of many runs.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::runs::RunReq;
use super::{wire, MResult, Msg, Principal};
use crate::error::Error;
use crate::services::tracking::{history, pages};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct HistoryReq {
    #[serde(flatten)]
    run: RunReq,
    metric_key: String,
    #[serde(default, deserialize_with = "wire::opt_i64")]
    max_results: Option<i64>,
    #[serde(default)]
    page_token: Option<String>,
}

pub async fn get_history(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<HistoryReq>,
) -> MResult<Json<Value>> {
    let r = who.run(&app, req.run.id()?, false).await?;
    let after = req.page_token.as_deref().filter(|t| !t.is_empty()).map(pages::Cursor::parse).transpose()?;
    // MLflow's own page: 25,000 points (`_MAX_RESULTS_GET_METRIC_HISTORY`); clients follow `next_page_token`.
    let limit = req.max_results.unwrap_or(25_000).clamp(1, 25_000) as usize;
    let (page, next) = pages::history_page(&app.db, r.id, &req.metric_key, after, limit).await?;
    let page: Vec<wire::Metric> = page.iter().map(|s| wire::Metric::of(&req.metric_key, s, None)).collect();
    let mut out = json!({"metrics": page});
    if let Some(next) = next {
        out["next_page_token"] = json!(next.token());
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
pub struct BulkReq {
    #[serde(default, deserialize_with = "wire::strings")]
    run_ids: Vec<String>,
    metric_key: String,
    #[serde(default, deserialize_with = "wire::opt_i64")]
    start_step: Option<i64>,
    #[serde(default, deserialize_with = "wire::opt_i64")]
    end_step: Option<i64>,
    #[serde(default, deserialize_with = "wire::opt_i64")]
    max_results: Option<i64>,
}

pub async fn get_history_bulk_interval(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<BulkReq>,
) -> MResult<axum::response::Response> {
    if req.run_ids.is_empty() || req.run_ids.len() > 100 {
        return Err(Error::invalid("run_ids", "give between 1 and 100 run_ids").into());
    }
    let ids = who.readable_runs(&app, &req.run_ids).await?;
    let max = req.max_results.unwrap_or(1000).clamp(1, 2500) as usize;
    let got =
        history::bulk_interval(&app.db, &ids, &req.metric_key, req.start_step, req.end_step, max).await?;
    let hexes: std::collections::HashMap<_, _> = ids.iter().map(|id| (*id, super::hex(*id))).collect();
    let metrics: Vec<wire::Metric> =
        got.iter().map(|(run, s)| wire::Metric::of(&req.metric_key, s, Some(&hexes[run]))).collect();
    // Up to 250,000 points: serialised straight from borrowed structs.
    Ok(Json(wire::Metrics { metrics }).into_response())
}
