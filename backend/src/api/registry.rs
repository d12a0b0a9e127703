//! The registry with team review under `/api/v1`: a project's models, versions (with lineage), alias history,
//! policy and audit trail; promotion requests and the caller's review inbox. Thin: `services::registry`.

use api_types::{
    AliasHistory, AuditTrail, Inbox, ModelDetail, ModelSummary, PromotionRequestBody, RegistryPolicy,
    RequestDetail, RequestSummary, ReviewBody, SetReviewers, UpdateModel, VersionDetail,
};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{Json, Path, Query};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::services::projects;
use crate::services::registry::{catalog, inbox, policy, review};
use crate::state::AppState;

type E = crate::error::ErrorBody;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ModelQuery {
    /// Only models whose name contains this (any case).
    #[serde(default)]
    q: String,
}

/// The project's models with their latest version and aliases (protected ones marked), by name.
#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/models", tag = "registry",
    params(("owner" = String, Path), ("name" = String, Path), ModelQuery),
    responses((status = 200, body = Vec<ModelSummary>), (status = 404, body = E)))]
pub async fn list_models(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
    Query(q): Query<ModelQuery>,
) -> Result<Json<Vec<ModelSummary>>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(catalog::models(&app.db, &a, &q.q).await?))
}

/// A model: its versions (newest first, each with its source run's latest metrics), reviewers, the project's
/// policy and the model's promotion requests.
#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/models/{model}", tag = "registry",
    params(("owner" = String, Path), ("name" = String, Path), ("model" = String, Path)),
    responses((status = 200, body = ModelDetail), (status = 404, body = E)))]
pub async fn get_model(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, model)): Path<(String, String, String)>,
) -> Result<Json<ModelDetail>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(catalog::model(&app.db, &a, &model).await?))
}

/// Edits the model's description (members).
#[utoipa::path(patch, path = "/api/v1/projects/{owner}/{name}/models/{model}", tag = "registry",
    params(("owner" = String, Path), ("name" = String, Path), ("model" = String, Path)), request_body = UpdateModel,
    responses((status = 200, body = ModelDetail), (status = 403, body = E), (status = 404, body = E)))]
pub async fn update_model(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, model)): Path<(String, String, String)>,
    Json(b): Json<UpdateModel>,
) -> Result<Json<ModelDetail>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(catalog::describe(&app.db, &a, &model, &b.description).await?))
}

/// Names the model's reviewers (project members who may approve besides its admins and owner; admins).
#[utoipa::path(put, path = "/api/v1/projects/{owner}/{name}/models/{model}/reviewers", tag = "registry",
    params(("owner" = String, Path), ("name" = String, Path), ("model" = String, Path)), request_body = SetReviewers,
    responses((status = 200, body = ModelDetail), (status = 403, body = E), (status = 404, body = E)))]
pub async fn set_reviewers(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, model)): Path<(String, String, String)>,
    Json(b): Json<SetReviewers>,
) -> Result<Json<ModelDetail>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(catalog::set_reviewers(&app.db, &a, &model, &b.reviewers).await?))
}

/// A version with its lineage (source run's params, metrics, image, commit, datasets), alias moves and
/// requests.
#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/models/{model}/versions/{version}", tag = "registry",
    params(("owner" = String, Path), ("name" = String, Path), ("model" = String, Path), ("version" = i32, Path)),
    responses((status = 200, body = VersionDetail), (status = 404, body = E)))]
pub async fn get_version(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, model, version)): Path<(String, String, String, i32)>,
) -> Result<Json<VersionDetail>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(catalog::version(&app.db, &a, &model, version).await?))
}

/// Asks for `alias` to point at a version (members); reviewers approve it. A newer request for the same alias
/// supersedes an open older one.
#[utoipa::path(post, path = "/api/v1/projects/{owner}/{name}/models/{model}/promotions", tag = "registry",
    params(("owner" = String, Path), ("name" = String, Path), ("model" = String, Path)),
    request_body = PromotionRequestBody,
    responses((status = 201, body = RequestSummary), (status = 400, body = E), (status = 403, body = E), (status = 404, body = E)))]
pub async fn request_promotion(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, model)): Path<(String, String, String)>,
    Json(b): Json<PromotionRequestBody>,
) -> Result<(StatusCode, Json<RequestSummary>)> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    let me = u.ok_or(Error::NotFound("project"))?;
    let r = review::open(&app.db, &a, &me, &model, b.version, &b.alias, &b.reason).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct HistoryQuery {
    /// A time (ms since the epoch): the answer says where the alias pointed then.
    #[serde(default)]
    at: Option<i64>,
}

/// Every move of an alias, and the version it pointed at, at a time.
#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/models/{model}/aliases/{alias}/history", tag = "registry",
    params(("owner" = String, Path), ("name" = String, Path), ("model" = String, Path), ("alias" = String, Path), HistoryQuery),
    responses((status = 200, body = AliasHistory), (status = 404, body = E)))]
pub async fn alias_history(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, model, alias)): Path<(String, String, String, String)>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<AliasHistory>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(catalog::alias_history(&app.db, &a, &model, &alias, q.at).await?))
}

