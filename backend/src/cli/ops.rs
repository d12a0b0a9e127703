//! `myelin run` and `myelin ops ls|get|logs|stop|restart`: runs from the command line.

use std::path::PathBuf;

use api_types::{RunDetail, RunPage, Submission, UserInfo};
use reqwest::Method;
use serde_json::Value;
use spec::lifecycle::Status;

use super::client::Client;
use super::Output;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The polyaxonfile, then overlays.
    #[arg(short = 'f', long = "file", required = true)]
    pub files: Vec<PathBuf>,
    /// `owner/name` or `name` (one of yours).
    #[arg(short, long, env = "MYELIN_PROJECT")]
    pub project: String,
    /// A param, `-P name=value` (repeatable).
    #[arg(short = 'P', long = "param")]
    pub params: Vec<String>,
    #[arg(long)]
    pub name: Option<String>,
    /// Follow the run's logs until it ends; the exit code is 0 only if it succeeded.
    #[arg(long)]
    pub watch: bool,
    /// Queue the run even when the pre-flight check finds no node of the cluster could ever take it.
    #[arg(long)]
    pub force: bool,
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Output,
}

#[derive(Debug, clap::Subcommand)]
pub enum OpsCommand {
    /// List a project's runs.
    Ls {
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
        /// Only runs with these statuses (comma-separated).
        #[arg(long)]
        status: Option<String>,
        /// Only the ops (or matrix children) of this pipeline run, in pipeline order.
        #[arg(long)]
        pipeline: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u64,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// One run: status, timeline, params, queue position, reproducibility record.
    Get {
        uuid: String,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// A run's logs.
    Logs {
        uuid: String,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
        /// Keep following until the run ends.
        #[arg(short, long)]
        follow: bool,
    },
    /// Stop a run.
    Stop {
        uuid: String,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
    },
    /// Approve a run that waits with `isApproved: false`: it is queued, and its history names you.
    Approve {
        uuid: String,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
    },
    /// Run again with the same spec and params (prints the new uuid).
    Restart {
        uuid: String,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
    },
    /// Runs side by side: what differs in params, tags, image and commit, and each metric's last value with the
    /// best marked and deltas against the first run.
    Compare {
        #[arg(required = true, num_args = 1..)]
        uuids: Vec<String>,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
        /// Every row, not only those that differ.
        #[arg(long)]
        all: bool,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
}

/// `owner/name`, filling in the caller as owner when only a name is given.
pub(super) async fn project_path(client: &Client, project: &str) -> Result<String, String> {
    if project.contains('/') {
        return Ok(project.to_string());
    }
    let me: UserInfo = client.call(Method::GET, "/user", None).await?;
    Ok(format!("{}/{project}", me.username))
}

pub async fn submit(args: RunArgs) -> Result<i32, String> {
    let client = Client::from_env()?;
    let project = project_path(&client, &args.project).await?;
    let mut texts = Vec::new();
    for f in &args.files {
        texts.push(std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?);
    }
    let mut params = serde_json::Map::new();
    for p in &args.params {
        let (k, v) = p.split_once('=').ok_or_else(|| format!("-P {p}: expected name=value"))?;
        params.insert(k.trim().to_string(), Value::String(v.to_string()));
    }
    let body = Submission {
        content: texts[0].clone(),
        overlays: texts[1..].to_vec(),
        params,
        name: args.name.clone(),
        force: args.force,
    };
    let body = serde_json::to_value(&body).map_err(|e| e.to_string())?;
    let run: RunDetail = client.call(Method::POST, &format!("/projects/{project}/runs"), Some(&body)).await?;
    let uuid = run.summary.uuid.to_string();
    match args.output {
        Output::Json if !args.watch => println!("{}", serde_json::to_string_pretty(&run).expect("json")),
        _ => println!("{uuid}"),
    }
    if !args.watch {
        return Ok(0);
    }
    follow(&client, &project, &uuid).await?;
    let done: RunDetail = client.call(Method::GET, &format!("/projects/{project}/runs/{uuid}"), None).await?;
    eprintln!(
        "run {uuid} {}{}",
        done.summary.status,
        done.status_message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
    );
    Ok(if done.summary.status == Status::Succeeded { 0 } else { 1 })
}

/// Prints a run's log lines (stored, then live) until it ends.
async fn follow(client: &Client, project: &str, uuid: &str) -> Result<(), String> {
    loop {
        let mut resp = client.stream(&format!("/projects/{project}/runs/{uuid}/logs/stream")).await?;
        let mut buf = String::new();
        let mut ended = false;
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(i) = buf.find("\n\n") {
                let event: String = buf.drain(..i + 2).collect();
                let kind =
                    event.lines().find_map(|l| l.strip_prefix("event:")).map(str::trim).unwrap_or("message");
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(|d| d.strip_prefix(' ').unwrap_or(d))
                    .collect();
                match kind {
                    "log" => println!("{}", data.join("\n")),
                    "end" => ended = true,
                    _ => {}
                }
            }
        }
        let run: RunDetail =
            client.call(Method::GET, &format!("/projects/{project}/runs/{uuid}"), None).await?;
        if run.summary.status.is_done() {
            return Ok(());
        }
        // Not started yet (queued) or the stream was cut: look again shortly.
        let _ = ended;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

pub async fn run(cmd: OpsCommand) -> Result<i32, String> {
    let client = Client::from_env()?;
    match cmd {
        OpsCommand::Ls { project, status, pipeline, limit, output } => {
            let project = project_path(&client, &project).await?;
            let mut q = vec![("limit", limit.to_string())];
            q.extend(status.map(|s| ("status", s)));
            if let Some(p) = pipeline {
                q.extend([("pipeline", p), ("sort", "created".into()), ("asc", "true".into())]);
            }
            let page: RunPage =
                client.call_with_query(Method::GET, &format!("/projects/{project}/runs"), &q, None).await?;
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&page.items).expect("json")),
                Output::Table => {
                    println!(
                        "{:<36}  {:<24} {:<15} {:<10} {:<20} {:>9}",
                        "UUID", "NAME", "STATUS", "USER", "CREATED", "DURATION"
                    );
                    for r in &page.items {
                        println!(
                            "{:<36}  {:<24} {:<15} {:<10} {:<20} {:>9}",
                            r.uuid.to_string(),
                            r.name,
                            r.status.as_str(),
                            r.user,
                            r.created_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
                            r.duration.map(|d| format!("{d:.1}s")).unwrap_or_default(),
                        );
                    }
                    println!("{} run(s)", page.total);
                }
            }
        }
        OpsCommand::Get { uuid, project, output } => {
            let project = project_path(&client, &project).await?;
            let r: RunDetail =
                client.call(Method::GET, &format!("/projects/{project}/runs/{uuid}"), None).await?;
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&r).expect("json")),
                Output::Table => print_run(&r),
            }
        }
        OpsCommand::Logs { uuid, project, follow: live } => {
            let project = project_path(&client, &project).await?;
            if live {
                follow(&client, &project, &uuid).await?;
            } else {
                print!("{}", client.text(&format!("/projects/{project}/runs/{uuid}/logs")).await?);
            }
        }
        OpsCommand::Stop { uuid, project } => {
            let project = project_path(&client, &project).await?;
            let r: RunDetail =
                client.call(Method::POST, &format!("/projects/{project}/runs/{uuid}/stop"), None).await?;
            println!("{} {}", uuid, r.summary.status);
        }
        OpsCommand::Approve { uuid, project } => {
            let project = project_path(&client, &project).await?;
            let r: RunDetail =
                client.call(Method::POST, &format!("/projects/{project}/runs/{uuid}/approve"), None).await?;
            // Who approved it, from its history: the scheduler may already have taken it further.
            let by = r.timeline.iter().rev().find(|e| e.reason.as_deref() == Some("Approved"));
            let by = by.and_then(|e| e.message.clone()).or(r.status_message).unwrap_or_default();
            println!("{} {} ({by})", uuid, r.summary.status);
        }
        OpsCommand::Compare { uuids, project, all, output } => {
            let project = project_path(&client, &project).await?;
            return super::compare::compare(&client, &project, &uuids, all, output).await;
        }
        OpsCommand::Restart { uuid, project } => {
            let project = project_path(&client, &project).await?;
            let r: RunDetail =
                client.call(Method::POST, &format!("/projects/{project}/runs/{uuid}/restart"), None).await?;
            println!("{}", r.summary.uuid);
        }
    }
    Ok(0)
}

