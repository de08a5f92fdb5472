//! Where photo bytes live: a folder on this machine by default, S3-compatible storage when
//! `ANJU_STORAGE_URL=s3://bucket[/prefix]`, both behind `object_store::ObjectStore`.
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::client::ClientConfigKey;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, PutPayload, RetryConfig};

use crate::config::ConfigError;

/// The photo store of one instance; every instance of a town given the same bucket sees the same
/// photos. Keys are `media::relative_path(sha256)`, so the local folder keeps today's layout.
#[derive(Clone)]
pub struct PhotoStore {
    inner: Arc<dyn ObjectStore>,
    /// For the log: `local:/path` or `s3://bucket/prefix`, never a credential.
    label: String,
}

/// The store did not answer or refused: the caller tells the user to try again later.
#[derive(Debug, thiserror::Error)]
#[error("photo storage {store}: {source}")]
pub struct StorageError {
    store: String,
    #[source]
    source: object_store::Error,
}

impl std::fmt::Debug for PhotoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

impl PhotoStore {
    /// The store `ANJU_STORAGE_URL` names (empty: the uploads folder under the data directory),
    /// S3 settings taken from the usual `AWS_*` variables of this process.
    pub fn from_config(cfg: &crate::Config) -> Result<PhotoStore, ConfigError> {
        if cfg.storage_url.is_empty() {
            PhotoStore::local(&cfg.uploads_dir())
        } else {
            PhotoStore::s3(&cfg.storage_url, std::env::vars())
        }
    }

    /// A folder on this machine, created when missing.
    pub fn local(dir: &Path) -> Result<PhotoStore, ConfigError> {
        let fail = |e: &dyn std::fmt::Display| {
            ConfigError(format!("无法使用上传目录 {}: {e}", dir.display()))
        };
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        let store = LocalFileSystem::new_with_prefix(dir).map_err(|e| fail(&e))?;
        Ok(PhotoStore {
            inner: Arc::new(store),
            label: format!("local:{}", dir.display()),
        })
    }

    /// An S3-compatible bucket; `env` supplies `AWS_*` settings (endpoint, credentials, region,
    /// `AWS_ALLOW_HTTP`), which override the bounded retries and timeouts set here.
    pub fn s3(
        url: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<PhotoStore, ConfigError> {
        let (bucket, prefix) = parse_s3_url(url)?;
        // object_store retries a refused connection for up to three minutes by default; an
        // upload should fail within seconds instead, so the person holding the phone can retry.
        let mut builder = AmazonS3Builder::new()
            .with_retry(RetryConfig {
                max_retries: 2,
                retry_timeout: Duration::from_secs(10),
                ..RetryConfig::default()
            })
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
                "5s",
            )
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), "60s");
        for (key, value) in env {
            if key.starts_with("AWS_")
                && let Ok(k) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>()
            {
                builder = builder.with_config(k, value);
            }
        }
        let s3 = builder
            .with_bucket_name(&bucket)
            .build()
            .map_err(|e| ConfigError(format!("ANJU_STORAGE_URL {url:?}: {e}")))?;
        let inner: Arc<dyn ObjectStore> = match &prefix {
            Some(p) => Arc::new(PrefixStore::new(s3, p.as_str())),
            None => Arc::new(s3),
        };
        Ok(PhotoStore {
            inner,
            label: match prefix {
                Some(p) => format!("s3://{bucket}/{p}"),
                None => format!("s3://{bucket}"),
            },
        })
    }

    /// The underlying store, for tools and tests that list or copy objects.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.inner.clone()
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// Stores `bytes` under `key` unless something is already there; answers whether it wrote.
    /// Keys name their content (a hash), so an object present is the same bytes and two writers
    /// racing write the same.
    pub async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<bool, StorageError> {
        let path = ObjectPath::from(key);
        match self.inner.head(&path).await {
            Ok(_) => return Ok(false),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(self.error(e)),
        }
        // Both backends make the object appear whole: the local one writes a temporary file and
        // renames it, S3 publishes an object only when its upload completes.
        self.inner
            .put(&path, PutPayload::from(bytes))
            .await
            .map(|_| true)
            .map_err(|e| self.error(e))
    }

    /// Copies every photo of a local uploads folder into this store, for an installation that
    /// moves to shared storage; photos already there are skipped, so it can run again.
    /// Answers how many were copied and how many were there already.
    pub async fn copy_from_folder(&self, dir: &Path) -> Result<(usize, usize), StorageError> {
        let folder = LocalFileSystem::new_with_prefix(dir).map_err(|e| self.error(e))?;
        let mut listing = folder.list(None);
        let (mut copied, mut present) = (0, 0);
        while let Some(meta) = listing.try_next().await.map_err(|e| self.error(e))? {
            let key = meta.location.to_string();
            // Only `xx/<sha256>.jpg`: a temporary file left by a crash is not a photo.
            if !is_photo_key(&key) {
                continue;
            }
            let bytes = folder
                .get(&meta.location)
                .await
                .map_err(|e| self.error(e))?
                .bytes()
                .await
                .map_err(|e| self.error(e))?;
            if self.put_if_absent(&key, bytes.to_vec()).await? {
                copied += 1;
            } else {
                present += 1;
            }
        }
        Ok((copied, present))
    }

    /// The bytes under `key`; `None` when there are none.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let path = ObjectPath::from(key);
        let got = match self.inner.get(&path).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error(e)),
        };
        got.bytes()
            .await
            .map(|b| Some(b.to_vec()))
            .map_err(|e| self.error(e))
    }

    fn error(&self, source: object_store::Error) -> StorageError {
        StorageError {
            store: self.label.clone(),
            source,
        }
    }
}

