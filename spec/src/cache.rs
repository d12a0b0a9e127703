//! Cache keys that explain themselves (issue #7). A run's key is the sha256 of the canonical JSON of what
//! determines its result — Polyaxon's state (inputs/outputs per `cache.io`, `init`, `connections` and the main
//! containers' command and args per `cache.sections`), plus, beyond Polyaxon, the image and its digest when
//! known, and the upstream values an op was given. The inputs are kept beside the key, so a miss can say what
//! changed against the nearest earlier run of the same op.
//!
//! Polyaxon's defaults: caching is on inside pipelines (DAG ops, matrix children) and off for independent
//! runs; `cache.disable` decides when set; `ttl` (seconds) bounds how old a reused result may be.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Bumped when what goes into a key changes, so old keys never match new ones.
pub const VERSION: u32 = 1;

/// The `cache:` section of a component or operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheSpec {
    pub disable: Option<bool>,
    pub ttl: Option<i64>,
    /// The inputs/outputs that count (all when unset).
    pub io: Option<Vec<String>>,
    /// `init`, `connections`, `containers` (all three when unset).
    pub sections: Option<Vec<String>>,
}

impl CacheSpec {
    pub fn from_value(v: &Value) -> Self {
        let names = |k: &str| {
            v[k].as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        };
        CacheSpec {
            disable: v["disable"].as_bool(),
            ttl: v["ttl"].as_i64(),
            io: names("io"),
            sections: names("sections"),
        }
    }

    /// Polyaxon's rule: `disable` decides when set; otherwise only runs inside a pipeline are cached.
    pub fn enabled(&self, in_pipeline: bool) -> bool {
        match self.disable {
            Some(d) => !d,
            None => in_pipeline,
        }
    }

    /// Whether the key holds this section (`init`, `connections`, `containers`).
    pub(crate) fn section(&self, name: &str) -> bool {
        self.sections.as_ref().is_none_or(|s| s.iter().any(|x| x == name))
    }

    /// Whether the key holds this input or output.
    pub(crate) fn counts(&self, io: &str) -> bool {
        self.io.as_ref().is_none_or(|names| names.iter().any(|n| n == io))
    }
}

/// A main container as the key sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Container {
    pub name: String,
    pub image: String,
    /// The digest the image resolved to, when an executor has learnt it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    pub command: Vec<String>,
    pub args: Vec<String>,
}

/// Everything that went into a key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyInputs {
    pub version: u32,
    pub kind: String,
    /// Params (inputs and outputs given values), per `cache.io`; nulls dropped.
    pub params: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<Container>,
    /// `op.output` -> value, for values that came from upstream ops.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub upstream: BTreeMap<String, Value>,
}

/// What a run needs to be keyed: its kind, resolved params, compiled pod specs and the rest.
pub struct Subject<'a> {
    /// The run's own uuid: written as `{{ globals.uuid }}` wherever it appears, so a command that names the
    /// run (`--out={{ globals.run_outputs_path }}`) keys as the same command on every run, as Polyaxon keys the
    /// command before rendering. Empty for none.
    pub uuid: &'a str,
    pub kind: &'a str,
    pub params: &'a Map<String, Value>,
    /// The main pod spec of each workload (a Job's template spec, each replica's).
    pub pods: Vec<&'a Value>,
    pub connections: Vec<String>,
    pub upstream: BTreeMap<String, Value>,
    /// Image -> digest, for images whose digest is known.
    pub digests: &'a BTreeMap<String, String>,
}

