//! A part as it arrives: read whole (exactly its size, into one aligned buffer), checked against the CRC-32 the
//! client sent, and carried into the file's digest off the request's path.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::PutPayload;
use sha2::digest::block_buffer::{BlockBuffer, Eager};
use sha2::digest::consts::U64;

use crate::artifacts::aligned::Pool;
use crate::error::{Error, Result};

/// A sha256 that can be put down and picked up again: the state after whole 64-byte blocks and the bytes since,
/// written to the database with each part the store confirms, so an upload resumes after a restart with its
/// digest. (`sha2`'s hasher keeps its state to itself; this drives the same compression function.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Midstate {
    h: [u32; 8],
    /// Bytes compressed into `h` (a multiple of 64).
    len: u64,
    /// Bytes since, fewer than 64.
    tail: Vec<u8>,
}

type Block = sha2::digest::generic_array::GenericArray<u8, U64>;

const H0: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

impl Default for Midstate {
    fn default() -> Self {
        Self { h: H0, len: 0, tail: Vec::new() }
    }
}

impl Midstate {
    #[cfg(test)]
    pub(super) fn update(&mut self, data: &[u8]) {
        self.update_all([data]);
    }

    /// Carries the digest over `chunks`, in order. Whole blocks are compressed where they lie (copied into a batch
    /// first, the hashing was 14 % slower).
    pub(super) fn update_all<'a>(&mut self, chunks: impl IntoIterator<Item = &'a [u8]>) {
        let mut buffer = BlockBuffer::<U64, Eager>::new(&self.tail);
        let (h, len) = (&mut self.h, &mut self.len);
        for data in chunks {
            buffer.digest_blocks(data, |blocks| {
                sha2::compress256(h, blocks);
                *len += 64 * blocks.len() as u64;
            });
        }
        self.tail = buffer.get_data().to_vec();
    }

    /// The digest, as hex.
    pub(super) fn finish(mut self) -> String {
        let bits = (self.len + self.tail.len() as u64) * 8;
        let mut last = std::mem::take(&mut self.tail);
        last.push(0x80);
        while last.len() % 64 != 56 {
            last.push(0);
        }
        last.extend_from_slice(&bits.to_be_bytes());
        let blocks: Vec<Block> = last.chunks_exact(64).map(|b| *Block::from_slice(b)).collect();
        sha2::compress256(&mut self.h, &blocks);
        hex::encode(self.h.iter().flat_map(|w| w.to_be_bytes()).collect::<Vec<u8>>())
    }

    /// As the database keeps it: `<h as hex>:<len>:<tail as hex>`.
    pub(super) fn to_text(&self) -> String {
        let h: Vec<u8> = self.h.iter().flat_map(|w| w.to_be_bytes()).collect();
        format!("{}:{}:{}", hex::encode(h), self.len, hex::encode(&self.tail))
    }

    pub(super) fn from_text(text: &str) -> Option<Self> {
        let mut it = text.split(':');
        let h = hex::decode(it.next()?).ok()?;
        let len: u64 = it.next()?.parse().ok()?;
        let tail = hex::decode(it.next()?).ok()?;
        if h.len() != 32 || !len.is_multiple_of(64) || tail.len() >= 64 || it.next().is_some() {
            return None;
        }
        let mut words = [0u32; 8];
        for (w, b) in words.iter_mut().zip(h.chunks_exact(4)) {
            *w = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        }
        Some(Self { h: words, len, tail })
    }
}

type Link = tokio::task::JoinHandle<std::result::Result<Midstate, String>>;

/// The digest carried part by part off the request's path: each part's hashing waits for the previous one's, and
/// hands the state after its part to whoever records that part.
pub(super) struct Chain {
    last: Option<Link>,
    /// The state the chain starts from (a resumed upload's).
    start: Midstate,
}

impl Chain {
    pub(super) fn from(start: Midstate) -> Self {
        Self { last: None, start }
    }

    /// Adds a part; the state after it, once hashed.
    pub(super) fn add(&mut self, part: PutPayload) -> tokio::sync::oneshot::Receiver<Midstate> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let before = self.last.take();
        let start = self.start.clone();
        self.last = Some(tokio::spawn(async move {
            let mut state = match before {
                Some(h) => h.await.map_err(|e| e.to_string())??,
                None => start,
            };
            let state = tokio::task::spawn_blocking(move || {
                state.update_all(part.iter().map(|c| c.as_ref()));
                state
            })
            .await
            .map_err(|e| e.to_string())?;
            let _ = tx.send(state.clone());
            Ok(state)
        }));
        rx
    }
}

/// The body, which must be `want` bytes whose CRC-32 is `crc` when the client sent one (the client is told which
/// size it sent instead, or that the part arrived damaged). It is gathered into one buffer from `pool` as it
/// arrives (each chunk still in the cache): a local store writes it from there past the page cache.
pub(super) async fn read_exactly<S, E>(
    mut body: S,
    want: u64,
    crc: Option<u32>,
    pool: &Arc<Pool>,
) -> Result<PutPayload>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let too_many = || Error::invalid("part", format!("this part must have {want} bytes; more were sent"));
    let mut part = pool.take(usize::try_from(want).map_err(|_| too_many())?);
    let mut check = crc32fast::Hasher::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Error::BadRequest(format!("part interrupted: {e}")))?;
        if (part.len() + chunk.len()) as u64 > want {
            return Err(too_many());
        }
        if crc.is_some() {
            check.update(&chunk);
        }
        part.extend(&chunk);
    }
    let got = part.len();
    if got as u64 != want {
        return Err(Error::invalid("part", format!("this part must have {want} bytes; {got} arrived")));
    }
    match (crc, check.finalize()) {
        (Some(sent), arrived) if sent != arrived => Err(Error::invalid(
            "part",
            format!(
                "this part arrived damaged (CRC-32 {arrived:08x}, not the {sent:08x} sent); send it again"
            ),
        )),
        _ => Ok(PutPayload::from_bytes(part.freeze())),
    }
}

#[cfg(test)]
mod tests {
    use super::Midstate;
    use sha2::Digest;

    #[test]
    fn a_digest_put_down_and_picked_up_is_sha256() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for cuts in [vec![], vec![1024, 2048], vec![1, 63, 64, 65, 127, 5000, 9999], vec![10_000]] {
            let mut state = Midstate::default();
            let mut at = 0;
            for cut in cuts.iter().copied().chain([data.len()]) {
                state.update(&data[at..cut]);
                // Each piece through the database's form.
                state = Midstate::from_text(&state.to_text()).unwrap();
                at = cut;
            }
            assert_eq!(state.finish(), hex::encode(sha2::Sha256::digest(&data)), "cut at {cuts:?}");
        }
        assert_eq!(Midstate::default().finish(), hex::encode(sha2::Sha256::digest(b"")));
        for bad in [
            "",
            "00:0:",
            &format!("{}:63:", "00".repeat(32)),
            &format!("{}:0:{}", "00".repeat(32), "00".repeat(64)),
        ] {
            assert_eq!(Midstate::from_text(bad), None, "{bad:?}");
        }
    }
}