/// `ops get`'s table view.
fn print_run(r: &RunDetail) {
    println!("{} ({})  {}", r.summary.name, r.summary.uuid, r.summary.status);
    if let Some(d) = &r.diagnosis {
        println!("why: {} ({})", d.message, d.code);
        if let Some(m) = &d.scheduler_message {
            println!("scheduler: {m}");
        }
    }
    if let Some(n) = &r.node {
        println!("node: {n}");
    }
    if let Some(p) = r.pipeline {
        let op = r.step.as_ref().and_then(|s| s.get("name")).and_then(Value::as_str).unwrap_or_default();
        println!("pipeline: {p} (op {op})");
    }
    if let Some(c) = &r.cache {
        let hit = if c.hit { "hit" } else { "miss" };
        let key: String = c.key.chars().take(12).collect();
        println!("cache: {hit} (key {key}…)");
        for why in &c.explanation {
            println!("  {why}");
        }
    }
    if let Some(q) = &r.queue {
        println!("queue: #{} ({} running of limit {})", q.position, q.running, q.limit);
    }
    let pairs = |m: &serde_json::Map<String, Value>| m.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let metrics = r.metrics.iter().map(|(k, v)| format!("{k}={}", serde_json::json!(v))).collect();
    let sections: [(&str, Vec<String>); 3] =
        [("params", pairs(&r.params)), ("metrics", metrics), ("outputs", pairs(&r.outputs))];
    for (what, items) in sections {
        if !items.is_empty() {
            println!("{what}: {}", items.join("  "));
        }
    }
    for e in &r.timeline {
        println!(
            "  {}  {:<15} {} {}",
            e.at.to_rfc3339(),
            e.status.as_str(),
            e.reason.as_deref().unwrap_or_default(),
            e.message.as_deref().unwrap_or_default()
        );
    }
}
