//! How a stored file is answered over HTTP: streamed with `ETag`/`Last-Modified` and their conditional requests,
//! one byte range, as an attachment or, to be shown in a page, typed and sandboxed (a PDF through the viewer page
//! of `artifacts::pdf_view`).

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::artifacts::{pdf_view, preview};
use crate::error::{Error, Result};
use crate::state::AppState;

/// How a stored file is answered.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Serve<'a> {
    /// As a download named so.
    Attachment(&'a str),
    /// To be shown in the page: typed by its name, any active content sandboxed.
    Inline(&'a str),
    /// Bytes, no name (MLflow's artifact proxy).
    Bare,
}

/// The sandbox an inline file is shown in: scripts (a Plotly report's) may run, but in an opaque origin that
/// cannot read Myelin's cookies or DOM, and may reach nothing over the network.
const SANDBOX: &str = "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; img-src data: blob:; font-src data:; media-src data: blob:; connect-src 'none'; \
     form-action 'none'; frame-ancestors 'self'";

pub(crate) fn disposition(kind: &str, name: &str) -> HeaderValue {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' }).collect();
    let encoded = api_types::percent_encode(name);
    HeaderValue::from_str(&format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or(HeaderValue::from_static("attachment"))
}

/// A stored file, streamed: with `ETag`/`Last-Modified` and their conditional requests (`304`), one byte range
/// (`206`, `416`), typed as bytes unless shown inline, never sniffed into a page.
pub(crate) async fn serve_file(
    app: &AppState,
    key: &object_store::path::Path,
    req: &HeaderMap,
    how: Serve<'_>,
) -> Result<Response> {
    if let Serve::Inline(name) = how {
        if preview::kind_of(name) == "pdf" {
            return pdf_page(app, key, name).await;
        }
    }
    let meta = app.artifacts.meta(key).await?;
    let etag = meta.e_tag.as_deref().map(|t| format!("\"{}\"", t.trim_matches('"')));
    let modified = httpdate::fmt_http_date(std::time::SystemTime::from(meta.last_modified));
    let mut h = HeaderMap::new();
    if let Some(t) = etag.as_deref().and_then(|t| HeaderValue::from_str(t).ok()) {
        h.insert(header::ETAG, t);
    }
    h.insert(
        header::LAST_MODIFIED,
        HeaderValue::from_str(&modified).map_err(|_| Error::Internal("date".into()))?,
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    // A 304 carries the same policy as the answer it stands for: a browser merges its headers into the copy.
    match how {
        Serve::Attachment(name) => {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            h.insert(header::CONTENT_DISPOSITION, disposition("attachment", name));
        }
        Serve::Inline(name) => {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(preview::mime_of(name)));
            h.insert(header::CONTENT_DISPOSITION, disposition("inline", name));
            h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(SANDBOX));
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
        }
        Serve::Bare => {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
        }
    }
    if not_modified(req, etag.as_deref(), meta.last_modified) {
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    let (status, range) = match wanted_range(req, etag.as_deref(), &modified, meta.size) {
        Ok(None) => (StatusCode::OK, None),
        Ok(Some(r)) => {
            let v = format!("bytes {}-{}/{}", r.start, r.end - 1, meta.size);
            h.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&v).map_err(|_| Error::Internal("range".into()))?,
            );
            (StatusCode::PARTIAL_CONTENT, Some(r))
        }
        Err(()) => {
            let v = format!("bytes */{}", meta.size);
            h.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&v).map_err(|_| Error::Internal("range".into()))?,
            );
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, h).into_response());
        }
    };
    let len = range.as_ref().map_or(meta.size, |r| r.end - r.start);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    let body =
        if len == 0 { Body::empty() } else { Body::from_stream(app.artifacts.get_range(key, range).await?) };
    Ok((status, h, body).into_response())
}

