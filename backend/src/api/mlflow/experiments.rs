//! Experiments are projects: `owner/name`, created under the caller's account.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{hex, wire, MResult, Msg, Principal};
use crate::entities::user;
use crate::error::{Error, Result};
use crate::services::project_tags;
use crate::services::projects::{self, ProjectAccess, ProjectUpdate};
use crate::state::AppState;

/// The caller's `default` project: where runs of experiment `0` go.
pub async fn default_project(app: &AppState, u: &user::Model) -> Result<ProjectAccess> {
    match projects::access(&app.db, Some(u), &u.username, "default").await {
        Ok(a) => Ok(a),
        Err(Error::NotFound(_)) => {
            match projects::create(
                &app.db,
                u,
                "default",
                "Runs logged without an experiment (MLflow's experiment 0)",
            )
            .await
            {
                Ok(_) | Err(Error::AlreadyExists(_)) => {
                    projects::access(&app.db, Some(u), &u.username, "default").await
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// `owner/name`, or a bare name: the caller's own project, else the only one visible to them by that name.
async fn by_name(app: &AppState, who: &Principal, name: &str) -> MResult<ProjectAccess> {
    let a = projects::find_by_name(&app.db, who.user(), name).await?.ok_or(Error::NotFound("experiment"))?;
    if let Principal::Run { run, .. } = who {
        if run.project_id != a.project.id {
            return Err(Error::NotFound("experiment").into());
        }
    }
    Ok(a)
}

#[derive(Deserialize)]
pub struct CreateReq {
    name: String,
    #[serde(default)]
    tags: Vec<super::runs::KV>,
}

pub async fn create(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<CreateReq>,
) -> MResult<Json<Value>> {
    let Principal::User(u) = &who else {
        return Err(Error::Forbidden("a run token cannot create experiments".into()).into());
    };
    let name = match req.name.split_once('/') {
        Some((owner, n)) if owner == u.username => n,
        Some((owner, _)) => {
            return Err(Error::Forbidden(format!(
                "experiments are created under your own account, not {owner:?}"
            ))
            .into())
        }
        None => req.name.as_str(),
    };
    for t in &req.tags {
        crate::domain::validate_key("tag", &t.key)?;
    }
    let p = projects::create(&app.db, u, name, "").await.map_err(|e| match e {
        Error::AlreadyExists(_) => Error::AlreadyExists(format!("experiment {:?} already exists", req.name)),
        other => other,
    })?;
    if !req.tags.is_empty() {
        let a = projects::access_by_id(&app.db, u, p.id).await?;
        for t in &req.tags {
            project_tags::set(&app.db, &a, &t.key, &t.value).await?;
        }
    }
    Ok(Json(json!({"experiment_id": hex(p.id)})))
}

/// The experiment as MLflow answers it, with its tags.
async fn answer(app: &AppState, a: &ProjectAccess) -> MResult<Json<Value>> {
    let tags = project_tags::of(&app.db, &[a.project.id]).await?.remove(&a.project.id).unwrap_or_default();
    Ok(Json(json!({"experiment": wire::experiment(&a.project, &a.owner, &tags)})))
}

#[derive(Deserialize)]
pub struct GetReq {
    experiment_id: String,
}

pub async fn get(State(app): State<AppState>, who: Principal, Msg(req): Msg<GetReq>) -> MResult<Json<Value>> {
    let a = who.experiment(&app, &req.experiment_id).await?;
    answer(&app, &a).await
}

#[derive(Deserialize)]
pub struct ByNameReq {
    experiment_name: String,
}

pub async fn get_by_name(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<ByNameReq>,
) -> MResult<Json<Value>> {
    let a = by_name(&app, &who, &req.experiment_name).await?;
    answer(&app, &a).await
}

#[derive(Deserialize)]
pub struct SearchReq {
    #[serde(default, deserialize_with = "wire::opt_i64")]
    max_results: Option<i64>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    view_type: Option<String>,
    #[serde(default)]
    page_token: Option<String>,
}

pub async fn search(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<SearchReq>,
) -> MResult<Json<Value>> {
    use crate::services::experiments::{self, Scope, View};
    let clauses = crate::services::tracking::filter::parse_filter(req.filter.as_deref().unwrap_or(""))?;
    let scope = match &who {
        Principal::Run { run, .. } => Scope::Project(run.project_id),
        Principal::User(u) => Scope::MemberOf(u.id),
    };
    let view = match req.view_type.as_deref().unwrap_or("ACTIVE_ONLY") {
        "DELETED_ONLY" => View::Deleted,
        "ALL" => View::All,
        _ => View::Active,
    };
    let limit = req.max_results.unwrap_or(1000).clamp(1, 50_000) as usize;
    let page = experiments::search(&app.db, scope, view, &clauses, limit, req.page_token.as_deref()).await?;
    let experiments: Vec<Value> =
        page.experiments.iter().map(|f| wire::experiment(&f.project, &f.owner, &f.tags)).collect();
    let mut out = json!({"experiments": experiments});
    if let Some(next) = page.next {
        out["next_page_token"] = json!(next);
    }
    Ok(Json(out))
}

/// Renaming, deleting or restoring an experiment is the project's business, never a job's.
fn not_a_run_token(who: &Principal) -> MResult<()> {
    match who {
        Principal::Run { .. } => {
            Err(Error::Forbidden("a run token may only write to its own run, not its experiment".into())
                .into())
        }
        Principal::User(_) => Ok(()),
    }
}

async fn set_deleted(app: &AppState, who: &Principal, id: &str, deleted: bool) -> MResult<Json<Value>> {
    not_a_run_token(who)?;
    let a = who.experiment(app, id).await?;
    projects::set_deleted(&app.db, &a, deleted).await?;
    Ok(Json(json!({})))
}

pub async fn delete(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<GetReq>,
) -> MResult<Json<Value>> {
    set_deleted(&app, &who, &req.experiment_id, true).await
}

pub async fn restore(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<GetReq>,
) -> MResult<Json<Value>> {
    set_deleted(&app, &who, &req.experiment_id, false).await
}

#[derive(Deserialize)]
pub struct UpdateReq {
    experiment_id: String,
    new_name: Option<String>,
}

pub async fn update(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<UpdateReq>,
) -> MResult<Json<Value>> {
    not_a_run_token(&who)?;
    let a = who.experiment(&app, &req.experiment_id).await?;
    if let Some(n) = req.new_name {
        let name = n.rsplit_once('/').map_or(n.as_str(), |(_, n)| n).to_string();
        projects::update(&app.db, &a, &ProjectUpdate { name: Some(name), ..Default::default() }).await?;
    }
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct SetTagReq {
    experiment_id: String,
    key: String,
    value: String,
}

/// `set-experiment-tag`: members and up (the description, `mlflow.note.content`, admins); never a job's token.
pub async fn set_tag(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<SetTagReq>,
) -> MResult<Json<Value>> {
    not_a_run_token(&who)?;
    let a = who.experiment(&app, &req.experiment_id).await?;
    project_tags::set(&app.db, &a, &req.key, &req.value).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct DeleteTagReq {
    experiment_id: String,
    key: String,
}

pub async fn delete_tag(
    State(app): State<AppState>,
    who: Principal,
    Msg(req): Msg<DeleteTagReq>,
) -> MResult<Json<Value>> {
    not_a_run_token(&who)?;
    let a = who.experiment(&app, &req.experiment_id).await?;
    project_tags::delete(&app.db, &a, &req.key).await?;
    Ok(Json(json!({})))
}
