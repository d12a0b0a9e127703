//! A folder of a run as a zip, streamed: entries are stored (not compressed: model weights and images do not
//! shrink, and the server's CPU stays free), each read from the store as it is written, so a folder of any size
//! costs a pipe's buffer, never its size.

use std::sync::Arc;

use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipEntryBuilder};
use bytes::Bytes;
use futures_util::{AsyncWriteExt, Stream, StreamExt};
use uuid::Uuid;

use super::Artifacts;

/// The zip of every file under `dir` of the run (names relative to `dir`), as a body stream. A failure half-way
/// ends the stream with an error (the client sees a cut download, never a silently short archive).
pub fn stream(
    store: Arc<Artifacts>,
    project: Uuid,
    run: Uuid,
    dir: String,
    files: Vec<(String, u64)>,
) -> impl Stream<Item = std::io::Result<Bytes>> {
    let (tx, rx) = tokio::io::duplex(256 * 1024);
    tokio::spawn(async move {
        if let Err(e) = write(&store, project, run, &dir, files, tx).await {
            tracing::warn!("zip of {project}/{run}/{dir} stopped: {e}");
        }
    });
    tokio_util::io::ReaderStream::new(rx)
}

async fn write(
    store: &Artifacts,
    project: Uuid,
    run: Uuid,
    dir: &str,
    files: Vec<(String, u64)>,
    out: tokio::io::DuplexStream,
) -> Result<(), String> {
    use tokio_util::compat::TokioAsyncWriteCompatExt;
    let mut zip = ZipFileWriter::new(out.compat_write());
    for (name, _) in files {
        let key = Artifacts::run_key(project, run, &format!("{dir}/{name}")).map_err(|e| e.to_string())?;
        let mut body = store.get_range(&key, None).await.map_err(|e| e.to_string())?;
        let entry = ZipEntryBuilder::new(name.clone().into(), Compression::Stored);
        let mut w = zip.write_entry_stream(entry).await.map_err(|e| e.to_string())?;
        while let Some(chunk) = body.next().await {
            w.write_all(&chunk.map_err(|e| e.to_string())?).await.map_err(|e| e.to_string())?;
        }
        w.close().await.map_err(|e| e.to_string())?;
    }
    zip.close().await.map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use futures_util::TryStreamExt;

    use super::*;

    #[tokio::test]
    async fn a_folder_streams_as_a_zip_with_its_files() {
        let dir = std::env::temp_dir().join(format!("myelin-zip-{}", Uuid::new_v4()));
        let store = Arc::new(Artifacts::open(None, &dir).unwrap());
        let (p, r) = (Uuid::new_v4(), Uuid::new_v4());
        for (path, body) in [("artifacts/m/a.txt", "alpha"), ("artifacts/m/sub/b.bin", "beta!")] {
            store.put(&Artifacts::run_key(p, r, path).unwrap(), Bytes::from(body)).await.unwrap();
        }
        let files = store.walk(p, r, "artifacts/m").await.unwrap();
        assert_eq!(files, [("a.txt".to_string(), 5), ("sub/b.bin".to_string(), 5)]);
        let bytes: Vec<u8> = stream(store, p, r, "artifacts/m".into(), files)
            .map_ok(|b| b.to_vec())
            .try_concat()
            .await
            .unwrap();
        let zip = async_zip::base::read::mem::ZipFileReader::new(bytes).await.unwrap();
        let names: Vec<String> =
            zip.file().entries().iter().map(|e| e.filename().as_str().unwrap().to_string()).collect();
        assert_eq!(names, ["a.txt", "sub/b.bin"]);
        let mut out = String::new();
        let mut entry = zip.reader_with_entry(1).await.unwrap();
        futures_util::AsyncReadExt::read_to_string(&mut entry, &mut out).await.unwrap();
        assert_eq!(out, "beta!");
        std::fs::remove_dir_all(dir).ok();
    }
}
