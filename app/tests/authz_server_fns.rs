//! Every server function x every kind of caller -> the expected status, as `backend/tests/api/authz_matrix.rs`
//! does for `/api/v1`. Server functions authenticate with the session cookie only: a bearer token (an API or a
//! run token) is an anonymous caller here. Non-members of a project get "does not exist" (404). The list of rows
//! is checked against the server functions the router serves, so adding one without a row fails.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{header, Request};
use backend::domain::Role;
use backend::services::{accounts, components, invitations, members, projects, runs, settings, tokens};
use http_body_util::BodyExt;
use leptos::server_fn::ServerFn;
use tower::ServiceExt;

use app::server::artifacts as arts;
use app::server::compare as cmp;
use app::server::overview as ov;
use app::server::registry as reg;
use app::server::tracking;
use app::server::{accounts as acc, cluster, components as comp, pipelines, projects as proj, runs as run};

const PASSWORD: &str = "matrix-password";
const JOB: &str =
    "kind: component\nrun: {kind: job, container: {image: 'busybox:1.36', command: ['true']}}\n";
const DAG: &str = "kind: component\nrun:\n  kind: dag\n  operations: [{name: a, component: {run: {kind: job, container: {image: 'busybox:1.36', command: ['true']}}}}]\n";
const HOST: &str = "127.0.0.1:9";

const CALLERS: [&str; 8] =
    ["anonymous", "non-member", "viewer", "member", "admin", "owner", "site admin", "run token"];

struct Row {
    path: &'static str,
    /// The form body; `{p}` is the cell's project name, `{run}`/`{done}`/`{pipe}` its runs, `{me}` the caller,
    /// `{token}` a token of the caller, `{invitation}` an open invitation, `{n}` the cell's number.
    args: &'static str,
    expect: [u16; 8],
}

/// On a project, strangers (anonymous included) are told it does not exist.
const READ: [u16; 8] = [404, 404, 200, 200, 200, 200, 404, 404];
const WRITE: [u16; 8] = [404, 404, 403, 200, 200, 200, 404, 404];
const MANAGE: [u16; 8] = [404, 404, 403, 403, 200, 200, 404, 404];
const OWN: [u16; 8] = [404, 404, 403, 403, 403, 200, 404, 404];
const SIGNED_IN: [u16; 8] = [401, 200, 200, 200, 200, 200, 200, 401];
const SITE_ADMIN: [u16; 8] = [401, 403, 403, 403, 403, 403, 200, 401];
/// Log-in, sign-up and log-out: anyone (a JSON caller gets 200 and the redirect in a header).
const ANYONE: [u16; 8] = [200; 8];

