//! `myelin artifacts upload|download`: a run's files and folders through the server only — the client needs no
//! store credentials, which is how air-gapped clusters and laptops reach the store. Files larger than
//! [`ONE_REQUEST_MAX`] go in parts and resume where an interrupted upload stopped (run the same command again);
//! downloads resume from `NAME.part`. Every upload is checked against the sha256 the server computed.

use std::path::{Path, PathBuf};

use api_types::{ArtifactInfo, NewUpload, UploadSession};
use bytes::Bytes;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::{header, Method, StatusCode};
use serde_json::Value;
use sha2::Digest;
use tokio::io::AsyncWriteExt;

use super::client::{decode, Client};
use crate::artifacts::normalise;

/// Files up to this size go in one request; larger ones in resumable parts.
pub const ONE_REQUEST_MAX: u64 = 16 * 1024 * 1024;
/// Tries of one request before giving up (with growing pauses between them).
const ATTEMPTS: u32 = 5;

#[derive(Debug, clap::Subcommand)]
pub enum ArtifactsCommand {
    /// Upload a file or a folder into a run through the server (large files in parts: run it again to resume).
    Upload {
        /// The run's uuid.
        run: uuid::Uuid,
        /// A file or a folder.
        local: PathBuf,
        /// The folder of the run it goes into.
        #[arg(long, default_value = "artifacts")]
        to: String,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
    },
    /// Download a run's file or folder (the whole run without PATH) into OUTPUT/<its name>; a partial download
    /// resumes.
    Download {
        /// The run's uuid.
        run: uuid::Uuid,
        /// A file or folder of the run, e.g. `artifacts/model`.
        path: Option<String>,
        #[arg(short, long, default_value = ".")]
        output: PathBuf,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
    },
}

pub async fn run(cmd: ArtifactsCommand) -> Result<(), String> {
    let client = Client::from_env()?;
    match cmd {
        ArtifactsCommand::Upload { run, local, to, project } => {
            let t = Target::new(&client, &project, run).await?;
            upload(&t, &local, &to).await
        }
        ArtifactsCommand::Download { run, path, output, project } => {
            let t = Target::new(&client, &project, run).await?;
            download(&t, path.as_deref(), &output).await
        }
    }
}

/// A run on the server.
pub struct Target<'a> {
    client: &'a Client,
    run: uuid::Uuid,
    /// `/projects/{owner}/{name}/runs/{uuid}`.
    base: String,
}

impl<'a> Target<'a> {
    pub async fn new(client: &'a Client, project: &str, run: uuid::Uuid) -> Result<Self, String> {
        let project = super::ops::project_path(client, project).await?;
        Ok(Self { client, run, base: format!("/projects/{project}/runs/{run}") })
    }

    async fn json<T: serde::de::DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T, String> {
        decode(self.client.send(req).await?).await
    }
}

/// Names a local file as of now: an open upload with the same fingerprint is this file, unchanged.
pub fn fingerprint(meta: &std::fs::Metadata) -> String {
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    format!("{}-{}", meta.len(), mtime.map_or(0, |d| d.as_nanos()))
}

fn bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "{msg:30!} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}

