//! A run's log: spooled line by line with timestamps to `<data dir>/spool/<run>.log` while it runs (durable,
//! and what live readers replay), then moved to the artifact store at `<project>/<run>/logs/main.log`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::artifacts::Artifacts;

/// Where a run's log lands in the artifact store, under the run's prefix.
pub const LOG_KEY: &str = "logs/main.log";

pub struct LogSpool {
    dir: PathBuf,
    artifacts: Arc<Artifacts>,
}

impl LogSpool {
    pub fn new(data_dir: &Path, artifacts: Arc<Artifacts>) -> Self {
        Self { dir: data_dir.join("spool"), artifacts }
    }

    pub fn path(&self, run: Uuid) -> PathBuf {
        self.dir.join(format!("{run}.log"))
    }

    /// The end of the log, at most `max` bytes of whole lines: the spool while the run runs, the artifact store
    /// after. Never reads more than `max` bytes, however long the log.
    pub async fn tail(&self, project: Uuid, run: Uuid, max: u64) -> LogTail {
        let (size, bytes) = match self.spool_tail(run, max).await {
            Ok(got) => got,
            Err(_) => {
                let key = Artifacts::run_key(project, run, LOG_KEY).expect("constant key");
                self.artifacts.read_tail(&key, max).await.unwrap_or_default()
            }
        };
        LogTail::of(size, &bytes)
    }

    async fn spool_tail(&self, run: Uuid, max: u64) -> std::io::Result<(u64, bytes::Bytes)> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut f = tokio::fs::File::open(self.path(run)).await?;
        let size = f.metadata().await?.len();
        let from = size.saturating_sub(max);
        f.seek(std::io::SeekFrom::Start(from)).await?;
        let mut buf = Vec::with_capacity((size - from) as usize);
        f.take(max).read_to_end(&mut buf).await?;
        Ok((size, buf.into()))
    }

    /// The whole log as a stream of bytes (the download): never held in memory.
    pub async fn stream(&self, project: Uuid, run: Uuid) -> ByteStream {
        use futures_util::{StreamExt, TryStreamExt};
        if let Ok(f) = tokio::fs::File::open(self.path(run)).await {
            return tokio_util::io::ReaderStream::new(f).boxed();
        }
        let key = Artifacts::run_key(project, run, LOG_KEY).expect("constant key");
        match self.artifacts.get(&key).await {
            Ok((_, s)) => s.map_err(std::io::Error::other).boxed(),
            Err(_) => futures_util::stream::empty().boxed(),
        }
    }

    /// Moves a finished run's spooled log to the artifact store (the spool is removed only once it is stored).
    pub async fn archive(&self, project: Uuid, run: Uuid) {
        let spool = self.path(run);
        let Ok(bytes) = tokio::fs::read(&spool).await else { return };
        let key = Artifacts::run_key(project, run, LOG_KEY).expect("constant key");
        match self.artifacts.put(&key, bytes.into()).await {
            Ok(()) => {
                let _ = tokio::fs::remove_file(&spool).await;
            }
            Err(e) => tracing::error!(%run, error = %e, "cannot store the run's log; it stays in the spool"),
        }
    }
}

pub(super) type Stream = Box<dyn tokio::io::AsyncRead + Unpin + Send>;

/// A log's bytes, streamed.
pub type ByteStream = futures_util::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// The last part of a log: whole lines only, and how many bytes come before them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogTail {
    pub text: String,
    /// Bytes of the log before `text` (0: `text` is the whole log).
    pub skipped: u64,
}

impl LogTail {
    /// From the last bytes of a log of `size` bytes: a cut first line is dropped.
    pub fn of(size: u64, bytes: &[u8]) -> LogTail {
        let mut skipped = size.saturating_sub(bytes.len() as u64);
        let mut start = 0;
        if skipped > 0 {
            start = bytes.iter().position(|b| *b == b'\n').map_or(bytes.len(), |i| i + 1);
            skipped += start as u64;
        }
        LogTail { text: String::from_utf8_lossy(&bytes[start..]).into_owned(), skipped }
    }
}

/// What a page or a live stream shows of a log at first: its last MiB.
pub const TAIL_BYTES: u64 = 1024 * 1024;

