//! Every endpoint x every kind of caller -> the expected status. The endpoint list is checked against the
//! OpenAPI document, so adding an endpoint without adding it here fails.

use std::collections::BTreeSet;

use axum::http::Method;
use serde_json::{json, Value};

use crate::both_dbs;
use crate::helpers::{TestApp, TestUser, PASSWORD};

const JOB: &str =
    "kind: component\nrun: {kind: job, container: {image: 'busybox:1.36', command: ['true']}}\n";

const DAG: &str = "kind: component\nrun:\n  kind: dag\n  operations: [{name: a, component: {run: {kind: job, container: {image: 'busybox:1.36', command: ['true']}}}}]\n";

/// "site admin" is the server's first account, a member of none of the projects: site administration gives no
/// project access.
const CALLERS: [&str; 7] = ["anonymous", "non-member", "viewer", "member", "admin", "owner", "site admin"];

struct Row {
    method: Method,
    /// `{p}` is a fresh project's `owner/name`; `{target}` a viewer of it; `{token}` a token of the caller.
    path: &'static str,
    expect: [u16; 7],
}

fn rows() -> Vec<Row> {
    let row = |method: Method, path, expect| Row { method, path, expect };
    vec![
        row(Method::POST, "/api/v1/auth/signup", [201, 201, 201, 201, 201, 201, 201]),
        row(Method::POST, "/api/v1/auth/login", [200, 200, 200, 200, 200, 200, 200]),
        row(Method::POST, "/api/v1/auth/logout", [204, 204, 204, 204, 204, 204, 204]),
        row(Method::GET, "/api/v1/user", [401, 200, 200, 200, 200, 200, 200]),
        row(Method::PUT, "/api/v1/user/password", [401, 204, 204, 204, 204, 204, 204]),
        row(Method::GET, "/api/v1/user/tokens", [401, 200, 200, 200, 200, 200, 200]),
        row(Method::POST, "/api/v1/user/tokens", [401, 201, 201, 201, 201, 201, 201]),
        row(Method::DELETE, "/api/v1/user/tokens/{token}", [401, 204, 204, 204, 204, 204, 204]),
        row(Method::GET, "/api/v1/admin/settings", [401, 403, 403, 403, 403, 403, 200]),
        row(Method::PUT, "/api/v1/admin/settings", [401, 403, 403, 403, 403, 403, 200]),
        row(Method::GET, "/api/v1/admin/invitations", [401, 403, 403, 403, 403, 403, 200]),
        row(Method::POST, "/api/v1/admin/invitations", [401, 403, 403, 403, 403, 403, 201]),
        row(Method::DELETE, "/api/v1/admin/invitations/{invitation}", [401, 403, 403, 403, 403, 403, 204]),
        row(Method::GET, "/api/v1/admin/users", [401, 403, 403, 403, 403, 403, 200]),
        row(Method::GET, "/api/v1/admin/audit", [401, 403, 403, 403, 403, 403, 200]),
        // Site admins reach any project's limits without being a member (and learn nothing else of it).
        row(Method::GET, "/api/v1/admin/projects/{p}", [401, 403, 403, 403, 403, 403, 200]),
        row(Method::PUT, "/api/v1/admin/projects/{p}/pod-policy", [401, 403, 403, 403, 403, 403, 200]),
        row(Method::PATCH, "/api/v1/admin/users/{target}", [401, 403, 403, 403, 403, 403, 200]),
        row(Method::GET, "/api/v1/projects", [401, 200, 200, 200, 200, 200, 200]),
        row(Method::POST, "/api/v1/projects", [401, 201, 201, 201, 201, 201, 201]),
        row(Method::GET, "/api/v1/projects/{p}", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::PATCH, "/api/v1/projects/{p}", [404, 404, 403, 403, 200, 200, 404]),
        row(Method::DELETE, "/api/v1/projects/{p}", [404, 404, 403, 403, 403, 204, 404]),
        row(Method::GET, "/api/v1/projects/{p}/overview", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::GET, "/api/v1/projects/{p}/members", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::POST, "/api/v1/projects/{p}/members", [404, 404, 403, 403, 201, 201, 404]),
        row(Method::PATCH, "/api/v1/projects/{p}/members/{target}", [404, 404, 403, 403, 200, 200, 404]),
        row(Method::DELETE, "/api/v1/projects/{p}/members/{target}", [404, 404, 403, 403, 204, 204, 404]),
        row(Method::GET, "/api/v1/projects/{p}/components", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::POST, "/api/v1/projects/{p}/components", [404, 404, 403, 201, 201, 201, 404]),
        row(Method::GET, "/api/v1/projects/{p}/components/{component}", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::POST, "/api/v1/projects/{p}/runs", [404, 404, 403, 201, 201, 201, 404]),
        row(Method::GET, "/api/v1/projects/{p}/runs", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::GET, "/api/v1/projects/{p}/runs/{run}", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::DELETE, "/api/v1/projects/{p}/runs/{done}", [404, 404, 403, 204, 204, 204, 404]),
        row(Method::GET, "/api/v1/projects/{p}/runs/{pipe}/graph", [404, 404, 200, 200, 200, 200, 404]),
        // Reading: viewers compare too.
        row(Method::POST, "/api/v1/projects/{p}/compare", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::POST, "/api/v1/projects/{p}/compare/why", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::POST, "/api/v1/projects/{p}/runs/{run}/stop", [404, 404, 403, 200, 200, 200, 404]),
        // {run} waits for no approval: members get as far as the conflict.
        row(Method::POST, "/api/v1/projects/{p}/runs/{run}/approve", [404, 404, 403, 409, 409, 409, 404]),
        row(Method::POST, "/api/v1/projects/{p}/runs/{run}/restart", [404, 404, 403, 201, 201, 201, 404]),
        row(Method::GET, "/api/v1/projects/{p}/runs/{run}/logs", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::GET, "/api/v1/projects/{p}/runs/{run}/logs/stream", [404, 404, 200, 200, 200, 200, 404]),
        // A finished run, so the event stream ends.
        row(Method::GET, "/api/v1/projects/{p}/runs/{done}/events", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::POST, "/api/v1/projects/{p}/runs/{run}/tracking", [404, 404, 403, 204, 204, 204, 404]),
        row(
            Method::GET,
            "/api/v1/projects/{p}/runs/{run}/metrics/{key}",
            [404, 404, 200, 200, 200, 200, 404],
        ),
        row(Method::GET, "/api/v1/projects/{p}/runs/{run}/artifacts", [404, 404, 200, 200, 200, 200, 404]),
        row(
            Method::GET,
            "/api/v1/projects/{p}/runs/{run}/artifacts/{path}",
            [404, 404, 200, 200, 200, 200, 404],
        ),
        row(
            Method::PUT,
            "/api/v1/projects/{p}/runs/{run}/artifacts/{path}",
            [404, 404, 403, 201, 201, 201, 404],
        ),
        row(Method::GET, "/api/v1/projects/{p}/runs/{run}/artifact-dir", [404, 404, 200, 200, 200, 200, 404]),
        row(
            Method::GET,
            "/api/v1/projects/{p}/runs/{run}/preview/{path}",
            [404, 404, 200, 200, 200, 200, 404],
        ),
        row(Method::GET, "/api/v1/projects/{p}/artifacts", [404, 404, 200, 200, 200, 200, 404]),
        row(
            Method::GET,
            "/api/v1/projects/{p}/artifacts/consumers?digest=ab",
            [404, 404, 200, 200, 200, 200, 404],
        ),
        row(Method::GET, "/api/v1/projects/{p}/runs/{run}/lineage", [404, 404, 200, 200, 200, 200, 404]),
        row(
            Method::GET,
            "/api/v1/projects/{p}/artifacts/diff?a={run}&b={done}&path=artifacts/a.txt",
            [404, 404, 200, 200, 200, 200, 404],
        ),
        // Uploads in parts: members write; each sees only the uploads they started (`{upload}` is the caller's).
        row(Method::POST, "/api/v1/projects/{p}/runs/{run}/uploads", [404, 404, 403, 201, 201, 201, 404]),
        row(
            Method::GET,
            "/api/v1/projects/{p}/runs/{run}/uploads/{upload}",
            [404, 404, 403, 200, 200, 200, 404],
        ),
        row(
            Method::DELETE,
            "/api/v1/projects/{p}/runs/{run}/uploads/{upload}",
            [404, 404, 403, 204, 204, 204, 404],
        ),
        row(
            Method::PUT,
            "/api/v1/projects/{p}/runs/{run}/uploads/{upload}/parts/0",
            [404, 404, 403, 200, 200, 200, 404],
        ),
        row(
            Method::POST,
            "/api/v1/projects/{p}/runs/{run}/uploads/{upload}/complete",
            [404, 404, 403, 201, 201, 201, 404],
        ),
        // The registry: viewers read; members register and ask; admins and owners review and set the policy.
        row(Method::GET, "/api/v1/projects/{p}/models", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::GET, "/api/v1/projects/{p}/models/{model}", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::PATCH, "/api/v1/projects/{p}/models/{model}", [404, 404, 403, 200, 200, 200, 404]),
        row(
            Method::PUT,
            "/api/v1/projects/{p}/models/{model}/reviewers",
            [404, 404, 403, 403, 200, 200, 404],
        ),
        row(
            Method::GET,
            "/api/v1/projects/{p}/models/{model}/versions/{version}",
            [404, 404, 200, 200, 200, 200, 404],
        ),
        row(
            Method::POST,
            "/api/v1/projects/{p}/models/{model}/promotions",
            [404, 404, 403, 201, 201, 201, 404],
        ),
        row(
            Method::GET,
            "/api/v1/projects/{p}/models/{model}/aliases/{alias}/history",
            [404, 404, 200, 200, 200, 200, 404],
        ),
        row(Method::GET, "/api/v1/projects/{p}/registry/policy", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::PUT, "/api/v1/projects/{p}/registry/policy", [404, 404, 403, 403, 200, 200, 404]),
        row(Method::GET, "/api/v1/projects/{p}/registry/audit", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::GET, "/api/v1/reviews", [401, 200, 200, 200, 200, 200, 200]),
        // A request another member ("requester") opened.
        row(Method::GET, "/api/v1/reviews/{request}", [404, 404, 200, 200, 200, 200, 404]),
        row(Method::POST, "/api/v1/reviews/{request}/approve", [404, 404, 403, 403, 200, 200, 404]),
        row(Method::POST, "/api/v1/reviews/{request}/reject", [404, 404, 403, 403, 200, 200, 404]),
        row(Method::POST, "/api/v1/reviews/{request}/comment", [404, 404, 403, 200, 200, 200, 404]),
        row(Method::POST, "/api/v1/reviews/{request}/cancel", [404, 404, 403, 403, 200, 200, 404]),
        row(Method::GET, "/api/v1/openapi.json", [200, 200, 200, 200, 200, 200, 200]),
        // Every signed-in user sees the Nodes; runs only of their own projects (tests/api/cluster.rs, and on a
        // cluster tests/k8s/executor.rs).
        row(Method::GET, "/api/v1/cluster", [401, 200, 200, 200, 200, 200, 200]),
        // A run's own token only (tests/api/run_init.rs): a pod's `myelin init` reading its project's files.
        row(Method::GET, "/api/v1/init/files?path=x", [401, 403, 403, 403, 403, 403, 403]),
        row(Method::GET, "/api/v1/init/file?path=x", [401, 403, 403, 403, 403, 403, 403]),
    ]
}

