//! Where media files live: one [`Storage`] over an `object_store` backend, the local filesystem under
//! `SOKU_DATA_DIR/objects` or a bucket of S3 or of an S3-compatible store (`SOKU_STORAGE_BACKEND`). Every use
//! goes through the `ObjectStore` trait, so the bucket is another backend, not another code path. Temporary
//! files stay local either way (`SOKU_DATA_DIR/tmp`).
//!
//! Keys: `media/<media id>/original` (the bytes received), `media/<media id>/served.<ext>` (a copy without
//! metadata, for images that carried EXIF), `media/<media id>/thumbnail.jpg`. Writes are atomic (a file is
//! written under a temporary name and renamed; a bucket shows an object only once its upload completes), so a
//! reader never sees half a file, and a crash mid-upload leaves at most a staging file that the cleanup removes
//! (locally) or an unfinished multipart upload (in a bucket; a lifecycle rule aborts those, see docs/media.md).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload,
    WriteMultipart,
};
use secrecy::ExposeSecret;
use tokio::io::AsyncWriteExt;

use crate::config::{S3Settings, Settings, StorageSettings};

/// Bytes buffered before a part is written (the backend's part size for buckets).
const PART: usize = 8 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Where the worker keeps its temporary copies (`SOKU_DATA_DIR/tmp`).
    tmp_dir: PathBuf,
    /// The local backend's root, whose emptied folders are removed too.
    local_root: Option<PathBuf>,
}

/// The storage key of a media object's file `name` (`original`, `thumbnail.jpg`, …).
pub fn media_key(media_id: &str, name: &str) -> String {
    format!("media/{media_id}/{name}")
}

/// The prefix of every file of a media object.
pub fn media_prefix(media_id: &str) -> String {
    format!("media/{media_id}")
}

/// Creates `dir` and its parents when missing.
fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {} (SOKU_DATA_DIR): {e}", dir.display()))
}