/// Copies one output stream, line by line, to the log file (timestamped) and to live subscribers. A line a
/// program redraws with `\r` (a progress bar) keeps only what a terminal would show, and live readers see it
/// move (at most every [`PROGRESS_EVERY`]) before it ends.
pub(super) async fn pump(
    stream: Option<Stream>,
    name: &'static str,
    path: PathBuf,
    tx: broadcast::Sender<String>,
) {
    let Some(stream) = stream else { return };
    let Some(mut sink) = Sink::open(&path, tx).await else { return };
    let mut reader = BufReader::new(stream);
    let mut line = Line::default();
    let mut shown = std::time::Instant::now();
    loop {
        let buf = match reader.fill_buf().await {
            Ok(b) if !b.is_empty() => b,
            _ => break,
        };
        let end = buf.iter().position(|&b| b == b'\n');
        let redrawn = line.push(&buf[..end.unwrap_or(buf.len())]);
        let consumed = end.map_or(buf.len(), |e| e + 1);
        reader.consume(consumed);
        if end.is_some() {
            if !emit(&mut sink, name, &mut line).await {
                return;
            }
        } else if redrawn && shown.elapsed() >= PROGRESS_EVERY {
            shown = std::time::Instant::now();
            sink.progress(name, &line.text());
        }
    }
    if !line.bytes.is_empty() || line.cut {
        emit(&mut sink, name, &mut line).await;
    }
}

/// The longest log line kept; the rest of a longer one is dropped with a note (a job printing a huge line or
/// binary data never breaks its log or the server's memory).
pub const MAX_LINE: usize = 16 * 1024;

/// How often live readers see a progress bar's line move.
pub const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// The line being read: what a terminal would show of it so far.
#[derive(Debug, Default)]
struct Line {
    bytes: Vec<u8>,
    cut: bool,
}

impl Line {
    /// Appends a part of the line (no `\n`); a `\r` followed by more text starts the line over, as on a
    /// terminal. True when it did.
    fn push(&mut self, mut part: &[u8]) -> bool {
        let mut redrawn = false;
        // A trailing `\r` may be half of `\r\n`: only what follows it tells.
        if !part.is_empty() && self.bytes.last() == Some(&b'\r') {
            (self.bytes, self.cut, redrawn) = (Vec::new(), false, true);
        }
        if let Some(i) = part[..part.len().saturating_sub(1)].iter().rposition(|&b| b == b'\r') {
            (self.bytes, self.cut, redrawn) = (Vec::new(), false, true);
            part = &part[i + 1..];
        }
        let room = MAX_LINE.saturating_sub(self.bytes.len());
        self.bytes.extend_from_slice(&part[..part.len().min(room)]);
        self.cut |= part.len() > room;
        redrawn
    }

    fn text(&self) -> String {
        let shown = self.bytes.strip_suffix(b"\r").unwrap_or(&self.bytes);
        String::from_utf8_lossy(shown).into_owned()
    }
}

async fn emit(sink: &mut Sink, name: &str, line: &mut Line) -> bool {
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut text = line.text();
    if line.cut {
        text.push_str(&format!(" [line cut at {MAX_LINE} bytes]"));
    }
    *line = Line::default();
    sink.line(&now, name, &text).await
}

/// What a terminal shows of a line a program redrew with `\r`: the text after the last one.
pub fn as_shown(text: &str) -> &str {
    let text = text.strip_suffix('\r').unwrap_or(text);
    text.rsplit_once('\r').map_or(text, |(_, shown)| shown)
}

/// Where a run's lines go: appended to its spool file and sent to live readers.
pub(super) struct Sink {
    file: tokio::fs::File,
    tx: broadcast::Sender<String>,
}

impl Sink {
    pub(super) async fn open(path: &Path, tx: broadcast::Sender<String>) -> Option<Sink> {
        if let Some(dir) = path.parent() {
            let _ = tokio::fs::create_dir_all(dir).await;
        }
        let file = tokio::fs::OpenOptions::new().create(true).append(true).open(path).await.ok()?;
        Some(Sink { file, tx })
    }

    /// Writes `<time> <stream> <text>` (as a terminal shows it); false when the spool cannot be written.
    pub(super) async fn line(&mut self, time: &str, stream: &str, text: &str) -> bool {
        let entry = format!("{time} {stream} {}\n", as_shown(text));
        if self.file.write_all(entry.as_bytes()).await.is_err() {
            return false;
        }
        let _ = self.file.flush().await;
        let _ = self.tx.send(entry);
        true
    }

    /// A line still being drawn (a progress bar), for live readers only: `<time> <stream> <text>\r`.
    fn progress(&self, stream: &str, text: &str) {
        let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let _ = self.tx.send(format!("{now} {stream} {text}\r"));
    }
}

