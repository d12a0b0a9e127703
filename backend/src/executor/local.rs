//! The local executor: the main container's command and args run as a child process group in a per-run work
//! directory, with the run's env plus tracking variables. The image is recorded, not pulled. Output is
//! spooled line by line with timestamps to a file under the data dir (durable while the run lives), streamed
//! live, and moved to the artifact store (`<project>/<run>/logs/main.log`) when the run ends.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::Utc;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use spec::lifecycle::Status;
use tokio::sync::{broadcast, Notify};
use uuid::Uuid;

use super::logs::{append, pump, LogSpool};
use super::sandbox::{JobIsolation, Limits, Sandbox};
use crate::artifacts::Artifacts;
use crate::entities::run;
use crate::store::status::{report, transition};

/// How long a stopped run gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(10);

pub struct LocalExecutor {
    db: DatabaseConnection,
    data_dir: PathBuf,
    server_url: String,
    artifacts: Arc<Artifacts>,
    logs: LogSpool,
    stops: Mutex<HashMap<Uuid, Arc<Notify>>>,
    live: Mutex<HashMap<Uuid, broadcast::Sender<String>>>,
    sandbox: RwLock<Sandbox>,
}

enum Ended {
    Exited(Option<i32>),
    Stopped,
    TimedOut(i64),
}

impl LocalExecutor {
    pub fn new(
        db: DatabaseConnection,
        data_dir: PathBuf,
        server_url: String,
        artifacts: Arc<Artifacts>,
    ) -> Self {
        let logs = LogSpool::new(&data_dir, artifacts.clone());
        let sandbox = RwLock::new(Sandbox::detect(&JobIsolation::default()));
        Self {
            db,
            data_dir,
            server_url,
            artifacts,
            logs,
            stops: Mutex::default(),
            live: Mutex::default(),
            sandbox,
        }
    }

    /// How jobs are isolated here (decided at start: `Sandbox::detect`).
    pub fn sandbox(&self) -> Sandbox {
        self.sandbox.read().expect("lock").clone()
    }

    /// Applies the operator's isolation settings (the server, at start; tests).
    pub fn set_sandbox(&self, s: Sandbox) {
        *self.sandbox.write().expect("lock") = s;
    }

    /// The run's log lines (`<time> <stream> <text>`): the spool while it runs, the artifact store after.
    pub fn logs(&self) -> &super::logs::LogSpool {
        &self.logs
    }

    /// A run's work directory (its current directory while it runs).
    pub fn run_dir(&self, run: Uuid) -> PathBuf {
        self.data_dir.join("runs").join(run.to_string())
    }

    /// Live lines of a running run (`None` when it is not running here).
    pub fn subscribe(&self, run: Uuid) -> Option<broadcast::Receiver<String>> {
        self.live.lock().expect("lock").get(&run).map(|s| s.subscribe())
    }

    pub fn is_running(&self, run: Uuid) -> bool {
        self.stops.lock().expect("lock").contains_key(&run)
    }

    /// Ends a running run (the service has already moved it to `stopping`).
    pub fn stop(&self, run: Uuid) {
        if let Some(n) = self.stops.lock().expect("lock").get(&run) {
            n.notify_one();
        }
    }

    /// Starts supervising a scheduled run.
    pub fn start(self: &Arc<Self>, r: run::Model) {
        let stop = Arc::new(Notify::new());
        self.stops.lock().expect("lock").insert(r.id, stop.clone());
        let (tx, _) = broadcast::channel(1024);
        self.live.lock().expect("lock").insert(r.id, tx.clone());
        let me = self.clone();
        tokio::spawn(async move {
            let (id, project) = (r.id, r.project_id);
            if let Err(e) = me.supervise(r, stop, tx).await {
                tracing::error!(run = %id, error = ?e, "local executor failed");
                let msg = format!("the local executor failed: {e}");
                if !report(&me.db, id, Status::Failed, "ExecutorError", Some(&msg)).await {
                    report(&me.db, id, Status::Stopped, "ExecutorError", Some(&msg)).await;
                }
            }
            me.logs.archive(project, id).await;
            me.stops.lock().expect("lock").remove(&id);
            me.live.lock().expect("lock").remove(&id);
        });
    }

