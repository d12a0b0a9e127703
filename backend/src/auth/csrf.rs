//! CSRF protection for cookie-authenticated mutations (OWASP "verify origin with standard headers"): an
//! unsafe request that carries no bearer token must come from this site, as its `Origin` (or, lacking it,
//! `Sec-Fetch-Site`) says. Requests with neither header and a session cookie are refused. Bearer-token
//! clients (CLI, scripts, MLflow) are not affected: browsers never attach those by themselves.

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::Error;

pub async fn protect(req: Request, next: Next) -> Response {
    if is_safe(req.method()) || req.headers().contains_key(header::AUTHORIZATION) {
        return next.run(req).await;
    }
    match verdict(req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn verdict(h: &HeaderMap) -> Result<(), Error> {
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    if let Some(origin) = get("origin") {
        let host = get("host").unwrap_or_default();
        let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
        return if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
            Ok(())
        } else {
            Err(Error::Csrf)
        };
    }
    if let Some(site) = get("sec-fetch-site") {
        return if matches!(site, "same-origin" | "none") { Ok(()) } else { Err(Error::Csrf) };
    }
    let has_cookie = get("cookie").is_some_and(|c| c.contains(super::session::COOKIE));
    if has_cookie {
        Err(Error::Csrf)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn same_origin_passes_and_foreign_origin_fails() {
        assert!(verdict(&headers(&[("host", "127.0.0.1:8000"), ("origin", "http://127.0.0.1:8000")])).is_ok());
        assert!(verdict(&headers(&[("host", "127.0.0.1:8000"), ("origin", "http://evil.example")])).is_err());
        assert!(verdict(&headers(&[("sec-fetch-site", "cross-site")])).is_err());
        assert!(verdict(&headers(&[("sec-fetch-site", "same-origin")])).is_ok());
    }

    #[test]
    fn a_session_cookie_without_origin_headers_fails_but_a_cookieless_client_passes() {
        assert!(verdict(&headers(&[("cookie", "myelin_session=abc")])).is_err());
        assert!(verdict(&headers(&[])).is_ok());
    }
}