/// A PDF shown in the page: the viewer page holding it (`artifacts::pdf_view`), under a policy whose nonce is
/// new each time, so the page is never cached (a cached copy revalidated with a newer nonce would not run).
async fn pdf_page(app: &AppState, key: &object_store::path::Path, name: &str) -> Result<Response> {
    let size = app.artifacts.meta(key).await?.size;
    if size > pdf_view::PDF_PREVIEW_MAX {
        return Err(Error::BadRequest(format!(
            "a PDF over {} MiB is not previewed: download it",
            pdf_view::PDF_PREVIEW_MAX >> 20
        )));
    }
    let pdf = app.artifacts.read(key).await?;
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let policy =
        HeaderValue::from_str(&pdf_view::policy(&nonce)).map_err(|_| Error::Internal("policy".into()))?;
    let h = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
        (header::CONTENT_SECURITY_POLICY, policy),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::CONTENT_DISPOSITION, disposition("inline", &format!("{name}.html"))),
    ];
    Ok((h, pdf_view::page(name, &pdf, &nonce)).into_response())
}

/// `If-None-Match` (or, without it, `If-Modified-Since`) says the client's copy is current.
fn not_modified(req: &HeaderMap, etag: Option<&str>, modified: chrono::DateTime<chrono::Utc>) -> bool {
    if let Some(inm) = req.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        let Some(etag) = etag else { return false };
        return inm.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == "*" || t == etag);
    }
    let Some(since) = req.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok()) else { return false };
    match httpdate::parse_http_date(since) {
        Ok(since) => modified.timestamp() <= chrono::DateTime::<chrono::Utc>::from(since).timestamp(),
        Err(_) => false,
    }
}

/// The one range asked for (`None`: the whole file, also when several are asked for or `If-Range` no longer
/// matches), or `Err` when it lies outside the file.
fn wanted_range(
    req: &HeaderMap,
    etag: Option<&str>,
    modified: &str,
    size: u64,
) -> std::result::Result<Option<std::ops::Range<u64>>, ()> {
    let Some(range) = req.get(header::RANGE).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    if let Some(if_range) = req.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        if Some(if_range) != etag && if_range != modified {
            return Ok(None);
        }
    }
    let parsed = match http_range_header::parse_range_header(range) {
        Ok(p) => p,
        Err(_) => return Ok(None),
    };
    match parsed.validate(size) {
        Ok(ranges) if ranges.len() == 1 => Ok(Some(*ranges[0].start()..*ranges[0].end() + 1)),
        Ok(_) => Ok(None),
        Err(_) => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.clone(), HeaderValue::from_str(v).unwrap())).collect()
    }

    #[test]
    fn ranges_are_one_or_the_whole_file() {
        let date = "Thu, 03 Dec 2026 10:00:00 GMT";
        let r = |h: &[(header::HeaderName, &str)]| wanted_range(&headers(h), Some("\"t\""), date, 100);
        assert_eq!(r(&[]), Ok(None));
        assert_eq!(r(&[(header::RANGE, "bytes=0-9")]), Ok(Some(0..10)));
        assert_eq!(r(&[(header::RANGE, "bytes=-10")]), Ok(Some(90..100)));
        assert_eq!(r(&[(header::RANGE, "bytes=90-")]), Ok(Some(90..100)));
        assert_eq!(r(&[(header::RANGE, "bytes=0-1,5-6")]), Ok(None));
        assert_eq!(r(&[(header::RANGE, "bytes=200-300")]), Err(()));
        assert_eq!(r(&[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, "\"other\"")]), Ok(None));
        assert_eq!(r(&[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, "\"t\"")]), Ok(Some(0..10)));
    }

    #[test]
    fn conditional_requests() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z").unwrap().to_utc();
        let nm = |h: &[(header::HeaderName, &str)]| not_modified(&headers(h), Some("\"t\""), at);
        assert!(nm(&[(header::IF_NONE_MATCH, "\"x\", \"t\"")]));
        assert!(!nm(&[(header::IF_NONE_MATCH, "\"x\"")]));
        assert!(nm(&[(header::IF_MODIFIED_SINCE, "Thu, 03 Dec 2026 10:00:00 GMT")]));
        assert!(!nm(&[(header::IF_MODIFIED_SINCE, "Thu, 03 Dec 2026 09:59:59 GMT")]));
        assert!(!nm(&[]));
    }

    #[test]
    fn names_are_quoted_safely() {
        let v = disposition("attachment", "my \"file\"é.txt");
        assert_eq!(
            v.to_str().unwrap(),
            "attachment; filename=\"my__file__.txt\"; filename*=UTF-8''my%20%22file%22%C3%A9.txt"
        );
    }
}
