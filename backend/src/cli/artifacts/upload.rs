//! Uploads: files up to [`ONE_REQUEST_MAX`] in one request, checked against the sha256 the server computed;
//! larger ones in resumable parts, each checked by the server against its CRC-32.

use std::path::{Path, PathBuf};

use api_types::{ArtifactInfo, NewUpload, UploadSession};
use bytes::Bytes;
use futures_util::stream::{FuturesOrdered, StreamExt};
use indicatif::ProgressBar;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::Digest;

use super::{bar, fingerprint, retried, Target, ATTEMPTS, ONE_REQUEST_MAX};
use crate::artifacts::normalise;
use crate::cli::client::decode;

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

/// Uploads one file as the run's `dest`: in one request checked against the server's sha256, or in parts each checked
/// against its CRC-32 and the file's time.
pub async fn upload_file(
    t: &Target<'_>,
    local: &Path,
    dest: &str,
    bar: &ProgressBar,
) -> Result<Uploaded, String> {
    let meta = std::fs::metadata(local).map_err(|e| format!("{}: {e}", local.display()))?;
    if meta.len() > ONE_REQUEST_MAX {
        return in_parts(t, local, &meta, dest, bar).await;
    }
    let bytes = Bytes::from(tokio::fs::read(local).await.map_err(|e| format!("{}: {e}", local.display()))?);
    let url = format!("{}/artifacts/{}", t.base, api_types::encode_path(dest));
    let info: ArtifactInfo =
        retried(|| t.json(t.client.request(Method::PUT, &url).body(bytes.clone()))).await?;
    bar.inc(bytes.len() as u64);
    let digest = hex::encode(sha2::Sha256::digest(&bytes));
    if info.sha256 != digest {
        return Err(format!(
            "the server stored a different file (sha256 {} instead of {digest}): did {} change while it was \
             uploading? Upload it again",
            info.sha256,
            local.display()
        ));
    }
    Ok(Uploaded { info, resumed_at: 0 })
}

/// A large file in parts: resumes the caller's open upload of the same file, sends what the server lacks, and
/// completes it. Returns what the server stored and where it resumed. Each part
/// carries its CRC-32, which the server checks; a file that changed on the way (its size or time moved) is
/// reported, as the server's digest is then of neither version.
async fn in_parts(
    t: &Target<'_>,
    local: &Path,
    meta: &std::fs::Metadata,
    dest: &str,
    bar: &ProgressBar,
) -> Result<Uploaded, String> {
    let new = NewUpload { path: dest.to_string(), size: meta.len(), fingerprint: fingerprint(meta) };
    let start_url = format!("{}/uploads", t.base);
    let start = || t.json::<UploadSession>(t.client.request(Method::POST, &start_url).json(&new));
    let mut s = retried(start).await?;
    let resumed_at = s.received;
    let shown = bar.position();
    bar.inc(s.received);
    let mut restarted = false;
    // Parts go out PARTS_AT_ONCE at a time (the server takes them in order), and the next is read from the disk
    // meanwhile. Each answer is where the server stands after that part; any other answer (a part lost and
    // sent again, a server restarted) sends again from where the server stands.
    let mut sending = FuturesOrdered::new();
    let mut ahead: Option<((u64, u64), ReadPart)> = None;
    let (mut at, mut n) = (s.received, s.next_part);
    while s.received < s.size {
        while sending.len() < PARTS_AT_ONCE && at < s.size {
            let span = (at, s.part_size.min(s.size - at));
            let read = match ahead.take() {
                Some((a, read)) if a == span => read,
                _ => read_part(local, span),
            };
            let next = span.0 + span.1;
            if next < s.size {
                let next_span = (next, s.part_size.min(s.size - next));
                ahead = Some((next_span, read_part(local, next_span)));
            }
            // Sent once read (the parts before it go on meanwhile).
            let id = s.id;
            sending.push_back(async move {
                let part = read.await.map_err(|e| format!("reading {}: {e}", local.display()))??;
                send_part(t, id, (n, span), part).await
            });
            (at, n) = (next, n + 1);
        }
        let Some(sent) = sending.next().await else { break };
        let expected = match sent? {
            (end, Some(now)) => {
                s = now;
                end
            }
            // The server lost the upload (the store failed a part, or it expired): once, start again.
            (_, None) if !restarted => {
                restarted = true;
                bar.suspend(|| eprintln!("{dest}: the server lost the upload; starting it again"));
                s = retried(start).await?;
                u64::MAX
            }
            (_, None) => return Err("the server lost the upload twice; try again later".into()),
        };
        if s.received != expected {
            sending.clear();
            (at, n) = (s.received, s.next_part);
        }
        bar.set_position(shown + s.received);
    }
    let url = format!("{}/uploads/{}/complete", t.base, s.id);
    let info: ArtifactInfo = retried(|| t.json(t.client.request(Method::POST, &url))).await?;
    let now = std::fs::metadata(local).map_err(|e| format!("{}: {e}", local.display()))?;
    if fingerprint(&now) != new.fingerprint {
        return Err(format!(
            "{} changed while it was uploading (its size or modification time moved), so the stored copy \
             (sha256 {}) may match neither version; upload it again",
            local.display(),
            info.sha256
        ));
    }
    Ok(Uploaded { info, resumed_at })
}

