//! The tracking journal: on PostgreSQL, a batch of metric points is acknowledged once it is appended here, a
//! file in the server's data dir, and written to the database just after (`behind`). A batch in the journal
//! survives Myelin's crash or restart (the kernel holds what was written), which is the promise of the default
//! `--metrics-durability process`; the next start writes what the database has not got (`replay`). The file is
//! flushed to the disk every `SYNC_EVERY`, so the machine's crash loses at most that much, as PostgreSQL's
//! `synchronous_commit = off` did before.
//!
//! Which batches the database has is a mark in the database itself (`tracking_journal_marks`), written by the
//! same statement that writes the points: a batch is in the database exactly when its sequence number is at or
//! below its writer's mark, so a replay writes each batch once.
//!
//! A record: `len: u32`, `crc32(payload): u32`, then the payload — `seq: u64`, the run's 16 bytes, the number of
//! points (`u32`), and each point as its key (`u16` length, bytes), value (`f64`), timestamp and step (`i64`);
//! little-endian. A record cut short or damaged (a crash mid-append) ends the journal.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::super::{Batch, Point};
use crate::error::{Error, Result};

/// How often what was appended is flushed to the disk.
pub const SYNC_EVERY: Duration = Duration::from_millis(200);
/// The journal is emptied once everything in it is in the database and it is longer than this.
const KEEP_UP_TO: u64 = 4 << 20;

/// One shard's journal file.
pub struct Journal {
    path: PathBuf,
    file: std::sync::Arc<File>,
    len: u64,
    /// The last sequence number appended (or replayed).
    last: u64,
    synced: Instant,
    unsynced: bool,
}

/// A batch read back from the journal.
pub struct Record {
    pub seq: u64,
    pub batch: Batch,
}

impl Journal {
    /// Opens (or creates) `dir/shard-N.log` and reads the records in it; a damaged tail is cut off.
    pub fn open(dir: &Path, shard: usize) -> Result<(Self, Vec<Record>)> {
        std::fs::create_dir_all(dir).map_err(|e| io("creating", dir, e))?;
        let path = dir.join(format!("shard-{shard}.log"));
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| io("opening", &path, e))?;
        lock(&file, &path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| io("reading", &path, e))?;
        let (records, good) = decode_all(&bytes);
        if good < bytes.len() {
            tracing::warn!(path = %path.display(), cut = bytes.len() - good, "the tracking journal ended in a damaged record; it is cut off");
            file.set_len(good as u64).map_err(|e| io("cutting", &path, e))?;
        }
        let last = records.last().map_or(0, |r| r.seq);
        let j = Self {
            path,
            file: std::sync::Arc::new(file),
            len: good as u64,
            last,
            synced: Instant::now(),
            unsynced: false,
        };
        Ok((j, records))
    }

    /// The last sequence number appended.
    pub fn last(&self) -> u64 {
        self.last
    }

    /// Appends batches numbered from `last() + 1` in one write; returns the last number.
    pub fn append<'a>(&mut self, batches: impl IntoIterator<Item = &'a Batch>) -> Result<u64> {
        let mut buf = Vec::new();
        let mut seq = self.last;
        for b in batches {
            seq += 1;
            encode(&mut buf, seq, b);
        }
        if let Err(e) = (&*self.file).write_all(&buf) {
            // A record written in part would end the journal there: cut it off, so that later ones are read.
            let _ = self.file.set_len(self.len);
            return Err(io("appending to", &self.path, e));
        }
        self.len += buf.len() as u64;
        self.last = seq;
        self.unsynced = true;
        Ok(seq)
    }

    /// Starts numbering after `seq` when the database has seen more than the file holds (after `empty`).
    pub fn continue_after(&mut self, seq: u64) {
        self.last = self.last.max(seq);
    }

    /// Whether the journal has grown past `KEEP_UP_TO` (the writer then waits for the database to have all of
    /// it, and empties it).
    pub fn full(&self) -> bool {
        self.len > KEEP_UP_TO
    }

    /// Empties the journal once `applied` covers all of it and it has grown past `KEEP_UP_TO`.
    pub fn trim(&mut self, applied: u64) -> Result<()> {
        if applied >= self.last && self.full() {
            self.file.set_len(0).map_err(|e| io("emptying", &self.path, e))?;
            self.len = 0;
        }
        Ok(())
    }

    /// Whether something was appended since the last flush.
    pub fn unsynced(&self) -> bool {
        self.unsynced
    }

    /// The file to flush, when it is time: appended since the last flush, `SYNC_EVERY` ago.
    pub fn due_sync(&mut self) -> Option<std::sync::Arc<File>> {
        if !self.unsynced || self.synced.elapsed() < SYNC_EVERY {
            return None;
        }
        self.unsynced = false;
        self.synced = Instant::now();
        Some(self.file.clone())
    }
}

