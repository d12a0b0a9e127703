//! Where the store is: a local directory, or an S3-compatible bucket (credentials and endpoint from `AWS_*`).

use std::sync::Arc;

use object_store::path::Path;
use object_store::ObjectStore;

use super::{aligned, quota_cells, resumable, sink, Artifacts, DEFAULT_MAX_UPLOAD, DEFAULT_QUOTA};
use crate::error::{Error, Result};

impl Artifacts {
    /// `file:///abs/dir`, `s3://bucket[/prefix]`, or nothing for `<data dir>/artifacts`.
    pub fn open(url: Option<&str>, data_dir: &std::path::Path) -> Result<Self> {
        let bad = |e: object_store::Error| Error::Internal(format!("artifact store: {e}"));
        match url.filter(|u| !u.is_empty()) {
            None => Self::local(&data_dir.join("artifacts")),
            Some(u) if u.starts_with("file://") => Self::local(std::path::Path::new(&u["file://".len()..])),
            Some(u) if u.starts_with("s3://") => {
                let endpoint =
                    std::env::var("AWS_ENDPOINT_URL").or_else(|_| std::env::var("AWS_ENDPOINT")).ok();
                let mut b = object_store::aws::AmazonS3Builder::from_env();
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e);
                }
                Self::s3(u, b).map_err(bad)
            }
            Some(u) => {
                Err(Error::Internal(format!("--artifacts-url must be file://... or s3://..., not {u}")))
            }
        }
    }

    /// `s3://bucket[/prefix]` with credentials and endpoint from `builder`; path-style requests, plain HTTP
    /// allowed for `http://` endpoints (MinIO, s3s, Ceph and friends).
    pub fn s3(
        url: &str,
        builder: object_store::aws::AmazonS3Builder,
    ) -> std::result::Result<Self, object_store::Error> {
        use object_store::aws::AmazonS3ConfigKey;
        let rest = url.strip_prefix("s3://").unwrap_or(url);
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let http =
            builder.get_config_value(&AmazonS3ConfigKey::Endpoint).is_some_and(|e| e.starts_with("http://"));
        let s3 = Arc::new(
            builder
                .with_bucket_name(bucket)
                .with_allow_http(http)
                .with_virtual_hosted_style_request(false)
                .build()?,
        );
        let prefix = Some(prefix.trim_matches('/')).filter(|p| !p.is_empty());
        let whole: Arc<dyn ObjectStore> = s3.clone();
        let store: Arc<dyn ObjectStore> = match prefix {
            None => whole,
            Some(p) => Arc::new(object_store::prefix::PrefixStore::new(whole, p)),
        };
        Ok(Self {
            store,
            resumable: resumable::Resumable::S3 { s3, prefix: prefix.map(Path::from) },
            buffers: aligned::Pool::new(0),
            location: url.to_string(),
            max_upload: DEFAULT_MAX_UPLOAD,
            quota: quota_cells(DEFAULT_QUOTA),
        })
    }

    fn local(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Internal(format!("{}: {e}", dir.display())))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| Error::Internal(format!("artifact store: {e}")))?;
        let fs = Arc::new(fs.with_automatic_cleanup(true));
        Ok(Self {
            store: fs.clone(),
            resumable: resumable::Resumable::Local { fs, staging: dir.join(".uploads") },
            buffers: aligned::Pool::new(sink::BUFFERS_KEPT),
            location: format!("file://{}", dir.display()),
            max_upload: DEFAULT_MAX_UPLOAD,
            quota: quota_cells(DEFAULT_QUOTA),
        })
    }
}