impl KeyInputs {
    pub fn of(s: &Subject, spec: &CacheSpec) -> Self {
        let unnamed = |t: &str| -> String {
            if s.uuid.is_empty() {
                t.to_string()
            } else {
                t.replace(s.uuid, "{{ globals.uuid }}")
            }
        };
        let unnamed_value = |v: &Value| match v {
            Value::String(t) => Value::String(unnamed(t)),
            Value::Array(_) | Value::Object(_) if !s.uuid.is_empty() && v.to_string().contains(s.uuid) => {
                serde_json::from_str(&unnamed(&v.to_string())).unwrap_or_else(|_| v.clone())
            }
            v => v.clone(),
        };
        let params = s
            .params
            .iter()
            .filter(|(k, v)| !v.is_null() && spec.counts(k))
            .map(|(k, v)| (k.clone(), unnamed_value(v)))
            .collect();
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(|x| unnamed(&x.as_str().map_or_else(|| x.to_string(), str::to_string)))
                .collect()
        };
        let mut containers = Vec::new();
        let mut init = Vec::new();
        for pod in &s.pods {
            if spec.section("containers") {
                if let Some(main) = pod["containers"].as_array().and_then(|c| c.first()) {
                    let image = main["image"].as_str().unwrap_or_default().to_string();
                    containers.push(Container {
                        name: main["name"].as_str().unwrap_or_default().to_string(),
                        digest: s.digests.get(&image).cloned(),
                        image,
                        command: strings(&main["command"]),
                        args: strings(&main["args"]),
                    });
                }
            }
            if spec.section("init") {
                for c in pod["initContainers"].as_array().into_iter().flatten() {
                    init.push(unnamed_value(
                        &serde_json::json!({"image": c["image"], "command": c["command"], "args": c["args"]}),
                    ));
                }
            }
        }
        let mut connections = if spec.section("connections") { s.connections.clone() } else { vec![] };
        connections.sort();
        KeyInputs {
            version: VERSION,
            kind: s.kind.to_string(),
            params,
            init,
            connections,
            containers,
            upstream: s
                .upstream
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The key: sha256 (hex) of the canonical JSON (compact, object keys sorted at every level), written
    /// straight into the digest.
    pub fn key(&self) -> String {
        let mut digest = Hashing(Sha256::new());
        canonical(&serde_json::to_value(self).unwrap_or_default(), &mut digest);
        hex(&digest.0.finalize())
    }
}

/// A writer into a digest.
struct Hashing(Sha256);

impl std::io::Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes `v` as compact JSON with every object's keys sorted: the bytes `Value::to_string` gives for the
/// value with sorted keys.
fn canonical(v: &Value, out: &mut Hashing) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.0.update(b"{");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.0.update(b",");
                }
                serde_json::to_writer(&mut *out, k).expect("a string writes");
                out.0.update(b":");
                canonical(&m[k.as_str()], out);
            }
            out.0.update(b"}");
        }
        Value::Array(a) => {
            out.0.update(b"[");
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.0.update(b",");
                }
                canonical(x, out);
            }
            out.0.update(b"]");
        }
        scalar => {
            serde_json::to_writer(&mut *out, scalar).expect("a scalar writes");
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)] as char, DIGITS[usize::from(b & 15)] as char])
        .collect()
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// Why a run's key differs from an earlier run's of the same op, in words: `param lr 0.1 -> 0.01`,
/// `image python:3.11 -> python:3.12`, ... `first run` when there is nothing to compare with.
pub fn explain(before: Option<&KeyInputs>, now: &KeyInputs) -> Vec<String> {
    let Some(b) = before else { return vec!["first run of this op: nothing to reuse".into()] };
    let mut out = Vec::new();
    if b.version != now.version {
        out.push(format!("the cache key's make-up changed (version {} -> {})", b.version, now.version));
    }
    if b.kind != now.kind {
        out.push(format!("run kind {} -> {}", b.kind, now.kind));
    }
    diff_maps("param", &b.params, &now.params, &mut out);
    diff_maps("upstream output", &b.upstream, &now.upstream, &mut out);
    for (i, c) in now.containers.iter().enumerate() {
        let Some(p) = b.containers.get(i) else {
            out.push(format!("container {} added", c.name));
            continue;
        };
        if p.image != c.image {
            out.push(format!("image {} -> {}", p.image, c.image));
        } else if p.digest.is_some() && c.digest.is_some() && p.digest != c.digest {
            out.push(format!(
                "image {} now resolves to another digest ({} -> {})",
                c.image,
                short_digest(&p.digest),
                short_digest(&c.digest)
            ));
        }
        if p.command != c.command {
            out.push(format!("command {:?} -> {:?}", p.command.join(" "), c.command.join(" ")));
        }
        if p.args != c.args {
            out.push(format!("args {:?} -> {:?}", p.args.join(" "), c.args.join(" ")));
        }
    }
    if b.containers.len() > now.containers.len() {
        out.push(format!("{} container(s) removed", b.containers.len() - now.containers.len()));
    }
    if b.init != now.init {
        out.push("init steps changed".into());
    }
    if b.connections != now.connections {
        out.push(format!("connections [{}] -> [{}]", b.connections.join(", "), now.connections.join(", ")));
    }
    out
}