fn rows() -> Vec<Row> {
    let row = |path, args, expect| Row { path, args, expect };
    let project = "owner=olive&name={p}";
    vec![
        row(acc::CurrentUser::PATH, "", [200; 8]),
        row(acc::LogIn::PATH, "username={me}&password=matrix-password&next=/projects", ANYONE),
        row(acc::SignUp::PATH, "username=new{n}&password=matrix-password&invitation=", ANYONE),
        row(acc::LogOut::PATH, "", ANYONE),
        row(
            acc::ChangePassword::PATH,
            "current_password=matrix-password&new_password=matrix-password",
            SIGNED_IN,
        ),
        row(acc::ListTokens::PATH, "", SIGNED_IN),
        row(acc::CreateToken::PATH, "name=matrix&expires=", SIGNED_IN),
        row(acc::RevokeToken::PATH, "id={token}", SIGNED_IN),
        row(acc::SiteSignupOpen::PATH, "", SIGNED_IN),
        row(acc::SetSignup::PATH, "signup=open", SITE_ADMIN),
        row(acc::ListUsers::PATH, "", SITE_ADMIN),
        row(acc::SetUserDisabled::PATH, "username=target&disabled=false", SITE_ADMIN),
        row(acc::AuditEvents::PATH, "action=", SITE_ADMIN),
        row(acc::CreateInvitation::PATH, "note=matrix", SITE_ADMIN),
        row(acc::ListInvitations::PATH, "", SITE_ADMIN),
        row(acc::RevokeInvitation::PATH, "id={invitation}", SITE_ADMIN),
        row(cluster::GetCluster::PATH, "", SIGNED_IN),
        row(comp::EditorSetup::PATH, project, READ),
        row(comp::SaveComponent::PATH, "owner=olive&name={p}&component=saved&content={job}", WRITE),
        // The editor's cluster check of a file: reads the project's catalog and library, changes nothing.
        row(comp::Preflight::PATH, "owner=olive&name={p}&content={job}&params=%5B%5D", READ),
        row(pipelines::GetGraph::PATH, "owner=olive&name={p}&uuid={pipe}", READ),
        row(proj::ListProjects::PATH, "q=&sort=&page=1", SIGNED_IN),
        row(proj::CreateProject::PATH, "name=created-{n}&description=", SIGNED_IN),
        row(proj::GetProject::PATH, project, READ),
        row(
            proj::UpdateProject::PATH,
            "owner=olive&name={p}&new_name={p}&description=x&concurrency=2",
            MANAGE,
        ),
        row(proj::DeleteProject::PATH, "owner=olive&name={p}&confirm={p}", OWN),
        row(proj::ListMembers::PATH, project, READ),
        row(ov::ProjectOverview::PATH, "owner=olive&name={p}&metric=&goal=", READ),
        row(cmp::CompareRuns::PATH, "owner=olive&name={p}&runs={run},{done}&q=&children=false&metrics=loss&baseline=", READ),
        row(
            cmp::CompareLines::PATH,
            "owner=olive&name={p}&runs={run},{done}&q=&children=false&metrics=loss&baseline=",
            READ,
        ),
        row(cmp::ExplainDifference::PATH, "owner=olive&name={p}&a={run}&b={done}", READ),
        row(proj::AddMember::PATH, "owner=olive&name={p}&username=outsider&role=viewer", MANAGE),
        row(proj::ChangeMemberRole::PATH, "owner=olive&name={p}&username=target&role=member", MANAGE),
        row(proj::RemoveMember::PATH, "owner=olive&name={p}&username=target", MANAGE),
        row(
            run::ListRuns::PATH,
            "owner=olive&name={p}&listing[page]=1&listing[sort]=&listing[q]=&listing[cols]=&listing[children]=false",
            READ,
        ),
        row(run::GetRun::PATH, "owner=olive&name={p}&uuid={run}", READ),
        row(tracking::RunLogs::PATH, "owner=olive&name={p}&uuid={done}", READ),
        row(run::SubmitRun::PATH, "owner=olive&name={p}&content={job}&params=", WRITE),
        row(run::StopRun::PATH, "owner=olive&name={p}&uuid={run}", WRITE),
        // {run} waits for no approval: members get as far as the conflict.
        row(
            run::ApproveRun::PATH,
            "owner=olive&name={p}&uuid={run}",
            [404, 404, 403, 409, 409, 409, 404, 404],
        ),
        row(run::RestartRun::PATH, "owner=olive&name={p}&uuid={done}", WRITE),
        row(run::BulkRuns::PATH, "owner=olive&name={p}&action=stop&uuids={run}", WRITE),
        // Describes a file the caller sends: no project data, but compiling is work, so a session is needed.
        row(run::DescribeInputs::PATH, "content={job}", SIGNED_IN),
        row(tracking::MetricSeries::PATH, "owner=olive&name={p}&uuid={run}&key=loss&points=100", READ),
        row(tracking::RunFiles::PATH, "owner=olive&name={p}&uuid={run}&dir=", READ),
        row(arts::SearchArtifacts::PATH, "owner=olive&name={p}&q=&kind=", READ),
        row(arts::ArtifactAt::PATH, "owner=olive&name={p}&uuid={run}&path=", READ),
        row(arts::RunLineage::PATH, "owner=olive&name={p}&uuid={run}", READ),
        row(cmp::CompareArtifact::PATH, "owner=olive&name={p}&a={run}&b={done}&path=artifacts/a.txt", READ),
        // The registry: a model named as the project, version 1 from {run}, an open request by "requester".
        row(reg::ListModels::PATH, "owner=olive&name={p}&q=", READ),
        row(reg::GetModel::PATH, "owner=olive&name={p}&model={p}", READ),
        row(reg::UpdateModel::PATH, "owner=olive&name={p}&model={p}&description=x", WRITE),
        row(reg::GetVersion::PATH, "owner=olive&name={p}&model={p}&version=1", READ),
        row(
            reg::RequestPromotion::PATH,
            "owner=olive&name={p}&model={p}&version=1&alias=production&reason=r",
            WRITE,
        ),
        row(reg::SetModelReviewers::PATH, "owner=olive&name={p}&model={p}&reviewers=", MANAGE),
        row(reg::RegistrySettings::PATH, "owner=olive&name={p}", READ),
        row(reg::SetRegistryPolicy::PATH, "owner=olive&name={p}&protected=production&approvals=1", MANAGE),
        row(reg::ReviewInbox::PATH, "", SIGNED_IN),
        // Requests are reached by id: a caller without a session is asked to sign in.
        row(reg::GetRequest::PATH, "id={request}", [401, 404, 200, 200, 200, 200, 404, 401]),
        row(
            reg::ReviewRequest::PATH,
            "id={request}&what=approve&body=",
            [401, 404, 403, 403, 200, 200, 404, 401],
        ),
        row(
            reg::ReviewRequest::PATH,
            "id={request}&what=comment&body=c",
            [401, 404, 403, 200, 200, 200, 404, 401],
        ),
    ]
}