/// The request body each endpoint needs to succeed when allowed.
fn body(row: &Row, n: usize, caller: Option<&TestUser>, outsider: &str) -> Option<Value> {
    let who = caller.map(|u| u.name.clone()).unwrap_or_else(|| "olive".into());
    match (row.method.as_str(), row.path) {
        ("POST", "/api/v1/auth/signup") => Some(json!({"username": format!("new{n}"), "password": PASSWORD})),
        ("POST", "/api/v1/auth/login") => Some(json!({"username": who, "password": PASSWORD})),
        ("PUT", "/api/v1/user/password") => {
            Some(json!({"current_password": PASSWORD, "new_password": PASSWORD}))
        }
        ("POST", "/api/v1/user/tokens") => Some(json!({"name": "matrix"})),
        ("PUT", "/api/v1/admin/settings") => Some(json!({"signup_open": true})),
        ("POST", "/api/v1/admin/invitations") => Some(json!({"note": "matrix"})),
        ("PATCH", "/api/v1/admin/users/{target}") => Some(json!({"disabled": false})),
        ("PUT", "/api/v1/admin/projects/{p}/pod-policy") => Some(json!({"pod_policy": "restricted"})),
        ("POST", "/api/v1/projects") => Some(json!({"name": format!("created-{n}")})),
        ("PATCH", "/api/v1/projects/{p}") => Some(json!({"description": "changed"})),
        ("POST", "/api/v1/projects/{p}/members") => Some(json!({"username": outsider, "role": "viewer"})),
        ("PATCH", "/api/v1/projects/{p}/members/{target}") => Some(json!({"role": "member"})),
        ("POST", "/api/v1/projects/{p}/runs") => Some(json!({"content": JOB})),
        ("POST", "/api/v1/projects/{p}/runs/{run}/uploads") => {
            Some(json!({"path": "artifacts/u.bin", "size": 1, "fingerprint": "m"}))
        }
        // The part is the JSON `1`: one byte, the size of the `{upload}` fixture's file.
        ("PUT", "/api/v1/projects/{p}/runs/{run}/uploads/{upload}/parts/0") => Some(json!(1)),
        ("POST", "/api/v1/projects/{p}/components") => Some(json!({"name": "saved", "content": JOB})),
        ("PATCH", "/api/v1/projects/{p}/models/{model}") => Some(json!({"description": "d"})),
        ("PUT", "/api/v1/projects/{p}/models/{model}/reviewers") => Some(json!({"reviewers": []})),
        ("POST", "/api/v1/projects/{p}/models/{model}/promotions") => {
            Some(json!({"version": 1, "alias": "production", "reason": "r"}))
        }
        ("PUT", "/api/v1/projects/{p}/registry/policy") => {
            Some(json!({"protected_aliases": ["production"], "required_approvals": 1}))
        }
        ("POST", "/api/v1/reviews/{request}/approve" | "/api/v1/reviews/{request}/reject") => Some(json!({})),
        ("POST", "/api/v1/reviews/{request}/comment") => Some(json!({"body": "c"})),
        ("POST", "/api/v1/projects/{p}/runs/{run}/tracking") => Some(
            json!({"metrics": [{"key": "loss", "value": 0.5, "timestamp": 1, "step": 0}], "tags": {"t": "v"}}),
        ),
        _ => None,
    }
}

