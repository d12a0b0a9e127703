//! Downloads: a file or a folder's files, each resumed from `NAME.part`.

use std::path::Path;

use futures_util::StreamExt;
use indicatif::ProgressBar;
use reqwest::{header, Method, StatusCode};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use super::{bar, retried, Target, ATTEMPTS};
use crate::artifacts::normalise;
use crate::cli::client::decode;

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
