//! MLflow runs: create (external runs), get, update, soft delete, search. Logging is in `logging`, reading
//! metrics in `metrics`.

use axum::extract::State;
use axum::Json;
use chrono::{TimeZone, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use spec::lifecycle::Status;

use super::{wire, MResult, Msg, Principal};
use crate::entities::run;
use crate::error::Error;
use crate::services::runs as run_service;
use crate::services::tracking::{self, filter, search};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct KV {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

pub(super) fn pairs(v: Vec<KV>) -> Vec<(String, String)> {
    v.into_iter().map(|t| (t.key, t.value)).collect()
}

async fn username(app: &AppState, r: &run::Model) -> MResult<String> {
    Ok(run_service::usernames(&app.db, std::iter::once(r.created_by))
        .await?
        .remove(&r.created_by)
        .unwrap_or_default())
}

async fn run_json(app: &AppState, r: &run::Model) -> MResult<Value> {
    let data = tracking::data_of(&app.db, &[r.id]).await?.remove(&r.id).unwrap_or_default();
    Ok(wire::run(&r.into(), &username(app, r).await?, &data))
}

#[derive(Deserialize)]
pub struct CreateReq {
    #[serde(default)]
    experiment_id: Option<String>,
    #[serde(default)]
    run_name: Option<String>,
    #[serde(default, deserialize_with = "wire::opt_i64")]
    start_time: Option<i64>,
    #[serde(default)]
    tags: Vec<KV>,
}

pub async fn create(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<CreateReq>,
) -> MResult<Json<Value>> {
    if matches!(who, Principal::Run { .. }) {
        return Err(Error::Forbidden("a run token may only write to its own run".into()).into());
    }
    let a = who.experiment(&app, req.experiment_id.as_deref().unwrap_or("0")).await?;
    if a.project.deleted_at.is_some() {
        return Err(Error::Conflict("the experiment is deleted; restore it first".into()).into());
    }
    let tags = pairs(req.tags);
    let name = req
        .run_name
        .or_else(|| tags.iter().find(|(k, _)| k == tracking::RUN_NAME_TAG).map(|(_, v)| v.clone()));
    let started = req.start_time.and_then(|ms| Utc.timestamp_millis_opt(ms).single());
    let r = run_service::create_external(&app.db, &a, who.user(), name.as_deref(), started).await?;
    let tags: Vec<_> = tags.into_iter().filter(|(k, _)| k != tracking::RUN_NAME_TAG).collect();
    app.ingest.log(&(&r).into(), vec![], vec![], tags).await?;
    Ok(Json(json!({"run": run_json(&app, &r).await?})))
}

#[derive(Deserialize)]
pub struct RunReq {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_uuid: Option<String>,
}

impl RunReq {
    pub(super) fn id(&self) -> MResult<&str> {
        self.run_id
            .as_deref()
            .or(self.run_uuid.as_deref())
            .ok_or_else(|| Error::invalid("run_id", "run_id is required").into())
    }
}

pub async fn get(State(app): State<AppState>, who: Principal, Msg(req): Msg<RunReq>) -> MResult<Json<Value>> {
    let r = who.run(&app, req.id()?, false).await?;
    Ok(Json(json!({"run": run_json(&app, &r).await?})))
}

#[derive(Deserialize)]
pub struct UpdateReq {
    #[serde(flatten)]
    run: RunReq,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    run_name: Option<String>,
}

/// Status changes apply to external runs only: a Myelin run's status belongs to its executor (the client's
/// `FINISHED` at exit is noted, the process exit decides).
pub async fn update(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<UpdateReq>,
) -> MResult<Json<Value>> {
    let r = who.run(&app, req.run.id()?, true).await?;
    if let Some(name) = req.run_name.filter(|n| !n.is_empty()) {
        app.ingest
            .log(&(&r).into(), vec![], vec![], vec![(tracking::RUN_NAME_TAG.to_string(), name)])
            .await?;
    }
    if let (Some(s), true) = (req.status.as_deref(), r.kind == spec::lifecycle::RunKind::External.as_str()) {
        let (to, reason) = match s {
            "RUNNING" => (Status::Running, "Running"),
            "FINISHED" => (Status::Succeeded, "Succeeded"),
            "FAILED" => (Status::Failed, "Failed"),
            "KILLED" => (Status::Stopped, "StoppedByUser"),
            "SCHEDULED" => (Status::Queued, "Queued"),
            other => return Err(Error::invalid("status", format!("unknown run status {other:?}")).into()),
        };
        if r.status != to.as_str() {
            run_service::transition(&app.db, r.id, to, reason, Some("reported by the MLflow client")).await?;
        }
    }
    let r = run_service::access::load(&app.db, r.id).await?;
    Ok(Json(json!({"run_info": wire::run_info(&(&r).into(), &username(&app, &r).await?)})))
}

pub async fn delete(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<RunReq>,
) -> MResult<Json<Value>> {
    let (a, r) = who.run_access(&app, req.id()?).await?;
    run_service::set_deleted(&app.db, &a, r.id, true).await?;
    Ok(Json(json!({})))
}

pub async fn restore(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<RunReq>,
) -> MResult<Json<Value>> {
    let (a, r) = who.run_access(&app, req.id()?).await?;
    run_service::set_deleted(&app.db, &a, r.id, false).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct SearchReq {
    #[serde(default, deserialize_with = "wire::strings")]
    experiment_ids: Vec<String>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    run_view_type: Option<String>,
    #[serde(default, deserialize_with = "wire::opt_i64")]
    max_results: Option<i64>,
    #[serde(default, deserialize_with = "wire::strings")]
    order_by: Vec<String>,
    #[serde(default)]
    page_token: Option<String>,
}

pub async fn search(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<SearchReq>,
) -> MResult<Json<Value>> {
    let mut projects = Vec::new();
    for id in &req.experiment_ids {
        projects.push(who.experiment(&app, id).await?.project.id);
    }
    let clauses = filter::parse_filter(req.filter.as_deref().unwrap_or(""))?;
    let order = req.order_by.iter().map(|o| filter::parse_order(o)).collect::<Result<Vec<_>, _>>()?;
    let view = match req.run_view_type.as_deref() {
        Some("DELETED_ONLY") => search::View::Deleted,
        Some("ALL") => search::View::All,
        _ => search::View::Active,
    };
    let limit = req.max_results.unwrap_or(1000);
    if !(1..=50_000).contains(&limit) {
        return Err(Error::invalid("max_results", "max_results must be between 1 and 50000").into());
    }
    let offset: u64 = match req.page_token.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => t.parse().map_err(|_| Error::invalid("page_token", "invalid page_token"))?,
        None => 0,
    };
    let mut rows =
        search::find_runs(&app.db, &projects, &clauses, &order, view, limit as u64 + 1, offset).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
    let mut data = tracking::data_of(&app.db, &ids).await?;
    let names = run_service::usernames(&app.db, rows.iter().map(|r| r.created_by)).await?;
    let runs: Vec<Value> = rows
        .iter()
        .map(|r| {
            let d = data.remove(&r.id).unwrap_or_default();
            wire::run(r, names.get(&r.created_by).map(String::as_str).unwrap_or(""), &d)
        })
        .collect();
    let mut out = json!({"runs": runs});
    if more {
        out["next_page_token"] = json!((offset + limit as u64).to_string());
    }
    Ok(Json(out))
}
