//! `myelin cluster`: the nodes (GPUs allocated of allocatable, taints, runs) and the queue with why each run
//! waits — the cluster page for terminals.

use api_types::ClusterPage;
use reqwest::Method;

use super::client::Client;
use super::Output;

#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Output,
}

pub async fn run(args: ClusterArgs) -> Result<(), String> {
    let client = Client::from_env()?;
    let page: ClusterPage = client.call(Method::GET, "/cluster", None).await?;
    if let Output::Json = args.output {
        println!("{}", serde_json::to_string_pretty(&page).expect("json"));
        return Ok(());
    }
    match &page.namespace {
        Some(ns) => println!("executor: {} (namespace {ns})", page.executor),
        None => println!("executor: {} (no nodes: runs execute on the server)", page.executor),
    }
    if !page.synced {
        println!("warning: the node list has not loaded (is the Kubernetes API reachable?)");
    }
    if !page.nodes.is_empty() {
        println!("{:<32} {:>9} {:>11} {:<40} RUNS", "NODE", "GPUS", "CPUS", "TAINTS");
    }
    for n in &page.nodes {
        let runs: Vec<String> = n.runs.iter().map(|r| format!("{}/{}", r.project, r.name)).collect();
        let others = n.other_runs;
        println!(
            "{:<32} {:>9} {:>11} {:<40} {}{}",
            n.node.name,
            format!("{:?}/{:?}", n.node.gpus_used, n.node.gpus),
            format!("{:.1}/{:?}", n.node.cpus_used, n.node.cpus),
            n.node.taints.join(","),
            runs.join(" "),
            if others > 0 { format!(" +{others} of other projects") } else { String::new() }
        );
    }
    println!("queue: {} waiting", page.queue.len());
    for w in &page.queue {
        let why = match &w.diagnosis {
            Some(d) => format!("{}: {}", d.code, d.message),
            None => w.status_message.clone().unwrap_or_default(),
        };
        println!("  {} {}/{} [{}] {why}", w.run.uuid, w.run.project, w.run.name, w.run.status);
    }
    Ok(())
}