/// Files under `local` (itself when a file) with the path each gets under `to`.
fn plan(local: &Path, to: &str) -> Result<Vec<(PathBuf, String, u64)>, String> {
    let meta = std::fs::metadata(local).map_err(|e| format!("{}: {e}", local.display()))?;
    let name = local
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .ok_or_else(|| format!("{}: has no name to upload it as", local.display()))?;
    let under = |rel: &str| {
        let joined = if to.trim_matches('/').is_empty() { rel.to_string() } else { format!("{to}/{rel}") };
        normalise(&joined).map_err(|e| e.to_string())
    };
    if meta.is_file() {
        return Ok(vec![(local.to_path_buf(), under(&name)?, meta.len())]);
    }
    let mut out = Vec::new();
    let mut stack = vec![(local.to_path_buf(), name)];
    while let Some((dir, rel)) = stack.pop() {
        for e in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let e = e.map_err(|e| format!("{}: {e}", dir.display()))?;
            let child = format!("{rel}/{}", e.file_name().to_string_lossy());
            let kind = e.file_type().map_err(|err| format!("{}: {err}", e.path().display()))?;
            if kind.is_dir() {
                stack.push((e.path(), child));
            } else if let Ok(m) = std::fs::metadata(e.path()) {
                // Files and links to files; a link to a folder is not followed (it could loop).
                if m.is_file() {
                    out.push((e.path(), under(&child)?, m.len()));
                }
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Uploads a file or folder into the run's folder `to`, with a progress bar, one line per file.
pub async fn upload(t: &Target<'_>, local: &Path, to: &str) -> Result<(), String> {
    let files = plan(local, to)?;
    if files.is_empty() {
        return Err(format!("{}: no files to upload", local.display()));
    }
    let bar = bar(files.iter().map(|f| f.2).sum());
    for (path, dest, _) in &files {
        bar.set_message(dest.clone());
        let done = upload_file(t, path, dest, &bar).await.map_err(|e| format!("{dest}: {e}"))?;
        let resumed = match done.resumed_at {
            0 => String::new(),
            at => format!(", resumed at {}", indicatif::BinaryBytes(at)),
        };
        bar.suspend(|| {
            println!(
                "uploaded {} ({}, sha256 {}{resumed})",
                done.info.path,
                indicatif::BinaryBytes(done.info.size),
                &done.info.sha256[..12.min(done.info.sha256.len())]
            )
        });
    }
    bar.finish_and_clear();
    Ok(())
}

/// What one file's upload did.
pub struct Uploaded {
    pub info: ArtifactInfo,
    /// Bytes an earlier, interrupted upload had already sent (0: started afresh).
    pub resumed_at: u64,
}

/// Uploads one file as the run's `dest`, and checks the server stored exactly its bytes.
pub async fn upload_file(
    t: &Target<'_>,
    local: &Path,
    dest: &str,
    bar: &ProgressBar,
) -> Result<Uploaded, String> {
    let meta = std::fs::metadata(local).map_err(|e| format!("{}: {e}", local.display()))?;
    let (info, resumed_at, digest) = if meta.len() <= ONE_REQUEST_MAX {
        let bytes =
            Bytes::from(tokio::fs::read(local).await.map_err(|e| format!("{}: {e}", local.display()))?);
        let url = format!("{}/artifacts/{}", t.base, api_types::encode_path(dest));
        let info: ArtifactInfo =
            retried(|| t.json(t.client.request(Method::PUT, &url).body(bytes.clone()))).await?;
        bar.inc(bytes.len() as u64);
        (info, 0, hex::encode(sha2::Sha256::digest(&bytes)))
    } else {
        in_parts(t, local, &meta, dest, bar).await?
    };
    if info.sha256 != digest {
        return Err(format!(
            "the server stored a different file (sha256 {} instead of {digest}): did {} change while it was \
             uploading? Upload it again",
            info.sha256,
            local.display()
        ));
    }
    Ok(Uploaded { info, resumed_at })
}

/// `f` again after a failure to reach the server or a server error, with growing pauses.
async fn retried<T, F, Fut>(mut f: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let mut attempt = 1;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < ATTEMPTS && transient(&e) => {
                tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Worth trying again: the network or the server's side, not the request.
fn transient(e: &str) -> bool {
    e.starts_with("nothing answers")
        || e.contains("did not answer in time")
        || e.starts_with("cannot reach")
        || e.contains("(internal)")
        || e.contains("(store_unavailable)")
        || e.starts_with("server answered 5")
}

/// A large file in parts: resumes the caller's open upload of the same file, sends what the server lacks, and
/// completes it. Returns what the server stored, where it resumed, and the file's sha256.
async fn in_parts(
    t: &Target<'_>,
    local: &Path,
    meta: &std::fs::Metadata,
    dest: &str,
    bar: &ProgressBar,
) -> Result<(ArtifactInfo, u64, String), String> {
    let new = NewUpload { path: dest.to_string(), size: meta.len(), fingerprint: fingerprint(meta) };
    let start_url = format!("{}/uploads", t.base);
    let start = || t.json::<UploadSession>(t.client.request(Method::POST, &start_url).json(&new));
    let mut s = retried(start).await?;
    let resumed_at = s.received;
    // The file's digest is taken on another thread while its parts go out: the server's digest of what it
    // received is compared with it at the end, so a file that changed on the way is caught either way.
    let digest = tokio::task::spawn_blocking({
        let local = local.to_path_buf();
        move || file_sha256(&local)
    });
    let shown = bar.position();
    bar.inc(s.received);
    let mut restarted = false;
    // The next part is read from the disk while this one goes out.
    let mut ahead: Option<((u64, u64), ReadPart)> = None;
    while s.received < s.size {
        let span = (s.received, s.part_size.min(s.size - s.received));
        let part = match ahead.take() {
            Some((at, read)) if at == span => read.await,
            _ => read_part(local, span).await,
        };
        let part = part.map_err(|e| format!("reading {}: {e}", local.display()))??;
        let next = span.0 + span.1;
        if next < s.size {
            let next_span = (next, s.part_size.min(s.size - next));
            ahead = Some((next_span, read_part(local, next_span)));
        }
        match send_part(t, &s, part).await? {
            Some(next) => s = next,
            // The server lost the upload (it restarted, or the store failed): once, start again.
            None if !restarted => {
                restarted = true;
                bar.suspend(|| eprintln!("{dest}: the server lost the upload; starting it again"));
                s = retried(start).await?;
            }
            None => return Err("the server lost the upload twice; try again later".into()),
        }
        bar.set_position(shown + s.received);
    }
    let url = format!("{}/uploads/{}/complete", t.base, s.id);
    let info: ArtifactInfo = retried(|| t.json(t.client.request(Method::POST, &url))).await?;
    let digest = digest.await.map_err(|e| format!("hashing {}: {e}", local.display()))??;
    Ok((info, resumed_at, digest))
}

type ReadPart = tokio::task::JoinHandle<Result<Bytes, String>>;

/// Bytes `at..at + len` of the file, read on a blocking thread.
fn read_part(path: &Path, (at, len): (u64, u64)) -> ReadPart {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        let fail = |e: std::io::Error| format!("{}: {e}", path.display());
        let mut f = std::fs::File::open(&path).map_err(fail)?;
        f.seek(std::io::SeekFrom::Start(at)).map_err(fail)?;
        let mut buf = vec![0u8; len as usize];
        f.read_exact(&mut buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => "the file became shorter while it was uploading".to_string(),
            _ => fail(e),
        })?;
        Ok(Bytes::from(buf))
    })
}

/// The sha256 of a file, as hex.
fn file_sha256(path: &Path) -> Result<String, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut f = std::io::BufReader::with_capacity(1 << 20, f);
    let mut digest = sha2::Sha256::new();
    std::io::copy(&mut f, &mut digest).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(hex::encode(digest.finalize()))
}

/// Sends the session's next part; the session as the server then has it, or `None` when the server no longer
/// has the upload. After a failure the server is asked where it stands (the part may have landed).
async fn send_part(t: &Target<'_>, s: &UploadSession, part: Bytes) -> Result<Option<UploadSession>, String> {
    let session = format!("{}/uploads/{}", t.base, s.id);
    let url = format!("{session}/parts/{}", s.next_part);
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        match t.client.send(t.client.request(Method::PUT, &url).body(part.clone())).await {
            Ok(r) if r.status().is_success() => return decode(r).await.map(Some),
            Ok(r) if r.status() == StatusCode::NOT_FOUND => return Ok(None),
            Ok(r) if r.status() == StatusCode::CONFLICT || r.status().is_server_error() => {
                last = decode::<Value>(r).await.err().unwrap_or_default();
            }
            Ok(r) => return Err(decode::<Value>(r).await.err().unwrap_or_default()),
            Err(e) => last = e,
        }
        tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
        match t.client.send(t.client.request(Method::GET, &session)).await {
            Ok(r) if r.status() == StatusCode::NOT_FOUND => return Ok(None),
            Ok(r) if r.status().is_success() => {
                let now: UploadSession = decode(r).await?;
                if now.received != s.received {
                    return Ok(Some(now));
                }
            }
            _ => {}
        }
    }
    Err(last)
}

