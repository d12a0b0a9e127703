//! The site (wasm, JS, CSS, the editor's parts, favicon) inside the `myelin` binary, so `myelin serve` works from
//! any directory. `scripts/build.sh` builds the site into `$MYELIN_SITE_DIR` (set by `build.rs`) before an
//! optimised server build embeds it; a debug build reads the same directory at run time instead, so a rebuilt
//! site needs no server rebuild. `--site-root` serves another directory (development).
//!
//! Asset names carry a hash of their content; `pkg/assets.json` (written by the build) maps each plain name to
//! its hashed one, and pages link the hashed names. A hashed file never changes, so it is served
//! `Cache-Control: immutable` for a year; anything else (the favicon) carries a strong `ETag` and `no-cache`.
//! The build also stores each asset gzipped at the highest level (`<name>.gz`), sent as is to browsers that
//! accept gzip: no compression work per request, and fewer bytes than compressing on the fly.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "$MYELIN_SITE_DIR"]
#[allow_missing = true]
struct Site;

const MANIFEST: &str = "pkg/assets.json";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Plain name -> hashed name, from the site being served.
static NAMES: OnceLock<HashMap<String, String>> = OnceLock::new();
/// The lazy routes' chunks, from the same site (`split_manifest`).
static SPLIT: OnceLock<Option<SplitManifest>> = OnceLock::new();

/// The folder the split bundle is served from, each split point's chunks (file stems), the loader's file name.
type SplitManifest = (String, HashMap<String, Vec<String>>, String);

/// Reads the asset names of the site to serve: the binary's own, or `site_root`'s (`--site-root`). Called once
/// at start-up; without it the binary's own site is assumed.
pub fn init(site_root: &str) {
    let names = NAMES.get_or_init(|| read_names(site_root));
    let _ = SPLIT.set(read_split(site_root, names));
}

/// A file of the site to serve, parsed as JSON: the binary's own (`site_root` empty) or `site_root`'s.
fn read_json<T: serde::de::DeserializeOwned>(site_root: &str, path: &str) -> Option<T> {
    let bytes = if site_root.is_empty() {
        Site::get(path).map(|f| f.data.into_owned())
    } else {
        std::fs::read(PathBuf::from(site_root).join(path)).ok()
    };
    bytes.and_then(|b| serde_json::from_slice(&b).ok())
}

fn read_names(site_root: &str) -> HashMap<String, String> {
    read_json(site_root, MANIFEST).unwrap_or_default()
}

fn read_split(site_root: &str, names: &HashMap<String, String>) -> Option<SplitManifest> {
    const LOADER: &str = "__wasm_split.______________________.js";
    let manifest = names.get("__wasm_split_manifest.json")?;
    let folder = manifest.rsplit_once('/').map_or("", |(folder, _)| folder);
    let chunks = read_json(site_root, &format!("pkg/{manifest}"))?;
    Some((format!("/pkg/{folder}"), chunks, LOADER.to_string()))
}

fn names() -> &'static HashMap<String, String> {
    NAMES.get_or_init(|| read_names(""))
}

/// The URL of the asset built as `plain` (`myelin.css`): its hashed name when the site has one.
pub fn url(plain: &str) -> String {
    format!("/pkg/{}", names().get(plain).map_or(plain, String::as_str))
}

/// The hydration bundle's name without extension (`myelin.<hash>`), for Leptos' `output_name`: Leptos asks
/// for `<name>.js` and `<name>_bg.wasm`.
pub fn output_name() -> String {
    names().get("myelin.js").and_then(|n| n.strip_suffix(".js")).unwrap_or("myelin").to_string()
}

/// The lazy routes' chunks (`scripts/build.sh` splits the app's wasm at them), as Leptos wants them to preload
/// the chunks a page needs; read once, at start-up. `None` when the site was built unsplit.
pub fn split_manifest() -> Option<SplitManifest> {
    SPLIT.get_or_init(|| read_split("", names())).clone()
}

/// Whether the binary carries (or, in a debug build, can read) a built site.
pub fn present() -> bool {
    Site::get(MANIFEST).is_some()
}

/// `GET /pkg/{file}`: a hashed name (`immutable`), or a plain one standing for this build's file (`no-cache`):
/// pages outside the app link their script so (the PDF preview, `backend::artifacts::pdf_view`).
pub async fn pkg(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let hashed = names().values().any(|n| *n == file);
    let file = match names().get(&file) {
        Some(current) if !hashed => current.as_str(),
        _ => file.as_str(),
    };
    serve(&format!("pkg/{file}"), &headers, hashed)
}

/// `GET /favicon.ico`.
pub async fn favicon(headers: HeaderMap) -> Response {
    serve("favicon.ico", &headers, false)
}

/// Whether the client takes gzip (`Accept-Encoding`, with a q-value above 0).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let Some(list) = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()) else { return false };
    list.split(',').any(|item| {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let q = parts.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.trim().parse::<f32>().ok());
        (name.eq_ignore_ascii_case("gzip") || name == "*") && q.is_none_or(|q| q > 0.0)
    })
}

fn serve(path: &str, headers: &HeaderMap, immutable: bool) -> Response {
    // rust-embed only knows the files it holds: `..` or an absolute path finds nothing.
    let Some(plain) = Site::get(path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mime = HeaderValue::from_str(plain.metadata.mimetype())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let gzipped = accepts_gzip(headers).then(|| Site::get(&format!("{path}.gz"))).flatten();
    let encoding = gzipped.is_some().then(|| (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")));
    let file = gzipped.unwrap_or(plain);
    let cache =
        [(header::CACHE_CONTROL, HeaderValue::from_static(if immutable { IMMUTABLE } else { "no-cache" }))];
    let tag = format!("\"{}\"", hex(&file.metadata.sha256_hash()));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let etag = HeaderValue::from_str(&tag).expect("hex is a valid header value");
    let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
    if matches {
        return (StatusCode::NOT_MODIFIED, cache, [(header::ETAG, etag), vary]).into_response();
    }
    let body = match file.data {
        std::borrow::Cow::Borrowed(b) => Body::from(bytes::Bytes::from_static(b)),
        std::borrow::Cow::Owned(v) => Body::from(v),
    };
    let mut resp = (cache, [(header::ETAG, etag), (header::CONTENT_TYPE, mime), vary], body).into_response();
    if let Some((k, v)) = encoding {
        resp.headers_mut().insert(k, v);
    }
    resp
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn gzip_only_when_the_client_takes_it() {
        assert!(accepts_gzip(&accept("gzip, deflate, br, zstd")));
        assert!(accepts_gzip(&accept("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&accept("*")));
        assert!(!accepts_gzip(&accept("gzip;q=0, br")));
        assert!(!accepts_gzip(&accept("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
