//! Executors run what the scheduler dispatches. `local` (the default) runs a job's command as a child process
//! group on this machine; the Kubernetes executor comes with its own issue.

pub mod init;
pub mod local;
pub mod logs;

pub use local::LocalExecutor;
