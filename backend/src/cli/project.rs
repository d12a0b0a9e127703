//! `myelin project create|ls`.

use reqwest::Method;

use super::client::Client;
use super::Output;
use crate::services::projects::{Project, ProjectPage};

#[derive(Debug, clap::Subcommand)]
pub enum ProjectCommand {
    /// Create a project owned by you.
    Create {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// List your projects.
    Ls {
        /// Only projects whose name or description contains this.
        #[arg(long)]
        query: Option<String>,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
}

pub async fn run(cmd: ProjectCommand) -> Result<(), String> {
    let client = Client::from_env()?;
    match cmd {
        ProjectCommand::Create { name, description, output } => {
            let body = serde_json::json!({"name": name, "description": description});
            let p: Project = client.call(Method::POST, "/projects", Some(&body)).await?;
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&p).expect("json")),
                Output::Table => println!("created {}/{}", p.owner, p.name),
            }
        }
        ProjectCommand::Ls { query, output } => {
            let mut items = Vec::new();
            loop {
                let mut params = vec![
                    ("sort", "name".to_string()),
                    ("limit", "500".into()),
                    ("offset", items.len().to_string()),
                ];
                params.extend(query.iter().map(|q| ("q", q.clone())));
                let page: ProjectPage =
                    client.call_with_query(Method::GET, "/projects", &params, None).await?;
                let done = page.items.is_empty() || items.len() + page.items.len() >= page.total as usize;
                items.extend(page.items);
                if done {
                    break;
                }
            }
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&items).expect("json")),
                Output::Table => {
                    println!("{:<40} {:<8} DESCRIPTION", "PROJECT", "ROLE");
                    for p in items {
                        println!(
                            "{:<40} {:<8} {}",
                            format!("{}/{}", p.owner, p.name),
                            p.role.as_str(),
                            p.description
                        );
                    }
                }
            }
        }
    }
    Ok(())
}
