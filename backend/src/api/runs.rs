//! Runs of a project: submit, list, read, stop, restart, delete, logs (whole or live).

use std::convert::Infallible;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use futures_util::stream::{self, Stream, StreamExt};
use uuid::Uuid;

use super::extract::{Json, Path, Query};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::executor::logs::TAIL_BYTES;
use crate::services::projects;
use crate::services::runs::{self, RunDetail, RunPage, RunQuery, Submission};
use crate::state::AppState;

pub(super) type RunPath = Path<(String, String, Uuid)>;

/// The caller's access to the project and the run in it (404 for either when they may not see it).
pub(super) async fn run_of(
    app: &AppState,
    u: &Option<crate::entities::user::Model>,
    owner: &str,
    name: &str,
    id: Uuid,
) -> Result<(projects::ProjectAccess, crate::entities::run::Model)> {
    let a = projects::access(&app.db, u.as_ref(), owner, name).await?;
    let r = runs::find(&app.db, &a, id).await?;
    Ok((a, r))
}

#[utoipa::path(post, path = "/api/v1/projects/{owner}/{name}/runs", tag = "runs", request_body = Submission,
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 201, body = RunDetail), (status = 400, body = runs::InvalidSpec),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn create_run(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
    Json(sub): Json<Submission>,
) -> Result<(StatusCode, Json<RunDetail>)> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    let me = u.ok_or(Error::NotFound("project"))?;
    let run = app.submit(&a, &me, &sub).await?;
    app.wake.notify_one();
    Ok((StatusCode::CREATED, Json(run)))
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/runs", tag = "runs",
    params(("owner" = String, Path), ("name" = String, Path), RunQuery),
    responses((status = 200, body = RunPage), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list_runs(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name)): Path<(String, String)>,
    Query(q): Query<RunQuery>,
) -> Result<Json<RunPage>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(runs::list(&app.db, &a, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}", tag = "runs",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path)),
    responses((status = 200, body = RunDetail), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_run(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id)): RunPath,
) -> Result<Json<RunDetail>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(runs::get(&app.db, &a, id).await?))
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/graph", tag = "runs",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path)),
    responses((status = 200, body = crate::services::pipelines::PipelineGraph),
              (status = 404, body = crate::error::ErrorBody, description = "no such pipeline (DAG or matrix run)")))]
pub async fn get_run_graph(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id)): RunPath,
) -> Result<Json<crate::services::pipelines::PipelineGraph>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(crate::services::pipelines::graph(&app.db, &a, id).await?))
}

#[utoipa::path(post, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/stop", tag = "runs",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path)),
    responses((status = 200, body = RunDetail), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn stop_run(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id)): RunPath,
) -> Result<Json<RunDetail>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    runs::stop(&app.db, &app.executor, &a, id).await?;
    Ok(Json(runs::get(&app.db, &a, id).await?))
}

/// Approves a run that waits with `isApproved: false` (members): it is queued, and its history names the
/// approver.
#[utoipa::path(post, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/approve", tag = "runs",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path)),
    responses((status = 200, body = RunDetail), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn approve_run(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id)): RunPath,
) -> Result<Json<RunDetail>> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    Ok(Json(runs::approve(&app.db, &a, id).await?))
}

#[utoipa::path(post, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/restart", tag = "runs",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path)),
    responses((status = 201, body = RunDetail), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn restart_run(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id)): RunPath,
) -> Result<(StatusCode, Json<RunDetail>)> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    let me = u.ok_or(Error::NotFound("project"))?;
    let run = app.restart(&a, &me, id).await?;
    app.wake.notify_one();
    Ok((StatusCode::CREATED, Json(run)))
}

