//! Where media files live, behind one small interface: the local filesystem under the data
//! directory (`LocalStorage`), or an S3-compatible object store (`S3Storage`, the `[media.s3]`
//! table), which several processes on one PostgreSQL database share. Keys are random
//! (`ab/ab12…ef.jpg`), so a file's URL cannot be guessed from a post's id.
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use kring_core::{Error, Result};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A store of files by key.
pub trait MediaStorage: Send + Sync {
    /// Write a file whole (readers never see a part of it).
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, Result<()>>;
    /// A file's bytes; None when there is none.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>>>;
    /// Remove a file; removing one that is not there is no error.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>>;
}

/// A fresh random key for a file of type `ext`.
pub fn new_key(ext: &str) -> String {
    let n: u128 = rand::random();
    let hex = format!("{n:032x}");
    format!("{}/{hex}.{ext}", &hex[..2])
}

/// The thumbnail's key beside an original's.
pub fn thumbnail_key(original: &str, ext: &str) -> String {
    let stem = original.rsplit_once('.').map_or(original, |(s, _)| s);
    format!("{stem}-small.{ext}")
}

/// Whether `key` has the shape this module gives keys: two hex digits, a slash, hex digits,
/// maybe `-small`, and an extension of letters and digits. Anything else (`..`, absolute
/// paths) is never a key, so it never reaches the filesystem.
pub fn valid_key(key: &str) -> bool {
    let Some((dir, file)) = key.split_once('/') else {
        return false;
    };
    let Some((stem, ext)) = file.rsplit_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("-small").unwrap_or(stem);
    dir.len() == 2
        && stem.len() == 32
        && stem.starts_with(dir)
        && stem
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && (1..=5).contains(&ext.len())
        && ext
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Files in a folder (`<data_dir>/media`).
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    pub fn new(root: PathBuf) -> LocalStorage {
        LocalStorage { root }
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        if !valid_key(key) {
            return Err(Error::NotFound);
        }
        Ok(self.root.join(key))
    }
}

impl MediaStorage for LocalStorage {
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let path = self.path(key)?;
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                // Written aside, then renamed: a reader sees all of it or nothing.
                let tmp = path.with_extension(format!("tmp{}", rand::random::<u32>()));
                if let Err(e) = std::fs::write(&tmp, &bytes) {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
                std::fs::rename(&tmp, &path)
            })
            .await
            .map_err(Error::internal)?
            .map_err(Error::internal)
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        Box::pin(async move {
            let path = self.path(key)?;
            match tokio::fs::read(&path).await {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::internal(e)),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let path = self.path(key)?;
            match tokio::fs::remove_file(&path).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::internal(e)),
            }
        })
    }
}

/// An S3-compatible bucket (the `[media.s3]` table).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    /// The service's address (`https://s3.example`, a MinIO or a test server); None: AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    /// Never printed: `Debug` hides it.
    pub secret_access_key: String,
    /// The bucket's own address for reading (`https://cdn.example`, or `endpoint/bucket`):
    /// when set, apps are given `<public_url>/<key>` for attachments instead of Kring's
    /// `/media/<key>`.
    pub public_url: Option<String>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("public_url", &self.public_url)
            .finish()
    }
}

/// Files in an S3-compatible bucket, under the same keys as on disk.
#[derive(Debug)]
pub struct S3Storage {
    store: object_store::aws::AmazonS3,
}

impl S3Storage {
    pub fn new(c: &S3Config) -> Result<S3Storage> {
        let mut b = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&c.bucket)
            .with_region(&c.region)
            .with_access_key_id(&c.access_key_id)
            .with_secret_access_key(&c.secret_access_key);
        if let Some(endpoint) = &c.endpoint {
            // Path-style addresses (`endpoint/bucket/key`), as MinIO and most others take them;
            // plain http only when the endpoint says so (a service on this machine).
            b = b
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = b
            .build()
            .map_err(|e| Error::internal(format!("media.s3: {e}")))?;
        Ok(S3Storage { store })
    }

    fn path(key: &str) -> Result<object_store::path::Path> {
        if !valid_key(key) {
            return Err(Error::NotFound);
        }
        Ok(object_store::path::Path::from(key))
    }
}

impl MediaStorage for S3Storage {
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, Result<()>> {
        use object_store::ObjectStoreExt;
        Box::pin(async move {
            let path = Self::path(key)?;
            // One PUT: the object appears whole or not at all.
            self.store
                .put(&path, object_store::PutPayload::from(bytes))
                .await
                .map_err(Error::internal)?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        use object_store::ObjectStoreExt;
        Box::pin(async move {
            let path = Self::path(key)?;
            match self.store.get(&path).await {
                Ok(r) => Ok(Some(r.bytes().await.map_err(Error::internal)?.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(Error::internal(e)),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        use object_store::ObjectStoreExt;
        Box::pin(async move {
            let path = Self::path(key)?;
            match self.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(Error::internal(e)),
            }
        })
    }
}

/// The media storage the configuration names: the bucket when `[media.s3]` is set, else the
/// folder; None when neither (uploads are refused).
pub fn open(dir: Option<&PathBuf>, s3: Option<&S3Config>) -> Result<Option<Arc<dyn MediaStorage>>> {
    Ok(match (s3, dir) {
        (Some(c), _) => Some(Arc::new(S3Storage::new(c)?)),
        (None, Some(d)) => Some(Arc::new(LocalStorage::new(d.clone()))),
        (None, None) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keys_of_our_shape_pass() {
        let k = new_key("jpg");
        assert!(valid_key(&k), "{k}");
        assert!(valid_key(&thumbnail_key(&k, "jpg")));
        assert!(!valid_key("../etc/passwd"));
        assert!(!valid_key("ab/../../x.jpg"));
        assert!(!valid_key("/etc/passwd"));
        assert!(!valid_key("ab/ab000000000000000000000000000000.j/g"));
        assert!(!valid_key("cd/ab000000000000000000000000000000.jpg"));
    }

    #[tokio::test]
    async fn files_go_in_and_out() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStorage::new(dir.path().to_path_buf());
        let k = new_key("png");
        s.put(&k, b"abc".to_vec()).await.unwrap();
        assert_eq!(s.get(&k).await.unwrap().as_deref(), Some(&b"abc"[..]));
        s.delete(&k).await.unwrap();
        assert_eq!(s.get(&k).await.unwrap(), None);
        s.delete(&k).await.unwrap();
        assert!(matches!(s.get("../x").await, Err(Error::NotFound)));
    }
}
