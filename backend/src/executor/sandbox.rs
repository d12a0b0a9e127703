//! Local jobs run isolated with bubblewrap (`bwrap`): their own user, mount, pid, ipc and uts namespaces; the
//! system's directories read-only (`/usr`, `/etc` without its password and host-key files); only the run's
//! work directory writable, seen at `/job`; a private `/tmp`; a fresh `/proc` that shows the job's processes only; a clean
//! environment. The data dir (database, secrets, other runs, logs) and `$HOME` are not in the sandbox at all.
//! The network stays: the job reports to this server.
//!
//! Limits come from the main container's `resources.limits` where the kernel can apply them as rlimits:
//! `memory` → address space, `ephemeral-storage` → the largest file a job may write; processes have a fixed
//! ceiling (enforced when the server is not root: Linux exempts root's real uid from `RLIMIT_NPROC`). The
//! whole tree dies with the job: its pid namespace ends when its first process does, and the process group
//! is signalled on stop.
//!
//! When `bwrap` is missing or cannot start (no user namespaces), the server says so at start and runs local
//! jobs for site admins only, unless the operator opted out (`--unsafe-local-jobs`, logged loudly).

use std::path::{Path, PathBuf};

use serde_json::Value;

/// How many processes (tasks) a job may have at once.
const MAX_PROCESSES: u64 = 4096;
/// Where a job's work directory appears inside the sandbox (its `HOME` and current directory).
pub(crate) const JOB_DIR: &str = "/job";
/// `PATH` of a job that sets none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The operator's settings for local jobs.
#[derive(Debug, Clone, Default)]
pub struct JobIsolation {
    /// More paths jobs may read (a shared virtualenv, a datasets folder); bound read-only at the same path.
    pub read_only: Vec<PathBuf>,
    /// Run jobs unisolated even when bubblewrap is missing, for everyone.
    pub unsafe_local_jobs: bool,
}

/// How this server isolates local jobs, decided once at start.
#[derive(Debug, Clone)]
pub struct Sandbox {
    mode: Mode,
    read_only: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
enum Mode {
    Bubblewrap(PathBuf),
    /// No isolation: why, and whether the operator chose it for everyone.
    Unisolated {
        why: String,
        opted_out: bool,
    },
}

/// What the kernel applies to one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub memory: Option<u64>,
    pub file_size: Option<u64>,
    pub processes: u64,
}

impl Limits {
    /// The limits of a main container (`resources.limits`), and a note for each limit given that the local
    /// executor cannot apply (cpu, GPUs).
    pub fn of_container(main: &Value) -> (Limits, Vec<String>) {
        let limits = &main["resources"]["limits"];
        let bytes = |k: &str| spec::placement::quantity(&limits[k]).filter(|b| *b >= 1.0).map(|b| b as u64);
        let mut notes = Vec::new();
        for (k, _) in limits.as_object().into_iter().flatten() {
            if !matches!(k.as_str(), "memory" | "ephemeral-storage") {
                notes.push(format!("resources.limits.{k} is not enforced by the local executor"));
            }
        }
        (
            Limits {
                memory: bytes("memory"),
                file_size: bytes("ephemeral-storage"),
                processes: MAX_PROCESSES,
            },
            notes,
        )
    }
}

impl Sandbox {
    /// No isolation, for `why`; `opted_out` admits every member anyway.
    pub fn unisolated(why: &str, opted_out: bool) -> Sandbox {
        Sandbox { mode: Mode::Unisolated { why: why.into(), opted_out }, read_only: vec![] }
    }

    /// Finds `bwrap` and proves it can start a sandbox here (once per process: every app state and test
    /// asks); otherwise says why.
    pub fn detect(settings: &JobIsolation) -> Sandbox {
        static PROBED: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
        let read_only = settings.read_only.clone();
        match PROBED.get_or_init(probe) {
            Ok(bwrap) => Sandbox { mode: Mode::Bubblewrap(bwrap.clone()), read_only },
            Err(why) => Sandbox { read_only, ..Sandbox::unisolated(why, settings.unsafe_local_jobs) },
        }
    }