/// Downloads the run's file or folder `path` (the whole run when `None`) into `output/<its name>`.
pub async fn download(t: &Target<'_>, path: Option<&str>, output: &Path) -> Result<(), String> {
    let root = match path.map(str::trim).filter(|p| !p.is_empty() && *p != "/") {
        Some(p) => normalise(p).map_err(|e| e.to_string())?,
        None => String::new(),
    };
    let name = match root.rsplit('/').next() {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => t.run.to_string(),
    };
    let mut files = tree(t, &root).await?;
    let single = files.is_empty() && !root.is_empty();
    if single {
        files.push((root.clone(), 0));
    } else if files.is_empty() {
        return Err("the run has no files".into());
    }
    let bar = bar(files.iter().map(|f| f.1).sum());
    for (rel, _) in &files {
        let local = if single {
            output.join(&name)
        } else {
            let below = rel.strip_prefix(&root).unwrap_or(rel).trim_start_matches('/');
            output.join(&name).join(below)
        };
        bar.set_message(rel.clone());
        let size = fetch(t, rel, &local, &bar).await.map_err(|e| format!("{rel}: {e}"))?;
        bar.suspend(|| println!("downloaded {rel} → {} ({})", local.display(), indicatif::BinaryBytes(size)));
    }
    bar.finish_and_clear();
    Ok(())
}

