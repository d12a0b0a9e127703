//! `TestApp`: the API on a fresh database (a SQLite file, or a new PostgreSQL database), and a small request
//! builder. Tests that take a `TestApp` run once per database through `both_dbs!`.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::Value;
use tower::ServiceExt;

pub const PASSWORD: &str = "a long enough password";

pub struct TestApp {
    pub router: Router,
    pub db: DatabaseConnection,
    pub state: backend::AppState,
    /// The same app served over HTTP on a loopback port (for real clients: `mlflow`, jobs).
    pub url: String,
    _pg: Option<PgDatabase>,
    /// The app's database and data directories, removed with the app.
    _dirs: Vec<tempfile::TempDir>,
}

/// A fresh directory under the system's temp dir, named `{prefix}…`, removed with everything in it when dropped.
pub fn temp_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir().expect("make a temp dir")
}

/// A directory for files the tests' jobs run (scripts): jobs may read it, as an operator's `--job-read-only`.
pub fn shared_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("myelin-test-shared");
    std::fs::create_dir_all(&dir).expect("make the shared test dir");
    dir
}

/// Jobs run in the bubblewrap sandbox, as on a server, with what the tests' jobs read beside the system: the
/// `mlflow` virtualenv (and the Python it points to) and this crate's test scripts. CI must have bubblewrap.
fn isolate_jobs(state: &backend::AppState) {
    use backend::executor::sandbox::{JobIsolation, Sandbox};
    let Some(local) = state.executor.local() else { return };
    let mut read_only =
        vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests")), shared_dir()];
    if let Some(py) = std::env::var_os("MYELIN_MLFLOW_PYTHON").map(std::path::PathBuf::from) {
        let prefix =
            |p: &std::path::Path| p.parent().and_then(|b| b.parent()).map(std::path::Path::to_path_buf);
        read_only.extend(prefix(&py));
        read_only.extend(std::fs::canonicalize(&py).ok().as_deref().and_then(prefix));
    }
    let sandbox = Sandbox::detect(&JobIsolation { read_only, unsafe_local_jobs: false });
    assert!(
        sandbox.isolated() || std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but local jobs cannot be isolated: {}",
        sandbox.describe()
    );
    local.set_sandbox(sandbox);
}

pub struct TestUser {
    pub name: String,
    pub token: String,
}

impl TestApp {
    pub async fn sqlite() -> Self {
        let dir = temp_dir("myelin-test-");
        let mut app = Self::on(&backend::config::database_url(dir.path(), None), None).await;
        app._dirs.push(dir);
        app
    }

    /// A fresh PostgreSQL database, or `None` when none is configured (outside CI only).
    pub async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("MYELIN_TEST_DATABASE_URL") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but MYELIN_TEST_DATABASE_URL is not set: the PostgreSQL tier must run in CI"
            );
            eprintln!("skipping the PostgreSQL variant: MYELIN_TEST_DATABASE_URL is not set");
            return None;
        };
        let name = format!("myelin_test_{}", uuid::Uuid::new_v4().simple());
        let admin = sea_orm::Database::connect(&admin_url)
            .await
            .expect("connect to PostgreSQL (scripts/postgres-up)");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        admin.close().await.ok();
        let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin_url);
        let url = format!("{base}/{name}");
        Some(Self::on(&url, Some(PgDatabase { admin_url, name })).await)
    }

    /// A SQLite app whose artifact store is `artifacts` (e.g. an S3 bucket).
    pub async fn sqlite_with_artifacts(artifacts: backend::artifacts::Artifacts) -> Option<Self> {
        let dir = temp_dir("myelin-test-");
        let db =
            backend::db::connect(&backend::config::database_url(dir.path(), None)).await.expect("connect");
        let store = backend::auth::session::Store::for_db(&db).await.expect("session store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let public = format!("http://{}", listener.local_addr().expect("addr"));
        let state = backend::AppState::new(
            db.clone(),
            false,
            dir.path().into(),
            public.clone(),
            std::sync::Arc::new(artifacts),
        );
        isolate_jobs(&state);
        let router = backend::server::api_only(state.clone(), &store);
        let served = router.clone().into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(backend::server::listener(listener), served).await });
        Some(Self { router, db, state, url: public, _pg: None, _dirs: vec![dir] })
    }

    async fn on(url: &str, pg: Option<PgDatabase>) -> Self {
        let data = temp_dir("myelin-test-data-");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let public = format!("http://{}", listener.local_addr().expect("addr"));
        let (state, store) =
            backend::server::prepare(url, false, data.path(), &public, None).await.expect("prepare app");
        isolate_jobs(&state);
        let state_for_tests = state.clone();
        let db = state.db.clone();
        let router = backend::server::api_only(state, &store);
        let served = router.clone().into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(backend::server::listener(listener), served).await });
        Self { router, db, state: state_for_tests, url: public, _pg: pg, _dirs: vec![data] }
    }

    /// A user with an API token.
    pub async fn user(&self, name: &str) -> TestUser {
        self.account(name, false).await
    }

    /// A site administrator with an API token.
    pub async fn site_admin(&self, name: &str) -> TestUser {
        self.account(name, true).await
    }

    async fn account(&self, name: &str, site_admin: bool) -> TestUser {
        let u = backend::services::accounts::create_user(&self.db, name, PASSWORD, site_admin)
            .await
            .expect("create user");
        let t = backend::services::tokens::create(&self.db, &u, "test").await.expect("create token");
        TestUser { name: u.username, token: t.token }
    }

    pub fn call(&self, method: Method, path: &str) -> Call<'_> {
        Call { app: self, req: Request::builder().method(method).uri(path), body: Body::empty() }
    }
    pub fn get(&self, path: &str) -> Call<'_> {
        self.call(Method::GET, path)
    }
    pub fn post(&self, path: &str) -> Call<'_> {
        self.call(Method::POST, path)
    }
}

