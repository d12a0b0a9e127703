//! The links MLflow's client prints ("🏃 View run … at: {uri}/#/experiments/{e}/runs/{r}", "🧪 View experiment
//! at: {uri}/#/experiments/{e}"). The fragment never reaches a server: every page's shell sends such a fragment
//! here (`/go/experiments/…`), and this answers with the page of the run or the project, for a signed-in member;
//! the login page (coming back here) for anyone else. What the caller may not see is not found, as if absent.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use tower_sessions::Session;
use uuid::Uuid;

use crate::services::projects::{self, ProjectAccess};
use crate::state::AppState;

pub fn router<S>() -> Router<S>
where
    AppState: axum::extract::FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/go/experiments/{experiment}", get(experiment))
        .route("/go/experiments/{experiment}/runs/{run}", get(run))
}

async fn experiment(State(app): State<AppState>, session: Session, Path(e): Path<String>) -> Response {
    match project(&app, &session, &e, &format!("/go/experiments/{e}")).await {
        Ok(a) => Redirect::to(&format!("/{}/{}/runs", a.owner, a.project.name)).into_response(),
        Err(r) => r,
    }
}

async fn run(
    State(app): State<AppState>,
    session: Session,
    Path((e, r)): Path<(String, String)>,
) -> Response {
    let a = match project(&app, &session, &e, &format!("/go/experiments/{e}/runs/{r}")).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let Ok(id) = Uuid::parse_str(r.trim()) else { return not_found() };
    match crate::services::runs::access::load(&app.db, id).await {
        Ok(run) if run.project_id == a.project.id => {
            Redirect::to(&format!("/{}/{}/runs/{}", a.owner, a.project.name, run.id)).into_response()
        }
        _ => not_found(),
    }
}

/// The project an experiment id names, if the signed-in caller is a member; else the login page or not found.
async fn project(app: &AppState, session: &Session, e: &str, back: &str) -> Result<ProjectAccess, Response> {
    let user = match crate::auth::session::user(session, &app.db).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            let next = form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>();
            return Err(Redirect::to(&format!("/login?next={next}")).into_response());
        }
        Err(e) => return Err(e.into_response()),
    };
    let id = match e {
        // MLflow's default experiment: the caller's default project.
        "0" => match super::experiments::default_project(app, &user).await {
            Ok(a) => return Ok(a),
            Err(_) => return Err(not_found()),
        },
        e => Uuid::parse_str(e.trim()).map_err(|_| not_found())?,
    };
    projects::access_by_id(&app.db, &user, id).await.map_err(|_| not_found())
}

fn not_found() -> Response {
    let page = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found · Myelin</title></head>\
        <body><h1>Not found</h1><p>This link names an experiment or a run that does not exist, or that you cannot \
        see.</p><p><a href=\"/projects\">Your projects</a></p></body></html>";
    (StatusCode::NOT_FOUND, Html(page)).into_response()
}