    async fn supervise(
        &self,
        r: run::Model,
        stop: Arc<Notify>,
        tx: broadcast::Sender<String>,
    ) -> crate::Result<()> {
        let compiled = r.compiled()?;
        let pod =
            spec::placement::pod_specs(&compiled.manifests).first().copied().cloned().unwrap_or_default();
        let main = pod["containers"][0].clone();
        let argv: Vec<String> = ["command", "args"]
            .iter()
            .flat_map(|k| main[*k].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let workdir = self.run_dir(r.id);
        let log_path = self.logs.path(r.id);
        for dir in [&workdir, &log_path.parent().map(PathBuf::from).unwrap_or_default()] {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| crate::Error::Internal(format!("{}: {e}", dir.display())))?;
        }
        let token = crate::store::tokens::issue(&self.db, r.id).await?;
        match super::init::run(
            &pod,
            &workdir,
            &super::init::Store { artifacts: &self.artifacts, project: r.project_id },
        )
        .await
        {
            Ok(done) => {
                for line in &done.lines {
                    append(
                        &log_path,
                        &format!(
                            "{} system {line}",
                            Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                        ),
                    )
                    .await;
                }
                let inputs =
                    crate::services::lineage::sources::init_inputs(&self.db, &pod, Some(&done)).await?;
                crate::services::lineage::record(&self.db, (&r).into(), inputs).await?;
                if let Some(commit) = done.git_commit {
                    run::Entity::update_many()
                        .col_expr(run::Column::GitCommit, Expr::value(commit))
                        .filter(run::Column::Id.eq(r.id))
                        .exec(&self.db)
                        .await?;
                }
            }
            Err(e) => {
                append(&log_path, &format!("{} system init failed: {e}", Utc::now().to_rfc3339())).await;
                if !transition(&self.db, r.id, Status::Failed, "InitFailed", Some(&e)).await? {
                    transition(&self.db, r.id, Status::Stopped, "InitFailed", Some(&e)).await?;
                }
                return Ok(());
            }
        }
        let sandbox = self.sandbox();
        let context = super::context::RunContext::new(&workdir, r.id);
        if let Err(e) = context.prepare().await {
            let msg = format!("cannot make the run's context directory: {e}");
            transition(&self.db, r.id, Status::Failed, "StartFailed", Some(&msg)).await?;
            return Ok(());
        }
        // Unisolated, the job cannot see `/plx-context/artifacts`: its command and env name the host directory.
        let argv: Vec<String> =
            if sandbox.isolated() { argv } else { argv.iter().map(|a| context.on_host(a)).collect() };
        let (cwd, notes) = context.start_dir(&sandbox, main["workingDir"].as_str()).await;
        let (limits, unenforced) = Limits::of_container(&main);
        let now = || Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        for line in std::iter::once(sandbox.describe()).chain(unenforced).chain(notes) {
            append(&log_path, &format!("{} system {line}", now())).await;
        }
        let mut retries = r.retries;
        loop {
            let started = transition(
                &self.db,
                r.id,
                Status::Starting,
                "Starting",
                Some("starting the process (local executor; the image is not pulled)"),
            )
            .await?;
            if !started && current_status(&self.db, r.id).await? == Some(Status::Stopping) {
                // Stopped before its process existed: nothing to end.
                let msg = "stopped before its process started";
                transition(&self.db, r.id, Status::Stopped, "StoppedByUser", Some(msg)).await?;
                return Ok(());
            }
            let Some(program) = argv.first() else {
                transition(
                    &self.db,
                    r.id,
                    Status::Failed,
                    "NoCommand",
                    Some("the main container has no command or args to run"),
                )
                .await?;
                return Ok(());
            };
            // A clean environment: the job's own, the tracking variables, nothing of the server's.
            let mut env: Vec<(String, String)> = main["env"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| Some((e["name"].as_str()?.to_string(), e["value"].as_str()?.to_string())))
                .collect();
            env.extend(
                super::tracking_env(&r, &self.server_url, &token)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v)),
            );
            env.push(("MYELIN_RUN_DIR".into(), sandbox.job_dir(&workdir).display().to_string()));
            if !sandbox.isolated() {
                env.iter_mut().for_each(|(_, v)| *v = context.on_host(v));
            }
            let mut cmd = sandbox.command(&argv, (&workdir, &cwd), &env, limits);
            cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(false);
            let mut child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) => {
                    let msg = format!("cannot start `{program}`: {e}");
                    append(&log_path, &format!("{} system {msg}", Utc::now().to_rfc3339())).await;
                    transition(&self.db, r.id, Status::Failed, "StartFailed", Some(&msg)).await?;
                    return Ok(());
                }
            };
            let pid = child.id().map(|p| p as i32);
            run::Entity::update_many()
                .col_expr(run::Column::Pid, Expr::value(pid))
                .filter(run::Column::Id.eq(r.id))
                .exec(&self.db)
                .await?;
            transition(
                &self.db,
                r.id,
                Status::Running,
                "Running",
                Some(&format!("process {} started", pid.unwrap_or_default())),
            )
            .await?;
            let readers = [
                tokio::spawn(pump(
                    child.stdout.take().map(|s| Box::new(s) as _),
                    "stdout",
                    log_path.clone(),
                    tx.clone(),
                )),
                tokio::spawn(pump(
                    child.stderr.take().map(|s| Box::new(s) as _),
                    "stderr",
                    log_path.clone(),
                    tx.clone(),
                )),
            ];
            let timeout = r.timeout_seconds.map(|t| Duration::from_secs(t as u64)).unwrap_or(Duration::MAX);
            let ended = tokio::select! {
                status = child.wait() => Ended::Exited(status.ok().and_then(|s| s.code().or_else(|| std::os::unix::process::ExitStatusExt::signal(&s).map(|sig| 128 + sig)))),
                _ = stop.notified() => Ended::Stopped,
                _ = tokio::time::sleep(timeout) => Ended::TimedOut(r.timeout_seconds.unwrap_or_default()),
            };
            if !matches!(ended, Ended::Exited(_)) {
                terminate(&mut child, pid, matches!(ended, Ended::Stopped)).await;
            }
            for h in readers {
                let _ = h.await;
            }
            // What it wrote under its context is kept before its status moves on: a downstream op reads it.
            for line in context.keep(&self.db, &self.artifacts, &r).await? {
                append(&log_path, &format!("{} system {line}", now())).await;
            }
            let code = match &ended {
                Ended::Exited(c) => *c,
                _ => child.try_wait().ok().flatten().and_then(|s| s.code()),
            };
            run::Entity::update_many()
                .col_expr(run::Column::ExitCode, Expr::value(code))
                .filter(run::Column::Id.eq(r.id))
                .exec(&self.db)
                .await?;
            match ended {
                Ended::Stopped => {
                    transition(
                        &self.db,
                        r.id,
                        Status::Stopped,
                        "StoppedByUser",
                        Some("the process group was terminated"),
                    )
                    .await?;
                }
                Ended::TimedOut(t) => {
                    let msg = format!("killed after {t} s (termination.timeout)");
                    transition(&self.db, r.id, Status::Failed, "Timeout", Some(&msg)).await?;
                }
                Ended::Exited(Some(0)) => {
                    transition(&self.db, r.id, Status::Succeeded, "Succeeded", Some("exit code 0")).await?;
                }
                Ended::Exited(code) => {
                    let code = code.map_or("unknown".into(), |c| c.to_string());
                    if retries < r.max_retries {
                        retries += 1;
                        run::Entity::update_many()
                            .col_expr(run::Column::Retries, Expr::value(retries))
                            .filter(run::Column::Id.eq(r.id))
                            .exec(&self.db)
                            .await?;
                        let msg = format!("exit code {code}; retry {retries} of {}", r.max_retries);
                        transition(&self.db, r.id, Status::Retrying, "Retrying", Some(&msg)).await?;
                        continue;
                    }
                    transition(&self.db, r.id, Status::Failed, "Failed", Some(&format!("exit code {code}")))
                        .await?;
                }
            }
            self.schedule_cleanup(&r, workdir);
            return Ok(());
        }
    }

    /// `termination.ttl`: the run's work directory is removed that long after it finished (logs are kept).
    fn schedule_cleanup(&self, r: &run::Model, workdir: PathBuf) {
        let Some(ttl) = r.compiled().ok().and_then(|c| c.termination.ttl) else { return };
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(ttl)).await;
            let _ = tokio::fs::remove_dir_all(&workdir).await;
        });
    }

    /// After a restart: runs this process was supervising are gone with it. Their process groups are ended and
    /// they are marked failed, never left "running". Queued runs are picked up again by the scheduler.
    pub async fn recover(&self) -> crate::Result<usize> {
        let orphans = crate::store::runs::left_behind(&self.db).await?;
        for r in &orphans {
            fail_orphan(&self.db, &self.logs, r).await?;
        }
        Ok(orphans.len())
    }
}