/// Whether `key` is where `media::relative_path` puts a photo.
fn is_photo_key(key: &str) -> bool {
    let Some((dir, file)) = key.split_once('/') else {
        return false;
    };
    let Some(sha) = file.strip_suffix(".jpg") else {
        return false;
    };
    sha.len() == 64
        && sha.chars().all(|c| c.is_ascii_hexdigit())
        && sha.starts_with(dir)
        && dir.len() == 2
}

/// `s3://bucket` or `s3://bucket/some/prefix` → the bucket and the prefix without slashes.
pub fn parse_s3_url(url: &str) -> Result<(String, Option<String>), ConfigError> {
    let bad = || {
        ConfigError(format!(
            "ANJU_STORAGE_URL 须为 s3://存储桶[/前缀] (must be s3://bucket[/prefix]), got {url:?}"
        ))
    };
    let rest = url.strip_prefix("s3://").ok_or_else(bad)?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = !bucket.is_empty()
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c));
    if !bucket_ok {
        return Err(bad());
    }
    let prefix = prefix.trim_matches('/');
    Ok((
        bucket.to_string(),
        (!prefix.is_empty()).then(|| prefix.to_string()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s3_url_names_a_bucket_and_maybe_a_prefix() {
        assert_eq!(
            parse_s3_url("s3://anju-photos").unwrap(),
            ("anju-photos".into(), None)
        );
        assert_eq!(
            parse_s3_url("s3://anju-photos/town/hj/").unwrap(),
            ("anju-photos".into(), Some("town/hj".into()))
        );
    }

    #[test]
    fn anything_but_an_s3_url_is_refused_by_name() {
        for url in [
            "http://x/y",
            "s3://",
            "s3:///prefix",
            "s3://Bad_Bucket",
            "/var/photos",
        ] {
            let err = parse_s3_url(url).unwrap_err().to_string();
            assert!(err.contains("ANJU_STORAGE_URL"), "{url}: {err}");
        }
    }

    #[test]
    fn a_storage_url_that_is_not_s3_stops_the_start_by_name() {
        let cfg = crate::Config {
            storage_url: "file:///srv/photos".into(),
            ..crate::Config::default()
        };
        let err = cfg.validated().unwrap_err().to_string();
        assert!(err.contains("ANJU_STORAGE_URL"), "{err}");
        let cfg = crate::Config {
            storage_url: " s3://anju-photos/hj ".into(),
            ..crate::Config::default()
        };
        assert_eq!(cfg.validated().unwrap().storage_url, "s3://anju-photos/hj");
    }

    #[test]
    fn only_hash_named_jpegs_are_photo_keys() {
        let sha = "ab".repeat(32);
        assert!(is_photo_key(&crate::media::relative_path(&sha)));
        assert!(!is_photo_key(&format!("ab/{sha}.tmp0f3c")));
        assert!(!is_photo_key(&format!("cd/{sha}.jpg")));
        assert!(!is_photo_key("ab/readme.jpg"));
    }

    #[test]
    fn an_s3_store_builds_without_contacting_the_server() {
        let env = [
            ("AWS_ENDPOINT", "http://127.0.0.1:9"),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "k"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_REGION", "us-east-1"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let store = PhotoStore::s3("s3://photos/hj", env).unwrap();
        assert_eq!(store.label(), "s3://photos/hj");
    }
}