/// The name of this data dir's journals in the database's marks (`dir/id`, made once): two servers on one
/// database keep marks of their own.
pub fn identity(dir: &Path) -> Result<String> {
    std::fs::create_dir_all(dir).map_err(|e| io("creating", dir, e))?;
    let path = dir.join("id");
    match std::fs::read_to_string(&path) {
        Ok(id) if Uuid::parse_str(id.trim()).is_ok() => Ok(id.trim().to_string()),
        Ok(_) => Err(Error::Internal(format!("{} does not hold a journal id; remove it", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = Uuid::new_v4().simple().to_string();
            let tmp = dir.join("id.new");
            std::fs::write(&tmp, &id).map_err(|e| io("writing", &tmp, e))?;
            std::fs::rename(&tmp, &path).map_err(|e| io("naming", &path, e))?;
            Ok(id)
        }
        Err(e) => Err(io("reading", &path, e)),
    }
}

/// One writer per journal: another server on the same data dir gets an error.
fn lock(file: &File, path: &Path) -> Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(Error::Internal(format!("{} is in use by another server on this data dir", path.display())))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(io("locking", path, e)),
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Internal(format!("{what} the tracking journal {}: {e}", path.display()))
}

fn encode(buf: &mut Vec<u8>, seq: u64, b: &Batch) {
    let mut p = Vec::with_capacity(28 + b.metrics.len() * 40);
    p.extend_from_slice(&seq.to_le_bytes());
    p.extend_from_slice(b.run.as_bytes());
    p.extend_from_slice(&(b.metrics.len() as u32).to_le_bytes());
    for m in &b.metrics {
        // Keys are checked to 250 bytes (`Batch::new`).
        p.extend_from_slice(&(m.key.len() as u16).to_le_bytes());
        p.extend_from_slice(m.key.as_bytes());
        p.extend_from_slice(&m.value.to_le_bytes());
        p.extend_from_slice(&m.timestamp.to_le_bytes());
        p.extend_from_slice(&m.step.to_le_bytes());
    }
    buf.extend_from_slice(&(p.len() as u32).to_le_bytes());
    buf.extend_from_slice(&crc32fast::hash(&p).to_le_bytes());
    buf.extend_from_slice(&p);
}

/// The records in `bytes`, and how many bytes they take (the rest is damaged or cut short).
fn decode_all(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some((record, next)) = decode(bytes, at) {
        out.push(record);
        at = next;
    }
    (out, at)
}

fn decode(bytes: &[u8], at: usize) -> Option<(Record, usize)> {
    let mut r = Reader { bytes, at };
    let len = u32::from_le_bytes(r.take()?) as usize;
    let crc = u32::from_le_bytes(r.take()?);
    let payload = bytes.get(r.at..r.at.checked_add(len)?)?;
    if crc32fast::hash(payload) != crc {
        return None;
    }
    let end = r.at + len;
    let seq = u64::from_le_bytes(r.take()?);
    let run = Uuid::from_bytes(r.take()?);
    let n = u32::from_le_bytes(r.take()?) as usize;
    let mut metrics = Vec::with_capacity(n.min(len / 26));
    for _ in 0..n {
        let klen = u16::from_le_bytes(r.take()?) as usize;
        let key = String::from_utf8(r.slice(klen)?.to_vec()).ok()?;
        let value = f64::from_le_bytes(r.take()?);
        let timestamp = i64::from_le_bytes(r.take()?);
        let step = i64::from_le_bytes(r.take()?);
        metrics.push(Point { key, value, timestamp, step });
    }
    (r.at == end).then_some(())?;
    Some((Record { seq, batch: Batch { run, metrics, params: Vec::new(), tags: Vec::new() } }, end))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn slice(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.slice(N)?.try_into().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(run: Uuid, steps: std::ops::Range<i64>) -> Batch {
        let metrics = steps
            .map(|s| Point {
                key: format!("loss/{s}"),
                value: s as f64 / 3.0,
                timestamp: 1_700_000_000_000 + s,
                step: s,
            })
            .collect();
        Batch { run, metrics, params: Vec::new(), tags: Vec::new() }
    }

    #[test]
    fn records_read_back_as_written_and_a_damaged_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (batch(Uuid::new_v4(), 0..3), batch(Uuid::new_v4(), 3..10));
        let (mut j, none) = Journal::open(dir.path(), 0).unwrap();
        assert!(none.is_empty());
        assert_eq!(j.append([&a, &b]).unwrap(), 2);
        assert_eq!(j.append([&a]).unwrap(), 3);
        drop(j);

        // A crash mid-append: the last record is cut short.
        let path = dir.path().join("shard-0.log");
        let full = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(full - 5).unwrap();

        let (mut j, records) = Journal::open(dir.path(), 0).unwrap();
        let got: Vec<(u64, Uuid, Vec<Point>)> =
            records.into_iter().map(|r| (r.seq, r.batch.run, r.batch.metrics)).collect();
        assert_eq!(got, vec![(1, a.run, a.metrics.clone()), (2, b.run, b.metrics.clone())]);
        // Appending goes on after the last good record, numbered after it.
        assert_eq!(j.append([&b]).unwrap(), 3);
        // One writer at a time.
        assert!(Journal::open(dir.path(), 0).is_err());
        drop(j);
        let (_, records) = Journal::open(dir.path(), 0).unwrap();
        assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    }

    #[test]
    fn a_flipped_byte_ends_the_journal_there() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path(), 1).unwrap();
        j.append([&batch(Uuid::new_v4(), 0..2)]).unwrap();
        let first = std::fs::metadata(dir.path().join("shard-1.log")).unwrap().len();
        j.append([&batch(Uuid::new_v4(), 0..2)]).unwrap();
        drop(j);
        let path = dir.path().join("shard-1.log");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[first as usize + 20] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let (_, records) = Journal::open(dir.path(), 1).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), first);
    }
}
