//! Why a network peer could not be used — the artifact store from the server, the server from the CLI — read from
//! an error's chain of causes, so each side can say it in plain words that name the fix.

/// What went wrong on the way to a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// The peer refused the credentials.
    Credentials,
    /// The store has no such bucket.
    NoBucket,
    /// Its host name does not resolve.
    Dns,
    /// A proxy from the environment is in the way: the variable and its value.
    Proxy {
        var: &'static str,
        url: String,
    },
    /// Nothing listens at the address.
    Refused,
    Timeout,
    /// Its TLS certificate is not trusted.
    Tls,
}

/// The error and its causes, as one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// The proxy the environment sets for outgoing requests, if any.
pub fn proxy_from_env() -> Option<(&'static str, String)> {
    ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .into_iter()
        .find_map(|v| std::env::var(v).ok().filter(|p| !p.is_empty()).map(|p| (v, p)))
}

/// What the error chain `text` says about reaching the peer (through `proxy`, the environment's:
/// [`proxy_from_env`]); `None` when it is not about reaching it.
pub fn classify(text: &str, proxy: Option<(&'static str, String)>) -> Option<Unreachable> {
    let lower = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    Some(
        if has(&[
            "invalidaccesskeyid",
            "signaturedoesnotmatch",
            "accessdenied",
            "expiredtoken",
            "403 forbidden",
        ]) {
            Unreachable::Credentials
        } else if has(&["nosuchbucket", "bucket does not exist"]) {
            Unreachable::NoBucket
        } else if has(&["dns error", "failed to lookup address", "name or service not known", "no such host"])
        {
            Unreachable::Dns
        } else if let (Some((var, url)), true) =
            (proxy, has(&["proxy", "error sending request", "connect", "tunnel"]))
        {
            Unreachable::Proxy { var, url }
        } else if has(&[
            "connection refused",
            "tcp connect error",
            "connection reset",
            "network is unreachable",
        ]) {
            Unreachable::Refused
        } else if has(&["timed out", "timeout", "deadline has elapsed"]) {
            Unreachable::Timeout
        } else if has(&["certificate", "tls handshake", "invalid peer", "unknownissuer"]) {
            Unreachable::Tls
        } else {
            return None;
        },
    )
}

/// The first line of `s`, at most 300 characters.
pub fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    match line.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_told_apart() {
        let c = |t: &str| classify(t, None);
        assert_eq!(
            c("error sending request for url (http://s3.invalid/b): client error (Connect): dns error: failed to lookup address information"),
            Some(Unreachable::Dns)
        );
        assert_eq!(c("tcp connect error: Connection refused (os error 111)"), Some(Unreachable::Refused));
        assert_eq!(
            c("Client error with status 403 Forbidden: <Code>InvalidAccessKeyId</Code>"),
            Some(Unreachable::Credentials)
        );
        assert_eq!(c("<Code>NoSuchBucket</Code>"), Some(Unreachable::NoBucket));
        assert_eq!(c("operation timed out"), Some(Unreachable::Timeout));
        assert_eq!(c("invalid peer certificate: UnknownIssuer"), Some(Unreachable::Tls));
        assert_eq!(c("the object is 3 bytes"), None);
        assert_eq!(
            classify(
                "error sending request: tcp connect error",
                Some(("HTTPS_PROXY", "http://p:3128".into()))
            ),
            Some(Unreachable::Proxy { var: "HTTPS_PROXY", url: "http://p:3128".into() })
        );
        assert_eq!(first_line(&format!("{}\nsecond", "é".repeat(400))).chars().count(), 301);
    }
}