both_dbs!(every_endpoint_answers_every_caller_as_expected);

async fn every_endpoint_answers_every_caller_as_expected(app: TestApp) {
    // The site admin is a member of no project. Sign-up is open (it is a row).
    let site_admin = app.site_admin("siteadmin").await;
    let open = backend::services::settings::SiteSettings { signup_open: true };
    backend::services::settings::set(&app.db, &open).await.unwrap();
    let owner = app.user("olive").await;
    let others =
        [app.user("outsider").await, app.user("vic").await, app.user("mem").await, app.user("adam").await];
    let target = app.user("target").await;
    app.user("requester").await;
    let callers: [Option<&TestUser>; 7] = [
        None,
        Some(&others[0]),
        Some(&others[1]),
        Some(&others[2]),
        Some(&others[3]),
        Some(&owner),
        Some(&site_admin),
    ];

    let mut failures = Vec::new();
    let mut n = 0;
    for row in rows() {
        for (i, caller) in callers.iter().enumerate() {
            n += 1;
            // A fresh project per cell: owner, admin, member, viewer and a target viewer.
            let project = format!("p{n}");
            let u = backend::services::accounts::user_by_name(&app.db, "olive").await.unwrap().unwrap();
            let created = backend::services::projects::create(&app.db, &u, &project, "").await.unwrap();
            let access =
                backend::services::projects::access(&app.db, Some(&u), "olive", &created.name).await.unwrap();
            for (name, role) in
                [("adam", "admin"), ("mem", "member"), ("vic", "viewer"), ("target", "viewer")]
            {
                backend::services::members::add(
                    &app.db,
                    &access,
                    name,
                    backend::domain::Role::parse(role).unwrap(),
                )
                .await
                .unwrap();
            }
            let sub = backend::services::runs::Submission { content: JOB.into(), ..Default::default() };
            let submit = || async { app.state.submit(&access, &u, &sub).await.unwrap().summary.uuid };
            let run = submit().await;
            let done = submit().await;
            backend::services::runs::stop(&app.db, &app.state.executor, &access, done).await.unwrap();
            if row.path.contains("{component}") {
                let save =
                    backend::services::components::SaveComponent { name: "step".into(), content: JOB.into() };
                backend::services::components::save(&app.db, &access, &u, &save).await.unwrap();
            }
            let pipe = if row.path.contains("{pipe}") {
                let dag = backend::services::runs::Submission { content: DAG.into(), ..Default::default() };
                app.state.submit(&access, &u, &dag).await.unwrap().summary.uuid
            } else {
                uuid::Uuid::nil()
            };
            let request = if row.path.contains("/models") || row.path.contains("/reviews/") {
                registry_fixture(&app, &access, &u, run).await
            } else {
                uuid::Uuid::nil()
            };
            let upload = if row.path.contains("{upload}") {
                upload_fixture(&app, *caller, run, row.path.contains("/parts/")).await
            } else {
                uuid::Uuid::nil()
            };
            let key = backend::artifacts::Artifacts::run_key(created.id, run, "artifacts/a.txt").unwrap();
            app.state.artifacts.put(&key, "a".into()).await.unwrap();
            let invitation = if row.path.contains("{invitation}") {
                let admin =
                    backend::services::accounts::user_by_name(&app.db, "siteadmin").await.unwrap().unwrap();
                backend::services::invitations::create(&app.db, &admin, "matrix", None)
                    .await
                    .unwrap()
                    .invitation
                    .id
            } else {
                uuid::Uuid::nil()
            };
            let token_id = match caller {
                Some(c) => {
                    let fresh = app
                        .post("/api/v1/user/tokens")
                        .bearer(&c.token)
                        .json(json!({"name": "to revoke"}))
                        .send()
                        .await;
                    fresh.json["id"].as_str().unwrap().to_string()
                }
                None => uuid::Uuid::new_v4().to_string(),
            };
            let mut path = row
                .path
                .replace("{p}", &format!("olive/{project}"))
                .replace("{target}", &target.name)
                .replace("{token}", &token_id)
                .replace("{invitation}", &invitation.to_string())
                .replace("{run}", &run.to_string())
                .replace("{done}", &done.to_string())
                .replace("{pipe}", &pipe.to_string())
                .replace("{component}", "step")
                .replace("{model}", &project)
                .replace("{version}", "1")
                .replace("{alias}", "production")
                .replace("{request}", &request.to_string())
                .replace("{upload}", &upload.to_string())
                .replace("{key}", "loss")
                .replace("{path}", "artifacts/a.txt");
            if row.method == Method::DELETE && row.path == "/api/v1/projects/{p}" {
                path.push_str(&format!("?confirm={project}"));
            }
            let mut call = app.call(row.method.clone(), &path).by(*caller);
            let compared = json!({"runs": [run, done], "metrics": ["loss"]});
            let b = if row.path.ends_with("/compare") {
                Some(compared)
            } else if row.path.ends_with("/compare/why") {
                Some(json!({"a": run, "b": done}))
            } else {
                body(&row, n, *caller, "outsider")
            };
            if let Some(b) = b {
                call = call.json(b);
            }
            let got = call.send().await;
            if got.status.as_u16() != row.expect[i] {
                failures.push(format!(
                    "{} {} as {}: expected {}, got {} {}",
                    row.method,
                    row.path,
                    CALLERS[i],
                    row.expect[i],
                    got.status.as_u16(),
                    got.json
                ));
            }
        }
    }
    assert!(failures.is_empty(), "authorization matrix mismatches:\n{}", failures.join("\n"));
}

