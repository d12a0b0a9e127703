//! What a browser may do with this server: the `Host` it answers to (a web page that rebinds its own domain to
//! `127.0.0.1` reaches the port, but with its own name in `Host`, and is refused), the security headers of
//! every answer, and the Content-Security-Policy of pages (scripts only from this origin or carrying the
//! page's nonce; wasm may compile; no plugins, frames or foreign `<base>`).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::Error;

/// The operator's web settings (`myelin serve --allowed-hosts --trusted-proxies --secure-cookies`).
#[derive(Debug, Clone, Default)]
pub struct WebPolicy {
    /// `Host` values this server answers to: `host` (any port) or `host:port`, lowercase. Empty: any host.
    pub allowed_hosts: Vec<String>,
    /// Peers whose `X-Forwarded-For` names the client (reverse proxies). Others' is ignored.
    pub trusted_proxies: Vec<IpAddr>,
    /// Session cookies are `Secure` (HTTPS public URL, or `--secure-cookies`).
    pub secure_cookies: bool,
}

impl WebPolicy {
    /// The hosts a server listening on `listen` and reached at `public_url` answers to, plus `extra`
    /// (`*` in `extra` allows any host).
    pub fn for_server(listen: Option<SocketAddr>, public_url: &str, extra: &[String], secure: bool) -> Self {
        let mut hosts: Vec<String> = Vec::new();
        if extra.iter().any(|h| h.trim() == "*") {
            return WebPolicy { allowed_hosts: vec![], trusted_proxies: vec![], secure_cookies: secure };
        }
        hosts.extend(extra.iter().map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()));
        if let Some(authority) = authority_of(public_url) {
            hosts.push(authority);
        }
        if let Some(addr) = listen {
            let port = addr.port();
            let ip = addr.ip();
            if ip.is_loopback() || ip.is_unspecified() {
                hosts.extend([
                    format!("localhost:{port}"),
                    format!("127.0.0.1:{port}"),
                    format!("[::1]:{port}"),
                ]);
            } else {
                hosts.push(match ip {
                    IpAddr::V4(v4) => format!("{v4}:{port}"),
                    IpAddr::V6(v6) => format!("[{v6}]:{port}"),
                });
            }
        }
        hosts.sort();
        hosts.dedup();
        WebPolicy { allowed_hosts: hosts, trusted_proxies: vec![], secure_cookies: secure }
    }

    /// Whether a request's `Host` is one this server answers to.
    pub fn allows_host(&self, host: &str) -> bool {
        if self.allowed_hosts.is_empty() {
            return true;
        }
        let host = host.trim().to_ascii_lowercase();
        let name = strip_port(&host);
        self.allowed_hosts.iter().any(|a| *a == host || (!a.contains(':') || a.ends_with(']')) && a == name)
    }

    /// The client's address: the peer's, or the last `X-Forwarded-For` hop a trusted proxy added.
    pub fn client_ip(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        // Each proxy appends the address it saw; the last one not a trusted proxy is the client.
        let hops = forwarded_for.unwrap_or_default().split(',').rev().map(str::trim);
        for hop in hops {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.trusted_proxies.contains(&ip) => continue,
                Ok(ip) => return Some(ip),
                Err(_) => break,
            }
        }
        Some(peer)
    }
}

/// `host[:port]` of a URL, lowercase.
fn authority_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map(|(_, r)| r)?;
    let authority = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?;
    (!authority.is_empty()).then(|| authority.to_ascii_lowercase())
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host.rsplit_once(':').map_or(host, |(h, p)| if p.chars().all(|c| c.is_ascii_digit()) { h } else { host })
}

/// The client's address as the policy sees it (behind trusted proxies, the forwarded one).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

/// Refuses requests whose `Host` this server does not answer to (DNS rebinding). Requests without one (HTTP/1.0,
/// in-process callers) are not a browser's and pass. Records the client's address for the log-in limiter.
pub async fn check_host(
    State(policy): State<std::sync::Arc<WebPolicy>>,
    mut req: Request,
    next: Next,
) -> Response {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string);
    if let Some(h) = host.filter(|h| !policy.allows_host(h)) {
        return Error::HostNotAllowed(h.chars().take(100).collect()).into_response();
    }
    let peer = req.extensions().get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let forwarded = req.headers().get("x-forwarded-for").and_then(|h| h.to_str().ok());
    let client = policy.client_ip(peer, forwarded);
    req.extensions_mut().insert(ClientAddr(client));
    next.run(req).await
}

/// The Content-Security-Policy of a page whose inline scripts carry `nonce`.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
         frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )
}

/// For everything that is not a page (JSON, files, errors): nothing may run or be framed.
const DEFAULT_POLICY: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Security headers on every answer; a page sets its own CSP (with its nonce), others get `DEFAULT_POLICY`.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    // An inline artifact may be framed by Myelin's own pages (in its sandbox); nothing else may.
    if !h.contains_key(header::X_FRAME_OPTIONS) {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DEFAULT_POLICY));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_server_answers_to_its_own_names_and_its_public_url_only() {
        let listen = "127.0.0.1:8000".parse().ok();
        let p = WebPolicy::for_server(listen, "https://ml.example.com", &["gpu-box".into()], true);
        for ok in
            ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "ML.example.com", "gpu-box:8000", "gpu-box"]
        {
            assert!(p.allows_host(ok), "{ok}");
        }
        for bad in ["evil.example:8000", "127.0.0.1:9000", "localhost", "ml.example.com.evil.io", "attacker"]
        {
            assert!(!p.allows_host(bad), "{bad}");
        }
        assert!(WebPolicy::for_server(listen, "http://x", &["*".into()], false).allows_host("anything:1"));
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let p = WebPolicy { trusted_proxies: vec![proxy], ..Default::default() };
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(
            p.client_ip(Some(stranger), Some("1.2.3.4")),
            Some(stranger),
            "a client cannot pick its address"
        );
        assert_eq!(
            p.client_ip(Some(proxy), Some("6.6.6.6, 198.51.100.7")),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(p.client_ip(Some(proxy), None), Some(proxy));
        assert_eq!(p.client_ip(Some(proxy), Some("garbage")), Some(proxy));
    }
}
