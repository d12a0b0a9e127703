//! Parts of uploads written to a local store past the page cache (`O_DIRECT`), from buffers aligned for it and
//! reused.
//!
//! An uploaded part is written once and not read back soon. Copied into the page cache, it cost more CPU than
//! receiving it, and that cost swung threefold from run to run: fresh page-cache pages are slow to come by on a
//! virtual machine. Written directly, the disk takes the bytes from the part's own buffer. The buffers are kept
//! for the next part, so their pages stay mapped.

use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

/// What a write past the page cache needs: its buffer, offset and length in multiples of this (every disk's
/// block size divides it).
pub const ALIGN: usize = 4096;

/// Buffers kept for reuse, at most `keep` of them.
pub struct Pool {
    free: Mutex<Vec<Vec<u8>>>,
    keep: usize,
}

impl Pool {
    pub fn new(keep: usize) -> Arc<Self> {
        Arc::new(Self { free: Mutex::default(), keep })
    }

    /// An empty buffer whose bytes start aligned and that takes `capacity` bytes without moving.
    pub fn take(self: &Arc<Self>, capacity: usize) -> Filling {
        let kept = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut buf = kept.filter(|b| b.capacity() >= capacity + ALIGN).unwrap_or_default();
        buf.clear();
        buf.reserve_exact(capacity + ALIGN);
        let pad = buf.as_ptr().align_offset(ALIGN);
        buf.resize(pad, 0);
        Filling { buf, pad, pool: self.clone() }
    }

    #[cfg(test)]
    fn kept(&self) -> usize {
        self.free.lock().unwrap().len()
    }
}

/// A buffer being filled; frozen into `Bytes` that give it back to its pool when the last of them goes.
pub struct Filling {
    buf: Vec<u8>,
    pad: usize,
    pool: Arc<Pool>,
}

impl Filling {
    pub fn len(&self) -> usize {
        self.buf.len() - self.pad
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `data` (past the capacity asked for, the buffer moves and its bytes may no longer be aligned: they
    /// are then written through the page cache).
    pub fn extend(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    pub fn freeze(self) -> Bytes {
        Bytes::from_owner(self)
    }
}

impl AsRef<[u8]> for Filling {
    fn as_ref(&self) -> &[u8] {
        &self.buf[self.pad..]
    }
}

impl Drop for Filling {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        let mut free = self.pool.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < self.pool.keep {
            free.push(buf);
        }
    }
}

/// Writes `chunks` one after another into `path`'s file from `at`. A single aligned chunk at an aligned offset
/// goes past the page cache, up to its last whole block; the rest (a last part's tail, uneven chunks, or all of
/// it where the filesystem refuses `O_DIRECT`, as tmpfs may) goes through it. Returns the file, to be synced.
pub fn write_at(path: &std::path::Path, chunks: &[Bytes], at: u64) -> std::io::Result<std::fs::File> {
    let direct = match chunks {
        [one] if at.is_multiple_of(ALIGN as u64) && (one.as_ptr() as usize).is_multiple_of(ALIGN) => {
            one.len() - one.len() % ALIGN
        }
        _ => 0,
    };
    let buffered = || std::fs::OpenOptions::new().write(true).open(path);
    if direct > 0 {
        let flags = rustix::fs::OFlags::DIRECT.bits() as i32;
        let wrote = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(flags)
            .open(path)
            .and_then(|f| f.write_all_at(&chunks[0][..direct], at));
        match wrote {
            Ok(()) => {
                let f = buffered()?;
                write_chunks_at(&f, &[chunks[0].slice(direct..)], at + direct as u64)?;
                return Ok(f);
            }
            // Not supported here, or not aligned enough for this filesystem: through the page cache.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {}
            Err(e) => return Err(e),
        }
    }
    let f = buffered()?;
    write_chunks_at(&f, chunks, at)?;
    Ok(f)
}

/// Writes `chunks` one after another from `at`, many to a system call: a part may arrive in thousands of small
/// chunks, and a call each held a part's write to a sixth of the disk's speed (gathering them first costs a copy).
fn write_chunks_at(f: &std::fs::File, chunks: &[Bytes], mut at: u64) -> std::io::Result<()> {
    use std::io::IoSlice;
    let mut left: Vec<&[u8]> = chunks.iter().map(|c| c.as_ref()).filter(|c| !c.is_empty()).collect();
    let mut first = 0;
    while first < left.len() {
        let batch: Vec<IoSlice<'_>> = left[first..].iter().take(1024).map(|c| IoSlice::new(c)).collect();
        let mut wrote = rustix::io::pwritev(f, &batch, at).map_err(std::io::Error::from)?;
        if wrote == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        at += wrote as u64;
        while wrote > 0 {
            let len = left[first].len();
            if wrote >= len {
                (wrote, first) = (wrote - len, first + 1);
            } else {
                left[first] = &left[first][wrote..];
                wrote = 0;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file() -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("myelin-aligned-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, b"").unwrap();
        (dir, path)
    }

    #[test]
    fn chunks_are_written_in_order_from_their_offset() {
        let (dir, path) = temp_file();
        // More chunks than one call takes (1,024), of uneven sizes, some empty.
        let chunks: Vec<Bytes> =
            (0..3000u32).map(|i| Bytes::from(vec![(i % 251) as u8; (i % 7) as usize])).collect();
        let want: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        write_at(&path, &chunks, 10).unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(&got[..10], &[0u8; 10]);
        assert!(got[10..] == want[..], "the file differs from the chunks");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn an_aligned_part_with_a_tail_lands_whole_beside_its_neighbours() {
        let (dir, path) = temp_file();
        let pool = Pool::new(2);
        let part = |seed: u8, len: usize| {
            let mut f = pool.take(len);
            let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
            // In uneven pieces, as a body arrives.
            for piece in data.chunks(1000) {
                f.extend(piece);
            }
            assert_eq!(f.len(), len);
            assert!((f.as_ref().as_ptr() as usize).is_multiple_of(ALIGN));
            (f.freeze(), data)
        };
        // Part 1 (aligned, with a tail: a file's last part) before part 0 (whole blocks), as parts land.
        let (one, one_data) = part(1, 3 * ALIGN + 123);
        let (zero, zero_data) = part(0, 4 * ALIGN);
        write_at(&path, &[one], 4 * ALIGN as u64).unwrap().sync_data().unwrap();
        write_at(&path, &[zero], 0).unwrap().sync_data().unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got.len(), 7 * ALIGN + 123);
        assert!(got[..4 * ALIGN] == zero_data[..] && got[4 * ALIGN..] == one_data[..], "the file differs");
        // Both buffers went back to the pool once their bytes were dropped.
        assert_eq!(pool.kept(), 2);
        let again = pool.take(ALIGN);
        assert!(again.is_empty() && (again.as_ref().as_ptr() as usize).is_multiple_of(ALIGN));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn an_unaligned_offset_goes_through_the_page_cache() {
        let (dir, path) = temp_file();
        let mut f = Pool::new(1).take(2 * ALIGN);
        f.extend(&vec![7u8; 2 * ALIGN]);
        write_at(&path, &[f.freeze()], 5).unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got.len(), 5 + 2 * ALIGN);
        assert!(got[..5] == [0; 5] && got[5..].iter().all(|&b| b == 7));
        std::fs::remove_dir_all(&dir).ok();
    }
}
