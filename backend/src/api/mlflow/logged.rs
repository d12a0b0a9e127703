//! MLflow 3's `logged-models` routes (what `mlflow.<flavor>.log_model` calls) and `runs/outputs`, over
//! `services::registry::logged`. A logged model is always a run's: its files go to the run's artifacts.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::registry::{caller, page, tags_json};
use super::runs::{pairs, KV};
use super::{hex, parse_id, MResult, Msg, Principal};
use crate::error::Error;
use crate::services::registry::logged;
use crate::state::AppState;

const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

fn model_json(v: &logged::View) -> Value {
    let m = &v.model;
    json!({
        "info": {
            "model_id": m.id,
            "experiment_id": hex(m.project_id),
            "name": m.name,
            "creation_timestamp_ms": m.created_ms,
            "last_updated_timestamp_ms": m.updated_ms,
            "artifact_uri": logged::artifact_uri(m),
            "status": m.status,
            "status_message": m.status_message,
            "model_type": m.model_type,
            "source_run_id": hex(m.run_id),
            "tags": tags_json(&v.tags),
        },
        "data": {"params": tags_json(&v.params), "metrics": []},
    })
}

async fn one(app: &AppState, m: crate::entities::logged_model::Model) -> MResult<Json<Value>> {
    let v = logged::views(&app.db, vec![m]).await?.remove(0);
    Ok(Json(json!({"model": model_json(&v)})))
}

#[derive(Deserialize)]
pub struct CreateReq {
    experiment_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    model_type: String,
    #[serde(default)]
    source_run_id: Option<String>,
    #[serde(default)]
    params: Vec<KV>,
    #[serde(default)]
    tags: Vec<KV>,
}

pub async fn create(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<CreateReq>,
) -> MResult<Json<Value>> {
    let Some(run_id) = r.source_run_id.as_deref().filter(|s| !s.is_empty()) else {
        return Err(Error::invalid(
            "source_run_id",
            "Myelin keeps a logged model's files with the run that logged it: log the model inside a run \
             (`with mlflow.start_run(): ...log_model(...)`)",
        )
        .into());
    };
    let run = who.run(&app, run_id, true).await?;
    if parse_id(&r.experiment_id, "experiment_id")? != run.project_id {
        return Err(Error::invalid("experiment_id", "the run is in another experiment").into());
    }
    let m = logged::create(
        &app.db,
        caller(&who),
        &run,
        r.name.as_deref(),
        &r.model_type,
        &pairs(r.tags),
        &pairs(r.params),
    )
    .await?;
    one(&app, m).await
}

pub async fn get(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> MResult<Json<Value>> {
    let m = logged::get(&app.db, caller(&who), &id).await?;
    one(&app, m).await
}

#[derive(Deserialize)]
pub struct FinalizeReq {
    status: String,
}

pub async fn finalize(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Msg(r): Msg<FinalizeReq>,
) -> MResult<Json<Value>> {
    let m = logged::finalize(&app.db, caller(&who), &id, &r.status).await?;
    one(&app, m).await
}

pub async fn delete(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> MResult<Json<Value>> {
    logged::delete(&app.db, caller(&who), &id).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct TagsReq {
    #[serde(default)]
    tags: Vec<KV>,
}

pub async fn set_tags(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Msg(r): Msg<TagsReq>,
) -> MResult<Json<Value>> {
    logged::set_tags(&app.db, caller(&who), &id, &pairs(r.tags)).await?;
    Ok(Json(json!({})))
}

pub async fn delete_tag(
    State(app): State<AppState>,
    who: Principal,
    Path((id, key)): Path<(String, String)>,
) -> MResult<Json<Value>> {
    logged::delete_tag(&app.db, caller(&who), &id, &key).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct ParamsReq {
    #[serde(default)]
    params: Vec<KV>,
}

pub async fn log_params(
    State(app): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Msg(r): Msg<ParamsReq>,
) -> MResult<Json<Value>> {
    logged::log_params(&app.db, caller(&who), &id, &pairs(r.params)).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct OrderBy {
    field_name: String,
    #[serde(default = "yes")]
    ascending: bool,
    #[serde(default)]
    dataset_name: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
pub struct SearchReq {
    #[serde(default)]
    experiment_ids: Vec<String>,
    #[serde(default)]
    filter: String,
    #[serde(default)]
    datasets: Vec<Value>,
    #[serde(default)]
    max_results: Option<i64>,
    #[serde(default)]
    order_by: Vec<OrderBy>,
    #[serde(default)]
    page_token: Option<String>,
}

pub async fn search(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<SearchReq>,
) -> MResult<Json<Value>> {
    if !r.datasets.is_empty() {
        return Err(Error::invalid(
            "datasets",
            "Myelin does not link metrics to logged models' datasets yet",
        )
        .into());
    }
    let order = match r.order_by.first() {
        None => None,
        Some(o) if o.dataset_name.is_some() => {
            return Err(Error::invalid("order_by", "ordering by a dataset's metric is not supported").into())
        }
        Some(o) => {
            let f = o.field_name.strip_prefix("attributes.").unwrap_or(&o.field_name);
            let Some(f) =
                ["name", "creation_timestamp", "last_updated_timestamp"].into_iter().find(|x| *x == f)
            else {
                return Err(Error::invalid(
                    "order_by",
                    format!(
                        "cannot order by {} (name, creation_timestamp, last_updated_timestamp)",
                        o.field_name
                    ),
                )
                .into());
            };
            Some((f, o.ascending))
        }
    };
    let projects =
        r.experiment_ids.iter().map(|e| parse_id(e, "experiment_ids")).collect::<Result<Vec<_>, _>>()?;
    let (offset, max) = page(r.page_token.as_deref(), r.max_results, DEFAULT_PAGE, MAX_PAGE)?;
    let (found, more) =
        logged::search(&app.db, caller(&who), &projects, &r.filter, order, offset, max).await?;
    let views = logged::views(&app.db, found).await?;
    let mut out = json!({"models": views.iter().map(model_json).collect::<Vec<_>>()});
    if more {
        out["next_page_token"] = json!((offset + max).to_string());
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
pub struct Output {
    model_id: String,
    #[serde(default)]
    step: i64,
}

#[derive(Deserialize)]
pub struct OutputsReq {
    run_id: String,
    #[serde(default)]
    models: Vec<Output>,
}

/// MLflow's `runs/outputs`: the logged models a run produced.
pub async fn log_outputs(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<OutputsReq>,
) -> MResult<Json<Value>> {
    let run = who.run(&app, &r.run_id, true).await?;
    let models: Vec<(String, i64)> = r.models.into_iter().map(|m| (m.model_id, m.step)).collect();
    logged::record_outputs(&app.db, &run, &models).await?;
    Ok(Json(json!({})))
}