    /// Whether jobs run isolated.
    pub fn isolated(&self) -> bool {
        matches!(self.mode, Mode::Bubblewrap(_))
    }

    /// Whether a user may run local jobs on this server: everyone when jobs are isolated (or the operator
    /// opted out); otherwise site admins only.
    pub fn admits(&self, site_admin: bool) -> Result<(), String> {
        match &self.mode {
            Mode::Bubblewrap(_) => Ok(()),
            Mode::Unisolated { opted_out: true, .. } => Ok(()),
            Mode::Unisolated { .. } if site_admin => Ok(()),
            Mode::Unisolated { why, .. } => Err(format!(
                "local jobs cannot be isolated on this server ({why}), so only site admins may run them; \
                 the operator can install bubblewrap or start the server with --unsafe-local-jobs"
            )),
        }
    }

    /// One line for the server's start-up log.
    pub fn describe(&self) -> String {
        match &self.mode {
            Mode::Bubblewrap(b) => format!("local jobs run isolated with {}", b.display()),
            Mode::Unisolated { why, opted_out: true } => format!(
                "UNSAFE: local jobs run unisolated as this server's user, for every member \
                 (--unsafe-local-jobs): {why}"
            ),
            Mode::Unisolated { why, .. } => {
                format!("local jobs cannot be isolated ({why}): only site admins may run them")
            }
        }
    }

    /// Where the job sees its work directory (`workdir` on the host).
    pub fn job_dir(&self, workdir: &Path) -> PathBuf {
        match self.mode {
            Mode::Bubblewrap(_) => PathBuf::from(JOB_DIR),
            Mode::Unisolated { .. } => workdir.to_path_buf(),
        }
    }

    /// The command that runs `argv` for a job in `workdir`, with exactly `env` as its environment and `limits`
    /// applied, in a session (and process group) of its own, starting in `cwd` (a path the job sees). In the
    /// sandbox the work directory is also Polyaxon's artifacts context, `/plx-context/artifacts` (an
    /// unisolated job is given its host path instead: `RunContext::on_host`).
    pub fn command(
        &self,
        argv: &[String],
        (workdir, cwd): (&Path, &Path),
        env: &[(String, String)],
        limits: Limits,
    ) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::from(self.std_command(argv, workdir, cwd));
        cmd.env_clear();
        cmd.env("PATH", DEFAULT_PATH).env("HOME", self.job_dir(workdir)).env("LANG", "C.UTF-8");
        for (k, v) in env {
            cmd.env(k, v);
        }
        // SAFETY: between fork and exec only async-signal-safe calls: setsid(2) and setrlimit(2).
        unsafe {
            cmd.pre_exec(move || {
                use nix::sys::resource::{setrlimit, Resource};
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                if let Some(m) = limits.memory {
                    setrlimit(Resource::RLIMIT_AS, m, m).map_err(std::io::Error::from)?;
                }
                if let Some(f) = limits.file_size {
                    setrlimit(Resource::RLIMIT_FSIZE, f, f).map_err(std::io::Error::from)?;
                }
                let _ = setrlimit(Resource::RLIMIT_NPROC, limits.processes, limits.processes);
                Ok(())
            });
        }
        cmd
    }

    fn std_command(&self, argv: &[String], workdir: &Path, cwd: &Path) -> std::process::Command {
        let (program, args) = argv.split_first().map(|(p, a)| (p.as_str(), a)).unwrap_or(("true", &[]));
        let Mode::Bubblewrap(bwrap) = &self.mode else {
            let mut cmd = std::process::Command::new(program);
            cmd.args(args).current_dir(cwd);
            return cmd;
        };
        let mut cmd = std::process::Command::new(bwrap);
        cmd.args(["--unshare-user", "--uid", "65534", "--gid", "65534"])
            .args(["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"])
            .args(["--die-with-parent", "--cap-drop", "ALL", "--hostname", "myelin-job"]);
        cmd.args(["--ro-bind", "/usr", "/usr"]);
        for dir in ["bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
            let host = Path::new("/").join(dir);
            match std::fs::read_link(&host) {
                Ok(target) => {
                    cmd.arg("--symlink").arg(target).arg(&host);
                }
                Err(_) if host.is_dir() => {
                    cmd.arg("--ro-bind").arg(&host).arg(&host);
                }
                Err(_) => {}
            }
        }
        for dir in ["/etc", "/opt"] {
            if Path::new(dir).is_dir() {
                cmd.args(["--ro-bind", dir, dir]);
            }
        }
        // Secrets of the machine that system dirs carry.
        for secret in ["/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers"] {
            if Path::new(secret).is_file() {
                cmd.args(["--ro-bind", "/dev/null", secret]);
            }
        }
        for dir in ["/etc/ssh", "/etc/sudoers.d", "/etc/ssl/private"] {
            if Path::new(dir).is_dir() {
                cmd.args(["--tmpfs", dir, "--remount-ro", dir]);
            }
        }
        cmd.args(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]);
        for p in &self.read_only {
            if p.exists() {
                cmd.arg("--ro-bind").arg(p).arg(p);
            }
        }
        // The work dir at a neutral path (the host's layout stays hidden); nothing else of the root writable.
        cmd.arg("--bind").arg(workdir).arg(JOB_DIR);
        cmd.arg("--bind").arg(workdir).arg(super::context::ARTIFACTS_PATH);
        cmd.arg("--chdir").arg(cwd).args(["--remount-ro", "/"]);
        cmd.arg("--").arg(program).args(args);
        cmd
    }
}