/// The project's registry policy: protected aliases and the approvals a request needs.
#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/registry/policy", tag = "registry",
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = RegistryPolicy), (status = 404, body = E)))]
pub async fn get_policy(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
) -> Result<Json<RegistryPolicy>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(catalog::policy_view(&policy::of(&app.db, a.project.id).await?)))
}

/// Sets the registry policy (admins).
#[utoipa::path(put, path = "/api/v1/projects/{owner}/{name}/registry/policy", tag = "registry",
    params(("owner" = String, Path), ("name" = String, Path)), request_body = RegistryPolicy,
    responses((status = 200, body = RegistryPolicy), (status = 400, body = E), (status = 403, body = E), (status = 404, body = E)))]
pub async fn set_policy(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
    Json(b): Json<RegistryPolicy>,
) -> Result<Json<RegistryPolicy>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(catalog::set_policy(&app.db, &a, &b).await?))
}

/// Which page of the audit trail: the `limit` (at most 500) entries before sequence number `before`.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct AuditPage {
    pub before: Option<i64>,
    pub limit: Option<u64>,
}

/// The project's registry audit trail (requests, reviews, comments, alias moves), a page at a time, oldest
/// first within it, and whether the whole hash chain holds.
#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/registry/audit", tag = "registry",
    params(("owner" = String, Path), ("name" = String, Path), AuditPage),
    responses((status = 200, body = AuditTrail), (status = 404, body = E)))]
pub async fn audit_trail(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
    Query(q): Query<AuditPage>,
) -> Result<Json<AuditTrail>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(catalog::audit_trail(&app.db, &a, q.before, q.limit).await?))
}

/// Requests awaiting the caller's review, and those the caller opened.
#[utoipa::path(get, path = "/api/v1/reviews", tag = "registry",
    responses((status = 200, body = Inbox), (status = 401, body = E)))]
pub async fn inbox(State(app): State<AppState>, Caller(u): Caller) -> Result<Json<Inbox>> {
    let me = u.ok_or(Error::Unauthenticated)?;
    Ok(Json(inbox::inbox(&app.db, &me).await?))
}

/// A request with its evidence (the candidate against the alias's current version) and thread.
#[utoipa::path(get, path = "/api/v1/reviews/{request}", tag = "registry", params(("request" = Uuid, Path)),
    responses((status = 200, body = RequestDetail), (status = 404, body = E)))]
pub async fn get_request(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<RequestDetail>> {
    let me = u.ok_or(Error::NotFound("promotion request"))?;
    Ok(Json(review::detail(&app.db, &me, id).await?))
}

/// Approves (reviewers; not one's own request). At the required approvals the alias moves.
#[utoipa::path(post, path = "/api/v1/reviews/{request}/approve", tag = "registry", params(("request" = Uuid, Path)),
    request_body = ReviewBody,
    responses((status = 200, body = RequestDetail), (status = 403, body = E), (status = 404, body = E), (status = 409, body = E)))]
pub async fn approve(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<ReviewBody>,
) -> Result<Json<RequestDetail>> {
    let me = u.ok_or(Error::NotFound("promotion request"))?;
    Ok(Json(review::decide(&app.db, &me, id, review::Decision::Approve, &b.body).await?))
}

/// Rejects (reviewers): the request closes.
#[utoipa::path(post, path = "/api/v1/reviews/{request}/reject", tag = "registry", params(("request" = Uuid, Path)),
    request_body = ReviewBody,
    responses((status = 200, body = RequestDetail), (status = 403, body = E), (status = 404, body = E), (status = 409, body = E)))]
pub async fn reject(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<ReviewBody>,
) -> Result<Json<RequestDetail>> {
    let me = u.ok_or(Error::NotFound("promotion request"))?;
    Ok(Json(review::decide(&app.db, &me, id, review::Decision::Reject, &b.body).await?))
}

/// Adds a comment (Markdown) to the request's thread (members and reviewers).
#[utoipa::path(post, path = "/api/v1/reviews/{request}/comment", tag = "registry", params(("request" = Uuid, Path)),
    request_body = ReviewBody,
    responses((status = 200, body = RequestDetail), (status = 403, body = E), (status = 404, body = E)))]
pub async fn comment(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<ReviewBody>,
) -> Result<Json<RequestDetail>> {
    let me = u.ok_or(Error::NotFound("promotion request"))?;
    Ok(Json(review::comment(&app.db, &me, id, &b.body).await?))
}

/// Withdraws an open request (its requester or a project admin).
#[utoipa::path(post, path = "/api/v1/reviews/{request}/cancel", tag = "registry", params(("request" = Uuid, Path)),
    responses((status = 200, body = RequestDetail), (status = 403, body = E), (status = 404, body = E), (status = 409, body = E)))]
pub async fn cancel(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<RequestDetail>> {
    let me = u.ok_or(Error::NotFound("promotion request"))?;
    Ok(Json(review::cancel(&app.db, &me, id).await?))
}
