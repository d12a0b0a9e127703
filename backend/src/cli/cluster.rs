//! `myelin cluster`: the nodes (GPUs allocated of allocatable, taints, runs) and the queue with why each run
//! waits — the cluster page for terminals.

use reqwest::Method;
use serde_json::Value;

use super::client::Client;
use super::Output;

#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Output,
}

pub async fn run(args: ClusterArgs) -> Result<(), String> {
    let client = Client::from_env()?;
    let page: Value = client.call(Method::GET, "/cluster", None).await?;
    if let Output::Json = args.output {
        println!("{}", serde_json::to_string_pretty(&page).expect("json"));
        return Ok(());
    }
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    match page["namespace"].as_str() {
        Some(ns) => println!("executor: {} (namespace {ns})", text(&page["executor"])),
        None => println!("executor: {} (no nodes: runs execute on the server)", text(&page["executor"])),
    }
    if page["synced"] == false {
        println!("warning: the node list has not loaded (is the Kubernetes API reachable?)");
    }
    let nodes = page["nodes"].as_array().cloned().unwrap_or_default();
    if !nodes.is_empty() {
        println!("{:<32} {:>9} {:>11} {:<40} RUNS", "NODE", "GPUS", "CPUS", "TAINTS");
    }
    for n in &nodes {
        let runs: Vec<String> = n["runs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| format!("{}/{}", text(&r["project"]), text(&r["name"])))
            .collect();
        let others = n["other_runs"].as_u64().unwrap_or(0);
        let taints: Vec<String> = n["taints"].as_array().into_iter().flatten().map(text).collect();
        println!(
            "{:<32} {:>9} {:>11} {:<40} {}{}",
            text(&n["name"]),
            format!("{}/{}", n["gpus_used"], n["gpus"]),
            format!("{:.1}/{}", n["cpus_used"].as_f64().unwrap_or(0.0), n["cpus"]),
            taints.join(","),
            runs.join(" "),
            if others > 0 { format!(" +{others} of other projects") } else { String::new() }
        );
    }
    let queue = page["queue"].as_array().cloned().unwrap_or_default();
    println!("queue: {} waiting", queue.len());
    for w in &queue {
        let why = match w["diagnosis"].as_object() {
            Some(d) => format!("{}: {}", text(&d["code"]), text(&d["message"])),
            None => text(&w["status_message"]),
        };
        println!(
            "  {} {}/{} [{}] {why}",
            text(&w["uuid"]),
            text(&w["project"]),
            text(&w["name"]),
            text(&w["status"])
        );
    }
    Ok(())
}
