//! A part as it arrives: read whole (exactly its size, into one aligned buffer), checked against the CRC-32 the
//! client sent, and carried into the file's digest — as it arrives when the parts before it are hashed already,
//! else off the request's path once they are.

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

    /// Bytes the digest has taken.
    pub(super) fn bytes(&self) -> u64 {
        self.len + self.tail.len() as u64
    }

    /// The digest, as hex.
    pub(super) fn finish(mut self) -> String {
        let bits = self.bytes() * 8;
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

/// Parts of at most this many bytes left to hash once they arrived are hashed on the request's task.
const INLINE: usize = 256 * 1024;

/// The digest carried part by part: each part's hashing waits for the previous one's, and hands the state after
/// its part to whoever records that part. A part whose receiver found the digest at its start has been hashed
/// as it arrived (on the request's task, while its bytes were in the cache): only its rest is left. The others
/// are hashed off the request's path once their predecessors are.
pub(super) struct Chain {
    last: Option<Link>,
    /// The state after the parts hashed so far (only parts the session took): a part that arrives once its
    /// predecessors are hashed is hashed as it arrives, from here.
    hashed: Arc<tokio::sync::watch::Sender<Midstate>>,
}

/// What a part's receiver hashed of it as it arrived: the file's digest after the part's first `len` bytes,
/// hashed from `from`.
pub(super) struct Head {
    from: Midstate,
    state: Midstate,
    len: usize,
}

/// Where a part lies in its file, and how far the file's digest has got.
pub(super) struct Ahead {
    pub(super) start: u64,
    pub(super) hashed: tokio::sync::watch::Receiver<Midstate>,
}

impl Chain {
    pub(super) fn from(start: Midstate) -> Self {
        Self { last: None, hashed: Arc::new(tokio::sync::watch::Sender::new(start)) }
    }

    /// How far the digest has got, as it moves.
    pub(super) fn watch(&self) -> tokio::sync::watch::Receiver<Midstate> {
        self.hashed.subscribe()
    }

    /// Adds a part, of which its receiver may have hashed the start (`head`); the state after it, once hashed.
    pub(super) fn add(
        &mut self,
        part: PutPayload,
        head: Option<Head>,
    ) -> tokio::sync::oneshot::Receiver<Midstate> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let before = self.last.take();
        let hashed = self.hashed.clone();
        self.last = Some(tokio::spawn(async move {
            // A head was hashed from the state its predecessor published: that one is done already. (A head
            // from any other state would be a bug; it is not trusted.)
            let after_before = match before {
                Some(h) => h.await.map_err(|e| e.to_string())??,
                None => hashed.borrow().clone(),
            };
            let (mut state, skip) = match head {
                Some(Head { from, state, len }) if from == after_before => (state, len),
                _ => (after_before, 0),
            };
            let rest = past(&part, skip);
            let state = if rest.iter().map(Bytes::len).sum::<usize>() <= INLINE {
                state.update_all(rest.iter().map(|c| c.as_ref()));
                state
            } else {
                tokio::task::spawn_blocking(move || {
                    state.update_all(rest.iter().map(|c| c.as_ref()));
                    state
                })
                .await
                .map_err(|e| e.to_string())?
            };
            hashed.send_replace(state.clone());
            let _ = tx.send(state.clone());
            Ok(state)
        }));
        rx
    }
}

/// The part's bytes past its first `skip`.
fn past(part: &PutPayload, mut skip: usize) -> Vec<Bytes> {
    let mut rest = Vec::new();
    for c in part.iter() {
        let from = skip.min(c.len());
        skip -= from;
        if from < c.len() {
            rest.push(c.slice(from..));
        }
    }
    rest
}

/// Hashed as it arrives, in steps of at least this many bytes (and at most [`STEP_MAX`], so a part catching up
/// with its predecessor's digest holds its task a millisecond at a time).
const STEP_MIN: usize = 256 * 1024;
const STEP_MAX: usize = 2 * 1024 * 1024;

/// Hashes what has arrived of a part, once the digest has got to its start.
fn keep_up(head: &mut Option<Head>, part: &[u8], ahead: &Ahead, last: bool) {
    let h = match head {
        Some(h) => h,
        None => {
            let at = ahead.hashed.borrow();
            if at.bytes() != ahead.start {
                return;
            }
            head.insert(Head { from: at.clone(), state: at.clone(), len: 0 })
        }
    };
    if part.len() - h.len >= STEP_MIN || (last && part.len() > h.len) {
        let end = part.len().min(h.len + STEP_MAX);
        h.state.update_all([&part[h.len..end]]);
        h.len = end;
    }
}

