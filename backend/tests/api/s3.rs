//! The artifact store on a real S3-compatible server.

use crate::helpers::TestApp;
use crate::tracking::python;

/// The artifact store on a real S3-compatible server (s3s-fs, built by `scripts/setup`): the MLflow client's
/// artifacts and a finished run's log land in the bucket.
#[tokio::test]
async fn artifacts_live_in_an_s3_compatible_store() {
    let Some(s3) = crate::helpers::S3Server::start().await else { return };
    let store = s3.artifacts("myelin/prefix");
    let (project, run) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let key = backend::artifacts::Artifacts::run_key(project, run, "artifacts/a/b.txt").unwrap();
    store.put(&key, bytes::Bytes::from_static(b"hello")).await.unwrap();
    assert_eq!(&store.read(&key).await.unwrap()[..], b"hello");
    let listed = store.list(project, run, "artifacts").await.unwrap();
    assert_eq!(
        listed,
        vec![backend::artifacts::Entry { path: "artifacts/a".into(), is_dir: true, size: None }]
    );
    // Streamed uploads are bounded: over the limit nothing is kept.
    let mut small = s3.artifacts("myelin/limited");
    small.max_upload = 1024;
    let big = futures_util::stream::iter(
        (0..4).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![7u8; 512]))),
    );
    let k2 = backend::artifacts::Artifacts::run_key(project, run, "artifacts/big.bin").unwrap();
    assert!(matches!(small.put_stream(&k2, big).await, Err(backend::Error::PayloadTooLarge)));
    assert!(matches!(small.read(&k2).await, Err(backend::Error::NotFound(_))));
    store.delete_run(project, run).await.unwrap();
    assert!(store.list(project, run, "").await.unwrap().is_empty());
    // End to end: a served app whose store is the bucket, and the real client.
    let Some(app) = TestApp::sqlite_with_artifacts(s3.artifacts("myelin/e2e")).await else { return };
    let ann = app.user("ann").await;
    python("roundtrip.py", &app.url, &ann.token, "ann").await;
    assert!(s3.files_under("myelin/e2e").iter().any(|f| f.ends_with("artifacts/reports/v1/notes.txt")));
}