/// Runs `true` in a sandbox: the path of a `bwrap` that works here, or why none does.
fn probe() -> Result<PathBuf, String> {
    let bwrap = find_in_path("bwrap").ok_or("bubblewrap (`bwrap`) is not installed")?;
    let dir = std::env::temp_dir().join(format!("myelin-sandbox-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot make a probe directory {}: {e}", dir.display()))?;
    let sandbox = Sandbox { mode: Mode::Bubblewrap(bwrap.clone()), read_only: vec![] };
    let out = sandbox.std_command(&["true".to_string()], &dir, Path::new(JOB_DIR)).output();
    let _ = std::fs::remove_dir_all(&dir);
    match out {
        Ok(o) if o.status.success() => Ok(bwrap),
        Ok(o) => Err(format!(
            "bubblewrap cannot start a sandbox here: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("cannot run {}: {e}", bwrap.display())),
    }
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limits_come_from_the_main_container_and_unenforceable_ones_are_named() {
        let (l, notes) = Limits::of_container(&json!({"resources": {"limits": {
            "memory": "512Mi", "ephemeral-storage": "1G", "cpu": 2, "nvidia.com/gpu": 1}}}));
        assert_eq!((l.memory, l.file_size), (Some(512 * 1024 * 1024), Some(1_000_000_000)));
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("limits.cpu")), "{notes:?}");
        let (none, quiet) = Limits::of_container(&json!({"image": "x"}));
        assert_eq!((none.memory, none.file_size, quiet.len()), (None, None, 0));
    }

    #[test]
    fn without_isolation_only_site_admins_run_jobs_unless_the_operator_opts_out() {
        let closed = Sandbox {
            mode: Mode::Unisolated { why: "no bwrap".into(), opted_out: false },
            read_only: vec![],
        };
        assert!(closed.admits(true).is_ok());
        let e = closed.admits(false).unwrap_err();
        assert!(e.contains("no bwrap") && e.contains("--unsafe-local-jobs"), "{e}");
        let open =
            Sandbox { mode: Mode::Unisolated { why: "no bwrap".into(), opted_out: true }, read_only: vec![] };
        assert!(open.admits(false).is_ok());
        assert!(open.describe().starts_with("UNSAFE"));
    }
}