/// Parts on their way at once (the server lets a part wait up to `services::uploads::AHEAD` past the next).
const PARTS_AT_ONCE: usize = 2;
const _: () = assert!(PARTS_AT_ONCE as u32 <= crate::services::uploads::AHEAD + 1);

/// A part's bytes and their CRC-32.
type ReadPart = tokio::task::JoinHandle<Result<(Bytes, u32), String>>;

/// Bytes `at..at + len` of the file and their CRC-32, read on a blocking thread.
fn read_part(path: &Path, (at, len): (u64, u64)) -> ReadPart {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        let fail = |e: std::io::Error| format!("{}: {e}", path.display());
        let mut f = std::fs::File::open(&path).map_err(fail)?;
        f.seek(std::io::SeekFrom::Start(at)).map_err(fail)?;
        // Read into capacity, not zeroed memory: zeroing a part cost as much as reading it. Each MiB's CRC is
        // taken as soon as it is read, while it is in the cache.
        let mut buf = Vec::with_capacity(len as usize);
        let mut crc = crc32fast::Hasher::new();
        while (buf.len() as u64) < len {
            let was = buf.len();
            let step = (len - was as u64).min(1 << 20);
            if (&mut f).take(step).read_to_end(&mut buf).map_err(fail)? == 0 {
                return Err("the file became shorter while it was uploading".to_string());
            }
            crc.update(&buf[was..]);
        }
        Ok((Bytes::from(buf), crc.finalize()))
    })
}

/// Sends part `n` (bytes `span`) of upload `id`: the end of its span, and the session as the server then has it
/// (`None` when the server no longer has the upload). After a failure the server is asked where it stands (the
/// part may have landed).
async fn send_part(
    t: &Target<'_>,
    id: uuid::Uuid,
    (n, (at, len)): (u32, (u64, u64)),
    (part, crc): (Bytes, u32),
) -> Result<(u64, Option<UploadSession>), String> {
    let session = format!("{}/uploads/{id}", t.base);
    let url = format!("{session}/parts/{n}");
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let put = t.client.request(Method::PUT, &url).header(api_types::CRC32_HEADER, format!("{crc:08x}"));
        match t.client.send(put.body(part.clone())).await {
            Ok(r) if r.status().is_success() => return Ok((at + len, Some(decode(r).await?))),
            Ok(r) if r.status() == StatusCode::NOT_FOUND => return Ok((at + len, None)),
            // A part refused as damaged or cut short (400) is sent again, as after a lost connection.
            Ok(r)
                if matches!(r.status(), StatusCode::CONFLICT | StatusCode::BAD_REQUEST)
                    || r.status().is_server_error() =>
            {
                last = decode::<Value>(r).await.err().unwrap_or_default();
            }
            Ok(r) => return Err(decode::<Value>(r).await.err().unwrap_or_default()),
            Err(e) => last = e,
        }
        tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
        match t.client.send(t.client.request(Method::GET, &session)).await {
            Ok(r) if r.status() == StatusCode::NOT_FOUND => return Ok((at + len, None)),
            Ok(r) if r.status().is_success() => {
                let now: UploadSession = decode(r).await?;
                if now.received != at {
                    return Ok((at + len, Some(now)));
                }
            }
            _ => {}
        }
    }
    Err(last)
}