/// An upload into `run` started by the caller (by its owner when the caller has no account): of one byte when
/// parts are to be sent, else empty (so it completes at once).
async fn upload_fixture(
    app: &TestApp,
    caller: Option<&TestUser>,
    run: uuid::Uuid,
    one_byte: bool,
) -> uuid::Uuid {
    use sea_orm::EntityTrait;
    let name = caller.map_or("olive", |c| c.name.as_str());
    let user = backend::services::accounts::user_by_name(&app.db, name).await.unwrap().unwrap();
    let r = backend::entities::run::Entity::find_by_id(run).one(&app.db).await.unwrap().unwrap();
    let new = api_types::NewUpload {
        path: "artifacts/up.bin".into(),
        size: u64::from(one_byte),
        fingerprint: String::new(),
    };
    let (_, s) = backend::services::uploads::create(&app.state.uploads, user.id, &r, &new).await.unwrap();
    s.id
}

/// A model named as the project (names are unique among a user's projects) with version 1 from `run`, and an open request for `production` by "requester" (a member).
async fn registry_fixture(
    app: &TestApp,
    access: &backend::services::projects::ProjectAccess,
    owner: &backend::entities::user::Model,
    run: uuid::Uuid,
) -> uuid::Uuid {
    use backend::services::registry::{self, review, versions, Caller};
    let member = backend::domain::Role::Member;
    backend::services::members::add(&app.db, access, "requester", member).await.unwrap();
    let c = Caller { user: owner, only: None, run: None };
    let name = &access.project.name;
    registry::create(&app.db, c, access.project.id, name, "", &[]).await.unwrap();
    let source = format!("runs:/{}/model", run.simple());
    let n = versions::NewVersion {
        source: &source,
        run_id: Some(run),
        model_id: None,
        run_link: "",
        description: "",
        tags: &[],
    };
    versions::create(&app.db, c, name, n).await.unwrap();
    let req = backend::services::accounts::user_by_name(&app.db, "requester").await.unwrap().unwrap();
    let a = backend::services::projects::access_by_id(&app.db, &req, access.project.id).await.unwrap();
    review::open(&app.db, &a, &req, name, 1, "production", "r").await.unwrap().id
}

#[tokio::test]
async fn the_matrix_covers_every_endpoint_in_the_openapi_document() {
    let app = TestApp::sqlite().await;
    let doc = app.get("/api/v1/openapi.json").send().await.json;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert(format!("{} {}", method.to_uppercase(), normalise(path)));
        }
    }
    documented.insert("GET /api/v1/openapi.json".into());
    let covered: BTreeSet<String> =
        rows().iter().map(|r| format!("{} {}", r.method, normalise(r.path))).collect();
    assert_eq!(documented, covered, "every endpoint must appear in the authorization matrix");
}

/// `/projects/{owner}/{name}` and `/projects/{p}` name the same route.
fn normalise(path: &str) -> String {
    path.split('?')
        .next()
        .unwrap_or(path)
        .replace("{owner}/{name}", "{p}")
        .replace("{username}", "{target}")
        .replace("{id}", "{token}")
        .replace("{run}", "{uuid}")
        .replace("{done}", "{uuid}")
        .replace("{pipe}", "{uuid}")
        .replace("/parts/0", "/parts/{part}")
}