/// The body, which must be `want` bytes whose CRC-32 is `crc` when the client sent one (the client is told which
/// size it sent instead, or that the part arrived damaged). It is gathered into one buffer from `pool` as it
/// arrives (each chunk still in the cache): a local store writes it from there past the page cache. Once the
/// file's digest has got to the part's start (`ahead`), the part is hashed as it arrives too.
pub(super) async fn read_exactly<S, E>(
    mut body: S,
    want: u64,
    crc: Option<u32>,
    pool: &Arc<Pool>,
    ahead: &Ahead,
) -> Result<(PutPayload, Option<Head>)>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let too_many = || Error::invalid("part", format!("this part must have {want} bytes; more were sent"));
    let mut part = pool.take(usize::try_from(want).map_err(|_| too_many())?);
    let mut check = crc32fast::Hasher::new();
    let mut head = None;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Error::BadRequest(format!("part interrupted: {e}")))?;
        if (part.len() + chunk.len()) as u64 > want {
            return Err(too_many());
        }
        if crc.is_some() {
            check.update(&chunk);
        }
        part.extend(&chunk);
        keep_up(&mut head, part.as_ref(), ahead, false);
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
        _ => {
            keep_up(&mut head, part.as_ref(), ahead, true);
            Ok((PutPayload::from_bytes(part.freeze()), head))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{read_exactly, Ahead, Chain, Head, Midstate};
    use crate::artifacts::aligned::Pool;
    use bytes::Bytes;
    use futures_util::StreamExt;
    use sha2::Digest;

    /// Part 1 starts arriving before part 0 is hashed, catches up with the digest once it is, and hashes the rest
    /// as it arrives; a damaged part hashed as it arrived leaves the digest as it was, and so does a head hashed
    /// from the wrong state.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_part_arriving_after_its_predecessor_is_hashed_as_it_arrives() {
        const PART: usize = 1536 * 1024;
        let data: Vec<u8> = (0..3 * PART as u32 - 7).map(|i| (i ^ (i >> 11)) as u8).collect();
        let parts: Vec<Bytes> = data.chunks(PART).map(Bytes::copy_from_slice).collect();
        let pool = Pool::new(0);
        let mut chain = Chain::from(Midstate::default());
        let watch = chain.watch();
        let ahead = |n: usize| Ahead { start: (n * PART) as u64, hashed: watch.clone() };
        let chunks = |part: &Bytes| -> Vec<Result<Bytes, String>> {
            part.chunks(64 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect()
        };

        // Part 1's first half arrives, then part 0 is taken and hashed, then the second half arrives.
        let mut one_first = chunks(&parts[1]);
        let one_rest = one_first.split_off(12);
        let (half_in, half_seen) = tokio::sync::oneshot::channel::<()>();
        let (go_on, wait) = tokio::sync::oneshot::channel::<()>();
        let body = Box::pin(
            futures_util::stream::iter(one_first)
                .chain(futures_util::stream::once(async move {
                    half_in.send(()).unwrap();
                    wait.await.unwrap();
                    Err::<Bytes, String>("marker".into())
                }))
                .filter(|c| std::future::ready(c.is_ok()))
                .chain(futures_util::stream::iter(one_rest)),
        );
        let one_ahead = ahead(1);
        let one = tokio::spawn({
            let pool = pool.clone();
            async move { read_exactly(body, PART as u64, None, &pool, &one_ahead).await }
        });
        half_seen.await.unwrap();
        let zero = futures_util::stream::iter(chunks(&parts[0]));
        let (zero, head) = read_exactly(zero, PART as u64, None, &pool, &ahead(0)).await.unwrap();
        assert!(head.as_ref().is_some_and(|h| h.len > 0), "part 0 is hashed as it arrives");
        chain.add(zero, head).await.unwrap();
        go_on.send(()).unwrap();
        let (one, head) = one.await.unwrap().unwrap();
        let caught_up = head.as_ref().map(|h| h.len).unwrap_or(0);
        assert!(caught_up > 12 * 64 * 1024, "part 1 caught up with the digest: {caught_up} bytes hashed");
        chain.add(one, head);

        // Part 2 arrives damaged: what it hashed as it arrived goes with it.
        let two = futures_util::stream::iter(chunks(&parts[2]));
        let damaged = read_exactly(two, parts[2].len() as u64, Some(1), &pool, &ahead(2)).await;
        assert!(damaged.is_err());
        let two = futures_util::stream::iter(chunks(&parts[2]));
        let (two, _) = read_exactly(two, parts[2].len() as u64, None, &pool, &ahead(2)).await.unwrap();
        // A head hashed from any state but the one before the part is not trusted.
        let stray = Head { from: Midstate::default(), state: Midstate::default(), len: 4096 };
        let after = chain.add(two, Some(stray)).await.unwrap();
        assert_eq!(after.finish(), hex::encode(sha2::Sha256::digest(&data)));
    }

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
