//! `myelin compile` and `myelin lint`: the polyaxonfile compiler offline (contract:
//! `shared/conformance/README.md`). Exit 0 when valid, 1 when invalid, 2 on usage errors.

use std::path::{Component, Path, PathBuf};

use spec::{compile, Options, Refs, Source};

#[derive(Debug, clap::Args)]
pub struct CompileArgs {
    /// The polyaxonfile, then overlays (`-f a.yaml -f b.yaml`).
    #[arg(short = 'f', long = "file", required = true)]
    pub files: Vec<PathBuf>,
    /// A param, `-P name=value` (repeatable).
    #[arg(short = 'P', long = "param")]
    pub params: Vec<String>,
    /// Params as a JSON object.
    #[arg(long)]
    pub params_json: Option<String>,
    /// Serves `hubRef: [OWNER/]NAME[:TAG]` from DIR/[OWNER/]NAME/TAG.yaml.
    #[arg(long)]
    pub hub_dir: Option<PathBuf>,
    /// Serves `urlRef: https://HOST/PATH` from DIR/HOST/PATH.
    #[arg(long)]
    pub url_dir: Option<PathBuf>,
    /// The connections catalog (an agent config with a `connections:` list).
    #[arg(long)]
    pub connections: Option<PathBuf>,
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

struct FsRefs {
    hub: Option<PathBuf>,
    url: Option<PathBuf>,
}

fn read(path: &Path) -> Option<Source> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(Source { name: path.display().to_string(), text })
}

/// `rel` under `dir`, refusing anything that would leave it.
fn confined(dir: &Path, rel: &str) -> Option<PathBuf> {
    let rel = Path::new(rel);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(dir.join(rel))
}

impl Refs for FsRefs {
    fn hub(&self, reference: &str) -> Option<Source> {
        let (name, tag) = reference.split_once(':').unwrap_or((reference, "latest"));
        read(&confined(self.hub.as_ref()?, &format!("{name}/{tag}.yaml"))?)
    }
    fn url(&self, url: &str) -> Option<Source> {
        let rest = url.split_once("://").map(|(_, r)| r)?;
        read(&confined(self.url.as_ref()?, rest)?)
    }
    fn path(&self, from: &str, path: &str) -> Option<Source> {
        let base = Path::new(from).parent().unwrap_or(Path::new("."));
        read(&base.join(path))
    }
}

/// A file that is not UTF-8 text is an invalid polyaxonfile (exit 1), located at its first bad byte.
fn not_text(f: &Path, e: &std::string::FromUtf8Error, output: Format) -> i32 {
    let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
    let line = good.iter().filter(|b| **b == b'\n').count() + 1;
    let column = good.len() - good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) + 1;
    let message = "the file is not UTF-8 text";
    match output {
        Format::Json => println!(
            "{}",
            serde_json::json!({"valid": false, "errors": [{"path": "", "line": line, "column": column, "code": "invalid_encoding", "message": message, "file": f.display().to_string()}], "warnings": []})
        ),
        Format::Text => println!("{}:{line}:{column}: error[invalid_encoding] {message}", f.display()),
    }
    1
}

fn usage(msg: String) -> i32 {
    eprintln!("error: {msg}");
    2
}

pub fn run(args: CompileArgs, lint_only: bool) -> i32 {
    let mut files = Vec::new();
    for f in &args.files {
        let bytes = match std::fs::read(f) {
            Ok(b) => b,
            Err(e) => return usage(format!("{}: {e}", f.display())),
        };
        match String::from_utf8(bytes) {
            Ok(text) => files.push(Source { name: f.display().to_string(), text }),
            Err(e) => return not_text(f, &e, args.output),
        }
    }
    let mut params = Vec::new();
    for p in &args.params {
        let Some((k, v)) = p.split_once('=') else { return usage(format!("-P {p}: expected name=value")) };
        params.push((k.trim().to_string(), serde_json::Value::String(v.to_string())));
    }
    if let Some(j) = &args.params_json {
        match serde_json::from_str::<serde_json::Value>(j) {
            Ok(serde_json::Value::Object(m)) => params.extend(m),
            _ => return usage("--params-json must be a JSON object".into()),
        }
    }
    let catalog = match &args.connections {
        None => spec::catalog::Catalog::default(),
        Some(path) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => return usage(format!("{}: {e}", path.display())),
            };
            let doc = match spec::yaml::parse(&path.display().to_string(), &text) {
                Ok(d) => d,
                Err(e) => return usage(format!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message)),
            };
            match spec::catalog::Catalog::from_value(&doc.value) {
                Ok(c) => c,
                Err(e) => return usage(format!("{}: {e}", path.display())),
            }
        }
    };
    let refs = FsRefs { hub: args.hub_dir.clone(), url: args.url_dir.clone() };
    let out = compile(&Options {
        limits: Default::default(),
        // `lint` checks the pod policy a server enforces by default; `compile` keeps Polyaxon's semantics.
        policy: lint_only.then(spec::policy::Policy::default),
        files,
        params,
        catalog,
        refs: &refs,
        run_uuid: None,
        execution: Default::default(),
    });
    match args.output {
        Format::Json if lint_only => {
            let v = serde_json::json!({"valid": out.valid, "errors": out.errors, "warnings": out.warnings});
            println!("{v}");
        }
        Format::Json => println!("{}", serde_json::to_string(&out).expect("json")),
        Format::Text => {
            for d in
                out.errors.iter().map(|d| ("error", d)).chain(out.warnings.iter().map(|d| ("warning", d)))
            {
                println!(
                    "{}:{}:{}: {}[{}] {}: {}",
                    d.1.file, d.1.line, d.1.column, d.0, d.1.code, d.1.path, d.1.message
                );
            }
            if out.valid && !lint_only {
                println!("{}", serde_json::to_string_pretty(&out.run).expect("json"));
            } else if out.valid {
                println!("valid ({} warnings)", out.warnings.len());
            }
        }
    }
    if out.valid {
        0
    } else {
        1
    }
}
