//! `POST /api/v1/projects/{owner}/{name}/compare`: runs side by side.

use axum::extract::State;

use super::extract::{Json, Path};
use crate::auth::Caller;
use crate::error::Result;
use crate::services::{compare, projects};
use crate::state::AppState;
use api_types::{CompareRequest, Comparison};

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
