//! `myelin models ls|get|versions|promote|reviewers|policy|audit` and `myelin reviews ls|show|approve|reject|comment|cancel`: the
//! registry and its review flow over the REST API.

use api_types::{
    AuditTrail, Inbox, ModelDetail, ModelSummary, RegistryPolicy, RequestDetail, RequestSummary,
    VersionSummary,
};
use reqwest::Method;

use super::client::Client;
use super::Output;

#[derive(Debug, clap::Subcommand)]
pub enum ModelsCommand {
    /// The project's models: latest version and aliases (`*`: protected).
    Ls {
        /// `owner/name` or `name` (one of yours).
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
        /// Only models whose name contains this.
        #[arg(long)]
        query: Option<String>,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// A model: description, aliases, reviewers, open requests.
    Get {
        model: String,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// A model's versions, newest first, with their source runs and metrics.
    Versions {
        model: String,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// Ask for an alias to point at a version; the project's reviewers approve it (`myelin reviews`).
    Promote {
        model: String,
        version: i32,
        #[arg(long)]
        alias: String,
        /// Why this version should have the alias.
        #[arg(long)]
        reason: String,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// A model's reviewers besides the project's admins and owner; `--set` names them (admins).
    Reviewers {
        model: String,
        /// Usernames separated by commas (members of the project); `--set ''` leaves only the admins.
        #[arg(long)]
        set: Option<String>,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// The project's protected aliases and the approvals a request needs; the flags change them (admins).
    Policy {
        /// Aliases separated by commas; they move only through an approved request.
        #[arg(long)]
        protect: Option<String>,
        /// Approvals a promotion request needs (1 to 10).
        #[arg(long)]
        approvals: Option<i32>,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// The project's registry audit trail (the latest entries) and whether its hash chain holds.
    Audit {
        /// Entries before this sequence number (the next page of older ones).
        #[arg(long)]
        before: Option<i64>,
        #[arg(long, default_value_t = 50)]
        limit: u64,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum ReviewsCommand {
    /// Requests awaiting your review, and those you opened.
    Ls {
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// A request: its evidence and thread.
    Show {
        request: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// Approve a request (not your own); at the required approvals its alias moves.
    Approve {
        request: String,
        #[arg(long, default_value = "")]
        comment: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// Reject a request.
    Reject {
        request: String,
        #[arg(long, default_value = "")]
        comment: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// Add a comment (Markdown) to a request's thread.
    Comment {
        request: String,
        text: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// Withdraw an open request (yours, or as a project admin).
    Cancel {
        request: String,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
}

fn json<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).expect("json"));
}

fn aliases(m: &ModelSummary) -> String {
    let list: Vec<String> = m
        .aliases
        .iter()
        .map(|a| format!("{}{}=v{}", a.alias, if a.protected { "*" } else { "" }, a.version))
        .collect();
    if list.is_empty() {
        "-".into()
    } else {
        list.join(", ")
    }
}

fn versions_table(vs: &[VersionSummary]) {
    println!("{:<8} {:<10} {:<20} {:<24} METRICS", "VERSION", "STAGE", "ALIASES", "RUN");
    for v in vs {
        let run = match (&v.run_name, v.run) {
            (Some(n), Some(id)) => format!("{n} ({})", &id.to_string()[..8]),
            _ => v.source.clone(),
        };
        let metrics: Vec<String> = v.metrics.iter().take(4).map(|(k, x)| format!("{k}={x:.4}")).collect();
        let aliases = if v.aliases.is_empty() { "-".into() } else { v.aliases.join(",") };
        println!("{:<8} {:<10} {:<20} {:<24} {}", v.version, v.stage, aliases, run, metrics.join(" "));
    }
}

fn requests_table(title: &str, rs: &[RequestSummary]) {
    println!("{title}");
    if rs.is_empty() {
        println!("  (none)");
        return;
    }
    for r in rs {
        println!(
            "  {}  {}  {} v{} -> {}  {}/{} approvals  {}  by {}",
            r.id, r.project, r.model, r.version, r.alias, r.approvals, r.required, r.state, r.requested_by
        );
    }
}

fn request_text(d: &RequestDetail) {
    let r = &d.request;
    println!(
        "{} v{} -> {} ({}), {}/{} approvals",
        r.model, r.version, r.alias, r.state, r.approvals, r.required
    );
    println!("asked by {}: {}", r.requested_by, r.reason);
    let ev = &d.evidence;
    match ev.current_version {
        Some(v) => println!("against the current {}: v{v}", r.alias),
        None => println!("{} points at no version yet", r.alias),
    }
    if let Some(c) = &ev.comparison {
        if c.runs.len() == 2 {
            for m in &c.metrics {
                let (Some(Some(now)), Some(Some(new))) = (m.last.first(), m.last.get(1)) else { continue };
                let better = match m.goal {
                    api_types::Goal::Max => new > now,
                    api_types::Goal::Min => new < now,
                };
                let mark = if new == now {
                    "="
                } else if better {
                    "better"
                } else {
                    "worse"
                };
                println!("  {:<24} {now:>12.6} -> {new:>12.6}  {mark}", m.key);
            }
        }
    }
    for e in &d.thread {
        println!("- {} {}: {}", e.user, e.kind, e.body);
    }
}

async fn model_detail(client: &Client, project: &str, model: &str) -> Result<ModelDetail, String> {
    let project = super::ops::project_path(client, project).await?;
    client.call(Method::GET, &format!("/projects/{project}/models/{model}"), None).await
}

fn list_of(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace()).filter(|x| !x.is_empty()).map(String::from).collect()
}

fn policy_text(p: &RegistryPolicy) {
    let protected =
        if p.protected_aliases.is_empty() { "none".to_string() } else { p.protected_aliases.join(", ") };
    println!("protected aliases: {protected}; a request needs {} approval(s)", p.required_approvals);
}

fn audit_text(t: &AuditTrail) {
    match t.broken_at {
        None => println!("hash chain: intact"),
        Some(at) => println!("hash chain: BROKEN at entry {at} (an entry was rewritten or removed)"),
    }
    for e in &t.entries {
        let at = chrono::DateTime::from_timestamp_millis(e.at_ms)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let alias = e.alias.as_deref().map(|a| format!(" {a}")).unwrap_or_default();
        let version = e.version.map(|v| format!(" v{v}")).unwrap_or_default();
        println!("{:>6}  {at}  {:<12} {:<18} {}{alias}{version}", e.seq, e.actor, e.action, e.model);
    }
    if let Some(b) = t.next_before {
        println!("older entries: --before {b}");
    }
}

pub async fn models(cmd: ModelsCommand) -> Result<(), String> {
    let client = Client::from_env()?;
    match cmd {
        ModelsCommand::Ls { project, query, output } => {
            let params: Vec<(&str, String)> = query.into_iter().map(|q| ("q", q)).collect();
            let path = format!("/projects/{}/models", super::ops::project_path(&client, &project).await?);
            let ms: Vec<ModelSummary> = client.call_with_query(Method::GET, &path, &params, None).await?;
            match output {
                Output::Json => json(&ms),
                Output::Table => {
                    println!("{:<32} {:<8} {:<9} ALIASES (* protected)", "MODEL", "LATEST", "VERSIONS");
                    for m in &ms {
                        let latest = m.latest_version.map(|v| format!("v{v}")).unwrap_or_else(|| "-".into());
                        println!("{:<32} {:<8} {:<9} {}", m.name, latest, m.versions, aliases(m));
                    }
                }
            }
        }
        ModelsCommand::Versions { model, project, output } => {
            let d = model_detail(&client, &project, &model).await?;
            match output {
                Output::Json => json(&d.versions),
                Output::Table => versions_table(&d.versions),
            }
        }
        ModelsCommand::Get { model, project, output } => {
            let d = model_detail(&client, &project, &model).await?;
            match output {
                Output::Json => json(&d),
                Output::Table => {
                    let latest =
                        d.model.latest_version.map(|v| format!("v{v}")).unwrap_or_else(|| "-".into());
                    println!("{}  latest {latest}  aliases: {}", d.model.name, aliases(&d.model));
                    if !d.model.description.is_empty() {
                        println!("{}", d.model.description);
                    }
                    let listed = if d.reviewers.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", d.reviewers.join(", "))
                    };
                    println!(
                        "reviewers: project admins and owner{listed}; {} approval(s) needed",
                        d.policy.required_approvals
                    );
                    versions_table(&d.versions);
                    let open: Vec<RequestSummary> =
                        d.requests.into_iter().filter(|r| r.state == "open").collect();
                    requests_table("open requests:", &open);
                }
            }
        }
        ModelsCommand::Promote { model, version, alias, reason, project, output } => {
            let body = serde_json::json!({"version": version, "alias": alias, "reason": reason});
            let project = super::ops::project_path(&client, &project).await?;
            let path = format!("/projects/{project}/models/{model}/promotions");
            let r: RequestSummary = client.call(Method::POST, &path, Some(&body)).await?;
            match output {
                Output::Json => json(&r),
                Output::Table => println!(
                    "requested {} v{} -> {}: {} (needs {} approval(s); `myelin reviews show {}`)",
                    r.model, r.version, r.alias, r.id, r.required, r.id
                ),
            }
        }
        ModelsCommand::Reviewers { model, set, project, output } => {
            let d = match set {
                None => model_detail(&client, &project, &model).await?,
                Some(list) => {
                    let project = super::ops::project_path(&client, &project).await?;
                    let path = format!("/projects/{project}/models/{model}/reviewers");
                    let body = serde_json::json!({"reviewers": list_of(&list)});
                    client.call(Method::PUT, &path, Some(&body)).await?
                }
            };
            match output {
                Output::Json => json(&d.reviewers),
                Output::Table if d.reviewers.is_empty() => {
                    println!("{}: reviewed by the project's admins and owner only", d.model.name)
                }
                Output::Table => println!(
                    "{}: reviewed by the project's admins and owner, and {}",
                    d.model.name,
                    d.reviewers.join(", ")
                ),
            }
        }
        ModelsCommand::Policy { protect, approvals, project, output } => {
            let path =
                format!("/projects/{}/registry/policy", super::ops::project_path(&client, &project).await?);
            let mut p: RegistryPolicy = client.call(Method::GET, &path, None).await?;
            if protect.is_some() || approvals.is_some() {
                if let Some(list) = protect {
                    p.protected_aliases = list_of(&list);
                }
                if let Some(n) = approvals {
                    p.required_approvals = n;
                }
                let body = serde_json::to_value(&p).map_err(|e| e.to_string())?;
                p = client.call(Method::PUT, &path, Some(&body)).await?;
            }
            match output {
                Output::Json => json(&p),
                Output::Table => policy_text(&p),
            }
        }
        ModelsCommand::Audit { before, limit, project, output } => {
            let path =
                format!("/projects/{}/registry/audit", super::ops::project_path(&client, &project).await?);
            let mut params = vec![("limit", limit.to_string())];
            if let Some(b) = before {
                params.push(("before", b.to_string()));
            }
            let t: AuditTrail = client.call_with_query(Method::GET, &path, &params, None).await?;
            match output {
                Output::Json => json(&t),
                Output::Table => audit_text(&t),
            }
        }
    }
    Ok(())
}

pub async fn reviews(cmd: ReviewsCommand) -> Result<(), String> {
    let client = Client::from_env()?;
    let (path, method, body, output) = match cmd {
        ReviewsCommand::Ls { output } => {
            let inbox: Inbox = client.call(Method::GET, "/reviews", None).await?;
            match output {
                Output::Json => json(&inbox),
                Output::Table => {
                    requests_table("awaiting your review:", &inbox.awaiting);
                    requests_table("opened by you:", &inbox.mine);
                }
            }
            return Ok(());
        }
        ReviewsCommand::Show { request, output } => {
            (format!("/reviews/{request}"), Method::GET, None, output)
        }
        ReviewsCommand::Approve { request, comment, output } => (
            format!("/reviews/{request}/approve"),
            Method::POST,
            Some(serde_json::json!({"body": comment})),
            output,
        ),
        ReviewsCommand::Reject { request, comment, output } => (
            format!("/reviews/{request}/reject"),
            Method::POST,
            Some(serde_json::json!({"body": comment})),
            output,
        ),
        ReviewsCommand::Comment { request, text, output } => (
            format!("/reviews/{request}/comment"),
            Method::POST,
            Some(serde_json::json!({"body": text})),
            output,
        ),
        ReviewsCommand::Cancel { request, output } => {
            (format!("/reviews/{request}/cancel"), Method::POST, None, output)
        }
    };
    let d: RequestDetail = client.call(method, &path, body.as_ref()).await?;
    match output {
        Output::Json => json(&d),
        Output::Table => request_text(&d),
    }
    Ok(())
}