/// Every file under the run's `root` (relative to the run, checked) with its size; empty when `root` is a
/// file or nothing.
async fn tree(t: &Target<'_>, root: &str) -> Result<Vec<(String, u64)>, String> {
    #[derive(serde::Deserialize)]
    struct Entry {
        path: String,
        is_dir: bool,
        size: Option<u64>,
    }
    let mut out = Vec::new();
    let mut dirs = vec![root.to_string()];
    while let Some(dir) = dirs.pop() {
        let req = t.client.request(Method::GET, &format!("{}/artifacts", t.base)).query(&[("path", &dir)]);
        let entries: Vec<Entry> = match retried(|| t.json(req.try_clone().expect("no body"))).await {
            Ok(e) => e,
            // A file's name lists as nothing (or, on some stores, not as a folder).
            Err(_) if dir == root && !root.is_empty() => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        for e in entries {
            // Never trust a path from the wire to stay inside the output folder.
            let path = normalise(&e.path).map_err(|err| format!("the server sent a bad path: {err}"))?;
            if e.is_dir {
                dirs.push(path);
            } else {
                out.push((path, e.size.unwrap_or(0)));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Downloads the run's `rel` to `local` through `local.part` (kept on failure: the next try resumes it with a
/// range request, if the file on the server is unchanged); returns its size.
async fn fetch(t: &Target<'_>, rel: &str, local: &Path, bar: &ProgressBar) -> Result<u64, String> {
    if let Some(dir) = local.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let part =
        local.with_file_name(format!("{}.part", local.file_name().unwrap_or_default().to_string_lossy()));
    let tag = part.with_extension("part.etag");
    let url = format!("{}/artifacts/{}", t.base, api_types::encode_path(rel));
    let mut last = String::new();
    let shown = bar.position();
    for attempt in 1..=ATTEMPTS {
        match fetch_once(t, &url, &part, &tag, (bar, shown)).await {
            Ok(size) => {
                tokio::fs::rename(&part, local).await.map_err(|e| format!("{}: {e}", local.display()))?;
                tokio::fs::remove_file(&tag).await.ok();
                return Ok(size);
            }
            Err((e, false)) => return Err(e),
            Err((e, true)) => last = e,
        }
        tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
    }
    Err(last)
}

/// One try: continues `part` when the server's copy still has the tag it had. `Err((why, worth retrying))`.
async fn fetch_once(
    t: &Target<'_>,
    url: &str,
    part: &Path,
    tag: &Path,
    (bar, shown): (&ProgressBar, u64),
) -> Result<u64, (String, bool)> {
    let had = tokio::fs::metadata(part).await.map(|m| m.len()).unwrap_or(0);
    let etag = tokio::fs::read_to_string(tag).await.ok().filter(|_| had > 0);
    let mut req = t.client.request(Method::GET, url);
    if let Some(etag) = &etag {
        req = req.header(header::RANGE, format!("bytes={had}-")).header(header::IF_RANGE, etag.trim());
    }
    let resp = t.client.send(req).await.map_err(|e| (e, true))?;
    let status = resp.status();
    if status == StatusCode::RANGE_NOT_SATISFIABLE {
        // What we hold is no prefix of the file any more: start over.
        tokio::fs::remove_file(part).await.ok();
        tokio::fs::remove_file(tag).await.ok();
        return Err(("the file changed on the server".into(), true));
    }
    if !status.is_success() {
        let e = decode::<Value>(resp).await.err().unwrap_or_default();
        return Err((e, status.is_server_error()));
    }
    let append = status == StatusCode::PARTIAL_CONTENT;
    let start = if append { had } else { 0 };
    let total = start + resp.content_length().unwrap_or(0);
    if let Some(t) = resp.headers().get(header::ETAG).and_then(|v| v.to_str().ok()) {
        tokio::fs::write(tag, t).await.map_err(|e| (format!("{}: {e}", tag.display()), false))?;
    }
    let mut f = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(part)
        .await
        .map_err(|e| (format!("{}: {e}", part.display()), false))?;
    if bar.length().is_some_and(|l| l < shown + total) {
        bar.set_length(shown + total);
    }
    bar.set_position(shown + start);
    let mut got = start;
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| (format!("the download broke off: {e}"), true))?;
        f.write_all(&chunk).await.map_err(|e| (format!("{}: {e}", part.display()), false))?;
        got += chunk.len() as u64;
        bar.inc(chunk.len() as u64);
    }
    f.flush().await.map_err(|e| (e.to_string(), false))?;
    Ok(got)
}