fn short_digest(d: &Option<String>) -> String {
    d.as_deref().map(|d| d.rsplit(':').next().unwrap_or(d).chars().take(12).collect()).unwrap_or_default()
}

fn diff_maps(what: &str, b: &BTreeMap<String, Value>, n: &BTreeMap<String, Value>, out: &mut Vec<String>) {
    for (k, v) in n {
        match b.get(k) {
            None => out.push(format!("{what} {k} set to {}", short(v))),
            Some(old) if old != v => out.push(format!("{what} {k} {} -> {}", short(old), short(v))),
            _ => {}
        }
    }
    for k in b.keys().filter(|k| !n.contains_key(*k)) {
        out.push(format!("{what} {k} no longer set"));
    }
}

/// Whether a result finished at `finished` (unix seconds) is too old to reuse at `now` under `ttl`, in words.
pub fn expired(ttl: Option<i64>, finished: i64, now: i64) -> Option<String> {
    let ttl = ttl?;
    let age = now - finished;
    (age >= ttl).then(|| {
        let over = age - ttl;
        let ago = if over >= 3600 {
            format!("{} h", over / 3600)
        } else if over >= 60 {
            format!("{} min", over / 60)
        } else {
            format!("{over} s")
        };
        format!("ttl of {ttl} s expired {ago} ago")
    })
}

/// What in a command changes on every run, so that its cache key can never match.
/// (The run's uuid, and the context paths under it, are keyed as `{{ globals.uuid }}`: `Subject::uuid`.)
pub const NEVER_HITS: [&str; 6] =
    ["globals.created_at", "globals.schedule_at", "globals.iteration", "now()", "$RANDOM", "date +"];

/// The first `NEVER_HITS` marker in a command's text.
pub fn never_hits(text: &str) -> Option<&'static str> {
    NEVER_HITS.into_iter().find(|g| text.contains(g))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key as it was first defined: the value with sorted keys, printed compact. Keys stored by earlier
    /// runs must still match.
    fn by_string(v: &Value) -> String {
        fn sorted(v: &Value) -> Value {
            match v {
                Value::Object(m) => {
                    let s: BTreeMap<&String, Value> = m.iter().map(|(k, v)| (k, sorted(v))).collect();
                    Value::Object(s.into_iter().map(|(k, v)| (k.clone(), v)).collect())
                }
                Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
                other => other.clone(),
            }
        }
        hex(&Sha256::digest(sorted(v).to_string().as_bytes()))
    }

    #[test]
    fn the_streamed_canonical_json_hashes_as_the_printed_one() {
        let v = serde_json::json!({"z": [1, 2.5, -0.0, 1e300, null, true], "a": {"é\"\n": "tab\tq\u{1}", "B": {}},
            "m": [{"y": 1, "x": [[]]}], "": "", "n": 12345678901234567890u64, "f": 0.1});
        let mut digest = Hashing(Sha256::new());
        canonical(&v, &mut digest);
        assert_eq!(hex(&digest.0.finalize()), by_string(&v));
        assert_eq!(hex(&[0x00, 0x9f, 0xff]), "009fff");
    }
}