impl Storage {
    /// The backend `settings` name (`SOKU_STORAGE_BACKEND`), with its temporary files under `SOKU_DATA_DIR/tmp`.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Storage> {
        match &settings.media.storage {
            StorageSettings::Local => Storage::local(&settings.data_dir),
            StorageSettings::S3(s3) => Storage::s3(s3, &settings.data_dir),
        }
    }

    /// The local filesystem under `data_dir` (created when missing).
    pub fn local(data_dir: &Path) -> anyhow::Result<Storage> {
        let objects = data_dir.join("objects");
        let tmp_dir = data_dir.join("tmp");
        for dir in [&objects, &tmp_dir] {
            create_dir(dir)?;
        }
        let fs = LocalFileSystem::new_with_prefix(&objects)?;
        Ok(Storage {
            store: Arc::new(fs),
            tmp_dir,
            local_root: Some(objects),
        })
    }

    /// The bucket `s3` names, with temporary files under `data_dir/tmp` (created when missing). Nothing is
    /// requested yet: a wrong bucket or key shows in the first request's error.
    ///
    /// Requests are path-style (`<endpoint>/<bucket>/<key>`), which AWS and every S3-compatible store accept.
    /// There is no time limit on a whole request, since a download streams a file of up to
    /// `SOKU_MEDIA_MAX_BYTES` to a client of any speed; connecting is limited to 10 s, and a response that
    /// stops sending for 60 s is given up.
    pub fn s3(s3: &S3Settings, data_dir: &Path) -> anyhow::Result<Storage> {
        let tmp_dir = data_dir.join("tmp");
        create_dir(&tmp_dir)?;
        // object_store's HTTP client has rustls without a built-in crypto provider (see shared/Cargo.toml):
        // ring's is the process default, unless one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let builder = match &s3.credentials {
            Some(key) => AmazonS3Builder::new()
                .with_access_key_id(&key.access_key_id)
                .with_secret_access_key(key.secret_access_key.expose_secret()),
            // The AWS environment: AWS_ACCESS_KEY_ID, a web identity, a container or instance role.
            None => AmazonS3Builder::from_env(),
        };
        let options = ClientOptions::new()
            .with_timeout_disabled()
            .with_connect_timeout(std::time::Duration::from_secs(10))
            .with_read_timeout(std::time::Duration::from_secs(60));
        let mut builder = builder
            .with_client_options(options)
            .with_bucket_name(&s3.bucket)
            .with_region(&s3.region)
            .with_allow_http(s3.allow_http)
            .with_virtual_hosted_style_request(false);
        if let Some(endpoint) = &s3.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder
            .build()
            .map_err(|e| anyhow::anyhow!("cannot use the bucket (SOKU_S3_*): {e}"))?;
        Ok(Storage {
            store: Arc::new(store),
            tmp_dir,
            local_root: None,
        })
    }

    /// A fresh path under the temporary directory (nothing is created).
    pub fn tmp_path(&self, name: &str) -> PathBuf {
        self.tmp_dir.join(format!(
            "{}-{name}",
            crate::ids::new_id(crate::ids::IdPrefix::Job)
        ))
    }

    /// Stores `bytes` at `key`.
    pub async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.store
            .put(&Key::from(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// Starts a streamed write of `key`: feed it with [`Upload::write`], then [`Upload::finish`].
    pub async fn upload(&self, key: &str) -> anyhow::Result<Upload> {
        let upload = self.store.put_multipart(&Key::from(key)).await?;
        Ok(Upload {
            inner: WriteMultipart::new_with_chunk_size(upload, PART),
        })
    }

    /// Stores the file at `path` under `key`, streamed.
    pub async fn put_file(&self, key: &str, path: &Path) -> anyhow::Result<u64> {
        use tokio::io::AsyncReadExt;
        let mut file = tokio::fs::File::open(path).await?;
        let mut upload = self.upload(key).await?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0u64;
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            total += n as u64;
            upload.write(&buf[..n]).await?;
        }
        upload.finish().await?;
        Ok(total)
    }

    /// Copies `key` into a local file at `path`, streamed.
    pub async fn download(&self, key: &str, path: &Path) -> anyhow::Result<u64> {
        if let Some(root) = &self.local_root {
            // The local backend's objects are files: copy in one call (the kernel's copy), not through the
            // store's 8 KiB reads (measured: 149 MB/s that way; docs/benchmarks.md, "Media").
            let from = root.join(Key::from(key).as_ref());
            return match tokio::fs::copy(&from, path).await {
                Ok(n) => Ok(n),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(anyhow::anyhow!("no object {key} in the media store"))
                }
                Err(e) => Err(e.into()),
            };
        }
        let result = self.store.get(&Key::from(key)).await?;
        let mut stream = result.into_stream();
        let mut file = tokio::fs::File::create(path).await?;
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            total += chunk.len() as u64;
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        Ok(total)
    }

    /// The size and version of `key`, or `None` when there is no such object.
    pub async fn head(&self, key: &str) -> anyhow::Result<Option<ObjectMeta>> {
        match self.store.head(&Key::from(key)).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The bytes of `key` in `range` (the whole object when `None`), as a stream.
    pub async fn read(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> anyhow::Result<impl Stream<Item = Result<Bytes, object_store::Error>> + Send + 'static>
    {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(&Key::from(key), options).await?;
        Ok(result.into_stream())
    }

    /// Deletes every object under `prefix` (a media object's files). Deleting nothing is no error.
    pub async fn delete_prefix(&self, prefix: &str) -> anyhow::Result<usize> {
        let prefix = Key::from(prefix);
        let keys: Vec<Key> = self
            .store
            .list(Some(&prefix))
            .map(|m| m.map(|m| m.location))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        for key in &keys {
            match self.store.delete(key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(root) = &self.local_root {
            // The filesystem keeps a folder its files left; a bucket has none.
            let _ = tokio::fs::remove_dir(root.join(prefix.as_ref())).await;
        }
        Ok(keys.len())
    }

    /// The media ids that have files in storage, none of them written in the last `older_than`: candidates for
    /// the orphan sweep (files whose media row is gone: a delete whose file removal failed, a crash between
    /// an upload and its row). A recent write may belong to an upload whose row is about to be inserted.
    pub async fn quiet_media_ids(
        &self,
        older_than: std::time::Duration,
    ) -> anyhow::Result<Vec<String>> {
        let cutoff = chrono::Utc::now()
            - chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
        let mut newest: std::collections::BTreeMap<String, chrono::DateTime<chrono::Utc>> =
            Default::default();
        let mut listing = self.store.list(Some(&Key::from("media")));
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            let Some(id) = meta.location.parts().nth(1) else {
                continue;
            };
            let at = newest
                .entry(id.as_ref().to_string())
                .or_insert(meta.last_modified);
            *at = (*at).max(meta.last_modified);
        }
        Ok(newest
            .into_iter()
            .filter(|(_, at)| *at < cutoff)
            .map(|(id, _)| id)
            .collect())
    }

    /// Whether the backend answers (a bucket that exists and takes these credentials, a readable local
    /// folder): one listing of a prefix that holds nothing. (A lookup of a missing key would not do: a bucket
    /// that does not exist answers it with the same 404.)
    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut listing = self.store.list(Some(&Key::from("soku-readiness-check")));
        match listing.next().await {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(e.into()),
        }
    }

    /// Removes temporary files older than `older_than` (left by a worker that died mid-job).
    pub async fn sweep_tmp(&self, older_than: std::time::Duration) -> anyhow::Result<usize> {
        let mut removed = 0;
        let mut dir = tokio::fs::read_dir(&self.tmp_dir).await?;
        while let Some(entry) = dir.next_entry().await? {
            let old = entry
                .metadata()
                .await
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > older_than);
            if old && tokio::fs::remove_file(entry.path()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// A streamed write in progress; dropped without [`Upload::finish`], nothing is stored.
pub struct Upload {
    inner: WriteMultipart,
}

impl Upload {
    pub async fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.inner.wait_for_capacity(2).await?;
        self.inner.write(bytes);
        Ok(())
    }

    pub async fn finish(self) -> anyhow::Result<()> {
        self.inner.finish().await?;
        Ok(())
    }

    pub async fn abort(self) {
        let _ = self.inner.abort().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes (streamed, in several parts, and whole), reads back in a range and whole, and deletes by prefix,
    /// leaving a neighbour whose name starts alike.
    async fn round_trip(storage: &Storage) {
        let data: Vec<u8> = (0..(2 * PART + 1_000_000) as u32)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut up = storage.upload("media/m1/original").await.unwrap();
        for chunk in data.chunks(100_000) {
            up.write(chunk).await.unwrap();
        }
        up.finish().await.unwrap();
        storage
            .put_bytes("media/m1/thumbnail.jpg", vec![1, 2, 3])
            .await
            .unwrap();
        storage
            .put_bytes("media/m10/original", vec![4, 5])
            .await
            .unwrap();
        let meta = storage.head("media/m1/original").await.unwrap().unwrap();
        assert_eq!(meta.size, data.len() as u64);
        assert!(storage.head("media/m1/nothing").await.unwrap().is_none());
        let read = |range: Option<Range<u64>>| async move {
            storage
                .read("media/m1/original", range)
                .await
                .unwrap()
                .map(|c| c.unwrap())
                .collect::<Vec<_>>()
                .await
                .concat()
        };
        assert_eq!(read(Some(10..20)).await, &data[10..20]);
        let across = PART as u64 - 5..PART as u64 + 5;
        assert_eq!(
            read(Some(across.clone())).await,
            &data[across.start as usize..across.end as usize]
        );
        assert_eq!(read(None).await.len(), data.len());
        let small = storage.tmp_path("small");
        std::fs::write(&small, b"tiny file").unwrap();
        assert_eq!(
            storage
                .put_file("media/m1/served.png", &small)
                .await
                .unwrap(),
            9
        );
        let copy = storage.tmp_path("copy");
        assert_eq!(
            storage.download("media/m1/original", &copy).await.unwrap(),
            data.len() as u64
        );
        assert_eq!(std::fs::read(&copy).unwrap(), data);
        assert_eq!(storage.delete_prefix("media/m1").await.unwrap(), 3);
        assert!(storage.head("media/m1/original").await.unwrap().is_none());
        assert_eq!(storage.delete_prefix("media/m1").await.unwrap(), 0);
        assert_eq!(
            storage
                .head("media/m10/original")
                .await
                .unwrap()
                .unwrap()
                .size,
            2
        );
        assert_eq!(storage.delete_prefix("media/m10").await.unwrap(), 1);
    }

    fn scratch_dir() -> PathBuf {
        std::env::temp_dir().join(crate::ids::new_id(crate::ids::IdPrefix::Job))
    }

    #[tokio::test]
    async fn files_round_trip_in_ranges_and_are_deleted_by_prefix() {
        let dir = scratch_dir();
        let storage = Storage::local(&dir).unwrap();
        round_trip(&storage).await;
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The same against an S3-compatible server: `SOKU_TEST_S3_ENDPOINT` (scripts/test.sh starts moto and sets
    /// it), in a fresh bucket.
    #[tokio::test]
    async fn files_round_trip_in_an_s3_bucket() {
        let Some(endpoint) = std::env::var("SOKU_TEST_S3_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
        else {
            eprintln!(
                "skipped: SOKU_TEST_S3_ENDPOINT is not set (scripts/test.sh starts moto and sets it)"
            );
            return;
        };
        let endpoint = endpoint.trim_end_matches('/').to_string();
        let bucket = format!(
            "soku-unit-{}",
            crate::ids::new_id(crate::ids::IdPrefix::Job).to_ascii_lowercase()
        )
        .replace('_', "-");
        // moto creates a bucket on an unsigned PUT.
        let created = reqwest::Client::new()
            .put(format!("{endpoint}/{bucket}"))
            .send()
            .await
            .unwrap();
        assert!(
            created.status().is_success(),
            "creating {bucket}: {created:?}"
        );
        let settings = S3Settings {
            bucket: bucket.clone(),
            endpoint: Some(endpoint.clone()),
            region: "us-east-1".into(),
            credentials: Some(crate::config::S3Credentials {
                access_key_id: "testing".into(),
                secret_access_key: "unit-test-secret".to_string().into(),
            }),
            allow_http: true,
        };
        let dir = scratch_dir();
        let storage = Storage::s3(&settings, &dir).unwrap();
        let debug = format!("{storage:?}");
        assert!(!debug.contains("unit-test-secret"), "{debug}");
        round_trip(&storage).await;
        assert!(!dir.join("objects").exists(), "nothing is kept locally");
        let listing = reqwest::get(format!("{endpoint}/{bucket}?list-type=2"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(listing.contains("<KeyCount>0</KeyCount>"), "{listing}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
