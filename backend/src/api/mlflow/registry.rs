//! MLflow's Model Registry REST API (`registered-models/*`, `model-versions/*`) over `services::registry`.
//! Versions are numbers on the wire as strings, times are ms since the epoch, as MLflow writes them.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::runs::{pairs, KV};
use super::{hex, parse_id, wire, MResult, Msg, Principal};
use crate::error::Error;
use crate::services::registry::{self, versions, Caller, ModelView};
use crate::state::AppState;

/// Search pages: MLflow's default and largest page of registered models; versions are bounded lower than
/// MLflow's 200,000 to bound one request's work.
const MODELS_DEFAULT: usize = 100;
const MODELS_MAX: usize = 1000;
const VERSIONS_DEFAULT: usize = 10_000;
const VERSIONS_MAX: usize = 10_000;

pub(super) fn caller(p: &Principal) -> Caller<'_> {
    match p {
        Principal::User(u) => Caller { user: u, only: None, run: None },
        Principal::Run { run, user } => Caller { user, only: Some(run.project_id), run: Some(run.id) },
    }
}

/// Where a new model goes: a run token's project, else the caller's `default` project (MLflow's experiment 0).
async fn home(app: &AppState, p: &Principal) -> MResult<uuid::Uuid> {
    Ok(match p {
        Principal::Run { run, .. } => run.project_id,
        Principal::User(u) => super::experiments::default_project(app, u).await?.project.id,
    })
}

pub(super) fn tags_json(tags: &[(String, String)]) -> Value {
    Value::Array(tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect())
}

fn version_json(v: &versions::VersionView) -> Value {
    let m = &v.version;
    json!({
        "name": v.name,
        "version": m.version.to_string(),
        "creation_timestamp": m.created_ms,
        "last_updated_timestamp": m.updated_ms,
        "current_stage": m.stage,
        "description": m.description,
        "source": m.source,
        "run_id": m.run_id.map(hex).unwrap_or_default(),
        "run_link": m.run_link,
        "model_id": m.logged_model_id.clone().unwrap_or_default(),
        "status": m.status,
        "tags": tags_json(&v.tags),
        "aliases": v.aliases,
    })
}

fn model_json(v: &ModelView) -> Value {
    let latest: Vec<Value> = v
        .latest
        .iter()
        .map(|l| {
            version_json(&versions::VersionView {
                name: v.model.name.clone(),
                project: v.model.project_id,
                version: l.clone(),
                tags: vec![],
                aliases: vec![],
            })
        })
        .collect();
    json!({
        "name": v.model.name,
        "creation_timestamp": v.model.created_ms,
        "last_updated_timestamp": v.model.updated_ms,
        "description": v.model.description,
        "latest_versions": latest,
        "tags": tags_json(&v.tags),
        "aliases": v.aliases.iter().map(|(a, n)| json!({"alias": a, "version": n.to_string()})).collect::<Vec<_>>(),
    })
}

async fn one_model(app: &AppState, m: crate::entities::registered_model::Model) -> MResult<Json<Value>> {
    let v = registry::views(&app.db, vec![m]).await?.remove(0);
    Ok(Json(json!({"registered_model": model_json(&v)})))
}

async fn one_version(app: &AppState, v: crate::entities::model_version::Model) -> MResult<Json<Value>> {
    let views = versions::views(&app.db, vec![v]).await?;
    let v = views.first().ok_or(Error::NotFound("model version"))?;
    Ok(Json(json!({"model_version": version_json(v)})))
}

pub(super) fn page(
    token: Option<&str>,
    max: Option<i64>,
    default: usize,
    limit: usize,
) -> MResult<(usize, usize)> {
    let offset = match token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => {
            t.parse().map_err(|_| Error::invalid("page_token", format!("invalid page token {t:?}")))?
        }
    };
    let max = match max {
        None => default,
        Some(m) if (1..=limit as i64).contains(&m) => m as usize,
        Some(m) => return Err(Error::invalid("max_results", format!("max_results {m}: 1 to {limit}")).into()),
    };
    Ok((offset, max))
}

