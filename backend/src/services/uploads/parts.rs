//! A part as it arrives: read whole (exactly its size), and carried into the file's digest off the request's
//! path.

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use sha2::Digest;

use crate::error::{Error, Result};

/// A sha256 taken part by part off the request's path: each part's hashing waits for the previous one's.
#[derive(Default)]
pub(super) struct Hashing(Option<tokio::task::JoinHandle<std::result::Result<sha2::Sha256, String>>>);

impl Hashing {
    pub(super) fn add(&mut self, part: Bytes) {
        let before = self.0.take();
        self.0 = Some(tokio::spawn(async move {
            let mut digest = match before {
                Some(h) => h.await.map_err(|e| e.to_string())??,
                None => sha2::Sha256::new(),
            };
            tokio::task::spawn_blocking(move || {
                digest.update(&part);
                digest
            })
            .await
            .map_err(|e| e.to_string())
        }));
    }

    pub(super) async fn finish(self) -> Result<String> {
        let digest = match self.0 {
            Some(h) => h.await.map_err(|e| e.to_string()).and_then(|d| d),
            None => Ok(sha2::Sha256::new()),
        };
        let digest = digest.map_err(|e| Error::Internal(format!("hashing the upload: {e}")))?;
        Ok(hex::encode(digest.finalize()))
    }
}

/// The body, which must be `want` bytes (the client is told which size it sent instead).
pub(super) async fn read_exactly<S, E>(mut body: S, want: u64) -> Result<Bytes>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut buf = BytesMut::with_capacity(want as usize);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Error::BadRequest(format!("part interrupted: {e}")))?;
        if (buf.len() + chunk.len()) as u64 > want {
            return Err(Error::invalid("part", format!("this part must have {want} bytes; more were sent")));
        }
        buf.extend_from_slice(&chunk);
    }
    if buf.len() as u64 != want {
        return Err(Error::invalid(
            "part",
            format!("this part must have {want} bytes; {} arrived", buf.len()),
        ));
    }
    Ok(buf.freeze())
}