struct Fixture {
    router: axum::Router,
    state: backend::AppState,
    /// The database and data directory, removed with the fixture.
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::Builder::new().prefix("myelin-fn-matrix-").tempdir().unwrap();
    let url = backend::config::database_url(dir.path(), None);
    let (mut state, store) =
        backend::server::prepare(&url, false, dir.path(), &format!("http://{HOST}"), None).await.unwrap();
    // Every cell logs in; the limiter is under test elsewhere (backend/tests/api/security.rs).
    state.limiter = std::sync::Arc::new(backend::auth::limit::LoginLimiter::new(100_000, 100_000));
    // Who may submit is under test, not the sandbox (backend/tests/api/security.rs is); no scheduler runs, so
    // no job starts here.
    if let Some(local) = state.executor.local() {
        local.set_sandbox(backend::executor::sandbox::Sandbox::unisolated("jobs never start here", true));
    }
    let opts = app::serve::leptos_options("target/site", HOST.parse().unwrap());
    let router = app::serve::router(state.clone(), &store, opts);
    Fixture { router, state, _dir: dir }
}

/// Logs in through the REST API; the session cookie's `name=value`.
async fn cookie(router: &axum::Router, username: &str) -> String {
    let body = serde_json::json!({"username": username, "password": PASSWORD}).to_string();
    let req = Request::post("/api/v1/auth/login")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    assert!(resp.status().is_success(), "login of {username}: {}", resp.status());
    resp.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string()
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn every_server_function_answers_every_caller_as_expected() {
    let f = fixture().await;
    let db = &f.state.db;
    // The first account is the site admin; it is a member of no project.
    accounts::create_user(db, "siteadmin", PASSWORD, true).await.unwrap();
    settings::set(db, &settings::SiteSettings { signup_open: true }).await.unwrap();
    let owner = accounts::create_user(db, "olive", PASSWORD, false).await.unwrap();
    for name in ["outsider", "vic", "mem", "adam", "target", "requester"] {
        accounts::create_user(db, name, PASSWORD, false).await.unwrap();
    }
    let names =
        [None, Some("outsider"), Some("vic"), Some("mem"), Some("adam"), Some("olive"), Some("siteadmin")];

    let mut failures = Vec::new();
    let mut n = 0;
    for row in rows() {
        for (i, caller) in CALLERS.iter().enumerate() {
            n += 1;
            let name = format!("p{n}");
            let created = projects::create(db, &owner, &name, "").await.unwrap();
            let access = projects::access(db, Some(&owner), "olive", &created.name).await.unwrap();
            for (who, role) in [("adam", "admin"), ("mem", "member"), ("vic", "viewer"), ("target", "viewer")]
            {
                members::add(db, &access, who, Role::parse(role).unwrap()).await.unwrap();
            }
            let sub = runs::Submission { content: JOB.into(), ..Default::default() };
            let run_id = f.state.submit(&access, &owner, &sub).await.unwrap().summary.uuid;
            let done = f.state.submit(&access, &owner, &sub).await.unwrap().summary.uuid;
            runs::stop(db, &f.state.executor, &access, done).await.unwrap();
            let dag = runs::Submission { content: DAG.into(), ..Default::default() };
            let pipe = f.state.submit(&access, &owner, &dag).await.unwrap().summary.uuid;
            if row.args.contains("path=artifacts/a.txt") {
                let key =
                    backend::artifacts::Artifacts::run_key(created.id, run_id, "artifacts/a.txt").unwrap();
                f.state.artifacts.put(&key, "a".into()).await.unwrap();
            }
            let save = components::SaveComponent { name: "step".into(), content: JOB.into() };
            components::save(db, &access, &owner, &save).await.unwrap();
            let request = if row.args.contains("model=") || row.args.contains("{request}") {
                registry_fixture(db, &access, &owner, run_id).await
            } else {
                uuid::Uuid::nil()
            };

            let me = names.get(i).copied().flatten();
            let session = match me {
                Some(u) => Some(cookie(&f.router, u).await),
                None => None,
            };
            let token = match me {
                Some(u) => {
                    let user = accounts::user_by_name(db, u).await.unwrap().unwrap();
                    tokens::create(db, &user, "to revoke").await.unwrap().info.id.to_string()
                }
                None => uuid::Uuid::new_v4().to_string(),
            };
            let admin = accounts::user_by_name(db, "siteadmin").await.unwrap().unwrap();
            let invitation = invitations::create(db, &admin, "matrix", None).await.unwrap().invitation.id;
            let args = row
                .args
                .replace("{p}", &name)
                .replace("{run}", &run_id.to_string())
                .replace("{done}", &done.to_string())
                .replace("{pipe}", &pipe.to_string())
                .replace("{me}", me.unwrap_or("olive"))
                .replace("{token}", &token)
                .replace("{invitation}", &invitation.to_string())
                .replace("{job}", &encode(JOB))
                .replace("{n}", &n.to_string())
                .replace("{request}", &request.to_string());

            let mut req = Request::post(row.path)
                .header(header::HOST, HOST)
                .header(header::ORIGIN, format!("http://{HOST}"))
                .header(header::ACCEPT, "application/json")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            if let Some(c) = &session {
                req = req.header(header::COOKIE, c);
            }
            if *caller == "run token" {
                let job = backend::store::tokens::issue(db, run_id).await.unwrap();
                req = req.header(header::AUTHORIZATION, format!("Bearer {job}"));
            }
            let resp = f.router.clone().oneshot(req.body(Body::from(args)).unwrap()).await.unwrap();
            let status = resp.status().as_u16();
            if status != row.expect[i] {
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                failures.push(format!(
                    "{} as {caller}: expected {}, got {status} {}",
                    row.path,
                    row.expect[i],
                    String::from_utf8_lossy(&body).chars().take(200).collect::<String>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "server function matrix mismatches:\n{}", failures.join("\n"));
}

/// A model named as the project with version 1 from `run`, and an open request for `production` by
/// "requester" (made a member).
async fn registry_fixture(
    db: &sea_orm::DatabaseConnection,
    access: &projects::ProjectAccess,
    owner: &backend::entities::user::Model,
    run: uuid::Uuid,
) -> uuid::Uuid {
    use backend::services::registry::{self, review, versions, Caller};
    members::add(db, access, "requester", Role::Member).await.unwrap();
    let c = Caller { user: owner, only: None, run: None };
    let name = &access.project.name;
    registry::create(db, c, access.project.id, name, "", &[]).await.unwrap();
    let source = format!("runs:/{}/model", run.simple());
    let n = versions::NewVersion {
        source: &source,
        run_id: Some(run),
        model_id: None,
        run_link: "",
        description: "",
        tags: &[],
    };
    versions::create(db, c, name, n).await.unwrap();
    let req = accounts::user_by_name(db, "requester").await.unwrap().unwrap();
    let a = projects::access_by_id(db, &req, access.project.id).await.unwrap();
    review::open(db, &a, &req, name, 1, "production", "r").await.unwrap().id
}

#[tokio::test]
async fn the_matrix_covers_every_server_function() {
    // Building the router registers the server functions.
    let _f = fixture().await;
    let served: BTreeSet<String> =
        leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path.to_string()).collect();
    let covered: BTreeSet<String> = rows().iter().map(|r| r.path.to_string()).collect();
    assert_eq!(served, covered, "every server function must appear in the authorization matrix");
}