#[derive(Deserialize)]
pub struct NameReq {
    name: String,
}

#[derive(Deserialize)]
pub struct CreateModelReq {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: Vec<KV>,
}

pub async fn create_model(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<CreateModelReq>,
) -> MResult<Json<Value>> {
    let home = home(&app, &who).await?;
    let m = registry::create(&app.db, caller(&who), home, &r.name, &r.description, &pairs(r.tags)).await?;
    one_model(&app, m).await
}

pub async fn get_model(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<NameReq>,
) -> MResult<Json<Value>> {
    let f = registry::find(&app.db, caller(&who), &r.name).await?;
    one_model(&app, f.model).await
}

#[derive(Deserialize)]
pub struct RenameReq {
    name: String,
    new_name: String,
}

pub async fn rename_model(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<RenameReq>,
) -> MResult<Json<Value>> {
    let m = registry::rename(&app.db, caller(&who), &r.name, &r.new_name).await?;
    one_model(&app, m).await
}

#[derive(Deserialize)]
pub struct UpdateModelReq {
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn update_model(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<UpdateModelReq>,
) -> MResult<Json<Value>> {
    let m = registry::update(&app.db, caller(&who), &r.name, &r.description).await?;
    one_model(&app, m).await
}

pub async fn delete_model(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<NameReq>,
) -> MResult<Json<Value>> {
    if let Principal::Run { .. } = who {
        return Err(Error::Forbidden("a run token cannot delete registered models".into()).into());
    }
    registry::delete(&app.db, caller(&who), &r.name).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct SearchReq {
    #[serde(default)]
    filter: String,
    #[serde(default, deserialize_with = "wire::opt_i64")]
    max_results: Option<i64>,
    #[serde(default, deserialize_with = "wire::strings")]
    order_by: Vec<String>,
    #[serde(default)]
    page_token: Option<String>,
}

pub async fn search_models(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<SearchReq>,
) -> MResult<Json<Value>> {
    let (offset, max) = page(r.page_token.as_deref(), r.max_results, MODELS_DEFAULT, MODELS_MAX)?;
    let (models, more) = registry::search(&app.db, caller(&who), &r.filter, &r.order_by, offset, max).await?;
    let views = registry::views(&app.db, models).await?;
    let mut out = json!({"registered_models": views.iter().map(model_json).collect::<Vec<_>>()});
    if more {
        out["next_page_token"] = json!((offset + max).to_string());
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
pub struct LatestReq {
    name: String,
    #[serde(default, deserialize_with = "wire::strings")]
    stages: Vec<String>,
}

pub async fn latest_versions(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<LatestReq>,
) -> MResult<Json<Value>> {
    let (_, found) = versions::latest(&app.db, caller(&who), &r.name, &r.stages).await?;
    let views = versions::views(&app.db, found).await?;
    Ok(Json(json!({"model_versions": views.iter().map(version_json).collect::<Vec<_>>()})))
}

#[derive(Deserialize)]
pub struct TagReq {
    name: String,
    key: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    version: Option<String>,
}

pub async fn set_model_tag(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<TagReq>,
) -> MResult<Json<Value>> {
    registry::set_tag(&app.db, caller(&who), &r.name, &r.key, &r.value).await?;
    Ok(Json(json!({})))
}

pub async fn delete_model_tag(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<TagReq>,
) -> MResult<Json<Value>> {
    registry::delete_tag(&app.db, caller(&who), &r.name, &r.key).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct AliasReq {
    name: String,
    alias: String,
    #[serde(default)]
    version: Option<String>,
}

pub async fn set_alias(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<AliasReq>,
) -> MResult<Json<Value>> {
    let v = versions::parse_version(r.version.as_deref().unwrap_or_default())?;
    registry::set_alias(&app.db, caller(&who), &r.name, &r.alias, v).await?;
    Ok(Json(json!({})))
}

pub async fn delete_alias(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<AliasReq>,
) -> MResult<Json<Value>> {
    registry::delete_alias(&app.db, caller(&who), &r.name, &r.alias).await?;
    Ok(Json(json!({})))
}

pub async fn get_by_alias(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<AliasReq>,
) -> MResult<Json<Value>> {
    let (_, v) = versions::by_alias(&app.db, caller(&who), &r.name, &r.alias).await?;
    one_version(&app, v).await
}

#[derive(Deserialize)]
pub struct CreateVersionReq {
    name: String,
    source: String,
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_link: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: Vec<KV>,
    #[serde(default)]
    model_id: Option<String>,
}

pub async fn create_version(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<CreateVersionReq>,
) -> MResult<Json<Value>> {
    let run_id = match r.run_id.as_deref().filter(|s| !s.is_empty()) {
        Some(id) => Some(parse_id(id, "run_id")?),
        None => None,
    };
    let tags = pairs(r.tags);
    let n = versions::NewVersion {
        source: &r.source,
        run_id,
        model_id: r.model_id.as_deref(),
        run_link: &r.run_link,
        description: &r.description,
        tags: &tags,
    };
    let (_, v) = versions::create(&app.db, caller(&who), &r.name, n).await?;
    one_version(&app, v).await
}

#[derive(Deserialize)]
pub struct VersionReq {
    name: String,
    version: String,
    #[serde(default)]
    description: Option<String>,
}

pub async fn get_version(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<VersionReq>,
) -> MResult<Json<Value>> {
    let (_, v) = versions::get(&app.db, caller(&who), &r.name, versions::parse_version(&r.version)?).await?;
    one_version(&app, v).await
}

pub async fn update_version(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<VersionReq>,
) -> MResult<Json<Value>> {
    let n = versions::parse_version(&r.version)?;
    let (_, v) =
        versions::update(&app.db, caller(&who), &r.name, n, r.description.as_deref().unwrap_or_default())
            .await?;
    one_version(&app, v).await
}

pub async fn delete_version(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<VersionReq>,
) -> MResult<Json<Value>> {
    versions::delete(&app.db, caller(&who), &r.name, versions::parse_version(&r.version)?).await?;
    Ok(Json(json!({})))
}

pub async fn download_uri(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<VersionReq>,
) -> MResult<Json<Value>> {
    let (_, v) = versions::get(&app.db, caller(&who), &r.name, versions::parse_version(&r.version)?).await?;
    Ok(Json(json!({"artifact_uri": v.storage})))
}

pub async fn set_version_tag(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<TagReq>,
) -> MResult<Json<Value>> {
    let n = versions::parse_version(r.version.as_deref().unwrap_or_default())?;
    versions::set_tag(&app.db, caller(&who), &r.name, n, &r.key, &r.value).await?;
    Ok(Json(json!({})))
}

pub async fn delete_version_tag(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<TagReq>,
) -> MResult<Json<Value>> {
    let n = versions::parse_version(r.version.as_deref().unwrap_or_default())?;
    versions::delete_tag(&app.db, caller(&who), &r.name, n, &r.key).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct StageReq {
    name: String,
    version: String,
    stage: String,
    #[serde(default)]
    archive_existing_versions: bool,
}

pub async fn transition_stage(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<StageReq>,
) -> MResult<Json<Value>> {
    let n = versions::parse_version(&r.version)?;
    let (_, v) =
        versions::transition(&app.db, caller(&who), &r.name, n, &r.stage, r.archive_existing_versions)
            .await?;
    one_version(&app, v).await
}

pub async fn search_versions(
    State(app): State<AppState>,
    who: Principal,
    Msg(r): Msg<SearchReq>,
) -> MResult<Json<Value>> {
    let (offset, max) = page(r.page_token.as_deref(), r.max_results, VERSIONS_DEFAULT, VERSIONS_MAX)?;
    let (found, more) = versions::search(&app.db, caller(&who), &r.filter, &r.order_by, offset, max).await?;
    let mut out = json!({"model_versions": found.iter().map(version_json).collect::<Vec<_>>()});
    if more {
        out["next_page_token"] = json!((offset + max).to_string());
    }
    Ok(Json(out))
}
