//! The site (wasm, JS, CSS, the editor bundle, favicon) inside the `myelin` binary, so `myelin serve` works from
//! any directory. `scripts/build.sh` builds the site into `$MYELIN_SITE_DIR` (set by `build.rs`) before an
//! optimised server build embeds it; a debug build reads the same directory at run time instead, so a rebuilt
//! site needs no server rebuild. `--site-root` serves another directory (development).
//!
//! Every answer carries a strong `ETag` (the file's SHA-256) and `Cache-Control: no-cache`: browsers keep the
//! files and revalidate them, and an unchanged file costs a `304` instead of its bytes.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "$MYELIN_SITE_DIR"]
#[allow_missing = true]
struct Site;

/// Whether the binary carries (or, in a debug build, can read) a built site.
pub fn present() -> bool {
    Site::get("pkg/myelin.js").is_some()
}

/// `GET /pkg/{file}`.
pub async fn pkg(Path(file): Path<String>, headers: HeaderMap) -> Response {
    serve(&format!("pkg/{file}"), &headers)
}

/// `GET /favicon.ico`.
pub async fn favicon(headers: HeaderMap) -> Response {
    serve("favicon.ico", &headers)
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    // rust-embed only knows the files it holds: `..` or an absolute path finds nothing.
    let Some(file) = Site::get(path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let tag = format!("\"{}\"", hex(&file.metadata.sha256_hash()));
    let cache = [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))];
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let etag = HeaderValue::from_str(&tag).expect("hex is a valid header value");
    if matches {
        return (StatusCode::NOT_MODIFIED, cache, [(header::ETAG, etag)]).into_response();
    }
    let mime = HeaderValue::from_str(file.metadata.mimetype())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let body = match file.data {
        std::borrow::Cow::Borrowed(b) => Body::from(bytes::Bytes::from_static(b)),
        std::borrow::Cow::Owned(v) => Body::from(v),
    };
    (cache, [(header::ETAG, etag), (header::CONTENT_TYPE, mime)], body).into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