pub struct Call<'a> {
    app: &'a TestApp,
    req: axum::http::request::Builder,
    body: Body,
}

impl Call<'_> {
    pub fn bearer(mut self, token: &str) -> Self {
        self.req = self.req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        self
    }
    pub fn by(self, u: Option<&TestUser>) -> Self {
        match u {
            Some(u) => self.bearer(&u.token),
            None => self,
        }
    }
    pub fn cookie(mut self, cookie: &str) -> Self {
        self.req = self.req.header(header::COOKIE, cookie);
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.req = self.req.header(name, value);
        self
    }
    /// A browser on this site: Host and Origin agree.
    /// As a page of this server would send it: its own `Host` and `Origin`.
    pub fn same_origin(self) -> Self {
        let host = self.app.url.trim_start_matches("http://").to_string();
        self.header("host", &host).header("origin", &format!("http://{host}"))
    }
    pub fn json(mut self, v: Value) -> Self {
        self.req = self.req.header(header::CONTENT_TYPE, "application/json");
        self.body = Body::from(v.to_string());
        self
    }
    pub fn raw(mut self, content_type: &str, body: impl Into<Body>) -> Self {
        self.req = self.req.header(header::CONTENT_TYPE, content_type);
        self.body = body.into();
        self
    }
    pub async fn send(self) -> Resp {
        let mut req = self.req.body(self.body).expect("request");
        req.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        let resp = self.app.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp { status, headers, json, body: bytes.to_vec() }
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub json: Value,
    pub body: Vec<u8>,
}

impl Resp {
    /// The `name=value` part of the session cookie this response sets.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("myelin_session="))
            .map(|c| c.split(';').next().unwrap().to_string())
    }
    pub fn set_cookie_header(&self) -> String {
        self.headers.get(header::SET_COOKIE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }
    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.json["message"].as_str().unwrap_or("")
    }
}

/// Drops the per-test PostgreSQL database when the test ends.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(admin) = sea_orm::Database::connect(&url).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// Runs each `async fn(TestApp)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both_dbs {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name($crate::helpers::TestApp::sqlite().await).await
                }
                #[tokio::test]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::TestApp::postgres().await {
                        super::$name(app).await
                    }
                }
            }
        )*
    };
}

/// A real S3-compatible server (s3s-fs from `scripts/setup`) on a loopback port, with a `myelin` bucket.
pub struct S3Server {
    child: tokio::process::Child,
    root: std::path::PathBuf,
    endpoint: String,
}

impl S3Server {
    pub async fn start() -> Option<Self> {
        let bin = std::env::var("MYELIN_S3_SERVER").ok().map(std::path::PathBuf::from).filter(|p| p.exists());
        let Some(bin) = bin else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but MYELIN_S3_SERVER is missing: run scripts/setup"
            );
            eprintln!("skipping: no S3-compatible server (scripts/setup builds s3s-fs)");
            return None;
        };
        let root = std::env::temp_dir().join(format!("myelin-s3-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(root.join("myelin")).expect("bucket dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = tokio::process::Command::new(bin)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--access-key",
                "test",
                "--secret-key",
                "testsecret",
            ])
            .arg(&root)
            .kill_on_drop(true)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Some(Self { child, root, endpoint: format!("http://127.0.0.1:{port}") })
    }

    /// Where it listens (`http://127.0.0.1:port`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The store at `s3://<bucket/prefix>` on this server.
    pub fn artifacts(&self, bucket_and_prefix: &str) -> backend::artifacts::Artifacts {
        let b = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_access_key_id("test")
            .with_secret_access_key("testsecret")
            .with_region("us-east-1");
        backend::artifacts::Artifacts::s3(&format!("s3://{bucket_and_prefix}"), b).expect("s3 store")
    }

    /// Files the server holds under `bucket/prefix` (read from its root directory).
    pub fn files_under(&self, bucket_and_prefix: &str) -> Vec<String> {
        fn walk(d: &std::path::Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                if e.path().is_dir() {
                    walk(&e.path(), out)
                } else {
                    out.push(e.path().display().to_string())
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root.join(bucket_and_prefix), &mut out);
        out
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