#[utoipa::path(delete, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}", tag = "runs",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path)),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete_run(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id)): RunPath,
) -> Result<StatusCode> {
    let a = projects::access(&app.db, u.as_ref(), &owner, &name).await?;
    runs::delete(&app.db, &app.artifacts, &a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/logs", tag = "runs",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path)),
    responses((status = 200, description = "`<RFC 3339 time> <stdout|stderr|system> <line>` per line", body = String, content_type = "text/plain"),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_run_logs(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id)): RunPath,
) -> Result<impl IntoResponse> {
    let (_, r) = run_of(&app, &u, &owner, &name, id).await?;
    // Streamed from the spool or the artifact store: a log of any size costs a buffer, not its size.
    let bytes = app.executor.logs().stream(r.project_id, runs::cache::source_of(&r)).await;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], axum::body::Body::from_stream(bytes)))
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/logs/stream", tag = "runs",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path)),
    responses((status = 200, description = "Server-sent events: one `log` event per line (the last MiB of what is stored, after a `skipped` event with the bytes left out when there is more; then live lines, and `progress` events with a line still being redrawn with `\\r`, e.g. a progress bar, which the next event replaces), then `end`", body = String, content_type = "text/event-stream"),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn stream_run_logs(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id)): RunPath,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let (_, r) = run_of(&app, &u, &owner, &name, id).await?;
    let permit = app.streams.open(stream_owner(&u, id))?;
    // Subscribe before reading the file, so no line falls between the two.
    let live = app.executor.subscribe(id);
    let stored = app.executor.logs().tail(r.project_id, runs::cache::source_of(&r), TAIL_BYTES).await;
    let last = stored.text.lines().last().map(str::to_string).unwrap_or_default();
    // A long log replays its last MiB, after a `skipped` event with the bytes left out (the download has all).
    let skipped =
        (stored.skipped > 0).then(|| Ok(Event::default().event("skipped").data(stored.skipped.to_string())));
    let lines: Vec<String> = stored.text.lines().map(str::to_string).collect();
    let head =
        stream::iter(skipped).chain(stream::iter(lines).map(|l| Ok(Event::default().event("log").data(l))));
    let tail = match live {
        Some(rx) => tokio_stream::wrappers::BroadcastStream::new(rx)
            .filter_map(move |m| {
                // A line still being drawn (a progress bar) ends in `\r`; it is shown in place of the last.
                let event = m.ok().map(|l| (if l.ends_with('\r') { "progress" } else { "log" }, l));
                let event = event
                    .map(|(kind, l)| (kind, l.trim_end().to_string()))
                    .filter(|(_, l)| l.as_str() > last.as_str());
                async move { event }
            })
            .map(|(kind, l)| Ok(Event::default().event(kind).data(l)))
            .boxed(),
        None => stream::empty().boxed(),
    };
    let end = stream::once(async move {
        drop(permit);
        Ok(Event::default().event("end").data("end"))
    });
    Ok(Sse::new(head.chain(tail).chain(end)).keep_alive(KeepAlive::default()))
}

#[utoipa::path(get, path = "/api/v1/projects/{owner}/{name}/runs/{uuid}/events", tag = "runs",
    params(("owner" = String, Path), ("name" = String, Path), ("uuid" = Uuid, Path)),
    responses((status = 200, description = "Server-sent events: a `status` event (`{status, updated_at}`) now and at every change, then `end` once the run is done", body = String, content_type = "text/event-stream"),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn stream_run_events(
    State(app): State<AppState>,
    Caller(u): Caller,
    Path((owner, name, id)): RunPath,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let (a, _) = run_of(&app, &u, &owner, &name, id).await?;
    let permit = std::sync::Arc::new(app.streams.open(stream_owner(&u, id))?);
    let db = app.db.clone();
    let started = std::time::Instant::now();
    enum Phase {
        Watching(Option<String>),
        Ending,
        Finished,
    }
    let events = stream::unfold(Phase::Watching(None), move |phase| {
        let (db, a, _permit) = (db.clone(), a.clone(), permit.clone());
        async move {
            let last = match phase {
                Phase::Finished => return None,
                Phase::Ending => {
                    return Some((Ok(Event::default().event("end").data("end")), Phase::Finished))
                }
                Phase::Watching(last) => last,
            };
            loop {
                // The database is the truth (several replicas may serve the same run): look every 300 ms,
                // for at most an hour per connection (clients reconnect).
                let Ok(r) = runs::find(&db, &a, id).await else {
                    return Some((Ok(Event::default().event("end").data("end")), Phase::Finished));
                };
                let key = format!("{}|{}", r.status, r.updated_at.to_rfc3339());
                if last.as_deref() != Some(key.as_str()) {
                    let data =
                        serde_json::json!({"status": r.status, "updated_at": r.updated_at}).to_string();
                    let done = r.status().is_ok_and(|s| s.is_done());
                    let next = if done { Phase::Ending } else { Phase::Watching(Some(key)) };
                    return Some((Ok(Event::default().event("status").data(data)), next));
                }
                if started.elapsed() > std::time::Duration::from_secs(3600) {
                    return Some((Ok(Event::default().event("end").data("end")), Phase::Finished));
                }
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// Whose quota an event stream counts against: the signed-in user, or (a run token) the run.
fn stream_owner(u: &Option<crate::entities::user::Model>, run: Uuid) -> Uuid {
    u.as_ref().map_or(run, |u| u.id)
}
