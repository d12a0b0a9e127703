//! A store's failure, in words that name the fix when the store is out of reach or refuses the server.

use crate::error::Error;

pub(crate) fn store_err(e: object_store::Error) -> Error {
    match e {
        object_store::Error::NotFound { .. } => Error::NotFound("artifact"),
        other => match unreachable_because(&other) {
            Some(why) => {
                tracing::warn!(error = %other, "artifact store unavailable");
                Error::StoreUnavailable(why)
            }
            None => Error::Internal(format!("artifact store: {other}")),
        },
    }
}

/// Why the store cannot be used, in words that name the fix, when the error says it is out of reach or refuses
/// the server (rather than a fault of the request).
fn unreachable_because(e: &object_store::Error) -> Option<String> {
    use crate::reach::{chain, classify, first_line, proxy_from_env, Unreachable};
    let text = chain(e);
    let refused = matches!(
        e,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    );
    let why = match classify(&text, proxy_from_env()) {
        _ if refused => Unreachable::Credentials,
        Some(u) => u,
        None => return None,
    };
    let why = match why {
        Unreachable::Credentials => "the artifact store refuses the server's credentials: check AWS_ACCESS_KEY_ID \
            and AWS_SECRET_ACCESS_KEY (or the role) the server runs with, and that they may read and write the bucket"
            .to_string(),
        Unreachable::NoBucket => {
            "the artifact store has no such bucket: create it, or fix the bucket in --artifacts-url".to_string()
        }
        Unreachable::Dns => "the server cannot resolve the artifact store's host name: check AWS_ENDPOINT_URL and \
            --artifacts-url, or the server's DNS"
            .to_string(),
        Unreachable::Proxy { var, url } => format!(
            "the artifact store is not reachable through the proxy {var}={url}: fix the proxy, or add the store's \
             host to NO_PROXY if the server reaches it directly"
        ),
        Unreachable::Refused => "nothing answers at the artifact store's address: check that the store is running \
            and that AWS_ENDPOINT_URL points at it"
            .to_string(),
        Unreachable::Timeout => {
            "the artifact store did not answer in time: check the network between the server and the store".into()
        }
        Unreachable::Tls => "the server does not trust the artifact store's TLS certificate: install its CA on \
            the server's host, or use the host name the certificate names in AWS_ENDPOINT_URL"
            .to_string(),
    };
    Some(format!("{why} (the store said: {})", first_line(&text)))
}