pub(super) async fn append(path: &std::path::Path, line: &str) {
    if let Some(dir) = path.parent() {
        let _ = tokio::fs::create_dir_all(dir).await;
    }
    if let Ok(mut f) = tokio::fs::OpenOptions::new().create(true).append(true).open(path).await {
        let _ = f.write_all(format!("{line}\n").as_bytes()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::{as_shown, pump, Line, LogTail, PROGRESS_EVERY};
    use tokio::io::AsyncWriteExt;

    #[test]
    fn a_redrawn_line_keeps_what_a_terminal_shows() {
        let mut l = Line::default();
        assert!(!l.push(b"epoch 1 "));
        assert!(l.push(b"10%\r20%\r30%"));
        assert_eq!(l.text(), "30%");
        // A trailing `\r` is decided by what follows it: more text redraws, the line's end keeps it.
        assert!(!l.push(b" done\r"));
        assert_eq!(l.text(), "30% done");
        assert!(l.push(b"40%"));
        assert_eq!(l.text(), "40%");
        let mut crlf = Line::default();
        crlf.push(b"windows\r");
        assert_eq!(crlf.text(), "windows", "\\r\\n ends a line");
        // Redraws never count against the line's size limit.
        let mut bar = Line::default();
        for i in 0..10_000 {
            bar.push(format!("\r{i:>5} |{}|", "#".repeat(i % 50)).as_bytes());
        }
        assert!(!bar.cut);
        assert!(bar.text().starts_with(" 9999 |"), "{}", bar.text());
        assert_eq!(as_shown("a\rb\rfinal"), "final");
        assert_eq!(as_shown("plain\r"), "plain");
    }

    #[tokio::test]
    async fn a_progress_bar_moves_live_and_is_stored_as_it_ended() {
        let path = std::env::temp_dir().join(format!("myelin-log-{}.log", uuid::Uuid::new_v4()));
        let (tx, mut rx) = tokio::sync::broadcast::channel(64);
        let (mut w, r) = tokio::io::duplex(1024);
        let pumping = tokio::spawn(pump(Some(Box::new(r)), "stdout", path.clone(), tx));
        w.write_all(b"loading\n\r 10%").await.unwrap();
        for step in ["\r 50%", "\r 90%"] {
            tokio::time::sleep(PROGRESS_EVERY + std::time::Duration::from_millis(50)).await;
            w.write_all(step.as_bytes()).await.unwrap();
        }
        tokio::time::sleep(PROGRESS_EVERY).await;
        w.write_all(b"\r100%\nafter\r\n").await.unwrap();
        drop(w);
        pumping.await.unwrap();
        let mut live = Vec::new();
        while let Ok(m) = rx.try_recv() {
            live.push(m);
        }
        let progress: Vec<&String> = live.iter().filter(|m| m.ends_with('\r')).collect();
        // One frame at a time, as the bar was drawn (a reader late by a beat may see fewer frames).
        assert!(!progress.is_empty(), "the bar is seen before its line ends: {live:?}");
        for m in &progress {
            assert!([" stdout  50%\r", " stdout  90%\r"].iter().any(|f| m.ends_with(f)), "{live:?}");
        }
        let lines: Vec<&String> = live.iter().filter(|m| m.ends_with('\n')).collect();
        assert_eq!(lines.len(), 3, "{live:?}");
        assert!(lines[1].ends_with(" stdout 100%\n"), "{live:?}");
        let stored = std::fs::read_to_string(&path).unwrap();
        let texts: Vec<&str> = stored.lines().map(|l| l.splitn(3, ' ').nth(2).unwrap()).collect();
        assert_eq!(texts, ["loading", "100%", "after"], "only whole lines are stored: {stored:?}");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_tail_starts_at_a_whole_line_and_counts_what_it_skipped() {
        let whole = LogTail::of(6, b"a\nbb\nc");
        assert_eq!(whole, LogTail { text: "a\nbb\nc".into(), skipped: 0 });
        // The last 5 bytes of "a\nbb\nc\n" (8 bytes) start inside "bb": that line is dropped.
        let cut = LogTail::of(8, b"b\nc\n");
        assert_eq!(cut, LogTail { text: "c\n".into(), skipped: 6 });
        let no_newline = LogTail::of(100, b"xyz");
        assert_eq!(no_newline, LogTail { text: String::new(), skipped: 100 });
    }
}