/// A run a dead server was supervising here: its process group is ended and it is marked failed (`stopping`
/// ones stopped), never left "running".
pub(super) async fn fail_orphan(
    db: &DatabaseConnection,
    logs: &LogSpool,
    r: &run::Model,
) -> crate::Result<()> {
    if let Some(pid) = r.pid.filter(|p| *p > 1) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let msg = "server restarted while the run was running";
    append(&logs.path(r.id), &format!("{} system {msg}", Utc::now().to_rfc3339())).await;
    if !transition(db, r.id, Status::Failed, "ServerRestarted", Some(msg)).await? {
        // `stopping` may only end as stopped.
        transition(db, r.id, Status::Stopped, "ServerRestarted", Some(msg)).await?;
    }
    logs.archive(r.project_id, r.id).await;
    Ok(())
}

/// The run's status as stored now.
async fn current_status(db: &DatabaseConnection, id: Uuid) -> crate::Result<Option<Status>> {
    run::Entity::find_by_id(id).one(db).await?.map(|r| r.status()).transpose()
}

/// SIGTERM to the whole group (then SIGKILL after the grace period), or SIGKILL at once.
async fn terminate(child: &mut tokio::process::Child, pid: Option<i32>, graceful: bool) {
    let Some(pid) = pid else { return };
    let group = Pid::from_raw(pid);
    if graceful {
        let _ = killpg(group, Signal::SIGTERM);
        if tokio::time::timeout(GRACE, child.wait()).await.is_ok() {
            let _ = killpg(group, Signal::SIGKILL); // stragglers in the group
            return;
        }
    }
    let _ = killpg(group, Signal::SIGKILL);
    let _ = child.wait().await;
}
