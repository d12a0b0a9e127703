//! `POST /api/v1/projects/{owner}/{name}/compare`: runs side by side.

use axum::extract::State;

use super::extract::{Json, Path};
use crate::auth::Caller;
use crate::error::Result;
use crate::services::{compare, projects};
use crate::state::AppState;
use api_types::{CompareRequest, Comparison, WhyDifferent, WhyRequest};

/// Params (nested dicts key by key), tags, image / digest / commit, metric summaries with each metric's best run
/// and deltas against the baseline, and the chosen metrics' series (at most 500 points per line, each bucket's
/// min and max kept). 1 to 1,000 runs of the project.
#[utoipa::path(post, path = "/api/v1/projects/{owner}/{name}/compare", tag = "runs", request_body = CompareRequest,
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Comparison), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn compare_runs(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
    Json(req): Json<CompareRequest>,
) -> Result<Json<Comparison>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(compare::compare(&app.db, &a, &req).await?))
}

/// Two runs side by side in everything that decides a result: params, each container's command, args,
/// environment and resources, image / digest / commit, dataset digests (MLflow `log-inputs`), upstream values,
/// and what differs in their cache keys' inputs.
#[utoipa::path(post, path = "/api/v1/projects/{owner}/{name}/compare/why", tag = "runs", request_body = WhyRequest,
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = WhyDifferent), (status = 404, body = crate::error::ErrorBody)))]
pub async fn why_different(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
    Json(req): Json<WhyRequest>,
) -> Result<Json<WhyDifferent>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(compare::why(&app.db, &a, req.a, req.b).await?))
}
